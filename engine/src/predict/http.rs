//! A small HTTP/1.1 JSON client for the Cog server in the container.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Talks to `http://<host>:<port>`.
#[derive(Clone)]
pub struct CogClient {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl CogClient {
    pub fn new(host: &str, port: u16) -> Self {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Self {
            base: format!("http://{host}:{port}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The base URL (for messages).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, failing after `timeout`.
    pub async fn get(&self, path: &str, timeout: Duration) -> Result<Answer, String> {
        let req = hyper::Request::get(format!("{}{path}", self.base))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        self.send(req, Some(timeout)).await
    }

    /// `POST path` with a JSON body; no timeout (predictions take as long as they take).
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Answer, String> {
        let req = hyper::Request::post(format!("{}{path}", self.base))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(body).map_err(|e| e.to_string())?,
            )))
            .map_err(|e| e.to_string())?;
        self.send(req, None).await
    }

    async fn send(
        &self,
        req: hyper::Request<Full<Bytes>>,
        timeout: Option<Duration>,
    ) -> Result<Answer, String> {
        let fut = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Answer { status, body })
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| format!("no answer within {}s", t.as_secs()))?,
            None => fut.await,
        }
    }
}
