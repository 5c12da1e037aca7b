//! Placeholder while the resolver is written.
pub mod version;
