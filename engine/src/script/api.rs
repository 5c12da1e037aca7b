//! The plan-building API of plan scripts: the `plan` object and the stages it returns.
//!
//! ```rhai
//! let s = plan.stage("apt-packages");                 // phase: the block's; input: the previous stage
//! let s = plan.stage("weights", #{ phase: "app-source", input: "phase:base" });
//! let s = plan.stage("pip-freeze", #{ input: "phase:app-deps", detached: true }); // off the image's chain
//! let s = plan.stage("torch", #{ runs_on: "stage:venv" });   // needs only venv below it: an
//!                                                            // independent layer with MergeOp
//! s.exec("apt-get update", #{ description: "refresh apt lists", host_ca: true,
//!         mounts: [#{ type: "cache", target: "/var/cache/apt", id: "apt-cache", sharing: "locked" }] });
//! s.exec(["python3", "-m", "venv", "/venv"], #{ description: "create the virtualenv" });
//! s.env("PATH", "/venv/bin:$PATH");   s.workdir("/src");   s.user("root");
//! s.copy(#{ from: "context:source", src: ["/"], dest: "/src", exclude: ["*.pt"], merge: true });
//! s.mkdir("/src/.cog");   s.mkfile("/etc/x.conf", "text", "0644");   s.rm("/tmp/x");
//! plan.local_context("source", #{ path: ".", dockerignore: true, exclude: [] });
//! plan.generated_context("requirements", #{ "requirements.txt": text });
//! plan.exclude("source", ["weights/"]);
//! plan.export_env("K", "v");  plan.export_cmd([..]);  plan.export_entrypoint([..]);
//! plan.export_workdir("/src");  plan.export_user("root");  plan.export_label("k", "v");
//! plan.export_label_file("k", "/src/.cog/x.json");            // the file's content, read after the build
//! plan.export_label_file("k", "/freeze.txt", "pip-freeze");   // ... from a detached stage
//! plan.export_port("5000");  plan.export_volume("/data");
//! plan.skip("the base image already has python 3.11");   plan.fired("uv");   plan.has_stage("venv");
//! ```
//!
//! Inputs are strings: `phase:<phase>`, `stage:<id>`, `image:<ref>`, `scratch`,
//! `context:<name>`, `url:<https URL>[#sha256=<hex>]` (a file the engine fetches). Mounts are maps with a `type` of `cache`, `secret`, `bind` or `tmpfs`.
//! Unknown option keys are errors, so typos do not pass silently.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use crate::plan::{
    CacheSharing, Context, Copy, Exec, GeneratedFile, Input, LabelFile, MkDir, MkFile, Mount, Network, Op,
    Phase, Rm, SetEnv, SetUser, SetWorkdir, Stage,
};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// The value `invalid_project(message)` throws (and `project.openapi_schema` when the
/// predictor's types cannot be read): the message, and a hint when there is one.
#[derive(Debug, Clone)]
pub struct ProjectRejection {
    pub message: String,
    pub help: Option<String>,
    /// The file and span the problem is in (a Python file of the project), for a snippet.
    pub at: Option<(Arc<crate::diagnostics::SourceFile>, crate::diagnostics::Span)>,
}

/// A change to the exported image's configuration, recorded with the block that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportChange {
    Env { key: String, value: String },
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Workdir(String),
    User(String),
    Label { key: String, value: String },
    /// A label whose value is a file of the built image, read when the build finishes.
    LabelFile { key: String, file: LabelFile },
    Port(String),
    Volume(String),
}

impl fmt::Display for ExportChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportChange::Env { key, value } => write!(f, "ENV {key}={value}"),
            ExportChange::Cmd(c) => write!(f, "CMD {c:?}"),
            ExportChange::Entrypoint(c) => write!(f, "ENTRYPOINT {c:?}"),
            ExportChange::Workdir(w) => write!(f, "WORKDIR {w}"),
            ExportChange::User(u) => write!(f, "USER {u}"),
            ExportChange::Label { key, value } => {
                let shown = if value.chars().count() > 60 {
                    format!("{}…", value.chars().take(57).collect::<String>())
                } else {
                    value.clone()
                };
                write!(f, "LABEL {key}={shown}")
            }
            ExportChange::LabelFile { key, file } => match &file.stage {
                None => write!(f, "LABEL {key}=<contents of {}>", file.path),
                Some(stage) => write!(f, "LABEL {key}=<contents of {} in stage {stage}>", file.path),
            },
            ExportChange::Port(p) => write!(f, "EXPOSE {p}"),
            ExportChange::Volume(v) => write!(f, "VOLUME {v}"),
        }
    }
}

