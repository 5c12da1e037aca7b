//! Registry flags shared by `build`, `push`, `images` and `predict`.

use crate::build::CacheSpec;
use crate::registry::{CogpackConfig, ConfigError, Mirror};

/// How to reach registries.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP and TLS without certificate checks to the registries of the build
    /// cache (--cache-to/--cache-from) and, on a standalone buildkitd, of --push. A Docker
    /// engine's own pushes and pulls follow its `insecure-registries` setting. Registries on
    /// loopback (127.0.0.1, localhost) need no flag; for a registry with a private CA, put the
    /// CA at /etc/docker/certs.d/HOST:PORT/ca.crt on the engine's machine instead
    #[arg(long)]
    pub insecure_registry: bool,
    /// Registry that base images come through: HOST[:PORT][/PREFIX]. Registry-origin base
    /// images are pulled from MIRROR/<name>; missing local ones are tried there before they
    /// are built. Default: `registry.mirror` in cogpack's config.toml ($COGPACK_CONFIG, else
    /// $XDG_CONFIG_HOME/cogpack/config.toml, else ~/.config/cogpack/config.toml)
    #[arg(long, value_name = "REGISTRY")]
    pub mirror: Option<String>,
}

impl RegistryArgs {
    /// The mirror: the flag, else the config file's.
    pub fn mirror(&self) -> Result<Option<Mirror>, ConfigError> {
        match &self.mirror {
            Some(m) => Mirror::parse(m).map(Some),
            None => Ok(CogpackConfig::load()?.mirror),
        }
    }
}

/// Build cache in a registry: `build` and `push` (of a project).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CacheArgs {
    /// Export the build cache to a registry: `type=registry,ref=IMAGE[,mode=max]`; mode=max
    /// keeps every step's cache (dependency installs too), so another machine skips them
    #[arg(long, value_name = "SPEC", value_parser = CacheSpec::parse_to)]
    pub cache_to: Vec<CacheSpec>,
    /// Import build cache from a registry: `type=registry,ref=IMAGE` or just IMAGE
    /// (repeatable); a reference that does not exist yet is a note, not an error
    #[arg(long, value_name = "SPEC", value_parser = CacheSpec::parse_from)]
    pub cache_from: Vec<CacheSpec>,
}
