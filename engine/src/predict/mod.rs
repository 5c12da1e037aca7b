//! Running one prediction against a Cog image: start a container, wait for
//! `GET /health-check` to say READY, type the inputs by `/openapi.json`, `POST /predictions`,
//! and remove the container whatever happens (errors, Ctrl-C through `cancel`).
//!
//! Port 5000 is published on 127.0.0.1 with an ephemeral host port rather than reached at the
//! container's bridge IP: that works wherever the daemon's published ports reach the client
//! (Docker Desktop, rootless Docker and colima do not route bridge IPs to the host), and binding
//! to loopback keeps the model off the network.

mod container;
mod http;
mod inputs;
mod output;

use std::future::Future;
use std::time::{Duration, Instant};

use bollard::Docker;
use serde_json::{json, Value};

pub use container::{COG_PORT, LABEL};
pub use inputs::{coerce, data_url, InputSchema, InputType, RawInput};
pub use output::{mime_for_extension, DataUrl};

use crate::diagnostics::exit;
use http::CogClient;

/// Lines of container log shown with a failure.
const LOG_LINES: usize = 40;

/// What to run.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Image reference or ID.
    pub image: String,
    /// `-i key=value` arguments.
    pub inputs: Vec<RawInput>,
    /// Extra environment of the container.
    pub env: Vec<(String, String)>,
    /// How long the model may take to become READY.
    /// How long the whole prediction may take: starting the container, the model's setup
    /// and the prediction itself. The container is removed when it runs out.
    pub timeout: Duration,
    /// Host the published port is reached at: `127.0.0.1` for a local daemon (the port is then
    /// bound to loopback only), the daemon's host for a remote one (bound to all addresses).
    pub host: String,
}

impl PredictOptions {
    /// Options for `image` with the defaults: no inputs, 5 minutes to get ready, loopback.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            inputs: Vec::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(300),
            host: "127.0.0.1".to_owned(),
        }
    }
}

/// Progress of a prediction, for the CLI to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictEvent {
    /// The container runs; its server is published at `url`.
    Started { container: String, url: String },
    /// Waiting for READY; `status` is the last health-check status seen.
    Waiting {
        elapsed: Duration,
        status: Option<String>,
    },
    /// The model is ready after `elapsed`.
    Ready { elapsed: Duration },
    /// `/openapi.json` has no input schema: inputs are sent as strings.
    NoSchema,
    /// The prediction request was sent.
    Predicting,
}

/// A finished prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The whole response of `POST /predictions`.
    pub response: Value,
    /// Its `output`.
    pub output: Value,
}

/// Everything that can go wrong running a prediction.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("image `{image}` is not in the engine\nhelp: build it first (`cogpack build`), or check `docker images`")]
    ImageNotFound { image: String },

    #[error("input `{key}`: {reason}")]
    BadInput { key: String, reason: String },

    #[error("the model has no input `{key}`\nhelp: its inputs are: {}", known.join(", "))]
    UnknownInput { key: String, known: Vec<String> },

    #[error("{action}: {source}")]
    Docker {
        action: &'static str,
        source: bollard::errors::Error,
    },

    #[error("Docker did not publish port {COG_PORT} of the container")]
    NoPort,

    #[error(
        "the container exited during setup (exit code {exit_code})\n--- container log ---\n{logs}"
    )]
    Exited { exit_code: i64, logs: String },

    #[error(
        "the model's setup failed (health-check status {status})\n--- container log ---\n{logs}"
    )]
    SetupFailed { status: String, logs: String },

    #[error(
        "the model was not ready after {secs}s (last health-check status: {last})\n\
         help: raise --timeout for slow setups\n--- container log ---\n{logs}"
    )]
    NotReady {
        secs: u64,
        last: String,
        logs: String,
    },

    #[error("the model rejected the input (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },

    #[error("the prediction failed: {error}\n--- container log ---\n{logs}")]
    Failed {
        error: String,
        logs: String,
        response: Value,
    },

    #[error(
        "the prediction did not finish within {secs}s (--timeout covers starting the model, its setup and the prediction); the container was removed\n\
         help: raise --timeout for slow models\n--- container log ---\n{logs}"
    )]
    TimedOut { secs: u64, logs: String },

    #[error("unexpected answer from the model server: {what}")]
    Protocol { what: String },

    #[error("cancelled; the container was removed")]
    Cancelled,
}

