//! The static OpenAPI schema (`cogpack::schema`) of every project with a predictor, as insta
//! snapshots; and a type the generator cannot read failing `cogpack plan` with the location.
//! That these documents are the ones Cog's runtime makes is checked end to end by
//! `tests/schema_e2e.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cogpack::project::Project;
use cogpack::schema::{openapi_schema, EntryPoints};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `(snapshot name, directory, predict reference, train reference)` of every project under
/// `fixtures/` and `tests/projects/` whose cog.yaml names a predictor (the broken fixtures
/// are left out: their cog.yaml is what is wrong).
fn predictors() -> Vec<(String, PathBuf, String, Option<String>)> {
    let mut out = Vec::new();
    for (prefix, base) in [("fixtures", "fixtures"), ("projects", "tests/projects")] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join(base)).unwrap().filter_map(Result::ok).map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let Ok(text) = std::fs::read_to_string(dir.join("cog.yaml")) else { continue };
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            if let Some(reference) = yaml["predict"].as_str() {
                let name = format!("{prefix}-{}", dir.file_name().unwrap().to_string_lossy());
                let train = yaml["train"].as_str().map(str::to_string);
                out.push((name, dir, reference.to_string(), train));
            }
        }
    }
    out
}

#[test]
fn every_predictor_has_a_schema_snapshot() {
    let all = predictors();
    assert!(all.len() >= 20, "expected the fixtures, found {}", all.len());
    let mut failed = Vec::new();
    for (name, dir, reference, train) in all {
        let project = Project::open(&dir).unwrap();
        let entry = EntryPoints { predict: Some(&reference), train: train.as_deref() };
        let text = match openapi_schema(&project, entry) {
            Ok(text) => text,
            Err(e) => format!("error: {e}\nhelp: {}\n", e.hint().unwrap_or_default()),
        };
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({ prepend_module_to_snapshot => true, omit_expression => true }, {
                insta::assert_snapshot!(name.clone(), text);
            });
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "schema snapshots differ for: {failed:?}");
}

#[test]
fn a_type_from_an_installed_package_fails_the_plan_with_its_location() {
    let dir = repo().join("tests/projects/schema-unresolvable-project");
    let out = Command::new(env!("CARGO_BIN_EXE_cogpack")).args(["plan", dir.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("predict.py:9:18: cannot resolve the type `Tensor` of input `weights`: it is imported from `torch`"),
        "{stderr}"
    );
    assert!(stderr.contains("Annotated[T, cog.Opaque]"), "{stderr}");
}

#[test]
fn the_plan_carries_the_schema_it_writes() {
    let dir = repo().join("tests/projects/schema-project");
    let out = Command::new(env!("CARGO_BIN_EXE_cogpack")).args(["plan", dir.to_str().unwrap(), "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = EntryPoints { predict: Some("predict.py:Predictor"), train: None };
    let expected = openapi_schema(&Project::open(&dir).unwrap(), entry).unwrap();
    assert_eq!(plan["export"]["labels"]["run.cog.openapi_schema"], expected.as_str());
    assert_eq!(plan["contexts"]["openapi-schema"]["files"]["openapi_schema.json"]["contents"], expected.as_str());
    // No step runs Python for the schema: the stage is one copy.
    let stage = plan["stages"].as_array().unwrap().iter().find(|s| s["id"] == "openapi-schema").unwrap();
    let ops = stage["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{stage}");
    assert_eq!(ops[0]["op"], "copy", "{stage}");
}

/// How long the static schema takes (`cargo test --release --test schema_static --
/// --ignored --nocapture`); figures in docs/benchmarks.md. The bound is loose, for a busy
/// machine and a debug build; the goal is that it is a small part of `cogpack plan`.
#[test]
#[ignore]
fn static_schema_timing() {
    for project in ["fixtures/string-project", "tests/projects/schema-project"] {
        let dir = repo().join(project);
        let view = Project::open(&dir).unwrap();
        let entry = EntryPoints { predict: Some("predict.py:Predictor"), train: None };
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let start = std::time::Instant::now();
                openapi_schema(&view, entry).unwrap();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let (min, median, p95) = (times[0], times[100], times[190]);
        println!("{project}: min {min:.3} ms, median {median:.3} ms, p95 {p95:.3} ms");
        assert!(median < 50.0, "{project}: the static schema took {median:.3} ms");
    }
}
