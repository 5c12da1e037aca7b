//! Planning speed: `cargo test --release --test engine_bench -- --ignored --nocapture`.
//! Measures loading every manifest (compiling every script) and composing string-project,
//! in process and as a whole `cogpack plan` process. The figures go in
//! `docs/benchmarks.md` (## Planning).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cogpack::compose::compose;
use cogpack::manifest::{Registry, Sources};
use cogpack::project::Project;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let n = samples.len();
    (samples[0], samples[n / 2], samples[(n * 95 / 100).min(n - 1)])
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn plan_string_project_is_instant() {
    let dir = repo().join("tests/projects/string-project");
    let sources = Sources { builtin: true, project: Some(dir.clone()), ..Default::default() };

    let mut load = Vec::new();
    let mut total = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        let registry = Registry::load(&sources).unwrap();
        let t1 = Instant::now();
        let c = compose(&registry, Arc::new(Project::open(&dir).unwrap())).unwrap();
        let json = c.plan.to_json();
        let t2 = Instant::now();
        assert!(json.len() > 100);
        load.push(t1 - t0);
        total.push(t2 - t0);
    }
    let mut process = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_cogpack"))
            .args(["plan", "--format", "json"])
            .arg(&dir)
            .env_remove("COGPACK_BLOCKS_PATH")
            .output()
            .unwrap();
        process.push(t0.elapsed());
        assert!(out.status.success());
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let show = |name: &str, s: (Duration, Duration, Duration)| {
        println!("{name:32} min {:>8.2?}  median {:>8.2?}  p95 {:>8.2?}", s.0, s.1, s.2);
    };
    println!("planning string-project ({profile} build)");
    show("load manifests + compile scripts", stats(load));
    show("load + compose + JSON", stats(total.clone()));
    let wall = stats(process);
    show("`cogpack plan` process (wall)", wall);
    if !cfg!(debug_assertions) {
        // The goal is 20 ms; leave room for a machine shared with other builds.
        assert!(wall.1 < Duration::from_millis(40), "median {:?}", wall.1);
    }
}
