//! Lowering a [`Plan`] to BuildKit LLB.
//!
//! [`lower`] turns the exported stage and everything it depends on into a `pb::Definition`
//! and collects what the solve needs besides: the local directories and in-memory files the
//! session must serve ([`LocalSpec`]), the secret ids, the entitlements, the OCI image config
//! of the result, and, for every op digest, which block and stage it came from ([`Origin`]).
//!
//! - Stage inputs resolve as the plan module describes (`Input::Phase` via
//!   [`Plan::phase_output`]); stages are lowered depth-first, dependencies before
//!   dependents, each once; identical sources (same image, same context and patterns, same
//!   URL) are one op.
//! - Raw LLB inherits no image config, so the environment, working directory and user are
//!   tracked here ([`env::Environment`]) and put into each exec's meta and the image config.
//! - `host_ca` steps bind the host CA bundle read-only from the in-memory local
//!   `cogpack-host-ca` and point `SSL_CERT_FILE`, `PIP_CERT` and `REQUESTS_CA_BUNDLE` at it,
//!   for that step only; a bind mount is never part of a layer.
//! - Copies from a context filter at the source: each filtered view of a context is its own
//!   `local://` name whose patterns the session applies ([`LocalSpec`]; the LLB carries only a
//!   hash of them in the shared key hint, since the daemon would send patterns back in gRPC
//!   headers limited to 16 KiB); copies from anything else with patterns need
//!   `file.copy.includeexcludepatterns` (v0.9+). `Copy.merge` copies into scratch and merges
//!   the layer on top when the engine has MergeOp, else copies onto the stage.
//! - Every op is named `[<block>/<stage>] <what>` and declares the caps it needs; a cap the
//!   engine lacks is an error here, naming the block and stage, before anything is sent.

mod engine;
pub mod env;
mod host_ca;
mod image_config;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::llb::{
    self, pb, Chown, CopyOptions, Exec, FileOps, HttpOptions, LlbError, LocalOptions, MountSpec,
    OpMeta, State,
};
use crate::plan::{self, Context, Input, Mount, Op, Plan, Stage, Violation};

pub use crate::dockerignore::parse as parse_dockerignore;
pub use engine::EngineCaps;
pub use host_ca::{
    choose_ca_path, host_ca_bundle, HostCa, CA_FILE, CA_LOCAL, CA_TARGET, DEFAULT_CA_PATH,
};
pub use image_config::image_config;

use env::Environment;

/// The result of lowering a plan.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The LLB graph; its result is the exported image's filesystem.
    pub definition: pb::Definition,
    /// What the session serves for each `local://NAME` the definition reads.
    pub locals: BTreeMap<String, LocalSpec>,
    /// Secret ids the steps mount (values are supplied at build time, never here).
    pub secrets: BTreeSet<String>,
    /// Entitlements the solve must grant (`network.host`).
    pub entitlements: BTreeSet<String>,
    /// OCI image config of the result (`architecture`, `os`, `config{...}`).
    pub image_config: serde_json::Value,
    /// Where each op of the definitions came from, by digest.
    pub origins: BTreeMap<String, Origin>,
    /// Detached stages a label file reads, by stage id: solved in the same build, never
    /// exported.
    pub side_definitions: BTreeMap<String, pb::Definition>,
    /// The ops that become the image's layers, bottom first, and the image below them;
    /// `None` when the graph's shape does not say (see [`llb::layer_chain`]).
    pub layer_chain: Option<llb::LayerChain>,
}

/// What the client sends for one `local://NAME`.
///
/// The patterns are applied by the client (the session's FileSync): they are not in the LLB,
/// because the daemon would send them back in gRPC headers, whose size is limited. Each
/// filtered view of a context is its own `local://` name (`source`, `source-<hash>` for a
/// copy's own patterns), and the source op's shared key hint carries a hash of its patterns,
/// so the op digest changes exactly when the patterns do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalSpec {
    /// A directory on the build machine; `exclude` holds the `.dockerignore` patterns when
    /// the context asks for them, then the context's own, then the copy's.
    Dir {
        path: PathBuf,
        include: Vec<String>,
        exclude: Vec<String>,
    },
    /// Files held in memory: relative path -> (contents, permission bits), filtered by
    /// `include`/`exclude` (a copy's own patterns).
    Memory {
        files: BTreeMap<String, (Vec<u8>, u32)>,
        include: Vec<String>,
        exclude: Vec<String>,
    },
}

