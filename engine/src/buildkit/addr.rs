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
    /// The Docker API on TCP with mutual TLS, as `DOCKER_TLS_VERIFY` asks: the daemon's
    /// certificate is checked against `certs/ca.pem`, and we present `certs/cert.pem` with
    /// `certs/key.pem` (`DOCKER_CERT_PATH`, default `~/.docker`).
    DockerTls { host: String, port: u16, certs: PathBuf },
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
        matches!(self, EngineAddr::DockerUnix { .. } | EngineAddr::DockerTcp { .. } | EngineAddr::DockerTls { .. })
    }

    /// Docker's convention: with `DOCKER_TLS_VERIFY` set (and not `0`), a Docker TCP address
    /// is reached over mutual TLS with the certificates in `DOCKER_CERT_PATH` (default
    /// `~/.docker`). Other addresses are returned unchanged.
    pub fn with_docker_tls_env(self, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let verify = env("DOCKER_TLS_VERIFY").is_some_and(|v| !v.trim().is_empty() && v.trim() != "0");
        match self {
            EngineAddr::DockerTcp { host, port } if verify => {
                let certs = env("DOCKER_CERT_PATH")
                    .filter(|p| !p.trim().is_empty())
                    .map(PathBuf::from)
                    .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")))
                    .unwrap_or_else(|| PathBuf::from(".docker"));
                EngineAddr::DockerTls { host, port, certs }
            }
            other => other,
        }
    }

    /// The TCP host and port, for addresses on TCP.
    pub fn tcp_host(&self) -> Option<(&str, u16)> {
        match self {
            EngineAddr::DockerTcp { host, port } | EngineAddr::BuildkitTcp { host, port } | EngineAddr::DockerTls { host, port, .. } => {
                Some((host, *port))
            }
            _ => None,
        }
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
            EngineAddr::DockerTls { host, port, certs } => {
                write!(f, "docker tcp://{host}:{port} (TLS, certificates in {})", certs.display())
            }
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

    #[test]
    fn docker_tls_verify_turns_tcp_into_tls() {
        let env = |k: &str| match k {
            "DOCKER_TLS_VERIFY" => Some("1".to_owned()),
            "DOCKER_CERT_PATH" => Some("/certs".to_owned()),
            _ => None,
        };
        let addr = EngineAddr::parse_docker("tcp://127.0.0.1:2376").unwrap().with_docker_tls_env(&env);
        assert_eq!(addr, EngineAddr::DockerTls { host: "127.0.0.1".into(), port: 2376, certs: "/certs".into() });
        assert!(addr.is_docker());
        let off = |k: &str| (k == "DOCKER_TLS_VERIFY").then(|| "0".to_owned());
        let plain = EngineAddr::parse_docker("tcp://h:2375").unwrap().with_docker_tls_env(&off);
        assert_eq!(plain, EngineAddr::DockerTcp { host: "h".into(), port: 2375 });
        let unix = EngineAddr::parse_docker("unix:///s").unwrap().with_docker_tls_env(&env);
        assert!(matches!(unix, EngineAddr::DockerUnix { .. }));
    }
}
