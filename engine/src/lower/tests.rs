use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::env::{Environment, BASE_PATH};
use super::*;

#[test]
fn env_expands_against_what_is_set_so_far() {
    let mut env = Environment::default();
    assert_eq!(env.get("PATH"), Some(BASE_PATH));
    env.set_expanded("VENV", "/venv");
    env.set_expanded("PATH", "${VENV}/bin:$PATH");
    assert_eq!(env.get("PATH").unwrap(), format!("/venv/bin:{BASE_PATH}"));
    assert_eq!(
        env.expand("$NOPE-x"),
        "-x",
        "unknown variables expand to nothing"
    );
    assert_eq!(
        env.expand(r"cost \$5 $ ${ ${1x} $1"),
        r"cost $5 $ ${ ${1x} $1"
    );
    assert_eq!(env.expand("a${VENV}b$VENV/c"), "a/venvb/venv/c");
    env.apply_entry("VENV=/other");
    // Setting a key again keeps its position.
    assert_eq!(env.entries()[1], "VENV=/other");
    assert_eq!(env.entries().len(), 2);
}

#[test]
fn dockerignore_is_parsed_like_docker() {
    let text = "\u{feff}# comment\n\n  .git  \n/build/\n!build/keep\n**/__pycache__\n./a//b/../c\n";
    assert_eq!(
        parse_dockerignore(text).unwrap(),
        vec![".git", "build", "!build/keep", "**/__pycache__", "a/c"]
    );
    assert_eq!(parse_dockerignore("ok\n[abc\n").unwrap_err().0, 2);
    assert!(parse_dockerignore("!\n").unwrap_err().1.contains('!'));
    assert!(parse_dockerignore("x\\").is_err());
    assert!(parse_dockerignore("[a-c]*.py\n\\[literal\n").is_ok());
}

#[test]
fn malformed_dockerignore_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".dockerignore"),
        "weights/\n*.ckpt\nsrc/[oops\n",
    )
    .unwrap();
    let err = dockerignore::read(dir.path()).unwrap_err().to_string();
    let want = format!(
        "{}:3: pattern `src/[oops` is malformed",
        dir.path().join(".dockerignore").display()
    );
    assert!(err.starts_with(&want), "{err}");
    assert_eq!(
        dockerignore::read(&dir.path().join("none")).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn ca_path_prefers_flag_then_env_then_default() {
    let flag = Path::new("/x/ca.pem");
    assert_eq!(
        choose_ca_path(Some(flag), Some(OsString::from("/env.pem"))),
        PathBuf::from("/x/ca.pem")
    );
    assert_eq!(
        choose_ca_path(None, Some(OsString::from("/env.pem"))),
        PathBuf::from("/env.pem")
    );
    assert_eq!(
        choose_ca_path(None, Some(OsString::new())),
        PathBuf::from(DEFAULT_CA_PATH)
    );
    assert_eq!(choose_ca_path(None, None), PathBuf::from(DEFAULT_CA_PATH));
    let missing = host_ca_bundle(Some(Path::new("/nonexistent/ca.pem")))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("/nonexistent/ca.pem") && missing.contains("--ca-cert"),
        "{missing}"
    );
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("x.crt");
    std::fs::write(&not_pem, "hello").unwrap();
    assert!(host_ca_bundle(Some(&not_pem))
        .unwrap_err()
        .to_string()
        .contains("no PEM certificate"));
}

#[test]
fn engine_caps_follow_buildkit_versions() {
    let old = EngineCaps::buildkit_v0_8();
    assert!(!old.merge_op);
    assert!(old.supports("source.local.includepatterns") && old.supports("exec.mount.tmpfs"));
    assert!(!old.supports("file.copy.includeexcludepatterns") && !old.supports("mergeop"));
    let new = EngineCaps::modern();
    assert!(
        new.merge_op && new.supports("mergeop") && new.supports("file.copy.includeexcludepatterns")
    );
    assert_eq!(
        EngineCaps::for_buildkit_version("v0.8.3-moby"),
        Some(old.clone())
    );
    let v10 = EngineCaps::for_buildkit_version("v0.10.6").unwrap();
    assert!(v10.merge_op && !v10.supports("exporter.multiple"));
    assert!(EngineCaps::for_buildkit_version("garbage").is_none());
    assert!(EngineCaps::from_caps(["mergeop", "file.base"]).merge_op);
    assert_eq!(
        engine::first_version_with("mergeop").unwrap(),
        "BuildKit v0.10 (Docker 23.0)"
    );
}
