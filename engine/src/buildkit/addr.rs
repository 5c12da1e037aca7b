//! Where a BuildKit engine listens, and how to parse the ways users name it.

use std::fmt;
use std::path::PathBuf;

/// An engine cogpack can talk to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EngineAddr {
    /// Docker's embedded BuildKit, reached through the Docker API on a unix socket
    /// (`POST /grpc` and `POST /session` upgraded to h2c).
    DockerUnix { path: PathBuf },
    /// Docker's embedded BuildKit through the Docker API on plain TCP (`tcp://host:port`).
    DockerTcp { host: String, port: u16 },
    /// A standalone buildkitd on a unix socket (plain gRPC, HTTP/2 prior knowledge).
    BuildkitUnix { path: PathBuf },
    /// A standalone buildkitd on plain TCP.
    BuildkitTcp { host: String, port: u16 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddrError {
    #[error("unsupported engine address `{0}`: expected unix:///path or tcp://host:port")]
    Scheme(String),
    #[error("invalid engine address `{0}`: {1}")]
    Invalid(String, &'static str),
}

impl EngineAddr {
    /// Parses a `BUILDKIT_HOST`-style address (`unix:///run/buildkit/buildkitd.sock`,
    /// `tcp://127.0.0.1:1234`) as a standalone buildkitd.
    pub fn parse_buildkit(s: &str) -> Result<Self, AddrError> {
        Ok(match parse(s)? {
            Parsed::Unix(path) => EngineAddr::BuildkitUnix { path },
            Parsed::Tcp(host, port) => EngineAddr::BuildkitTcp { host, port },
        })
    }

    /// Parses a `DOCKER_HOST`-style address as a Docker daemon.
    pub fn parse_docker(s: &str) -> Result<Self, AddrError> {
        Ok(match parse(s)? {
            Parsed::Unix(path) => EngineAddr::DockerUnix { path },
            Parsed::Tcp(host, port) => EngineAddr::DockerTcp { host, port },
        })
    }

    /// Parses `--engine` values: `docker-unix:///…`, `docker-tcp://…` name a Docker daemon,
    /// `unix://…` and `tcp://…` a standalone buildkitd (as `BUILDKIT_HOST` does), and
    /// `docker://…` is accepted as an alias of the Docker form whose scheme follows.
    pub fn parse_engine_flag(s: &str) -> Result<Self, AddrError> {
        if let Some(rest) = s.strip_prefix("docker-") {
            return Self::parse_docker(rest);
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return Self::parse_docker(rest);
        }
        Self::parse_buildkit(s)
    }

    pub fn is_docker(&self) -> bool {
        matches!(self, EngineAddr::DockerUnix { .. } | EngineAddr::DockerTcp { .. })
    }
}

enum Parsed {
    Unix(PathBuf),
    Tcp(String, u16),
}

fn parse(s: &str) -> Result<Parsed, AddrError> {
    if let Some(path) = s.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(AddrError::Invalid(s.to_owned(), "empty socket path"));
        }
        return Ok(Parsed::Unix(PathBuf::from(path)));
    }
    if let Some(rest) = s.strip_prefix("tcp://") {
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| AddrError::Invalid(s.to_owned(), "missing :port"))?;
        let port = port
            .parse()
            .map_err(|_| AddrError::Invalid(s.to_owned(), "port is not a number"))?;
        if host.is_empty() {
            return Err(AddrError::Invalid(s.to_owned(), "empty host"));
        }
        return Ok(Parsed::Tcp(host.to_owned(), port));
    }
    Err(AddrError::Scheme(s.to_owned()))
}

impl fmt::Display for EngineAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineAddr::DockerUnix { path } => write!(f, "docker unix://{}", path.display()),
            EngineAddr::DockerTcp { host, port } => write!(f, "docker tcp://{host}:{port}"),
            EngineAddr::BuildkitUnix { path } => write!(f, "buildkitd unix://{}", path.display()),
            EngineAddr::BuildkitTcp { host, port } => write!(f, "buildkitd tcp://{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            EngineAddr::parse_buildkit("unix:///run/buildkit/buildkitd.sock").unwrap(),
            EngineAddr::BuildkitUnix { path: "/run/buildkit/buildkitd.sock".into() }
        );
        assert_eq!(
            EngineAddr::parse_docker("tcp://127.0.0.1:2375").unwrap(),
            EngineAddr::DockerTcp { host: "127.0.0.1".into(), port: 2375 }
        );
        assert_eq!(
            EngineAddr::parse_engine_flag("docker-unix:///var/run/docker.sock").unwrap(),
            EngineAddr::DockerUnix { path: "/var/run/docker.sock".into() }
        );
        assert!(matches!(EngineAddr::parse_buildkit("http://x"), Err(AddrError::Scheme(_))));
        assert!(EngineAddr::parse_buildkit("tcp://host").is_err());
    }
}