/// Which block and stage an op belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    pub block: String,
    pub stage: String,
    /// Index into the stage's `ops`; `None` for the stage's input.
    pub op_index: Option<usize>,
    /// What the op does (the step's description or command, `FROM <image>`, ...).
    pub description: String,
}

/// Options of [`lower_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LowerOptions {
    /// `--ca-cert FILE`: the CA bundle for `host_ca` steps (default: `$SSL_CERT_FILE`, then
    /// `/etc/ssl/certs/ca-certificates.crt`).
    pub ca_cert: Option<PathBuf>,
    /// Names the project in the shared key hint of its directory contexts, so two builds of
    /// different projects running at once on one engine never share a `local://source`
    /// vertex. `cogpack build` passes [`project_key`] of the project directory; `None` keeps
    /// the definition independent of where the project lives.
    pub source_key: Option<String>,
    /// The configuration of images the plan starts from, as the engine has them (`Env`,
    /// `WorkingDir`, `User`), by the reference the plan uses. Raw LLB does not inherit an
    /// image's config, so a chain that starts from a listed image starts from its values;
    /// other images start from the default `PATH`.
    pub image_configs: BTreeMap<String, ImageDefaults>,
}

/// What a chain inherits from the image it starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDefaults {
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
}

/// A short stable key for a project directory (a hash of its canonical path).
pub fn project_key(project_dir: &Path) -> String {
    let dir = project_dir.canonicalize().unwrap_or_else(|_| project_dir.to_path_buf());
    short_hash(dir.to_string_lossy().as_bytes())
}

/// What can go wrong lowering a plan.
#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    #[error("the plan is invalid:\n{}", .0.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
    InvalidPlan(Vec<Violation>),
    #[error("the plan has no stage that produces the exported image")]
    NothingToExport,
    #[error("[{block}/{stage}] the exported stage is an empty filesystem (scratch with no ops)")]
    ScratchExport { block: String, stage: String },
    #[error("stages depend on each other in a cycle: {chain}")]
    Cycle { chain: String },
    #[error("[{block}/{stage}] {what}")]
    Reference {
        block: String,
        stage: String,
        what: String,
    },
    #[error("[{block}/{stage}] context `{context}` is the directory {}, which does not exist", path.display())]
    ContextDir {
        block: String,
        stage: String,
        context: String,
        path: PathBuf,
    },
    #[error("{source}\nhelp: fix or remove the line; patterns follow Docker's .dockerignore syntax")]
    Dockerignore {
        #[from]
        source: crate::dockerignore::DockerignoreError,
    },
    #[error(
        "[{block}/{stage}] copies from {from} with include/exclude patterns, which needs the \
         `file.copy.includeexcludepatterns` cap (BuildKit v0.9+, Docker 23+); this engine lacks it\n\
         help: filter with a context (its patterns work on every engine) or upgrade the engine"
    )]
    CopyPatternsUnsupported {
        block: String,
        stage: String,
        from: String,
    },
    #[error(
        "[{block}/{stage}] {description}: the engine lacks the `{cap}` capability\nhelp: {help}"
    )]
    MissingCap {
        cap: String,
        block: String,
        stage: String,
        description: String,
        help: String,
    },
    #[error(
        "cannot use the host CA bundle {}: {message}\n\
         help: pass `--ca-cert FILE` or set SSL_CERT_FILE to a PEM bundle", path.display()
    )]
    HostCa { path: PathBuf, message: String },
    #[error("[{block}/{stage}] {source}")]
    Llb {
        block: String,
        stage: String,
        source: LlbError,
    },
}

/// Lowers `plan` for an engine with `engine`'s caps; `project_dir` anchors local contexts.
pub fn lower(plan: &Plan, project_dir: &Path, engine: &EngineCaps) -> Result<Lowered, LowerError> {
    lower_with(plan, project_dir, engine, &LowerOptions::default())
}

