//! cogpack's own configuration file, `config.toml`: the registry (or mirror) base images are
//! pulled through and published to.
//!
//! It lives at `$COGPACK_CONFIG` when set, else `$XDG_CONFIG_HOME/cogpack/config.toml`, else
//! `~/.config/cogpack/config.toml`. A missing file is an empty configuration.
//!
//! ```toml
//! [registry]
//! # Registry-origin base images are pulled from here (MIRROR/<image name>), absent local
//! # ones are tried here before being built, and `cogpack images push` publishes here.
//! mirror = "registry.example.com:5000/cogpack"
//! ```

use std::path::{Path, PathBuf};

/// The configuration file, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CogpackConfig {
    /// The file read, if there was one.
    pub path: Option<PathBuf>,
    /// `registry.mirror`.
    pub mirror: Option<Mirror>,
}

/// A registry (and optional path prefix) base images are pulled through: `HOST[:PORT][/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub host: String,
    /// Repository prefix inside the registry, without slashes at either end (may be empty).
    pub prefix: String,
}

/// A bad configuration file or `--mirror` value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{col}: {message}\nhelp: the file holds a `[registry]` table with `mirror = \"HOST[:PORT][/PREFIX]\"` (docs/registry.md)", path.display())]
    Invalid { path: PathBuf, line: usize, col: usize, message: String },
    #[error("invalid mirror `{value}`{}: {reason}\nhelp: write HOST[:PORT][/PREFIX], e.g. registry.example.com:5000/cogpack", place.as_ref().map(|p| format!(" ({p})")).unwrap_or_default())]
    Mirror { value: String, reason: &'static str, place: Option<String> },
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Registry settings.
    #[serde(default)]
    registry: RawRegistry,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    /// Where base images are pulled from and pushed to: `HOST[:PORT][/PREFIX]`.
    #[serde(default)]
    mirror: Option<toml::Spanned<String>>,
}

impl CogpackConfig {
    /// Where the file is looked for.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("COGPACK_CONFIG").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(x).join("cogpack").join("config.toml"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("cogpack").join("config.toml"))
    }

    /// Reads the default file (missing: empty).
    pub fn load() -> Result<CogpackConfig, ConfigError> {
        match Self::default_path() {
            Some(p) => Self::load_from(&p),
            None => Ok(CogpackConfig::default()),
        }
    }

    /// Reads `path` (missing: empty).
    pub fn load_from(path: &Path) -> Result<CogpackConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CogpackConfig::default()),
            Err(source) => return Err(ConfigError::Read { path: path.to_owned(), source }),
        };
        let at = |offset: usize| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        };
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            let (line, col) = at(e.span().map_or(0, |s| s.start));
            ConfigError::Invalid { path: path.to_owned(), line, col, message: e.message().to_owned() }
        })?;
        let mirror = match raw.registry.mirror {
            Some(m) => {
                let (line, col) = at(m.span().start);
                let place = format!("{}:{line}:{col} registry.mirror", path.display());
                Some(Mirror::parse_at(m.get_ref(), Some(place))?)
            }
            None => None,
        };
        Ok(CogpackConfig { path: Some(path.to_owned()), mirror })
    }
}

impl Mirror {
    /// Parses `HOST[:PORT][/PREFIX]` (a `--mirror` value).
    pub fn parse(value: &str) -> Result<Mirror, ConfigError> {
        Self::parse_at(value, None)
    }

    fn parse_at(value: &str, place: Option<String>) -> Result<Mirror, ConfigError> {
        let err = |reason| ConfigError::Mirror { value: value.to_owned(), reason, place: place.clone() };
        let v = value.trim_end_matches('/');
        if v.contains("://") {
            return Err(err("no scheme: the engine picks https (plain http only for loopback or --insecure-registry)"));
        }
        let (host, prefix) = v.split_once('/').unwrap_or((v, ""));
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
            return Err(err("the host must be a name or address, with an optional :port"));
        }
        // Check the prefix as a repository path would be checked.
        if !prefix.is_empty() {
            super::Reference::parse(&format!("{host}/{prefix}")).map_err(|_| err("the prefix must be a lowercase repository path"))?;
        }
        Ok(Mirror { host: host.to_owned(), prefix: prefix.to_owned() })
    }

    /// Where image `name` (`cogpack/base:py3.11-bookworm`) lives in the mirror.
    pub fn image(&self, name: &str) -> String {
        let name = name.strip_prefix("docker.io/").unwrap_or(name);
        match self.prefix.as_str() {
            "" => format!("{}/{name}", self.host),
            p => format!("{}/{p}/{name}", self.host),
        }
    }
}

impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "{}", self.host),
            p => write!(f, "{}/{p}", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mirror_and_locates_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[registry]\nmirror = \"127.0.0.1:5000/team\"\n").unwrap();
        let cfg = CogpackConfig::load_from(&path).unwrap();
        let m = cfg.mirror.unwrap();
        assert_eq!(m.image("cogpack/base:py3.11-bookworm"), "127.0.0.1:5000/team/cogpack/base:py3.11-bookworm");
        std::fs::write(&path, "[registry]\nmirorr = \"x\"\n").unwrap();
        let err = CogpackConfig::load_from(&path).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:1"), "{err}");
        std::fs::write(&path, "[registry]\nmirror = \"https://x\"\n").unwrap();
        let err = CogpackConfig::load_from(&path).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:10 registry.mirror") && err.contains("no scheme"), "{err}");
        assert_eq!(CogpackConfig::load_from(&dir.path().join("none.toml")).unwrap(), CogpackConfig::default());
        assert_eq!(Mirror::parse("reg:5000").unwrap().image("a/b:c"), "reg:5000/a/b:c");
        assert!(Mirror::parse("reg/UPPER").is_err());
    }
}
