//! `cogpack stacks list`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::{Format, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum StacksCommand {
    /// List every known stack, in the order detection tries them
    List {
        /// Project directory whose `.cogpack/stacks.d/` is included (default: the current directory)
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// One row of `stacks list`.
#[derive(Debug, Serialize)]
struct StackSummary {
    id: String,
    order: i64,
    summary: String,
    origin: &'static str,
    path: String,
    detect: Vec<String>,
    blocks: Vec<String>,
    /// For the project: `wins`, `does not apply`, or `not tried` (an earlier stack won).
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    /// Why (the detect report's reason), when the stack was tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub fn run(cmd: StacksCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let StacksCommand::List { dir, format } = cmd;
    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
    let registry = match super::blocks::load(global, Some(&dir)) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    // Which stack the project gets and why; a project that cannot be read lists no outcome.
    let tried = match crate::project::Project::open(&dir) {
        Ok(project) => crate::compose::stacks_for(&registry, std::sync::Arc::new(project)).ok(),
        Err(_) => None,
    };
    let items: Vec<StackSummary> = registry
        .stacks()
        .into_iter()
        .map(|s| {
            let report = tried.as_ref().map(|t| t.iter().find(|(id, _)| *id == s.id));
            let (outcome, reason) = match report {
                None => (None, None),
                Some(None) => (Some("not tried"), Some("an earlier stack applies".to_string())),
                Some(Some((_, r))) if r.fired => (Some("wins"), Some(r.reason.clone())),
                Some(Some((_, r))) => (Some("does not apply"), Some(r.reason.clone())),
            };
            (s, outcome, reason)
        })
        .map(|(s, outcome, reason)| StackSummary {
            id: s.id.clone(),
            order: s.order,
            summary: s.summary.clone(),
            origin: s.source.origin.name(),
            path: s.source.file.path().to_string(),
            detect: s.detect.describe(),
            blocks: registry.blocks_for_stack(s).iter().map(|b| b.id.clone()).collect(),
            outcome,
            reason,
        })
        .collect();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&items)?),
        Format::Text => {
            let mut out = String::new();
            for s in &items {
                let _ = writeln!(out, "{} (order {}) — {}", s.id, s.order, s.summary);
                let _ = writeln!(out, "  defined in {} ({})", s.path, s.origin);
                let _ = writeln!(out, "  applies when: {}", s.detect.join("; "));
                let _ = writeln!(out, "  blocks: {}", s.blocks.join(", "));
                if let (Some(outcome), Some(reason)) = (s.outcome, &s.reason) {
                    let _ = writeln!(out, "  for {}: {outcome} — {reason}", dir.display());
                }
            }
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
