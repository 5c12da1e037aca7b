//! GPU builds whose CUDA comes from PyPI's nvidia-* wheels (issue 9), end to end: the plan
//! says which CUDA and cuDNN the project gets and that they come from wheels on a Debian base
//! (never an nvidia/cuda image); the built image holds exactly one copy of each CUDA library,
//! the framework inside reports the CUDA and cuDNN the plan named, the config label carries
//! them, and the model predicts (on the CPU: these tests run on machines without a GPU;
//! `scripts/gpu-check IMAGE` checks an image on a GPU machine).
//!
//! The builds download gigabytes of CUDA and framework wheels: they are `#[ignore]`d (cargo
//! counts them as ignored) and run with `COGPACK_HEAVY_E2E=1 scripts/test` or
//! `cargo test --test gpu_e2e -- --ignored`. Each prints one line
//! `FIGURE <test> build_s=<wall seconds> size_mb=<image size, MB>` for docs/benchmarks.md, and
//! removes its image at the end unless `COGPACK_KEEP_IMAGES` is set. Without an engine they
//! fail when `COGPACK_ENGINE_REQUIRED=1` (or `CI=true`), else are skipped with a SKIPPED line.
//! The plan test and the `scripts/gpu-check` usage tests need no engine and run by default.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use bollard::Docker;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cogpack");

/// The Debian base every GPU build with CUDA from wheels starts from (Python 3.11 fixtures).
const DEBIAN_BASE: &str = "cogpack/base:py3.11-bookworm";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    repo_root().join("fixtures").join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cogpack")
}

// ---------------------------------------------------------------------------------------
// The plan: the one place that knows where the resolved values sit in `cogpack plan --format
// json` (`resolved.<name>.version`, `.variant`, `.wheels`, `.index_url`, `.package`).

struct Plan {
    json: Value,
}

impl Plan {
    /// `cogpack plan DIR --format json [extra...]`, which must succeed.
    fn of(dir: &Path, extra: &[&str]) -> Plan {
        let mut args = vec!["plan", dir.to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "cogpack {args:?} failed (exit {:?}):\n{}",
            out.status.code(),
            text(&out.stderr)
        );
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", text(&out.stdout)));
        Plan { json }
    }

    fn resolved(&self, name: &str) -> &Value {
        let v = &self.json["resolved"][name];
        assert!(!v.is_null(), "no resolved `{name}` in the plan: {:#}", self.json["resolved"]);
        v
    }

    fn str_field(&self, name: &str, key: &str) -> String {
        self.resolved(name)[key]
            .as_str()
            .unwrap_or_else(|| panic!("resolved `{name}` has no string `{key}`: {:#}", self.resolved(name)))
            .to_owned()
    }

    fn version(&self, name: &str) -> String {
        self.str_field(name, "version")
    }

    fn cuda(&self) -> String {
        self.version("cuda")
    }

    fn cudnn(&self) -> String {
        self.version("cudnn")
    }

    /// `wheels` (CUDA from PyPI's nvidia-* wheels) or `image` (an nvidia/cuda base).
    fn cuda_variant(&self) -> String {
        self.str_field("cuda", "variant")
    }

    /// The nvidia-* pins the CUDA comes from, e.g. `nvidia-cuda-runtime-cu12==12.4.127`.
    fn cuda_wheels(&self) -> Vec<String> {
        let w = &self.resolved("cuda")["wheels"];
        w.as_array()
            .unwrap_or_else(|| panic!("resolved `cuda` has no `wheels` list: {:#}", self.resolved("cuda")))
            .iter()
            .map(|p| p.as_str().unwrap_or_else(|| panic!("a wheel pin is not a string: {w}")).to_owned())
            .collect()
    }

    fn base_image(&self) -> String {
        self.version("base_image")
    }

    fn index_url(&self, framework: &str) -> String {
        self.str_field(framework, "index_url")
    }

    fn package(&self, framework: &str) -> String {
        self.str_field(framework, "package")
    }

