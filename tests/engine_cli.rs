//! The `cogpack` binary: `plan`, `blocks list`, `blocks explain`, `stacks list`, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn cogpack(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COGPACK_BLOCKS_PATH")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cogpack")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const HELLO: &str = r#"summary = "Say hello during the build"
doc = "Writes a greeting into the image."
phase = "app-deps"
after = ["cog-wheel"]

[detect]
script = '''
#{ fires: project.has_file("predict.py"), reason: "the project has a predict.py" }
'''

[plan]
script = '''
let s = plan.stage("hello");
s.exec("echo hello > /hello.txt", #{ description: "say hello" });
'''
"#;

fn project_with_hello() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = repo().join("tests/projects/string-project");
    for f in ["cog.yaml", "predict.py"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    std::fs::create_dir_all(tmp.path().join(".cogpack/blocks.d")).unwrap();
    std::fs::write(tmp.path().join(".cogpack/blocks.d/hello.toml"), HELLO).unwrap();
    tmp
}

#[test]
fn blocks_list_shows_every_block_and_its_source() {
    let out = cogpack(&["blocks", "list"], &repo());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for id in ["python-interpreter", "apt-packages", "uv", "pip-requirements", "cuda", "torch", "tensorflow", "cog-wheel", "weights", "run-commands", "source-copy"] {
        let line = text.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("{id} missing:\n{text}"));
        assert!(line.contains(&format!("blocks.d/{id}.toml (builtin)")), "{line}");
    }
    let json: serde_json::Value = serde_json::from_slice(&cogpack(&["blocks", "list", "--format", "json"], &repo()).stdout).unwrap();
    let uv = json.as_array().unwrap().iter().find(|b| b["id"] == "uv").unwrap();
    assert_eq!(uv["origin"], "builtin");
    assert_eq!(uv["path"], "blocks.d/uv.toml");
}

#[test]
fn explain_says_whether_and_why_a_block_fires() {
    let out = cogpack(&["blocks", "explain", "uv", "tests/projects/string-project"], &repo());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("defined at:  blocks.d/uv.toml:1"), "{text}");
    assert!(text.contains("fires: no — none of `uv.lock`, `pyproject.toml` exists"), "{text}");
    assert!(text.contains("status:      preview"), "{text}");

    let out = cogpack(&["blocks", "explain", "uv", "tests/projects/uv-project"], &repo());
    let text = stdout(&out);
    assert!(text.contains("fires: yes — `uv.lock` exists"), "{text}");
    assert!(text.contains("stage uv [app-deps]"), "{text}");

    let out = cogpack(&["blocks", "explain", "uv", "tests/projects/uv-project", "--format", "json"], &repo());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["project"]["fires"], true);
    assert_eq!(json["project"]["stages"][0]["id"], "uv");
    assert_eq!(json["defined_at"], "blocks.d/uv.toml:1");
}

#[test]
fn explain_names_a_skip_and_suggests_ids() {
    let out = cogpack(&["blocks", "explain", "python-interpreter", "tests/projects/string-project"], &repo());
    assert!(stdout(&out).contains("fires: no — skipped by its plan script: the base image"), "{}", stdout(&out));
    let out = cogpack(&["blocks", "explain", "uvv"], &repo());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `uv`?"), "{}", stderr(&out));
}

#[test]
fn a_dropped_in_block_is_listed_and_planned() {
    let tmp = project_with_hello();
    let dir = tmp.path().to_str().unwrap();
    let list = stdout(&cogpack(&["blocks", "list", dir], &repo()));
    assert!(list.lines().any(|l| l.starts_with("hello ") && l.contains("hello.toml (project)")), "{list}");
    // From inside the project, with no arguments.
    let list = stdout(&cogpack(&["blocks", "list"], tmp.path()));
    assert!(list.contains("hello.toml (project)"), "{list}");

    let out = cogpack(&["plan", dir, "--format", "json"], &repo());
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stage = plan["stages"].as_array().unwrap().iter().find(|s| s["id"] == "hello").expect("hello stage");
    assert_eq!(stage["ops"][0]["args"][2], "echo hello > /hello.txt");
    let outcome = plan["blocks"].as_array().unwrap().iter().find(|b| b["id"] == "hello").unwrap();
    assert_eq!(outcome["fired"], true);
    assert_eq!(outcome["reason"], "the project has a predict.py");
}

#[test]
fn plan_json_is_byte_identical_across_runs_and_directories() {
    let a = cogpack(&["plan", "tests/projects/requirements-project", "--format", "json"], &repo());
    let b = cogpack(&["plan", "tests/projects/requirements-project", "--format", "json"], &repo());
    let c = cogpack(&["plan", "--format", "json"], &repo().join("tests/projects/requirements-project"));
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, c.stdout);
}

