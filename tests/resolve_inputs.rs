//! Resolver inputs beyond the basic cases: python_packages, block dependencies, included
//! requirements files, ranges and unversioned lines, explicit builds, and TensorFlow rows
//! whose CUDA has no image with the right cuDNN.

use cogpack::compat::{CompatTables, Provide};
use cogpack::diagnostics::exit;
use cogpack::requirements::RequirementsFile;
use cogpack::resolve::{render, resolve, Dependency, Pin, Resolution, ResolveInput, Source};

fn tables() -> &'static CompatTables {
    CompatTables::builtin()
}

fn gpu() -> Option<Pin<bool>> {
    Some(Pin::cog_yaml(true, "build.gpu", 2, 8))
}

fn reqs(text: &str) -> Option<RequirementsFile> {
    Some(RequirementsFile::parse("requirements.txt", text).unwrap())
}

fn ok(input: &ResolveInput) -> Resolution {
    resolve(input, tables()).unwrap_or_else(|e| panic!("{}", render(&e)))
}

fn block(id: &str, name: &str, constraint: &str) -> Dependency {
    Dependency {
        name: name.into(),
        constraint: constraint.into(),
        source: Source::Block {
            id: id.into(),
            manifest: format!("blocks.d/{id}.toml"),
        },
    }
}

#[test]
fn python_packages_are_resolved_and_rewritten() {
    let input = ResolveInput {
        gpu: gpu(),
        python_packages: vec![
            Pin::cog_yaml(
                "numpy==1.26.4".to_string(),
                "build.python_packages[0]",
                4,
                7,
            ),
            Pin::cog_yaml("torch==2.1.0".to_string(), "build.python_packages[1]", 5, 7),
        ],
        ..Default::default()
    };
    let r = ok(&input);
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu121"));
    assert_eq!(r.values["torch"].source.to_string(), "cog.yaml:5:7");
    let rw = r.rewritten_requirements.unwrap();
    assert_eq!(rw.source, "cog.yaml build.python_packages");
    assert_eq!(
        rw.text,
        // torch 2.1.0 from PyPI is the cu121 build and brings CUDA 12.1: no extra index.
        "numpy==1.26.4\ntorch==2.1.0\n"
    );
}

#[test]
fn block_dependencies_narrow_and_are_named_in_failures() {
    let input = ResolveInput {
        dependencies: vec![
            block("cog", "python", ">=3.10"),
            block("weird", "uv", ">=0.5"),
        ],
        ..Default::default()
    };
    let r = ok(&input);
    assert_eq!(r.values["python"].version, "3.13");
    assert_eq!(r.values["python"].constraints[0].constraint, ">=3.10");
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("no compat table knows `uv`")));

    let input = ResolveInput {
        python_version: Some(Pin::cog_yaml("3.13".into(), "build.python_version", 3, 19)),
        dependencies: vec![block("legacy", "python", "<3.12")],
        ..Default::default()
    };
    let e = resolve(&input, tables()).unwrap_err();
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    let text = render(&e);
    assert!(
        text.contains(
            "block `legacy` requires python <3.12 (block `legacy`, blocks.d/legacy.toml)"
        ),
        "{text}"
    );
    assert!(
        text.contains("cog.yaml pins python 3.13 (cog.yaml:3:19)"),
        "{text}"
    );
}

#[test]
fn included_files_are_followed_and_inlined_when_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        "# app\n-r ml.txt\nflask==3.0.0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ml.txt"), "torch==2.0.1\ntorchaudio\n").unwrap();
    let file =
        RequirementsFile::load(dir.path(), "requirements.txt").unwrap();
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: Some(file),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].source.to_string(), "ml.txt:1");
    assert_eq!(r.values["torchaudio"].version, "2.0.2");
    let rw = r.rewritten_requirements.unwrap();
    assert_eq!(rw.inlined, ["ml.txt"]);
    assert_eq!(
        rw.text,
        "--extra-index-url https://download.pytorch.org/whl/cu118\n# app\n# cogpack: inlined from ml.txt (included at requirements.txt:2)\ntorch==2.0.1\ntorchaudio==2.0.2\n# cogpack: end of ml.txt\nflask==3.0.0\n"
    );
    assert_eq!(rw.changed_lines[0].path, "ml.txt");
}

