//! `cogpack blocks list` and `cogpack blocks explain`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use super::plan::{describe_op, render_diagnostics};
use super::{Format, GlobalArgs};
use crate::compose::{explain_block, BlockInProject, CheckOutcome};
use crate::diagnostics::exit;
use crate::manifest::{suggest, Block, Registry, Sources};
use crate::project::Project;

#[derive(Debug, clap::Subcommand)]
pub enum BlocksCommand {
    /// List every known block and where it comes from
    List {
        /// Project directory whose `.cogpack/blocks.d/` is included (default: the current directory)
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Explain a block: what it does, when it applies, what it adds; with DIR, whether and
    /// why it fires for that project
    Explain {
        /// Block id
        id: String,
        /// Project directory to evaluate the block against
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

pub fn run(cmd: BlocksCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        BlocksCommand::List { dir, format } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            let registry = match load(global, Some(&dir)) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let items: Vec<BlockSummary> = registry.blocks().map(BlockSummary::of).collect();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&items)?),
                Format::Text => print!("{}", list_text(&items)),
            }
            Ok(ExitCode::SUCCESS)
        }
        BlocksCommand::Explain { id, dir, format } => {
            let registry = match load(global, dir.as_deref()) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let Some(block) = registry.block(&id) else {
                let hint = suggest::did_you_mean(&id, registry.blocks().map(|b| b.id.as_str()))
                    .map(|h| format!("\n  help: {h}"))
                    .unwrap_or_default();
                eprintln!("error: no block `{id}`{hint}\n  (see `cogpack blocks list`)");
                return Ok(ExitCode::from(exit::USAGE));
            };
            let in_project = match &dir {
                None => None,
                Some(dir) => {
                    let project = match Project::open(dir) {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return Ok(ExitCode::from(exit::PROJECT));
                        }
                    };
                    match explain_block(&registry, block, Arc::new(project)) {
                        Ok(r) => Some((dir.clone(), r)),
                        Err(e) => {
                            eprint!("{}", e.render(super::plan::stderr_color()));
                            return Ok(ExitCode::from(e.exit_code()));
                        }
                    }
                }
            };
            let explanation = Explanation::of(&registry, block, in_project.as_ref());
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&explanation)?),
                Format::Text => print!("{}", explain_text(&explanation)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads the registry, or renders the manifest errors and returns the exit code.
pub(super) fn load(global: &GlobalArgs, project: Option<&Path>) -> Result<Registry, ExitCode> {
    Registry::load(&Sources::from_env(&global.blocks, project)).map_err(|e| {
        eprint!("{}", render_diagnostics(&e.diagnostics()));
        ExitCode::from(exit::MANIFEST)
    })
}

/// One row of `blocks list`.
#[derive(Debug, Serialize)]
pub struct BlockSummary {
    pub id: String,
    pub summary: String,
    pub status: &'static str,
    pub phase: String,
    /// `builtin`, `COGPACK_BLOCKS_PATH`, `--blocks` or `project`.
    pub origin: &'static str,
    /// The manifest file.
    pub path: String,
    /// Manifests this one overrides.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl BlockSummary {
    fn of(b: &Block) -> BlockSummary {
        BlockSummary {
            id: b.id.clone(),
            summary: b.summary.clone(),
            status: b.status.name(),
            phase: b.phase.to_string(),
            origin: b.source.origin.name(),
            path: b.source.file.path().to_string(),
            overrides: b.overrides.iter().map(|s| s.file.path().to_string()).collect(),
        }
    }
}

fn list_text(items: &[BlockSummary]) -> String {
    let mut out = String::new();
    let w = items.iter().map(|b| b.id.len()).max().unwrap_or(0);
    for b in items {
        let _ = writeln!(out, "{:w$}  {:10}  {:14}  {} ({})", b.id, b.status, b.phase, b.path, b.origin);
        let _ = writeln!(out, "{:w$}  {}", "", b.summary);
        for o in &b.overrides {
            let _ = writeln!(out, "{:w$}  overrides {o}", "");
        }
    }
    out
}

/// Everything `blocks explain` says, as one serialisable value.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub id: String,
    pub summary: String,
    pub status: &'static str,
    /// `path:line` of the manifest.
    pub defined_at: String,
    pub origin: &'static str,
    pub overrides: Vec<String>,
    pub phase: String,
    pub after: Vec<String>,
    pub before: Vec<String>,
    pub requires: Vec<String>,
    pub provides: Vec<String>,
    /// Stacks that take the block in (by listing it or by its `stacks`).
    pub stacks: Vec<String>,
    /// The detect conditions in words; all must hold.
    pub applies_when: Vec<String>,
    /// Static dependencies as `name constraint`.
    pub dependencies: Vec<String>,
    /// Where the dependencies script is, if any.
    pub dependencies_script: Option<String>,
    /// Where the plan script is, if any.
    pub plan_script: Option<String>,
    pub params: serde_json::Value,
    pub doc: String,
    /// Present when a project directory was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectVerdict>,
}

