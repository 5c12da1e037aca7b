//! Table-driven resolver cases: a cog.yaml `build:` section and a requirements file in, the
//! resolved values (or the rendered failure and its exit code) out. Failure messages and the
//! resolved JSON are snapshotted in tests/snapshots/resolve_cases__*.snap.

use cogpack::compat::CompatTables;
use cogpack::diagnostics::exit;
use cogpack::requirements::RequirementsFile;
use cogpack::resolve::{render, resolve, Pin, Resolution, ResolveError, ResolveInput};

/// Builds a ResolveInput from a tiny cog.yaml `build:` section, recording each value's line and
/// column like the real cog.yaml parser does (test helper, not a YAML parser).
fn project(cog_yaml: &str, requirements: Option<&str>) -> ResolveInput {
    let mut input = ResolveInput::default();
    for (i, line) in cog_yaml.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let raw = value.trim();
        if raw.is_empty() {
            continue;
        }
        let col = (line.len() - value.trim_start().len() + 1) as u32;
        let value = raw.trim_matches('"').to_string();
        let field = format!("build.{key}");
        let lineno = i as u32 + 1;
        match key {
            "gpu" => input.gpu = Some(Pin::cog_yaml(value == "true", &field, lineno, col)),
            "python_version" => {
                input.python_version = Some(Pin::cog_yaml(value, &field, lineno, col))
            }
            "cuda" => input.cuda = Some(Pin::cog_yaml(value, &field, lineno, col)),
            "cudnn" => input.cudnn = Some(Pin::cog_yaml(value, &field, lineno, col)),
            _ => {}
        }
    }
    if let Some(text) = requirements {
        input.requirements = Some(
            RequirementsFile::parse("requirements.txt", text).expect("test requirements parse"),
        );
    }
    input
}

fn tables() -> &'static CompatTables {
    CompatTables::builtin()
}

fn ok(cog_yaml: &str, requirements: Option<&str>) -> Resolution {
    match resolve(&project(cog_yaml, requirements), tables()) {
        Ok(r) => r,
        Err(e) => panic!("expected a resolution, got:\n{}", render(&e)),
    }
}

fn err(cog_yaml: &str, requirements: Option<&str>) -> ResolveError {
    match resolve(&project(cog_yaml, requirements), tables()) {
        Ok(r) => panic!("expected a failure, got {:#?}", r.values),
        Err(e) => e,
    }
}

fn v<'a>(r: &'a Resolution, key: &str) -> &'a str {
    &r.values
        .get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {:?}", r.values.keys()))
        .version
}

/// The part of a resolution worth reviewing in a snapshot.
fn summary(r: &Resolution) -> serde_json::Value {
    serde_json::json!({
        "resolved": r.values,
        "warnings": r.warnings,
        "requirements": r.rewritten_requirements.as_ref().map(|x| &x.text),
    })
}