/// [`lower`] with options.
pub fn lower_with(
    plan: &Plan,
    project_dir: &Path,
    engine: &EngineCaps,
    options: &LowerOptions,
) -> Result<Lowered, LowerError> {
    let violations = plan::validate(plan);
    if !violations.is_empty() {
        return Err(LowerError::InvalidPlan(violations));
    }
    let exported = plan.exported_stage().ok_or(LowerError::NothingToExport)?;
    let mut l = Lowerer {
        plan,
        project_dir,
        engine,
        options,
        platform: llb::platform(&plan.platform.os, &plan.platform.architecture),
        done: BTreeMap::new(),
        active: Vec::new(),
        sources: BTreeMap::new(),
        locals: BTreeMap::new(),
        secrets: BTreeSet::new(),
        entitlements: BTreeSet::new(),
        origins: BTreeMap::new(),
        dockerignore: None,
        ca_hint: String::new(),
    };
    let out = l.stage(&exported.id, None)?;
    if out.state.is_scratch() {
        return Err(LowerError::ScratchExport {
            block: exported.block.clone(),
            stage: exported.id.clone(),
        });
    }
    let definition = llb::marshal(&out.state).map_err(|source| LowerError::Llb {
        block: exported.block.clone(),
        stage: exported.id.clone(),
        source,
    })?;
    let mut side_definitions = BTreeMap::new();
    for file in plan.export.label_files.values() {
        let Some(id) = &file.stage else { continue };
        if side_definitions.contains_key(id) {
            continue;
        }
        // Validation checked that the stage exists and is detached.
        let Some(stage) = plan.stages.iter().find(|s| &s.id == id) else { continue };
        let side = l.stage(id, None)?;
        let side = llb::marshal(&side.state).map_err(|source| LowerError::Llb {
            block: stage.block.clone(),
            stage: id.clone(),
            source,
        })?;
        side_definitions.insert(id.clone(), side);
    }

    // Keep only the origins of ops that are in a definition, and check their caps.
    let all = || std::iter::once(&definition).chain(side_definitions.values());
    let digests: BTreeSet<String> =
        all().flat_map(|d| d.def.iter().map(|b| llb::digest_of(b))).collect();
    l.origins.retain(|d, _| digests.contains(d));
    for def in all() {
        check_caps(def, engine, &l.origins, exported)?;
    }
    let image_config = image_config(&plan.platform, &out.env, &plan.export);
    let layer_chain = llb::layer_chain(&definition);
    Ok(Lowered {
        definition,
        locals: l.locals,
        secrets: l.secrets,
        entitlements: l.entitlements,
        image_config,
        origins: l.origins,
        layer_chain,
        side_definitions,
    })
}

/// Every op's caps must be ones the engine reports; the error names the op's block.
fn check_caps(
    definition: &pb::Definition,
    engine: &EngineCaps,
    origins: &BTreeMap<String, Origin>,
    exported: &Stage,
) -> Result<(), LowerError> {
    for bytes in &definition.def {
        let digest = llb::digest_of(bytes);
        let Some(md) = definition.metadata.get(&digest) else {
            continue;
        };
        for cap in md.caps.keys() {
            if !engine.supports(cap) {
                let origin = origins.get(&digest);
                let help = match engine::first_version_with(cap) {
                    Some(v) => {
                        format!("`{cap}` needs {v} or newer; upgrade the engine or change the step")
                    }
                    None => format!("the engine does not report `{cap}`; upgrade it"),
                };
                return Err(LowerError::MissingCap {
                    cap: cap.clone(),
                    block: origin.map_or_else(|| exported.block.clone(), |o| o.block.clone()),
                    stage: origin.map_or_else(|| exported.id.clone(), |o| o.stage.clone()),
                    description: origin
                        .map_or_else(|| "the build result".into(), |o| o.description.clone()),
                    help,
                });
            }
        }
    }
    Ok(())
}

/// A lowered stage: its result and the environment later stages inherit.
#[derive(Debug, Clone)]
struct StageOut {
    state: State,
    env: Environment,
    /// For a stage lowered as an independent layer (`runs_on` with MergeOp and DiffOp): its
    /// own result, what it ran on plus its ops, which a later `runs_on` of it builds on.
    /// `None`: the same as `state`.
    own: Option<Box<StageOut>>,
}

impl StageOut {
    fn new(state: State, env: Environment) -> Self {
        StageOut {
            state,
            env,
            own: None,
        }
    }

    /// What a stage that `runs_on` this one runs on.
    fn own(&self) -> StageOut {
        match &self.own {
            Some(own) => (**own).clone(),
            None => StageOut::new(self.state.clone(), self.env.clone()),
        }
    }
}

