//! Engine discovery: versions, LLB capabilities, exporters.
//!
//! `Control.Info` exists only from BuildKit v0.11, and v0.8 (Docker 20.10) reports no version
//! at all, so the version comes from Info, then ListWorkers, then Docker's engine version. LLB
//! caps come from `LLBBridge.Ping`, which works on every version but only inside a gateway
//! build, so [`gather`] runs an empty one.

use std::collections::{BTreeMap, BTreeSet};

use bollard_buildkit_proto::moby::buildkit::v1 as control;
use bollard_buildkit_proto::moby::buildkit::v1::frontend::{PingRequest, Result as GatewayResult, ReturnRequest};
use bollard_buildkit_proto::moby::buildkit::v1::types::WorkerRecord;

use super::client::Client;
use super::error::BuildkitError;
use super::transport;

/// Worker label only Docker's containerd-image-store worker (and standalone workers) carry.
const SNAPSHOTTER_LABEL: &str = "org.mobyproject.buildkit.worker.snapshotter";
/// Worker label of the executor; Docker's classic worker has none.
const EXECUTOR_LABEL: &str = "org.mobyproject.buildkit.worker.executor";

/// What kind of BuildKit worker builds run on; decides which exporters exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerKind {
    /// Docker's classic image store: exporters `moby`, `tar`, `local`.
    DockerClassic,
    /// Docker with the containerd image store: `moby` plus the upstream image exporters.
    DockerContainerd,
    /// A standalone buildkitd worker (OCI or containerd): `image`, `docker`, `oci`, `tar`, `local`.
    Standalone,
}

impl WorkerKind {
    /// Exporter types this kind of worker provides.
    pub fn exporters(self) -> &'static [&'static str] {
        match self {
            WorkerKind::DockerClassic => &["local", "moby", "tar"],
            WorkerKind::DockerContainerd => &["docker", "image", "local", "moby", "oci", "tar"],
            WorkerKind::Standalone => &["docker", "image", "local", "oci", "tar"],
        }
    }

    /// Classifies the engine from its first worker's labels and how it was reached.
    pub(crate) fn detect(workers: &[WorkerInfo], via_docker: bool) -> WorkerKind {
        let labels = workers.first().map(|w| &w.labels);
        let has = |k: &str| labels.is_some_and(|l| l.contains_key(k));
        if !has(SNAPSHOTTER_LABEL) && !has(EXECUTOR_LABEL) {
            // Docker's classic worker reports no executor/snapshotter (also when reached
            // through a plain gRPC pipe).
            WorkerKind::DockerClassic
        } else if via_docker {
            WorkerKind::DockerContainerd
        } else {
            WorkerKind::Standalone
        }
    }
}

/// One BuildKit worker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkerInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]`.
    pub platforms: Vec<String>,
    /// Reported from BuildKit v0.11 on.
    pub buildkit_version: Option<String>,
}

impl From<WorkerRecord> for WorkerInfo {
    fn from(w: WorkerRecord) -> Self {
        WorkerInfo {
            id: w.id,
            labels: w.labels.into_iter().collect(),
            platforms: w
                .platforms
                .iter()
                .map(|p| {
                    let mut s = format!("{}/{}", p.os, p.architecture);
                    if !p.variant.is_empty() {
                        s.push('/');
                        s.push_str(&p.variant);
                    }
                    s
                })
                .collect(),
            buildkit_version: w.buildkit_version.map(|v| v.version).filter(|v| !v.is_empty()),
        }
    }
}

/// Where [`EngineInfo::buildkit_version`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// `Control.Info` or the worker record (BuildKit v0.11+).
    Reported,
    /// Not reported (BuildKit before v0.11). Never inferred from a Docker version: features
    /// are decided from the caps.
    Unknown,
}

/// What the engine is and can do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngineInfo {
    /// The address, as displayed.
    pub addr: String,
    /// As the engine reports it (`v0.13.2`, `v0.0.0+unknown` for Debian's builds), or `not
    /// reported`; for display only.
    pub buildkit_version: String,
    pub buildkit_version_source: VersionSource,
    /// Docker engine version, for Docker engines.
    pub docker_version: Option<String>,
    /// Docker API version, for Docker engines.
    pub docker_api_version: Option<String>,
    /// Enabled LLB capability IDs (`exec.mount.cache`, `mergeop`, …).
    pub llb_caps: BTreeSet<String>,
    /// Enabled gateway (frontend API) capability IDs.
    pub frontend_caps: BTreeSet<String>,
    /// Whether the engine reports the `mergeop` cap (Docker needs its containerd image store).
    pub supports_merge_op: bool,
    /// Whether the engine reports the `diffop` cap.
    pub supports_diff_op: bool,
    /// Whether a Docker engine stores images in containerd (its `moby` exporter is then the
    /// upstream image exporter).
    pub containerd_snapshotter: bool,
    pub worker_kind: WorkerKind,
    /// Exporter types available.
    pub exporters: BTreeSet<String>,
    pub workers: Vec<WorkerInfo>,
}

#[derive(serde::Deserialize)]
struct DockerVersion {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "ApiVersion")]
    api_version: Option<String>,
}