#[test]
fn case_01_cpu_python_311_no_framework() {
    let r = ok("build:\n  python_version: \"3.11\"\n", None);
    assert_eq!(v(&r, "python"), "3.11");
    assert!(!r.values.contains_key("cuda") && !r.values.contains_key("cudnn"));
    assert!(!r.gpu);
    assert_eq!(r.base_image.name, "cogpack/base:py3.11-bookworm");
    assert!(r.base_image.cuda.is_none());
    assert_eq!(r.values["python"].source.to_string(), "cog.yaml:2:19");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn case_02_gpu_torch_201_picks_cuda_118() {
    let r = ok("build:\n  gpu: true\n", Some("torch==2.0.1\ntorchvision\n"));
    assert_eq!(v(&r, "cuda"), "11.8");
    assert_eq!(v(&r, "cudnn"), "8");
    assert_eq!(v(&r, "torch"), "2.0.1");
    assert_eq!(v(&r, "torchvision"), "0.15.2");
    let torch = &r.values["torch"];
    assert_eq!(torch.variant.as_deref(), Some("cu118"));
    assert_eq!(
        torch.index_url.as_deref(),
        Some("https://download.pytorch.org/whl/cu118")
    );
    assert_eq!(
        v(&r, "python"),
        "3.11",
        "torch 2.0.1 has no wheels for the default 3.13"
    );
    assert_eq!(
        r.base_image.name,
        "cogpack/base:py3.11-cuda11.8-cudnn8-jammy"
    );
    let req = r.rewritten_requirements.as_ref().unwrap();
    assert_eq!(
        req.text,
        "--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.0.1\ntorchvision==0.15.2\n"
    );
    insta::assert_json_snapshot!("resolve_case_02_gpu_torch_201", summary(&r));
}

#[test]
fn case_03_gpu_torch_201_cu117_label_fixes_cuda() {
    let r = ok("build:\n  gpu: true\n", Some("torch==2.0.1+cu117\n"));
    assert_eq!(v(&r, "cuda"), "11.7");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu117"));
    assert_eq!(
        r.values["torch"].package.as_deref(),
        Some("torch==2.0.1+cu117")
    );
    assert!(r.rewritten_requirements.as_ref().unwrap().text.starts_with(
        "--extra-index-url https://download.pytorch.org/whl/cu117\ntorch==2.0.1+cu117\n"
    ));
}

#[test]
fn case_04_gpu_torch_without_version_is_an_error() {
    let e = err("build:\n  gpu: true\n", Some("numpy\ntorch\n"));
    assert_eq!(e.exit_code(), exit::PROJECT);
    let text = render(&e);
    assert!(
        text.starts_with("error: torch version must be specified when using CUDA"),
        "{text}"
    );
    assert!(text.contains("requirements.txt:2"), "{text}");
    insta::assert_snapshot!("resolve_case_04_unversioned_torch_gpu", text);
}

#[test]
fn case_05_gpu_tensorflow_212() {
    let r = ok("build:\n  gpu: true\n", Some("tensorflow==2.12.0\n"));
    assert_eq!(v(&r, "cuda"), "11.8");
    assert_eq!(v(&r, "cudnn"), "8.6");
    assert_eq!(v(&r, "tensorflow"), "2.12.0");
    assert_eq!(v(&r, "python"), "3.11");
    assert!(r.values["cuda"]
        .reason
        .contains("tensorflow 2.12.0 was built for CUDA 11.8"));
    assert!(r.values["cudnn"]
        .source
        .to_string()
        .starts_with("compat/tensorflow.toml:"));
    assert_eq!(
        r.base_image.name,
        "cogpack/base:py3.11-cuda11.8-cudnn8-jammy"
    );
    insta::assert_json_snapshot!("resolve_case_05_gpu_tensorflow_212", summary(&r));
}

#[test]
fn case_06_tensorflow_with_cudnn_7_is_a_conflict() {
    let e = err(
        "build:\n  gpu: true\n  cudnn: \"7\"\n",
        Some("tensorflow==2.12.0\n"),
    );
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    let text = render(&e);
    for needle in [
        "tensorflow==2.12.0 (requirements.txt:1)",
        "cog.yaml pins cudnn 7 (cog.yaml:3:10)",
        "compat/tensorflow.toml:",
        "cuDNN 8.6",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(
        text.contains("help: cuDNN 8 would fit everything else"),
        "{text}"
    );
    insta::assert_snapshot!("resolve_case_06_tensorflow_cudnn_7", text);
}

#[test]
fn case_07_cpu_torch_210_uses_the_cpu_build() {
    let r = ok(
        "build:\n  python_version: \"3.11\"\n",
        Some("torch==2.1.0\ntorchvision==0.16.0\nnumpy\n"),
    );
    let torch = &r.values["torch"];
    assert_eq!(torch.variant.as_deref(), Some("cpu"));
    assert_eq!(
        torch.index_url.as_deref(),
        Some("https://download.pytorch.org/whl/cpu")
    );
    assert_eq!(r.values["torchvision"].variant.as_deref(), Some("cpu"));
    assert!(!r.values.contains_key("cuda"));
    assert_eq!(
        r.rewritten_requirements.as_ref().unwrap().text,
        "--extra-index-url https://download.pytorch.org/whl/cpu\ntorch==2.1.0+cpu\ntorchvision==0.16.0+cpu\nnumpy\n"
    );
    insta::assert_json_snapshot!("resolve_case_07_cpu_torch_210", summary(&r));
}

#[test]
fn case_08_python_312_with_torch_1131_is_a_conflict() {
    let e = err(
        "build:\n  python_version: \"3.12\"\n",
        Some("torch==1.13.1\n"),
    );
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    let text = render(&e);
    assert!(
        text.contains("torch 1.13.1 supports Python 3.7, 3.8, 3.9, 3.10"),
        "{text}"
    );
    assert!(
        text.contains("cog.yaml pins python 3.12 (cog.yaml:2:19)"),
        "{text}"
    );
    assert!(text.contains("no Python version"), "{text}");
    assert!(
        text.contains("Python 3.10 would fit everything else"),
        "{text}"
    );
    insta::assert_snapshot!("resolve_case_08_python_312_torch_1131", text);
}

#[test]
fn case_09_python_37_is_below_the_minimum() {
    let e = err("build:\n  python_version: \"3.7\"\n", None);
    assert_eq!(e.exit_code(), exit::PROJECT);
    let text = render(&e);
    assert!(
        text.starts_with(
            "error: invalid build.python_version \"3.7\": minimum supported Python version is 3.10"
        ),
        "{text}"
    );
    insta::assert_snapshot!("resolve_case_09_python_37", text);
}

#[test]
fn case_10_unknown_torch_is_missing_data() {
    let e = err(
        "build:\n  python_version: \"3.11\"\n",
        Some("torch==9.9.9\n"),
    );
    assert_eq!(e.exit_code(), exit::RESOLVE_MISSING_DATA);
    let text = render(&e);
    assert!(
        text.starts_with("error: cogpack's compat data has no torch 9.9.9"),
        "{text}"
    );
    assert!(text.contains("compat/torch.toml"), "{text}");
    assert!(text.contains("not at fault"), "{text}");
    insta::assert_snapshot!("resolve_case_10_torch_999", text);
}

#[test]
fn case_11_gpu_without_framework_defaults_to_cuda_118() {
    let r = ok("build:\n  gpu: true\n", None);
    assert_eq!(v(&r, "cuda"), "11.8");
    // Cog's default CUDA; its libraries and cuDNN 8 come as PyPI wheels on a Debian base.
    assert_eq!(v(&r, "cudnn"), "8.9");
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("wheels"));
    assert_eq!(v(&r, "python"), "3.13");
    assert!(matches!(
        r.values["cuda"].source,
        cogpack::resolve::Source::Default { .. }
    ));
    assert_eq!(r.base_image.name, "cogpack/base:py3.13-trixie");
}

#[test]
fn case_12_user_cuda_121_with_torch_201_keeps_cuda_and_warns() {
    let r = ok(
        "build:\n  gpu: true\n  cuda: \"12.1\"\n",
        Some("torch==2.0.1\n"),
    );
    assert_eq!(v(&r, "cuda"), "12.1");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu118"));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.message
            .contains("torch 2.0.1 has no build for CUDA 12.1; it is built for CUDA 11.7, 11.8"),
        "{}",
        w.message
    );
    assert_eq!(w.source.as_ref().unwrap().to_string(), "cog.yaml:3:9");
    insta::assert_json_snapshot!("resolve_case_12_cuda_121_torch_201", summary(&r));
}