/// Where in the plan an op comes from.
#[derive(Debug, Clone, Copy)]
struct At<'p> {
    block: &'p str,
    stage: &'p str,
    op_index: Option<usize>,
}

impl At<'_> {
    fn meta(&self, what: &str, platform: &pb::Platform) -> OpMeta {
        OpMeta::new(
            format!("[{}/{}] {what}", self.block, self.stage),
            Some(platform.clone()),
        )
    }

    fn llb(&self, source: LlbError) -> LowerError {
        LowerError::Llb {
            block: self.block.into(),
            stage: self.stage.into(),
            source,
        }
    }

    fn reference(&self, what: String) -> LowerError {
        LowerError::Reference {
            block: self.block.into(),
            stage: self.stage.into(),
            what,
        }
    }
}

struct Lowerer<'p> {
    plan: &'p Plan,
    project_dir: &'p Path,
    engine: &'p EngineCaps,
    options: &'p LowerOptions,
    platform: pb::Platform,
    done: BTreeMap<String, StageOut>,
    /// Stages being lowered, innermost last (cycle detection).
    active: Vec<String>,
    /// Source states by a key of what they read, so identical inputs are one op.
    sources: BTreeMap<String, State>,
    locals: BTreeMap<String, LocalSpec>,
    secrets: BTreeSet<String>,
    entitlements: BTreeSet<String>,
    origins: BTreeMap<String, Origin>,
    dockerignore: Option<Vec<String>>,
    /// Shared key hint of the host CA source, named by the bundle's content.
    ca_hint: String,
}

impl<'p> Lowerer<'p> {
    fn record(&mut self, state: &State, at: At<'_>, description: &str) {
        if let Some(digest) = state.digest() {
            self.origins
                .entry(digest.to_string())
                .or_insert_with(|| Origin {
                    block: at.block.into(),
                    stage: at.stage.into(),
                    op_index: at.op_index,
                    description: description.into(),
                });
        }
    }

    /// Lowers stage `id` (and, first, what it reads). `from` is who asked, for errors.
    fn stage(&mut self, id: &str, from: Option<At<'_>>) -> Result<StageOut, LowerError> {
        if let Some(out) = self.done.get(id) {
            return Ok(out.clone());
        }
        let plan: &'p Plan = self.plan;
        let Some(stage) = plan.stage(id) else {
            let what = format!("refers to unknown stage `{id}`");
            return Err(match from {
                Some(at) => at.reference(what),
                None => LowerError::Reference {
                    block: "plan".into(),
                    stage: id.into(),
                    what,
                },
            });
        };
        if let Some(pos) = self.active.iter().position(|s| s == id) {
            let mut chain = self.active[pos..].to_vec();
            chain.push(id.to_string());
            return Err(LowerError::Cycle {
                chain: chain.join(" -> "),
            });
        }
        self.active.push(id.to_string());
        let out = self.lower_stage(stage);
        self.active.pop();
        let out = out?;
        self.done.insert(id.to_string(), out.clone());
        Ok(out)
    }

