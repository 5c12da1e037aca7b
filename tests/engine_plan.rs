//! Plans for every project directory (insta snapshots), and composition behaviour that
//! needs a real project on disk: project-local blocks, overrides, weights, skips, errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cogpack::compose::{compose, ComposeError, Composition};
use cogpack::diagnostics::{render, RenderStyle};
use cogpack::manifest::{Registry, Sources};
use cogpack::plan::{Context, Input, Op, Phase};
use cogpack::project::Project;

/// Wide enough that messages are not wrapped (tests look for substrings).
const WIDE: RenderStyle = RenderStyle::Plain;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every project under `fixtures/` (Cog's fixtures, when present) and `tests/projects/`: a
/// directory with a `cog.yaml`, or, for a directory without one (`fixtures/broken/`), each
/// of its subdirectories.
fn project_dirs() -> Vec<(String, PathBuf)> {
    fn visit(dir: &Path, name: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for d in dirs {
            let child = format!("{name}-{}", d.file_name().unwrap().to_string_lossy());
            if d.join("cog.yaml").is_file() || depth == 1 {
                out.push((child, d));
            } else {
                visit(&d, &child, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    for (prefix, base) in [("fixtures", "fixtures"), ("projects", "tests/projects")] {
        visit(&repo().join(base), prefix, 0, &mut out);
    }
    out
}

/// The project, shown relative to the repository when it is in it (stable snapshots).
fn open(dir: &Path) -> Project {
    let project = Project::open(dir).unwrap();
    match dir.strip_prefix(repo()) {
        Ok(rel) => project.with_display_root(rel.display().to_string()),
        Err(_) => project,
    }
}

/// Composes with the built-ins, extra `--blocks` dirs and the project's own `.cogpack/`
/// (never `COGPACK_BLOCKS_PATH`, so the developer's environment cannot leak in).
fn plan(dir: &Path, extra: &[PathBuf]) -> Result<Composition, String> {
    let sources = Sources { builtin: true, blocks_path: vec![], flags: extra.to_vec(), project: Some(dir.to_path_buf()), compile_on_use: false };
    let registry = Registry::load(&sources).map_err(|e| render(&e.diagnostics(), RenderStyle::Plain))?;
    compose(&registry, Arc::new(open(dir))).map_err(|e| format!("exit {}\n{}", e.exit_code(), e.render(false)))
}

fn compose_err(dir: &Path, extra: &[PathBuf]) -> ComposeError {
    let sources = Sources { builtin: true, blocks_path: vec![], flags: extra.to_vec(), project: Some(dir.to_path_buf()), compile_on_use: false };
    let registry = Registry::load(&sources).unwrap();
    compose(&registry, Arc::new(open(dir))).unwrap_err()
}

#[test]
fn every_project_has_a_plan_snapshot() {
    let dirs = project_dirs();
    assert!(dirs.len() >= 5, "expected the test projects, found {dirs:?}");
    let mut failed = Vec::new();
    for (name, dir) in dirs {
        // The plan JSON, then the warnings the CLI prints on stderr (never in the JSON).
        let output = match plan(&dir, &[]) {
            Ok(c) if c.warnings.is_empty() => c.plan.to_json(),
            Ok(c) => format!(
                "{}\n--- warnings (stderr) ---\n{}",
                c.plan.to_json(),
                cogpack::diagnostics::render(&c.warnings, cogpack::diagnostics::RenderStyle::Plain)
            ),
            Err(rendered) => format!("error: {rendered}"),
        };
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({ prepend_module_to_snapshot => true, omit_expression => true }, {
                insta::assert_snapshot!(name.clone(), output);
            });
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "plan snapshots differ for: {failed:?}");
}

#[test]
fn plans_are_deterministic() {
    for (_, dir) in project_dirs() {
        if let (Ok(a), Ok(b)) = (plan(&dir, &[]), plan(&dir, &[])) {
            assert_eq!(a.plan.to_json(), b.plan.to_json(), "{}", dir.display());
        }
    }
}

#[test]
fn string_project_plans_the_cog_image() {
    let c = plan(&repo().join("tests/projects/string-project"), &[]).unwrap();
    let p = &c.plan;
    assert_eq!(p.stack, "python");
    let ids: Vec<&str> = p.stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["base-image", "uv-tool", "venv", "cog-wheel", "source-copy", "openapi-schema", "pip-freeze"]);
    // uv comes from a detached helper stage, bound into the install step, never in the image.
    assert!(p.stage("uv-tool").unwrap().detached);
    assert_eq!(p.stages[0].input, Input::Image { image: "cogpack/base:py3.11-bookworm".into() });
    // Explicit inputs: each stage builds on the previous one.
    assert_eq!(p.stages[2].input, Input::Stage { stage: "base-image".into() });
    // python 3.11 is in the base image: python-interpreter skipped itself.
    let pi = p.blocks.iter().find(|b| b.id == "python-interpreter").unwrap();
    assert!(!pi.fired && pi.reason.contains("provides python 3.11"), "{pi:?}");
    // The source is copied after the dependencies, from the project with .dockerignore; only
    // the schema, made from that source, comes after it.
    let copy = p.stage("source-copy").unwrap();
    assert!(matches!(&copy.ops[0], Op::Copy(c) if c.dest == "/src" && c.from == Input::Context { context: "source".into() }));
    assert_eq!(p.stage("openapi-schema").unwrap().input, Input::Stage { stage: "source-copy".into() });
    assert!(matches!(p.contexts.get("source"), Some(Context::Local { dockerignore: true, .. })));
    assert!(p.export.env.contains(&"COG_PREDICT_TYPE_STUB=predict.py:Predictor".to_string()));
    assert_eq!(p.export.cmd, ["python", "-m", "cog.server.http"]);
    assert_eq!(p.export.workdir.as_deref(), Some("/src"));
    assert_eq!(p.export.labels.get("run.cog.has_init").map(String::as_str), Some("true"));
    assert!(p.export.labels["run.cog.config"].contains("\"predict\":\"predict.py:Predictor\""));
    // Every exec says what it does.
    for s in &p.stages {
        for op in &s.ops {
            if let Op::Exec(e) = op {
                assert!(e.description.as_deref().is_some_and(|d| !d.is_empty()), "{}: {e:?}", s.id);
            }
        }
    }
}

fn copy_project(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = repo().join("tests/projects").join(name);
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&src).unwrap();
        let dest = tmp.path().join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    tmp
}

const HELLO: &str = r#"summary = "Say hello during the build"
doc = "Writes a greeting into the image."
phase = "app-deps"
after = ["cog-wheel"]

[detect]
script = '''
project.has_file("predict.py")
'''

[plan]
script = '''
let s = plan.stage("hello");
s.exec("echo hello > /hello.txt", #{ description: "say hello" });
'''
"#;

#[test]
fn a_project_local_block_takes_part_without_editing_the_stack() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(tmp.path().join(".cogpack/blocks.d/hello.toml"), HELLO).unwrap();
    let c = plan(tmp.path(), &[]).unwrap();
    let outcome = c.plan.blocks.iter().find(|b| b.id == "hello").unwrap();
    assert!(outcome.fired);
    assert_eq!(outcome.source, "project:.cogpack/blocks.d/hello.toml");
    let stage = c.plan.stage("hello").unwrap();
    assert_eq!(stage.input, Input::Stage { stage: "cog-wheel".into() });
    assert!(matches!(&stage.ops[0], Op::Exec(e) if e.args[2] == "echo hello > /hello.txt"));
    // The source copy still comes after it, and the schema after the source.
    let ids: Vec<&str> = c.plan.stages.iter().filter(|s| !s.detached).map(|s| s.id.as_str()).collect();
    assert_eq!(ids[ids.len() - 3..], ["hello", "source-copy", "openapi-schema"]);
}

#[test]
fn the_pip_freeze_stage_is_detached_from_the_image() {
    let c = plan(&repo().join("fixtures/string-project"), &[]).unwrap();
    let freeze = c.plan.stage("pip-freeze").unwrap();
    assert!(freeze.detached);
    assert_eq!(freeze.input, Input::Phase { phase: Phase::AppDeps });
    assert_eq!(c.plan.exported_stage().unwrap().id, "openapi-schema");
    assert!(c.plan.stages.iter().all(|s| s.input != Input::Stage { stage: "pip-freeze".into() }));
    let file = &c.plan.export.label_files["run.cog.pip_freeze"];
    assert_eq!(file.stage.as_deref(), Some("pip-freeze"));
}

const SIDE: &str = r#"summary = "A side step"
doc = "Reads the dependencies without becoming part of the image."
phase = "app-deps"
after = ["cog-wheel"]

[detect]
always = true

[plan]
script = '''
let s = plan.stage("side", #{ detached: true, input: "phase:runtime" });
s.exec("echo side > /side.txt", #{ description: "a side step" });
plan.stage("side.next").exec("echo next", #{ description: "on the chain" });
'''
"#;

#[test]
fn the_stage_after_a_detached_one_builds_on_the_chain() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(tmp.path().join(".cogpack/blocks.d/side.toml"), SIDE).unwrap();
    let c = plan(tmp.path(), &[]).unwrap();
    assert!(c.plan.stage("side").unwrap().detached);
    assert_eq!(c.plan.stage("side.next").unwrap().input, Input::Stage { stage: "cog-wheel".into() });
}

#[test]
fn a_detached_stage_needs_an_input() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    let block = SIDE.replace(", input: \"phase:runtime\"", "");
    assert_ne!(block, SIDE);
    std::fs::write(tmp.path().join(".cogpack/blocks.d/side.toml"), block).unwrap();
    let err = plan(tmp.path(), &[]).unwrap_err();
    assert!(err.contains("side") && err.contains("detached stage `side` needs an `input`"), "{err}");
}