pub(crate) async fn gather(client: &Client) -> Result<EngineInfo, BuildkitError> {
    let addr = client.addr.clone();
    let workers = client.workers().to_vec();

    let mut control = client.control.clone();
    let reported = match control.info(control::InfoRequest {}).await {
        Ok(r) => r.into_inner().buildkit_version.map(|v| v.version).filter(|v| !v.is_empty()),
        Err(s) if s.code() == tonic::Code::Unimplemented => None,
        Err(s) => return Err(BuildkitError::rpc(&addr, "Control.Info", s)),
    }
    .or_else(|| workers.iter().find_map(|w| w.buildkit_version.clone()));

    let (docker_version, docker_api_version) = if addr.is_docker() {
        let body = transport::docker_get(&addr, "/version").await?;
        let v: DockerVersion = serde_json::from_slice(&body).map_err(|e| BuildkitError::DockerApi {
            addr: addr.to_string(),
            request: "GET /version".into(),
            detail: format!("unexpected answer: {e}"),
        })?;
        (Some(v.version), v.api_version)
    } else {
        (None, None)
    };

    // Shown, never used to decide anything: features come from the caps below (Debian's
    // builds report `v0.0.0+unknown`, and Docker releases vendor different BuildKits).
    let (buildkit_version, buildkit_version_source) = match reported {
        Some(v) => (v, VersionSource::Reported),
        None => ("not reported".to_owned(), VersionSource::Unknown),
    };

    let pong = ping(client).await?;
    let enabled = |caps: &[bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap]| -> BTreeSet<String> {
        caps.iter().filter(|c| c.enabled).map(|c| c.id.clone()).collect()
    };
    let llb_caps = enabled(&pong.llb_caps);
    let frontend_caps = enabled(&pong.frontend_api_caps);
    let worker_kind = WorkerKind::detect(&workers, addr.is_docker());
    Ok(EngineInfo {
        addr: addr.to_string(),
        buildkit_version,
        buildkit_version_source,
        docker_version,
        docker_api_version,
        supports_merge_op: llb_caps.contains("mergeop"),
        supports_diff_op: llb_caps.contains("diffop"),
        llb_caps,
        frontend_caps,
        containerd_snapshotter: worker_kind == WorkerKind::DockerContainerd,
        exporters: worker_kind.exporters().iter().map(|s| (*s).to_owned()).collect(),
        worker_kind,
        workers,
    })
}

/// Runs an empty gateway build just long enough to call `LLBBridge.Ping`.
async fn ping(client: &Client) -> Result<bollard_buildkit_proto::moby::buildkit::v1::frontend::PongResponse, BuildkitError> {
    let addr = client.addr.clone();
    let build_ref = super::solve::new_id();
    let mut control = client.control.clone();
    let solve = control.solve(control::SolveRequest { r#ref: build_ref.clone(), ..Default::default() });
    tokio::pin!(solve);

    let bridge = client.bridge.clone();
    let gateway = async {
        let pong = Client::retry_job(|| {
            let mut b = bridge.clone();
            let req = Client::for_build(&build_ref, PingRequest {});
            async move { b.ping(req).await }
        })
        .await
        .map_err(|s| BuildkitError::rpc(&addr, "LLBBridge.Ping", s))?
        .into_inner();
        // An empty (not absent) result: v0.8 crashes on a nil one.
        let ret = ReturnRequest { result: Some(GatewayResult::default()), error: None };
        bridge
            .clone()
            .r#return(Client::for_build(&build_ref, ret))
            .await
            .map_err(|s| BuildkitError::rpc(&addr, "LLBBridge.Return", s))?;
        Ok::<_, BuildkitError>(pong)
    };
    tokio::pin!(gateway);

    tokio::select! {
        pong = &mut gateway => {
            let pong = pong?;
            solve.await.map_err(|s| BuildkitError::rpc(&addr, "Control.Solve (gateway ping)", s))?;
            Ok(pong)
        }
        done = &mut solve => match done {
            // Our Return ended the build and its answer raced ahead of Return's own.
            Ok(_) => match tokio::time::timeout(std::time::Duration::from_secs(5), gateway).await {
                Ok(pong) => pong,
                Err(_) => Err(BuildkitError::Protocol {
                    addr: addr.to_string(),
                    detail: "reading LLB capabilities: the gateway build ended before Ping answered".into(),
                }),
            },
            Err(s) => Err(BuildkitError::rpc(&addr, "Control.Solve (gateway ping)", s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_worker_kinds_from_labels() {
        let w = |labels: &[(&str, &str)]| WorkerInfo {
            id: "w".into(),
            labels: labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            platforms: vec![],
            buildkit_version: None,
        };
        assert_eq!(WorkerKind::detect(&[w(&[])], true), WorkerKind::DockerClassic);
        assert_eq!(WorkerKind::detect(&[w(&[])], false), WorkerKind::DockerClassic);
        let oci = w(&[(EXECUTOR_LABEL, "oci"), (SNAPSHOTTER_LABEL, "overlayfs")]);
        assert_eq!(WorkerKind::detect(std::slice::from_ref(&oci), false), WorkerKind::Standalone);
        assert_eq!(WorkerKind::detect(&[oci], true), WorkerKind::DockerContainerd);
        assert!(WorkerKind::DockerClassic.exporters().contains(&"moby"));
        assert!(!WorkerKind::DockerClassic.exporters().contains(&"image"));
    }
}