    fn lower_stage(&mut self, stage: &'p Stage) -> Result<StageOut, LowerError> {
        let at = At {
            block: &stage.block,
            stage: &stage.id,
            op_index: None,
        };
        let chain = self.input(&stage.input, at)?;
        // Independent: run the ops on what the stage needs, then merge only their changes
        // onto the chain (see docs/llb.md). Without the caps, or when what it needs is the
        // chain itself, the ops run on the chain.
        let run_base = match &stage.runs_on {
            Some(needs) if self.engine.independent_layers() => {
                let base = self.run_base(needs, at)?;
                (base.state.digest() != chain.state.digest()).then_some(base)
            }
            _ => None,
        };
        let (mut state, mut env) = match &run_base {
            Some(base) => (base.state.clone(), base.env.clone()),
            None => (chain.state.clone(), chain.env.clone()),
        };
        // The chain's environment gets the stage's own settings too.
        let mut chain_env = chain.env.clone();
        for (i, op) in stage.ops.iter().enumerate() {
            let at = At {
                op_index: Some(i),
                ..at
            };
            match op {
                Op::Exec(exec) => state = self.exec(state, &env, exec, at)?,
                Op::Copy(copy) => state = self.copy(state, copy, at)?,
                Op::MkFile(f) => {
                    let what = format!("MKFILE {}", f.path);
                    state = FileOps::new(state)
                        .mkfile(&f.path, f.mode, f.contents.clone().into_bytes(), None)
                        .build(&at.meta(&what, &self.platform))
                        .map_err(|e| at.llb(e))?;
                    self.record(&state, at, &what);
                }
                Op::MkDir(d) => {
                    let what = format!("MKDIR {}", d.path);
                    state = FileOps::new(state)
                        .mkdir(&d.path, d.mode, true, None)
                        .build(&at.meta(&what, &self.platform))
                        .map_err(|e| at.llb(e))?;
                    self.record(&state, at, &what);
                }
                Op::Rm(r) => {
                    let what = format!("RM {}", r.path);
                    state = FileOps::new(state)
                        .rm(&r.path, true, false)
                        .build(&at.meta(&what, &self.platform))
                        .map_err(|e| at.llb(e))?;
                    self.record(&state, at, &what);
                }
                Op::Env(e) => {
                    env.set_expanded(&e.key, &e.value);
                    chain_env.set_expanded(&e.key, &e.value);
                }
                Op::Workdir(w) => {
                    env.workdir = Some(env.expand(&w.path));
                    chain_env.workdir = Some(chain_env.expand(&w.path));
                }
                Op::User(u) => {
                    env.user = Some(env.expand(&u.user));
                    chain_env.user = Some(chain_env.expand(&u.user));
                }
            }
        }
        let Some(base) = run_base else {
            return Ok(StageOut::new(state, env));
        };
        if state.digest() == base.state.digest() {
            // No op changed a file: nothing to merge.
            return Ok(StageOut {
                state: chain.state,
                env: chain_env,
                own: Some(Box::new(StageOut::new(state, env))),
            });
        }
        let what = "its own files (an independent layer)";
        let layer = State::diff(&base.state, &state, &at.meta(what, &self.platform));
        self.record(&layer, at, what);
        let merged_what = "merge its own layer onto the stages below";
        let merged = State::merge(
            &[chain.state, layer],
            &at.meta(merged_what, &self.platform),
        );
        self.record(&merged, at, merged_what);
        Ok(StageOut {
            state: merged,
            env: chain_env,
            own: Some(Box::new(StageOut::new(state, env))),
        })
    }

    /// What a stage with `runs_on: needs` runs on: a stage's (or a phase's last stage's) own
    /// result, or an image or scratch.
    fn run_base(&mut self, needs: &Input, at: At<'_>) -> Result<StageOut, LowerError> {
        match needs {
            Input::Stage { stage } => Ok(self.stage(stage, Some(at))?.own()),
            Input::Phase { phase } => match self.plan.phase_output(*phase) {
                Some(s) => Ok(self.stage(&s.id, Some(at))?.own()),
                None => {
                    Err(at.reference(format!("phase `{phase}` has no stage in it or before it")))
                }
            },
            other => self.input(other, at),
        }
    }

    /// A chain starting from `image`: its state, with the image's own env, workdir and user
    /// when the engine told us them (see [`LowerOptions::image_configs`]).
    fn chain_from_image(&self, state: State, image: &str) -> StageOut {
        let mut env = Environment::default();
        if let Some(defaults) = self.options.image_configs.get(image) {
            for entry in &defaults.env {
                env.apply_entry(entry);
            }
            env.workdir = defaults.workdir.clone().filter(|w| !w.is_empty());
            env.user = defaults.user.clone().filter(|u| !u.is_empty());
        }
        StageOut::new(state, env)
    }