#[test]
fn a_later_manifest_overrides_a_builtin_one() {
    let tmp = copy_project("string-project");
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("blocks.d")).unwrap();
    std::fs::write(
        extra.path().join("blocks.d/source-copy.toml"),
        r#"summary = "Copy only the Python files"
doc = "An override of the built-in source-copy."
phase = "app-source"
after = ["weights"]

[detect]
always = true

[plan]
script = '''
plan.local_context("source", #{ path: ".", include: ["*.py"] });
plan.stage("source-copy").copy(#{ from: "context:source", dest: "/src" });
'''
"#,
    )
    .unwrap();
    let registry = Registry::load(&Sources { builtin: true, flags: vec![extra.path().into()], ..Default::default() }).unwrap();
    let block = registry.block("source-copy").unwrap();
    assert_eq!(block.overrides.len(), 1);
    assert_eq!(block.overrides[0].file.path(), "blocks.d/source-copy.toml");
    let c = plan(tmp.path(), &[extra.path().into()]).unwrap();
    assert!(matches!(c.plan.contexts.get("source"), Some(Context::Local { include, .. }) if include == &["*.py"]));
}

#[test]
fn weights_get_their_own_layer_before_the_code() {
    let tmp = copy_project("string-project");
    let big = 11 * 1024 * 1024;
    let sparse = |rel: &str| {
        let p = tmp.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::File::create(&p).unwrap().set_len(big).unwrap();
    };
    sparse("model.safetensors");
    sparse("checkpoints/a/part1.bin");
    sparse("checkpoints/b/part2.bin");
    sparse("src/big-table.bin");
    std::fs::write(tmp.path().join("src/helper.py"), "x = 1\n").unwrap();
    sparse("cat.png"); // media is never a weight
    let c = plan(tmp.path(), &[]).unwrap();
    let p = &c.plan;
    let expected = vec!["model.safetensors".to_string(), "checkpoints".into(), "src/big-table.bin".into()];
    match p.contexts.get("weights") {
        Some(Context::Local { include, .. }) => {
            let mut got = include.clone();
            got.sort();
            let mut want = expected.clone();
            want.sort();
            assert_eq!(got, want);
        }
        other => panic!("no weights context: {other:?}"),
    }
    match p.contexts.get("source") {
        Some(Context::Local { exclude, .. }) => {
            for w in &expected {
                assert!(exclude.contains(w), "{w} not excluded from the source: {exclude:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    let ids: Vec<&str> = p.stages.iter().map(|s| s.id.as_str()).collect();
    let w = ids.iter().position(|i| *i == "weights").unwrap();
    let s = ids.iter().position(|i| *i == "source-copy").unwrap();
    assert!(w < s, "{ids:?}");
    assert!(matches!(&p.stages[w].ops[0], Op::Copy(c) if c.dest == "/src"));
    // The weights need nothing below them: an independent layer where the engine allows it.
    assert_eq!(p.stages[w].runs_on, Some(cogpack::plan::Input::Scratch));
    assert_eq!(p.stages[w].phase, Phase::AppSource);
}

/// Issue 8, defect 1: more than ~27,000 files stopped the `weights` block (it walked every
/// file in Rhai). The files are walked once in Rust; the block sees only the large ones.
#[test]
fn a_project_with_100000_files_plans_and_finds_its_weights() {
    // In memory when the machine has /dev/shm: creating the files is the slow part.
    let shm = Path::new("/dev/shm");
    let tmp = if shm.is_dir() { tempfile::tempdir_in(shm).unwrap() } else { tempfile::tempdir().unwrap() };
    for f in ["cog.yaml", "predict.py"] {
        std::fs::copy(repo().join("tests/projects/string-project").join(f), tmp.path().join(f)).unwrap();
    }
    for d in 0..100 {
        let dir = tmp.path().join(format!("data/d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            std::fs::write(dir.join(format!("f{f:04}.txt")), "x").unwrap();
        }
    }
    std::fs::File::create(tmp.path().join("model.bin")).unwrap().set_len(11 * 1024 * 1024).unwrap();
    let started = std::time::Instant::now();
    let c = plan(tmp.path(), &[]).unwrap();
    let took = started.elapsed();
    match c.plan.contexts.get("weights") {
        Some(Context::Local { include, .. }) => assert_eq!(include, &["model.bin"]),
        other => panic!("no weights context: {other:?}"),
    }
    // Generous for a debug build on a busy machine; a release build takes well under 1 s.
    assert!(took < std::time::Duration::from_secs(20), "planning took {took:?}");

    // A weight in a directory .dockerignore excludes is not a weight (nor walked).
    std::fs::File::create(tmp.path().join("data/d000/big.bin")).unwrap().set_len(11 * 1024 * 1024).unwrap();
    std::fs::write(tmp.path().join(".dockerignore"), "data\n").unwrap();
    let project = Project::open(tmp.path()).unwrap();
    let index = project.files().unwrap();
    assert!(index.files().iter().all(|f| !f.path.starts_with("data/")));
    assert!(index.visited() < 100, "the ignored directory was walked: {} entries", index.visited());
}

#[test]
fn a_required_capability_must_be_provided_by_a_fired_block() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(
        tmp.path().join(".cogpack/blocks.d/needs-apt.toml"),
        "summary = \"x\"\ndoc = \"y\"\nphase = \"app-deps\"\nrequires = [\"apt\"]\n[detect]\nalways = true\n",
    )
    .unwrap();
    let err = compose_err(tmp.path(), &[]);
    let text = render(&err.diagnostics(), WIDE);
    assert!(text.contains("requires `apt`, but no block that fired provides it"), "{text}");
    assert!(text.contains("needs-apt.toml:4:"), "{text}");
    assert!(text.contains("apt-packages"), "{text}");
}

#[test]
fn plan_api_misuse_is_reported_at_the_call() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(
        tmp.path().join(".cogpack/blocks.d/typo.toml"),
        "summary = \"x\"\ndoc = \"y\"\nphase = \"app-deps\"\n[detect]\nalways = true\n[plan]\nscript = '''\nlet s = plan.stage(\"typo\");\ns.exec(\"true\", #{ descripton: \"oops\" });\n'''\n",
    )
    .unwrap();
    let err = compose_err(tmp.path(), &[]);
    assert_eq!(err.exit_code(), cogpack::diagnostics::exit::MANIFEST);
    let text = render(&err.diagnostics(), WIDE);
    assert!(text.contains("unknown option `descripton`"), "{text}");
    assert!(text.contains("typo.toml:9:3"), "{text}");
}

#[test]
fn stage_ids_belong_to_their_block_and_inputs_are_checked() {
    let tmp = copy_project("string-project");
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(
        tmp.path().join(".cogpack/blocks.d/thief.toml"),
        "summary = \"x\"\ndoc = \"y\"\nphase = \"app-deps\"\n[detect]\nalways = true\n[plan]\nscript = '''\nplan.stage(\"venv\");\n'''\n",
    )
    .unwrap();
    let text = render(&compose_err(tmp.path(), &[]).diagnostics(), WIDE);
    assert!(text.contains("stage id `venv` must be `thief` or start with `thief.`"), "{text}");

    std::fs::write(
        tmp.path().join(".cogpack/blocks.d/thief.toml"),
        "summary = \"x\"\ndoc = \"y\"\nphase = \"app-deps\"\n[detect]\nalways = true\n[plan]\nscript = '''\nplan.stage(\"thief\", #{ input: \"stage:nowhere\" }).exec(\"true\");\n'''\n",
    )
    .unwrap();
    let err = compose_err(tmp.path(), &[]);
    let text = render(&err.diagnostics(), WIDE);
    assert!(text.contains("unknown stage `nowhere`"), "{text}");
}

#[test]
fn a_project_without_cog_yaml_has_no_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let err = compose_err(tmp.path(), &[]);
    assert_eq!(err.exit_code(), cogpack::diagnostics::exit::PROJECT);
    let text = render(&err.diagnostics(), WIDE);
    assert!(text.contains("stack `python`: `cog.yaml` does not exist"), "{text}");
}

#[test]
fn bad_cog_yaml_is_a_located_project_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("cog.yaml"), "build:\n  python_version: \"3.11\"\n   bad: [\n").unwrap();
    let err = compose_err(tmp.path(), &[]);
    assert_eq!(err.exit_code(), cogpack::diagnostics::exit::PROJECT);
    let text = err.render(false);
    assert!(text.contains("error[cog_yaml::syntax]: invalid YAML"), "{text}");
    assert!(text.contains("cog.yaml:3:"), "{text}");
}

