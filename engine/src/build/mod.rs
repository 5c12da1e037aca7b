//! `cogpack build`: take a plan to an image. Find the engine, make sure the base images
//! exist (building local ones from Debian packages), lower the plan to LLB for what the
//! engine supports, solve it with the session serving the project, generated files and
//! secrets, and export the image (Docker's image store, or tarballs).
//!
//! The library reports what happens through [`BuildNote`]s and BuildKit status updates; the
//! CLI decides how to show them.

pub mod export;
pub mod git;
pub mod history;
pub mod options;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::buildkit::{
    self, BuildkitError, Client, EngineAddr, EngineInfo, LocalSource, MemTree, SolveFailure,
    SolveRequest, StatusState, StatusUpdate,
};
use crate::compat::{CompatTables, Origin as ImageOrigin};
use crate::daemon::{self, DaemonError};
use crate::diagnostics::exit;
use crate::images::{self, ImagesError};
use crate::lower::{self, EngineCaps, LowerError, LowerOptions, Lowered, LocalSpec};
use crate::plan::{Input, Mount, Op, Plan};
use crate::registry::{self, CredentialsError, DockerConfig, Mirror, TransferError, TransferReport};

pub use options::{CacheSpec, OptionError, OutputSpec, SecretSpec};

/// What the user asked for, beyond the plan.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Image names to tag in the engine's image store (`-t`).
    pub tags: Vec<String>,
    /// Tarballs to write (`--output`).
    pub outputs: Vec<OutputSpec>,
    /// Secrets for `secret` mounts (`--secret`).
    pub secrets: Vec<SecretSpec>,
    /// CA bundle for steps that reach package indexes (`--ca-cert`).
    pub ca_cert: Option<PathBuf>,
    /// Engine address (`--engine`); otherwise discovered.
    pub engine: Option<String>,
    /// Write the decoded LLB graph here (`--dump-llb`).
    pub dump_llb: Option<PathBuf>,
    /// Lower every stage onto the one before it even when the engine could make independent
    /// layers (`--layers chained`): what engines without MergeOp/DiffOp do.
    pub chained_layers: bool,
    /// Push every tag to its registry (`--push`), with BuildKit's image exporter.
    pub push: bool,
    /// Allow plain HTTP and unverified TLS to the registries of `--push` and the caches
    /// (`--insecure-registry`); loopback registries need no flag.
    pub insecure_registry: bool,
    /// Build cache to export to a registry (`--cache-to`).
    pub cache_to: Vec<CacheSpec>,
    /// Build cache to import from a registry (`--cache-from`).
    pub cache_from: Vec<CacheSpec>,
    /// The registry base images are pulled through (`--mirror`, `registry.mirror` in
    /// cogpack's config.toml).
    pub mirror: Option<Mirror>,
}

/// Something worth telling the user while building (the CLI renders these).
#[derive(Debug, Clone)]
pub enum BuildNote {
    /// The engine that will build, and how it was found.
    Engine { addr: String, version: String, origin: String },
    /// A base image is missing and is being built locally.
    BaseImageBuilding { name: String },
    /// A line of progress from a base-image build.
    BaseImageProgress { name: String, line: String },
    /// A base image was built.
    BaseImageReady { name: String, id: String },
    /// The LLB graph was written.
    LlbDumped { path: PathBuf, ops: usize },
    /// A tarball was written.
    OutputWritten { path: PathBuf, bytes: u64 },
    /// A base image was pulled through the mirror.
    BaseImagePulled { name: String, from: String },
    /// A `--cache-from` reference had nothing to import (normal on a first build).
    CacheMissing { reference: String, error: String },
    /// The image was pushed.
    Pushed(TransferReport),
    /// The build cache was exported.
    CacheExported { reference: String },
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image ID in the engine's store (Docker), when there is one.
    pub image_id: Option<String>,
    /// The names it is tagged with.
    pub tags: Vec<String>,
    /// Tarballs written.
    pub outputs: Vec<PathBuf>,
    /// The final state of every step (cached, timing, ...).
    pub status: StatusState,
    /// What `--push` sent, per name.
    pub pushed: Vec<TransferReport>,
}

/// A failed build step, traced to the block and stage that made it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepFailure {
    pub block: Option<String>,
    pub stage: Option<String>,
    /// What the step does (its description or command).
    pub step: String,
    /// The engine's error.
    pub error: String,
    /// The step's last log lines.
    pub log_tail: Vec<String>,
}