    /// The state and inherited environment an input denotes (copy and bind sources too).
    fn input(&mut self, input: &Input, at: At<'_>) -> Result<StageOut, LowerError> {
        let fresh = |state| StageOut::new(state, Environment::default());
        match input {
            Input::Stage { stage } => self.stage(stage, Some(at)),
            Input::Phase { phase } => match self.plan.phase_output(*phase) {
                Some(s) => self.stage(&s.id, Some(at)),
                None => {
                    Err(at.reference(format!("phase `{phase}` has no stage in it or before it")))
                }
            },
            Input::Scratch => Ok(fresh(State::scratch())),
            Input::Image { image } => {
                let key = format!("image:{image}");
                if let Some(s) = self.sources.get(&key) {
                    return Ok(self.chain_from_image(s.clone(), image));
                }
                let what = format!(
                    "FROM {}",
                    llb::normalize_image_ref(image).map_err(|e| at.llb(e))?
                );
                let state =
                    State::image(image, &at.meta(&what, &self.platform)).map_err(|e| at.llb(e))?;
                self.record(&state, at, &what);
                self.sources.insert(key, state.clone());
                Ok(self.chain_from_image(state, image))
            }
            Input::Url {
                url,
                checksum,
                filename,
            } => {
                let key = format!("url:{url}\0{checksum:?}\0{filename:?}");
                if let Some(s) = self.sources.get(&key) {
                    return Ok(fresh(s.clone()));
                }
                let what = format!("ADD {url}");
                let opts = HttpOptions {
                    checksum: checksum.clone(),
                    filename: filename.clone(),
                    perm: None,
                };
                let state = State::http(
                    url,
                    &opts,
                    &OpMeta::new(format!("[{}/{}] {what}", at.block, at.stage), None),
                )
                .map_err(|e| at.llb(e))?;
                self.record(&state, at, &what);
                self.sources.insert(key, state.clone());
                Ok(fresh(state))
            }
            Input::Context { context } => Ok(fresh(self.context(context, &[], &[], at)?)),
        }
    }

    /// A context as a `local://` source, filtered by the context's patterns plus `include`
    /// and `exclude`; registers what the session must serve for it.
    fn context(
        &mut self,
        name: &str,
        include: &[String],
        exclude: &[String],
        at: At<'_>,
    ) -> Result<State, LowerError> {
        let Some(ctx) = self.plan.contexts.get(name) else {
            return Err(at.reference(format!("refers to unknown context `{name}`")));
        };
        if name == CA_LOCAL {
            return Err(at.reference(format!(
                "context name `{CA_LOCAL}` is reserved for the host CA bundle"
            )));
        }
        // The shared key hint names what the source holds, so that two builds running at
        // once on one engine never share a `local://NAME` vertex that serves other files:
        // a directory is named by `LowerOptions::source_key`, generated files by their content.
        let hint = match ctx {
            Context::Local { .. } => match &self.options.source_key {
                Some(key) => format!("{name}-{key}"),
                None => name.to_string(),
            },
            Context::Generated { files } => {
                let mut all = Vec::new();
                for (p, f) in files {
                    all.extend_from_slice(p.as_bytes());
                    all.push(0);
                    all.extend_from_slice(f.contents.as_bytes());
                    all.extend_from_slice(&f.mode.to_le_bytes());
                }
                format!("{name}-{}", short_hash(&all))
            }
        };
        let (mut inc, mut exc) = (Vec::new(), Vec::new());
        let spec = match ctx {
            Context::Local {
                path,
                dockerignore,
                include: ci,
                exclude: ce,
            } => {
                let dir = if path == "." || path.is_empty() {
                    self.project_dir.to_path_buf()
                } else {
                    self.project_dir.join(path)
                };
                if !dir.is_dir() {
                    return Err(LowerError::ContextDir {
                        block: at.block.into(),
                        stage: at.stage.into(),
                        context: name.into(),
                        path: dir,
                    });
                }
                if *dockerignore {
                    exc.extend(self.dockerignore()?);
                }
                exc.extend(ce.iter().cloned());
                inc.extend(ci.iter().cloned());
                inc.extend(include.iter().cloned());
                exc.extend(exclude.iter().cloned());
                LocalSpec::Dir {
                    path: dir,
                    include: inc.clone(),
                    exclude: exc.clone(),
                }
            }
            Context::Generated { files } => {
                let files = files
                    .iter()
                    .map(|(p, f)| {
                        (
                            p.trim_start_matches('/').to_string(),
                            (f.contents.clone().into_bytes(), f.mode),
                        )
                    })
                    .collect();
                inc.extend(include.iter().cloned());
                exc.extend(exclude.iter().cloned());
                LocalSpec::Memory {
                    files,
                    include: inc.clone(),
                    exclude: exc.clone(),
                }
            }
        };
        // The context's own view keeps its name; a copy's own patterns make another view.
        let local_name = if include.is_empty() && exclude.is_empty() {
            name.to_string()
        } else {
            format!("{name}-{}", patterns_hash(include, exclude))
        };
        let hint = if inc.is_empty() && exc.is_empty() {
            hint
        } else {
            format!("{hint}-{}", patterns_hash(&inc, &exc))
        };
        self.locals.insert(local_name.clone(), spec);
        let key = format!("context:{local_name}");
        if let Some(s) = self.sources.get(&key) {
            return Ok(s.clone());
        }
        let what = format!("context {name}");
        let opts = LocalOptions {
            shared_key_hint: Some(hint),
            ..Default::default()
        };
        let state = State::local(
            &local_name,
            &opts,
            &OpMeta::new(format!("[{}/{}] {what}", at.block, at.stage), None),
        )
        .map_err(|e| at.llb(e))?;
        self.record(&state, at, &what);
        self.sources.insert(key, state.clone());
        Ok(state)
    }

