//! The checked model: blocks and stacks with compiled scripts, as the rest of the engine sees
//! them.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::SourceFile;
use super::raw::Status;
use crate::plan::{ExportConfig, Phase};
use crate::script::Script;

/// Where a manifest was found. Later origins override earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Embedded in the binary from the repository's `blocks.d/` and `stacks.d/`.
    Builtin,
    /// A directory from `COGPACK_BLOCKS_PATH`.
    BlocksPath,
    /// A directory from `--blocks DIR`.
    Flag,
    /// The project's own `.cogpack/blocks.d/` or `.cogpack/stacks.d/`.
    Project,
}

impl Origin {
    /// Short name: `builtin`, `env`, `flag`, `project`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Builtin => "builtin",
            Origin::BlocksPath => "COGPACK_BLOCKS_PATH",
            Origin::Flag => "--blocks",
            Origin::Project => "project",
        }
    }
}

/// A manifest file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub origin: Origin,
    /// Path on disk (for built-ins, the path inside the repository, e.g. `blocks.d/uv.toml`).
    pub path: PathBuf,
    /// The file's name and text, for diagnostics.
    pub file: Arc<SourceFile>,
}

impl Source {
    /// How the plan records the source: `builtin:blocks.d/uv.toml`,
    /// `project:.cogpack/blocks.d/hello.toml`, or the path of a `--blocks` file. Independent
    /// of the current directory for built-in and project manifests.
    pub fn plan_name(&self) -> String {
        match self.origin {
            Origin::Builtin => format!("builtin:{}", self.path.display()),
            Origin::Project => {
                let rel = self
                    .path
                    .components()
                    .skip_while(|c| c.as_os_str() != ".cogpack")
                    .collect::<PathBuf>();
                format!("project:{}", rel.display())
            }
            Origin::BlocksPath | Origin::Flag => self.path.display().to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Builtin => write!(f, "builtin ({})", self.file.path()),
            other => write!(f, "{} ({})", self.file.path(), other.name()),
        }
    }
}

/// A block id mentioned in a manifest, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRef {
    pub id: String,
    pub span: Range<usize>,
}

/// A checked block.
#[derive(Debug)]
pub struct Block {
    /// The file stem of its manifest.
    pub id: String,
    pub source: Source,
    /// Manifests with the same id that this one replaced, earliest first.
    pub overrides: Vec<Source>,
    pub summary: String,
    pub doc: String,
    pub status: Status,
    pub phase: Phase,
    pub after: Vec<IdRef>,
    pub before: Vec<IdRef>,
    pub requires: Vec<IdRef>,
    pub provides: Vec<String>,
    pub stacks: Vec<IdRef>,
    /// `params` as JSON values.
    pub params: BTreeMap<String, serde_json::Value>,
    pub detect: Detect,
    pub dependencies: Vec<DependencySpec>,
    pub dependencies_script: Option<Script>,
    pub plan: Option<Script>,
    pub tests: Vec<TestCase>,
}

/// A checked stack.
#[derive(Debug)]
pub struct Stack {
    pub id: String,
    pub source: Source,
    pub overrides: Vec<Source>,
    pub summary: String,
    pub doc: String,
    pub order: i64,
    /// Block ids in their default order (every id is a known block).
    pub blocks: Vec<IdRef>,
    pub detect: Detect,
    pub export: ExportConfig,
}

/// Checked detection conditions (see [`super::raw::DetectManifest`]).
#[derive(Debug, Default)]
pub struct Detect {
    pub always: bool,
    pub files: Vec<String>,
    pub any_files: Vec<String>,
    pub missing_files: Vec<String>,
    pub config: Vec<String>,
    pub config_equals: Vec<(String, serde_json::Value)>,
    pub script: Option<Script>,
}

impl Detect {
    /// The conditions in words, one per line (for `explain` and the reference pages).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.always {
            out.push("always (every project)".to_string());
        }
        for f in &self.files {
            out.push(format!("the project has `{f}`"));
        }
        if !self.any_files.is_empty() {
            let list: Vec<String> = self.any_files.iter().map(|f| format!("`{f}`")).collect();
            out.push(format!("the project has one of {}", list.join(", ")));
        }
        for f in &self.missing_files {
            out.push(format!("the project has no `{f}`"));
        }
        for key in &self.config {
            out.push(format!("cog.yaml sets `{key}`"));
        }
        for (key, value) in &self.config_equals {
            out.push(format!("cog.yaml `{key}` is {value}"));
        }
        if let Some(script) = &self.script {
            out.push(format!("the detect script ({}) says yes", script.origin.start_location()));
        }
        out
    }
}

/// A dependency written in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencySpec {
    pub name: String,
    pub constraint: String,
}

/// A `[[tests]]` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    pub project: String,
    pub fires: bool,
    pub reason: Option<String>,
}

impl Block {
    /// `path:line` of the manifest (line 1: the whole file is the block).
    pub fn defined_at(&self) -> String {
        format!("{}:1", self.source.file.path())
    }

    /// Whether the block comes from the binary itself.
    pub fn is_builtin(&self) -> bool {
        self.source.origin == Origin::Builtin
    }
}