#[test]
fn ranges_resolve_to_the_newest_fit_and_are_pinned() {
    let r = ok(&ResolveInput {
        gpu: gpu(),
        python_version: Some(Pin::cog_yaml("3.11".into(), "build.python_version", 3, 19)),
        requirements: reqs("torch>=2.2,<2.5 # range\n"),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].version, "2.4.1");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu124"));
    assert_eq!(r.values["cuda"].version, "12.4");
    let rw = r.rewritten_requirements.unwrap();
    assert_eq!(rw.changed_lines[0].after, "torch==2.4.1 # range");
}

#[test]
fn cpu_torch_without_version_is_pinned_with_a_warning() {
    let r = ok(&ResolveInput {
        requirements: reqs("torch\n"),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].version, "2.11.0");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cpu"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("torch has no version")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn explicit_cpu_build_on_gpu_is_honoured_with_a_warning() {
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: reqs("torch==2.1.0+cpu\n"),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cpu"));
    assert_eq!(r.values["cuda"].version, "11.8");
    assert!(r.warnings.iter().any(|w| w
        .message
        .contains("CPU build of torch 2.1.0 is installed on a GPU image")));
}

#[test]
fn tensorflow_2_16_brings_its_own_cuda_12_3_from_pypi() {
    // No cuDNN 8 image exists for CUDA 12.3 (Cog falls back to 12.2 with a warning);
    // `tensorflow[and-cuda]` brings CUDA 12.3 and cuDNN 8.9 as wheels, exactly as built.
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: reqs("tensorflow==2.16.1\n"),
        ..Default::default()
    });
    assert_eq!(r.values["cuda"].version, "12.3");
    assert_eq!(r.values["cudnn"].version, "8.9");
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("wheels"));
    assert_eq!(r.values["tensorflow"].package.as_deref(), Some("tensorflow[and-cuda]==2.16.1"));
    assert!(r.warnings.iter().all(|w| !w.message.contains("was built for")), "{:?}", r.warnings);
}

#[test]
fn tensorflow_and_torch_together_follow_tensorflow_cuda() {
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: reqs("tensorflow==2.18.0\ntorch==2.5.1\n"),
        ..Default::default()
    });
    assert_eq!(r.values["cuda"].version, "12.5");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu124"));
    assert_eq!(r.values["python"].version, "3.12");
}

#[test]
fn a_python_patch_pin_is_kept_and_matched_by_cogs_rule() {
    let r = ok(&ResolveInput {
        python_version: Some(Pin::cog_yaml(
            "3.11.4".into(),
            "build.python_version",
            3,
            19,
        )),
        ..Default::default()
    });
    assert_eq!(r.values["python"].version, "3.11.4");
    // bookworm ships 3.11.2: both sides give a patch, so it does not match; the Python-less
    // image is used and the python block installs 3.11.4.
    assert_eq!(r.base_image.name, "cogpack/base:trixie");
    assert!(!r.base_image.has_provider(Provide::Python));
}

#[test]
fn gpu_base_images_provide_python_pip_and_venv() {
    let r = ok(&ResolveInput {
        gpu: gpu(),
        ..Default::default()
    });
    for p in [Provide::Python, Provide::Pip, Provide::Venv] {
        assert!(r.base_image.has_provider(p));
    }
    assert!(!r.base_image.has_provider(Provide::Uv));
    // CUDA 11.8's libraries come as PyPI wheels: a Debian base, no nvidia/cuda upstream.
    assert_eq!(r.base_image.upstream, None);
    assert_eq!(r.base_image.cuda, None);
    // CUDA 11.2 has no wheels on PyPI: the nvidia/cuda image supplies it.
    let r = ok(&ResolveInput {
        gpu: gpu(),
        cuda: Some(Pin::cog_yaml("11.2".to_string(), "build.cuda", 3, 9)),
        python_version: Some(Pin::cog_yaml("3.10".to_string(), "build.python_version", 4, 19)),
        ..Default::default()
    });
    assert_eq!(r.values["cuda"].variant.as_deref(), Some("image"));
    assert!(r.base_image.upstream.as_deref().is_some_and(|u| u.starts_with("nvidia/cuda:11.2.")), "{:?}", r.base_image.upstream);
}

#[test]
fn unknown_tensorflow_on_gpu_is_missing_data_and_on_cpu_a_warning() {
    let e = resolve(
        &ResolveInput {
            gpu: gpu(),
            requirements: reqs("tensorflow==3.1.0\n"),
            ..Default::default()
        },
        tables(),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), exit::RESOLVE_MISSING_DATA);
    insta::assert_snapshot!("resolve_tensorflow_310_gpu", render(&e));

    let r = ok(&ResolveInput {
        requirements: reqs("tensorflow==3.1.0\n"),
        ..Default::default()
    });
    assert_eq!(r.values["tensorflow"].version, "3.1.0");
    assert!(r.warnings[0]
        .message
        .contains("is not in compat/tensorflow.toml"));
}

