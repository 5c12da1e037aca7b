//! End to end: `cogpack build` with a real BuildKit (Docker's embedded one), then
//! `cogpack predict` against the image. Needs the engine (`cogpack engine up`); without one
//! these tests fail when `COGPACK_ENGINE_REQUIRED=1` (or `CI=true`) and are skipped loudly otherwise.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::{assert_ok, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bollard::Docker;
use futures::StreamExt;

const BIN: &str = env!("CARGO_BIN_EXE_cogpack");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cogpack(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run cogpack")
}

/// Steps that make layers (not sources: contexts, the CA bundle, the base image).
fn is_build_step(name: &str) -> bool {
    // Sources (an image, a context, the CA bundle, a URL fetched by checksum such as uv's
    // wheel) are resolved on every solve and never shown as cached; they are not steps.
    name.starts_with('[')
        && !name.contains(" context ")
        && !name.contains("host CA")
        && !name.contains("] FROM ")
        && !name.contains("] ADD https://")
}

fn build(dir: &Path, tag: &str, extra: &[&str]) -> Output {
    let mut args = vec!["build", dir.to_str().unwrap(), "-t", tag, "--progress", "plain"];
    args.extend_from_slice(extra);
    cogpack(&args)
}

async fn layers_of(docker: &Docker, image: &str) -> Vec<String> {
    docker
        .image_history(image)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.created_by)
        .collect()
}