/// A stage while the plan is being composed: its input may still be the default.
#[derive(Debug, Clone)]
pub struct DraftStage {
    pub stage: Stage,
    /// `None`: the previous stage in plan order (filled in when the plan is finished).
    pub input: Option<Input>,
}

/// Everything the plan scripts have added so far.
#[derive(Debug, Clone, Default)]
pub struct PlanState {
    /// The block whose script is running.
    pub block: String,
    /// That block's default phase.
    pub phase: Option<Phase>,
    pub stages: Vec<DraftStage>,
    /// Contexts and the block that added each.
    pub contexts: BTreeMap<String, (Context, String)>,
    /// `(context, patterns, block)` exclusions applied when the plan is finished.
    pub excludes: Vec<(String, Vec<String>, String)>,
    /// Export changes in order, with their block.
    pub export: Vec<(String, ExportChange)>,
    /// Blocks decided so far: fired or not.
    pub fired: BTreeMap<String, bool>,
    /// Set by `plan.skip(reason)`.
    pub skipped: Option<String>,
}

/// The `plan` object.
#[derive(Clone, Default)]
pub struct PlanApi(Arc<Mutex<PlanState>>);

impl fmt::Debug for PlanApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlanApi")
    }
}

impl PlanApi {
    /// A fresh, empty plan state.
    pub fn new() -> PlanApi {
        PlanApi::default()
    }

    /// Locks the state (a poisoned lock still holds valid data: scripts cannot panic it).
    pub fn state(&self) -> MutexGuard<'_, PlanState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stage(&self, id: &str, opts: Map) -> Fallible<StageApi> {
        let mut st = self.state();
        let block = st.block.clone();
        if id != block && !id.starts_with(&format!("{block}.")) {
            return Err(format!("stage id `{id}` must be `{block}` or start with `{block}.`").into());
        }
        if st.stages.iter().any(|s| s.stage.id == id) {
            return Err(format!("a stage `{id}` already exists").into());
        }
        let mut o = Opts::new("stage", opts);
        let phase = match o.string("phase")? {
            Some(name) => parse_phase(&name)?,
            None => st.phase.ok_or("the block has no phase")?,
        };
        let input = o.string("input")?.map(|s| parse_input(&s)).transpose()?;
        let detached = o.bool("detached")?.unwrap_or(false);
        let runs_on = o.string("runs_on")?.map(|s| parse_input(&s)).transpose()?;
        o.finish()?;
        if detached && input.is_none() {
            return Err(format!("detached stage `{id}` needs an `input` (it does not follow the previous stage)").into());
        }
        st.stages.push(DraftStage {
            stage: Stage {
                id: id.to_string(),
                block,
                phase,
                input: Input::Scratch,
                ops: Vec::new(),
                runs_on,
                detached,
            },
            input,
        });
        Ok(StageApi { plan: self.clone(), id: id.to_string() })
    }

    fn add_context(&self, name: &str, context: Context) -> Fallible<()> {
        let mut st = self.state();
        let block = st.block.clone();
        if name.trim().is_empty() {
            return Err("a context needs a name".into());
        }
        match st.contexts.get(name) {
            Some((existing, _)) if *existing == context => Ok(()),
            Some((_, owner)) => Err(format!("context `{name}` was already added by block `{owner}` with other settings").into()),
            None => {
                st.contexts.insert(name.to_string(), (context, block));
                Ok(())
            }
        }
    }

    fn export(&self, change: ExportChange) {
        let mut st = self.state();
        let block = st.block.clone();
        st.export.push((block, change));
    }
}

/// A stage returned by `plan.stage(...)`.
#[derive(Clone, Debug)]
pub struct StageApi {
    plan: PlanApi,
    id: String,
}

