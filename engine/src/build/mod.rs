//! `cogpack build`: compose the plan, lower it to LLB, solve it on an engine, export the image.

pub mod options;

pub use options::{OptionError, OutputSpec, SecretSource, SecretSpec};
