//! The Plan: what the stack and its blocks decided to build, independent of any backend.
//!
//! A plan is a list of [`Stage`]s (each an input plus [`Op`]s), the named [`Context`]s the
//! stages read files from, the [`ExportConfig`] of the final image, and the record of what
//! was resolved and which blocks fired. It is pure data: `serde` gives a stable JSON form
//! (`cogpack plan --format json`), [`validate`] checks it, and `crate::lower` turns it into
//! BuildKit LLB.
//!
//! ## Phases and inputs
//! Stages belong to a [`Phase`]. Build phases run in the order `base`, `system-deps`,
//! `runtime`, `framework-deps`, `app-deps`, `app-source`, `build-complete`; export phases
//! (`export-base`, `export-runtime`, `export-app`, `export-config`) assemble a separate
//! runtime image when a stack wants one. A stage's [`Input`] is explicit: another stage, the
//! result of an earlier phase, an image, scratch, a named context, or a URL.
//!
//! [`Input::Phase`] means "the output of the last stage of that phase", falling back to the
//! nearest earlier phase of the same track that has stages (the export track falls back to
//! the build track's `build-complete`). The image that is exported is the result of
//! `export-config` when the export track has stages, else of `build-complete`.

mod validate;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use validate::{validate, Violation};

/// Version of the plan's JSON shape. Bump on incompatible changes.
pub const PLAN_VERSION: u32 = 1;

/// A complete build plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Shape version, [`PLAN_VERSION`].
    pub version: u32,
    /// Id of the stack that won detection.
    pub stack: String,
    /// Target platform.
    pub platform: Platform,
    /// Every block the stack considered, whether it fired, and why.
    pub blocks: Vec<BlockOutcome>,
    /// Resolved versions (python, cuda, torch, base image, ...) and where each came from.
    pub resolved: BTreeMap<String, Resolved>,
    /// Named file sources the stages read from.
    pub contexts: BTreeMap<String, Context>,
    /// Build stages, in execution order.
    pub stages: Vec<Stage>,
    /// Configuration of the exported image.
    pub export: ExportConfig,
}

/// OS and architecture of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
}

impl Default for Platform {
    fn default() -> Self {
        Platform { os: "linux".into(), architecture: "amd64".into() }
    }
}

/// Whether a block took part, and the condition that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockOutcome {
    pub id: String,
    pub fired: bool,
    /// Human-readable reason: which detect condition held or failed.
    pub reason: String,
    /// Where the block's manifest came from (`builtin:blocks.d/uv.toml`, a path, ...).
    pub source: String,
}

/// One resolved value and why it has that value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resolved {
    /// The chosen version (or name, for the base image); absent when the value is "none",
    /// e.g. no CUDA on a CPU build.
    pub version: Option<String>,
    /// Where the choice came from: a cog.yaml field, a requirements line, a block, a table
    /// row or a default, rendered for people (`cog.yaml:3:3 build.python_version`).
    pub source: String,
    /// Further facts about the choice (package index, package name, ...).
    #[serde(flatten)]
    pub details: BTreeMap<String, serde_json::Value>,
}

/// A named source of files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Context {
    /// A directory on the build machine, relative to the project root.
    Local {
        path: String,
        /// Honour the project's `.dockerignore`.
        #[serde(default)]
        dockerignore: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        include: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<String>,
    },
    /// Files generated in memory by the engine or a block (rewritten requirements, ...).
    Generated { files: BTreeMap<String, GeneratedFile> },
}

/// One in-memory file of a generated context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratedFile {
    pub contents: String,
    /// Unix permission bits, as an octal string (`"0644"`).
    #[serde(with = "octal")]
    #[schemars(with = "String")]
    pub mode: u32,
}

