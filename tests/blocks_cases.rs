//! Every built-in block's own `[[tests]]` cases, and the guard that every block documents
//! itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cogpack::compose::{compose, explain_block};
use cogpack::manifest::{Registry, Sources};
use cogpack::project::Project;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A test case's project: Cog's fixtures first, then cogpack's own test projects.
fn find_project(name: &str) -> Option<PathBuf> {
    ["fixtures", "tests/projects"].iter().map(|b| repo().join(b).join(name)).find(|p| p.is_dir())
}

/// Whether a block fired on a project, and why.
struct Outcome {
    fired: bool,
    reason: String,
}

#[test]
fn every_block_case_holds() {
    let registry = Registry::load(&Sources::builtin_only()).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for block in registry.blocks() {
        for case in &block.tests {
            count += 1;
            let at = format!("{} ({} on {})", block.source.file.path(), block.id, case.project);
            let Some(dir) = find_project(&case.project) else {
                failures.push(format!("{at}: no project `{}` in fixtures/ or tests/projects/", case.project));
                continue;
            };
            let project = Arc::new(Project::open(&dir).unwrap());
            let outcome = match compose(&registry, project.clone()) {
                Ok(c) => match c.plan.blocks.iter().find(|o| o.id == block.id) {
                    Some(o) => (o.fired, o.reason.clone()),
                    None => {
                        failures.push(format!("{at}: stack `{}` did not consider the block", c.plan.stack));
                        continue;
                    }
                },
                // A project whose plan fails for another reason (no predictor) still tells
                // whether this block's detect passes; a block expected to fire needs a plan.
                Err(e) if !case.fires => match explain_block(&registry, block, project) {
                    Ok(x) => (x.detect.fired, x.detect.reason),
                    Err(_) => {
                        failures.push(format!("{at}: the plan failed:\n{}", e.render(false)));
                        continue;
                    }
                },
                Err(e) => {
                    failures.push(format!("{at}: the plan failed:\n{}", e.render(false)));
                    continue;
                }
            };
            let outcome = Outcome { fired: outcome.0, reason: outcome.1 };
            if outcome.fired != case.fires {
                failures.push(format!(
                    "{at}: expected it to {}fire, but it did{}: {}",
                    if case.fires { "" } else { "not " },
                    if outcome.fired { "" } else { " not" },
                    outcome.reason
                ));
            }
            if let Some(want) = &case.reason {
                if !outcome.reason.contains(want.as_str()) {
                    failures.push(format!("{at}: reason `{}` does not contain `{want}`", outcome.reason));
                }
            }
        }
    }
    assert!(count > 20, "only {count} cases");
    assert!(failures.is_empty(), "{} failing block case(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_block_has_a_summary_a_doc_and_a_test_case() {
    let registry = Registry::load(&Sources::builtin_only()).unwrap();
    let mut problems = Vec::new();
    for b in registry.blocks() {
        let at = &b.source.file.path();
        if b.summary.trim().is_empty() || b.summary.contains('\n') || b.summary.len() > 100 {
            problems.push(format!("{at}: `summary` must be one line of at most 100 characters"));
        }
        if b.doc.trim().len() < 80 {
            problems.push(format!("{at}: `doc` must explain the block (at least a few sentences)"));
        }
        if b.tests.is_empty() {
            problems.push(format!("{at}: add at least one [[tests]] case"));
        }
    }
    for s in registry.stacks() {
        if s.summary.trim().is_empty() || s.doc.trim().is_empty() {
            problems.push(format!("{}: a stack needs a summary and a doc", s.source.file.path()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_issue_s_blocks_ship() {
    let registry = Registry::load(&Sources::builtin_only()).unwrap();
    for id in [
        "python-interpreter", "apt-packages", "uv", "pip-requirements", "cuda", "torch", "tensorflow",
        "cog-wheel", "weights", "run-commands", "source-copy", "base-image", "venv", "cog-config",
    ] {
        assert!(registry.block(id).is_some(), "missing block {id}");
    }
    assert!(registry.stack("python").is_some());
}