/// Why a build failed. [`BuildError::exit_code`] gives the exit code of each class.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Discover(#[from] DaemonError),
    #[error("{0}")]
    Engine(BuildkitError),
    #[error(transparent)]
    BaseImage(#[from] ImagesError),
    #[error(
        "base image `{name}` is not in the engine's image store and cogpack cannot build it here \
         (it is a registry image{upstream})\nhelp: load or pull it into the engine first \
         (`docker pull`/`docker load` with DOCKER_HOST from `cogpack engine env`), or choose a \
         configuration whose base image is built locally (`cogpack images list`)"
    )]
    BaseImageUnavailable { name: String, upstream: String },
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error(
        "the build needs secret{} {} but {} not given\nhelp: pass `--secret id=ID,src=FILE` or \
         `--secret id=ID,env=VAR` for each",
        if ids.len() == 1 { "" } else { "s" },
        ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "),
        if ids.len() == 1 { "it was" } else { "they were" }
    )]
    MissingSecrets { ids: Vec<String> },
    /// A `--secret` whose source cannot be read (checked before the build starts, so a
    /// cached step cannot hide it). Never carries the value.
    #[error("--secret id={id}: {error}\nhelp: pass a readable regular file of at most {} bytes (`src=FILE`) or a set variable (`env=VAR`)", crate::buildkit::MAX_SECRET_BYTES)]
    Secret { id: String, error: crate::buildkit::SecretError },
    #[error("{}", render_step(.0))]
    Step(Box<StepFailure>),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("exporting the image failed: {0}")]
    Export(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Pull(#[from] TransferError),
    #[error("{what} failed: {detail}{}", hint.as_ref().map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
    Registry { what: String, detail: String, hint: Option<String> },
    #[error("--push needs a name to push: pass -t REGISTRY/REPOSITORY:TAG")]
    PushWithoutTag,
}

impl BuildError {
    /// The process exit code for this failure class.
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildError::Discover(_) | BuildError::Engine(_) => exit::ENGINE,
            BuildError::BaseImage(_) | BuildError::BaseImageUnavailable { .. } => exit::BUILD,
            BuildError::Lower(_) | BuildError::MissingSecrets { .. } => exit::PROJECT,
            BuildError::Secret { .. } => exit::USAGE,
            BuildError::Step(_) | BuildError::Export(_) => exit::BUILD,
            BuildError::Write { .. } | BuildError::Credentials(_) => exit::FAILURE,
            BuildError::Pull(_) | BuildError::Registry { .. } => exit::BUILD,
            BuildError::PushWithoutTag => exit::USAGE,
        }
    }
}

fn render_step(f: &StepFailure) -> String {
    let mut s = match (&f.block, &f.stage) {
        (Some(block), Some(stage)) => {
            format!("block `{block}` failed (stage `{stage}`): {}\n  error: {}", f.step, f.error)
        }
        _ if f.step.is_empty() => format!("build failed: {}", f.error),
        _ => format!("build step failed: {}\n  error: {}", f.step, f.error),
    };
    if !f.log_tail.is_empty() {
        s.push_str("\n  last lines of its log:");
        for line in &f.log_tail {
            s.push_str("\n  | ");
            s.push_str(line);
        }
    }
    s
}

