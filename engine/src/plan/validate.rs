//! Plan validation: every rule is checked and every violation reported, not only the first.
//!
//! Rules (from the seeds' list, extended): unique stage ids; references (stages, phases,
//! contexts) that exist; no cycles between stages; `ENV` entries `KEY=value` with a valid key;
//! absolute `WORKDIR`, mount targets, copy destinations and file paths; `CMD`/`ENTRYPOINT`
//! as non-empty string arrays; `VOLUME` absolute paths; `EXPOSE` as `port[/tcp|/udp]`;
//! URL inputs over http(s) with `sha256:` checksums; something to export.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{Context, Copy, Exec, ExportConfig, Input, Mount, Op, Phase, Plan, Stage};

/// One broken rule, with where in the plan it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where: `stage pip-requirements, op 2 (exec)`, `export.env[1]`, ...
    pub at: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Checks a plan; an empty list means it is valid.
pub fn validate(plan: &Plan) -> Vec<Violation> {
    let mut v = Checker { plan, out: Vec::new() };
    v.stage_ids();
    for (i, stage) in plan.stages.iter().enumerate() {
        v.stage(i, stage);
    }
    v.cycles();
    v.export(&plan.export);
    if !plan.stages.is_empty() && plan.exported_stage().is_none() {
        v.push("plan", "no stage produces the exported image".into());
    }
    if plan.stages.is_empty() {
        v.push("plan", "the plan has no stages".into());
    }
    v.out
}

