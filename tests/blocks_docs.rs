//! Generated artefacts are checked, not trusted: `docs/blocks/*.md` and the manifest JSON
//! schemas in `docs/schema/` must match what the registry generates.
//! `COGPACK_BLESS=1 cargo test --test blocks_docs` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cogpack::manifest::docs::{block_page, block_schema, index_page, stack_schema};
use cogpack::manifest::{Registry, Sources};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn expected() -> BTreeMap<PathBuf, String> {
    let registry = Registry::load(&Sources::builtin_only()).unwrap();
    let blocks: Vec<_> = registry.blocks().collect();
    let mut out = BTreeMap::new();
    for b in &blocks {
        out.insert(PathBuf::from(format!("docs/blocks/{}.md", b.id)), block_page(&registry, b));
    }
    out.insert(PathBuf::from("docs/blocks/README.md"), index_page(&registry, &blocks));
    out.insert(PathBuf::from("docs/schema/block.schema.json"), block_schema());
    out.insert(PathBuf::from("docs/schema/stack.schema.json"), stack_schema());
    out
}

#[test]
fn generated_docs_and_schemas_are_up_to_date() {
    let bless = std::env::var_os("COGPACK_BLESS").is_some();
    let want = expected();
    let mut stale = Vec::new();
    for (rel, text) in &want {
        let path = repo().join(rel);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != *text {
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(rel.display().to_string());
            }
        }
    }
    // Pages of blocks that no longer exist.
    for entry in std::fs::read_dir(repo().join("docs/blocks")).into_iter().flatten().flatten() {
        let rel = PathBuf::from("docs/blocks").join(entry.file_name());
        if !want.contains_key(&rel) {
            if bless {
                std::fs::remove_file(entry.path()).unwrap();
            } else {
                stale.push(format!("{} (no such block)", rel.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run `COGPACK_BLESS=1 cargo test --test blocks_docs`):\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_schema_describes_every_manifest_key() {
    let schema: serde_json::Value = serde_json::from_str(&block_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in ["summary", "doc", "status", "phase", "after", "before", "requires", "provides", "detect", "dependencies", "plan", "tests", "params"] {
        assert!(props.contains_key(key), "{key} missing from the block schema");
        assert!(props[key].get("description").is_some() || props[key].get("$ref").is_some(), "{key} undocumented");
    }
    assert_eq!(schema["additionalProperties"], false);
}
