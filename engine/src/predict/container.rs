//! The container a prediction runs in: create, start, find its port, read its log, remove.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, ContainerInspectResponse, HostConfig, PortBinding};
use bollard::query_parameters::{LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;

use super::PredictError;

/// The port Cog's HTTP server listens on.
pub const COG_PORT: &str = "5000/tcp";

/// Label on every container `cogpack predict` creates (to find leftovers).
pub const LABEL: &str = "org.cogpack.predict";

/// Creates and starts a container of `image` with port 5000 published on `bind_ip` (an
/// ephemeral host port). Returns its ID; the caller must [`remove`] it.
pub async fn create_and_start(
    docker: &Docker,
    image: &str,
    env: &[(String, String)],
    bind_ip: &str,
) -> Result<String, PredictError> {
    let mut bindings = HashMap::new();
    bindings.insert(
        COG_PORT.to_owned(),
        Some(vec![PortBinding {
            host_ip: Some(bind_ip.to_owned()),
            host_port: Some(String::new()),
        }]),
    );
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: Some(vec![COG_PORT.to_owned()]),
        labels: Some(HashMap::from([(LABEL.to_owned(), "1".to_owned())])),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .map_err(|e| PredictError::Docker {
            action: "creating the container",
            source: e,
        })?;
    let id = created.id;
    if let Err(e) = docker.start_container(&id, None).await {
        remove(docker, &id).await;
        return Err(PredictError::Docker {
            action: "starting the container",
            source: e,
        });
    }
    Ok(id)
}

/// The host port Docker published 5000/tcp on.
pub async fn host_port(docker: &Docker, id: &str) -> Result<u16, PredictError> {
    let info = inspect(docker, id).await?;
    info.network_settings
        .and_then(|n| n.ports)
        .and_then(|mut p| p.remove(COG_PORT))
        .flatten()
        .and_then(|b| b.into_iter().find_map(|b| b.host_port?.parse().ok()))
        .ok_or(PredictError::NoPort)
}

/// Whether the container still runs, and its exit code when it stopped.
pub async fn state(docker: &Docker, id: &str) -> Result<(bool, Option<i64>), PredictError> {
    let info = inspect(docker, id).await?;
    let state = info.state.unwrap_or_default();
    Ok((state.running.unwrap_or(false), state.exit_code))
}

/// `docker inspect` of the container.
async fn inspect(docker: &Docker, id: &str) -> Result<ContainerInspectResponse, PredictError> {
    docker
        .inspect_container(id, None)
        .await
        .map_err(|e| PredictError::Docker {
            action: "inspecting the container",
            source: e,
        })
}

/// The last `lines` lines of the container's stdout and stderr ("" if unavailable).
pub async fn log_tail(docker: &Docker, id: &str, lines: usize) -> String {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.trim_end().to_owned()
}

/// Force-removes the container; errors are ignored (nothing left to do about them).
pub async fn remove(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(id, Some(opts)).await;
}
