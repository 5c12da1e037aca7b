//! `cogpack plan DIR --format json` on small projects: the twelve resolution cases of the
//! issue (the `resolved` object, the base image, the rewritten requirements context; or the
//! exit code and the message), invalid cog.yaml files, and where warnings go.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn cogpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(args)
        .current_dir(repo())
        .env_remove("COGPACK_BLOCKS_PATH")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cogpack")
}

/// A project with `build:` lines (indented by two spaces in cog.yaml), a predictor, and a
/// requirements file when `requirements` is given.
fn project(build: &[&str], requirements: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let mut cog = String::from("build:\n");
    for line in build {
        cog.push_str(&format!("  {line}\n"));
    }
    if let Some(text) = requirements {
        cog.push_str("  python_requirements: requirements.txt\n");
        std::fs::write(tmp.path().join("requirements.txt"), text).unwrap();
    }
    cog.push_str("run: \"predict.py:Predictor\"\n");
    std::fs::write(tmp.path().join("cog.yaml"), cog).unwrap();
    std::fs::write(
        tmp.path().join("predict.py"),
        "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n    def predict(self, s: str) -> str:\n        return s\n",
    )
    .unwrap();
    tmp
}

/// The plan of a project that must resolve, and the stderr.
fn plan(dir: &tempfile::TempDir) -> (Value, String) {
    let out = cogpack(&["plan", dir.path().to_str().unwrap(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status.code());
    (serde_json::from_slice(&out.stdout).expect("plan JSON"), stderr)
}

/// The exit code and stderr of a project that must fail (and print no plan).
fn failure(dir: &tempfile::TempDir) -> (i32, String) {
    let out = cogpack(&["plan", dir.path().to_str().unwrap(), "--format", "json"]);
    assert!(out.stdout.is_empty(), "a failed plan printed: {}", String::from_utf8_lossy(&out.stdout));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn version<'a>(plan: &'a Value, name: &str) -> &'a str {
    plan["resolved"][name]["version"].as_str().unwrap_or_else(|| panic!("no resolved `{name}` in {}", plan["resolved"]))
}

fn requirements_txt(plan: &Value) -> &str {
    plan["contexts"]["requirements"]["files"]["requirements.txt"]["contents"].as_str().expect("the rewritten requirements context")
}

fn stage<'a>(plan: &'a Value, id: &str) -> Option<&'a Value> {
    plan["stages"].as_array().unwrap().iter().find(|s| s["id"] == id)
}

fn base_input(plan: &Value) -> &str {
    stage(plan, "base-image").expect("base-image stage")["input"]["image"].as_str().unwrap()
}

fn contains_all(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from:\n{text}");
    }
}

const PY311: &str = "python_version: \"3.11\"";
const GPU: &str = "gpu: true";

#[test]
fn case_01_cpu_python_311_no_framework() {
    let (p, _) = plan(&project(&[PY311], None));
    assert_eq!(version(&p, "python"), "3.11");
    assert_eq!(p["resolved"]["python"]["source"], "cog.yaml:2:19 build.python_version");
    assert!(p["resolved"].get("cuda").is_none() && p["resolved"].get("cudnn").is_none());
    assert_eq!(version(&p, "base_image"), "cogpack/base:py3.11-bookworm");
    assert!(p["resolved"]["base_image"].get("cuda").is_none());
    assert_eq!(base_input(&p), "cogpack/base:py3.11-bookworm");
    // The image ships Python 3.11: nothing installs another.
    assert!(stage(&p, "python-interpreter").is_none());
    assert!(!p["export"]["env"].to_string().contains("NVIDIA"));
}

#[test]
fn case_02_gpu_torch_201_uses_cuda_118_and_the_cu118_index() {
    let (p, _) = plan(&project(&[GPU, PY311], Some("torch==2.0.1\ntorchvision\n")));
    assert_eq!(version(&p, "cuda"), "11.8");
    assert_eq!(version(&p, "cudnn"), "8");
    assert_eq!(version(&p, "torch"), "2.0.1");
    assert_eq!(version(&p, "torchvision"), "0.15.2");
    let torch = &p["resolved"]["torch"];
    assert_eq!(torch["variant"], "cu118");
    assert_eq!(torch["index_url"], "https://download.pytorch.org/whl/cu118");
    assert_eq!(torch["source"], "requirements.txt:1");
    assert_eq!(version(&p, "base_image"), "cogpack/base:py3.11-cuda11.8-cudnn8-jammy");
    assert_eq!(base_input(&p), "cogpack/base:py3.11-cuda11.8-cudnn8-jammy");
    assert_eq!(
        requirements_txt(&p),
        "--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.0.1\ntorchvision==0.15.2\n"
    );
    // torch gets its own layer from the cu118 index; pip-requirements reads the rewritten file.
    let args = stage(&p, "torch").expect("torch stage")["ops"][0]["args"].to_string();
    contains_all(&args, &["https://download.pytorch.org/whl/cu118", "torch==2.0.1", "torchvision==0.15.2"]);
    let pip = stage(&p, "pip-requirements").unwrap()["ops"][0].to_string();
    contains_all(&pip, &["/tmp/requirements/requirements.txt", "\"context\":\"requirements\""]);
    // Cog's GPU environment, and the resolved CUDA in the config label.
    let env = p["export"]["env"].to_string();
    contains_all(&env, &["NVIDIA_DRIVER_CAPABILITIES=all", "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64"]);
    let label = p["export"]["labels"]["run.cog.config"].as_str().unwrap();
    contains_all(label, &["\"cuda\":\"11.8\"", "\"cudnn\":\"8\""]);
}