    fn dockerignore(&mut self) -> Result<Vec<String>, LowerError> {
        if let Some(p) = &self.dockerignore {
            return Ok(p.clone());
        }
        let patterns = crate::dockerignore::read(self.project_dir)?.patterns;
        self.dockerignore = Some(patterns.clone());
        Ok(patterns)
    }

    fn host_ca(&mut self, at: At<'_>) -> Result<State, LowerError> {
        if !self.locals.contains_key(CA_LOCAL) {
            let ca = host_ca_bundle(self.options.ca_cert.as_deref())?;
            self.ca_hint = format!("{CA_LOCAL}-{}", short_hash(&ca.contents));
            let files = BTreeMap::from([(CA_FILE.to_string(), (ca.contents, 0o644))]);
            self.locals.insert(
                CA_LOCAL.to_string(),
                LocalSpec::Memory {
                    files,
                    include: Vec::new(),
                    exclude: Vec::new(),
                },
            );
        }
        let key = format!("context:{CA_LOCAL}");
        if let Some(s) = self.sources.get(&key) {
            return Ok(s.clone());
        }
        let what = "host CA bundle";
        let opts = LocalOptions {
            shared_key_hint: Some(self.ca_hint.clone()),
            ..Default::default()
        };
        let state = State::local(
            CA_LOCAL,
            &opts,
            &OpMeta::new(format!("[{}/{}] {what}", at.block, at.stage), None),
        )
        .map_err(|e| at.llb(e))?;
        self.record(&state, at, what);
        self.sources.insert(key, state.clone());
        Ok(state)
    }

    fn exec(
        &mut self,
        root: State,
        env: &Environment,
        exec: &plan::Exec,
        at: At<'_>,
    ) -> Result<State, LowerError> {
        let mut step_env = env.clone();
        for entry in &exec.env {
            step_env.apply_entry(entry);
        }
        if exec.host_ca {
            for key in ["SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"] {
                step_env.set(key, CA_TARGET.into());
            }
        }
        let cwd = exec
            .cwd
            .clone()
            .or_else(|| env.workdir.clone())
            .unwrap_or_else(|| "/".into());
        let user = exec
            .user
            .clone()
            .or_else(|| env.user.clone())
            .unwrap_or_default();
        let mut b = Exec::new(root, exec.args.clone())
            .env(step_env.entries())
            .cwd(cwd)
            .user(user)
            .network(match exec.network {
                plan::Network::Default => llb::Network::Sandbox,
                plan::Network::None => llb::Network::None,
                plan::Network::Host => {
                    self.entitlements.insert("network.host".into());
                    llb::Network::Host
                }
            });
        for mount in &exec.mounts {
            let spec = match mount {
                Mount::Cache { id, sharing, .. } => MountSpec::Cache {
                    id: id.clone(),
                    sharing: match sharing {
                        plan::CacheSharing::Shared => llb::CacheSharing::Shared,
                        plan::CacheSharing::Private => llb::CacheSharing::Private,
                        plan::CacheSharing::Locked => llb::CacheSharing::Locked,
                    },
                },
                Mount::Secret { id, required, .. } => {
                    self.secrets.insert(id.clone());
                    MountSpec::secret(id.clone(), !required)
                }
                Mount::Bind {
                    from,
                    source,
                    readonly,
                    ..
                } => {
                    let state = self.input(from, at)?.state;
                    MountSpec::Bind {
                        source: state,
                        selector: source.clone(),
                        readonly: *readonly,
                    }
                }
                Mount::Tmpfs { size, .. } => MountSpec::Tmpfs { size: *size },
            };
            b = b.mount(mount.target(), spec);
        }
        if exec.host_ca {
            if exec.mounts.iter().any(|m| m.target() == CA_TARGET) {
                return Err(at.reference(format!(
                    "`host_ca` needs {CA_TARGET}, which another mount of the step uses"
                )));
            }
            let ca = self.host_ca(at)?;
            b = b.mount(
                CA_TARGET,
                MountSpec::bind_readonly(ca, Some(format!("/{CA_FILE}"))),
            );
        }
        let what = exec
            .description
            .clone()
            .unwrap_or_else(|| command_text(&exec.args));
        let out = b
            .build(&at.meta(&what, &self.platform))
            .map_err(|e| at.llb(e))?;
        self.record(&out.root, at, &what);
        Ok(out.root)
    }

