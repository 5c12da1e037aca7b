//! Hostile and large inputs through the `cogpack` binary (issue 8, the inputs half): each
//! ends in a clear error (or a correct plan) in bounded time, and nothing from outside the
//! project, and no raw control character, is ever printed. None needs the engine: every
//! check here happens before a build would start. Limits: docs/limits.md.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// What a file outside the project holds; no output may contain it.
const SECRET: &str = "SECRET-TOKEN-9f8e7d";

fn cogpack(args: &[&str], cwd: &Path) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COGPACK_BLOCKS_PATH")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cogpack");
    (out, start.elapsed())
}

fn all_output(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A temporary directory with `secret.txt` (outside the project) and `project/` holding a
/// predictor and the given files.
fn project(files: &[(&str, &[u8])]) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("secret.txt"), format!("root:{SECRET}:0:0\n")).unwrap();
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("predict.py"),
        "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n    def predict(self, s: str) -> str:\n        return 'hello ' + s\n",
    )
    .unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    (tmp, dir)
}

/// `cogpack plan` fails with `code` within `secs`, its output containing every `needle`,
/// never the secret and never a raw control character; the output is returned.
fn plan_fails(dir: &Path, code: i32, secs: u64, needles: &[&str]) -> String {
    let (out, took) = cogpack(&["plan", "."], dir);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert!(took < Duration::from_secs(secs), "took {took:?}");
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains(SECRET), "a file outside the project was printed:\n{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in:\n{text:?}"
    );
    text
}

const COG_REQ: &[u8] = b"build:\n  python_version: \"3.11\"\n  python_requirements: requirements.txt\npredict: predict.py:Predictor\n";

#[test]
fn deep_yaml_is_a_located_error_not_a_crash() {
    // Item 4: 20,000 nested block lists under an unknown key aborted with a stack overflow.
    let mut yaml = b"build:\n  python_version: \"3.11\"\npredict: predict.py:Predictor\nunknown:\n".to_vec();
    yaml.extend("- ".repeat(20_000).as_bytes());
    yaml.extend(b"x\n");
    let (_tmp, dir) = project(&[("cog.yaml", &yaml)]);
    plan_fails(&dir, 4, 30, &["nested more than 128 levels", "cog.yaml:5:"]);
    // Flow style too.
    let flow = format!("build:\n  python_version: \"3.11\"\nx: {}\n", "[".repeat(20_000));
    let (_tmp, dir) = project(&[("cog.yaml", flow.as_bytes())]);
    plan_fails(&dir, 4, 30, &["nested more than 128 levels", "cog.yaml:3:"]);
}

#[test]
fn requirement_includes_never_read_or_print_host_files() {
    // Item 2: `-r /etc/shadow` printed the file's first line.
    let (tmp, dir) = project(&[("cog.yaml", COG_REQ)]);
    let outside = tmp.path().join("secret.txt");
    for (line, why) in [
        (format!("-r {}", outside.display()), "it is an absolute path"),
        ("-r /etc/shadow".to_string(), "it is an absolute path"),
        ("-c ../secret.txt".to_string(), "it leaves the project with `..`"),
        ("--requirement=../../../../../../etc/passwd".to_string(), "it leaves the project with `..`"),
    ] {
        std::fs::write(dir.join("requirements.txt"), format!("numpy\n{line}\n")).unwrap();
        plan_fails(&dir, 4, 30, &["requirements.txt:2: `", "is outside the project", why]);
    }
    // A symlink inside the project that leads out.
    std::os::unix::fs::symlink(&outside, dir.join("base.txt")).unwrap();
    std::fs::write(dir.join("requirements.txt"), "-r base.txt\n").unwrap();
    plan_fails(&dir, 4, 30, &["requirements.txt:1: `base.txt` is outside the project: it is a symlink"]);
}

#[test]
fn huge_requirements_are_a_project_error_naming_the_file() {
    // Item 8: a 20 MB requirements file was blamed on built-in blocks as a script-limit failure.
    let big = "numpy==1.26.0\n".repeat(20 << 20 >> 4);
    let (_tmp, dir) = project(&[("cog.yaml", COG_REQ), ("requirements.txt", big.as_bytes())]);
    let text = plan_fails(&dir, 4, 30, &["requirements.txt: it is ", "2 MiB"]);
    assert!(!text.contains("block `") && !text.contains("was stopped"), "{text}");
    // Many short lines under the byte limit: the line limit.
    let many = "a\n".repeat(10_001);
    std::fs::write(dir.join("requirements.txt"), many).unwrap();
    plan_fails(&dir, 4, 30, &["more than 10000 requirement and option lines"]);
}