#[test]
fn case_03_gpu_torch_201_cu117_fixes_cuda_117() {
    let (p, _) = plan(&project(&[GPU, PY311], Some("torch==2.0.1+cu117\n")));
    assert_eq!(version(&p, "cuda"), "11.7");
    assert_eq!(p["resolved"]["torch"]["variant"], "cu117");
    assert_eq!(p["resolved"]["torch"]["package"], "torch==2.0.1+cu117");
    assert!(requirements_txt(&p).starts_with("--extra-index-url https://download.pytorch.org/whl/cu117\ntorch==2.0.1+cu117\n"));
    assert!(base_input(&p).contains("cuda11.7"), "{}", base_input(&p));
}

#[test]
fn case_04_gpu_torch_without_a_version_is_an_error() {
    let (code, err) = failure(&project(&[GPU, PY311], Some("numpy\ntorch\n")));
    assert_eq!(code, 4, "{err}");
    contains_all(&err, &["torch version must be specified when using CUDA", "requirements.txt:2"]);
}

#[test]
fn case_05_gpu_tensorflow_212_uses_cuda_118_cudnn_86() {
    let (p, _) = plan(&project(&[GPU, PY311], Some("tensorflow==2.12.0\n")));
    assert_eq!(version(&p, "cuda"), "11.8");
    assert_eq!(version(&p, "cudnn"), "8.6");
    assert_eq!(version(&p, "tensorflow"), "2.12.0");
    assert!(p["resolved"]["cudnn"]["source"].as_str().unwrap().starts_with("compat/tensorflow.toml:"));
    assert_eq!(version(&p, "base_image"), "cogpack/base:py3.11-cuda11.8-cudnn8-jammy");
    let args = stage(&p, "tensorflow").expect("tensorflow stage")["ops"][0]["args"].to_string();
    assert!(args.contains("tensorflow==2.12.0"), "{args}");
}

#[test]
fn case_06_tensorflow_212_with_cudnn_7_names_tensorflow_cudnn_and_the_row() {
    let (code, err) = failure(&project(&[GPU, PY311, "cudnn: \"7\""], Some("tensorflow==2.12.0\n")));
    assert_eq!(code, 5, "{err}");
    contains_all(
        &err,
        &["tensorflow==2.12.0 (requirements.txt:1)", "cog.yaml pins cudnn 7 (cog.yaml:4:10)", "compat/tensorflow.toml:", "cuDNN 8.6"],
    );
}

#[test]
fn case_07_cpu_torch_210_uses_the_cpu_build_and_index() {
    let (p, _) = plan(&project(&[PY311], Some("torch==2.1.0\nnumpy\n")));
    let torch = &p["resolved"]["torch"];
    assert_eq!(torch["version"], "2.1.0");
    assert_eq!(torch["variant"], "cpu");
    assert_eq!(torch["index_url"], "https://download.pytorch.org/whl/cpu");
    assert!(p["resolved"].get("cuda").is_none());
    assert_eq!(requirements_txt(&p), "--extra-index-url https://download.pytorch.org/whl/cpu\ntorch==2.1.0+cpu\nnumpy\n");
    assert_eq!(version(&p, "base_image"), "cogpack/base:py3.11-bookworm");
}

#[test]
fn case_08_python_312_with_torch_1131_has_no_python() {
    let (code, err) = failure(&project(&["python_version: \"3.12\""], Some("torch==1.13.1\n")));
    assert_eq!(code, 5, "{err}");
    contains_all(
        &err,
        &["torch 1.13.1 supports Python 3.7, 3.8, 3.9, 3.10", "cog.yaml pins python 3.12 (cog.yaml:2:19)", "no Python version"],
    );
}

#[test]
fn case_09_python_37_is_below_the_minimum() {
    let (code, err) = failure(&project(&["python_version: \"3.7\""], None));
    assert_eq!(code, 4, "{err}");
    contains_all(&err, &["minimum supported Python version is 3.10", "cog.yaml:2:19"]);
}

