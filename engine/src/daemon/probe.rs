//! Talking to a Docker daemon before we know its API version: `/_ping` and `/version` on
//! unversioned paths, then a bollard client pinned to the version the daemon speaks.
//!
//! bollard prefixes every path with its own API version (1.53), which Docker 20.10 (max 1.41)
//! rejects with "client version 1.53 is too new"; its `negotiate_version` asks `/version` on that
//! same prefixed path and so cannot recover. We ask first, then connect.

use std::time::Duration;

use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use super::DaemonError;
use crate::buildkit::EngineAddr;

/// Timeout for bollard requests (image loads of a few hundred MB take a while).
const CLIENT_TIMEOUT_SECS: u64 = 3600;

/// What a Docker daemon says about itself on `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerVersion {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    #[serde(rename = "Version")]
    pub version: String,
    /// Highest API version it speaks, e.g. `1.41`.
    #[serde(rename = "ApiVersion")]
    pub api_version: String,
    /// Operating system of the daemon (`linux`).
    #[serde(rename = "Os", default)]
    pub os: String,
    /// CPU architecture of the daemon (`amd64`, `arm64`).
    #[serde(rename = "Arch", default)]
    pub arch: String,
}

/// `GET /_ping` answered `OK` within `timeout`.
pub async fn ping(addr: &EngineAddr, timeout: Duration) -> Result<(), DaemonError> {
    let (status, body) = get(addr, "/_ping", timeout).await?;
    if status == 200 && body.as_ref() == b"OK" {
        Ok(())
    } else {
        Err(DaemonError::Unexpected {
            addr: addr.to_string(),
            what: format!(
                "/_ping answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        })
    }
}

/// `GET /version` (unversioned path, so any daemon answers).
pub async fn version(addr: &EngineAddr, timeout: Duration) -> Result<DockerVersion, DaemonError> {
    let (status, body) = get(addr, "/version", timeout).await?;
    if status != 200 {
        return Err(DaemonError::Unexpected {
            addr: addr.to_string(),
            what: format!("/version answered HTTP {status}"),
        });
    }
    serde_json::from_slice(&body).map_err(|e| DaemonError::Unexpected {
        addr: addr.to_string(),
        what: format!("/version is not the JSON Docker sends: {e}"),
    })
}

/// A bollard client for the Docker daemon at `addr`, speaking the highest API version both
/// sides know. Fails with [`DaemonError::NotDocker`] for a standalone buildkitd.
pub async fn connect(addr: &EngineAddr) -> Result<Docker, DaemonError> {
    let v = version(addr, Duration::from_secs(10)).await?;
    let client_version = pick_api_version(&v.api_version);
    let docker = match addr {
        EngineAddr::DockerUnix { path } => Docker::connect_with_unix(
            &path.display().to_string(),
            CLIENT_TIMEOUT_SECS,
            &client_version,
        ),
        EngineAddr::DockerTcp { host, port } => Docker::connect_with_http(
            &format!("tcp://{host}:{port}"),
            CLIENT_TIMEOUT_SECS,
            &client_version,
        ),
        EngineAddr::DockerTls { host, port, certs } => Docker::connect_with_ssl(
            &format!("tcp://{host}:{port}"),
            &certs.join("key.pem"),
            &certs.join("cert.pem"),
            &certs.join("ca.pem"),
            CLIENT_TIMEOUT_SECS,
            &client_version,
        ),
        EngineAddr::BuildkitUnix { .. } | EngineAddr::BuildkitTcp { .. } => {
            return Err(DaemonError::NotDocker {
                addr: addr.to_string(),
            })
        }
    };
    docker.map_err(|e| DaemonError::Unreachable {
        addr: addr.to_string(),
        reason: e.to_string(),
    })
}

/// The lower of the daemon's API version and bollard's.
fn pick_api_version(server: &str) -> ClientVersion {
    let parsed = server
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    match parsed {
        Some((major, minor))
            if (major, minor)
                < (
                    API_DEFAULT_VERSION.major_version,
                    API_DEFAULT_VERSION.minor_version,
                ) =>
        {
            ClientVersion {
                major_version: major,
                minor_version: minor,
            }
        }
        _ => ClientVersion {
            major_version: API_DEFAULT_VERSION.major_version,
            minor_version: API_DEFAULT_VERSION.minor_version,
        },
    }
}

/// One HTTP/1.1 GET over a fresh connection; returns status and body.
async fn get(
    addr: &EngineAddr,
    path: &str,
    timeout: Duration,
) -> Result<(u16, Bytes), DaemonError> {
    let unreachable = |reason: String| DaemonError::Unreachable {
        addr: addr.to_string(),
        reason,
    };
    let fut = async {
        match addr {
            EngineAddr::DockerUnix { path: sock } | EngineAddr::BuildkitUnix { path: sock } => {
                let stream = tokio::net::UnixStream::connect(sock)
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
                get_over(stream, path).await.map_err(unreachable)
            }
            EngineAddr::DockerTcp { host, port } | EngineAddr::BuildkitTcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
                get_over(stream, path).await.map_err(unreachable)
            }
            EngineAddr::DockerTls { .. } => {
                let stream = crate::buildkit::dial(addr).await.map_err(|e| unreachable(e.to_string()))?;
                get_over(stream, path).await.map_err(unreachable)
            }
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(format!(
            "no answer within {}s",
            timeout.as_secs()
        ))),
    }
}

async fn get_over<S>(stream: S, path: &str) -> Result<(u16, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_versions_map_to_their_buildkit() {
    }

    #[test]
    fn api_version_is_capped_by_both_sides() {
        let v = pick_api_version("1.41");
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let v = pick_api_version("1.99");
        assert_eq!(
            (v.major_version, v.minor_version),
            (
                API_DEFAULT_VERSION.major_version,
                API_DEFAULT_VERSION.minor_version
            )
        );
    }
}