#[tokio::test]
async fn string_project_builds_predicts_and_rebuilds_only_the_source() {
    let Some(docker) = engine_support::engine_or_skip("string_project_builds").await else { return };
    let project = copy_fixture("string-project");
    let tag = "cogpack-e2e/string-project:latest";

    let first = build(project.path(), tag, &[]);
    assert_ok(&first, "first build");

    let predicted = cogpack(&["predict", tag, "-i", "s=world"]);
    assert_ok(&predicted, "predict");
    assert_eq!(text(&predicted.stdout).trim(), "hello world");

    // The image is laid out like Cog's: dependency layers below the source layer.
    // One history entry per layer, newest first, naming the block and stage that made it;
    // the source layer sits above the dependency layers, the base image's own entry below.
    let history = layers_of(&docker, tag).await;
    let prefixes = ["[openapi-schema/", "[source-copy/", "[cog-wheel/", "[venv/", "cogpack images build: debootstrap"];
    assert_eq!(history.len(), prefixes.len(), "{history:#?}");
    for (entry, prefix) in history.iter().zip(prefixes) {
        assert!(entry.starts_with(prefix), "`{entry}` should start with `{prefix}`:\n{history:#?}");
    }
    let config = docker.inspect_image(tag).await.unwrap().config.unwrap();
    assert_eq!(config.cmd.unwrap(), vec!["python", "-m", "cog.server.http"]);
    assert_eq!(config.working_dir.as_deref(), Some("/src"));
    let labels = config.labels.unwrap();
    assert!(labels["run.cog.openapi_schema"].contains("\"Input\""), "{labels:?}");
    assert!(labels.contains_key("run.cog.config"));
    // `pip freeze` of the environment, made in a detached stage that never enters the image.
    let freeze = &labels["run.cog.pip_freeze"];
    assert!(freeze.lines().any(|l| l.starts_with("cog==")), "{freeze}");
    let (code, out) = engine_support::run_in(&docker, tag, &["test", "!", "-e", "/cogpack/pip-freeze.txt"]).await;
    assert_eq!(code, 0, "the freeze file leaked into the image: {out}");
    // Cog images run under an init: tini is PID 1 and starts the command.
    assert_eq!(config.entrypoint.unwrap(), vec!["/usr/bin/tini", "--"]);
    assert_eq!(labels.get("run.cog.has_init").map(String::as_str), Some("true"));
    let (code, pid1) = engine_support::run_in(&docker, tag, &["cat", "/proc/1/cmdline"]).await;
    assert_eq!(code, 0, "{pid1}");
    assert_eq!(pid1.split('\0').collect::<Vec<_>>()[..3], ["/usr/bin/tini", "--", "cat"], "PID 1: {pid1:?}");

    // A no-op rebuild: every build step comes from the cache.
    let again = build(project.path(), tag, &[]);
    assert_ok(&again, "no-op rebuild");
    let log = text(&again.stderr);
    for (name, cached) in steps(&log) {
        if is_build_step(&name) {
            assert!(cached, "no-op rebuild re-ran `{name}`:\n{log}");
        }
    }

    // Editing predict.py re-runs only the source copy and what follows it.
    let predict_py = project.path().join("predict.py");
    // A greeting no earlier run used, so BuildKit cannot have cached its layers.
    let greeting = format!("hi-{}-{} ", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    let code = std::fs::read_to_string(&predict_py).unwrap().replace("\"hello \"", &format!("{greeting:?}"));
    assert!(code.contains(&greeting), "the fixture's predictor must return \"hello \" + s");
    std::fs::write(&predict_py, code).unwrap();
    let edited = build(project.path(), tag, &[]);
    assert_ok(&edited, "rebuild after an edit");
    let log = text(&edited.stderr);
    let steps = steps(&log);
    let mut reran = Vec::new();
    for (name, cached) in &steps {
        if !is_build_step(name) {
            continue;
        }
        // The OpenAPI schema is made at plan time and copied as a layer of its own: an edit
        // that leaves the predictor's signature alone leaves it cached.
        if name.starts_with("[openapi-schema/") {
            continue;
        }
        let after_source = name.starts_with("[source-copy/");
        if after_source {
            assert!(!cached, "`{name}` must re-run after a source edit:\n{log}");
            reran.push(name.clone());
        } else {
            assert!(*cached, "`{name}` re-ran after a source-only edit:\n{log}");
        }
    }
    assert!(!reran.is_empty(), "nothing re-ran after the edit:\n{log}");
    let predicted = cogpack(&["predict", tag, "-i", "s=world"]);
    assert_ok(&predicted, "predict after the edit");
    assert_eq!(text(&predicted.stdout).trim(), format!("{greeting}world"));
}

#[tokio::test]
async fn a_failing_run_command_names_its_block() {
    let Some(docker) = engine_support::engine_or_skip("failing_run").await else { return };
    let _ = docker.remove_image("cogpack-e2e/failing:latest", None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    let project = copy_fixture("string-project");
    let cog_yaml = project.path().join("cog.yaml");
    let mut config = std::fs::read_to_string(&cog_yaml).unwrap();
    config = config.replace("build:\n", "build:\n  run:\n    - echo the-step-output && exit 3\n");
    std::fs::write(&cog_yaml, &config).unwrap();
    assert!(config.contains("exit 3"), "{config}");

    let out = build(project.path(), "cogpack-e2e/failing:latest", &[]);
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(cogpack::diagnostics::exit::BUILD as i32));
    let err = text(&out.stderr);
    assert!(err.contains("block `run-commands` failed"), "{err}");
    assert!(err.contains("exit 3") || err.contains("exit code: 3"), "{err}");
    assert!(err.contains("the-step-output"), "the log tail must be shown:\n{err}");
    // A failed build tags nothing.
    let docker = engine_support::engine_or_skip("failing_run").await.unwrap();
    assert!(docker.inspect_image("cogpack-e2e/failing:latest").await.is_err(), "a failed build left a tagged image");
}

/// Issue 8, defect 7: a `.dockerignore` of ~300 lines failed the build ("header list size"),
/// because the patterns travelled to the engine and back in a gRPC header.
#[tokio::test]
async fn an_800_line_dockerignore_builds_and_filters() {
    let Some(docker) = engine_support::engine_or_skip("long_dockerignore").await else { return };
    let project = copy_fixture("string-project");
    let mut ignore = String::from("# generated\n");
    for i in 0..800 {
        ignore.push_str(&format!("generated/path-number-{i:04}/**/*.tmp\n"));
    }
    ignore.push_str("secret.txt\ndata\n!data/keep.txt\n");
    std::fs::write(project.path().join(".dockerignore"), &ignore).unwrap();
    std::fs::write(project.path().join("secret.txt"), "no").unwrap();
    std::fs::create_dir_all(project.path().join("data")).unwrap();
    std::fs::write(project.path().join("data/drop.txt"), "no").unwrap();
    std::fs::write(project.path().join("data/keep.txt"), "yes").unwrap();
    let tag = "cogpack-e2e/long-dockerignore:latest";
    let out = build(project.path(), tag, &[]);
    assert_ok(&out, "build with an 803-line .dockerignore");
    let (code, listing) = engine_support::run_in(&docker, tag, &["sh", "-c", "cd /src && find . -type f | sort"]).await;
    assert_eq!(code, 0, "{listing}");
    assert!(listing.contains("./data/keep.txt") && listing.contains("./predict.py"), "{listing}");
    assert!(!listing.contains("secret.txt") && !listing.contains("drop.txt"), "{listing}");
    let _ = docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
}

#[tokio::test]
async fn a_git_checkout_labels_the_image_with_its_commit_and_tag() {
    let Some(docker) = engine_support::engine_or_skip("git_labels").await else { return };
    let project = copy_fixture("string-project");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(project.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .expect("git is installed");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "model"]);
    git(&["tag", "v0.3.0"]);
    let head = git(&["rev-parse", "HEAD"]);
    let tag = "cogpack-e2e/git-labels:latest";
    assert_ok(&build(project.path(), tag, &[]), "build of a git checkout");
    let labels = docker.inspect_image(tag).await.unwrap().config.unwrap().labels.unwrap();
    assert_eq!(labels.get("org.opencontainers.image.revision"), Some(&head));
    assert_eq!(labels.get("org.opencontainers.image.version").map(String::as_str), Some("v0.3.0"));
    // .git is not part of the image's source.
    let (code, out) = engine_support::run_in(&docker, tag, &["test", "!", "-e", "/src/.git"]).await;
    assert_eq!(code, 0, "/src/.git was copied: {out}");
}

