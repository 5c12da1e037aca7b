//! End to end for the second stack (written only as manifests and compat rows): a small
//! HTTP server with one npm dependency is built with a real BuildKit, run as a container with
//! its port published, and must answer a request; a source edit rebuilds without re-running
//! the dependency install; bad input fails with a clear error and tags nothing. Needs the
//! engine; without one the engine tests fail when `CI=true` and are skipped loudly otherwise.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::{assert_ok, text};

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::Docker;

const BIN: &str = env!("CARGO_BIN_EXE_cogpack");
/// The port the Node stack exposes and sets as `PORT` (stacks.d/node.toml).
const PORT: &str = "8080/tcp";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A name no other run uses (images, containers, greetings).
fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

/// Makes the base image the Node projects resolve to, once per test binary, before any build
/// needs it: on a fresh machine the builds below would otherwise each start making it at the
/// same time. A no-op when it is present and current.
fn ensure_base_image() {
    static MADE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if *made {
        return;
    }
    let dir = repo().join("tests/projects/node/server");
    let plan = Command::new(BIN).args(["plan", dir.to_str().unwrap(), "--format", "json"]).output().expect("run cogpack");
    assert_ok(&plan, "plan");
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let image = json["resolved"]["base_image"]["version"].as_str().expect("a base image").to_string();
    let out = Command::new(BIN).args(["images", "build", &image]).output().expect("run cogpack");
    assert_ok(&out, &format!("cogpack images build {image}"));
    *made = true;
}

fn build(dir: &Path, tag: &str) -> Output {
    ensure_base_image();
    build_only(dir, tag)
}

/// `cogpack build` without making the base image first (for input that fails before it).
fn build_only(dir: &Path, tag: &str) -> Output {
    Command::new(BIN)
        .args(["build", dir.to_str().unwrap(), "-t", tag, "--progress", "plain"])
        .output()
        .expect("run cogpack")
}

/// Steps that make layers (not sources: contexts, the CA bundle, the base image).
fn is_build_step(name: &str) -> bool {
    name.starts_with('[') && !name.contains(" context ") && !name.contains("host CA") && !name.contains("] FROM ")
}

/// Removes the image (and its containers) when the test ends, pass or fail.
struct Cleanup {
    docker: Docker,
    images: Vec<String>,
    containers: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let images = std::mem::take(&mut self.images);
        let containers = std::mem::take(&mut self.containers);
        // Drop runs inside the test's runtime: clean up on a thread of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                for c in &containers {
                    engine_support::remove(&docker, c).await;
                }
                for i in &images {
                    let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
                    let _ = docker.remove_image(i, Some(opts), None).await;
                }
            });
        })
        .join()
        .unwrap();
    }
}

/// Starts a container of `image` named `name` with the stack's port published on an
/// ephemeral loopback port; returns the host port.
async fn start(docker: &Docker, image: &str, name: &str) -> u16 {
    let bindings = HashMap::from([(
        PORT.to_owned(),
        Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(String::new()) }]),
    )]);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        host_config: Some(HostConfig { port_bindings: Some(bindings), ..Default::default() }),
        ..Default::default()
    };
    let opts = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(name).build();
    let id = docker.create_container(Some(opts), body).await.expect("create container").id;
    docker.start_container(&id, None).await.expect("start container");
    let info = docker.inspect_container(&id, None).await.unwrap();
    info.network_settings
        .and_then(|n| n.ports)
        .and_then(|mut p| p.remove(PORT))
        .flatten()
        .and_then(|b| b.into_iter().find_map(|b| b.host_port?.parse().ok()))
        .expect("a published port")
}

/// `GET /` until the server answers (or 60 s pass); returns the body.
fn get(port: u16) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if let Some((head, body)) = answer.split_once("\r\n\r\n") {
                    if head.starts_with("HTTP/1.") && head.contains(" 200 ") {
                        return Ok(body.to_string());
                    }
                }
                last = answer;
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(last)
}

