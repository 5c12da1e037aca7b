//! Shared by the daemon, images and predict integration tests: reaching the real engine and
//! making small test images through the Docker API.
#![allow(dead_code)]

use std::collections::HashMap;

use bollard::models::{ContainerConfig, ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptions,
};
use bollard::Docker;
use futures::StreamExt;
use sha2::{Digest, Sha256};

/// Whether tests that need the engine (or root, or dockerd) must run: `scripts/test` sets
/// `COGPACK_ENGINE_REQUIRED=1`, CI sets `CI=true`. Then a test that cannot run fails instead
/// of skipping, so a green run means every test ran.
pub fn engine_required() -> bool {
    std::env::var("COGPACK_ENGINE_REQUIRED").as_deref() == Ok("1")
        || std::env::var("CI").as_deref() == Ok("true")
}

/// The engine, or `None` (test skipped, with a SKIPPED line) when none is reachable —
/// unless [`engine_required`], where a missing engine fails the test.
pub async fn engine_or_skip(test: &str) -> Option<Docker> {
    let result = match cogpack::daemon::discover(None) {
        Ok(found) => cogpack::daemon::connect(&found.addr)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(docker) => Some(docker),
        Err(e) if engine_required() => {
            panic!("{test}: no engine reachable and COGPACK_ENGINE_REQUIRED=1 (or CI=true): {e}")
        }
        Err(e) => {
            eprintln!(
                "SKIPPED {test}: no engine reachable ({e}); COGPACK_ENGINE_REQUIRED=1 makes this a failure"
            );
            None
        }
    }
}

/// Runs `cmd` in a fresh container of `image`; returns (exit code, combined output).
pub async fn run_in(docker: &Docker, image: &str, cmd: &[&str]) -> (i64, String) {
    let id = create(docker, image, cmd, Vec::new(), Vec::new()).await;
    docker.start_container(&id, None).await.expect("start");
    let code = wait(docker, &id).await;
    let out = logs(docker, &id).await;
    remove(docker, &id).await;
    (code, out)
}

