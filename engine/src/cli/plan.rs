//! `cogpack plan [DIR] [--format text|json]`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Format, GlobalArgs};
use crate::compose::{plan_dir, Composition};
use crate::plan::{CacheSharing, Context, Mount, Op};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Project directory (default: the current directory)
    pub dir: Option<PathBuf>,
    /// Output format: a readable tree, or the plan as stable JSON
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: PlanArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let indexes = match global.index.indexes() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(crate::diagnostics::exit::USAGE));
        }
    };
    match plan_dir(&dir, &global.blocks, &indexes) {
        Ok(c) => {
            eprint!("{}", render_warnings(&c.warnings));
            match args.format {
                Format::Json => print!("{}", c.plan.to_json()),
                Format::Text => print!("{}", render_text(&c, &dir)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprint!("{}", e.render(stderr_color()));
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// Warnings (deprecated cog.yaml keys, resolver warnings) for stderr; empty when none.
pub fn render_warnings(warnings: &[crate::diagnostics::Diagnostic]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    crate::diagnostics::render(warnings, crate::diagnostics::RenderStyle::for_stderr())
}

/// The plan as a readable tree.
pub fn render_text(c: &Composition, dir: &std::path::Path) -> String {
    let plan = &c.plan;
    let mut out = String::new();
    let _ = writeln!(out, "plan for {}", dir.display());
    let stack_reason = c.stacks_tried.last().map(|(_, r)| r.reason.as_str()).unwrap_or("");
    let _ = writeln!(out, "stack: {} ({stack_reason})", plan.stack);
    for (id, report) in c.stacks_tried.iter().filter(|(_, r)| !r.fired) {
        let _ = writeln!(out, "  not {id}: {}", report.reason);
    }
    let _ = writeln!(out, "platform: {}/{}", plan.platform.os, plan.platform.architecture);

    let _ = writeln!(out, "\nblocks (in order):");
    let width = plan.blocks.iter().map(|b| b.id.len()).max().unwrap_or(0);
    for b in &plan.blocks {
        let mark = if b.fired { "✓" } else { "✗" };
        let _ = writeln!(out, "  {mark} {:width$}  {}", b.id, b.reason);
    }

    if !plan.resolved.is_empty() {
        let _ = writeln!(out, "\nresolved:");
        let w = plan.resolved.keys().map(String::len).max().unwrap_or(0);
        let shown = |r: &crate::plan::Resolved| {
            let version = r.version.as_deref().unwrap_or("(none)");
            match r.details.get("variant").and_then(|v| v.as_str()) {
                Some(variant) => format!("{version} [{variant}]"),
                None => version.to_string(),
            }
        };
        let vw = plan.resolved.values().map(|r| shown(r).chars().count()).max().unwrap_or(0);
        for (name, r) in &plan.resolved {
            let _ = writeln!(out, "  {name:w$}  {:vw$}  from {}", shown(r), r.source);
            if let Some(reason) = r.details.get("reason").and_then(|v| v.as_str()) {
                let _ = writeln!(out, "  {:w$}  why: {reason}", "");
            }
            if let Some(index) = r.details.get("index_url").and_then(|v| v.as_str()) {
                let _ = writeln!(out, "  {:w$}  index: {index}", "");
            }
        }
    }

    if !plan.contexts.is_empty() {
        let _ = writeln!(out, "\ncontexts:");
        for (name, ctx) in &plan.contexts {
            let _ = writeln!(out, "  {name}: {}", describe_context(ctx));
            if let Context::Generated { files } = ctx {
                for (file, f) in files {
                    let _ = writeln!(out, "    {file}:");
                    for line in f.contents.lines().take(GENERATED_LINES) {
                        let _ = writeln!(out, "    │ {line}");
                    }
                    let more = f.contents.lines().count().saturating_sub(GENERATED_LINES);
                    if more > 0 {
                        let _ = writeln!(out, "    │ ... ({more} more lines)");
                    }
                }
            }
        }
    }

    let _ = writeln!(out, "\nstages:");
    for stage in &plan.stages {
        let detached = if stage.detached { ", detached: not in the image" } else { "" };
        let runs_on = match &stage.runs_on {
            Some(needs) => format!(", runs on {needs}: an independent layer"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} [{}] from {} (block {}{runs_on}{detached})",
            stage.id, stage.phase, stage.input, stage.block
        );
        let n = stage.ops.len();
        for (i, op) in stage.ops.iter().enumerate() {
            let (branch, cont) = if i + 1 == n { ("└─", "  ") } else { ("├─", "│ ") };
            let mut lines = describe_op(op).into_iter();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "    {branch} {first}");
            }
            for line in lines {
                let _ = writeln!(out, "    {cont}    {line}");
            }
        }
    }

    let e = &plan.export;
    let _ = writeln!(out, "\nexport:");
    if !e.entrypoint.is_empty() {
        let _ = writeln!(out, "  entrypoint: {}", json_list(&e.entrypoint));
    }
    if !e.cmd.is_empty() {
        let _ = writeln!(out, "  cmd: {}", json_list(&e.cmd));
    }
    if let Some(w) = &e.workdir {
        let _ = writeln!(out, "  workdir: {w}");
    }
    if let Some(u) = &e.user {
        let _ = writeln!(out, "  user: {u}");
    }
    if !e.exposed_ports.is_empty() {
        let _ = writeln!(out, "  expose: {}", e.exposed_ports.join(", "));
    }
    for v in &e.volumes {
        let _ = writeln!(out, "  volume: {v}");
    }
    for env in &e.env {
        let _ = writeln!(out, "  env: {env}");
    }
    for (k, v) in &e.labels {
        let shown = if v.chars().count() > 80 { format!("{}…", v.chars().take(77).collect::<String>()) } else { v.clone() };
        let _ = writeln!(out, "  label: {k}={shown}");
    }
    for (k, file) in &e.label_files {
        let from = file.stage.as_ref().map_or_else(String::new, |s| format!(" of stage {s}"));
        let _ = writeln!(out, "  label: {k}=<contents of {}{from}, read after the build>", file.path);
    }
    out
}

/// Lines of a generated file the text plan shows.
const GENERATED_LINES: usize = 30;

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

fn describe_context(ctx: &Context) -> String {
    match ctx {
        Context::Local { path, dockerignore, include, exclude } => {
            let mut s = format!("local {path}");
            if *dockerignore {
                s.push_str(", honours .dockerignore");
            }
            if !include.is_empty() {
                s.push_str(&format!(", include {}", include.join(" ")));
            }
            if !exclude.is_empty() {
                s.push_str(&format!(", exclude {}", exclude.join(" ")));
            }
            s
        }
        Context::Generated { files } => {
            let names: Vec<String> = files.iter().map(|(n, f)| format!("{n} ({} bytes)", f.contents.len())).collect();
            format!("generated: {}", names.join(", "))
        }
    }
}

/// An op as lines: a headline, then details.
pub(super) fn describe_op(op: &Op) -> Vec<String> {
    match op {
        Op::Exec(e) => {
            let mut lines = vec![format!("exec: {}", e.description.as_deref().unwrap_or("run a command"))];
            let cmd = if e.args.len() == 3 && e.args[0] == "/bin/sh" && e.args[1] == "-c" {
                e.args[2].clone()
            } else {
                e.args.iter().map(|a| crate::script::shell_quote(a)).collect::<Vec<_>>().join(" ")
            };
            for (i, l) in cmd.lines().enumerate() {
                lines.push(if i == 0 { format!("$ {l}") } else { format!("  {l}") });
            }
            if let Some(cwd) = &e.cwd {
                lines.push(format!("cwd {cwd}"));
            }
            for env in &e.env {
                lines.push(format!("env {env}"));
            }
            for m in &e.mounts {
                lines.push(match m {
                    Mount::Cache { target, id, sharing } => format!("cache {target} (id {id}, {})", sharing_name(*sharing)),
                    Mount::Secret { target, id, .. } => format!("secret {target} (id {id})"),
                    Mount::Bind { target, from, source, readonly } => format!(
                        "bind {target} <- {from}{}{}",
                        source.as_deref().map(|s| format!(":{s}")).unwrap_or_default(),
                        if *readonly { "" } else { " (writable, discarded)" }
                    ),
                    Mount::Tmpfs { target, .. } => format!("tmpfs {target}"),
                });
            }
            if e.host_ca {
                lines.push("host CA bundle mounted".into());
            }
            if e.network != crate::plan::Network::Default {
                lines.push(format!("network {:?}", e.network).to_lowercase());
            }
            lines
        }
        Op::Copy(c) => {
            let mut lines = vec![format!(
                "copy: {}",
                c.description.clone().unwrap_or_else(|| format!("{} {} -> {}", c.from, c.src.join(" "), c.dest))
            )];
            lines.push(format!("{} {} -> {}{}", c.from, c.src.join(" "), c.dest, if c.merge { " (merged layer)" } else { "" }));
            if !c.include.is_empty() {
                lines.push(format!("include {}", c.include.join(" ")));
            }
            if !c.exclude.is_empty() {
                lines.push(format!("exclude {}", c.exclude.join(" ")));
            }
            lines
        }
        Op::MkFile(f) => vec![format!("mkfile {} ({:04o}, {} bytes)", f.path, f.mode, f.contents.len())],
        Op::MkDir(d) => vec![format!("mkdir {} ({:04o})", d.path, d.mode)],
        Op::Rm(r) => vec![format!("rm {}", r.path)],
        Op::Env(e) => vec![format!("env {}={}", e.key, e.value)],
        Op::Workdir(w) => vec![format!("workdir {}", w.path)],
        Op::User(u) => vec![format!("user {}", u.user)],
    }
}

fn sharing_name(s: CacheSharing) -> &'static str {
    match s {
        CacheSharing::Shared => "shared",
        CacheSharing::Private => "private",
        CacheSharing::Locked => "locked",
    }
}

/// Whether stderr gets colour: only on a terminal, and never with `NO_COLOR`.
pub(super) fn stderr_color() -> bool {
    crate::diagnostics::RenderStyle::for_stderr() == crate::diagnostics::RenderStyle::Colored
}

/// Renders manifest diagnostics for stderr.
pub(super) fn render_diagnostics(diags: &[crate::diagnostics::Diagnostic]) -> String {
    crate::diagnostics::render(diags, crate::diagnostics::RenderStyle::for_stderr())
}