impl PredictError {
    /// The process exit code for this failure: PREDICT, or 130 for Ctrl-C.
    pub fn exit_code(&self) -> u8 {
        match self {
            PredictError::Cancelled => 130,
            // The command line asked for something the model does not take.
            PredictError::BadInput { .. }
            | PredictError::UnknownInput { .. }
            | PredictError::Rejected { .. } => exit::USAGE,
            _ => exit::PREDICT,
        }
    }
}

/// Runs one prediction. `cancel` resolving (e.g. Ctrl-C) stops it; the container is removed
/// in every case before this returns.
pub async fn run(
    docker: &Docker,
    opts: &PredictOptions,
    progress: &(dyn Fn(PredictEvent) + Send + Sync),
    cancel: impl Future<Output = ()>,
) -> Result<Prediction, PredictError> {
    match docker.inspect_image(&opts.image).await {
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Err(PredictError::ImageNotFound {
                image: opts.image.clone(),
            })
        }
        Err(e) => {
            return Err(PredictError::Docker {
                action: "inspecting the image",
                source: e,
            })
        }
    }
    // Inputs that cannot be read (a missing @file) fail before anything starts.
    let read = |p: &std::path::Path| std::fs::read(p);
    for raw in &opts.inputs {
        if let Some(path) = raw.value.strip_prefix('@') {
            read(std::path::Path::new(path)).map_err(|e| PredictError::BadInput {
                key: raw.key.clone(),
                reason: format!("cannot read `{path}`: {e}"),
            })?;
        }
    }

    // Loopback for a local daemon; a remote daemon's port must be reachable from here.
    let bind_ip = match opts.host.as_str() {
        "127.0.0.1" | "localhost" | "::1" => "127.0.0.1",
        _ => "0.0.0.0",
    };
    // From here on, whatever happens (an error, the timeout, a signal), the container is
    // removed before returning.
    tokio::pin!(cancel);
    let deadline = tokio::time::Instant::now() + opts.timeout;
    // Creating is not interrupted (a dropped request could leave a container we have no ID
    // for); a signal that came meanwhile is seen by the select below at once.
    let id = container::create_and_start(docker, &opts.image, &opts.env, bind_ip).await?;
    let result = tokio::select! {
        r = predict_in(docker, &id, opts, deadline, progress) => r,
        () = &mut cancel => Err(PredictError::Cancelled),
    };
    container::remove(docker, &id).await;
    result
}

/// Starts the model of `opts.image`, waits until it is READY and returns the OpenAPI
/// document its server serves at `GET /openapi.json` (what Cog's runtime validates inputs
/// against); the container is removed. No prediction is made; `opts.inputs` are ignored.
pub async fn served_schema(docker: &Docker, opts: &PredictOptions) -> Result<Value, PredictError> {
    let bind_ip = match opts.host.as_str() {
        "127.0.0.1" | "localhost" | "::1" => "127.0.0.1",
        _ => "0.0.0.0",
    };
    let id = container::create_and_start(docker, &opts.image, &opts.env, bind_ip).await?;
    let result = async {
        let port = container::host_port(docker, &id).await?;
        let client = CogClient::new(&opts.host, port);
        let deadline = tokio::time::Instant::now() + opts.timeout;
        wait_ready(docker, &id, &client, opts.timeout, deadline, &|_| {}).await?;
        let answer = client
            .get("/openapi.json", Duration::from_secs(30))
            .await
            .map_err(|what| PredictError::Protocol { what })?;
        match answer.json() {
            Some(doc) if answer.status == 200 => Ok(doc),
            _ => Err(PredictError::Protocol {
                what: format!("GET /openapi.json answered HTTP {} without a JSON document", answer.status),
            }),
        }
    }
    .await;
    container::remove(docker, &id).await;
    result
}