#[test]
fn a_build_label_that_does_not_exist_is_a_conflict_with_the_real_builds() {
    let e = resolve(
        &ResolveInput {
            gpu: gpu(),
            requirements: reqs("torch==2.0.1+cu121\n"),
            ..Default::default()
        },
        tables(),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), exit::RESOLVE_CONFLICT);
    let text = render(&e);
    assert!(text.contains("torch 2.0.1 cpu, torch 2.0.1 cu117, torch 2.0.1 cu118 (compat/torch.toml:85): is not the cu121 build"), "{text}");
    assert!(
        text.contains("help: torch 2.0.1 is built as cpu, cu117, cu118"),
        "{text}"
    );
    insta::assert_snapshot!("resolve_torch_201_cu121", text);
}

#[test]
fn malformed_values_are_invalid_not_conflicts() {
    for (field, value) in [
        ("python_version", "three"),
        ("python_version", "3"),
        ("cuda", "11"),
    ] {
        let pin = Some(Pin::cog_yaml(
            value.to_string(),
            &format!("build.{field}"),
            3,
            10,
        ));
        let input = match field {
            "cuda" => ResolveInput {
                gpu: gpu(),
                cuda: pin,
                ..Default::default()
            },
            _ => ResolveInput {
                python_version: pin,
                ..Default::default()
            },
        };
        let e = resolve(&input, tables()).unwrap_err();
        assert_eq!(
            e.exit_code(),
            exit::PROJECT,
            "{field}={value}: {}",
            render(&e)
        );
        assert!(
            render(&e).contains(&format!("build.{field} \"{value}\"")),
            "{}",
            render(&e)
        );
    }
    let e = resolve(
        &ResolveInput {
            dependencies: vec![block("b", "torch", ">=2.x")],
            ..Default::default()
        },
        tables(),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), exit::PROJECT);
}

#[test]
fn lines_for_other_platforms_are_neither_resolved_nor_rewritten() {
    let text = "torch==2.0.1 ; sys_platform == \"darwin\"\ntorch==2.1.0+cu121 ; sys_platform == \"linux\"\n";
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: reqs(text),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].version, "2.1.0");
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu121"));
    let rw = r.rewritten_requirements.unwrap();
    assert!(rw.changed_lines.is_empty(), "{:?}", rw.changed_lines);
    assert!(rw.text.ends_with(text), "{}", rw.text);
}

#[test]
fn several_pytorch_indexes_allow_any_of_their_builds() {
    let text = "--extra-index-url https://download.pytorch.org/whl/cpu\n--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.1.0\n";
    let r = ok(&ResolveInput {
        gpu: gpu(),
        requirements: reqs(text),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cu118"));
    let r = ok(&ResolveInput {
        requirements: reqs(text),
        ..Default::default()
    });
    assert_eq!(r.values["torch"].variant.as_deref(), Some("cpu"));
}

#[test]
fn tables_read_from_a_directory_report_bad_rows_at_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = cogpack::compat::CompatSources::builtin();
    for (name, src) in [
        ("python.toml", &builtin.python),
        ("cuda.toml", &builtin.cuda),
        ("torch.toml", &builtin.torch),
        ("tensorflow.toml", &builtin.tensorflow),
        ("base-images.toml", &builtin.base_images),
        ("cog.toml", &builtin.cog),
        ("jax.toml", &builtin.jax),
    ] {
        std::fs::write(dir.path().join(name), src.text.as_ref()).unwrap();
    }
    let sources = cogpack::compat::CompatSources::from_dir(dir.path()).unwrap();
    assert!(CompatTables::parse(&sources).is_ok());

    let tf = builtin
        .tensorflow
        .text
        .replacen("cudnn = \"8.6\"", "cudnn = \"eight\"", 1);
    let line = tf.lines().position(|l| l == "cudnn = \"eight\"").unwrap() + 1;
    std::fs::write(dir.path().join("tensorflow.toml"), tf).unwrap();
    let sources = cogpack::compat::CompatSources::from_dir(dir.path()).unwrap();
    let err = CompatTables::parse(&sources).unwrap_err();
    let text = err.to_string();
    let expected = format!(
        "{}:{line}:9: `cudnn`: invalid version: `eight`",
        dir.path().join("tensorflow.toml").display()
    );
    assert!(text.contains(&expected), "{text}\nexpected: {expected}");
    assert_eq!(err.exit_code(), exit::MANIFEST);
}
