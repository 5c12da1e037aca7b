//! End to end over Cog's fixtures: each is built by `cogpack build` on the real engine and
//! answers a prediction through `cogpack predict`, as Cog's integration suite does.
//! Heavy fixtures (multi-GB frameworks, large apt packages) are `#[ignore]`d, so cargo's
//! summary counts them as ignored; run them with
//! `cargo test --test fixtures_e2e -- --ignored` (`COGPACK_HEAVY_E2E=1 scripts/test` does).
//! Without an engine the others fail when `COGPACK_ENGINE_REQUIRED=1` (or `CI=true`), else are
//! skipped with a SKIPPED line.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::text;

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
#[ignore = "heavy end-to-end case from download.pytorch.org's CPU index: COGPACK_HEAVY_E2E=1 COGPACK_PYTORCH_ORG=1 scripts/test"]
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

/// A temp project: string-project's predictor with `requirements` and `sdk_version` (if any).
fn pinned_project(requirements: &str, sdk_version: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("string-project").join("predict.py"), dir.path().join("predict.py")).unwrap();
    std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
    let sdk = sdk_version.map(|v| format!("  sdk_version: \"{v}\"\n")).unwrap_or_default();
    std::fs::write(
        dir.path().join("cog.yaml"),
        format!("build:\n  python_version: \"3.11\"\n  python_requirements: requirements.txt\n{sdk}predict: \"predict.py:Predictor\"\n"),
    )
    .unwrap();
    dir
}