#[tokio::test]
async fn a_node_server_is_built_run_answers_and_a_source_edit_skips_the_install() {
    let Some(docker) = engine_support::engine_or_skip("node_server").await else { return };
    let project = copy_project("server");
    let tag = format!("cogpack-e2e/{}:latest", unique("node-server"));
    let mut cleanup = Cleanup { docker: docker.clone(), images: vec![tag.clone()], containers: Vec::new() };
    // Neither a host `node_modules` nor an ignored file may reach the image.
    std::fs::create_dir_all(project.path().join("node_modules/ms")).unwrap();
    std::fs::write(project.path().join("node_modules/ms/index.js"), "module.exports = () => 'from-the-host';\n").unwrap();
    std::fs::write(project.path().join("debug.log"), "ignored by .dockerignore\n").unwrap();

    let first = build(project.path(), &tag);
    assert_ok(&first, "first build");
    let log = text(&first.stderr);
    assert!(log.contains("npm ci"), "a lockfile means `npm ci`:\n{log}");
    let first_log = log.clone();
    let base_id = || async { docker.inspect_image("cogpack/base:node20-trixie").await.ok().and_then(|i| i.id) };
    let base_before = base_id().await;

    let config = docker.inspect_image(&tag).await.unwrap().config.unwrap();
    assert_eq!(config.cmd.unwrap(), vec!["/bin/sh", "-c", "node server.js"]);
    assert_eq!(config.entrypoint.unwrap(), vec!["/usr/bin/tini", "-g", "--"]);
    assert_eq!(config.working_dir.as_deref(), Some("/app"));
    let env = config.env.unwrap();
    assert!(env.contains(&"NODE_ENV=production".to_string()) && env.contains(&"PORT=8080".to_string()), "{env:?}");
    assert!(config.exposed_ports.unwrap().contains(&PORT.to_string()));
    let (code, out) = engine_support::run_in(&docker, &tag, &["sh", "-c", "test ! -e /app/debug.log && cat /app/node_modules/ms/package.json"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"version\": \"2.1.3\""), "ms comes from the lockfile, not the host: {out}");

    let name = unique("cogpack-e2e-node");
    cleanup.containers.push(name.clone());
    let port = start(&docker, &tag, &name).await;
    let body = get(port).unwrap_or_else(|e| panic!("the server did not answer: {e}"));
    assert_eq!(body.trim(), "hello from node: 2m production");
    engine_support::remove(&docker, &name).await;

    // A source edit re-runs the source copy only: the dependency install stays cached.
    let greeting = unique("edited");
    std::fs::write(project.path().join("greeting.js"), format!("exports.greeting = () => {greeting:?};\n")).unwrap();
    let edited = build(project.path(), &tag);
    assert_ok(&edited, "rebuild after an edit");
    let log = text(&edited.stderr);
    let steps = steps(&log);
    let install: Vec<(&String, &bool)> = steps.iter().filter(|(n, _)| is_build_step(n) && n.starts_with("[npm-dependencies/")).collect();
    assert!(install.iter().any(|(n, _)| n.contains("npm ci")), "the install step is in the solve:\n{log}");
    // A miss here was seen once on a fresh CI engine (not reproduced): say what the base
    // image was on both sides, and show the first build too.
    let base_after = base_id().await;
    for (name, cached) in &install {
        assert!(
            **cached,
            "`{name}` re-ran after a source-only edit (base image {base_before:?} -> {base_after:?}):\n{log}\n--- the first build ---\n{first_log}"
        );
    }
    let source: Vec<(&String, &bool)> = steps.iter().filter(|(n, _)| is_build_step(n) && n.starts_with("[node-source/")).collect();
    assert!(!source.is_empty() && source.iter().all(|(_, c)| !**c), "the source copy must re-run:\n{log}");

    let name = unique("cogpack-e2e-node");
    cleanup.containers.push(name.clone());
    let port = start(&docker, &tag, &name).await;
    let body = get(port).unwrap_or_else(|e| panic!("the rebuilt server did not answer: {e}"));
    assert_eq!(body.trim(), format!("{greeting} 2m production"));
}

