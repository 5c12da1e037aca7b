//! Block and stack manifests: finding them, parsing the TOML ([`raw`]), checking it into the
//! model ([`Block`], [`Stack`]) with compiled scripts, and reporting every problem at its
//! `file:line:col` as a shared [`crate::diagnostics::Diagnostic`] (rendered by
//! [`crate::diagnostics::render`], like every other diagnostic of the crate).
//!
//! Manifests come from, in override order: the built-ins embedded in the binary
//! ([`crate::builtin`]), the directories in `COGPACK_BLOCKS_PATH`, `--blocks DIR` flags, and
//! the project's `.cogpack/blocks.d/` and `.cogpack/stacks.d/`. A later manifest with the
//! same id replaces an earlier one ([`Block::overrides`] remembers which).

pub mod docs;
mod error;
mod load;
mod model;
pub mod raw;
pub mod suggest;

pub use error::{LoadError, ManifestError};
pub use load::{check_constraint, check_manifest, Registry, Sources, BLOCKS_PATH_ENV};
pub use model::{Block, DependencySpec, Detect, IdRef, Origin, Source, Stack, TestCase};
pub use raw::Status;