/// Builds `plan` (composed from the project at `project_dir`). Progress updates go to
/// `progress`; notes to `note`.
pub async fn build_plan(
    plan: &Plan,
    project_dir: &Path,
    options: &BuildOptions,
    progress: mpsc::Sender<StatusUpdate>,
    note: &(dyn Fn(BuildNote) + Send + Sync),
) -> Result<BuildOutcome, BuildError> {
    check_secrets(plan, options)?;
    if options.push && options.tags.is_empty() {
        return Err(BuildError::PushWithoutTag);
    }
    // Read now, so a broken config.json fails before the build; helpers run when asked.
    let auth = Arc::new(DockerConfig::load()?);
    let found = daemon::discover(options.engine.as_deref())?;
    let client = Client::connect(&found.addr).await.map_err(BuildError::Engine)?;
    let info = client.info().await.map_err(BuildError::Engine)?;
    note(BuildNote::Engine {
        addr: found.addr.to_string(),
        version: engine_version(&info),
        origin: format!("{:?}", found.origin),
    });

    // The Docker API of the same daemon (images, tarball exports); none on a standalone engine.
    let docker = match found.addr.is_docker() {
        true => Some(daemon::connect(&found.addr).await?),
        false => None,
    };
    ensure_base_images(plan, docker.as_ref(), options.mirror.as_ref(), &auth, note).await?;
    let image_configs = image_defaults(plan, docker.as_ref()).await;

    let caps = EngineCaps::from_caps(info.llb_caps.iter().filter(|c| {
        !(options.chained_layers && (*c == crate::llb::caps::MERGE_OP || *c == crate::llb::caps::DIFF_OP))
    }).cloned());
    let lowered = lower::lower_with(
        plan,
        project_dir,
        &caps,
        &LowerOptions {
            ca_cert: options.ca_cert.clone(),
            source_key: Some(lower::project_key(project_dir)),
            image_configs,
        },
    )?;
    if let Some(path) = &options.dump_llb {
        dump_llb(&lowered, path)?;
        note(BuildNote::LlbDumped { path: path.clone(), ops: lowered.definition.def.len() });
    }

    let mut tags = options.tags.clone();
    let mut temporary_tag = None;
    if tags.is_empty() && !options.outputs.is_empty() && found.addr.is_docker() {
        // Docker's classic store exports tarballs by name: tag, save, untag.
        let tag = format!("cogpack-export/{}:tmp", random_suffix());
        tags.push(tag.clone());
        temporary_tag = Some(tag);
    }
    // Docker engines store the image and push it through their push API, which reports each
    // layer (sent, with its size, or already there); BuildKit's exporter reports none of that.
    // A standalone buildkitd pushes from its image exporter.
    let export = if options.push && !found.addr.is_docker() {
        buildkit::Export::Image { names: tags.clone(), push: true, insecure: options.insecure_registry }
    } else {
        choose_export(&found.addr, &tags, &options.outputs)?
    };
    let mut image_config = with_git_labels(&lowered.image_config, plan, project_dir);
    if let Some(history) = image_history(docker.as_ref(), &lowered).await {
        image_config["history"] = serde_json::Value::Array(history);
    }
    let request = SolveRequest {
        definition: lowered.definition.clone(),
        image_config: Some(image_config),
        locals: locals(&lowered)?,
        secrets: options
            .secrets
            .iter()
            .map(|s| (s.id.clone(), s.source.clone()))
            .collect(),
        export,
        entitlements: lowered.entitlements.iter().cloned().collect(),
        finish: label_files_hook(plan, &lowered),
        registry_auth: Some(auth.clone()),
        cache_exports: options.cache_to.iter().map(|c| c.entry(options.insecure_registry)).collect(),
        cache_imports: options.cache_from.iter().map(|c| c.entry(options.insecure_registry)).collect(),
    };
    let solved = client.solve(request, progress).await.map_err(|e| match step_error(e, &lowered) {
        // A failure no op of the plan made is the export's: the push or the cache export.
        BuildError::Step(f) if f.block.is_none() && (options.push || !options.cache_to.is_empty()) => {
            let pushing = options.push && !found.addr.is_docker();
            let what = if pushing { format!("pushing {}", tags.join(", ")) } else { "exporting the build cache".to_owned() };
            let target = if pushing { tags.first().cloned() } else { options.cache_to.first().map(|c| c.reference.clone()) };
            BuildError::Registry { hint: registry::report::hint(&f.error, &target.unwrap_or_default()), what, detail: f.error }
        }
        other => other,
    })?;
    for (reference, error) in registry::report::missing_cache_imports(&solved.status) {
        note(BuildNote::CacheMissing { reference, error });
    }
    for c in &options.cache_to {
        note(BuildNote::CacheExported { reference: c.reference.clone() });
    }
    let mut pushed = Vec::new();
    if options.push {
        for tag in &tags {
            let report = match &docker {
                Some(docker) => match registry::push(docker, &found.addr, &auth, tag, tag).await {
                    Ok(r) => r,
                    Err(e) => {
                        // No name is left that looks pushed: the image stays in the build
                        // cache, so building again is instant.
                        for t in &tags {
                            let _ = export::untag(docker, t).await;
                        }
                        return Err(e.into());
                    }
                },
                None => TransferReport { reference: tag.clone(), ..Default::default() },
            };
            note(BuildNote::Pushed(report.clone()));
            pushed.push(report);
        }
    }

    let mut outputs = Vec::new();
    if let (Some(docker), false) = (&docker, options.outputs.is_empty()) {
        let name = tags.first().cloned().unwrap_or_default();
        for output in &options.outputs {
            let written = export::save(docker, &name, &options.tags, output).await?;
            note(BuildNote::OutputWritten { path: written.path.clone(), bytes: written.bytes });
            outputs.push(written.path);
        }
        if let Some(tag) = &temporary_tag {
            export::untag(docker, tag).await?;
            tags.retain(|t| t != tag);
        }
    } else {
        for output in &options.outputs {
            let path = match output {
                OutputSpec::Docker { dest } | OutputSpec::Oci { dest } => dest.clone(),
            };
            outputs.push(path);
        }
    }

    Ok(BuildOutcome {
        image_id: solved.image_digest.clone(),
        tags,
        outputs,
        status: solved.status,
        pushed,
    })
}