    /// The image the base-image stage starts from, when the plan has such a stage.
    fn base_stage_input(&self) -> Option<String> {
        self.json["stages"]
            .as_array()?
            .iter()
            .find(|s| s["id"] == "base-image")?["input"]["image"]
            .as_str()
            .map(str::to_owned)
    }
}

/// `12.4.127` → `12.4`; `9` → `9`.
fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Whether two versions agree on major.minor, comparing only the components both give (so a
/// framework that reports cuDNN `9` agrees with a plan's `9.3`, but `8` never with `9.3`).
fn same_major_minor(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.trim().split('.').take(2).collect();
    let b: Vec<&str> = b.trim().split('.').take(2).collect();
    let n = a.len().min(b.len());
    n >= 1 && !a[0].is_empty() && a[..n] == b[..n]
}

/// `nvidia-cuda-runtime-cu12==12.4.127` → (`nvidia-cuda-runtime-cu12`, `12.4.127`), the name
/// normalized as PyPI does (lowercase, runs of `-_.` as `-`).
fn split_pin(pin: &str) -> (String, String) {
    let (name, version) = pin
        .split_once("==")
        .unwrap_or_else(|| panic!("`{pin}` is not a `name==version` pin"));
    let mut norm = String::new();
    for c in name.trim().to_lowercase().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !norm.ends_with('-') {
                norm.push('-');
            }
        } else {
            norm.push(c);
        }
    }
    (norm, version.trim().to_owned())
}

/// CUDA from wheels on the Debian base: variant `wheels`, the base image and the base stage's
/// input a Debian Python image (no nvidia/cuda anywhere in it).
fn assert_cuda_from_wheels_on_debian(plan: &Plan) {
    assert_eq!(plan.cuda_variant(), "wheels", "CUDA should come from PyPI's nvidia-* wheels: {:#}", plan.resolved("cuda"));
    let base = plan.base_image();
    assert_eq!(base, DEBIAN_BASE, "a GPU build with CUDA from wheels starts from the Debian base");
    if let Some(input) = plan.base_stage_input() {
        assert!(!input.contains("cuda") && !input.contains("nvidia"), "the base stage starts from {input}");
    }
}

/// The wheel pins agree with the resolved versions: the CUDA runtime wheel is the plan's CUDA
/// (major.minor), and a cuDNN wheel, when pinned, the plan's cuDNN.
fn assert_wheels_match_versions(plan: &Plan) {
    let wheels = plan.cuda_wheels();
    assert!(!wheels.is_empty(), "no CUDA wheels in the plan");
    let pins: BTreeMap<String, String> = wheels.iter().map(|p| split_pin(p)).collect();
    for name in pins.keys() {
        assert!(name.starts_with("nvidia-"), "`{name}` among the CUDA wheels: {wheels:?}");
    }
    let runtime = pins
        .get("nvidia-cuda-runtime-cu12")
        .unwrap_or_else(|| panic!("no nvidia-cuda-runtime-cu12 pin among {wheels:?}"));
    assert_eq!(major_minor(runtime), plan.cuda(), "the runtime wheel is not the plan's CUDA: {wheels:?}");
    if let Some(cudnn) = pins.get("nvidia-cudnn-cu12") {
        assert!(same_major_minor(cudnn, &plan.cudnn()), "cuDNN wheel {cudnn} vs plan cuDNN {}", plan.cudnn());
    }
}

// ---------------------------------------------------------------------------------------
// Building, inspecting, predicting.

struct Built {
    docker: Docker,
    tag: String,
    seconds: f64,
    /// Keeps the project copy alive while the test runs.
    _dir: tempfile::TempDir,
}

