//! Generated documentation: one reference page per block, an index, and JSON schemas.

/// Placeholder until written.
pub fn placeholder() {}