#[tokio::test]
async fn a_build_script_runs_with_dev_dependencies_that_never_reach_the_image() {
    let Some(docker) = engine_support::engine_or_skip("node_build_script").await else { return };
    let project = copy_project("build-script");
    let tag = format!("cogpack-e2e/{}:latest", unique("node-build"));
    let mut cleanup = Cleanup { docker: docker.clone(), images: vec![tag.clone()], containers: Vec::new() };
    let out = build(project.path(), &tag);
    assert_ok(&out, "build");
    let log = text(&out.stderr);
    assert!(log.contains("[npm-build/npm-build] run scripts.build"), "{log}");
    // The build's output is in the image; its dev dependency (ms) is not.
    let (code, out) = engine_support::run_in(&docker, &tag, &["sh", "-c", "test -f /app/dist/server.js && test ! -e /app/node_modules/ms"]).await;
    assert_eq!(code, 0, "{out}");
    let name = unique("cogpack-e2e-node");
    cleanup.containers.push(name.clone());
    let port = start(&docker, &tag, &name).await;
    let body = get(port).unwrap_or_else(|e| panic!("the built server did not answer: {e}"));
    assert_eq!(body.trim(), "built 1m");
}

#[tokio::test]
async fn a_lockfile_out_of_sync_fails_in_its_block_with_npms_error_and_tags_nothing() {
    let Some(docker) = engine_support::engine_or_skip("node_lock_out_of_sync").await else { return };
    let project = copy_project("lock-out-of-sync");
    let tag = format!("cogpack-e2e/{}:latest", unique("node-lock"));
    let _cleanup = Cleanup { docker: docker.clone(), images: vec![tag.clone()], containers: Vec::new() };
    let out = build(project.path(), &tag);
    assert_eq!(out.status.code(), Some(cogpack::diagnostics::exit::BUILD as i32), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("block `npm-dependencies` failed"), "{err}");
    // npm's own message, in the log tail the failure shows (not npm's usage text).
    let tail = err.split("last lines of its log:").nth(1).unwrap_or("");
    assert!(tail.contains("are in sync") && tail.contains("Missing: ms@2.1.3 from lock file"), "{err}");
    assert!(docker.inspect_image(&tag).await.is_err(), "a failed build left a tagged image");
}

/// Bad package.json input fails before anything is built: a clear error, its exit code, no image.
#[tokio::test]
async fn bad_package_json_input_fails_with_a_located_error_and_no_image() {
    let cases = [
        ("malformed", cogpack::diagnostics::exit::PROJECT, vec!["package.json:5:3", "trailing commas"]),
        ("engines-unsatisfiable", cogpack::diagnostics::exit::RESOLVE_MISSING_DATA, vec!["package.json `engines.node` requires node >=22 (package.json:5:13)", "compat/base-images.toml:"]),
        ("no-start", cogpack::diagnostics::exit::PROJECT, vec!["no `scripts.start` and no `main`"]),
    ];
    let docker = engine_support::engine_or_skip("node_bad_input").await;
    for (name, code, words) in cases {
        let tag = format!("cogpack-e2e/{}:latest", unique(&format!("node-{name}")));
        let dir = repo().join("tests/projects/node").join(name);
        let out = build_only(&dir, &tag);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code as i32), "{name}:\n{err}");
        for w in words {
            assert!(err.contains(w), "{name}: `{w}` missing from:\n{err}");
        }
        if let Some(docker) = &docker {
            assert!(docker.inspect_image(&tag).await.is_err(), "{name}: a failed build left a tagged image");
        }
    }
}

/// Steps of a `--progress plain` log: vertex name -> cached?
fn steps(log: &str) -> BTreeMap<String, bool> {
    engine_support::plain_steps(log, false)
}

/// A copy of `tests/projects/node/<name>` in a temporary directory, so tests can edit it.
fn copy_project(name: &str) -> tempfile::TempDir {
    engine_support::copy_tree(&repo().join("tests/projects/node").join(name))
}
