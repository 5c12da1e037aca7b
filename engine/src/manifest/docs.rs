//! Generated documentation: one reference page per block (`docs/blocks/<id>.md`), an index
//! (`docs/blocks/README.md`) and the JSON schemas of the manifests (`docs/schema/`).
//! A test compares them with the files in the repository and fails when they are stale;
//! `COGPACK_BLESS=1 cargo test --test blocks_docs` rewrites them.

use std::fmt::Write as _;

use super::raw::{BlockManifest, StackManifest};
use super::{Block, Registry};

const GENERATED: &str = "<!-- Generated from the block manifests by `COGPACK_BLESS=1 cargo test --test blocks_docs`. Do not edit. -->";

/// The reference page of one block.
pub fn block_page(registry: &Registry, block: &Block) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{GENERATED}\n");
    let _ = writeln!(out, "# `{}`\n", block.id);
    let _ = writeln!(out, "{}\n", block.summary);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| status | {} |", block.status.name());
    let _ = writeln!(out, "| phase | `{}` |", block.phase);
    let _ = writeln!(out, "| defined in | [`{0}`](../../{0}) |", block.source.file.path());
    let code = |v: &[String]| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let ids = |v: &[super::IdRef]| code(&v.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
    if !block.after.is_empty() {
        let _ = writeln!(out, "| runs after | {} |", ids(&block.after));
    }
    if !block.before.is_empty() {
        let _ = writeln!(out, "| runs before | {} |", ids(&block.before));
    }
    if !block.requires.is_empty() {
        let _ = writeln!(out, "| requires | {} |", ids(&block.requires));
    }
    if !block.provides.is_empty() {
        let _ = writeln!(out, "| provides | {} |", code(&block.provides));
    }
    let stacks: Vec<String> = registry
        .stacks()
        .into_iter()
        .filter(|s| registry.blocks_for_stack(s).iter().any(|b| b.id == block.id))
        .map(|s| s.id.clone())
        .collect();
    if !stacks.is_empty() {
        let _ = writeln!(out, "| stacks | {} |", code(&stacks));
    }

    let _ = writeln!(out, "\n## When it applies\n");
    let _ = writeln!(out, "All of:\n");
    for c in block.detect.describe() {
        let _ = writeln!(out, "- {}", strip_location(&c));
    }

    let _ = writeln!(out, "\n## Depends on\n");
    if block.dependencies.is_empty() && block.dependencies_script.is_none() {
        let _ = writeln!(out, "Nothing.");
    }
    for d in &block.dependencies {
        let _ = writeln!(out, "- `{}` `{}`", d.name, d.constraint);
    }
    if block.dependencies_script.is_some() {
        let _ = writeln!(out, "- more, computed for each project by its dependencies script");
    }

    let _ = writeln!(out, "\n## What it does\n");
    let _ = writeln!(out, "{}", block.doc);
    if block.plan.is_none() {
        let _ = writeln!(out, "\nIt has no plan script: it adds nothing to the plan itself.");
    }

    if !block.params.is_empty() {
        let _ = writeln!(out, "\n## Parameters\n");
        let _ = writeln!(out, "```toml\n[params]");
        let table: std::collections::BTreeMap<&String, &serde_json::Value> = block.params.iter().collect();
        let _ = write!(out, "{}", toml::to_string(&table).unwrap_or_default());
        let _ = writeln!(out, "```");
    }

    if !block.tests.is_empty() {
        let _ = writeln!(out, "\n## Test cases\n");
        let _ = writeln!(out, "| project | fires |\n|---|---|");
        for t in &block.tests {
            let _ = writeln!(out, "| `{}` | {} |", t.project, if t.fires { "yes" } else { "no" });
        }
    }
    out
}

/// `the detect script (blocks.d/x.toml:3:1) says yes` -> without the location, which
/// changes with every edit of the manifest.
fn strip_location(s: &str) -> String {
    match (s.find(" ("), s.find(") ")) {
        (Some(a), Some(b)) if s.starts_with("the detect script") && b > a => format!("{}{}", &s[..a], &s[b + 1..]),
        _ => s.to_string(),
    }
}

/// The index of all block pages, grouped by phase.
pub fn index_page(registry: &Registry, blocks: &[&Block]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{GENERATED}\n");
    let _ = writeln!(out, "# Built-in blocks\n");
    let _ = writeln!(
        out,
        "Blocks are listed in the order the Python stack runs them when nothing else orders them \
         (by phase). See [writing blocks](../writing-blocks.md) to add your own.\n"
    );
    let _ = writeln!(out, "| block | phase | status | summary |\n|---|---|---|---|");
    let mut sorted: Vec<&&Block> = blocks.iter().collect();
    sorted.sort_by(|a, b| a.phase.cmp(&b.phase).then_with(|| a.id.cmp(&b.id)));
    for b in sorted {
        let _ = writeln!(out, "| [`{0}`]({0}.md) | `{1}` | {2} | {3} |", b.id, b.phase, b.status.name(), b.summary.replace('|', "\\|"));
    }
    let stacks = registry.stacks();
    if !stacks.is_empty() {
        let _ = writeln!(out, "\n## Stacks\n");
        for s in stacks {
            let ids: Vec<String> = s.blocks.iter().map(|r| format!("`{}`", r.id)).collect();
            let _ = writeln!(out, "- `{}` ([`{}`](../../{})): {}. Blocks: {}.", s.id, s.source.file.path(), s.source.file.path(), s.summary, ids.join(", "));
        }
    }
    out
}

/// The JSON schema of block manifests.
pub fn block_schema() -> String {
    let mut s = serde_json::to_string_pretty(&schemars::schema_for!(BlockManifest)).unwrap_or_default();
    s.push('\n');
    s
}

/// The JSON schema of stack manifests.
pub fn stack_schema() -> String {
    let mut s = serde_json::to_string_pretty(&schemars::schema_for!(StackManifest)).unwrap_or_default();
    s.push('\n');
    s
}
