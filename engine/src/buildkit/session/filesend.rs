//! `moby.filesync.v1.FileSend/DiffCopy` for tarball exporters (`tar`, `docker`, `oci`).
//!
//! The .proto declares fsutil `Packet`s, but tarball exporters stream raw `BytesMessage`
//! chunks, so this service is written by hand with a prost codec for `BytesMessage`. The engine
//! sends the tar and half-closes; we write it to the destination (via a temporary file renamed
//! into place) and finish with OK without sending any message.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bollard_buildkit_proto::moby::filesync::v1::BytesMessage;
use futures::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Request, Response, Status, Streaming};

use super::MAX_MESSAGE;

/// What happened to the export, read by the solve once the engine is done.
#[derive(Debug, Default, Clone)]
pub(crate) struct FileSendReport {
    /// Bytes written by the last finished transfer.
    pub bytes: Option<u64>,
    /// The error of a failed transfer.
    pub error: Option<String>,
}

/// Receives a tarball into `dest`.
#[derive(Clone)]
pub(crate) struct FileSendService {
    pub dest: Arc<PathBuf>,
    pub report: Arc<Mutex<FileSendReport>>,
}

const METHOD: &str = "/moby.filesync.v1.FileSend/DiffCopy";

impl NamedService for FileSendService {
    const NAME: &'static str = "moby.filesync.v1.FileSend";
}

impl tower_service::Service<http::Request<Body>> for FileSendService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if req.uri().path() != METHOD {
                return Ok(Status::unimplemented(format!("{} is not served", req.uri().path())).into_http());
            }
            let codec = tonic_prost::ProstCodec::<BytesMessage, BytesMessage>::default();
            let mut grpc = Grpc::new(codec).apply_max_message_size_config(Some(MAX_MESSAGE), Some(MAX_MESSAGE));
            Ok(grpc.streaming(Receive(this), req).await)
        })
    }
}

struct Receive(FileSendService);

impl StreamingService<BytesMessage> for Receive {
    type Response = BytesMessage;
    type ResponseStream = futures::stream::Empty<Result<BytesMessage, Status>>;
    type Future = BoxFuture<'static, Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<Streaming<BytesMessage>>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move {
            let result = receive(&svc.dest, request.into_inner()).await;
            let mut report = svc.report.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(n) => {
                    report.bytes = Some(n);
                    Ok(Response::new(futures::stream::empty()))
                }
                Err(msg) => {
                    report.error = Some(msg.clone());
                    Err(Status::internal(msg))
                }
            }
        })
    }
}

async fn receive(dest: &PathBuf, mut inbound: Streaming<BytesMessage>) -> Result<u64, String> {
    let file_name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{file_name}.cogpack-partial"));
    let io = |what: &str, e: std::io::Error| format!("{what} {}: {e}", tmp.display());
    let mut file = tokio::fs::File::create(&tmp).await.map_err(|e| io("cannot create", e))?;
    let mut written = 0u64;
    let outcome = async {
        while let Some(msg) = inbound.message().await.map_err(|s| format!("receiving the export: {}", s.message()))? {
            file.write_all(&msg.data).await.map_err(|e| io("cannot write", e))?;
            written += msg.data.len() as u64;
        }
        file.flush().await.map_err(|e| io("cannot write", e))?;
        file.sync_all().await.map_err(|e| io("cannot sync", e))?;
        Ok::<(), String>(())
    }
    .await;
    drop(file);
    if let Err(e) = outcome {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, dest)
        .await
        .map_err(|e| format!("cannot move the export into {}: {e}", dest.display()))?;
    Ok(written)
}
