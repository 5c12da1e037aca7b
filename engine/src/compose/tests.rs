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

#[test]
fn the_placeholder_resolver_marks_what_it_made() {
    let deps = |names: &[&str]| -> Vec<Dependency> {
        names
            .iter()
            .map(|n| Dependency { name: n.to_string(), constraint: "*".into(), block: "b".into(), manifest: "m".into(), from_script: false })
            .collect()
    };
    let cog = serde_json::json!({"build": {"python_version": "3.13", "sdk_version": "0.16.9"}});
    let r = resolve_versions(&cog, &deps(&["python", "base-image", "cog", "torch"])).unwrap();
    assert_eq!(r["base-image"].version.as_deref(), Some("cogpack/base:py3.13-trixie"));
    assert_eq!(r["cog"].version.as_deref(), Some("0.16.9"));
    assert_eq!(r["torch"].version.as_deref(), Some("<unresolved:torch>"));
    assert!(r.values().all(|v| v.details["placeholder"] == true));
    let r = resolve_versions(&serde_json::json!({}), &deps(&["python", "base-image"])).unwrap();
    assert_eq!(r["python"].version.as_deref(), Some("3.13"));
    let r = resolve_versions(&serde_json::json!({"build": {"python_version": "3.12"}}), &deps(&["base-image"])).unwrap();
    assert_eq!(r["base-image"].version.as_deref(), Some("<unresolved:base-image>"));
}