impl StageApi {
    fn push(&self, op: Op) -> Fallible<()> {
        let mut st = self.plan.state();
        let stage = st
            .stages
            .iter_mut()
            .find(|s| s.stage.id == self.id)
            .ok_or_else(|| format!("stage `{}` no longer exists", self.id))?;
        stage.stage.ops.push(op);
        Ok(())
    }

    fn exec(&self, args: Vec<String>, opts: Map) -> Fallible<()> {
        if args.is_empty() || args[0].is_empty() {
            return Err("exec needs a command".into());
        }
        let mut o = Opts::new("exec", opts);
        let description = o.string("description")?;
        let env = match o.take("env") {
            None => Vec::new(),
            Some(v) => env_entries(v)?,
        };
        let cwd = o.string("cwd")?;
        let user = o.string("user")?;
        let mounts = match o.take("mounts") {
            None => Vec::new(),
            Some(v) => {
                let items = v.into_array().map_err(|t| format!("exec: `mounts` must be an array, not {t}"))?;
                items.into_iter().enumerate().map(|(i, m)| parse_mount(i, m)).collect::<Fallible<Vec<_>>>()?
            }
        };
        let network = match o.string("network")?.as_deref() {
            None | Some("default") => Network::Default,
            Some("none") => Network::None,
            Some("host") => Network::Host,
            Some(other) => return Err(format!("exec: network `{other}` is not one of default, none, host").into()),
        };
        let host_ca = o.bool("host_ca")?.unwrap_or(false);
        o.finish()?;
        let description = description.or_else(|| Some(default_description(&args)));
        self.push(Op::Exec(Exec { args, env, cwd, user, mounts, network, host_ca, description }))
    }

    fn copy(&self, opts: Map) -> Fallible<()> {
        let mut o = Opts::new("copy", opts);
        let from = parse_input(&o.string("from")?.ok_or("copy needs `from`")?)?;
        let src = o.strings("src")?.unwrap_or_else(|| vec!["/".into()]);
        let dest = o.string("dest")?.ok_or("copy needs `dest`")?;
        let include = o.strings("include")?.unwrap_or_default();
        let exclude = o.strings("exclude")?.unwrap_or_default();
        let chown = o.string("chown")?;
        let merge = o.bool("merge")?.unwrap_or(false);
        let description = o.string("description")?;
        o.finish()?;
        self.push(Op::Copy(Copy { from, src, dest, include, exclude, chown, merge, description }))
    }
}

fn default_description(args: &[String]) -> String {
    let cmd = if args.len() == 3 && args[0] == "/bin/sh" && args[1] == "-c" { args[2].clone() } else { args.join(" ") };
    let first = cmd.lines().next().unwrap_or("").trim();
    if first.chars().count() > 60 {
        format!("run {}…", first.chars().take(57).collect::<String>())
    } else {
        format!("run {first}")
    }
}

/// Parses `phase:x`, `stage:id`, `image:ref`, `scratch`, `context:name`, `url:URL[#sha256=HEX]`.
pub fn parse_input(s: &str) -> Fallible<Input> {
    let s = s.trim();
    if s == "scratch" {
        return Ok(Input::Scratch);
    }
    let (kind, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("input `{s}` is not `phase:x`, `stage:id`, `image:ref`, `scratch` or `context:name`"))?;
    if rest.is_empty() {
        return Err(format!("input `{s}` names nothing after `{kind}:`").into());
    }
    Ok(match kind {
        "phase" => Input::Phase { phase: parse_phase(rest)? },
        "stage" => Input::Stage { stage: rest.to_string() },
        "image" => Input::Image { image: rest.to_string() },
        "context" => Input::Context { context: rest.to_string() },
        // `url:https://host/path/file.whl#sha256=<hex>`: a file fetched by the engine (the
        // fragment, as package indexes write it, is its checksum).
        "url" => {
            let (url, checksum) = match rest.split_once("#sha256=") {
                Some((u, sum)) => (u.to_string(), Some(format!("sha256:{sum}"))),
                None => (rest.to_string(), None),
            };
            Input::Url { url, checksum, filename: None }
        }
        other => return Err(format!("input kind `{other}` is not one of phase, stage, image, scratch, context, url").into()),
    })
}

