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
}

pub fn run(cmd: StacksCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let StacksCommand::List { dir, format } = cmd;
    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
    let registry = match super::blocks::load(global, Some(&dir)) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let items: Vec<StackSummary> = registry
        .stacks()
        .into_iter()
        .map(|s| StackSummary {
            id: s.id.clone(),
            order: s.order,
            summary: s.summary.clone(),
            origin: s.source.origin.name(),
            path: s.source.file.path().to_string(),
            detect: s.detect.describe(),
            blocks: registry.blocks_for_stack(s).iter().map(|b| b.id.clone()).collect(),
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
            }
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
