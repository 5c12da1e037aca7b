//! cogpack: packages Cog model projects into OCI images.
//!
//! The flow is one direction: a project is inspected by a stack ([`manifest`], [`script`]),
//! whose blocks are ordered ([`dag`]) and composed ([`compose`]) into a [`plan::Plan`];
//! versions are resolved against the [`compat`] tables ([`resolve`]); the plan is lowered to
//! BuildKit LLB ([`llb`], [`lower`]) and solved by a real BuildKit ([`buildkit`]).
//! The library never prints: it returns data and the CLI ([`cli`]) renders it.
//! See `docs/architecture.md` for the map.

/// Counts allocations per thread so script runs can be held to a memory bound
/// ([`script::MAX_SCRIPT_MEMORY`]).
#[global_allocator]
static ALLOCATOR: script::memory::CountingAllocator = script::memory::CountingAllocator;

pub mod builtin;
pub mod cog_yaml;
pub mod requirements;
pub mod project;
pub mod dockerignore;
pub mod diagnostics;
pub mod manifest;
pub mod script;
pub mod schema;
pub mod dag;
pub mod compose;
pub mod plan;
pub mod compat;
pub mod resolve;
pub mod llb;
pub mod lower;
pub mod buildkit;
pub mod daemon;
pub mod images;
pub mod apt;
pub mod predict;
pub mod registry;
pub mod build;
pub mod cli;