#[test]
fn case_10_unknown_torch_is_missing_data_not_the_users_fault() {
    let (code, err) = failure(&project(&[PY311], Some("torch==9.9.9\n")));
    assert_eq!(code, 6, "{err}");
    contains_all(&err, &["cogpack's compat data has no torch 9.9.9", "compat/torch.toml", "not at fault"]);
}

#[test]
fn case_11_gpu_without_a_framework_uses_cuda_118() {
    let (p, _) = plan(&project(&[GPU, PY311], None));
    assert_eq!(version(&p, "cuda"), "11.8");
    // Cog's default CUDA, its libraries from PyPI (cuDNN 8, as in the 11.8 cuDNN images).
    assert!(version(&p, "cudnn").starts_with("8."), "{}", p["resolved"]["cudnn"]);
    let cuda = &p["resolved"]["cuda"];
    assert!(cuda["source"].as_str().unwrap().starts_with("default: "), "{cuda}");
    assert_eq!(cuda["variant"], "wheels", "{cuda}");
    let wheels: Vec<&str> = cuda["wheels"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(wheels.iter().any(|w| w.starts_with("nvidia-cuda-runtime-cu11==11.8.")), "{wheels:?}");
    assert!(wheels.iter().any(|w| w.starts_with("nvidia-cudnn-cu11==8.")), "{wheels:?}");
    assert_eq!(base_input(&p), "cogpack/base:py3.11-bookworm");
}

#[test]
fn case_12_user_cuda_121_with_torch_201_keeps_cuda_and_warns_on_stderr() {
    let (p, err) = plan(&project(&[GPU, PY311, "cuda: \"12.1\""], Some("torch==2.0.1\n")));
    assert_eq!(version(&p, "cuda"), "12.1");
    assert_eq!(p["resolved"]["torch"]["variant"], "cu118");
    assert_eq!(base_input(&p), "cogpack/base:py3.11-cuda12.1-cudnn8-jammy");
    contains_all(&err, &["warning[resolve::warning]", "torch 2.0.1 has no build for CUDA 12.1", "cog.yaml:4:9"]);
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("has no build for CUDA"), "warnings must not be in the plan");
}

#[test]
fn local_wheels_install_from_the_project_root() {
    let (p, _) = plan_of(&repo().join("fixtures/local-whl-install"));
    assert_eq!(requirements_txt(&p).lines().last(), Some("wheels/hello_cogpack-0.1.0-py3-none-any.whl"));
    let include = &p["contexts"]["requirements-local"]["include"];
    assert_eq!(include, &serde_json::json!(["wheels/hello_cogpack-0.1.0-py3-none-any.whl"]));
    let exec = &stage(&p, "pip-requirements").unwrap()["ops"][0];
    assert_eq!(exec["cwd"], "/tmp/project");
    let mounts = exec["mounts"].to_string();
    contains_all(&mounts, &["\"target\":\"/tmp/project\"", "\"context\":\"requirements-local\"", "\"target\":\"/tmp/requirements\""]);
}

#[test]
fn every_local_requirement_form_is_bound_from_the_project() {
    let reqs = "-e ./src/pkg\n\
                ./dist/local_pkg-1.0-py3-none-any.whl ; python_version >= '3.8'\n\
                hello @ file:///wheels/hello-0.1-py3-none-any.whl\n\
                --find-links ./more-wheels  # a local index\n\
                -f https://example.com/wheels\n\
                requests==2.32.3\n";
    let (p, _) = plan(&project(&[PY311], Some(reqs)));
    let include = &p["contexts"]["requirements-local"]["include"];
    assert_eq!(
        include,
        &serde_json::json!(["src/pkg", "dist/local_pkg-1.0-py3-none-any.whl", "wheels/hello-0.1-py3-none-any.whl", "more-wheels"])
    );
}

#[test]
fn torch_keeps_the_users_index_options_in_their_long_form() {
    let (p, _) = plan(&project(&[PY311], Some("-i https://mirror.example/simple\n--pre\ntorch==2.1.0\n")));
    let args = stage(&p, "torch").expect("torch stage")["ops"][0]["args"].to_string();
    contains_all(&args, &["\"--index-url\",\"https://mirror.example/simple\"", "\"--pre\"", "\"--extra-index-url\""]);
    // A local --find-links directory leaves torch to pip-requirements, which binds the project.
    let (p, _) = plan(&project(&[PY311], Some("-f ./wheels\ntorch==2.1.0\n")));
    assert!(stage(&p, "torch").is_none());
    let torch = p["blocks"].as_array().unwrap().iter().find(|b| b["id"] == "torch").unwrap();
    assert!(torch["reason"].as_str().unwrap().contains("`-f ./wheels`, requirements.txt:1"), "{torch}");
}