/// Every phase is bounded by `deadline` (`--timeout` from the start): readiness ends in
/// [`PredictError::NotReady`], the prediction in [`PredictError::TimedOut`].
async fn predict_in(
    docker: &Docker,
    id: &str,
    opts: &PredictOptions,
    deadline: tokio::time::Instant,
    progress: &(dyn Fn(PredictEvent) + Send + Sync),
) -> Result<Prediction, PredictError> {
    let port = match container::host_port(docker, id).await {
        Ok(port) => port,
        Err(err) => {
            // A container that dies at once has no published port any more: report the exit
            // and its log, not the missing port.
            let (running, exit_code) = container::state(docker, id).await?;
            if running {
                return Err(err);
            }
            let logs = container::log_tail(docker, id, LOG_LINES).await;
            return Err(PredictError::Exited { exit_code: exit_code.unwrap_or(-1), logs });
        }
    };
    let client = CogClient::new(&opts.host, port);
    progress(PredictEvent::Started {
        container: id.to_owned(),
        url: client.base().to_owned(),
    });

    wait_ready(docker, id, &client, opts.timeout, deadline, progress).await?;

    let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
    let schema = match client.get("/openapi.json", left().min(Duration::from_secs(30))).await {
        Ok(answer) if answer.status == 200 => {
            answer.json().as_ref().and_then(InputSchema::from_openapi)
        }
        _ => None,
    };
    if schema.is_none() {
        progress(PredictEvent::NoSchema);
    }
    let input = coerce(schema.as_ref(), &opts.inputs, &|p| std::fs::read(p))?;

    progress(PredictEvent::Predicting);
    let answer = match tokio::time::timeout_at(deadline, client.post_json("/predictions", &json!({ "input": input }))).await {
        Ok(answer) => answer.map_err(|e| PredictError::Protocol {
            what: format!("POST /predictions: {e}"),
        })?,
        Err(_) => {
            return Err(PredictError::TimedOut {
                secs: opts.timeout.as_secs(),
                logs: container::log_tail(docker, id, LOG_LINES).await,
            })
        }
    };
    let body = answer.json();
    match (answer.status, body) {
        (200, Some(response)) => {
            let status = response
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if status == "succeeded" {
                let output = response.get("output").cloned().unwrap_or(Value::Null);
                Ok(Prediction { response, output })
            } else {
                let error = response
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("status `{status}`"));
                let logs = container::log_tail(docker, id, LOG_LINES).await;
                Err(PredictError::Failed {
                    error,
                    logs,
                    response,
                })
            }
        }
        (status @ (400 | 422), body) => Err(PredictError::Rejected {
            status,
            detail: body
                .map(|b| b.get("detail").cloned().unwrap_or(b).to_string())
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned()),
        }),
        (status, _) => Err(PredictError::Protocol {
            what: format!(
                "POST /predictions answered HTTP {status}: {}",
                String::from_utf8_lossy(&answer.body)
            ),
        }),
    }
}

/// Polls `/health-check` until READY; fails early when the container exits or setup fails.
async fn wait_ready(
    docker: &Docker,
    id: &str,
    client: &CogClient,
    timeout: Duration,
    deadline: tokio::time::Instant,
    progress: &(dyn Fn(PredictEvent) + Send + Sync),
) -> Result<(), PredictError> {
    let start = Instant::now();
    let mut last: Option<String> = None;
    loop {
        let (running, exit_code) = container::state(docker, id).await?;
        if !running {
            let logs = container::log_tail(docker, id, LOG_LINES).await;
            return Err(PredictError::Exited {
                exit_code: exit_code.unwrap_or(-1),
                logs,
            });
        }
        if let Ok(answer) = client.get("/health-check", Duration::from_secs(5)).await {
            let status = answer
                .json()
                .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_owned));
            match status.as_deref() {
                Some("READY") => {
                    progress(PredictEvent::Ready {
                        elapsed: start.elapsed(),
                    });
                    return Ok(());
                }
                Some(s @ ("SETUP_FAILED" | "DEFUNCT")) => {
                    let logs = container::log_tail(docker, id, LOG_LINES).await;
                    return Err(PredictError::SetupFailed {
                        status: s.to_owned(),
                        logs,
                    });
                }
                _ => last = status.or(last),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let logs = container::log_tail(docker, id, LOG_LINES).await;
            return Err(PredictError::NotReady {
                secs: timeout.as_secs(),
                last: last.unwrap_or_else(|| "no answer".to_owned()),
                logs,
            });
        }
        progress(PredictEvent::Waiting {
            elapsed: start.elapsed(),
            status: last.clone(),
        });
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_mistakes_are_usage_errors_and_failures_are_predict_errors() {
        let usage = [
            PredictError::BadInput { key: "n".into(), reason: "`many` is not an integer".into() },
            PredictError::UnknownInput { key: "colour".into(), known: vec!["s".into()] },
            PredictError::Rejected { status: 422, detail: "bad".into() },
        ];
        for e in usage {
            assert_eq!(e.exit_code(), exit::USAGE, "{e}");
        }
        let timed_out = PredictError::TimedOut { secs: 8, logs: "prediction started".into() };
        assert_eq!(timed_out.exit_code(), exit::PREDICT);
        assert!(timed_out.to_string().starts_with("the prediction did not finish within 8s"));
        assert_eq!(PredictError::Cancelled.exit_code(), 130);
    }
}