#[test]
fn plan_text_is_a_readable_tree() {
    let out = cogpack(&["plan", "tests/projects/apt-run-project"], &repo());
    let text = stdout(&out);
    for needle in [
        "stack: python",
        "✓ apt-packages",
        "✗ uv",
        "apt-packages [system-deps] from stage:base-image (block apt-packages)",
        "secret /run/secrets/token (id token)",
        "env: GREETING=hello there",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

#[test]
fn broken_manifests_exit_3_with_file_line_col() {
    for (case, needle) in [
        ("toml-syntax", "broken.toml:1:45"),
        ("unknown-key", "typo.toml:3:1"),
        ("rhai-syntax", "bad-script.toml:11:9"),
        ("unknown-block", "late.toml:4:10"),
    ] {
        let dir = format!("tests/manifests/{case}");
        for args in [vec!["plan", "tests/projects/string-project", "--blocks", &dir], vec!["blocks", "list", "--blocks", &dir]] {
            let out = cogpack(&args, &repo());
            assert_eq!(out.status.code(), Some(3), "{case}: {}", stderr(&out));
            assert!(stderr(&out).contains(needle), "{case}: {needle} missing:\n{}", stderr(&out));
        }
    }
}

/// `plan` compiles the plan scripts of the blocks that fire, when they run; `blocks list`
/// compiles every script, so a block that never fires is still checked there.
#[test]
fn a_broken_plan_script_of_a_block_that_does_not_fire_is_found_by_blocks_list() {
    let dir = "tests/manifests/rhai-syntax-unused";
    let out = cogpack(&["plan", "tests/projects/string-project", "--blocks", dir], &repo());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("✗ unused-bad-script"), "{}", stdout(&out));
    let out = cogpack(&["blocks", "list", "--blocks", dir], &repo());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("unused-bad-script.toml:11:9"), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not compile"), "{}", stderr(&out));
}

#[test]
fn an_endless_detect_script_stops_within_5s_naming_the_block() {
    let start = Instant::now();
    let out = cogpack(&["plan", "tests/projects/string-project", "--blocks", "tests/manifests/runaway-script"], &repo());
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("block `spin` was stopped"), "{}", stderr(&out));
}

#[test]
fn a_two_block_cycle_names_both() {
    let out = cogpack(&["blocks", "list", "--blocks", "tests/manifests/cycle"], &repo());
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("chicken -> egg -> chicken"), "{err}");
    assert!(err.contains("chicken.toml:4:10") && err.contains("egg.toml:4:10"), "{err}");
}

#[test]
fn cogpack_blocks_path_adds_manifest_directories() {
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("hello.toml"), HELLO).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(["blocks", "list", "--format", "json"])
        .current_dir(repo())
        .env("COGPACK_BLOCKS_PATH", extra.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hello = json.as_array().unwrap().iter().find(|b| b["id"] == "hello").expect("hello listed");
    assert_eq!(hello["origin"], "COGPACK_BLOCKS_PATH");
}

#[test]
fn project_errors_exit_4() {
    let out = cogpack(&["plan", "tests/projects/no-predictor-project"], &repo());
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("cog.yaml does not name a predictor"), "{}", stderr(&out));
    let empty = tempfile::tempdir().unwrap();
    let out = cogpack(&["plan", empty.path().to_str().unwrap()], &repo());
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("no stack can build this project"), "{}", stderr(&out));
}

#[test]
fn stacks_list_shows_the_python_stack() {
    let out = cogpack(&["stacks", "list"], &repo());
    let text = stdout(&out);
    assert!(text.starts_with("python (order 100)"), "{text}");
    assert!(text.contains("applies when: the project has `cog.yaml`"), "{text}");
}

#[test]
fn plan_and_stacks_list_say_which_stack_won_and_why() {
    let dir = repo().join("tests/projects/node/server");
    let plan = cogpack(&["plan", dir.to_str().unwrap()], &repo());
    assert!(plan.status.success(), "{}", stderr(&plan));
    let text = stdout(&plan);
    assert!(text.contains("stack: node (`package.json` exists)\n  not python: `cog.yaml` does not exist"), "{text}");

    let list = cogpack(&["stacks", "list", dir.to_str().unwrap()], &repo());
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    assert!(text.contains(": does not apply — `cog.yaml` does not exist"), "{text}");
    assert!(text.contains(": wins — `package.json` exists"), "{text}");
    let json = cogpack(&["stacks", "list", "--format", "json", dir.to_str().unwrap()], &repo());
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let outcome = |id: &str| rows.as_array().unwrap().iter().find(|r| r["id"] == id).map(|r| r["outcome"].clone()).unwrap();
    assert_eq!(outcome("python"), "does not apply");
    assert_eq!(outcome("node"), "wins");

    // A Cog project: python wins and node is never tried.
    let list = cogpack(&["stacks", "list", "fixtures/string-project"], &repo());
    let text = stdout(&list);
    assert!(text.contains(": wins — `cog.yaml` exists") && text.contains(": not tried — an earlier stack applies"), "{text}");
}
