//! The BuildKit client: connecting to an engine, sessions (FileSync, FileSend, Secrets, Auth,
//! Health), Solve and Status over tonic/tokio.
//!
//! Every engine kind of [`EngineAddr`] works: Docker (through `POST /grpc` and `POST /session`
//! upgraded to h2c) and standalone buildkitd (plain gRPC, session tunnelled through
//! `Control.Session`). LLB is built elsewhere as `pb::Definition`; this module solves it in
//! gateway mode, streams status into [`status::StatusState`], and exports the result.
//! The library never prints; progress goes to a channel the CLI renders.

mod addr;
mod client;
mod error;
mod info;
mod local;
mod session;
mod solve;
pub mod status;
mod tls;
mod transport;

pub(crate) use transport::{dial, docker_post_lines};

pub use addr::{AddrError, EngineAddr};
pub use bollard_buildkit_proto::pb;
pub use client::Client;
pub use error::{BuildkitError, SolveFailure};
pub use info::{EngineInfo, VersionSource, WorkerInfo, WorkerKind};
pub use local::{LocalSource, MemFile, MemTree, MemTreeError, DEFAULT_MEMORY_MTIME_NS};
pub use session::{SecretError, SecretSource, MAX_SECRET_BYTES};
pub use solve::{CacheEntry, Export, FileRead, FinishHook, SolveOutcome, SolveRequest, IMAGE_CONFIG_KEY, IMAGE_DIGEST_KEY};
pub use status::{StatusEvent, StatusState, StatusUpdate};
