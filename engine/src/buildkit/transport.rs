//! Byte streams to an engine: dialing unix/tcp sockets, small Docker API requests, the Docker
//! `POST /grpc` and `POST /session` upgrades to h2c, and the tonic connector built on them.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::codegen::http::{header, Uri};

use super::addr::EngineAddr;
use super::error::BuildkitError;

/// Any bidirectional byte stream.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A boxed byte stream.
pub(crate) type BoxIo = Box<dyn Io>;

/// How long to wait for a socket to accept a connection.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the raw socket of an address.
pub(crate) async fn dial(addr: &EngineAddr) -> io::Result<BoxIo> {
    let fut = async {
        Ok::<BoxIo, io::Error>(match addr {
            EngineAddr::DockerUnix { path } | EngineAddr::BuildkitUnix { path } => {
                Box::new(tokio::net::UnixStream::connect(path).await?)
            }
            EngineAddr::DockerTcp { host, port } | EngineAddr::BuildkitTcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
            EngineAddr::DockerTls { host, port, certs } => Box::new(super::tls::connect(host, *port, certs).await?),
        })
    };
    tokio::time::timeout(DIAL_TIMEOUT, fut)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "timed out connecting"))?
}

fn unreachable(addr: &EngineAddr, e: impl std::fmt::Display) -> BuildkitError {
    BuildkitError::Unreachable { addr: addr.to_string(), detail: e.to_string() }
}

/// Opens an HTTP/1.1 connection to the Docker API.
async fn docker_conn(
    addr: &EngineAddr,
) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, BuildkitError> {
    let io = dial(addr).await.map_err(|e| unreachable(addr, e))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| unreachable(addr, e))?;
    tokio::spawn(async move {
        // Ends when the connection (or the upgraded stream taken from it) is done.
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}

/// `GET path` on the Docker API; returns the body of a 2xx answer.
pub(crate) async fn docker_get(addr: &EngineAddr, path: &str) -> Result<Bytes, BuildkitError> {
    let mut sender = docker_conn(addr).await?;
    let fail = |detail: String| BuildkitError::DockerApi {
        addr: addr.to_string(),
        request: format!("GET {path}"),
        detail,
    };
    let req = Request::get(path)
        .header(header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(e.to_string()))?;
    let res = sender.send_request(req).await.map_err(|e| fail(e.to_string()))?;
    let status = res.status();
    let body = Limited::new(res.into_body(), 4 << 20)
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim())));
    }
    Ok(body)
}

/// `POST path` on the Docker API with extra headers; returns the body of a 2xx answer as a
/// stream of lines (the JSON messages of a push or pull, one per line).
pub(crate) async fn docker_post_lines(
    addr: &EngineAddr,
    path: &str,
    headers: &[(&str, String)],
) -> Result<futures::stream::BoxStream<'static, Result<Vec<u8>, BuildkitError>>, BuildkitError> {
    use futures::StreamExt;
    let mut sender = docker_conn(addr).await?;
    let fail = {
        let addr = addr.to_string();
        let request = format!("POST {}", path.split('?').next().unwrap_or(path));
        move |detail: String| BuildkitError::DockerApi { addr: addr.clone(), request: request.clone(), detail }
    };
    let mut req = Request::post(path).header(header::HOST, "docker");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| fail(e.to_string()))?;
    let res = sender.send_request(req).await.map_err(|e| fail(e.to_string()))?;
    let status = res.status();
    if !status.is_success() {
        let body = Limited::new(res.into_body(), 64 << 10).collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned());
        return Err(fail(format!("HTTP {status}: {message}")));
    }
    let body = res.into_body().into_data_stream();
    let lines = futures::stream::unfold((body, Vec::<u8>::new(), false, sender), move |(mut body, mut buf, mut done, sender)| {
        let fail = fail.clone();
        async move {
            loop {
                if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    return Some((Ok(line), (body, buf, done, sender)));
                }
                if done {
                    if buf.is_empty() {
                        return None;
                    }
                    let line = std::mem::take(&mut buf);
                    return Some((Ok(line), (body, buf, done, sender)));
                }
                match body.next().await {
                    Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                    Some(Err(e)) => {
                        done = true;
                        buf.clear();
                        return Some((Err(fail(e.to_string())), (body, buf, done, sender)));
                    }
                    None => done = true,
                }
            }
        }
    });
    Ok(lines.boxed())
}

/// `POST path` with `Connection: Upgrade`, `Upgrade: h2c` and extra headers; returns the
/// upgraded stream after the daemon's `101 Switching Protocols`.
pub(crate) async fn docker_upgrade(
    addr: &EngineAddr,
    path: &str,
    headers: &[(&str, String)],
) -> Result<BoxIo, BuildkitError> {
    let mut sender = docker_conn(addr).await?;
    let mut req = Request::post(path)
        .header(header::HOST, "docker")
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "h2c");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let proto = |detail: String| BuildkitError::Protocol { addr: addr.to_string(), detail };
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| proto(e.to_string()))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| unreachable(addr, format!("POST {path}: {e}")))?;
    if res.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
        let status = res.status().as_u16();
        let body = Limited::new(res.into_body(), 64 << 10)
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned())
            .unwrap_or_default();
        let help = match status {
            404 => "this Docker daemon has no BuildKit endpoint; cogpack needs Docker 18.09 or newer",
            400 if body.contains("already exists") => "a session with this ID is already open; retry",
            _ => "check that the address points at a Docker daemon",
        };
        return Err(BuildkitError::Upgrade { addr: addr.to_string(), path: path.to_owned(), status, body, help });
    }
    let upgraded = hyper::upgrade::on(res)
        .await
        .map_err(|e| proto(format!("upgrading POST {path}: {e}")))?;
    Ok(Box::new(TokioIo::new(upgraded)))
}

/// The tonic connector: a plain socket for buildkitd, a fresh `/grpc` upgrade for Docker
/// (every reconnect upgrades again).
#[derive(Clone)]
pub(crate) struct Connector {
    pub addr: Arc<EngineAddr>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<BoxIo>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<BoxIo>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let addr = self.addr.clone();
        Box::pin(async move {
            let io = if addr.is_docker() {
                docker_upgrade(&addr, "/grpc", &[]).await.map_err(io::Error::other)?
            } else {
                dial(&addr).await?
            };
            Ok(TokioIo::new(io))
        })
    }
}
