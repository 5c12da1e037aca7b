//! [`Client`]: one gRPC connection to an engine's Control and LLBBridge services.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use bollard_buildkit_proto::moby::buildkit::v1::frontend::llb_bridge_client::LlbBridgeClient;
use bollard_buildkit_proto::moby::buildkit::v1::ListWorkersRequest;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};

use super::addr::EngineAddr;
use super::error::{chain, BuildkitError};
use super::info::{self, EngineInfo, WorkerInfo};
use super::session::MAX_MESSAGE;
use super::solve::{self, SolveOutcome, SolveRequest};
use super::status::StatusUpdate;
use super::transport::{self, BoxIo, Connector};

/// Metadata key that ties LLBBridge calls to a gateway-mode build.
pub(crate) const BUILD_ID_KEY: &str = "buildkit-controlapi-buildid";

/// How long LLBBridge calls retry while the engine registers the build.
const JOB_WAIT: Duration = Duration::from_secs(10);

/// A connection to a BuildKit engine (Docker's embedded BuildKit or a standalone buildkitd).
///
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Client {
    pub(crate) addr: Arc<EngineAddr>,
    pub(crate) control: ControlClient<Channel>,
    pub(crate) bridge: LlbBridgeClient<Channel>,
    workers: Arc<Vec<WorkerInfo>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("addr", &self.addr.to_string()).finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the engine and checks that it answers BuildKit's Control API (ListWorkers).
    ///
    /// Docker engines are reached through `POST /grpc` upgraded to h2c; buildkitd through
    /// plain gRPC. Errors name the address.
    pub async fn connect(addr: &EngineAddr) -> Result<Client, BuildkitError> {
        let addr = Arc::new(addr.clone());
        // The first stream is opened here, so that its errors come back typed; reconnects go
        // through the connector.
        let first: BoxIo = if addr.is_docker() {
            transport::docker_upgrade(&addr, "/grpc", &[]).await?
        } else {
            transport::dial(&addr)
                .await
                .map_err(|e| BuildkitError::Unreachable { addr: addr.to_string(), detail: e.to_string() })?
        };
        let origin = match addr.tcp_host() {
            Some((host, port)) => format!("http://{host}:{port}"),
            None => "http://localhost".to_owned(),
        };
        let endpoint = Endpoint::from_shared(origin).map_err(|e| BuildkitError::Protocol {
            addr: addr.to_string(),
            detail: e.to_string(),
        })?;
        let connector = FirstThen { first: Arc::new(Mutex::new(Some(first))), then: Connector { addr: addr.clone() } };
        let channel = endpoint.connect_with_connector(connector).await.map_err(|e| BuildkitError::Unreachable {
            addr: addr.to_string(),
            detail: format!("HTTP/2 handshake failed: {}", chain(&e)),
        })?;
        let control = ControlClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let bridge = LlbBridgeClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let mut probe = control.clone();
        let workers = probe
            .list_workers(ListWorkersRequest::default())
            .await
            .map_err(|s| match s.code() {
                tonic::Code::Unimplemented | tonic::Code::Unavailable | tonic::Code::Unknown => BuildkitError::Protocol {
                    addr: addr.to_string(),
                    detail: format!("it does not answer BuildKit's Control API ({})", s.message()),
                },
                _ => BuildkitError::rpc(&addr, "Control.ListWorkers", s),
            })?
            .into_inner()
            .record
            .into_iter()
            .map(WorkerInfo::from)
            .collect();
        Ok(Client { addr, control, bridge, workers: Arc::new(workers) })
    }

    /// The address this client talks to.
    pub fn addr(&self) -> &EngineAddr {
        &self.addr
    }

    /// The workers the engine reported when the client connected.
    pub fn workers(&self) -> &[WorkerInfo] {
        &self.workers
    }

    /// What the engine is and can do: versions, LLB capabilities, exporters. Runs a short
    /// gateway build to read the LLB caps (works back to BuildKit v0.8).
    pub async fn info(&self) -> Result<EngineInfo, BuildkitError> {
        info::gather(self).await
    }

    /// Solves `request` and exports the result. Status updates are sent to `progress` as they
    /// arrive (a closed receiver is fine). On failure the error carries the failing vertex.
    pub async fn solve(
        &self,
        request: SolveRequest,
        progress: mpsc::Sender<StatusUpdate>,
    ) -> Result<SolveOutcome, BuildkitError> {
        solve::run(self, request, progress).await
    }

    /// A tonic request carrying the gateway build ID.
    pub(crate) fn for_build<T>(build_ref: &str, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Ok(v) = tonic::metadata::MetadataValue::try_from(build_ref) {
            req.metadata_mut().insert(BUILD_ID_KEY, v);
        }
        req
    }

    /// Retries an LLBBridge call while the engine has not registered the build yet.
    pub(crate) async fn retry_job<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let start = Instant::now();
        loop {
            match call().await {
                Err(s) if is_no_such_job(&s) && start.elapsed() < JOB_WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }
}

fn is_no_such_job(s: &tonic::Status) -> bool {
    s.message().contains("no such job") || (s.code() == tonic::Code::NotFound && s.message().contains("job"))
}

/// Uses an already opened stream for the first connection, then the real connector.
#[derive(Clone)]
struct FirstThen {
    first: Arc<Mutex<Option<BoxIo>>>,
    then: Connector,
}

impl tower_service::Service<tonic::codegen::http::Uri> for FirstThen {
    type Response = <Connector as tower_service::Service<tonic::codegen::http::Uri>>::Response;
    type Error = std::io::Error;
    type Future = <Connector as tower_service::Service<tonic::codegen::http::Uri>>::Future;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: tonic::codegen::http::Uri) -> Self::Future {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        match first {
            Some(io) => Box::pin(async move { Ok(hyper_util::rt::TokioIo::new(io)) }),
            None => self.then.call(uri),
        }
    }
}