#[test]
fn unquoted_versions_keep_their_digits() {
    let tmp = copy_project("string-project");
    std::fs::write(tmp.path().join("cog.yaml"), "build:\n  python_version: 3.10\nrun: \"predict.py:Predictor\"\n").unwrap();
    let c = plan(tmp.path(), &[]).unwrap();
    assert_eq!(c.plan.resolved["python"].version.as_deref(), Some("3.10"));
    assert!(c.plan.export.labels["run.cog.config"].contains("\"python_version\":\"3.10\""));
    // No base image ships 3.10 on CPU: the resolver says so, and uv installs it.
    assert!(c.warnings.iter().any(|w| w.message.contains("no base image ships Python 3.10")), "{:?}", c.warnings);
    assert!(c.plan.blocks.iter().any(|b| b.id == "python-interpreter" && b.fired));
}

#[test]
fn a_copy_of_the_node_stack_under_another_id_in_dot_cogpack_makes_the_same_plan() {
    let tmp = copy_project("node/server");
    let built_in = plan(tmp.path(), &[]).unwrap();
    assert_eq!(built_in.plan.stack, "node");
    let stacks = tmp.path().join(".cogpack/stacks.d");
    std::fs::create_dir_all(&stacks).unwrap();
    std::fs::copy(repo().join("stacks.d/node.toml"), stacks.join("web.toml")).unwrap();
    let copy = plan(tmp.path(), &[]).unwrap();
    // The project's copy is tried before the built-in of the same order, and wins.
    assert_eq!(copy.plan.stack, "web");
    let tried: Vec<&str> = copy.stacks_tried.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(tried, ["python", "web"]);
    assert_eq!(copy.plan.to_json().replace("\"stack\": \"web\"", "\"stack\": \"node\""), built_in.plan.to_json());
}

#[test]
fn a_python_project_with_a_package_json_is_still_python() {
    let tmp = copy_project("string-project");
    std::fs::copy(repo().join("tests/projects/node/server/package.json"), tmp.path().join("package.json")).unwrap();
    let c = plan(tmp.path(), &[]).unwrap();
    assert_eq!(c.plan.stack, "python");
    assert!(c.plan.resolved.contains_key("python") && !c.plan.resolved.contains_key("node"));
}
