//! End to end over Cog's fixtures: each is built by `cogpack build` on the real engine and
//! answers a prediction through `cogpack predict`, as Cog's integration suite does.
//! Heavy fixtures (multi-GB frameworks, large apt packages) are `#[ignore]`d, so cargo's
//! summary counts them as ignored; run them with
//! `cargo test --test fixtures_e2e -- --ignored` (`COGPACK_HEAVY_E2E=1 scripts/test` does).
//! Without an engine the others fail when `COGPACK_ENGINE_REQUIRED=1` (or `CI=true`), else are
//! skipped with a SKIPPED line.

#[path = "engine_support/mod.rs"]
mod engine_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cogpack");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("fixtures").join(name)
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run cogpack")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Builds `name` (with extra build args/env), then checks each `(inputs, expected output)`.
async fn build_and_predict(
    name: &str,
    build_args: &[&str],
    envs: &[(&str, &str)],
    predictions: &[(&[&str], &str)],
) -> Option<bollard::Docker> {
    let docker = engine_support::engine_or_skip(name).await?;
    let tag = format!("cogpack-e2e/{name}:latest");
    let dir = fixture(name);
    let mut args = vec!["build", dir.to_str().unwrap(), "-t", &tag, "--progress", "plain"];
    args.extend_from_slice(build_args);
    let built = run(&args, envs);
    assert!(built.status.success(), "building {name} failed:\n{}", text(&built.stderr));
    for (inputs, expected) in predictions {
        let mut args = vec!["predict", tag.as_str()];
        for i in *inputs {
            args.extend(["-i", i]);
        }
        let out = run(&args, &[]);
        assert!(out.status.success(), "predict {name} {inputs:?} failed:\n{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), *expected, "{name} {inputs:?}");
    }
    Some(docker)
}

#[tokio::test]
async fn apt_packages() {
    build_and_predict("apt-packages", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
async fn env_project() {
    build_and_predict(
        "env-project",
        &[],
        &[],
        &[
            (&["name=TEST_VAR"], "ENV[TEST_VAR]=test_value"),
            (&["name=WITH_EQUALS"], "ENV[WITH_EQUALS]=a=b"),
        ],
    )
    .await;
}

#[tokio::test]
async fn python_313() {
    let Some(docker) = build_and_predict("python-313", &[], &[], &[(&["num=21"], "42")]).await else {
        return;
    };
    let (code, out) = engine_support::run_in(&docker, "cogpack-e2e/python-313:latest", &["python", "--version"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Python 3.13"), "{out}");
}

#[tokio::test]
async fn subdirectory_project() {
    build_and_predict("subdirectory-project", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
async fn local_whl_install() {
    build_and_predict("local-whl-install", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
async fn weights_project() {
    let Some(docker) =
        build_and_predict("weights-project", &[], &[], &[(&["s=world"], "hello world (16)")]).await
    else {
        return;
    };
    // The weights directory (10 MiB + 1 MiB, no code in it: Cog moves such a directory
    // whole) sits in a layer of its own, below the source.
    let history = docker.image_history("cogpack-e2e/weights-project:latest").await.unwrap();
    let sizes: Vec<i64> = history.iter().map(|h| h.size).collect();
    let weights = history.iter().position(|h| (11_534_336..11_600_000).contains(&h.size));
    let weights = weights.unwrap_or_else(|| panic!("no layer holds just the weights directory: {sizes:?}"));
    // That layer is named for the weights block, and the source layer is the one above it.
    assert!(history[weights].created_by.starts_with("[weights/weights] copy 1 weight path(s)"), "{history:#?}");
    assert!(history[weights - 1].created_by.starts_with("[source-copy/"), "{history:#?}");
}

#[tokio::test]
async fn pydantic2() {
    build_and_predict("pydantic2", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
async fn uv_project() {
    build_and_predict("uv-project", &[], &[], &[(&["s=world"], "hello-world")]).await;
}

#[tokio::test]
async fn train_project() {
    build_and_predict("train-project", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
async fn secrets_project() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file-secret");
    std::fs::write(&file, "file_secret_value").unwrap();
    let file_arg = format!("id=file-secret,src={}", file.display());
    build_and_predict(
        "secrets-project",
        &["--secret", &file_arg, "--secret", "id=env-secret,env=COGPACK_TEST_ENV_SECRET"],
        &[("COGPACK_TEST_ENV_SECRET", "env_secret_value")],
        &[(&["num=2"], "4")],
    )
    .await;
}

#[tokio::test]
#[ignore = "heavy end-to-end case (large apt packages): run with `-- --ignored` (COGPACK_HEAVY_E2E=1 scripts/test)"]
async fn ffmpeg_package() {
    build_and_predict("ffmpeg-package", &[], &[], &[(&["s=world"], "hello world")]).await;
}

#[tokio::test]
#[ignore = "heavy end-to-end case (a multi-GB torch download): run with `-- --ignored` (COGPACK_HEAVY_E2E=1 scripts/test)"]
async fn torch_cpu_project() {
    build_and_predict("torch-cpu-project", &[], &[], &[(&["n=3"], "3")]).await;
}

#[tokio::test]
async fn predict_builds_a_directory_first() {
    let Some(docker) = engine_support::engine_or_skip("predict_dir").await else { return };
    let out = run(&["predict", fixture("string-project").to_str().unwrap(), "-i", "s=directory"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hello directory");
    // It built (and named) the image as `cogpack build` would.
    assert!(docker.inspect_image("cogpack-string-project:latest").await.is_ok());
}
