//! The client session: gRPC services the engine calls back into during a solve (Health,
//! FileSync, FileSend, Secrets, Auth), served over a stream whose roles are reversed (the
//! engine is the HTTP/2 client).
//!
//! Docker engines get the stream from `POST /session`; standalone buildkitd tunnels it through
//! `Control.Session` as `BytesMessage` chunks.

mod auth;
mod filesend;
mod filesync;
mod health;
mod secrets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bollard_buildkit_proto::health::health_server::HealthServer;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use bollard_buildkit_proto::moby::buildkit::v1::BytesMessage;
use bollard_buildkit_proto::moby::filesync::v1::auth_server::AuthServer;
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;

use super::addr::EngineAddr;
use super::error::BuildkitError;
use super::local::LocalSource;
use super::transport::{self, BoxIo};

pub use secrets::{SecretError, SecretSource, MAX_SECRET_BYTES};
pub(crate) use filesend::FileSendReport;

/// Message size limit on every session service (and the control client).
pub(crate) const MAX_MESSAGE: usize = 16 << 20;

/// Bytes per `BytesMessage` when tunnelling the session through `Control.Session`.
const TUNNEL_CHUNK: usize = 32 * 1024;

/// gRPC methods the session announces (the engine checks this list for FileSync/FileSend).
const METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSend/DiffCopy",
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
];

/// What one session serves.
pub(crate) struct SessionSpec {
    /// Session ID (no `:`).
    pub id: String,
    /// Shown by the engine in its logs.
    pub name: String,
    /// Key the engine uses to reuse earlier transfers of the same local sources.
    pub shared_key: String,
    pub locals: BTreeMap<String, LocalSource>,
    pub secrets: BTreeMap<String, SecretSource>,
    /// Destination of a tarball export, if any.
    pub export_dest: Option<PathBuf>,
    /// Where registry credentials come from (`None`: anonymous).
    pub registry_auth: Option<Arc<crate::registry::DockerConfig>>,
}

/// A running session; dropping it (or [`Session::close`]) ends it.
pub(crate) struct Session {
    /// The server task first, then the tunnel pump (buildkitd only).
    tasks: Vec<JoinHandle<()>>,
    filesend: Arc<Mutex<FileSendReport>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Session {
    /// Starts serving `spec` on the engine at `addr`: through `POST /session` for Docker,
    /// through `Control.Session` for buildkitd.
    pub async fn start(
        addr: &EngineAddr,
        control: &ControlClient<Channel>,
        spec: SessionSpec,
    ) -> Result<Session, BuildkitError> {
        let filesend = Arc::new(Mutex::new(FileSendReport::default()));
        let failure = Arc::new(Mutex::new(None));
        let routes = routes(&spec, filesend.clone());
        let mut tasks = Vec::new();
        if addr.is_docker() {
            let mut headers = vec![
                ("X-Docker-Expose-Session-Uuid", spec.id.clone()),
                ("X-Docker-Expose-Session-Name", spec.name.clone()),
                ("X-Docker-Expose-Session-Sharedkey", spec.shared_key.clone()),
            ];
            for m in METHODS {
                headers.push(("X-Docker-Expose-Session-Grpc-Method", (*m).to_owned()));
            }
            let io = transport::docker_upgrade(addr, "/session", &headers).await?;
            tasks.push(tokio::spawn(serve(io, routes)));
        } else {
            let (ours, theirs) = tokio::io::duplex(4 * TUNNEL_CHUNK);
            tasks.push(tokio::spawn(serve(Box::new(ours), routes)));
            let (reader, mut writer) = tokio::io::split(theirs);
            // What our server writes becomes the request stream; its end half-closes the call.
            let outbound = futures::stream::unfold(reader, |mut r| async move {
                let mut buf = vec![0u8; TUNNEL_CHUNK];
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((BytesMessage { data: buf }, r))
                    }
                }
            });
            let mut req = tonic::Request::new(outbound);
            let md = req.metadata_mut();
            let value = |v: &str| {
                tonic::metadata::MetadataValue::try_from(v).map_err(|_| BuildkitError::Session {
                    addr: addr.to_string(),
                    detail: format!("session parameter `{v}` is not a valid header value"),
                })
            };
            md.insert("x-docker-expose-session-uuid", value(&spec.id)?);
            md.insert("x-docker-expose-session-name", value(&spec.name)?);
            md.insert("x-docker-expose-session-sharedkey", value(&spec.shared_key)?);
            for m in METHODS {
                md.append("x-docker-expose-session-grpc-method", value(m)?);
            }
            let mut control = control.clone();
            let failure = failure.clone();
            tasks.push(tokio::spawn(async move {
                match control.session(req).await {
                    Ok(resp) => {
                        let mut inbound = resp.into_inner();
                        loop {
                            match inbound.message().await {
                                Ok(Some(msg)) => {
                                    if writer.write_all(&msg.data).await.is_err() {
                                        break;
                                    }
                                }
                                Ok(None) => break,
                                Err(status) => {
                                    record(&failure, format!("Control.Session: {}", status.message()));
                                    break;
                                }
                            }
                        }
                    }
                    Err(status) => record(&failure, format!("Control.Session: {}", status.message())),
                }
                let _ = writer.shutdown().await;
            }));
        }
        Ok(Session { tasks, filesend, failure })
    }

    /// The tarball export report (bytes written or the error).
    pub fn filesend_report(&self) -> FileSendReport {
        self.filesend.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Why the session transport failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ends the session: stops serving, which closes (or half-closes) the stream.
    pub async fn close(mut self) {
        if let Some(server) = self.tasks.first() {
            server.abort();
        }
        for t in self.tasks.drain(..).skip(1) {
            let abort = t.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(2), t).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn record(slot: &Mutex<Option<String>>, msg: String) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    slot.get_or_insert(msg);
}

/// The session's gRPC services.
fn routes(spec: &SessionSpec, filesend: Arc<Mutex<FileSendReport>>) -> Routes {
    let filesync = filesync::FileSyncService { sources: Arc::new(spec.locals.clone()) };
    let secrets = secrets::SecretsService { secrets: Arc::new(spec.secrets.clone()) };
    let mut routes = Routes::new(HealthServer::new(health::HealthService))
        .add_service(
            FileSyncServer::new(filesync)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            SecretsServer::new(secrets)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
        .add_service(AuthServer::new(auth::AuthService { config: spec.registry_auth.clone() }));
    if let Some(dest) = &spec.export_dest {
        routes = routes.add_service(filesend::FileSendService { dest: Arc::new(dest.clone()), report: filesend });
    }
    routes.prepare()
}

/// Serves HTTP/2 gRPC on a stream whose other end is the engine's HTTP/2 client.
async fn serve(io: BoxIo, routes: Routes) {
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(routes));
    let _ = conn.await;
}