/// The block against one project.
#[derive(Debug, Serialize)]
pub struct ProjectVerdict {
    pub dir: String,
    /// The stack that won, if composition got that far.
    pub stack: Option<String>,
    /// Whether that stack considers the block.
    pub considered: bool,
    /// Whether the block fired (detect passed and its plan did not skip).
    pub fires: bool,
    pub reason: String,
    pub checks: Vec<crate::compose::Check>,
    /// Stages it added, as in the plan.
    pub stages: Vec<crate::plan::Stage>,
    /// Export settings it made (`ENV K=v`, `LABEL ...`).
    pub exports: Vec<String>,
    /// Dependencies it declared for this project.
    pub dependencies: Vec<crate::compose::Dependency>,
    /// Why the whole plan could not be made, if it could not.
    pub plan_error: Option<String>,
}

impl Explanation {
    fn of(registry: &Registry, b: &Block, project: Option<&(PathBuf, BlockInProject)>) -> Explanation {
        let ids = |v: &[crate::manifest::IdRef]| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let stacks = registry
            .stacks()
            .into_iter()
            .filter(|s| registry.blocks_for_stack(s).iter().any(|x| x.id == b.id))
            .map(|s| s.id.clone())
            .collect();
        Explanation {
            id: b.id.clone(),
            summary: b.summary.clone(),
            status: b.status.name(),
            defined_at: b.defined_at(),
            origin: b.source.origin.name(),
            overrides: b.overrides.iter().map(|s| s.file.path().to_string()).collect(),
            phase: b.phase.to_string(),
            after: ids(&b.after),
            before: ids(&b.before),
            requires: ids(&b.requires),
            provides: b.provides.clone(),
            stacks,
            applies_when: b.detect.describe(),
            dependencies: b.dependencies.iter().map(|d| format!("{} {}", d.name, d.constraint)).collect(),
            dependencies_script: b.dependencies_script.as_ref().map(|s| s.origin.start_location()),
            plan_script: b.plan.as_ref().map(|s| s.origin.start_location()),
            params: serde_json::Value::Object(b.params.clone().into_iter().collect()),
            doc: b.doc.clone(),
            project: project.map(|(dir, r)| {
                let (fires, reason) = match &r.outcome {
                    Some(o) => (o.fired, o.reason.clone()),
                    None if r.stack.is_some() && !r.considered => {
                        (false, format!("stack `{}` does not take this block in", r.stack.as_deref().unwrap_or("")))
                    }
                    None => (r.detect.fired, r.detect.reason.clone()),
                };
                ProjectVerdict {
                    dir: dir.display().to_string(),
                    stack: r.stack.clone(),
                    considered: r.considered,
                    fires,
                    reason,
                    checks: r.detect.checks.clone(),
                    stages: r.stages.clone(),
                    exports: r.exports.iter().map(|e| e.to_string()).collect(),
                    dependencies: r.dependencies.clone(),
                    plan_error: r.compose_error.as_ref().map(|e| e.render(false).trim_end().to_string()),
                }
            }),
        }
    }
}

