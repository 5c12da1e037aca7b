//! Solving a definition in gateway mode and exporting the result.
//!
//! `Control.Solve` is sent with no definition and no frontend, which makes the engine wait for
//! the client to act as the frontend: `LLBBridge.Solve{definition}` builds the graph and
//! `LLBBridge.Return` hands back the result *with metadata*. That metadata is the only place
//! Docker's classic `moby` exporter reads the image config (`containerimage.config`) from; the
//! upstream image exporters read it there too. `Control.Status` runs alongside and feeds the
//! status model; the session stays open until Solve (and any tarball transfer) has finished.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard_buildkit_proto::google::rpc::Status as RpcStatus;
use bollard_buildkit_proto::moby::buildkit::v1 as control;
use bollard_buildkit_proto::moby::buildkit::v1::frontend::llb_bridge_client::LlbBridgeClient;
use bollard_buildkit_proto::moby::buildkit::v1::frontend::{self, result, ReturnRequest};
use bollard_buildkit_proto::pb;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::client::Client;
use super::error::{BuildkitError, SolveFailure};
use super::info::WorkerKind;
use super::local::LocalSource;
use super::session::{SecretSource, Session, SessionSpec, MAX_MESSAGE};
use super::status::{StatusState, StatusUpdate};

/// Exporter-response key of the image digest (`moby`: the image ID).
pub const IMAGE_DIGEST_KEY: &str = "containerimage.digest";
/// Result-metadata key of the image config JSON.
pub const IMAGE_CONFIG_KEY: &str = "containerimage.config";

/// How long Solve may take to end after the gateway reported an error.
const GATEWAY_ERROR_WAIT: Duration = Duration::from_secs(30);

/// How long to keep reading status after Solve returned (the v0.8 Go client waits 3 s).
const STATUS_DRAIN: Duration = Duration::from_secs(3);

/// Where the solved result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// Just solve; results stay in the build cache.
    None,
    /// Docker's image store (`moby` exporter), tagged with `names`.
    Moby { names: Vec<String> },
    /// The upstream image exporter (a standalone engine's store, Docker's containerd store);
    /// `push` pushes every name to its registry, `insecure` allows plain HTTP and
    /// unverified TLS to it (`registry.insecure`).
    Image { names: Vec<String>, push: bool, insecure: bool },
    /// A `docker load`-able tarball written to `dest`.
    DockerTar { dest: PathBuf, names: Vec<String> },
    /// An OCI image layout tarball written to `dest`.
    OciTar { dest: PathBuf },
    /// The result's filesystem as a plain tarball written to `dest`.
    Tar { dest: PathBuf },
}

impl Export {
    /// The exporter type name and its attributes; `None` has no exporter.
    fn exporter(&self) -> (&'static str, HashMap<String, String>) {
        let mut attrs = HashMap::new();
        let mut names = |n: &[String]| {
            if !n.is_empty() {
                attrs.insert("name".to_owned(), n.join(","));
            }
        };
        let kind = match self {
            Export::None => "",
            Export::Moby { names: n } => {
                names(n);
                "moby"
            }
            Export::Image { names: n, push, insecure } => {
                names(n);
                attrs.insert("push".into(), push.to_string());
                if *insecure {
                    attrs.insert("registry.insecure".into(), "true".into());
                }
                "image"
            }
            Export::DockerTar { names: n, .. } => {
                names(n);
                "docker"
            }
            Export::OciTar { .. } => "oci",
            Export::Tar { .. } => "tar",
        };
        (kind, attrs)
    }

    fn dest(&self) -> Option<&PathBuf> {
        match self {
            Export::DockerTar { dest, .. } | Export::OciTar { dest } | Export::Tar { dest } => Some(dest),
            _ => None,
        }
    }
}

