use std::path::Path;

use super::*;
use crate::manifest::Sources;

fn write_block(dir: &Path, id: &str, body: &str) {
    std::fs::create_dir_all(dir.join("blocks.d")).unwrap();
    let text = format!("summary = \"{id}\"\ndoc = \"{id}\"\n{body}");
    std::fs::write(dir.join("blocks.d").join(format!("{id}.toml")), text).unwrap();
}

fn registry(dir: &Path) -> Result<Registry, crate::manifest::LoadError> {
    Registry::load(&Sources { builtin: false, flags: vec![dir.to_path_buf()], ..Default::default() })
}

fn order_of(reg: &Registry) -> Vec<String> {
    let blocks: Vec<&Block> = reg.blocks().collect();
    crate::dag::order(&blocks, &|_| usize::MAX).unwrap()
}

#[test]
fn ties_break_by_phase_then_id_and_edges_win() {
    let tmp = tempfile::tempdir().unwrap();
    write_block(tmp.path(), "zeta", "phase = \"base\"\n[detect]\nalways = true\n");
    write_block(tmp.path(), "alpha", "phase = \"app-deps\"\n[detect]\nalways = true\n");
    write_block(tmp.path(), "beta", "phase = \"app-deps\"\nbefore = [\"alpha\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "gamma", "phase = \"base\"\nafter = [\"alpha\"]\n[detect]\nalways = true\n");
    let reg = registry(tmp.path()).unwrap();
    assert_eq!(order_of(&reg), ["zeta", "beta", "alpha", "gamma"]);
}

#[test]
fn requires_orders_after_every_provider() {
    let tmp = tempfile::tempdir().unwrap();
    write_block(tmp.path(), "a-user", "phase = \"base\"\nrequires = [\"thing\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "b-maker", "phase = \"app-source\"\nprovides = [\"thing\"]\n[detect]\nalways = true\n");
    let reg = registry(tmp.path()).unwrap();
    assert_eq!(order_of(&reg), ["b-maker", "a-user"]);
}

#[test]
fn a_three_block_cycle_lists_every_block() {
    let tmp = tempfile::tempdir().unwrap();
    write_block(tmp.path(), "a", "phase = \"base\"\nafter = [\"c\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "b", "phase = \"base\"\nafter = [\"a\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "c", "phase = \"base\"\nbefore = [\"a\"]\nafter = [\"b\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "d", "phase = \"base\"\n[detect]\nalways = true\n");
    let err = registry(tmp.path()).unwrap_err();
    let text = err.errors[0].diagnostic().message.clone();
    assert!(text.starts_with("blocks form an ordering cycle: a -> b -> c -> a"), "{text}");
    for id in ["`a`", "`b`", "`c`"] {
        assert!(text.contains(&format!("block {id}")), "{id} missing: {text}");
    }
    assert!(!text.contains("`d`"), "{text}");
}

#[test]
fn detect_tables_need_a_condition_and_unknown_capabilities_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_block(tmp.path(), "empty", "phase = \"base\"\n[detect]\n");
    write_block(tmp.path(), "both", "phase = \"base\"\n[detect]\nalways = true\nfiles = [\"x\"]\n");
    write_block(tmp.path(), "needy", "phase = \"base\"\nrequires = [\"vnev\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "venv", "phase = \"base\"\nprovides = [\"venv\"]\n[detect]\nalways = true\n");
    write_block(tmp.path(), "Bad_Name", "phase = \"base\"\n[detect]\nalways = true\n");
    write_block(tmp.path(), "pinned", "phase = \"base\"\n[detect]\nalways = true\n[dependencies]\nstatic = [{ name = \"x\", constraint = \"3.10 or so\" }]\n");
    let err = registry(tmp.path()).unwrap_err();
    let all: Vec<String> = err.errors.iter().map(|e| format!("{} | {:?}", e.diagnostic().message, e.diagnostic().help)).collect();
    let joined = all.join("\n");
    assert!(joined.contains("detect table of block `empty` has no condition"), "{joined}");
    assert!(joined.contains("`always = true` and other conditions"), "{joined}");
    assert!(joined.contains("manifest file name `Bad_Name` is not a valid id"), "{joined}");
    assert!(joined.contains("invalid constraint `3.10 or so`"), "{joined}");
    // References are checked once the files themselves are valid.
    std::fs::remove_file(tmp.path().join("blocks.d/empty.toml")).unwrap();
    std::fs::remove_file(tmp.path().join("blocks.d/both.toml")).unwrap();
    std::fs::remove_file(tmp.path().join("blocks.d/Bad_Name.toml")).unwrap();
    std::fs::remove_file(tmp.path().join("blocks.d/pinned.toml")).unwrap();
    let err = registry(tmp.path()).unwrap_err();
    let d = err.errors[0].diagnostic();
    assert!(d.message.contains("unknown capability `vnev`"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("did you mean `venv`?"));
}

#[test]
fn export_env_later_entries_replace_earlier_ones() {
    let mut e = crate::plan::ExportConfig { env: vec!["A=1".into(), "B=2".into()], ..Default::default() };
    apply_export(&mut e, ExportChange::Env { key: "A".into(), value: "3".into() });
    apply_export(&mut e, ExportChange::Port("5000".into()));
    apply_export(&mut e, ExportChange::Port("5000".into()));
    assert_eq!(e.env, ["B=2", "A=3"]);
    assert_eq!(e.exposed_ports, ["5000"]);
}

