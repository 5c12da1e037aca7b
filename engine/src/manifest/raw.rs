//! The raw manifest files, exactly as TOML: every field documented, unknown keys rejected.
//!
//! These types are only parsed; [`super::load`] checks them and turns them into
//! [`super::Block`] and [`super::Stack`]. They also produce the JSON schemas in
//! `docs/schema/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::plan::{ExportConfig, Phase};

/// `blocks.d/<id>.toml`: one block. Its id is the file stem.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cogpack block manifest")]
pub struct BlockManifest {
    /// One line saying what the block does (shown by `blocks list`).
    pub summary: String,
    /// Markdown documentation: what the block adds and why (shown by `blocks explain` and
    /// the generated reference pages).
    pub doc: String,
    /// Maturity of the block.
    #[serde(default)]
    pub status: Status,
    /// The phase the block's stages belong to unless a stage names another; also orders
    /// blocks that no edge orders.
    #[schemars(with = "Phase")]
    pub phase: Spanned<Phase>,
    /// Blocks this block runs after (when both take part).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub after: Vec<Spanned<String>>,
    /// Blocks this block runs before (when both take part).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub before: Vec<Spanned<String>>,
    /// Capabilities this block needs: it runs after every block that provides them, and a
    /// plan fails when it fires but no fired block provides one.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub requires: Vec<Spanned<String>>,
    /// Capabilities this block offers to others (`python`, `venv`, `apt`, ...).
    #[serde(default)]
    pub provides: Vec<String>,
    /// Stacks this block joins even though they do not list it. Blocks from outside the
    /// built-ins with no `stacks` join whichever stack wins.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub stacks: Vec<Spanned<String>>,
    /// Tunable values, visible to the block's scripts as `params`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub params: toml::Table,
    /// When the block applies.
    pub detect: DetectManifest,
    /// Versioned things the block needs resolved.
    #[serde(default)]
    pub dependencies: DependenciesManifest,
    /// What the block adds to the plan.
    #[serde(default)]
    pub plan: Option<PlanManifest>,
    /// Projects the block is checked against by the test suite.
    #[serde(default)]
    pub tests: Vec<TestCaseManifest>,
}

/// Maturity of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Supported; behaviour changes are announced.
    #[default]
    Stable,
    /// Works, may still change.
    Preview,
    /// Kept for old projects; will be removed.
    Deprecated,
}

impl Status {
    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Preview => "preview",
            Status::Deprecated => "deprecated",
        }
    }
}

/// Detection conditions. Every listed condition must hold (they are checked in the order
/// below), then the script, if any, decides.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectManifest {
    /// Applies to every project (no other condition may be given).
    #[serde(default)]
    pub always: bool,
    /// Paths (or globs) that must all exist in the project.
    #[serde(default)]
    pub files: Vec<String>,
    /// Paths (or globs) of which at least one must exist.
    #[serde(default)]
    pub any_files: Vec<String>,
    /// Paths (or globs) of which none may exist.
    #[serde(default)]
    pub missing_files: Vec<String>,
    /// Dotted cog.yaml keys that must be set (present, not null/false/empty).
    #[serde(default)]
    pub config: Vec<String>,
    /// Dotted cog.yaml keys that must have exactly these values.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub config_equals: toml::Table,
    /// A Rhai script returning `true`/`false`, or `#{ fires: bool, reason: "..." }`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub script: Option<Spanned<String>>,
}

/// Dependencies: fixed ones plus ones a script emits.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependenciesManifest {
    /// Dependencies the block always has when it fires.
    #[serde(default, rename = "static")]
    pub fixed: Vec<DependencyManifest>,
    /// A Rhai script returning an array of `#{ name: "...", constraint: "..." }`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub script: Option<Spanned<String>>,
}

/// One dependency.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependencyManifest {
    /// What is needed: `python`, `torch`, `cuda`, `base-image`, ...
    pub name: String,
    /// A version requirement (`>=3.10`, `2.1.*`, `*`).
    #[schemars(with = "String")]
    pub constraint: Spanned<String>,
}

/// The plan script.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanManifest {
    /// A Rhai script that adds stages, ops, contexts and export settings through `plan`.
    #[schemars(with = "String")]
    pub script: Spanned<String>,
}

/// One `[[tests]]` case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCaseManifest {
    /// A project directory name under `fixtures/` or `tests/projects/`.
    pub project: String,
    /// Whether the block is expected to fire for that project.
    pub fires: bool,
    /// Text the recorded reason must contain.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `stacks.d/<id>.toml`: one stack. Its id is the file stem.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cogpack stack manifest")]
pub struct StackManifest {
    /// One line saying what kind of project the stack builds.
    pub summary: String,
    /// Markdown documentation.
    pub doc: String,
    /// Stacks are tried by ascending `order` (a project's stack before a built-in one of the
    /// same order), then id; the first whose detect passes wins.
    #[serde(default = "default_order")]
    pub order: i64,
    /// The blocks the stack owns, in a default order used only to break ties.
    #[schemars(with = "Vec<String>")]
    pub blocks: Vec<Spanned<String>>,
    /// When the stack applies (same conditions as a block's).
    pub detect: DetectManifest,
    /// Export settings the blocks start from.
    #[serde(default)]
    pub export: ExportConfig,
}

fn default_order() -> i64 {
    100
}