/// One build: an LLB definition plus everything the session serves for it.
#[derive(Debug, Clone)]
pub struct SolveRequest {
    pub definition: pb::Definition,
    /// Image config JSON (`{"architecture", "os", "config": {Cmd, Env, …}}`) for image exports;
    /// the engine adds `rootfs` and `history`.
    pub image_config: Option<serde_json::Value>,
    /// Sources for `local://NAME` ops, by name.
    pub locals: BTreeMap<String, LocalSource>,
    /// Secrets for SECRET mounts, by id.
    pub secrets: BTreeMap<String, SecretSource>,
    pub export: Export,
    /// Entitlements the build needs (`network.host`, `security.insecure`).
    pub entitlements: Vec<String>,
    /// Files to read from the solved result before it is exported, and how they change the
    /// image config (a label made from a file the build wrote, for instance).
    pub finish: Option<FinishHook>,
    /// Registry credentials the session serves to the engine (`None`: anonymous).
    pub registry_auth: Option<Arc<crate::registry::DockerConfig>>,
    /// Build cache to export (`type=registry,ref=…,mode=max`), after the solve.
    pub cache_exports: Vec<CacheEntry>,
    /// Build cache to import before solving. A reference that does not exist yet is not an
    /// error: the engine logs it and builds without it ([`SolveOutcome::status`] shows it).
    pub cache_imports: Vec<CacheEntry>,
}

/// One cache exporter or importer: its type (`registry`, `local`, `inline`) and attributes
/// (`ref`, `mode`, `registry.insecure`, …), as BuildKit's `CacheOptionsEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

/// Reads files from the solved filesystem, or from other definitions solved in the same build,
/// and edits the image config with them before the result goes to the exporter (a label made
/// from a file the build wrote, for instance). Paths are absolute; a missing file is `None`.
#[derive(Clone)]
pub struct FinishHook {
    /// Definitions solved alongside the main one (detached stages), never exported.
    pub sides: Vec<pb::Definition>,
    /// The files to read, in the order `apply` receives them.
    pub reads: Vec<FileRead>,
    #[allow(clippy::type_complexity)]
    pub apply: Arc<dyn Fn(&[Option<Vec<u8>>], &mut serde_json::Value) + Send + Sync>,
}

/// One file a [`FinishHook`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// `None`: the build result; `Some(i)`: the result of `sides[i]`.
    pub from: Option<usize>,
    pub path: String,
    /// Says who should have written the file, for the error when a side's file is missing.
    pub what: String,
}

impl std::fmt::Debug for FinishHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishHook")
            .field("sides", &self.sides.len())
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

impl SolveRequest {
    /// A request that only solves `definition` (no export, no locals, no secrets).
    pub fn new(definition: pb::Definition) -> Self {
        SolveRequest {
            definition,
            image_config: None,
            locals: BTreeMap::new(),
            secrets: BTreeMap::new(),
            export: Export::None,
            entitlements: Vec::new(),
            finish: None,
            registry_auth: None,
            cache_exports: Vec::new(),
            cache_imports: Vec::new(),
        }
    }
}

/// The result of a successful solve.
#[derive(Debug, Clone)]
pub struct SolveOutcome {
    /// What the exporter reported (`containerimage.digest`, `image.name`, …).
    pub exporter_response: BTreeMap<String, String>,
    /// `containerimage.digest`: for `moby` the image ID, otherwise the manifest digest.
    pub image_digest: Option<String>,
    /// Bytes written for tarball exports.
    pub export_bytes: Option<u64>,
    /// The final status of every vertex.
    pub status: StatusState,
}

/// A fresh random ID (hex, no `:`), for build refs and sessions.
pub(crate) fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