/// The build and export phases.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Base,
    SystemDeps,
    Runtime,
    FrameworkDeps,
    AppDeps,
    AppSource,
    BuildComplete,
    ExportBase,
    ExportRuntime,
    ExportApp,
    ExportConfig,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 11] = [
        Phase::Base,
        Phase::SystemDeps,
        Phase::Runtime,
        Phase::FrameworkDeps,
        Phase::AppDeps,
        Phase::AppSource,
        Phase::BuildComplete,
        Phase::ExportBase,
        Phase::ExportRuntime,
        Phase::ExportApp,
        Phase::ExportConfig,
    ];

    /// The kebab-case name used in manifests and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Base => "base",
            Phase::SystemDeps => "system-deps",
            Phase::Runtime => "runtime",
            Phase::FrameworkDeps => "framework-deps",
            Phase::AppDeps => "app-deps",
            Phase::AppSource => "app-source",
            Phase::BuildComplete => "build-complete",
            Phase::ExportBase => "export-base",
            Phase::ExportRuntime => "export-runtime",
            Phase::ExportApp => "export-app",
            Phase::ExportConfig => "export-config",
        }
    }

    /// Parses a kebab-case phase name.
    pub fn from_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the phase belongs to the export track.
    pub fn is_export(self) -> bool {
        self >= Phase::ExportBase
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a stage (or a copy, or a bind mount) takes its files from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "from", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Input {
    /// The result of another stage.
    Stage { stage: String },
    /// The result of a phase (see the module docs).
    Phase { phase: Phase },
    /// An image reference (`docker.io/library/python:3.11-slim`, `cogpack/base:py3.11-bookworm`).
    Image { image: String },
    /// An empty filesystem.
    Scratch,
    /// A named context of the plan.
    Context { context: String },
    /// A file downloaded over HTTP(S); `checksum` (`sha256:…`) pins its content.
    Url {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checksum: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stage { stage } => write!(f, "stage:{stage}"),
            Input::Phase { phase } => write!(f, "phase:{phase}"),
            Input::Image { image } => write!(f, "image:{image}"),
            Input::Scratch => f.write_str("scratch"),
            Input::Context { context } => write!(f, "context:{context}"),
            Input::Url { url, .. } => write!(f, "url:{url}"),
        }
    }
}

/// A unit of build work: an input and the ops applied to it, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Unique id, conventionally `<block>` or `<block>.<name>`.
    pub id: String,
    /// The block that added the stage.
    pub block: String,
    pub phase: Phase,
    pub input: Input,
    pub ops: Vec<Op>,
    /// What the stage's ops need below them, when that is less than everything before it.
    /// With MergeOp and DiffOp the ops run on this (a stage here means that stage's own
    /// result: what it ran on plus its ops, without what was merged below it) and only the
    /// files they change are merged onto `input`, an independent layer whose cache survives
    /// changes further down. Without them, or when absent, the ops run on `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<Input>,
    /// A side stage: off the image's chain. No stage builds on it by default and it is never
    /// the exported stage; it is solved for what a label file reads from it (`pip freeze`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detached: bool,
}

/// One operation of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Run a command (a layer).
    Exec(Exec),
    /// Copy files from an input (a layer, or an independent layer merged on top).
    Copy(Copy),
    /// Write a file (a layer).
    MkFile(MkFile),
    /// Create a directory (a layer).
    MkDir(MkDir),
    /// Remove a path (a layer).
    Rm(Rm),
    /// Set an environment variable for the rest of this stage and the stages built on it.
    Env(SetEnv),
    /// Set the working directory for the rest of this stage and the stages built on it.
    Workdir(SetWorkdir),
    /// Set the user for the rest of this stage and the stages built on it.
    User(SetUser),
}

/// Run a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    /// argv; shell commands are `["/bin/sh", "-c", "..."]`.
    pub args: Vec<String>,
    /// Extra environment for this command only (`KEY=value`), on top of the stage's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    #[serde(default, skip_serializing_if = "Network::is_default")]
    pub network: Network,
    /// Mount the build host's CA bundle for this step only (package indexes behind
    /// intercepting proxies); it never lands in the image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_ca: bool,
    /// What the step does, for progress output (`install requirements`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Network access of an exec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// The engine's default network (can reach package indexes).
    #[default]
    Default,
    /// No network at all.
    None,
    /// The host's network (needs the `network.host` entitlement).
    Host,
}

impl Network {
    fn is_default(&self) -> bool {
        *self == Network::Default
    }
}

/// A mount of an exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Mount {
    /// A persistent cache directory, kept by the engine between builds, never in the image.
    Cache {
        target: String,
        /// Cache key; the same id shares the cache across steps and builds.
        id: String,
        #[serde(default)]
        sharing: CacheSharing,
    },
    /// A secret file supplied at build time (`--secret id=ID,src=PATH`); never in the image.
    Secret {
        target: String,
        id: String,
        #[serde(default = "yes")]
        required: bool,
    },
    /// Files from another input, bound into the command's filesystem.
    Bind {
        target: String,
        #[serde(flatten)]
        from: Input,
        /// Path inside the input (default `/`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        #[serde(default = "yes")]
        readonly: bool,
    },
    /// An in-memory scratch directory.
    Tmpfs {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
    },
}