fn plan_of(dir: &Path) -> (Value, String) {
    let out = cogpack(&["plan", dir.to_str().unwrap(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn invalid_cog_yaml_fails_with_located_diagnostics() {
    for (case, needles) in [
        ("python-37", vec!["fixtures/broken/python-37/cog.yaml:3:19", "minimum supported Python version is 3.10"]),
        ("type-errors", vec!["fixtures/broken/type-errors/cog.yaml:2:8", "must be a boolean", "cog.yaml:6:8"]),
        ("bad-yaml-syntax", vec!["error[cog_yaml::syntax]", "fixtures/broken/bad-yaml-syntax/cog.yaml:"]),
    ] {
        let out = cogpack(&["plan", &format!("fixtures/broken/{case}"), "--format", "json"]);
        assert_eq!(out.status.code(), Some(4), "{case}");
        assert!(out.stdout.is_empty(), "{case}");
        contains_all(&String::from_utf8_lossy(&out.stderr), &needles);
    }
}

#[test]
fn deprecation_warnings_go_to_stderr_not_the_plan() {
    let (p, err) = plan_of(&repo().join("fixtures/torch-baseimage-project"));
    contains_all(&err, &["warning[cog_yaml::deprecated_field]", "build.python_packages", "fixtures/torch-baseimage-project/cog.yaml:7:3"]);
    assert!(!serde_json::to_string(&p).unwrap().contains("deprecated field"));
    // python_packages are rewritten too: torch 1.13.0 from PyPI, whose wheel brings CUDA 11.7.
    let txt = requirements_txt(&p);
    assert!(txt.lines().any(|l| l == "torch==1.13.0") && !txt.contains("download.pytorch.org"), "{txt}");
    assert_eq!(p["resolved"]["cuda"]["variant"], "wheels");
}

#[test]
fn the_text_plan_shows_what_was_resolved_and_why() {
    let dir = project(&[GPU, PY311], Some("torch==2.0.1\n"));
    let out = cogpack(&["plan", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    contains_all(
        &text,
        &[
            "resolved:",
            "cuda",
            "from requirements.txt:1",
            "why: the project requires torch==2.0.1 (requirements.txt:1)",
            "index: https://download.pytorch.org/whl/cu118",
            "from cog.yaml:3:19 build.python_version",
            "requirements: generated: requirements.txt",
            "│ --extra-index-url https://download.pytorch.org/whl/cu118",
        ],
    );
    assert!(!text.contains("placeholder"), "{text}");
}

/// `--index-url` (or the usual variables) becomes `resolved.package_index` with its source;
/// `--framework-index torch=URL` moves torch off pytorch.org's CPU index and drops the
/// `+cpu` label; an address with credentials is refused, unechoed, before any plan.
#[test]
fn package_index_settings_reach_the_plan_with_their_source() {
    let dir = project(&[PY311], Some("torch==2.5.1\n"));
    let path = dir.path().to_str().unwrap();
    let (p, _) = plan(&dir);
    assert!(p["resolved"].get("package_index").is_none());
    assert_eq!(p["resolved"]["torch"]["index_url"], "https://download.pytorch.org/whl/cpu");
    assert!(requirements_txt(&p).lines().any(|l| l == "torch==2.5.1+cpu"), "{}", requirements_txt(&p));

    let out = cogpack(&["plan", path, "--format", "json", "--index-url", "https://mirror.example/simple/", "--framework-index", "torch=https://pypi.org/simple"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    let index = &p["resolved"]["package_index"];
    assert_eq!(index["version"], "https://mirror.example/simple", "{index}");
    assert_eq!(index["source"], "--index-url", "{index}");
    assert_eq!(p["resolved"]["torch"]["index_url"], "https://pypi.org/simple");
    assert!(requirements_txt(&p).lines().any(|l| l == "torch==2.5.1"), "{}", requirements_txt(&p));
    assert!(stderr.contains("PyPI's torch wheels for Linux are CUDA builds"), "{stderr}");
    // Every install step reads the index from uv's config file, written once (a file op of
    // the uv-tool stage).
    let config = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["ops"].as_array().cloned().unwrap_or_default())
        .find(|op| op["op"] == "mk-file" && op["path"] == "/opt/uv/bin/uv.toml")
        .unwrap_or_else(|| panic!("no uv config step: {}", p["stages"]));
    let contents = config["contents"].as_str().unwrap();
    assert!(contents.contains("url = \"https://mirror.example/simple\""), "{contents}");

    let out = cogpack(&["plan", path, "--index-url", "https://user:tok3n@mirror.example/simple"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("--index-url") && stderr.contains("credentials") && !stderr.contains("tok3n"), "{stderr}");
    let out = cogpack(&["plan", path, "--framework-index", "jax=https://x.example/simple"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known: torch, tensorflow"));
}
