//! The one error type of the BuildKit client.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong talking to a BuildKit engine.
#[derive(Debug, thiserror::Error)]
pub enum BuildkitError {
    /// The engine's socket could not be reached at all.
    #[error(
        "cannot reach the engine at {addr}: {detail}\n  help: is the daemon running, and is the \
         address right? (set --engine, DOCKER_HOST or BUILDKIT_HOST)"
    )]
    Unreachable { addr: String, detail: String },

    /// The Docker API answered, but refused the upgrade to BuildKit's gRPC or session stream.
    #[error("{addr} refused `POST {path}` (HTTP {status}): {body}\n  help: {help}")]
    Upgrade { addr: String, path: String, status: u16, body: String, help: &'static str },

    /// A Docker API request other than an upgrade failed.
    #[error("Docker API request `{request}` to {addr} failed: {detail}")]
    DockerApi { addr: String, request: String, detail: String },

    /// A BuildKit RPC failed.
    #[error("BuildKit call {call} on {addr} failed ({code:?}): {message}")]
    Rpc { addr: String, call: &'static str, code: tonic::Code, message: String },

    /// The build ran and failed.
    #[error("{0}")]
    SolveFailed(Box<SolveFailure>),

    /// The engine has no exporter for the requested output.
    #[error(
        "the engine at {addr} cannot export `{exporter}` (available: {available})\n  help: {help}"
    )]
    ExporterUnsupported { addr: String, exporter: String, available: String, help: String },

    /// The definition does not fit in one gRPC message.
    #[error(
        "the LLB definition is {bytes} bytes, more than the {limit} bytes one message may carry\n  \
         help: move large inline file contents (mkfile data) into a local source"
    )]
    DefinitionTooLarge { bytes: usize, limit: usize },

    /// A local source could not be read or its patterns are invalid.
    #[error("local source `{name}`: {detail}")]
    LocalSource { name: String, detail: String },

    /// A file the client writes or reads (export destination, secret file) failed.
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    /// The session the engine calls back into failed.
    #[error("session with {addr} failed: {detail}")]
    Session { addr: String, detail: String },

    /// The engine answered something this client does not understand.
    #[error("unexpected answer from {addr}: {detail}")]
    Protocol { addr: String, detail: String },
}

/// Why a solve failed, pointing at the vertex (LLB op) that caused it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SolveFailure {
    /// Digest of the failing vertex; the builder maps it back to the block that made the op.
    pub vertex_digest: Option<String>,
    /// The vertex's display name (`llb.customname` or the engine's).
    pub vertex_name: Option<String>,
    /// The engine's error text.
    pub error: String,
    /// The last lines the vertex printed (up to [`SolveFailure::LOG_LINES`]).
    pub log_tail: Vec<String>,
}

impl SolveFailure {
    /// How many trailing log lines a failure keeps.
    pub const LOG_LINES: usize = 20;
}

impl fmt::Display for SolveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.vertex_name {
            Some(name) => write!(f, "build step `{name}` failed: {}", self.error)?,
            None => write!(f, "build failed: {}", self.error)?,
        }
        if !self.log_tail.is_empty() {
            write!(f, "\n  last output:")?;
            for line in &self.log_tail {
                write!(f, "\n    | {line}")?;
            }
        }
        Ok(())
    }
}

impl BuildkitError {
    pub(crate) fn rpc(addr: &impl fmt::Display, call: &'static str, status: tonic::Status) -> Self {
        BuildkitError::Rpc {
            addr: addr.to_string(),
            call,
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

/// Renders an error with its whole `source()` chain (tonic's transport errors hide the cause).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}