impl Mount {
    /// Where the mount appears in the command's filesystem.
    pub fn target(&self) -> &str {
        match self {
            Mount::Cache { target, .. }
            | Mount::Secret { target, .. }
            | Mount::Bind { target, .. }
            | Mount::Tmpfs { target, .. } => target,
        }
    }
}

fn yes() -> bool {
    true
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CacheSharing {
    #[default]
    Shared,
    Private,
    Locked,
}

/// Copy files from an input into the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Copy {
    #[serde(flatten)]
    pub from: Input,
    /// Source paths inside the input (default `["/"]`); a directory's contents are copied.
    pub src: Vec<String>,
    /// Absolute destination directory (or file, for a single file source).
    pub dest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `user[:group]` owning the copied files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chown: Option<String>,
    /// Prefer an independent layer merged on top (BuildKit MergeOp) when the engine supports
    /// it; the result is the same files either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merge: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Write one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MkFile {
    pub path: String,
    pub contents: String,
    #[serde(with = "octal")]
    #[schemars(with = "String")]
    pub mode: u32,
}

/// Create a directory (and its parents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MkDir {
    pub path: String,
    #[serde(with = "octal")]
    #[schemars(with = "String")]
    pub mode: u32,
}

/// Remove a path (no error when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rm {
    pub path: String,
}

/// `ENV KEY=value` for the rest of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnv {
    pub key: String,
    /// `$VAR` and `${VAR}` expand against the environment so far (`/venv/bin:$PATH`).
    pub value: String,
}

/// `WORKDIR` for the rest of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWorkdir {
    pub path: String,
}

/// `USER` for the rest of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetUser {
    pub user: String,
}

/// The exported image's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// `KEY=value` entries, in order; later entries for the same key win.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Labels whose value is the content of a file, read when the build finishes: a file of
    /// the built image (`run.cog.openapi_schema` from `/src/.cog/openapi_schema.json`) or of a
    /// detached stage (`run.cog.pip_freeze`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label_files: BTreeMap<String, LabelFile>,
    /// `port[/tcp|/udp]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    /// Absolute paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
}

/// Where a label's value is read from when the build finishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelFile {
    /// Absolute path of the file.
    pub path: String,
    /// The (detached) stage whose result holds the file; `None`: the exported image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

impl Plan {
    /// An empty plan for a stack.
    pub fn new(stack: impl Into<String>) -> Plan {
        Plan {
            version: PLAN_VERSION,
            stack: stack.into(),
            platform: Platform::default(),
            blocks: Vec::new(),
            resolved: BTreeMap::new(),
            contexts: BTreeMap::new(),
            stages: Vec::new(),
            export: ExportConfig::default(),
        }
    }

    /// The stage with this id.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The stage whose output `Input::Phase { phase }` denotes (see the module docs), or
    /// `None` when no stage of that phase or an earlier one of its track exists.
    pub fn phase_output(&self, phase: Phase) -> Option<&Stage> {
        let mut p = Some(phase);
        while let Some(current) = p {
            if let Some(stage) = self.stages.iter().rev().find(|s| s.phase == current && !s.detached) {
                return Some(stage);
            }
            p = previous_phase(current);
        }
        None
    }

    /// The stage whose result is the exported image.
    pub fn exported_stage(&self) -> Option<&Stage> {
        self.phase_output(Phase::ExportConfig)
    }

    /// The plan as stable, pretty JSON (same plan, same bytes).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a plan always serialises");
        s.push('\n');
        s
    }
}

/// The phase searched after `phase` when it has no stages (export falls back to build).
fn previous_phase(phase: Phase) -> Option<Phase> {
    let i = Phase::ALL.iter().position(|p| *p == phase)?;
    i.checked_sub(1).map(|j| Phase::ALL[j])
}

/// Serde helper: `u32` permission bits as an octal string.
mod octal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let s = String::deserialize(d)?;
        u32::from_str_radix(s.trim_start_matches("0o"), 8)
            .map_err(|_| serde::de::Error::custom(format!("invalid octal mode `{s}`")))
    }
}

#[cfg(test)]
mod tests;