/// Builds a copy of fixture `name` as `tag` with `extra` build flags, timing the build.
async fn build(test: &str, name: &str, tag: &str, extra: &[&str]) -> Option<Built> {
    let docker = engine_support::engine_or_skip(test).await?;
    let dir = copy_fixture(name);
    let mut args = vec!["build", dir.path().to_str().unwrap(), "-t", tag, "--progress", "plain"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = run(&args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "building {name} failed (exit {:?}):\n{}", out.status.code(), text(&out.stderr));
    Some(Built { docker, tag: tag.to_owned(), seconds, _dir: dir })
}

impl Built {
    async fn inspect(&self) -> bollard::models::ImageInspect {
        self.docker.inspect_image(&self.tag).await.expect("inspect the built image")
    }

    async fn labels(&self) -> std::collections::HashMap<String, String> {
        self.inspect().await.config.and_then(|c| c.labels).unwrap_or_default()
    }

    async fn env(&self) -> Vec<String> {
        self.inspect().await.config.and_then(|c| c.env).unwrap_or_default()
    }

    /// Cog's config from the `run.cog.config` label.
    async fn cog_config(&self) -> Value {
        let labels = self.labels().await;
        let raw = labels.get("run.cog.config").unwrap_or_else(|| panic!("no run.cog.config label: {labels:?}"));
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("run.cog.config is not JSON ({e}): {raw}"))
    }

    async fn pip_freeze(&self) -> String {
        let labels = self.labels().await;
        labels.get("run.cog.pip_freeze").cloned().unwrap_or_else(|| panic!("no run.cog.pip_freeze label: {labels:?}"))
    }

    /// Runs `sh -c script` in a fresh container; it must exit 0. Returns the combined output.
    async fn sh(&self, script: &str) -> String {
        let (code, out) = engine_support::run_in(&self.docker, &self.tag, &["sh", "-c", script]).await;
        assert_eq!(code, 0, "`{script}` in {} exited {code}:\n{out}", self.tag);
        out
    }

    /// Runs Python `code` in the image (its `python`, the one Cog runs) and returns what it
    /// printed after `RESULT ` (frameworks log to stderr, which `run_in` mixes in).
    async fn python_result(&self, code: &str) -> String {
        let (status, out) = engine_support::run_in(&self.docker, &self.tag, &["python", "-c", code]).await;
        assert_eq!(status, 0, "python in {} exited {status}:\n{out}", self.tag);
        out.lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("RESULT "))
            .unwrap_or_else(|| panic!("no RESULT line from python in {}:\n{out}", self.tag))
            .trim()
            .to_owned()
    }

    /// Every regular file in the image (one filesystem) whose name matches one of `patterns`
    /// (find -name globs), as (file name → paths).
    async fn files_named(&self, patterns: &[&str]) -> BTreeMap<String, Vec<String>> {
        let names: Vec<String> = patterns.iter().map(|p| format!("-name '{p}'")).collect();
        let script = format!("find / -xdev -type f \\( {} \\) -print 2>/dev/null; true", names.join(" -o "));
        let out = self.sh(&script).await;
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for path in out.lines().map(str::trim).filter(|l| l.starts_with('/')) {
            let name = path.rsplit('/').next().unwrap().to_owned();
            found.entry(name).or_default().push(path.to_owned());
        }
        found
    }

    /// One copy of each CUDA library: libcudart, libcublas and libcudnn are there, and no file
    /// name among them is in the image twice (a second CUDA from a base image or another
    /// install would be). Symlinks do not copy a library and are not counted.
    async fn assert_cuda_libraries_once(&self) {
        let found = self
            .files_named(&["libcudart.so*", "libcublas.so*", "libcublasLt.so*", "libcudnn.so*", "libcudnn_*.so*"])
            .await;
        for lib in ["libcudart.so", "libcublas.so", "libcudnn.so"] {
            assert!(found.keys().any(|n| n.starts_with(lib)), "no {lib}* in {}: {found:#?}", self.tag);
        }
        let twice: Vec<_> = found.iter().filter(|(_, paths)| paths.len() != 1).collect();
        assert!(twice.is_empty(), "CUDA libraries in {} more than once: {twice:#?}", self.tag);
    }

    /// The resolved CUDA and cuDNN in `build` of the run.cog.config label are the plan's.
    async fn assert_config_label_has(&self, plan: &Plan) {
        let config = self.cog_config().await;
        let build = &config["build"];
        assert_eq!(build["cuda"].as_str(), Some(plan.cuda().as_str()), "run.cog.config build: {build:#}");
        assert_eq!(build["cudnn"].as_str(), Some(plan.cudnn().as_str()), "run.cog.config build: {build:#}");
    }

    /// Every CUDA wheel the plan pinned is in the image's pip freeze, at that version.
    async fn assert_wheels_installed(&self, plan: &Plan) {
        let freeze = self.pip_freeze().await;
        let installed: BTreeMap<String, String> =
            freeze.lines().filter(|l| l.contains("==")).map(split_pin).collect();
        for pin in plan.cuda_wheels() {
            let (name, version) = split_pin(&pin);
            assert_eq!(installed.get(&name), Some(&version), "{pin} not in the image's pip freeze:\n{freeze}");
        }
    }

    /// `cogpack predict TAG [-i input...]`'s stdout, which must start with `prefix`.
    fn assert_predicts(&self, inputs: &[&str], prefix: &str) -> String {
        let mut args = vec!["predict", self.tag.as_str()];
        for i in inputs {
            args.extend(["-i", i]);
        }
        let out = run(&args);
        assert!(out.status.success(), "predict {} {inputs:?} failed:\n{}", self.tag, text(&out.stderr));
        let got = text(&out.stdout).trim().to_owned();
        assert!(got.starts_with(prefix), "predict {} {inputs:?}: `{got}` does not start with `{prefix}`", self.tag);
        got
    }

    /// Prints the figures for docs/benchmarks.md, and removes the image unless
    /// `COGPACK_KEEP_IMAGES` is set.
    async fn finish(self, test: &str) {
        let size = self.inspect().await.size.unwrap_or(0);
        eprintln!("FIGURE {test} build_s={:.1} size_mb={:.0}", self.seconds, size as f64 / 1e6);
        if std::env::var_os("COGPACK_KEEP_IMAGES").is_none() {
            let _ = self
                .docker
                .remove_image(&self.tag, None::<bollard::query_parameters::RemoveImageOptions>, None)
                .await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Heavy builds.

/// torch 2.5.1 from PyPI brings CUDA 12.4 and cuDNN 9.1 as nvidia-* wheels: the plan says so
/// and starts from the Debian base, the image holds each CUDA library once, torch reports the
/// plan's CUDA and cuDNN, and the config label carries them.
#[tokio::test]
#[ignore = "heavy end-to-end case (multi-GB CUDA/framework wheels): COGPACK_HEAVY_E2E=1 scripts/test"]
async fn gpu_torch_brings_cuda_once() {
    let test = "gpu_torch_brings_cuda_once";
    let plan = Plan::of(&fixture("gpu-torch"), &[]);
    assert_eq!(plan.cuda(), "12.4");
    assert_eq!(plan.cudnn(), "9.1");
    assert_cuda_from_wheels_on_debian(&plan);
    assert_wheels_match_versions(&plan);

    let Some(built) = build(test, "gpu-torch", "cogpack-e2e/gpu-torch:latest", &[]).await else { return };
    // torch's CUDA and cuDNN (cuDNN as torch encodes it: 9.1 → 90100), from the plan's values.
    let cudnn: Vec<u32> = plan.cudnn().split('.').map(|p| p.parse().unwrap()).collect();
    let cudnn_code = cudnn[0] * 10000 + cudnn.get(1).copied().unwrap_or(0) * 100;
    let expected = format!("{} {cudnn_code}", plan.cuda());
    assert_eq!(expected, "12.4 90100");
    let got = built
        .python_result("import torch; print('RESULT', torch.version.cuda, torch.backends.cudnn.version())")
        .await;
    assert_eq!(got, expected, "torch's CUDA and cuDNN in the image");
    built.assert_cuda_libraries_once().await;
    built.assert_wheels_installed(&plan).await;
    built.assert_config_label_has(&plan).await;
    built.assert_predicts(&["n=3"], "27 on cpu");

    // The CUDA wheels and torch are layers of their own: a system package and another
    // requirement later, both are cache hits and the very same layers.
    let before = engine_support::layers_by_block(&built.docker, &built.tag).await;
    let dir = built._dir.path();
    let cog = std::fs::read_to_string(dir.join("cog.yaml")).unwrap();
    std::fs::write(dir.join("cog.yaml"), cog.replace("build:\n", "build:\n  system_packages:\n    - \"less\"\n")).unwrap();
    std::fs::write(dir.join("requirements.txt"), "torch==2.5.1\nsix==1.16.0\n").unwrap();
    let tag = "cogpack-e2e/gpu-torch:changed";
    let out = run(&["build", dir.to_str().unwrap(), "-t", tag, "--progress", "plain"]);
    let log = engine_support::assert_ok(&out, "the rebuild after a system package and a requirement");
    let steps = engine_support::plain_steps(&log, false);
    for (name, cached) in &steps {
        if name.starts_with("[cuda-wheels/cuda-wheels] install") || name.starts_with("[torch/torch] install") {
            assert!(cached, "{name} ran again:\n{log}");
        }
    }
    assert!(steps.iter().any(|(n, c)| n.starts_with("[apt-packages/") && !c), "no apt step ran:\n{log}");
    let after = engine_support::layers_by_block(&built.docker, tag).await;
    for block in ["cuda-wheels/cuda-wheels", "torch/torch"] {
        assert!(before.contains_key(block), "no {block} layer: {before:?}");
        assert_eq!(before.get(block), after.get(block), "the {block} layer changed");
    }
    let _ = built.docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    built.finish(test).await;
}

/// A CPU torch project installs torch from pytorch.org's CPU index by default;
/// `--framework-index torch=https://pypi.org/simple` moves it to PyPI, in the plan and in the
/// build (the image's torch is PyPI's `2.5.1`, not the CPU index's `2.5.1+cpu`).
#[tokio::test]
#[ignore = "heavy end-to-end case (multi-GB CUDA/framework wheels): COGPACK_HEAVY_E2E=1 scripts/test"]
async fn cpu_torch_through_the_index_setting() {
    let test = "cpu_torch_through_the_index_setting";
    let default = Plan::of(&fixture("cpu-torch-index"), &[]);
    let index = default.index_url("torch");
    assert!(index.contains("download.pytorch.org/whl/cpu"), "default torch index: {index}");

    let flag = ["--framework-index", "torch=https://pypi.org/simple"];
    let plan = Plan::of(&fixture("cpu-torch-index"), &flag);
    let index = plan.index_url("torch");
    assert!(index.trim_end_matches('/') == "https://pypi.org/simple", "torch index with the flag: {index}");
    assert!(!plan.json.to_string().contains("download.pytorch.org/whl/cpu"), "the CPU index is still in the plan");

    let Some(built) = build(test, "cpu-torch-index", "cogpack-e2e/cpu-torch-index:pypi", &flag).await else { return };
    let freeze = built.pip_freeze().await;
    assert!(freeze.lines().any(|l| l.trim() == "torch==2.5.1"), "torch not from PyPI:\n{freeze}");
    built.assert_predicts(&["n=3"], "27 on cpu");
    built.finish(test).await;
}

/// TensorFlow 2.18 on a GPU installs `tensorflow[and-cuda]`, whose nvidia-* wheels are the
/// CUDA: the CUDA and cuDNN TensorFlow was built for are the plan's, each library is there once.
#[tokio::test]
#[ignore = "heavy end-to-end case (multi-GB CUDA/framework wheels): COGPACK_HEAVY_E2E=1 scripts/test"]
async fn gpu_tensorflow_brings_cuda_once() {
    let test = "gpu_tensorflow_brings_cuda_once";
    let plan = Plan::of(&fixture("gpu-tensorflow"), &[]);
    assert_cuda_from_wheels_on_debian(&plan);
    assert_wheels_match_versions(&plan);
    let package = plan.package("tensorflow");
    assert!(package.contains("[and-cuda]"), "tensorflow package: {package}");

    let Some(built) = build(test, "gpu-tensorflow", "cogpack-e2e/gpu-tensorflow:latest", &[]).await else { return };
    let got = built
        .python_result(
            "import tensorflow as tf; i = tf.sysconfig.get_build_info(); \
             print('RESULT', i.get('cuda_version'), i.get('cudnn_version'))",
        )
        .await;
    let (cuda, cudnn) = got.split_once(' ').unwrap_or_else(|| panic!("build info: {got}"));
    assert!(same_major_minor(cuda, &plan.cuda()), "TensorFlow built for CUDA {cuda}, the plan says {}", plan.cuda());
    assert!(same_major_minor(cudnn, &plan.cudnn()), "TensorFlow built for cuDNN {cudnn}, the plan says {}", plan.cudnn());
    built.assert_cuda_libraries_once().await;
    built.assert_wheels_installed(&plan).await;
    built.assert_config_label_has(&plan).await;
    built.assert_predicts(&["n=3"], "27 on CPU");
    built.finish(test).await;
}

/// A CPU TensorFlow project (`tensorflow-cpu` from PyPI) predicts and carries no CUDA.
#[tokio::test]
#[ignore = "heavy end-to-end case (multi-GB CUDA/framework wheels): COGPACK_HEAVY_E2E=1 scripts/test"]
async fn cpu_tensorflow_from_pypi() {
    let test = "cpu_tensorflow_from_pypi";
    let Some(built) = build(test, "cpu-tensorflow", "cogpack-e2e/cpu-tensorflow:latest", &[]).await else { return };
    built.assert_predicts(&["n=3"], "27 on CPU");
    let found = built.files_named(&["libcudart*"]).await;
    assert!(found.is_empty(), "CUDA in a CPU image: {found:#?}");
    built.finish(test).await;
}

/// `cuda: "12.4"` without a framework: the CUDA wheels' libraries are registered with the
/// dynamic loader (a cogpack file in /etc/ld.so.conf.d), so `ctypes.CDLL("libcudart.so.12")`
/// finds the runtime, and the image has NVIDIA's container environment.
#[tokio::test]
#[ignore = "heavy end-to-end case (multi-GB CUDA/framework wheels): COGPACK_HEAVY_E2E=1 scripts/test"]
async fn cuda_only_loads_from_the_loader_path() {
    let test = "cuda_only_loads_from_the_loader_path";
    let plan = Plan::of(&fixture("gpu-cuda-only"), &[]);
    assert_eq!(plan.cuda(), "12.4");
    assert_cuda_from_wheels_on_debian(&plan);
    assert_wheels_match_versions(&plan);

    let Some(built) = build(test, "gpu-cuda-only", "cogpack-e2e/gpu-cuda-only:latest", &[]).await else { return };
    built.assert_predicts(&[], "cudart 12040");

    // The loader path comes from cogpack's file in ld.so.conf.d ...
    let listing = built.sh("ls -1 /etc/ld.so.conf.d").await;
    let conf = listing
        .lines()
        .map(str::trim)
        .find(|n| n.contains("cogpack"))
        .unwrap_or_else(|| panic!("no cogpack file in /etc/ld.so.conf.d:\n{listing}"))
        .to_owned();
    let dirs: Vec<String> = built
        .sh(&format!("cat /etc/ld.so.conf.d/{conf}"))
        .await
        .lines()
        .map(|l| l.trim().trim_end_matches('/').to_owned())
        .filter(|l| l.starts_with('/'))
        .collect();
    // ... and the loader's cache has libcudart.so.12 in one of its directories.
    let cache = built.sh("\"$(command -v ldconfig || echo /sbin/ldconfig)\" -p | grep libcudart.so.12").await;
    let path = cache
        .lines()
        .find_map(|l| l.split("=>").nth(1))
        .map(str::trim)
        .unwrap_or_else(|| panic!("libcudart.so.12 not in the loader's cache:\n{cache}"));
    let parent = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    assert!(dirs.iter().any(|d| d == parent), "{path} is not in a directory of /etc/ld.so.conf.d/{conf}: {dirs:?}");

    let env = built.env().await;
    assert!(env.iter().any(|e| e == "NVIDIA_VISIBLE_DEVICES=all"), "image env: {env:?}");
    assert!(
        env.iter().any(|e| e.strip_prefix("NVIDIA_DRIVER_CAPABILITIES=").is_some_and(|v| !v.is_empty())),
        "image env: {env:?}"
    );
    built.assert_config_label_has(&plan).await;
    built.finish(test).await;
}

// ---------------------------------------------------------------------------------------
// Default suite: no engine.

/// `jax[cuda12]` brings CUDA 12 from wheels: the plan says CUDA 12.x, variant wheels, and the
/// Debian base.
#[test]
fn jax_gpu_plan_brings_cuda_12_from_wheels() {
    let plan = Plan::of(&fixture("gpu-jax"), &[]);
    let cuda = plan.cuda();
    assert_eq!(cuda.split('.').next(), Some("12"), "jax[cuda12] resolved CUDA {cuda}");
    assert_cuda_from_wheels_on_debian(&plan);
}

fn gpu_check(args: &[&str]) -> Output {
    Command::new(repo_root().join("scripts/gpu-check"))
        .args(args)
        .output()
        .expect("run scripts/gpu-check")
}

#[test]
fn gpu_check_help_names_the_gpu_flag() {
    let out = gpu_check(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    assert!(help.contains("--gpus all"), "{help}");
    assert!(help.to_lowercase().contains("usage"), "{help}");
}

#[test]
fn gpu_check_without_an_image_prints_its_usage() {
    let out = gpu_check(&[]);
    assert!(!out.status.success(), "scripts/gpu-check without an image exited 0");
    assert_ne!(out.status.code(), Some(1), "1 means a failed check, not a usage error");
    let err = text(&out.stderr);
    assert!(err.to_lowercase().contains("usage"), "{err}");
    assert!(text(&out.stdout).is_empty(), "usage errors go to stderr");
}

/// The helpers the heavy tests compare versions and pins with.
#[test]
fn version_and_pin_helpers() {
    assert_eq!(major_minor("12.4.127"), "12.4");
    assert_eq!(major_minor("9"), "9");
    assert!(same_major_minor("12.5.1", "12.5"));
    assert!(same_major_minor("9", "9.3"));
    assert!(!same_major_minor("12.4", "12.5"));
    assert!(!same_major_minor("8", "9.3"));
    assert!(!same_major_minor("", "9"));
    assert_eq!(split_pin("nvidia_cuda.runtime-CU12==12.4.127"), ("nvidia-cuda-runtime-cu12".to_owned(), "12.4.127".to_owned()));
}

/// On a machine without an NVIDIA driver the check is skipped with exit 2 and says why
/// (before reaching for an engine or the image).
#[test]
fn gpu_check_without_a_gpu_exits_2() {
    let has_smi = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nvidia-smi").exists()));
    if has_smi {
        eprintln!("SKIPPED gpu_check_without_a_gpu_exits_2: nvidia-smi is on PATH (a GPU machine)");
        return;
    }
    let out = Command::new(repo_root().join("scripts/gpu-check"))
        .arg("cogpack-e2e/no-such-image:latest")
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run scripts/gpu-check");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no NVIDIA GPU driver (nvidia-smi is not on PATH)"), "{err}");
}

/// A private copy of fixture `name`, so a build writes nothing into the repository and
/// concurrent tests share no directory.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    engine_support::copy_tree(&fixture(name))
}