#[tokio::test]
async fn a_failing_detached_stage_fails_the_build_naming_its_block() {
    let Some(docker) = engine_support::engine_or_skip("failing_side").await else { return };
    let tag = "cogpack-e2e/failing-side:latest";
    let _ = docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    let project = copy_fixture("string-project");
    let blocks = project.path().join(".cogpack/blocks.d");
    std::fs::create_dir_all(&blocks).unwrap();
    // A project-local override of the built-in pip-freeze block whose side step fails.
    let manifest = std::fs::read_to_string(repo().join("blocks.d/pip-freeze.toml")).unwrap();
    let broken = manifest.replace("mkdir -p /cogpack && ", "echo side-step-output && exit 7 && ");
    assert_ne!(broken, manifest);
    std::fs::write(blocks.join("pip-freeze.toml"), broken).unwrap();

    let out = build(project.path(), tag, &[]);
    assert_eq!(out.status.code(), Some(cogpack::diagnostics::exit::BUILD as i32), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("block `pip-freeze` failed"), "{err}");
    assert!(err.contains("side-step-output"), "the log tail must be shown:\n{err}");
    assert!(docker.inspect_image(tag).await.is_err(), "a failed build left a tagged image");

    // A side step that succeeds but writes no file: the error says which block and label.
    let quiet = manifest.replace(
        "mkdir -p /cogpack && /opt/uv-tool/uv pip freeze --python \\\"$(command -v python)\\\" > \" + shell_quote(params.target)",
        "true\"",
    );
    assert_ne!(quiet, manifest);
    std::fs::write(blocks.join("pip-freeze.toml"), quiet).unwrap();
    let out = build(project.path(), tag, &[]);
    assert_eq!(out.status.code(), Some(cogpack::diagnostics::exit::BUILD as i32), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("block `pip-freeze` (stage `pip-freeze`) did not write `/cogpack/pip-freeze.txt`, which the label `run.cog.pip_freeze` reads"),
        "{err}"
    );
    assert!(!err.contains("buildkit-mount"), "engine-internal paths leak into the message: {err}");
    assert!(docker.inspect_image(tag).await.is_err(), "a failed build left a tagged image");
}

