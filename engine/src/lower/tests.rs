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