fn project_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let project = Project::open(tmp.path()).unwrap();
    (tmp, project)
}

fn dep(name: &str, constraint: &str, block: &str) -> Dependency {
    Dependency {
        name: name.into(),
        constraint: constraint.into(),
        block: block.into(),
        manifest: format!("blocks.d/{block}.toml"),
        from_script: false,
        cited: None,
    }
}

#[test]
fn resolution_gives_sourced_values_tools_and_the_rewritten_requirements() {
    let (_tmp, project) = project_with(&[
        ("cog.yaml", "build:\n  gpu: true\n  python_version: \"3.11\"\n  python_requirements: reqs/requirements.txt\n  sdk_version: \"0.16.9\"\npredict: \"predict.py:P\"\n"),
        ("predict.py", "class P: pass\n"),
        ("reqs/requirements.txt", "-r base.txt\ntorch==2.0.1\n"),
        ("reqs/base.txt", "numpy<2\n"),
    ]);
    let inputs = read_inputs(&project).unwrap();
    let deps = [dep("python", ">=3.10", "python-interpreter"), dep("uv", "*", "python-interpreter"), dep("cog", "*", "cog-wheel")];
    let v = resolve_versions(&project, &inputs, &deps, &Default::default()).unwrap();
    let python = &v.values["python"];
    assert_eq!(python.version.as_deref(), Some("3.11"));
    assert_eq!(python.source, "cog.yaml:3:19 build.python_version");
    let constraints = python.details["constraints"].to_string();
    assert!(constraints.contains("block `python-interpreter` (blocks.d/python-interpreter.toml)"), "{constraints}");
    assert_eq!(v.values["cuda"].version.as_deref(), Some("11.8"));
    assert_eq!(v.values["torch"].details["index_url"], "https://download.pytorch.org/whl/cu118");
    assert_eq!(v.values["torch"].source, "reqs/requirements.txt:2");
    let image = &v.values["base_image"];
    assert_eq!(image.version.as_deref(), Some("cogpack/base:py3.11-cuda11.8-cudnn8-jammy"));
    assert_eq!(image.details["provides"], serde_json::json!(["python", "pip", "venv"]));
    assert_eq!(v.values["cog"].version.as_deref(), Some("0.16.9"));
    assert_eq!(v.values["cog"].source, "cog.yaml:5:16 build.sdk_version");
    let label = v.values["cog"].details["config_label"].as_str().unwrap();
    assert!(label.contains("\"cuda\":\"11.8\"") && label.contains("\"cudnn\":\"8\""), "{label}");
    assert_eq!(v.values["uv"].version.as_deref(), Some(DEFAULT_UV));
    assert!(v.values["uv"].source.starts_with("default: "));
    match v.requirements {
        Some(Context::Generated { files }) => {
            assert_eq!(
                files["requirements.txt"].contents,
                "--extra-index-url https://download.pytorch.org/whl/cu118\n-r base.txt\ntorch==2.0.1\n"
            );
            assert_eq!(files["base.txt"].contents, "numpy<2\n");
        }
        other => panic!("{other:?}"),
    }
    // No value is a placeholder.
    let json = serde_json::to_string(&v.values).unwrap();
    assert!(!json.contains("placeholder") && !json.contains("unresolved"), "{json}");
}

#[test]
fn a_block_constraint_on_a_tool_must_hold() {
    let (_tmp, project) = project_with(&[("cog.yaml", "build:\n  python_version: \"3.11\"\n  sdk_version: \"0.16.9\"\n")]);
    let inputs = read_inputs(&project).unwrap();
    let err = resolve_versions(&project, &inputs, &[dep("cog", ">=0.20", "needs-new-cog")], &Default::default()).unwrap_err();
    assert_eq!(err.exit_code(), crate::diagnostics::exit::RESOLVE_CONFLICT);
    let text = err.to_string();
    assert!(text.contains("block `needs-new-cog`") && text.contains("cog is 0.16.9 (cog.yaml:3:16 build.sdk_version)"), "{text}");
    // Without sdk_version, an exact block pin is used.
    let (_tmp, project) = project_with(&[("cog.yaml", "build:\n  python_version: \"3.11\"\n")]);
    let inputs = read_inputs(&project).unwrap();
    let v = resolve_versions(&project, &inputs, &[dep("cog", "==0.22.0", "pinned")], &Default::default()).unwrap();
    assert_eq!(v.values["cog"].version.as_deref(), Some("0.22.0"));
    assert_eq!(v.values["cog"].source, "block `pinned` (blocks.d/pinned.toml)");
}

#[test]
fn includes_outside_the_project_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "six\n").unwrap();
    std::fs::write(dir.join("cog.yaml"), "build:\n  python_version: \"3.11\"\n  python_requirements: requirements.txt\n").unwrap();
    std::fs::write(dir.join("requirements.txt"), "-r ../secret.txt\n").unwrap();
    let err = read_inputs(&Project::open(&dir).unwrap()).unwrap_err();
    assert_eq!(err.exit_code(), crate::diagnostics::exit::PROJECT);
    assert!(err.to_string().contains("requirements.txt:1: `../secret.txt` is outside the project"), "{err}");
}