fn explain_text(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", e.id, e.summary);
    let _ = writeln!(out);
    let _ = writeln!(out, "status:      {}", e.status);
    let _ = writeln!(out, "defined at:  {} ({})", e.defined_at, e.origin);
    for o in &e.overrides {
        let _ = writeln!(out, "overrides:   {o}");
    }
    let _ = writeln!(out, "phase:       {}", e.phase);
    let mut order = Vec::new();
    if !e.after.is_empty() {
        order.push(format!("after {}", e.after.join(", ")));
    }
    if !e.before.is_empty() {
        order.push(format!("before {}", e.before.join(", ")));
    }
    if !e.requires.is_empty() {
        order.push(format!("requires {}", e.requires.join(", ")));
    }
    if !e.provides.is_empty() {
        order.push(format!("provides {}", e.provides.join(", ")));
    }
    if !order.is_empty() {
        let _ = writeln!(out, "ordering:    {}", order.join("; "));
    }
    let _ = writeln!(out, "stacks:      {}", if e.stacks.is_empty() { "(none)".to_string() } else { e.stacks.join(", ") });

    let _ = writeln!(out, "\napplies when (all of):");
    for c in &e.applies_when {
        let _ = writeln!(out, "  - {c}");
    }
    let _ = writeln!(out, "\ndepends on:");
    if e.dependencies.is_empty() && e.dependencies_script.is_none() {
        let _ = writeln!(out, "  nothing");
    }
    for d in &e.dependencies {
        let _ = writeln!(out, "  - {d}");
    }
    if let Some(s) = &e.dependencies_script {
        let _ = writeln!(out, "  - more from its dependencies script ({s})");
    }
    let _ = writeln!(out, "\nadds:");
    match &e.plan_script {
        Some(s) => {
            let _ = writeln!(out, "  stages in phase {} and export settings, from its plan script ({s})", e.phase);
        }
        None => {
            let _ = writeln!(out, "  nothing to the plan (it only detects and declares dependencies)");
        }
    }
    if e.params != serde_json::json!({}) {
        let _ = writeln!(out, "\nparams: {}", e.params);
    }
    let _ = writeln!(out, "\n{}", e.doc);

    if let Some(p) = &e.project {
        let _ = writeln!(out, "\nfor {}:", p.dir);
        match &p.stack {
            Some(s) => {
                let _ = writeln!(out, "  stack: {s}{}", if p.considered { "" } else { " (does not take this block in)" });
            }
            None => {
                let _ = writeln!(out, "  stack: none could be composed");
            }
        }
        let _ = writeln!(out, "  fires: {} — {}", if p.fires { "yes" } else { "no" }, p.reason);
        let _ = writeln!(out, "  conditions:");
        for c in &p.checks {
            let mark = match c.outcome {
                CheckOutcome::Held => "✓",
                CheckOutcome::Failed => "✗",
                CheckOutcome::Skipped => "·",
            };
            let _ = writeln!(out, "    {mark} {}: {}", c.condition, c.detail);
        }
        if !p.dependencies.is_empty() {
            let _ = writeln!(out, "  dependencies:");
            for d in &p.dependencies {
                let _ = writeln!(out, "    - {} {}{}", d.name, d.constraint, if d.from_script { " (from its script)" } else { "" });
            }
        }
        if !p.stages.is_empty() || !p.exports.is_empty() {
            let _ = writeln!(out, "  adds:");
        }
        for s in &p.stages {
            let _ = writeln!(out, "    stage {} [{}] from {}", s.id, s.phase, s.input);
            for op in &s.ops {
                let mut lines = describe_op(op).into_iter();
                if let Some(first) = lines.next() {
                    let _ = writeln!(out, "      - {first}");
                }
                for l in lines {
                    let _ = writeln!(out, "          {l}");
                }
            }
        }
        for x in &p.exports {
            let _ = writeln!(out, "    export {x}");
        }
        if let Some(err) = &p.plan_error {
            let _ = writeln!(out, "  the full plan failed:\n    {}", err.replace('\n', "\n    "));
        }
    }
    out
}