fn parse_phase(name: &str) -> Fallible<Phase> {
    Phase::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        format!("unknown phase `{name}`; phases are {}", names.join(", ")).into()
    })
}

fn parse_mode(v: Dynamic, what: &str) -> Fallible<u32> {
    if let Ok(i) = v.as_int() {
        return u32::try_from(i).map_err(|_| format!("{what}: mode {i} is out of range").into());
    }
    let s = v.into_string().map_err(|t| format!("{what}: mode must be a string like \"0644\", not {t}"))?;
    u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|_| format!("{what}: mode `{s}` is not octal").into())
}

fn env_entries(v: Dynamic) -> Fallible<Vec<String>> {
    if v.is_map() {
        let map = v.cast::<Map>();
        return map
            .into_iter()
            .map(|(k, v)| {
                let v = v.into_string().map_err(|t| format!("env `{k}`: value must be a string, not {t}"))?;
                Ok(format!("{k}={v}"))
            })
            .collect();
    }
    let items = v.into_array().map_err(|t| format!("`env` must be an array of \"KEY=value\" or a map, not {t}"))?;
    items
        .into_iter()
        .map(|i| i.into_string().map_err(|t| format!("env entries must be strings, not {t}").into()))
        .collect()
}

fn parse_mount(index: usize, v: Dynamic) -> Fallible<Mount> {
    let what = format!("mount {}", index + 1);
    let map = v.try_cast::<Map>().ok_or_else(|| format!("{what} must be a map like #{{ type: \"cache\", ... }}"))?;
    let mut o = Opts::new(&what, map);
    let kind = o.string("type")?.ok_or_else(|| format!("{what} needs a `type` (cache, secret, bind, tmpfs)"))?;
    let target = o.string("target")?.ok_or_else(|| format!("{what} needs a `target`"))?;
    let mount = match kind.as_str() {
        "cache" => {
            let id = o.string("id")?.ok_or_else(|| format!("{what} (cache) needs an `id`"))?;
            let sharing = match o.string("sharing")?.as_deref() {
                None | Some("shared") => CacheSharing::Shared,
                Some("private") => CacheSharing::Private,
                Some("locked") => CacheSharing::Locked,
                Some(other) => return Err(format!("{what}: sharing `{other}` is not shared, private or locked").into()),
            };
            Mount::Cache { target, id, sharing }
        }
        "secret" => {
            let id = o.string("id")?.ok_or_else(|| format!("{what} (secret) needs an `id`"))?;
            let required = o.bool("required")?.unwrap_or(true);
            Mount::Secret { target, id, required }
        }
        "bind" => {
            let from = parse_input(&o.string("from")?.ok_or_else(|| format!("{what} (bind) needs `from`"))?)?;
            let source = o.string("source")?;
            let readonly = o.bool("readonly")?.unwrap_or(true);
            Mount::Bind { target, from, source, readonly }
        }
        "tmpfs" => {
            let size = match o.take("size") {
                None => None,
                Some(v) => Some(v.as_int().map_err(|t| format!("{what}: size must be an integer, not {t}"))? as u64),
            };
            Mount::Tmpfs { target, size }
        }
        other => return Err(format!("{what}: type `{other}` is not cache, secret, bind or tmpfs").into()),
    };
    o.finish()?;
    Ok(mount)
}

/// An options map being taken apart; leftover keys are errors.
struct Opts {
    what: String,
    map: Map,
    allowed: Vec<&'static str>,
}

impl Opts {
    fn new(what: &str, map: Map) -> Opts {
        Opts { what: what.to_string(), map, allowed: Vec::new() }
    }

    fn take(&mut self, key: &'static str) -> Option<Dynamic> {
        self.allowed.push(key);
        self.map.remove(key).filter(|v| !v.is_unit())
    }

