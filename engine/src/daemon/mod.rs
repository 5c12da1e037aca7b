//! The engine cogpack builds with: finding one ([`discover`]), and running a private Docker
//! daemon for it ([`up`], [`down`], [`status`]).
//!
//! The private daemon is a plain `dockerd` with its own socket, data root and exec root
//! ([`EngineLayout`]), so it never touches a Docker the user already runs. Docker's embedded
//! BuildKit is reached through its API (`POST /grpc`, `POST /session`) by [`crate::buildkit`];
//! images and containers through [`connect`] (bollard).

mod bridge;
mod discover;
pub mod dist;
mod layout;
mod lifecycle;
mod probe;
mod state;
mod status;

use std::path::PathBuf;

pub use discover::{discover, discover_with, DiscoverPaths, Discovered, Origin};
pub use dist::{EngineDist, FetchEvent};
pub use layout::{EngineLayout, HOME_ENV};
pub use lifecycle::{down, up, DownOutcome, UpEvent, UpOptions, UpOutcome};
pub use probe::{connect, ping, version, DockerVersion};
pub use state::EngineState;
pub use status::{status, BuildkitReport, EngineStatus};

use crate::buildkit::AddrError;

/// Everything that can go wrong finding, starting or stopping an engine.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No engine address was configured and no socket exists.
    #[error(
        "no BuildKit engine found (looked at: {})\n\
         help: start cogpack's private engine with `cogpack engine up --install`, \
         or point DOCKER_HOST / BUILDKIT_HOST / --engine at one",
        looked_at.join(", ")
    )]
    NoEngine { looked_at: Vec<String> },

    /// An address from the flag or the environment does not parse.
    #[error("{source_name}: {source}")]
    BadAddress {
        source_name: &'static str,
        source: AddrError,
    },

    /// Nothing answers at the address.
    #[error(
        "cannot reach the engine at {addr}: {reason}\n\
         help: is it running? `cogpack engine status` shows what cogpack sees; \
         `cogpack engine up` starts the private engine"
    )]
    Unreachable { addr: String, reason: String },

    /// Something answers, but not like a Docker daemon.
    #[error("the engine at {addr} answered unexpectedly: {what}")]
    Unexpected { addr: String, what: String },

    /// A Docker API call was needed but the address names a standalone buildkitd.
    #[error(
        "{addr} is a standalone buildkitd; this command needs a Docker daemon (images, containers)\n\
         help: set DOCKER_HOST, or run `cogpack engine up`"
    )]
    NotDocker { addr: String },

    /// A host tool the engine needs is missing and installing was not allowed.
    #[error(
        "`{program}` is not installed; the engine needs it\n\
         help: run `cogpack engine up --install` (or set COGPACK_ENGINE_INSTALL=1) to install \
         Debian's `{package}` with apt-get"
    )]
    NotInstalled { program: String, package: String },

    /// Fetching the engine's packages from Debian failed.
    #[error(
        "fetching the engine's Debian packages failed at `{step}`: {detail}\n\
         help: check the network and COGPACK_DEBIAN_MIRROR; nothing was installed, \
         `cogpack engine up` retries from a clean slate"
    )]
    FetchFailed { step: String, detail: String },

    /// The engine's bridge could not be set up.
    #[error("the engine's network bridge: {what}")]
    Network { what: String },

    /// Starting or installing needs root.
    #[error("`cogpack engine {action}` needs root (running as uid {uid})")]
    NotRoot { action: &'static str, uid: u32 },

    /// `apt-get` failed.
    #[error("installing a host package failed: `{command}` exited with {status}\n{output_tail}")]
    InstallFailed {
        command: String,
        status: String,
        output_tail: String,
    },

    /// `dockerd` exited or did not answer in time.
    #[error(
        "dockerd did not come up: {reason}\n--- last lines of {} ---\n{log_tail}",
        log.display()
    )]
    StartFailed {
        reason: String,
        log: PathBuf,
        log_tail: String,
    },

    /// `dockerd` did not stop after SIGTERM.
    #[error("dockerd (pid {pid}) did not stop within {secs}s of SIGTERM\nhelp: `kill -9 {pid}`")]
    StopTimeout { pid: u32, secs: u64 },

    /// The pidfile names a process that is not our dockerd.
    #[error(
        "{} names pid {pid}, which is not the dockerd of this engine; refusing to signal it\n\
         help: remove the stale pidfile",
        pidfile.display()
    )]
    ForeignPid { pid: u32, pidfile: PathBuf },

    /// A file of the layout could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The state file exists but is not ours.
    #[error("{}: not a cogpack engine state file: {source}", path.display())]
    BadState {
        path: PathBuf,
        source: serde_json::Error,
    },

    /// A Docker API call failed.
    #[error("docker API: {0}")]
    Docker(#[from] bollard::errors::Error),
}

impl From<crate::apt::AptFailure> for DaemonError {
    fn from(f: crate::apt::AptFailure) -> Self {
        Self::InstallFailed {
            command: f.command,
            status: f.status,
            output_tail: f.output_tail,
        }
    }
}