#[test]
fn thousands_of_run_commands_are_a_cog_yaml_error() {
    // Item 8: 5,000 `build.run` entries were a script-limit failure of `run-commands`.
    let mut yaml = String::from("build:\n  python_version: \"3.11\"\n  run:\n");
    for i in 0..5_000 {
        yaml.push_str(&format!("    - echo {i}\n"));
    }
    yaml.push_str("predict: predict.py:Predictor\n");
    let (_tmp, dir) = project(&[("cog.yaml", yaml.as_bytes())]);
    let text = plan_fails(&dir, 4, 30, &["invalid build.run: 5000 commands", "at most 100", "cog.yaml:3:3", "127 layers"]);
    assert!(!text.contains("block `") && !text.contains("was stopped"), "{text}");
}

#[test]
fn control_characters_and_long_lines_are_never_echoed_raw() {
    // Item 8: NUL bytes and a 20 KB line were echoed raw in diagnostics.
    let yaml = format!(
        "build:\n  python_version: \"3.11\"\n  gpu: \"yes\0\x1b[2J{}\"\npredict: predict.py:Predictor\n",
        "a".repeat(20_000)
    );
    let (_tmp, dir) = project(&[("cog.yaml", yaml.as_bytes())]);
    let text = plan_fails(&dir, 4, 30, &["\\0\\x1b[2J", "more characters]", "cog.yaml:3:8"]);
    assert!(text.lines().all(|l| l.chars().count() < 600), "{text}");
    // A requirements line.
    let req = format!("numpy\nto\0rch=={}\n", "1".repeat(20_000));
    let (_tmp, dir) = project(&[("cog.yaml", COG_REQ), ("requirements.txt", req.as_bytes())]);
    let text = plan_fails(&dir, 4, 30, &["requirements.txt:2: `to\\0rch==", "more characters]"]);
    assert!(text.lines().all(|l| l.chars().count() < 600), "{text}");
}

#[test]
fn a_cog_yaml_without_a_build_section_uses_cogs_default_python() {
    // Item 9: Cog accepts it, with Python 3.13.
    let (_tmp, dir) = project(&[("cog.yaml", b"predict: predict.py:Predictor\n")]);
    let (out, _) = cogpack(&["plan", ".", "--format", "json"], &dir);
    assert!(out.status.success(), "{}", all_output(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["resolved"]["python"]["version"], "3.13", "{plan:#}");
    assert_eq!(plan["resolved"]["base_image"]["version"], "cogpack/base:py3.13-trixie", "{plan:#}");
    // With a section, python_version is still required.
    let (_tmp, dir) = project(&[("cog.yaml", b"build:\n  gpu: false\npredict: predict.py:Predictor\n")]);
    plan_fails(&dir, 4, 30, &["python_version is required"]);
}

#[test]
fn secrets_are_checked_before_the_build_and_read_bounded() {
    // Item 5: `src=/dev/zero` was read until the OOM killer came; a missing file or unset
    // variable was only noticed if a step asked for it. Every check runs before the engine is
    // contacted, so these pass without one.
    let (tmp, dir) = project(&[("cog.yaml", b"build:\n  python_version: \"3.11\"\npredict: predict.py:Predictor\n")]);
    let big = tmp.path().join("big-token");
    std::fs::write(&big, vec![b'k'; 600 * 1024]).unwrap();
    let missing = tmp.path().join("no-such-file");
    let cases = [
        ("id=tok,src=/dev/zero".to_string(), "`/dev/zero` is not a regular file".to_string()),
        (format!("id=tok,src={}", tmp.path().display()), "is not a regular file".to_string()),
        (format!("id=tok,src={}", missing.display()), format!("`{}` does not exist", missing.display())),
        (format!("id=tok,src={}", big.display()), "is larger than the 512000 bytes a secret may have".to_string()),
        ("id=tok,env=COGPACK_SURELY_UNSET_VARIABLE".to_string(), "environment variable `COGPACK_SURELY_UNSET_VARIABLE` is not set".to_string()),
    ];
    for (spec, why) in cases {
        let (out, took) = cogpack(&["build", ".", "--secret", &spec, "--engine", "unix:///nonexistent/engine.sock"], &dir);
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(2), "{spec}: {text}");
        assert!(took < Duration::from_secs(30), "{spec}: took {took:?}");
        assert!(text.contains("--secret id=tok: "), "{spec}: {text}");
        assert!(text.contains(&why), "{spec}: {text}");
        assert!(!text.contains("kkkk"), "{spec}: a secret value was printed: {text}");
    }
}
