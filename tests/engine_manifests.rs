//! Broken manifests: each directory under `tests/manifests/` is a `--blocks` directory that
//! must be refused; the rendered diagnostic (no colour) is snapshotted, and must name the
//! manifest with `file:line:col`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cogpack::compose::compose;
use cogpack::diagnostics::{render, RenderStyle};
use cogpack::manifest::{Registry, Sources};
use cogpack::project::Project;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Loads the case as a `--blocks` dir and plans string-project; returns the rendered error.
fn failure(case: &Path) -> String {
    let sources = Sources { builtin: true, blocks_path: vec![], flags: vec![case.to_path_buf()], project: None, compile_on_use: false };
    match Registry::load(&sources) {
        Err(e) => render(&e.diagnostics(), RenderStyle::Plain),
        Ok(registry) => {
            let project = Project::open(repo().join("tests/projects/string-project")).unwrap();
            match compose(&registry, Arc::new(project)) {
                Err(e) => render(&e.diagnostics(), RenderStyle::Plain),
                Ok(_) => panic!("{} should have been refused", case.display()),
            }
        }
    }
}

#[test]
fn every_broken_manifest_is_refused_with_a_located_diagnostic() {
    // Relative to the package dir (the tests' working directory) so snapshots are stable.
    let base = Path::new("../tests/manifests");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(base).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 6);
    let mut failed = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let start = Instant::now();
        let rendered = failure(&case);
        assert!(start.elapsed() < Duration::from_secs(5), "{name} took {:?}", start.elapsed());
        let prefix = format!("┌─ ../tests/manifests/{name}/blocks.d/");
        assert!(rendered.contains(&prefix), "{name}: no file:line:col in\n{rendered}");
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({ omit_expression => true }, {
                insta::assert_snapshot!(name.clone(), rendered);
            });
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "diagnostic snapshots differ for: {failed:?}");
}

#[test]
fn a_cycle_names_both_blocks_and_their_files() {
    let text = failure(Path::new("../tests/manifests/cycle"));
    for needle in ["chicken", "egg", "cycle/blocks.d/chicken.toml:4:10", "cycle/blocks.d/egg.toml:4:10"] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[test]
fn an_endless_detect_script_is_stopped_and_named() {
    let start = Instant::now();
    let text = failure(Path::new("../tests/manifests/runaway-script"));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(text.contains("block `spin` was stopped"), "{text}");
    assert!(text.contains("spin.toml:7:"), "{text}");
}

#[test]
fn all_errors_are_reported_not_only_the_first() {
    let sources = Sources {
        builtin: false,
        flags: vec!["../tests/manifests/unknown-key".into(), "../tests/manifests/rhai-syntax".into()],
        ..Default::default()
    };
    let err = Registry::load(&sources).unwrap_err();
    assert_eq!(err.errors.len(), 2, "{err}");
}