#[tokio::test]
async fn secrets_reach_the_step_but_not_the_image_plan_or_llb() {
    let Some(docker) = engine_support::engine_or_skip("secrets").await else { return };
    let project = copy_fixture("string-project");
    let secret_value = format!("s3cr3t-{}", std::process::id());
    let secret_file = project.path().join("..").join(format!("cogpack-secret-{}", std::process::id()));
    std::fs::write(&secret_file, &secret_value).unwrap();
    let expected = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(secret_value.as_bytes()))
    };
    let cog_yaml = project.path().join("cog.yaml");
    let config = std::fs::read_to_string(&cog_yaml).unwrap().replace(
        "build:\n",
        &format!(
            "build:\n  run:\n    - command: test \"$(sha256sum < /run/secrets/token | cut -d' ' -f1)\" = {expected} && echo secret-ok\n      mounts:\n        - type: secret\n          id: token\n          target: /run/secrets/token\n"
        ),
    );
    std::fs::write(&cog_yaml, config).unwrap();

    // Without the secret: a clear error before anything runs.
    let missing = build(project.path(), "cogpack-e2e/secret:latest", &[]);
    assert_eq!(missing.status.code(), Some(cogpack::diagnostics::exit::PROJECT as i32));
    assert!(text(&missing.stderr).contains("secret `token`"), "{}", text(&missing.stderr));

    let llb = project.path().join("..").join(format!("cogpack-llb-{}.json", std::process::id()));
    let secret_arg = format!("id=token,src={}", secret_file.display());
    let out = build(
        project.path(),
        "cogpack-e2e/secret:latest",
        &["--secret", &secret_arg, "--dump-llb", llb.to_str().unwrap()],
    );
    assert_ok(&out, "build with a secret");
    assert!(text(&out.stderr).contains("secret-ok"), "the step must read the secret");
    assert!(!text(&out.stderr).contains(&secret_value), "the secret leaked into the log");
    assert!(!text(&out.stdout).contains(&secret_value));

    let dump = std::fs::read_to_string(&llb).unwrap();
    assert!(dump.contains("token") && !dump.contains(&secret_value), "LLB dump");
    let plan = cogpack(&["plan", project.path().to_str().unwrap(), "--format", "json"]);
    assert!(!text(&plan.stdout).contains(&secret_value), "plan");

    // The image (every layer, as `docker save` gives it) never contains the value.
    let mut saved = Vec::new();
    let mut stream = docker.export_image("cogpack-e2e/secret:latest");
    while let Some(chunk) = stream.next().await {
        saved.extend_from_slice(&chunk.unwrap());
    }
    assert!(saved.len() > 1_000_000, "docker save returned {} bytes", saved.len());
    let needle = secret_value.as_bytes();
    assert!(!saved.windows(needle.len()).any(|w| w == needle), "the secret is in the image");
    let _ = std::fs::remove_file(secret_file);
    let _ = std::fs::remove_file(llb);
}