pub async fn create(
    docker: &Docker,
    image: &str,
    cmd: &[&str],
    binds: Vec<String>,
    env: Vec<String>,
) -> String {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        env: Some(env),
        host_config: Some(HostConfig {
            binds: Some(binds),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_container(None, body)
        .await
        .expect("create container")
        .id
}

pub async fn wait(docker: &Docker, id: &str) -> i64 {
    let mut s = docker.wait_container(id, None::<WaitContainerOptions>);
    match s.next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        other => panic!("wait: {other:?}"),
    }
}

pub async fn logs(docker: &Docker, id: &str) -> String {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut s = docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Some(Ok(chunk)) = s.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text
}

pub async fn remove(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(id, Some(opts)).await;
}

/// Commits container `id` as `repo:tag` with the given runtime config.
pub async fn commit(docker: &Docker, id: &str, repo: &str, tag: &str, config: ContainerConfig) {
    let opts = CommitContainerOptionsBuilder::default()
        .container(id)
        .repo(repo)
        .tag(tag)
        .build();
    docker.commit_container(opts, config).await.expect("commit");
}

/// Copies `files` (path relative to `/` → contents) into container `id`.
pub async fn upload(docker: &Docker, id: &str, files: &[(&str, &str)]) {
    let mut ar = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(text.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        ar.append_data(&mut h, path, text.as_bytes()).expect("tar");
    }
    let bytes = ar.into_inner().expect("tar");
    let opts = UploadToContainerOptionsBuilder::default().path("/").build();
    docker
        .upload_to_container(id, Some(opts), bollard::body_full(bytes.into()))
        .await
        .expect("upload");
}

/// The py3.11-bookworm base image, built once if absent.
pub async fn base_image(
    docker: &Docker,
) -> (cogpack::images::BaseImageRecipe, cogpack::images::ImageId) {
    static ENSURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = ENSURING.lock().await;
    let recipe = cogpack::images::builtin_recipe(cogpack::images::PY311_BOOKWORM).unwrap();
    let id = cogpack::images::ensure(docker, &recipe, &|_| {})
        .await
        .expect("base image");
    (recipe, id)
}

pub const COG_VERSION: &str = "0.23.1";

/// A string predictor with a typed second input, like Cog's string-project.
pub const PREDICT_PY: &str = "from cog import BasePredictor\n\n\
class Predictor(BasePredictor):\n    \
def predict(self, s: str, n: int = 1) -> str:\n        \
return (\"hello \" + s) * n\n";

/// Its OpenAPI schema, as a Cog build writes it to /src/.cog/openapi_schema.json.
pub const SCHEMA_JSON: &str = r#"{"openapi":"3.0.2","info":{"title":"Cog","version":"0.1.0"},"paths":{},"components":{"schemas":{"Input":{"title":"Input","type":"object","properties":{"s":{"title":"S","type":"string","x-order":0},"n":{"title":"N","type":"integer","default":1,"x-order":1}},"required":["s"]},"Output":{"title":"Output","type":"string"}}}}"#;

/// A Cog image made by hand (cogpack build is another module): the base image, a venv with
/// cog from PyPI (host CA bundle mounted for the HTTPS proxy), the predictor in /src, and
/// Cog's CMD/WORKDIR/ENV. Cached by a hash of its inputs.
pub async fn string_predictor_image(docker: &Docker) -> String {
    // Tests run in parallel: make the image once.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = BUILDING.lock().await;
    let (recipe, base) = base_image(docker).await;
    let mut h = Sha256::new();
    for part in [base.0.as_str(), COG_VERSION, PREDICT_PY, SCHEMA_JSON] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let tag = hex::encode(&h.finalize()[..6]);
    let repo = "cogpack-test/string-predictor";
    let image = format!("{repo}:{tag}");
    if docker.inspect_image(&image).await.is_ok() {
        return image;
    }
    let ca = "/etc/ssl/certs/ca-certificates.crt";
    let script = format!(
        "python3 -m venv /venv && /venv/bin/pip install --no-cache-dir --cert {ca} cog=={COG_VERSION}"
    );
    let id = create(
        docker,
        &recipe.name,
        &["sh", "-c", &script],
        vec![format!("{ca}:{ca}:ro")],
        Vec::new(),
    )
    .await;
    upload(
        docker,
        &id,
        &[
            ("src/predict.py", PREDICT_PY),
            ("src/.cog/openapi_schema.json", SCHEMA_JSON),
        ],
    )
    .await;
    docker.start_container(&id, None).await.expect("start");
    let code = wait(docker, &id).await;
    if code != 0 {
        let out = logs(docker, &id).await;
        remove(docker, &id).await;
        panic!("installing cog failed ({code}):\n{out}");
    }
    let config = ContainerConfig {
        cmd: Some(vec!["python".into(), "-m".into(), "cog.server.http".into()]),
        working_dir: Some("/src".into()),
        env: Some(vec![
            format!("PATH=/venv/bin:{}", cogpack::images::DEFAULT_PATH),
            "COG_PREDICT_TYPE_STUB=predict.py:Predictor".into(),
        ]),
        exposed_ports: Some(vec!["5000/tcp".into()]),
        labels: Some(HashMap::from([(
            "org.cogpack.test".to_owned(),
            "string-predictor".to_owned(),
        )])),
        ..Default::default()
    };
    commit(docker, &id, repo, &tag, config).await;
    remove(docker, &id).await;
    image
}

/// An image made from the base with just a different CMD (no pip): for crash and hang tests.
pub async fn image_with_cmd(docker: &Docker, repo: &str, cmd: &[&str]) -> String {
    let image = format!("{repo}:latest");
    let want: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    if let Ok(found) = docker.inspect_image(&image).await {
        if found.config.and_then(|c| c.cmd).as_ref() == Some(&want) {
            return image;
        }
    }
    let (recipe, _) = base_image(docker).await;
    let id = create(docker, &recipe.name, &["true"], Vec::new(), Vec::new()).await;
    let config = ContainerConfig {
        cmd: Some(want),
        ..Default::default()
    };
    commit(docker, &id, repo, "latest", config).await;
    remove(docker, &id).await;
    image
}

/// Containers `cogpack predict` left behind for `image` (matched by name or image ID, so a
/// container survives in the list even if the tag has moved since).
pub async fn leftover_predict_containers(docker: &Docker, image: &str) -> Vec<String> {
    let image_id = docker.inspect_image(image).await.ok().and_then(|i| i.id);
    let filters = HashMap::from([("label".to_owned(), vec![cogpack::predict::LABEL.to_owned()])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(opts))
        .await
        .expect("list containers")
        .into_iter()
        .filter(|c| {
            c.image.as_deref() == Some(image) || (image_id.is_some() && c.image_id == image_id)
        })
        .filter_map(|c| c.id)
        .collect()
}

/// The base image every engine test may build on: made with `cogpack images build` (a no-op
/// when it is present and current), once per test process.
pub const BASE_IMAGE: &str = "cogpack/base:py3.11-bookworm";

pub fn ensure_base_image() {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cogpack"))
            .args(["images", "build", BASE_IMAGE])
            .output()
            .expect("run cogpack images build");
        assert!(
            out.status.success(),
            "cogpack images build {BASE_IMAGE} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A process's output as text (lossy UTF-8).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails with the command's stdout and stderr unless it succeeded; returns its stderr.
pub fn assert_ok(out: &std::process::Output, what: &str) -> String {
    let log = text(&out.stderr);
    assert!(out.status.success(), "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{log}", out.status, text(&out.stdout));
    log
}

/// A copy of the directory `src` in a temporary directory, so a test can edit it and
/// concurrent tests share nothing.
pub fn copy_tree(src: &std::path::Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let dest = dir.path().join(entry.path().strip_prefix(src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    dir
}

/// The steps of a `--progress plain` log, vertex name -> cached?: the blocks' vertices
/// (`[block/stage] ...`), and with `export` also the exporter's (`exporting ...`,
/// `naming ...`).
pub fn plain_steps(log: &str, export: bool) -> std::collections::BTreeMap<String, bool> {
    let mut names = std::collections::BTreeMap::new();
    let mut cached = std::collections::BTreeSet::new();
    for line in log.lines() {
        let Some((n, what)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else { continue };
        if n.parse::<u32>().is_err() {
            continue;
        }
        let exporter = what.starts_with("exporting") || what.starts_with("naming");
        if what == "CACHED" {
            cached.insert(n.to_owned());
        } else if what.starts_with('[') || (export && exporter) {
            names.entry(n.to_owned()).or_insert_with(|| what.to_owned());
        }
    }
    names.into_iter().map(|(n, name)| (name, cached.contains(&n))).collect()
}

/// `[block/stage]` -> layer digest, from the image's history (newest first) and RootFS (bottom
/// first); the base image's layers are skipped.
pub async fn layers_by_block(docker: &Docker, tag: &str) -> std::collections::BTreeMap<String, String> {
    let inspect = docker.inspect_image(tag).await.unwrap();
    let layers = inspect.root_fs.unwrap().layers.unwrap();
    let history: Vec<String> = docker
        .image_history(tag)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|h| h.created_by)
        .collect();
    assert_eq!(history.len(), layers.len(), "one history entry per layer: {history:#?}");
    history
        .into_iter()
        .zip(layers)
        .filter_map(|(h, l)| {
            let block = h.strip_prefix('[')?.split(']').next()?.to_owned();
            Some((block, l))
        })
        .collect()
}
