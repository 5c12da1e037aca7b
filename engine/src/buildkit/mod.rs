//! The BuildKit client: connecting to an engine, sessions (FileSync, Secrets, Auth, Health),
//! Solve and Status over tonic/tokio.

mod addr;

pub use addr::{AddrError, EngineAddr};
