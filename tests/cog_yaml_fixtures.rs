//! Every fixture's cog.yaml, checked: valid projects snapshot their checked config (JSON),
//! the `run.cog.config` label and where each cited value was written; broken ones snapshot
//! their rendered (colourless) diagnostics. A guard test keeps the table below in step with
//! the fixture directories, so a new fixture must say what it is meant to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cogpack::cog_yaml::{self, CogConfig, CogYamlError};
use cogpack::diagnostics::{render, HasDiagnostics, RenderStyle};
use cogpack::project::Project;
use serde_json::json;

/// What checking a fixture's cog.yaml must give.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// A valid config (warnings allowed).
    Valid,
    /// A valid config with no predictor: `require_predictor()` must fail.
    NoPredictor,
    /// Errors.
    Invalid,
}

use Expect::*;

const FIXTURES: &[(&str, Expect)] = &[
    ("apt-packages", Valid),
    ("bad-dockerignore", Valid),
    ("cpu-tensorflow", Valid),
    ("cpu-torch-index", Valid),
    ("env-project", Valid),
    ("ffmpeg-package", Valid),
    ("gpu-cuda-only", Valid),
    ("gpu-jax", Valid),
    ("gpu-tensorflow", Valid),
    ("gpu-torch", Valid),
    ("local-whl-install", Valid),
    ("no-predictor-project", NoPredictor),
    ("pydantic2", Valid),
    ("python-313", Valid),
    ("secrets-project", Valid),
    ("string-project", Valid),
    ("subdirectory-project", Valid),
    ("tensorflow-project", Valid),
    ("torch-270-cuda-126", Valid),
    ("torch-baseimage-project", Valid),
    ("torch-cpu-project", Valid),
    ("torch-cuda-baseimage-project", Valid),
    ("train-project", Valid),
    ("uv-project", Valid),
    ("weights-project", Valid),
    ("broken/bad-run-steps", Invalid),
    ("broken/bad-yaml-syntax", Invalid),
    ("broken/cuda-cudnn-nonsense", Invalid),
    ("broken/duplicate-keys", Invalid),
    ("broken/missing-predict-file", Invalid),
    ("broken/missing-python-version", Invalid),
    ("broken/packages-and-requirements", Invalid),
    ("broken/predict-and-run", Invalid),
    ("broken/python-37", Invalid),
    ("broken/reserved-env", Invalid),
    ("broken/type-errors", Invalid),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn open(name: &str) -> Project {
    Project::open(fixtures_dir().join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
        .with_display_root(format!("fixtures/{name}"))
}

fn snapshot_name(name: &str) -> String {
    name.replace('/', "-")
}

/// Where each value that later checks may cite was written.
fn locations(config: &CogConfig) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |key: String, span| {
        out.insert(key, config.location(span).to_string());
    };
    let b = &config.build;
    if let Some(v) = &b.python_version {
        put("build.python_version".into(), v.span);
    }
    if let Some(gpu) = &b.gpu {
        put("build.gpu".into(), gpu.span);
    }
    for (key, value) in [
        ("build.cuda", &b.cuda),
        ("build.cudnn", &b.cudnn),
        ("build.python_requirements", &b.python_requirements),
        ("build.sdk_version", &b.sdk_version),
    ] {
        if let Some(v) = value {
            put(key.into(), v.span);
        }
    }
    for (i, p) in b.python_packages.iter().enumerate() {
        put(format!("build.python_packages[{i}]"), p.span);
    }
    for (i, p) in b.system_packages.iter().enumerate() {
        put(format!("build.system_packages[{i}]"), p.span);
    }
    for (i, step) in b.run.iter().enumerate() {
        put(format!("build.run[{i}]"), step.command.span);
    }
    for (i, e) in config.environment.iter().enumerate() {
        put(format!("environment[{i}]"), e.span);
    }
    if let Some(p) = &config.predict {
        put("predict".into(), p.span);
    }
    if let Some(t) = &config.train {
        put("train".into(), t.span);
    }
    out
}

fn check_valid(name: &str, expect: Expect) {
    let project = open(name);
    let loaded = cog_yaml::load(&project).unwrap_or_else(|e| {
        panic!(
            "{name} must be valid:\n{}",
            render(&e.diagnostics(), RenderStyle::Plain)
        )
    });
    let config = &loaded.config;
    let label = config.effective_config_json();
    let label_value: serde_json::Value = serde_json::from_str(&label).expect("label is JSON");
    insta::assert_json_snapshot!(
        format!("{}.config", snapshot_name(name)),
        json!({
            "config": config,
            "label": label_value,
            "locations": locations(config),
        })
    );
    let mut diagnostics = loaded.warnings.clone();
    assert!(
        diagnostics.iter().all(|d| !d.is_error()),
        "{name}: errors among warnings"
    );
    match (expect, config.require_predictor()) {
        (Valid, Ok(predictor)) => {
            assert!(
                project.has_file(&predictor.value.file),
                "{name}: predictor file exists"
            );
        }
        (NoPredictor, Err(err @ CogYamlError::NoPredictor { .. })) => {
            assert_eq!(err.exit_code(), cogpack::diagnostics::exit::PROJECT);
            diagnostics.extend(err.diagnostics());
        }
        (expect, got) => panic!("{name}: expected {expect:?}, require_predictor gave {got:?}"),
    }
    if !diagnostics.is_empty() {
        insta::assert_snapshot!(
            format!("{}.diagnostics", snapshot_name(name)),
            render(&diagnostics, RenderStyle::Plain)
        );
    }
}

fn check_invalid(name: &str) {
    let project = open(name);
    let err = match cog_yaml::load(&project) {
        Ok(loaded) => panic!("{name} must be invalid, got {:#?}", loaded.config),
        Err(err) => err,
    };
    let CogYamlError::Invalid { diagnostics, .. } = &err else {
        panic!("{name}: expected CogYamlError::Invalid, got {err}");
    };
    assert!(diagnostics.iter().any(|d| d.is_error()), "{name}: no error");
    for d in diagnostics {
        let location = d
            .location()
            .unwrap_or_else(|| panic!("{name}: {d} has no location"));
        assert!(location.path.ends_with("/cog.yaml"), "{name}: {location}");
    }
    let plain = render(diagnostics, RenderStyle::Plain);
    let colored = render(diagnostics, RenderStyle::Colored);
    assert!(colored.contains('\u{1b}') && !plain.contains('\u{1b}'));
    insta::assert_snapshot!(
        format!("{}.diagnostics", snapshot_name(name)),
        format!("{err}\n\n{plain}")
    );
}

#[test]
fn every_fixture_checks_as_intended() {
    for &(name, expect) in FIXTURES {
        match expect {
            Valid | NoPredictor => check_valid(name, expect),
            Invalid => check_invalid(name),
        }
    }
}

#[test]
fn fixture_table_lists_every_fixture() {
    let mut on_disk = Vec::new();
    for parent in ["", "broken/"] {
        for entry in std::fs::read_dir(fixtures_dir().join(parent)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().join("cog.yaml").is_file() {
                on_disk.push(format!("{parent}{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "FIXTURES must list every fixture directory with a cog.yaml"
    );
    for name in &on_disk {
        let readme = fixtures_dir().join(name).join("README.md");
        let text = std::fs::read_to_string(&readme).unwrap_or_default();
        assert!(
            !text.trim().is_empty(),
            "{name} needs a README.md saying what it proves"
        );
    }
}
