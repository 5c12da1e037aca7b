//! End to end: independent layers. A project with system packages, requirements and weights is
//! built, then rebuilt after changing only `system_packages`, then only a requirement. On an
//! engine with MergeOp and DiffOp the stages that do not need the system packages are cache
//! hits and their layers are the very same layers (`RootFS.Layers`) in both images; with
//! `--layers chained` (what engines without those caps get) every stage sits on the one below
//! it, so the dependency steps are different steps after an apt change.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::{assert_ok, text};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};


const BIN: &str = env!("CARGO_BIN_EXE_cogpack");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The weights fixture with system packages and a requirement added.
fn layered_project(system_packages: &str, requirement: &str) -> tempfile::TempDir {
    let src = repo().join("fixtures/weights-project");
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let dest = dir.path().join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    write_config(dir.path(), system_packages, requirement);
    dir
}

fn write_config(dir: &Path, system_packages: &str, requirement: &str) {
    std::fs::write(
        dir.join("cog.yaml"),
        format!(
            "build:\n  python_version: \"3.11\"\n  system_packages: {system_packages}\n  \
             python_requirements: requirements.txt\npredict: \"predict.py:Predictor\"\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("requirements.txt"), format!("{requirement}\n")).unwrap();
}

fn build(dir: &Path, tag: &str, extra: &[&str]) -> Output {
    let mut args = vec!["build", dir.to_str().unwrap(), "-t", tag, "--progress", "plain"];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).output().expect("run cogpack")
}

/// The install step of a block (its exec), cached or not.
fn install_cached(steps: &BTreeMap<String, bool>, block: &str) -> bool {
    let prefix = format!("[{block}/{block}] ");
    let found: Vec<_> = steps
        .iter()
        .filter(|(name, _)| {
            name.starts_with(&prefix)
                && !name.contains("its own files")
                && !name.contains("merge its own")
                && !name.contains("host CA bundle")
                && !name.contains(" context ")
        })
        .collect();
    assert_eq!(found.len(), 1, "one step of {block} expected: {steps:#?}");
    *found[0].1
}

/// Whether the engine can make independent layers (else `auto` lowers as `chained`).
async fn engine_has_independent_layers() -> bool {
    let found = cogpack::daemon::discover(None).unwrap();
    let client = cogpack::buildkit::Client::connect(&found.addr).await.unwrap();
    let info = client.info().await.unwrap();
    info.supports_merge_op && info.supports_diff_op
}

#[tokio::test]
async fn a_system_packages_change_keeps_the_dependency_and_weights_layers() {
    let Some(docker) = engine_support::engine_or_skip("independent layers").await else { return };
    let independent = engine_has_independent_layers().await;
    let project = layered_project("[jq]", "six==1.16.0");
    let (a, b, c) = ("cogpack-e2e/layers:a", "cogpack-e2e/layers:b", "cogpack-e2e/layers:c");
    assert_ok(&build(project.path(), a, &[]), "first build");

    // Only system_packages changes.
    write_config(project.path(), "[jq, tree]", "six==1.16.0");
    let log = assert_ok(&build(project.path(), b, &[]), "build after a system_packages change");
    let st = steps(&log);
    let (la, lb) = (engine_support::layers_by_block(&docker, a).await, engine_support::layers_by_block(&docker, b).await);
    assert_ne!(la["apt-packages/apt-packages"], lb["apt-packages/apt-packages"]);
    if independent {
        for block in ["venv", "pip-requirements"] {
            assert!(install_cached(&st, block), "{block} ran again after a system_packages change:\n{log}");
            let key = format!("{block}/{block}");
            assert_eq!(la[&key], lb[&key], "the {block} layer changed:\n{la:#?}\n{lb:#?}");
        }
        assert_eq!(la["weights/weights"], lb["weights/weights"], "the weights layer changed");
    } else {
        for block in ["venv", "pip-requirements"] {
            let key = format!("{block}/{block}");
            assert_ne!(la[&key], lb[&key], "{block} sits on the apt layer without MergeOp");
        }
    }

    // Only a requirement changes: the apt layer and the weights layer stay.
    write_config(project.path(), "[jq, tree]", "six==1.17.0");
    // (Whether the install step runs or comes from an earlier run's cache depends on the
    // engine's history; the layers say what matters.)
    assert_ok(&build(project.path(), c, &[]), "build after a requirement change");
    let lc = engine_support::layers_by_block(&docker, c).await;
    assert_eq!(lb["apt-packages/apt-packages"], lc["apt-packages/apt-packages"]);
    assert_eq!(lb["venv/venv"], lc["venv/venv"]);
    assert_ne!(lb["pip-requirements/pip-requirements"], lc["pip-requirements/pip-requirements"]);
    if independent {
        assert_eq!(lb["weights/weights"], lc["weights/weights"], "the weights layer changed");
    }

    // The image still works: the weights and the requirement are where the predictor expects.
    let (code, out) = engine_support::run_in(
        &docker,
        c,
        &["sh", "-c", "cd /src && python -c 'import six; print(six.__version__)' && jq --version && tree --version"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1.17.0"), "{out}");
    let predicted = Command::new(BIN).args(["predict", c, "-i", "s=layers"]).output().unwrap();
    assert!(predicted.status.success(), "{}", text(&predicted.stderr));
    assert!(text(&predicted.stdout).contains("hello layers"), "{}", text(&predicted.stdout));
    for tag in [a, b, c] {
        let _ = docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }
}

/// The ops of a `--dump-llb` file: description -> digest.
fn llb_ops(path: &Path) -> BTreeMap<String, String> {
    let dump: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    let ops = dump["definition"]["ops"].as_array().or_else(|| dump["ops"].as_array()).cloned().unwrap_or_default();
    for op in ops {
        if let (Some(name), Some(digest)) = (op["name"].as_str(), op["digest"].as_str()) {
            out.insert(name.to_owned(), digest.to_owned());
        }
    }
    assert!(!out.is_empty(), "no named ops in {}", path.display());
    out
}

fn op_of<'a>(ops: &'a BTreeMap<String, String>, prefix: &str) -> &'a str {
    let hits: Vec<_> = ops.iter().filter(|(n, _)| n.starts_with(prefix)).collect();
    assert_eq!(hits.len(), 1, "one op starting with {prefix}: {ops:#?}");
    hits[0].1
}

#[tokio::test]
async fn chained_layers_put_every_stage_on_the_apt_layer() {
    let Some(_docker) = engine_support::engine_or_skip("chained layers").await else { return };
    let project = layered_project("[jq]", "six==1.16.0");
    let dumps = tempfile::tempdir().unwrap();
    let mut ops = Vec::new();
    for (i, (packages, mode)) in [("[jq]", "chained"), ("[jq, tree]", "chained"), ("[jq]", "auto"), ("[jq, tree]", "auto")]
        .into_iter()
        .enumerate()
    {
        write_config(project.path(), packages, "six==1.16.0");
        let dump = dumps.path().join(format!("{i}.json"));
        let tag = format!("cogpack-e2e/chained:{i}");
        assert_ok(
            &build(project.path(), &tag, &["--layers", mode, "--dump-llb", dump.to_str().unwrap()]),
            &format!("build {i} ({mode}, {packages})"),
        );
        ops.push(llb_ops(&dump));
    }
    // The cog runtime is installed by pip-requirements, in the same resolution as the requirements.
    let installs = ["[venv/venv] create", "[pip-requirements/pip-requirements] install"];
    for step in installs {
        // Chained: the step runs on the apt layer, so a new apt layer makes it a new step.
        assert_ne!(op_of(&ops[0], step), op_of(&ops[1], step), "chained `{step}` did not change");
    }
    if engine_has_independent_layers().await {
        for step in installs {
            assert_eq!(op_of(&ops[2], step), op_of(&ops[3], step), "independent `{step}` changed");
        }
        // Chained lowering uses no MergeOp or DiffOp at all.
        assert!(!ops[0].keys().any(|n| n.contains("its own files") || n.contains("merge its own")));
    }
}

/// Steps of a `--progress plain` log: vertex name -> cached?
fn steps(log: &str) -> BTreeMap<String, bool> {
    engine_support::plain_steps(log, false)
}