    fn copy(&mut self, state: State, copy: &plan::Copy, at: At<'_>) -> Result<State, LowerError> {
        let srcs: Vec<String> = if copy.src.is_empty() {
            vec!["/".into()]
        } else {
            copy.src.clone()
        };
        let (from, include, exclude) = match &copy.from {
            Input::Context { context } => {
                // Filter at the source; with no patterns and specific paths, send only those.
                let include = if copy.include.is_empty()
                    && srcs.iter().all(|s| !s.trim_matches('/').is_empty())
                {
                    srcs.iter()
                        .map(|s| s.trim_start_matches('/').to_string())
                        .collect()
                } else {
                    copy.include.clone()
                };
                (
                    self.context(context, &include, &copy.exclude, at)?,
                    Vec::new(),
                    Vec::new(),
                )
            }
            other => {
                if (!copy.include.is_empty() || !copy.exclude.is_empty())
                    && !self
                        .engine
                        .supports(llb::caps::FILE_COPY_INCLUDE_EXCLUDE_PATTERNS)
                {
                    return Err(LowerError::CopyPatternsUnsupported {
                        block: at.block.into(),
                        stage: at.stage.into(),
                        from: other.to_string(),
                    });
                }
                (
                    self.input(other, at)?.state,
                    copy.include.clone(),
                    copy.exclude.clone(),
                )
            }
        };
        let merge = copy.merge && self.engine.merge_op && !state.is_scratch();
        let owner = copy.chown.as_deref().map(|spec| {
            let mut chown = Chown::parse(spec);
            // A layer on scratch has no /etc/passwd: look names up in the stage instead.
            let named = matches!(chown.user, llb::UserRef::Name(_))
                || matches!(chown.group, Some(llb::UserRef::Name(_)));
            if merge && named {
                chown.lookup = Some(state.clone());
            }
            chown
        });
        let what = copy.description.clone().unwrap_or_else(|| {
            format!("COPY --from={} {} {}", copy.from, srcs.join(" "), copy.dest)
        });
        let mut ops = FileOps::new(if merge {
            State::scratch()
        } else {
            state.clone()
        });
        for src in &srcs {
            ops = ops.copy(
                &from,
                src.as_str(),
                copy.dest.as_str(),
                CopyOptions {
                    follow_symlinks: true,
                    dir_copy_contents: true,
                    create_dest_path: true,
                    allow_wildcard: true,
                    allow_empty_wildcard: false,
                    include: include.clone(),
                    exclude: exclude.clone(),
                    mode: None,
                    owner: owner.clone(),
                },
            );
        }
        let layer = ops
            .build(&at.meta(&what, &self.platform))
            .map_err(|e| at.llb(e))?;
        self.record(&layer, at, &what);
        if !merge {
            return Ok(layer);
        }
        let merged_what = format!("{what} (merged layer)");
        let merged = State::merge(&[state, layer], &at.meta(&merged_what, &self.platform));
        self.record(&merged, at, &merged_what);
        Ok(merged)
    }
}

/// A command as people read it: the script of `sh -c`, else the argv joined.
fn command_text(args: &[String]) -> String {
    match args {
        [sh, flag, script, ..] if sh.ends_with("sh") && flag == "-c" => script.clone(),
        _ => args.join(" "),
    }
}

#[cfg(test)]
mod tests;

/// The first 12 hex digits of a SHA-256: enough to tell sources apart in a shared key hint.
/// A short hash of include and exclude patterns (stable for the same lists).
fn patterns_hash(include: &[String], exclude: &[String]) -> String {
    let mut all = Vec::new();
    for p in include {
        all.extend_from_slice(p.as_bytes());
        all.push(0);
    }
    all.push(1);
    for p in exclude {
        all.extend_from_slice(p.as_bytes());
        all.push(0);
    }
    short_hash(&all)
}

fn short_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(bytes)[..6])
}