    fn string(&mut self, key: &'static str) -> Fallible<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|t| format!("{}: `{key}` must be a string, not {t}", self.what).into()),
        }
    }

    fn bool(&mut self, key: &'static str) -> Fallible<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).map_err(|t| format!("{}: `{key}` must be true or false, not {t}", self.what).into()),
        }
    }

    fn strings(&mut self, key: &'static str) -> Fallible<Option<Vec<String>>> {
        let what = self.what.clone();
        match self.take(key) {
            None => Ok(None),
            Some(v) => {
                let items = v.into_array().map_err(|t| format!("{what}: `{key}` must be an array, not {t}"))?;
                items
                    .into_iter()
                    .map(|i| i.into_string().map_err(|t| format!("{what}: `{key}` must hold strings, not {t}").into()))
                    .collect::<Fallible<Vec<_>>>()
                    .map(Some)
            }
        }
    }

    fn finish(self) -> Fallible<()> {
        if let Some(key) = self.map.keys().next() {
            return Err(format!(
                "{}: unknown option `{key}`; options are {}",
                self.what,
                self.allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            )
            .into());
        }
        Ok(())
    }
}

fn strings(v: Array, what: &str) -> Fallible<Vec<String>> {
    v.into_iter()
        .map(|i| i.into_string().map_err(|t| format!("{what}: expected strings, not {t}").into()))
        .collect()
}