struct Checker<'a> {
    plan: &'a Plan,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn push(&mut self, at: impl Into<String>, message: String) {
        self.out.push(Violation { at: at.into(), message });
    }

    fn stage_ids(&mut self) {
        let mut seen = BTreeSet::new();
        for stage in &self.plan.stages {
            if stage.id.trim().is_empty() {
                self.push(format!("stage added by block `{}`", stage.block), "empty stage id".into());
            } else if !seen.insert(stage.id.as_str()) {
                self.push(format!("stage {}", stage.id), "stage id is used more than once".into());
            }
        }
    }

    fn stage(&mut self, index: usize, stage: &Stage) {
        let at = format!("stage {}", stage.id);
        self.input(&at, "input", &stage.input, Some((index, stage.phase)));
        if let Some(runs_on) = &stage.runs_on {
            self.input(&at, "runs_on", runs_on, Some((index, stage.phase)));
            if matches!(runs_on, Input::Context { .. } | Input::Url { .. }) {
                self.push(&at, format!("runs_on `{runs_on}` must be a stage, a phase, an image or scratch"));
            }
        }
        for (i, op) in stage.ops.iter().enumerate() {
            let at = format!("stage {}, op {} ({})", stage.id, i + 1, op_kind(op));
            match op {
                Op::Exec(exec) => self.exec(&at, exec, stage.phase),
                Op::Copy(copy) => self.copy(&at, copy, stage.phase),
                Op::MkFile(f) => self.absolute(&at, "path", &f.path),
                Op::MkDir(d) => self.absolute(&at, "path", &d.path),
                Op::Rm(r) => self.absolute(&at, "path", &r.path),
                Op::Env(e) => {
                    if let Some(problem) = env_key_problem(&e.key) {
                        self.push(at, format!("ENV key `{}` {problem}", e.key));
                    }
                }
                Op::Workdir(w) => self.absolute(&at, "WORKDIR", &w.path),
                Op::User(u) => {
                    if u.user.trim().is_empty() {
                        self.push(at, "USER is empty".into());
                    }
                }
            }
        }
    }

    fn exec(&mut self, at: &str, exec: &Exec, phase: Phase) {
        if exec.args.is_empty() || exec.args[0].is_empty() {
            self.push(at, "the command is empty".into());
        }
        for (i, entry) in exec.env.iter().enumerate() {
            if let Some(problem) = env_entry_problem(entry) {
                self.push(at, format!("env[{i}] `{entry}` {problem}"));
            }
        }
        if let Some(cwd) = &exec.cwd {
            self.absolute(at, "cwd", cwd);
        }
        let mut targets = BTreeSet::new();
        for (i, mount) in exec.mounts.iter().enumerate() {
            let what = format!("mount {} target", i + 1);
            self.absolute(at, &what, mount.target());
            if mount.target() == "/" {
                self.push(at, format!("{what} `/` would hide the root filesystem"));
            }
            if !targets.insert(mount.target()) {
                self.push(at, format!("two mounts share the target `{}`", mount.target()));
            }
            match mount {
                Mount::Cache { id, .. } if id.trim().is_empty() => {
                    self.push(at, format!("mount {} (cache) has an empty id", i + 1))
                }
                Mount::Secret { id, .. } if id.trim().is_empty() => {
                    self.push(at, format!("mount {} (secret) has an empty id", i + 1))
                }
                Mount::Bind { from, source, .. } => {
                    self.input(at, &format!("mount {} source", i + 1), from, None);
                    if let Some(source) = source {
                        self.absolute(at, &format!("mount {} source path", i + 1), source);
                    }
                    self.phase_ref_allowed(at, from, phase);
                }
                _ => {}
            }
        }
    }

    fn copy(&mut self, at: &str, copy: &Copy, phase: Phase) {
        self.input(at, "copy source", &copy.from, None);
        self.phase_ref_allowed(at, &copy.from, phase);
        if copy.src.is_empty() {
            self.push(at, "copy has no source paths".into());
        }
        self.absolute(at, "copy destination", &copy.dest);
    }

    /// A build-track stage may not read from the export track.
    fn phase_ref_allowed(&mut self, at: &str, input: &Input, phase: Phase) {
        if let Input::Phase { phase: p } = input {
            if p.is_export() && !phase.is_export() {
                self.push(at, format!("a {phase} stage cannot read the export phase `{p}`"));
            }
        }
    }

    /// Checks that an input refers to something that exists. `own` is the stage's own index
    /// and phase when the input is the stage's main input.
    fn input(&mut self, at: &str, what: &str, input: &Input, own: Option<(usize, Phase)>) {
        match input {
            Input::Stage { stage } => {
                if self.plan.stage(stage).is_none() {
                    let hint = suggestion(stage, self.plan.stages.iter().map(|s| s.id.as_str()));
                    self.push(at, format!("{what} refers to unknown stage `{stage}`{hint}"));
                }
            }
            Input::Phase { phase } => {
                if let Some((_, own_phase)) = own {
                    if *phase >= own_phase {
                        self.push(
                            at,
                            format!("{what} `phase:{phase}` is not earlier than the stage's own phase `{own_phase}`"),
                        );
                        return;
                    }
                    if phase.is_export() && !own_phase.is_export() {
                        self.push(at, format!("a {own_phase} stage cannot read the export phase `{phase}`"));
                    }
                }
                if self.plan.phase_output(*phase).is_none() {
                    self.push(at, format!("{what} `phase:{phase}` has no stage in it or before it"));
                }
            }
            Input::Image { image } => {
                if image.trim().is_empty() || image.contains(char::is_whitespace) {
                    self.push(at, format!("{what} `{image}` is not an image reference"));
                }
            }
            Input::Scratch => {}
            Input::Context { context } => {
                if !self.plan.contexts.contains_key(context) {
                    let hint = suggestion(context, self.plan.contexts.keys().map(String::as_str));
                    self.push(at, format!("{what} refers to unknown context `{context}`{hint}"));
                } else if let Some(Context::Local { path, .. }) = self.plan.contexts.get(context) {
                    if path.split('/').any(|c| c == "..") {
                        self.push(at, format!("context `{context}` path `{path}` leaves the project"));
                    }
                }
            }
            Input::Url { url, checksum, .. } => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    self.push(at, format!("{what} `{url}` is not an http(s) URL"));
                }
                if let Some(sum) = checksum {
                    let ok = sum
                        .strip_prefix("sha256:")
                        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                    if !ok {
                        self.push(at, format!("{what} checksum `{sum}` is not `sha256:<64 hex>`"));
                    }
                }
            }
        }
    }

    fn absolute(&mut self, at: &str, what: &str, path: &str) {
        if !path.starts_with('/') {
            self.push(at, format!("{what} `{path}` is not an absolute path"));
        }
    }

    /// Stage dependencies must form a DAG.
    fn cycles(&mut self) {
        let plan = self.plan;
        let index: BTreeMap<&str, usize> =
            plan.stages.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let deps: Vec<Vec<usize>> = plan
            .stages
            .iter()
            .map(|s| {
                stage_inputs(s)
                    .filter_map(|input| match input {
                        Input::Stage { stage } => index.get(stage.as_str()).copied(),
                        Input::Phase { phase } => plan
                            .phase_output(*phase)
                            .and_then(|t| index.get(t.id.as_str()).copied()),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        // Iterative DFS with colours; report each cycle once, in stage order.
        let mut colour = vec![0u8; deps.len()];
        let mut reported = BTreeSet::new();
        for start in 0..deps.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = 1;
            while let Some((node, next)) = stack.last_mut() {
                let node = *node;
                if let Some(&dep) = deps[node].get(*next) {
                    *next += 1;
                    match colour[dep] {
                        0 => {
                            colour[dep] = 1;
                            stack.push((dep, 0));
                        }
                        1 => {
                            let pos = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                            let mut ids: Vec<&str> =
                                stack[pos..].iter().map(|(n, _)| plan.stages[*n].id.as_str()).collect();
                            let key: BTreeSet<&str> = ids.iter().copied().collect();
                            if reported.insert(key) {
                                ids.push(plan.stages[dep].id.as_str());
                                self.push(
                                    format!("stage {}", plan.stages[dep].id),
                                    format!("stages form a cycle: {}", ids.join(" -> ")),
                                );
                            }
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack.pop();
                }
            }
        }
    }

    fn export(&mut self, export: &ExportConfig) {
        for (i, entry) in export.env.iter().enumerate() {
            if let Some(problem) = env_entry_problem(entry) {
                self.push(format!("export.env[{i}]"), format!("`{entry}` {problem}"));
            }
        }
        if let Some(workdir) = &export.workdir {
            self.absolute("export.workdir", "WORKDIR", workdir);
        }
        for (name, list) in [("cmd", &export.cmd), ("entrypoint", &export.entrypoint)] {
            if list.first().is_some_and(|a| a.trim().is_empty()) {
                self.push(format!("export.{name}"), "the first element is empty".into());
            }
        }
        for (i, volume) in export.volumes.iter().enumerate() {
            self.absolute(&format!("export.volumes[{i}]"), "VOLUME", volume);
        }
        for (i, port) in export.exposed_ports.iter().enumerate() {
            if !valid_port(port) {
                self.push(
                    format!("export.exposed_ports[{i}]"),
                    format!("EXPOSE `{port}` is not `port[/tcp|/udp]` with a port from 1 to 65535"),
                );
            }
        }
        if let Some(user) = &export.user {
            if user.trim().is_empty() {
                self.push("export.user", "USER is empty".into());
            }
        }
        for (key, file) in &export.label_files {
            let at = format!("export.label_files.{key}");
            self.absolute(&at, "label file", &file.path);
            if let Some(stage) = &file.stage {
                match self.plan.stages.iter().find(|s| &s.id == stage) {
                    None => {
                        let hint = suggestion(stage, self.plan.stages.iter().map(|s| s.id.as_str()));
                        self.push(at.clone(), format!("label file reads unknown stage `{stage}`{hint}"));
                    }
                    Some(s) if !s.detached => self.push(
                        at.clone(),
                        format!("label file reads stage `{stage}`, which is not detached; read the file from the image instead (no stage)"),
                    ),
                    Some(_) => {}
                }
            }
            if export.labels.contains_key(key) {
                self.push(
                    format!("export.label_files.{key}"),
                    "the label is also set by value in export.labels".into(),
                );
            }
        }
        for key in export.labels.keys() {
            if key.trim().is_empty() {
                self.push("export.labels", "a label has an empty key".into());
            }
        }
    }
}

/// Every input a stage reads: its own input, copy sources and bind mounts.
pub(crate) fn stage_inputs(stage: &Stage) -> impl Iterator<Item = &Input> {
    std::iter::once(&stage.input).chain(stage.runs_on.iter()).chain(stage.ops.iter().flat_map(|op| -> Vec<&Input> {
        match op {
            Op::Copy(c) => vec![&c.from],
            Op::Exec(e) => e
                .mounts
                .iter()
                .filter_map(|m| match m {
                    Mount::Bind { from, .. } => Some(from),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }))
}

fn op_kind(op: &Op) -> &'static str {
    match op {
        Op::Exec(_) => "exec",
        Op::Copy(_) => "copy",
        Op::MkFile(_) => "mkfile",
        Op::MkDir(_) => "mkdir",
        Op::Rm(_) => "rm",
        Op::Env(_) => "env",
        Op::Workdir(_) => "workdir",
        Op::User(_) => "user",
    }
}

/// Why an `ENV` key is invalid, if it is.
fn env_key_problem(key: &str) -> Option<&'static str> {
    let mut chars = key.chars();
    match chars.next() {
        None => Some("is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            Some("must start with a letter or `_`")
        }
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some("may contain only letters, digits and `_`")
        }
        _ => None,
    }
}

/// Why a `KEY=value` entry is invalid, if it is.
fn env_entry_problem(entry: &str) -> Option<String> {
    match entry.split_once('=') {
        None => Some("is not `KEY=value`".into()),
        Some((key, _)) => env_key_problem(key).map(|p| format!("has a key that {p}")),
    }
}

fn valid_port(port: &str) -> bool {
    let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
    matches!(proto, "tcp" | "udp" | "sctp")
        && number.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
        && !number.starts_with('+')
}

/// ` (did you mean `x`?)` when a candidate is close.
fn suggestion<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    crate::diagnostics::suggest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}