#[tokio::test]
async fn tarball_outputs_are_loadable_images() {
    let Some(docker) = engine_support::engine_or_skip("outputs").await else { return };
    // Export names already there (another run's) are not this build's.
    let export_tags = |images: Vec<bollard::models::ImageSummary>| -> BTreeSet<String> {
        images.into_iter().flat_map(|i| i.repo_tags).filter(|t| t.starts_with("cogpack-export/")).collect()
    };
    let before = export_tags(docker.list_images(None::<bollard::query_parameters::ListImagesOptions>).await.unwrap());
    let project = copy_fixture("string-project");
    let out_dir = tempfile::tempdir().unwrap();
    let docker_tar = out_dir.path().join("image.tar");
    let oci_tar = out_dir.path().join("image-oci.tar");
    let out = cogpack(&[
        "build",
        project.path().to_str().unwrap(),
        "--progress",
        "quiet",
        "--output",
        &format!("type=docker,dest={}", docker_tar.display()),
        "--output",
        &format!("type=oci,dest={}", oci_tar.display()),
    ]);
    assert_ok(&out, "build with outputs");

    // The OCI layout names its manifest, config and layers by digest.
    let mut archive = tar::Archive::new(std::fs::File::open(&oci_tar).unwrap());
    let mut names = BTreeSet::new();
    let mut index = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name == "index.json" {
            std::io::Read::read_to_string(&mut entry, &mut index).unwrap();
        }
        names.insert(name);
    }
    assert!(names.contains("oci-layout"), "{names:?}");
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let manifest = index["manifests"][0]["digest"].as_str().unwrap().replace("sha256:", "blobs/sha256/");
    assert!(names.contains(&manifest), "{names:?}");

    // The docker tarball loads back into the engine.
    let bytes = std::fs::read(&docker_tar).unwrap();
    let mut load = docker.import_image(
        bollard::query_parameters::ImportImageOptions { quiet: true, ..Default::default() },
        bollard::body_full(bytes.into()),
        None,
    );
    let mut loaded = String::new();
    while let Some(msg) = load.next().await {
        let msg = msg.expect("docker load");
        if let Some(stream) = msg.stream {
            loaded.push_str(&stream);
        }
    }
    assert!(loaded.contains("Loaded image"), "{loaded}");
    // No temporary tag is left behind, and loading the tarball brings none back.
    let after = export_tags(docker.list_images(None::<bollard::query_parameters::ListImagesOptions>).await.unwrap());
    let new: Vec<_> = after.difference(&before).collect();
    assert!(new.is_empty(), "a temporary export tag was left behind: {new:?}");
}

#[test]
fn an_unreachable_engine_gives_the_documented_error() {
    let out = cogpack(&[
        "build",
        repo().join("fixtures/string-project").to_str().unwrap(),
        "--engine",
        "unix:///nonexistent/buildkitd.sock",
    ]);
    assert_eq!(out.status.code(), Some(cogpack::diagnostics::exit::ENGINE as i32));
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/buildkitd.sock"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[tokio::test]
async fn an_interrupted_build_stops_and_tags_nothing() {
    let Some(docker) = engine_support::engine_or_skip("interrupted").await else { return };
    let tag = "cogpack-e2e/interrupted:latest";
    let _ = docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    let project = copy_fixture("string-project");
    let cog_yaml = project.path().join("cog.yaml");
    // A unique command, so BuildKit cannot answer it from its cache.
    let config = std::fs::read_to_string(&cog_yaml).unwrap().replace(
        "build:\n",
        &format!("build:\n  run:\n    - echo started-{} && sleep 120\n", std::process::id()),
    );
    std::fs::write(&cog_yaml, config).unwrap();

    let mut child = std::process::Command::new(BIN)
        .args(["build", project.path().to_str().unwrap(), "-t", tag, "--progress", "plain"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the slow step has started, then press Ctrl-C.
    let stderr = child.stderr.take().unwrap();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("started-") && !line.contains("echo") {
                let _ = seen_tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    seen_rx.recv_timeout(std::time::Duration::from_secs(120)).expect("the slow step never started");
    let started = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let log = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "Ctrl-C took {:?}", started.elapsed());
    assert!(log.contains("no image was tagged"), "{log}");
    assert!(log.contains("started-"), "{log}");
    assert!(docker.inspect_image(tag).await.is_err(), "an interrupted build left a tagged image");
}

/// Steps of a `--progress plain` log: vertex name -> cached?
fn steps(log: &str) -> BTreeMap<String, bool> {
    engine_support::plain_steps(log, true)
}

/// A copy of a fixture in a temporary directory, so tests can edit it.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    engine_support::copy_tree(&repo().join("fixtures").join(name))
}