pub(crate) async fn run(
    client: &Client,
    req: SolveRequest,
    progress: mpsc::Sender<StatusUpdate>,
) -> Result<SolveOutcome, BuildkitError> {
    let addr = client.addr.clone();
    let (exporter, attrs) = req.export.exporter();
    if !exporter.is_empty() {
        let kind = WorkerKind::detect(client.workers(), addr.is_docker());
        if !kind.exporters().contains(&exporter) {
            let help = match kind {
                WorkerKind::DockerClassic => {
                    "Docker's classic image store exports only to itself (Export::Moby) or as a plain tar (Export::Tar); \
                     enable the containerd image store or use a standalone buildkitd for image tarballs"
                }
                _ => "use Export::Image or a tarball export on a standalone buildkitd, Export::Moby on Docker",
            };
            return Err(BuildkitError::ExporterUnsupported {
                addr: addr.to_string(),
                exporter: exporter.to_owned(),
                available: kind.exporters().join(", "),
                help: help.to_owned(),
            });
        }
    }
    let export_dest = req.export.dest().cloned();
    if let Some(dest) = &export_dest {
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(BuildkitError::Io {
                action: "cannot export to",
                path: dest.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "the parent directory does not exist"),
            });
        }
    }

    let op_digests: Vec<String> = req.definition.def.iter().map(|op| sha256_digest(op)).collect();
    let bytes = prost::Message::encoded_len(&req.definition);
    if bytes > MAX_MESSAGE {
        return Err(BuildkitError::DefinitionTooLarge { bytes, limit: MAX_MESSAGE });
    }

    let build_ref = new_id();
    let session_id = new_id();
    let spec = SessionSpec {
        id: session_id.clone(),
        name: "cogpack".into(),
        shared_key: shared_key(&req.locals),
        locals: req.locals,
        secrets: req.secrets,
        export_dest,
        registry_auth: req.registry_auth.clone(),
    };
    let session = Session::start(&addr, &client.control, spec).await?;

    // Status runs on its own; its state is shared so a failure can read it afterwards.
    let state = Arc::new(Mutex::new(StatusState::new()));
    let status_task = AbortOnDrop(tokio::spawn(status_loop(client.control.clone(), build_ref.clone(), state.clone(), progress)));

    let mut control = client.control.clone();
    let solve = control.solve(control::SolveRequest {
        r#ref: build_ref.clone(),
        definition: None,
        frontend: String::new(),
        exporter_deprecated: exporter.to_owned(),
        exporter_attrs_deprecated: attrs,
        session: session_id,
        entitlements: req.entitlements,
        cache: Some(control::CacheOptions {
            exports: req.cache_exports.iter().map(cache_entry).collect(),
            imports: req.cache_imports.iter().map(cache_entry).collect(),
            ..Default::default()
        }),
        ..Default::default()
    });
    tokio::pin!(solve);
    // The solver takes cache imports from each LLBBridge.Solve in gateway mode.
    let imports: Vec<frontend::CacheOptionsEntry> = req
        .cache_imports
        .iter()
        .map(|e| frontend::CacheOptionsEntry { r#type: e.kind.clone(), attrs: e.attrs.clone().into_iter().collect() })
        .collect();
    let gateway = gateway(client, &build_ref, req.definition, req.image_config, req.finish, &imports);
    tokio::pin!(gateway);

    let mut gateway_error: Option<tonic::Status> = None;
    let solved = tokio::select! {
        g = &mut gateway => match g {
            Ok(()) => solve.await,
            Err(s) => {
                // The engine got our error and ends the build; if it never registered the
                // build, Solve would wait forever, so stop waiting after a while.
                let message = s.message().to_owned();
                gateway_error = Some(s);
                match tokio::time::timeout(GATEWAY_ERROR_WAIT, &mut solve).await {
                    Ok(done) => done,
                    Err(_) => Err(tonic::Status::aborted(message)),
                }
            }
        },
        s = &mut solve => s,
    };

    // Let the status stream finish (it ends with the job), but not forever.
    let _ = tokio::time::timeout(STATUS_DRAIN, status_task.join()).await;
    let status = state.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let filesend = session.filesend_report();
    let session_failure = session.failure();
    session.close().await;

    let response = match solved {
        Ok(r) => r.into_inner(),
        Err(s) => {
            if let Some(detail) = session_failure {
                return Err(BuildkitError::Session { addr: addr.to_string(), detail });
            }
            let message = gateway_error.map(|g| g.message().to_owned()).unwrap_or_else(|| s.message().to_owned());
            return Err(failure(&status, &op_digests, message));
        }
    };
    if let Some(err) = filesend.error {
        return Err(BuildkitError::Session { addr: addr.to_string(), detail: format!("receiving the export: {err}") });
    }
    let exporter_response: BTreeMap<String, String> = response.exporter_response.into_iter().collect();
    Ok(SolveOutcome {
        image_digest: exporter_response.get(IMAGE_DIGEST_KEY).cloned(),
        exporter_response,
        export_bytes: filesend.bytes,
        status,
    })
}

fn cache_entry(e: &CacheEntry) -> control::CacheOptionsEntry {
    control::CacheOptionsEntry { r#type: e.kind.clone(), attrs: e.attrs.clone().into_iter().collect() }
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The op digest a vertex digest stands for: ops with `ignore_cache` are reported as
/// `sha256("<op digest>-ignorecache")`.
fn op_digest_of(vertex: &str, ops: &[String]) -> String {
    if ops.iter().any(|d| d == vertex) {
        return vertex.to_owned();
    }
    ops.iter()
        .find(|d| sha256_digest(format!("{d}-ignorecache").as_bytes()) == vertex)
        .cloned()
        .unwrap_or_else(|| vertex.to_owned())
}

/// Builds the error of a failed solve from the status state.
fn failure(status: &StatusState, ops: &[String], message: String) -> BuildkitError {
    let f = match status.failed_vertex() {
        Some(v) => SolveFailure {
            vertex_digest: Some(op_digest_of(&v.digest, ops)),
            vertex_name: Some(v.display_name().to_owned()),
            error: v.error.clone().unwrap_or(message),
            log_tail: v.log_tail.iter().skip(v.log_tail.len().saturating_sub(SolveFailure::LOG_LINES)).cloned().collect(),
        },
        None => {
            let error = if message.contains("larger than max") {
                format!(
                    "{message}\n  help: older engines accept at most 4 MiB per message (Docker before 27.1.2, \
                     BuildKit before v0.14); move large inline file contents into a local source"
                )
            } else {
                message
            };
            SolveFailure { vertex_digest: None, vertex_name: None, error, log_tail: Vec::new() }
        }
    };
    BuildkitError::SolveFailed(Box::new(f))
}

/// Acts as the frontend: solve the definition, then return its result with the image config.
/// On a failed solve the error is returned to the engine too, so `Control.Solve` finishes.
async fn gateway(
    client: &Client,
    build_ref: &str,
    definition: pb::Definition,
    mut image_config: Option<serde_json::Value>,
    finish: Option<FinishHook>,
    imports: &[frontend::CacheOptionsEntry],
) -> Result<(), tonic::Status> {
    let bridge = client.bridge.clone();
    // Detached stages are solved at the same time as the image (their files go into the
    // image config, so they must finish before the export): both run now, in parallel, rather
    // than the image's steps waiting for the export.
    let side_defs: &[pb::Definition] = match (&finish, &image_config) {
        (Some(hook), Some(_)) => &hook.sides,
        _ => &[],
    };
    let evaluate_main = !side_defs.is_empty();
    let (solved, sides) = futures::future::join(
        gateway_solve(&bridge, build_ref, definition, evaluate_main, imports),
        futures::future::join_all(
            side_defs.iter().map(|side| gateway_solve(&bridge, build_ref, side.clone(), true, imports)),
        ),
    )
    .await;
    let ret = match solved {
        Ok(result) => {
            if let (Some(hook), Some(cfg)) = (&finish, image_config.as_mut()) {
                let sides = match sides.into_iter().collect::<Result<Vec<_>, _>>() {
                    Ok(sides) => sides,
                    Err(s) => return fail(&bridge, build_ref, s).await,
                };
                let mut files = Vec::new();
                for read in &hook.reads {
                    let from = match read.from {
                        None => result.as_ref(),
                        Some(i) => sides.get(i).and_then(Option::as_ref),
                    };
                    let Some(id) = from.and_then(ref_id) else {
                        files.push(None);
                        continue;
                    };
                    let req = frontend::ReadFileRequest { r#ref: id, file_path: read.path.clone(), ..Default::default() };
                    match bridge.clone().read_file(Client::for_build(build_ref, req)).await {
                        Ok(r) => files.push(Some(r.into_inner().data)),
                        // A side stage exists to write this file: its failure (BuildKit may
                        // run the stage only now, when the file is read) fails the build.
                        Err(s) if read.from.is_some() => {
                            // The engine's message names its own mount path; keep only why.
                            let why = s.message().rsplit(": ").next().unwrap_or_default();
                            let s = tonic::Status::new(s.code(), format!("{} ({why})", read.what));
                            return fail(&bridge, build_ref, s).await;
                        }
                        Err(_) => files.push(None),
                    }
                }
                (hook.apply)(&files, cfg);
            }
            let mut metadata = HashMap::new();
            if let Some(cfg) = &image_config {
                metadata.insert(IMAGE_CONFIG_KEY.to_owned(), serde_json::to_vec(cfg).unwrap_or_default());
            }
            ReturnRequest { result: Some(frontend::Result { metadata, result, ..Default::default() }), error: None }
        }
        Err(s) => return fail(&bridge, build_ref, s).await,
    };
    bridge.clone().r#return(Client::for_build(build_ref, ret)).await.map(|_| ())
}

/// Solves one definition through the gateway; the reference comes back in the form the
/// engine used, ready to be returned or read. `evaluate`: run the steps now rather than when
/// the result is first used (engines without that cap run them at the first read).
async fn gateway_solve(
    bridge: &LlbBridgeClient<Channel>,
    build_ref: &str,
    definition: pb::Definition,
    evaluate: bool,
    imports: &[frontend::CacheOptionsEntry],
) -> Result<Option<result::Result>, tonic::Status> {
    let solve_req = frontend::SolveRequest {
        definition: Some(definition),
        allow_result_return: true,
        evaluate,
        cache_imports: imports.to_vec(),
        ..Default::default()
    };
    let resp = Client::retry_job(|| {
        let mut b = bridge.clone();
        let req = Client::for_build(build_ref, solve_req.clone());
        async move { b.solve(req).await }
    })
    .await?
    .into_inner();
    Ok(match resp.result.and_then(|r| r.result) {
        Some(result::Result::Ref(r)) => Some(result::Result::Ref(frontend::Ref { id: r.id, def: None })),
        Some(result::Result::RefDeprecated(id)) => Some(result::Result::RefDeprecated(id)),
        Some(other) => Some(other),
        None if !resp.r#ref.is_empty() => Some(result::Result::RefDeprecated(resp.r#ref)),
        None => None,
    })
}

/// The id of a single-reference result.
fn ref_id(result: &result::Result) -> Option<String> {
    match result {
        result::Result::Ref(r) => Some(r.id.clone()),
        result::Result::RefDeprecated(id) => Some(id.clone()),
        _ => None,
    }
}

/// Hands a failed solve back to the engine, so `Control.Solve` finishes with the error too.
async fn fail(bridge: &LlbBridgeClient<Channel>, build_ref: &str, s: tonic::Status) -> Result<(), tonic::Status> {
    let ret = ReturnRequest {
        result: None,
        error: Some(RpcStatus { code: s.code() as i32, message: s.message().to_owned(), details: Vec::new() }),
    };
    let _ = bridge.clone().r#return(Client::for_build(build_ref, ret)).await;
    Err(s)
}

async fn status_loop(
    mut control: control::control_client::ControlClient<tonic::transport::Channel>,
    build_ref: String,
    state: Arc<Mutex<StatusState>>,
    progress: mpsc::Sender<StatusUpdate>,
) {
    let Ok(resp) = control.status(control::StatusRequest { r#ref: build_ref }).await else { return };
    let mut stream = resp.into_inner();
    while let Ok(Some(msg)) = stream.message().await {
        let update = StatusUpdate::from(msg);
        state.lock().unwrap_or_else(|p| p.into_inner()).apply(&update);
        // A closed or dropped receiver only means nobody is watching.
        let _ = progress.send(update).await;
    }
}

/// A stable key for the set of local sources, so the engine can reuse earlier transfers.
fn shared_key(locals: &BTreeMap<String, LocalSource>) -> String {
    let mut h = Sha256::new();
    for (name, src) in locals {
        h.update(name.as_bytes());
        if let Some(p) = src.dir_path() {
            h.update(p.as_os_str().as_encoded_bytes());
        }
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Aborts a spawned task when dropped (a cancelled solve leaves nothing running).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ignorecache_vertices_back_to_ops() {
        let ops = vec![sha256_digest(b"op-a"), sha256_digest(b"op-b")];
        assert_eq!(op_digest_of(&ops[1], &ops), ops[1]);
        let renamed = sha256_digest(format!("{}-ignorecache", ops[0]).as_bytes());
        assert_eq!(op_digest_of(&renamed, &ops), ops[0]);
        assert_eq!(op_digest_of("sha256:other", &ops), "sha256:other");
    }

    #[test]
    fn exporters_get_their_attributes() {
        let (kind, attrs) = Export::Moby { names: vec!["a:1".into(), "b:2".into()] }.exporter();
        assert_eq!((kind, attrs.get("name").map(String::as_str)), ("moby", Some("a:1,b:2")));
        let (kind, attrs) = Export::Image { names: vec![], push: false, insecure: false }.exporter();
        assert_eq!((kind, attrs.get("push").map(String::as_str), attrs.get("name")), ("image", Some("false"), None));
        assert!(!attrs.contains_key("registry.insecure"));
        let (_, attrs) = Export::Image { names: vec!["r:5000/a:1".into()], push: true, insecure: true }.exporter();
        assert_eq!(attrs.get("registry.insecure").map(String::as_str), Some("true"));
        assert_eq!(attrs.get("push").map(String::as_str), Some("true"));
        assert_eq!(Export::None.exporter().0, "");
        assert_eq!(Export::Tar { dest: "x.tar".into() }.dest(), Some(&PathBuf::from("x.tar")));
    }
}
