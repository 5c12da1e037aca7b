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
    /// BuildKit's version as the engine reports it (display only; Debian's builds say
    /// `v0.0.0+unknown`).
    pub buildkit_version: Option<String>,
    /// What the engine's BuildKit can do, from the caps it reports.
    pub buildkit: Option<BuildkitReport>,
    /// `os/arch` of the daemon.
    pub platform: Option<String>,
    /// The state file, when the address is the private engine's socket.
    pub engine_state: Option<EngineState>,
    /// Tagged images in the daemon (sorted), when it is a Docker daemon.
    pub images: Vec<String>,
}

/// The capabilities that decide how cogpack lowers a plan for this engine.
#[derive(Debug, Clone, Serialize)]
pub struct BuildkitReport {
    /// Enabled LLB caps (`mergeop`, `diffop`, `exec.mount.cache`, ...).
    pub llb_caps: Vec<String>,
    pub merge_op: bool,
    pub diff_op: bool,
    /// MergeOp and DiffOp both: stages that do not need what is below them build on their
    /// own inputs and become independent layers (see docs/llb.md).
    pub independent_layers: bool,
    /// The Docker engine keeps images in containerd (needed for MergeOp in Docker).
    pub containerd_image_store: bool,
    pub exporters: Vec<String>,
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
        buildkit: None,
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
            st.platform = Some(format!("{}/{}", v.os, v.arch));
            st.docker_version = Some(v.version);
            st.api_version = Some(v.api_version);
        }
        Err(e) => {
            st.error = Some(e.to_string());
            return st;
        }
    }
    match crate::buildkit::Client::connect(&found.addr).await {
        Ok(client) => match client.info().await {
            Ok(info) => {
                st.buildkit_version = Some(info.buildkit_version.clone());
                st.buildkit = Some(BuildkitReport {
                    llb_caps: info.llb_caps.iter().cloned().collect(),
                    merge_op: info.supports_merge_op,
                    diff_op: info.supports_diff_op,
                    independent_layers: info.supports_merge_op && info.supports_diff_op,
                    containerd_image_store: info.containerd_snapshotter,
                    exporters: info.exporters.iter().cloned().collect(),
                });
            }
            Err(e) => st.error = Some(format!("asking BuildKit for its caps: {e}")),
        },
        Err(e) => st.error = Some(format!("connecting to BuildKit: {e}")),
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
