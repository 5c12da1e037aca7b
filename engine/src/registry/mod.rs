//! Registries: image references, the credentials Docker users keep (`config.json`, credential
//! helpers) that the session's Auth service serves to the engine, cogpack's `config.toml`
//! (the mirror base images come through), and what a push or a cache import reported
//! (read from the build status).
//!
//! The engine does the registry traffic itself (pushes, cache export and import, pulls); this
//! module only tells it who we are and reads back what happened. The library never prints.

mod config;
mod credentials;
mod reference;
pub mod report;
mod transfer;

pub use config::{CogpackConfig, ConfigError, Mirror};
pub use credentials::{config_key, Credentials, CredentialsError, DockerConfig, HUB_CONFIG_KEY};
pub use transfer::{docker_credentials, pull, push, TransferError, TransferReport};
pub use reference::{host_only, is_loopback_host, Reference, ReferenceError, DOCKER_HUB};
