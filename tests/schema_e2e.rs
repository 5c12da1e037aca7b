//! Parity of the static OpenAPI schema with Cog's runtime, end to end on the real engine.
//!
//! For each project: the schema cogpack reads from the source at plan time
//! (`cogpack::schema`) must equal, compared as JSON,
//! 1. the image's `run.cog.openapi_schema` label,
//! 2. what the Cog runtime (cog 0.23.1) serves at `GET /openapi.json` from the built image,
//! 3. what the Cog SDK's own inspector makes of the predictor when it imports it inside the
//!    built image (`tests/schema/cog_openapi_schema.py`, the build step this replaced).
//!
//! Without an engine these fail when `CI=true`, else are skipped.

#[path = "engine_support/mod.rs"]
mod engine_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cogpack::predict::{served_schema, PredictOptions};
use cogpack::project::Project;
use cogpack::schema::{openapi_value, EntryPoints};
use serde_json::Value;

const INSPECTOR: &str = include_str!("schema/cog_openapi_schema.py");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// cog.yaml `predict` and `train`.
fn refs(dir: &Path) -> (String, Option<String>) {
    let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(dir.join("cog.yaml")).unwrap()).unwrap();
    let predict = yaml["predict"].as_str().expect("cog.yaml predict").to_string();
    (predict, yaml["train"].as_str().map(str::to_string))
}

/// The predictor's part of a document that also describes a trainer.
fn predict_part(doc: &Value) -> Value {
    let mut doc = doc.clone();
    for key in ["TrainingInput", "TrainingOutput", "TrainingRequest", "TrainingResponse"] {
        doc["components"]["schemas"].as_object_mut().unwrap().remove(key);
    }
    doc["paths"].as_object_mut().unwrap().remove("/trainings");
    doc
}

/// The schema the Cog SDK's inspector writes when it imports the predictor in `image`.
async fn inspector_schema(docker: &bollard::Docker, image: &str, reference: &str, mode: &str) -> Value {
    let cmd = format!("cd /src && python /tmp/cog_openapi_schema.py '{reference}' {mode} 2>/tmp/err || {{ cat /tmp/err; exit 1; }}");
    let id = engine_support::create(docker, image, &["sh", "-c", &cmd], Vec::new(), Vec::new()).await;
    engine_support::upload(docker, &id, &[("tmp/cog_openapi_schema.py", INSPECTOR)]).await;
    docker.start_container(&id, None).await.expect("start");
    let code = engine_support::wait(docker, &id).await;
    let out = engine_support::logs(docker, &id).await;
    engine_support::remove(docker, &id).await;
    assert_eq!(code, 0, "the inspector failed in {image}:\n{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("the inspector's output is not JSON ({e}):\n{out}"))
}

async fn parity(rel: &str) {
    let name = rel.rsplit('/').next().unwrap();
    let Some(docker) = engine_support::engine_or_skip(&format!("schema parity of {rel}")).await else {
        return;
    };
    let dir = repo().join(rel);
    let (reference, train) = refs(&dir);
    let project = Project::open(&dir).unwrap();
    let entry = EntryPoints { predict: Some(&reference), train: train.as_deref() };
    let expected = openapi_value(&project, entry).expect("static schema");

    let tag = format!("cogpack-e2e-schema/{name}:latest");
    let built = Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(["build", dir.to_str().unwrap(), "-t", &tag, "--progress", "plain"])
        .output()
        .expect("run cogpack build");
    assert!(built.status.success(), "building {rel} failed:\n{}", String::from_utf8_lossy(&built.stderr));

    let inspect = docker.inspect_image(&tag).await.expect("inspect the built image");
    let label = inspect
        .config
        .and_then(|c| c.labels)
        .and_then(|l| l.get("run.cog.openapi_schema").cloned())
        .expect("the run.cog.openapi_schema label");
    let label: Value = serde_json::from_str(&label).expect("the label is JSON");
    assert_eq!(label, expected, "{rel}: the image label differs from the static schema");

    let served = served_schema(&docker, &PredictOptions::new(tag.clone())).await.expect("GET /openapi.json");
    assert_eq!(served, expected, "{rel}: the schema the Cog runtime serves differs from the static schema");

    let inspected = inspector_schema(&docker, &tag, &reference, "predict").await;
    assert_eq!(inspected, predict_part(&expected), "{rel}: the Cog inspector's schema differs from the static schema");

    // The trainer: the inspector's `Input`/`Output` in train mode are the document's
    // `TrainingInput`/`TrainingOutput` (titled so, as Cog's generator does).
    if let Some(train) = train {
        let inspected = inspector_schema(&docker, &tag, &train, "train").await;
        let schemas = &expected["components"]["schemas"];
        for (theirs, ours) in [("Input", "TrainingInput"), ("Output", "TrainingOutput")] {
            let mut ours = schemas[ours].clone();
            ours["title"] = Value::from(theirs);
            assert_eq!(inspected["components"]["schemas"][theirs], ours, "{rel}: the trainer's {theirs} differs");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_project_matches_the_runtime() {
    parity("tests/projects/schema-project").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_iterator_project_matches_the_runtime() {
    parity("tests/projects/schema-iterator-project").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn string_project_matches_the_runtime() {
    parity("fixtures/string-project").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subdirectory_project_matches_the_runtime() {
    parity("fixtures/subdirectory-project").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn train_project_matches_the_runtime() {
    parity("fixtures/train-project").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pydantic2_matches_the_runtime() {
    parity("fixtures/pydantic2").await;
}

/// A predictor that imports a third-party package at module level (`slugify`, installed by
/// uv from the project's lock file): the static schema never imports it.
#[tokio::test(flavor = "multi_thread")]
async fn uv_project_matches_the_runtime() {
    parity("fixtures/uv-project").await;
}