#[test]
fn torch_270_with_cuda_126_uses_the_cu126_build() {
    let r = ok(
        "build:\n  gpu: true\n  cuda: \"12.6\"\n  python_version: \"3.12\"\n",
        Some("torch==2.7.0\ntorchvision==0.22.0\n"),
    );
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu126"));
    // PyPI's torch 2.7.0 is that build: it brings CUDA 12.6 and cuDNN 9.5 itself, so the
    // base is a Debian image (Python 3.12 installed on it), not an nvidia/cuda one.
    assert_eq!(v(&r, "cudnn"), "9.5");
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("wheels"));
    assert_eq!(r.values["torch"].index_url, None);
    assert!(r.base_image.cuda.is_none(), "{}", r.base_image.name);
    assert!(r.warnings.iter().all(|w| w.message.contains("Python 3.12")), "{:?}", r.warnings);
}

#[test]
fn a_cuda_pin_pypi_cannot_serve_keeps_the_cuda_image() {
    // torch 2.5.1's PyPI wheel is CUDA 12.4: a 12.1 pin needs pytorch.org's cu121 build
    // and a CUDA 12.1 base image.
    let r = ok("build:\n  gpu: true\n  cuda: \"12.1\"\n  python_version: \"3.11\"\n", Some("torch==2.5.1\n"));
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu121"));
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("image"));
    assert!(r.values["torch"].index_url.as_deref().unwrap().ends_with("/whl/cu121"));
    assert_eq!(r.base_image.cuda.as_ref().map(|c| c.to_string()).as_deref(), Some("12.1"));
    // A `+cu124` pin names pytorch.org's build: the image path too.
    let r = ok("build:\n  gpu: true\n  python_version: \"3.11\"\n", Some("torch==2.5.1+cu124\n"));
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("image"));
    // Without either, PyPI supplies CUDA 12.4 and cuDNN 9.1 with torch.
    let r = ok("build:\n  gpu: true\n  python_version: \"3.11\"\n", Some("torch==2.5.1\n"));
    assert_eq!((v(&r, "cuda"), v(&r, "cudnn")), ("12.4", "9.1"));
    assert!(r.values["cuda"].wheels.iter().any(|w| w == "nvidia-cudnn-cu12==9.1.0.70"));
    assert_eq!(r.base_image.name, "cogpack/base:py3.11-bookworm");
}