/// The user's pins survive the cog runtime: requests and urllib3 pinned older than what a
/// fresh resolution of `cog` picks, behind an index line (`--extra-index-url`, which uv reads
/// with pip's semantics) and `--pre` (which uv only takes on its command line): the image's
/// `pip freeze` holds exactly the pinned versions, and the model predicts.
#[tokio::test]
async fn user_pins_are_kept_with_the_cog_runtime() {
    let Some(docker) = engine_support::engine_or_skip("user pins").await else { return };
    let dir = pinned_project(
        "--extra-index-url https://pypi.org/simple\n--pre\nrequests==2.28.2\nurllib3==1.26.20\n",
        None,
    );
    let tag = "cogpack-e2e/user-pins:latest";
    let built = run(&["build", dir.path().to_str().unwrap(), "-t", tag, "--progress", "plain"], &[]);
    assert!(built.status.success(), "build failed:\n{}", text(&built.stderr));
    // The plan, not the progress log, says which stages exist: BuildKit merges identical
    // vertices of concurrent builds (the host CA source is one), and shows one build's name.
    let plan = run(&["plan", dir.path().to_str().unwrap(), "--format", "json"], &[]);
    assert!(plan.status.success(), "plan failed:\n{}", text(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let blocks: Vec<&str> = plan["stages"].as_array().unwrap().iter().filter_map(|s| s["block"].as_str()).collect();
    assert!(blocks.contains(&"pip-requirements"), "no requirements stage: {blocks:?}");
    assert!(!blocks.contains(&"cog-wheel"), "the runtime is installed apart from the requirements: {blocks:?}");
    let log = text(&built.stderr);
    assert!(
        log.contains("with the cog runtime 0.23.1 in one resolution"),
        "the requirements step does not install the runtime:\n{log}"
    );
    let labels = docker.inspect_image(tag).await.unwrap().config.unwrap().labels.unwrap();
    let freeze = &labels["run.cog.pip_freeze"];
    for pin in ["requests==2.28.2", "urllib3==1.26.20", "cog==0.23.1"] {
        assert!(freeze.lines().any(|l| l == pin), "{pin} missing from the image's pip freeze:\n{freeze}");
    }
    let out = run(&["predict", tag, "-i", "s=world"], &[]);
    assert!(out.status.success(), "predict failed:\n{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hello world");
}

/// A pin the pinned runtime cannot accept fails at plan time, before any build step, with a
/// derivation naming the runtime's requirement and the user's line, and hints.
#[test]
fn a_pin_the_runtime_rejects_fails_before_building() {
    let dir = pinned_project("requests==2.20.0\n", Some("0.23.1"));
    let out = run(&["build", dir.path().to_str().unwrap(), "-t", "cogpack-e2e/never:latest"], &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for part in [
        "cannot install the cog runtime 0.23.1 with the project's requirements",
        "cog.yaml pins the cog runtime 0.23.1 with build.sdk_version (cog.yaml:4:16)",
        "cog 0.23.1 requires requests>=2.25.0 (compat/cog.toml:",
        "the project pins requests==2.20.0 (requirements.txt:1)",
        "no version of requests satisfies all of these",
        "help: the cog runtime 0.16.12 accepts every pin of the project",
        "help: or loosen `requests==2.20.0` (requirements.txt:1) so that it accepts requests>=2.25.0",
    ] {
        assert!(err.contains(part), "missing `{part}` in:\n{err}");
    }
    // Nothing was built: the failure is the plan's, no step started.
    assert!(!err.contains("[pip-requirements/"), "{err}");
}

/// Without `sdk_version`, the plan chooses the newest runtime whose requirements accept the
/// pins, and says which and why.
#[test]
fn without_sdk_version_the_plan_chooses_a_runtime_that_accepts_the_pins() {
    let dir = pinned_project("structlog==20.2.0\n", None);
    let out = run(&["plan", dir.path().to_str().unwrap(), "--format", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cog = &plan["resolved"]["cog"];
    assert_eq!(cog["version"], "0.16.12", "{cog:#}");
    let reason = cog["reason"].as_str().unwrap();
    assert!(reason.contains("cog 0.23.1 requires structlog>=21.0.0"), "{reason}");
    assert!(reason.contains("0.16.12 is the newest release whose requirements accept the project's pins"), "{reason}");
    assert_eq!(cog["package"], "cog==0.16.12");
}

/// pip options uv does not take in a requirements file fail the plan, naming the line.
#[test]
fn a_pip_option_uv_rejects_names_its_line() {
    let dir = pinned_project("six==1.16.0\n--no-deps\n", None);
    let out = run(&["plan", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("`--no-deps` (requirements.txt:2): uv, which installs the requirements, does not accept `--no-deps`"), "{err}");
    let dir = pinned_project("six==1.16.0 --global-option=x\n", None);
    let out = run(&["plan", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("(requirements.txt:1): uv, which installs the requirements, takes no per-requirement option but `--hash`, not `--global-option=x`"), "{}", text(&out.stderr));
}

/// `--no-index` with a relative `--find-links` directory: uv resolves that directory from the
/// requirements file's own directory, so the step places the generated file where the user's
/// is; the runtime, which the project's wheels cannot supply, comes after from PyPI
/// constrained to what the requirements installed.
#[tokio::test]
async fn no_index_with_local_find_links() {
    let Some(docker) = engine_support::engine_or_skip("no-index").await else { return };
    let dir = pinned_project("--no-index\n--find-links wheels\nhello_cogpack==0.1.0\n", None);
    let wheels = fixture("local-whl-install").join("wheels");
    std::fs::create_dir(dir.path().join("wheels")).unwrap();
    for e in std::fs::read_dir(&wheels).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join("wheels").join(e.file_name())).unwrap();
    }
    std::fs::copy(fixture("local-whl-install").join("predict.py"), dir.path().join("predict.py")).unwrap();
    let tag = "cogpack-e2e/no-index:latest";
    let built = run(&["build", dir.path().to_str().unwrap(), "-t", tag, "--progress", "plain"], &[]);
    assert!(built.status.success(), "build failed:\n{}", text(&built.stderr));
    let labels = docker.inspect_image(tag).await.unwrap().config.unwrap().labels.unwrap();
    let freeze = &labels["run.cog.pip_freeze"];
    for pin in ["hello-cogpack==0.1.0", "cog==0.23.1"] {
        assert!(freeze.lines().any(|l| l == pin), "{pin} missing from the image's pip freeze:\n{freeze}");
    }
    let out = run(&["predict", tag, "-i", "s=world"], &[]);
    assert!(out.status.success(), "predict failed:\n{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hello world");
}

/// The package index set for the build reaches the install steps: with an index nothing
/// listens on, the requirements step fails asking that index (not PyPI) for its packages.
#[tokio::test]
async fn the_package_index_setting_reaches_the_install_steps() {
    let Some(_docker) = engine_support::engine_or_skip("package index").await else { return };
    let dir = pinned_project("requests==2.28.2\n", None);
    let index = "http://127.0.0.1:9/simple";
    let out = run(
        &["build", dir.path().to_str().unwrap(), "-t", "cogpack-e2e/never-index:latest", "--progress", "plain", "--index-url", index],
        &[],
    );
    let log = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{log}");
    // uv-tool writes the index into the uv.toml every install step reads (a file op).
    assert!(log.contains("[uv-tool/uv-tool] MKFILE /opt/uv/bin/uv.toml"), "{log}");
    assert!(log.contains("127.0.0.1:9/simple/"), "the install step did not ask the index:\n{log}");
}