fn engine_version(info: &EngineInfo) -> String {
    match &info.docker_version {
        Some(docker) => format!("Docker {docker}, BuildKit {}", info.buildkit_version),
        None => format!("BuildKit {}", info.buildkit_version),
    }
}

/// Required secret mounts must have a `--secret`, and every `--secret` given must be
/// readable now (a regular file or a set variable, within the size limit).
fn check_secrets(plan: &Plan, options: &BuildOptions) -> Result<(), BuildError> {
    for spec in &options.secrets {
        spec.source.check().map_err(|error| BuildError::Secret { id: spec.id.clone(), error })?;
    }
    let given: BTreeSet<&str> = options.secrets.iter().map(|s| s.id.as_str()).collect();
    let mut missing = BTreeSet::new();
    for stage in &plan.stages {
        for op in &stage.ops {
            if let Op::Exec(exec) = op {
                for mount in &exec.mounts {
                    if let Mount::Secret { id, required: true, .. } = mount {
                        if !given.contains(id.as_str()) {
                            missing.insert(id.clone());
                        }
                    }
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(BuildError::MissingSecrets { ids: missing.into_iter().collect() })
    }
}

/// Every image the plan reads, in plan order, without repeats.
pub fn plan_images(plan: &Plan) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |input: &Input| {
        if let Input::Image { image } = input {
            if seen.insert(image.clone()) {
                out.push(image.clone());
            }
        }
    };
    for stage in &plan.stages {
        add(&stage.input);
        for op in &stage.ops {
            match op {
                Op::Copy(c) => add(&c.from),
                Op::Exec(e) => {
                    for m in &e.mounts {
                        if let Mount::Bind { from, .. } = m {
                            add(from);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Makes sure every Cogpack base image the plan uses is in the engine's store: local ones
/// are built from Debian packages when absent (or stale); registry ones must be present.
async fn ensure_base_images(
    plan: &Plan,
    docker: Option<&bollard::Docker>,
    mirror: Option<&Mirror>,
    auth: &DockerConfig,
    note: &(dyn Fn(BuildNote) + Send + Sync),
) -> Result<(), BuildError> {
    let tables = CompatTables::builtin();
    let wanted: Vec<_> = plan_images(plan)
        .into_iter()
        .filter_map(|name| tables.base_images().iter().find(|row| row.name == name))
        .collect();
    let Some(docker) = docker else { return Ok(()) };
    for row in wanted {
        match row.origin {
            ImageOrigin::Local => {
                let recipe = images::recipe_for(row);
                if matches!(images::presence(docker, &recipe).await?, images::Presence::Current { .. }) {
                    continue;
                }
                // Someone may have built it already and published it to the mirror.
                if let Some(m) = mirror {
                    if pull_base(docker, m, auth, &row.name, note).await.is_ok()
                        && matches!(images::presence(docker, &recipe).await?, images::Presence::Current { .. })
                    {
                        continue;
                    }
                }
                note(BuildNote::BaseImageBuilding { name: row.name.clone() });
                let name = row.name.clone();
                let forward = move |event: images::BuildEvent| match event {
                    images::BuildEvent::Step { step, .. } => note(BuildNote::BaseImageProgress {
                        name: name.clone(),
                        line: format!("{step:?}"),
                    }),
                    images::BuildEvent::Line(line) => {
                        note(BuildNote::BaseImageProgress { name: name.clone(), line })
                    }
                    images::BuildEvent::Entries(_) => {}
                };
                let id = images::ensure(docker, &recipe, &forward).await?;
                note(BuildNote::BaseImageReady { name: row.name.clone(), id: id.to_string() });
            }
            ImageOrigin::Registry => {
                if docker.inspect_image(&row.name).await.is_err() {
                    if let Some(m) = mirror {
                        pull_base(docker, m, auth, &row.name, note).await?;
                        continue;
                    }
                    return Err(BuildError::BaseImageUnavailable {
                        name: row.name.clone(),
                        upstream: row
                            .upstream
                            .as_ref()
                            .map(|u| format!(" based on {u}"))
                            .unwrap_or_default(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Pulls base image `name` from the mirror and tags it `name` in the engine's store.
pub async fn pull_base(
    docker: &bollard::Docker,
    mirror: &Mirror,
    auth: &DockerConfig,
    name: &str,
    note: &(dyn Fn(BuildNote) + Send + Sync),
) -> Result<(), BuildError> {
    let from = mirror.image(name);
    registry::pull(docker, auth, &from).await?;
    let (repo, tag) = name.rsplit_once(':').unwrap_or((name, "latest"));
    let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
    docker
        .tag_image(&from, Some(opts))
        .await
        .map_err(|e| BuildError::Export(format!("tagging {from} as {name}: {e}")))?;
    note(BuildNote::BaseImagePulled { name: name.to_owned(), from });
    Ok(())
}

/// The env, workdir and user of each image the plan starts from, as the engine's image store
/// has them (Docker only; a standalone engine's images start from the default `PATH`).
async fn image_defaults(
    plan: &Plan,
    docker: Option<&bollard::Docker>,
) -> BTreeMap<String, lower::ImageDefaults> {
    let mut out = BTreeMap::new();
    let Some(docker) = docker else { return out };
    for image in plan_images(plan) {
        if let Ok(inspect) = docker.inspect_image(&image).await {
            if let Some(config) = inspect.config {
                out.insert(
                    image,
                    lower::ImageDefaults {
                        env: config.env.unwrap_or_default(),
                        workdir: config.working_dir,
                        user: config.user,
                    },
                );
            }
        }
    }
    out
}

/// The session's sources for every `local://NAME` the definition reads.
fn locals(lowered: &Lowered) -> Result<BTreeMap<String, LocalSource>, BuildError> {
    let mut out = BTreeMap::new();
    for (name, spec) in &lowered.locals {
        let bad = |e: crate::dockerignore::PatternError| BuildError::Export(format!("context `{name}`: {e}"));
        let source = match spec {
            LocalSpec::Dir { path, include, exclude } => {
                LocalSource::dir(path.clone()).filtered(include, exclude).map_err(bad)?
            }
            LocalSpec::Memory { files, include, exclude } => {
                let mut tree = MemTree::new();
                for (path, (data, mode)) in files {
                    tree.insert(path, data.clone(), *mode)
                        .map_err(|e| BuildError::Export(format!("generated context `{name}`: {e}")))?;
                }
                LocalSource::memory(tree).filtered(include, exclude).map_err(bad)?
            }
        };
        out.insert(name.clone(), source);
    }
    Ok(out)
}

/// Which exporter writes the image: Docker's store by name, or a tarball on a standalone
/// engine (which has no store of ours to save from).
fn choose_export(
    addr: &EngineAddr,
    tags: &[String],
    outputs: &[OutputSpec],
) -> Result<buildkit::Export, BuildError> {
    if addr.is_docker() {
        return Ok(buildkit::Export::Moby { names: tags.to_vec() });
    }
    match outputs {
        [] => Ok(buildkit::Export::Image { names: tags.to_vec(), push: false, insecure: false }),
        [OutputSpec::Docker { dest }] => {
            Ok(buildkit::Export::DockerTar { dest: dest.clone(), names: tags.to_vec() })
        }
        [OutputSpec::Oci { dest }] => Ok(buildkit::Export::OciTar { dest: dest.clone() }),
        _ => Err(BuildError::Export(
            "a standalone buildkitd writes one --output per build".into(),
        )),
    }
}

/// One history entry per layer, naming the block and stage that made it; `None` leaves the
/// history to BuildKit.
async fn image_history(docker: Option<&bollard::Docker>, lowered: &Lowered) -> Option<Vec<serde_json::Value>> {
    let chain = lowered.layer_chain.as_ref()?;
    let base = match (&chain.base, docker) {
        (Some(source), Some(docker)) => {
            let name = source.strip_prefix("docker-image://")?;
            let layers = docker.inspect_image(name).await.ok()?.root_fs?.layers?.len();
            let items = docker.image_history(name).await.ok()?;
            history::base_history(&items, layers)
        }
        _ => None,
    };
    history::history(chain, base, &lowered.definition)
}

/// The image config plus the git labels of the checkout (a label the plan sets wins).
fn with_git_labels(config: &serde_json::Value, plan: &Plan, project_dir: &Path) -> serde_json::Value {
    let mut config = config.clone();
    for (k, v) in git::labels(project_dir) {
        if !plan.export.labels.contains_key(&k) && !plan.export.label_files.contains_key(&k) {
            set_label(&mut config, k, v);
        }
    }
    config
}

/// Sets `config.Labels[key]` of an image config.
fn set_label(config: &mut serde_json::Value, key: String, value: String) {
    if let Some(cfg) = config.get_mut("config").and_then(|c| c.as_object_mut()) {
        let labels = cfg.entry("Labels").or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(map) = labels.as_object_mut() {
            map.insert(key, serde_json::Value::String(value));
        }
    }
}

/// Labels whose values are files of the built image or of a detached stage.
fn label_files_hook(plan: &Plan, lowered: &Lowered) -> Option<buildkit::FinishHook> {
    if plan.export.label_files.is_empty() {
        return None;
    }
    let side_ids: Vec<&String> = lowered.side_definitions.keys().collect();
    let mut labels = Vec::new();
    let mut reads = Vec::new();
    for (label, file) in &plan.export.label_files {
        let from = match &file.stage {
            None => None,
            // Lowering gave every stage a label file reads its own definition.
            Some(id) => match side_ids.iter().position(|s| *s == id) {
                Some(i) => Some(i),
                None => continue,
            },
        };
        let what = match &file.stage {
            Some(stage) => {
                let block = plan.stage(stage).map_or("?", |s| s.block.as_str());
                format!("block `{block}` (stage `{stage}`) did not write `{}`, which the label `{label}` reads", file.path)
            }
            None => format!("the image has no `{}` for the label `{label}`", file.path),
        };
        labels.push(label.clone());
        reads.push(buildkit::FileRead { from, path: file.path.clone(), what });
    }
    Some(buildkit::FinishHook {
        sides: lowered.side_definitions.values().cloned().collect(),
        reads,
        apply: Arc::new(move |read, config| {
            for (label, bytes) in labels.iter().zip(read) {
                let Some(bytes) = bytes else { continue };
                let value = String::from_utf8_lossy(bytes).trim_end().to_string();
                set_label(config, label.clone(), value);
            }
        }),
    })
}

/// Maps a failed vertex back to the block and stage that made it.
fn step_error(err: BuildkitError, lowered: &Lowered) -> BuildError {
    match err {
        BuildkitError::SolveFailed(failure) => {
            let SolveFailure { vertex_digest, vertex_name, error, log_tail } = *failure;
            let origin = vertex_digest.as_ref().and_then(|d| lowered.origins.get(d));
            BuildError::Step(Box::new(StepFailure {
                block: origin.map(|o| o.block.clone()),
                stage: origin.map(|o| o.stage.clone()),
                step: origin
                    .map(|o| o.description.clone())
                    .or(vertex_name)
                    .unwrap_or_default(),
                error,
                log_tail,
            }))
        }
        other => BuildError::Engine(other),
    }
}

/// Writes the decoded LLB graph as JSON.
fn dump_llb(lowered: &Lowered, path: &Path) -> Result<(), BuildError> {
    let decode = |def| {
        crate::llb::decode(def)
            .map_err(|e| BuildError::Export(format!("cannot decode the LLB graph: {e}")))
    };
    let mut json = decode(&lowered.definition)?;
    if !lowered.side_definitions.is_empty() {
        let mut sides = serde_json::Map::new();
        for (stage, def) in &lowered.side_definitions {
            sides.insert(stage.clone(), decode(def)?);
        }
        if let Some(map) = json.as_object_mut() {
            // Detached stages a label file reads (`pip freeze`), solved in the same build.
            map.insert("detached_stages".into(), serde_json::Value::Object(sides));
        }
    }
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|source| BuildError::Write { path: path.to_path_buf(), source })
}

fn random_suffix() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..12).map(|_| char::from(b'a' + rng.random_range(0..26u8))).collect()
}
