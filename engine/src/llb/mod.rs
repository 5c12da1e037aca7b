//! Our typed BuildKit LLB builder over `bollard_buildkit_proto::pb`.
//!
//! A [`State`] is one output of one op (or scratch). Sources ([`State::image`],
//! [`State::local`], [`State::http`]), [`Exec`], [`FileOps`] and [`State::merge`] make new
//! states; each op is serialised with prost exactly once when it is built, so its digest
//! (`sha256:` + hex of its bytes) is fixed. [`marshal`] walks the graph of a state into a
//! `pb::Definition` (dependencies first, each digest once, a terminal op last),
//! [`decode`] renders any definition as readable JSON and [`layer_chain`] says which ops
//! become the result's layers.
//!
//! Every op declares in its metadata the caps it needs (see [`caps`]), so an engine that
//! lacks a feature rejects the build instead of silently ignoring proto fields.
//!
//! Why our own module: the `buildkit-llb` crate (0.2, 2020) drags tokio 0.2 / tonic 0.1 and
//! cannot express secret or tmpfs mounts, locked caches or MergeOp; `bollard-buildkit-proto`
//! already gives us BuildKit's current generated types on prost 0.14. See `docs/llb.md`.

pub mod caps;
mod decode;
mod definition;
mod exec;
mod file;
mod layers;
mod reference;
mod state;

pub use decode::decode;
pub use definition::marshal;
pub use exec::{CacheSharing, Exec, ExecOutput, MountSpec, Network};
pub use file::{Chown, CopyOptions, FileOps, UserRef};
pub use layers::{layer_chain, LayerChain};
pub use reference::normalize_image_ref;
pub use state::{digest_of, platform, HttpOptions, LocalOptions, OpMeta, State, CUSTOM_NAME};

/// Re-export of the generated protobuf types we build.
pub use bollard_buildkit_proto::pb;

/// What can go wrong building or decoding LLB.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LlbError {
    #[error("image reference `{reference}` is invalid: {why}")]
    ImageReference { reference: String, why: String },
    #[error(
        "local source name `{0}` is invalid\nhelp: use a non-empty name without `/`, `:` or spaces"
    )]
    LocalName(String),
    #[error("`{0}` is not an http(s) URL")]
    Url(String),
    #[error("checksum `{0}` is not `<algorithm>:<hex>`")]
    Checksum(String),
    #[error("download file name `{0}` must be a plain file name")]
    Filename(String),
    #[error("the command is empty")]
    EmptyCommand,
    #[error("{what} `{path}` is not an absolute path")]
    NotAbsolute { what: &'static str, path: String },
    #[error("mount target `{target}` is invalid: {why}")]
    MountTarget { target: String, why: &'static str },
    #[error("the {kind} mount at `{target}` has an empty id")]
    EmptyId { kind: &'static str, target: String },
    #[error("a file op needs at least one action")]
    EmptyFileOp,
    #[error("the result is scratch (an empty filesystem): there is nothing to build")]
    ScratchResult,
    #[error("op {index} of the definition does not decode: {message}")]
    Decode { index: usize, message: String },
    #[error("the definition does not end with a terminal op that has exactly one input")]
    NoTerminal,
}

#[cfg(test)]
mod tests;