/// Registers the `plan` and stage types and their methods.
pub(super) fn register(e: &mut Engine) {
    e.register_type_with_name::<PlanApi>("Plan");
    e.register_type_with_name::<StageApi>("Stage");
    e.register_type_with_name::<ProjectRejection>("ProjectRejection");

    // plan.stage(...)
    e.register_fn("stage", |p: &mut PlanApi, id: &str| p.stage(id, Map::new()));
    e.register_fn("stage", |p: &mut PlanApi, id: &str, opts: Map| p.stage(id, opts));
    e.register_fn("has_stage", |p: &mut PlanApi, id: &str| p.state().stages.iter().any(|s| s.stage.id == id));
    e.register_fn("fired", |p: &mut PlanApi, id: &str| p.state().fired.get(id).copied().unwrap_or(false));
    e.register_fn("skip", |p: &mut PlanApi, reason: &str| {
        p.state().skipped = Some(reason.to_string());
    });

    // contexts
    e.register_fn("local_context", |p: &mut PlanApi, name: &str, opts: Map| -> Fallible<()> {
        let mut o = Opts::new("local_context", opts);
        let path = o.string("path")?.unwrap_or_else(|| ".".into());
        crate::script::project::check_relative(&path).map_err(|e| format!("local_context `{name}`: {e}"))?;
        let dockerignore = o.bool("dockerignore")?.unwrap_or(false);
        let include = o.strings("include")?.unwrap_or_default();
        let exclude = o.strings("exclude")?.unwrap_or_default();
        o.finish()?;
        p.add_context(name, Context::Local { path, dockerignore, include, exclude })
    });
    e.register_fn("generated_context", |p: &mut PlanApi, name: &str, files: Map| -> Fallible<()> {
        let mut out = BTreeMap::new();
        for (file, v) in files {
            crate::script::project::check_relative(&file).map_err(|e| format!("generated_context `{name}`: {e}"))?;
            let generated = if v.is_map() {
                let mut o = Opts::new("generated file", v.cast::<Map>());
                let contents = o.string("contents")?.unwrap_or_default();
                let mode = o.take("mode").map(|m| parse_mode(m, "generated file")).transpose()?.unwrap_or(0o644);
                o.finish()?;
                GeneratedFile { contents, mode }
            } else {
                let contents = v.into_string().map_err(|t| format!("generated file `{file}`: contents must be a string, not {t}"))?;
                GeneratedFile { contents, mode: 0o644 }
            };
            out.insert(file.to_string(), generated);
        }
        p.add_context(name, Context::Generated { files: out })
    });
    e.register_fn("exclude", |p: &mut PlanApi, context: &str, patterns: Array| -> Fallible<()> {
        let patterns = strings(patterns, "exclude")?;
        let mut st = p.state();
        let block = st.block.clone();
        st.excludes.push((context.to_string(), patterns, block));
        Ok(())
    });
    e.register_fn("has_context", |p: &mut PlanApi, name: &str| p.state().contexts.contains_key(name));

    // export
    e.register_fn("export_env", |p: &mut PlanApi, key: &str, value: &str| {
        p.export(ExportChange::Env { key: key.into(), value: value.into() })
    });
    e.register_fn("export_cmd", |p: &mut PlanApi, cmd: Array| -> Fallible<()> {
        p.export(ExportChange::Cmd(strings(cmd, "export_cmd")?));
        Ok(())
    });
    e.register_fn("export_entrypoint", |p: &mut PlanApi, cmd: Array| -> Fallible<()> {
        p.export(ExportChange::Entrypoint(strings(cmd, "export_entrypoint")?));
        Ok(())
    });
    e.register_fn("export_workdir", |p: &mut PlanApi, dir: &str| p.export(ExportChange::Workdir(dir.into())));
    e.register_fn("export_user", |p: &mut PlanApi, user: &str| p.export(ExportChange::User(user.into())));
    e.register_fn("export_label_file", |p: &mut PlanApi, key: &str, path: &str| {
        p.export(ExportChange::LabelFile { key: key.into(), file: LabelFile { path: path.into(), stage: None } })
    });
    e.register_fn("export_label_file", |p: &mut PlanApi, key: &str, path: &str, stage: &str| {
        p.export(ExportChange::LabelFile {
            key: key.into(),
            file: LabelFile { path: path.into(), stage: Some(stage.into()) },
        })
    });
    e.register_fn("export_label", |p: &mut PlanApi, key: &str, value: &str| {
        p.export(ExportChange::Label { key: key.into(), value: value.into() })
    });
    e.register_fn("export_port", |p: &mut PlanApi, port: &str| p.export(ExportChange::Port(port.into())));
    e.register_fn("export_port", |p: &mut PlanApi, port: i64| p.export(ExportChange::Port(port.to_string())));
    e.register_fn("export_volume", |p: &mut PlanApi, path: &str| p.export(ExportChange::Volume(path.into())));

    // stage ops
    e.register_get("id", |s: &mut StageApi| s.id.clone());
    e.register_fn("exec", |s: &mut StageApi, cmd: &str| s.exec(sh(cmd), Map::new()));
    e.register_fn("exec", |s: &mut StageApi, cmd: &str, opts: Map| s.exec(sh(cmd), opts));
    e.register_fn("exec", |s: &mut StageApi, argv: Array| -> Fallible<()> { s.exec(strings(argv, "exec")?, Map::new()) });
    e.register_fn("exec", |s: &mut StageApi, argv: Array, opts: Map| -> Fallible<()> { s.exec(strings(argv, "exec")?, opts) });
    e.register_fn("env", |s: &mut StageApi, key: &str, value: &str| {
        s.push(Op::Env(SetEnv { key: key.into(), value: value.into() }))
    });
    e.register_fn("workdir", |s: &mut StageApi, path: &str| s.push(Op::Workdir(SetWorkdir { path: path.into() })));
    e.register_fn("user", |s: &mut StageApi, user: &str| s.push(Op::User(SetUser { user: user.into() })));
    e.register_fn("copy", |s: &mut StageApi, opts: Map| s.copy(opts));
    e.register_fn("mkdir", |s: &mut StageApi, path: &str| s.push(Op::MkDir(MkDir { path: path.into(), mode: 0o755 })));
    e.register_fn("mkdir", |s: &mut StageApi, path: &str, mode: Dynamic| -> Fallible<()> {
        let mode = parse_mode(mode, "mkdir")?;
        s.push(Op::MkDir(MkDir { path: path.into(), mode }))
    });
    e.register_fn("mkfile", |s: &mut StageApi, path: &str, contents: &str| {
        s.push(Op::MkFile(MkFile { path: path.into(), contents: contents.into(), mode: 0o644 }))
    });
    e.register_fn("mkfile", |s: &mut StageApi, path: &str, contents: &str, mode: Dynamic| -> Fallible<()> {
        let mode = parse_mode(mode, "mkfile")?;
        s.push(Op::MkFile(MkFile { path: path.into(), contents: contents.into(), mode }))
    });
    e.register_fn("rm", |s: &mut StageApi, path: &str| s.push(Op::Rm(Rm { path: path.into() })));
}

fn sh(cmd: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), cmd.into()]
}
