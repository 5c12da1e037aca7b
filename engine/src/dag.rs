//! Block ordering (petgraph).
