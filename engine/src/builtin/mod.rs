//! The built-in manifests, embedded in the binary at compile time so an installed `cogpack`
//! works from any directory. `build.rs` makes cargo rebuild when `blocks.d/` or `stacks.d/`
//! change.

use include_dir::{include_dir, Dir};

static BLOCKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../blocks.d");
static STACKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../stacks.d");

/// An embedded manifest: its repository path (`blocks.d/uv.toml`) and text.
#[derive(Debug, Clone)]
pub struct EmbeddedFile {
    pub path: String,
    pub text: &'static str,
}

fn toml_files(dir: &'static Dir<'static>, prefix: &str) -> Vec<EmbeddedFile> {
    let mut out: Vec<EmbeddedFile> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|f| {
            let name = f.path().file_name()?.to_str()?;
            Some(EmbeddedFile { path: format!("{prefix}/{name}"), text: f.contents_utf8()? })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The built-in block manifests, sorted by path.
pub fn blocks() -> Vec<EmbeddedFile> {
    toml_files(&BLOCKS, "blocks.d")
}

/// The built-in stack manifests, sorted by path.
pub fn stacks() -> Vec<EmbeddedFile> {
    toml_files(&STACKS, "stacks.d")
}
