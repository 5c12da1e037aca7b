//! `engine status`: what cogpack sees at an engine address.

use std::time::Duration;

use bollard::query_parameters::ListImagesOptions;
use serde::Serialize;

use super::probe::{connect, version};
use super::{Discovered, EngineLayout, EngineState, Origin};
use crate::buildkit::EngineAddr;

/// A report on one engine, rendered by `cogpack engine status`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    /// The address asked.
    pub addr: EngineAddr,
    /// Why this address was chosen.
    pub origin: Origin,
    /// Whether it answered.
    pub running: bool,
    /// Why it did not answer (when `running` is false).
    pub error: Option<String>,
    /// Docker engine version (Docker daemons only).
    pub docker_version: Option<String>,
    /// Docker API version.
    pub api_version: Option<String>,
    /// BuildKit line embedded in that Docker version (`v0.8` for 20.10).
    pub buildkit_version: Option<String>,
    /// `os/arch` of the daemon.
    pub platform: Option<String>,
    /// The state file, when the address is the private engine's socket.
    pub engine_state: Option<EngineState>,
    /// Tagged images in the daemon (sorted), when it is a Docker daemon.
    pub images: Vec<String>,
}

/// Asks the engine at `found` about itself. Never fails: an unreachable engine is a status.
pub async fn status(found: &Discovered, layout: &EngineLayout) -> EngineStatus {
    let engine_state = match &found.addr {
        EngineAddr::DockerUnix { path } if *path == layout.socket() => {
            EngineState::load(&layout.state_file()).ok()
        }
        _ => None,
    };
    let mut st = EngineStatus {
        addr: found.addr.clone(),
        origin: found.origin,
        running: false,
        error: None,
        docker_version: None,
        api_version: None,
        buildkit_version: None,
        platform: None,
        engine_state,
        images: Vec::new(),
    };
    if !found.addr.is_docker() {
        // A standalone buildkitd speaks gRPC only: check that something listens; asking it
        // for its version (ListWorkers) is the BuildKit client's job.
        let connected = match &found.addr {
            EngineAddr::BuildkitUnix { path } => {
                tokio::net::UnixStream::connect(path).await.map(drop)
            }
            EngineAddr::BuildkitTcp { host, port } => {
                tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map(drop)
            }
            _ => Ok(()),
        };
        match connected {
            Ok(()) => st.running = true,
            Err(e) => st.error = Some(format!("cannot connect: {e}")),
        }
        return st;
    }
    match version(&found.addr, Duration::from_secs(5)).await {
        Ok(v) => {
            st.running = true;
            st.buildkit_version = v.embedded_buildkit().map(str::to_owned);
            st.platform = Some(format!("{}/{}", v.os, v.arch));
            st.docker_version = Some(v.version);
            st.api_version = Some(v.api_version);
        }
        Err(e) => {
            st.error = Some(e.to_string());
            return st;
        }
    }
    match connect(&found.addr).await {
        Ok(docker) => match docker.list_images(None::<ListImagesOptions>).await {
            Ok(list) => {
                let mut tags: Vec<String> = list
                    .into_iter()
                    .flat_map(|i| i.repo_tags)
                    .filter(|t| t != "<none>:<none>")
                    .collect();
                tags.sort();
                st.images = tags;
            }
            Err(e) => st.error = Some(format!("listing images: {e}")),
        },
        Err(e) => st.error = Some(e.to_string()),
    }
    st
}