#[test]
fn torch_270_without_cuda_pin_picks_its_newest_cuda() {
    let r = ok("build:\n  gpu: true\n", Some("torch==2.7.0\n"));
    assert_eq!(v(&r, "cuda"), "12.8");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu128"));
    assert_eq!(v(&r, "python"), "3.13");
}

#[test]
fn python_312_cpu_has_no_base_image_with_python_and_says_so() {
    let r = ok("build:\n  python_version: \"3.12\"\n", None);
    assert_eq!(v(&r, "python"), "3.12");
    assert_eq!(r.base_image.name, "cogpack/base:trixie");
    assert!(r.base_image.python.is_none());
    let w = &r.warnings[0];
    assert!(
        w.message.contains("no base image ships Python 3.12"),
        "{}",
        w.message
    );
    assert!(
        w.message.contains("cogpack/base:py3.11-bookworm")
            && w.message.contains("cogpack/base:py3.13-trixie")
    );
}

#[test]
fn pinned_torchvision_decides_unpinned_torch() {
    let r = ok(
        "build:\n  python_version: \"3.11\"\n",
        Some("torch\ntorchvision==0.15.2\n"),
    );
    assert_eq!(v(&r, "torch"), "2.0.1");
    assert!(
        r.values["torch"].reason.contains("torchvision==0.15.2"),
        "{}",
        r.values["torch"].reason
    );
    assert_eq!(
        r.rewritten_requirements.as_ref().unwrap().changed_lines[0].after,
        "torch==2.0.1+cpu"
    );
}

#[test]
fn a_users_pytorch_index_selects_the_build() {
    let r = ok(
        "build:\n  gpu: true\n",
        Some("--extra-index-url https://download.pytorch.org/whl/cu121\ntorch==2.1.0\n"),
    );
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu121"));
    assert_eq!(v(&r, "cuda"), "12.1");
    let req = r.rewritten_requirements.as_ref().unwrap();
    assert!(
        !req.changed(),
        "the user's index line is kept and not repeated:\n{}",
        req.text
    );
}

#[test]
fn cpu_ignores_cuda_pins_with_a_warning() {
    let r = ok("build:\n  cuda: \"12.1\"\n", None);
    assert!(!r.values.contains_key("cuda"));
    assert!(r.warnings[0]
        .message
        .contains("build.cuda \"12.1\" is ignored"));
}

#[test]
fn unknown_cuda_and_old_cuda() {
    let e = err("build:\n  gpu: true\n  cuda: \"10.2\"\n", None);
    assert_eq!(e.exit_code(), exit::PROJECT);
    assert!(render(&e).contains("minimum supported CUDA version is 11"));
    let e = err("build:\n  gpu: true\n  cuda: \"14.0\"\n", None);
    assert_eq!(e.exit_code(), exit::RESOLVE_MISSING_DATA);
    let e = err("build:\n  gpu: true\n  cuda: \"11.9\"\n", None);
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    insta::assert_snapshot!("resolve_cuda_119", render(&e));
}

#[test]
fn torch_needing_newer_cuda_than_pinned_is_a_conflict() {
    let e = err(
        "build:\n  gpu: true\n  cuda: \"11.8\"\n",
        Some("torch==2.8.0\n"),
    );
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    let text = render(&e);
    assert!(
        text.contains("torch 2.8.0 is built for CUDA 12.6, 12.8, 12.9"),
        "{text}"
    );
    insta::assert_snapshot!("resolve_torch_280_cuda_118", text);
}

#[test]
fn resolved_json_has_a_stable_shape() {
    let r = ok("build:\n  gpu: true\n", Some("torch==2.0.1\n"));
    let json = serde_json::to_value(&r.values).unwrap();
    assert_eq!(json["torch"]["version"], "2.0.1");
    assert_eq!(json["torch"]["source"]["kind"], "requirements");
    assert_eq!(json["torch"]["source"]["path"], "requirements.txt");
    assert_eq!(json["torch"]["source"]["line"], 1);
    assert_eq!(json["cuda"]["source"]["kind"], "table");
    assert_eq!(json["python"]["source"]["kind"], "table");
    assert_eq!(
        json["base_image"]["version"],
        "cogpack/base:py3.11-cuda11.8-cudnn8-jammy"
    );
}

#[test]
fn text_rendering_of_a_resolution() {
    let r = ok("build:\n  gpu: true\n  cuda: \"12.1\"\n", Some("torch==2.0.1\n"));
    insta::assert_snapshot!("resolve_text_cuda_121_torch_201", cogpack::resolve::render_resolution(&r));
}
