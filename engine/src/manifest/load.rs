//! Finding, parsing and checking manifests into a [`Registry`].

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use crate::diagnostics::{Diagnostic, SourceFile, Span};
use super::error::{LoadError, ManifestError};
use super::model::{Block, DependencySpec, Detect, IdRef, Origin, Source, Stack, TestCase};
use super::raw::{BlockManifest, DetectManifest, StackManifest};
use super::suggest::did_you_mean;
use crate::script::{self, ScriptKind, ScriptOrigin};

/// Environment variable with extra manifest directories (colon-separated).
pub const BLOCKS_PATH_ENV: &str = "COGPACK_BLOCKS_PATH";

/// Where to look for manifests, in override order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Load the embedded built-ins (always true outside tests of the loader itself).
    pub builtin: bool,
    /// Directories from `COGPACK_BLOCKS_PATH`.
    pub blocks_path: Vec<PathBuf>,
    /// Directories from `--blocks`.
    pub flags: Vec<PathBuf>,
    /// The project directory whose `.cogpack/` is read.
    pub project: Option<PathBuf>,
    /// Compile plan and dependencies scripts when they first run, not at load: for
    /// composing a plan, which runs those of the blocks that fire only. Detect scripts (all
    /// of them run) always compile at load. Off: every script compiles at load, and a syntax
    /// error anywhere is a load error (`cogpack blocks`, the manifest tests).
    pub compile_on_use: bool,
}

impl Sources {
    /// Built-ins, `COGPACK_BLOCKS_PATH` (read now), the `--blocks` directories, and the
    /// project's `.cogpack/` when a project is given.
    pub fn from_env(flags: &[PathBuf], project: Option<&Path>) -> Sources {
        let blocks_path = std::env::var_os(BLOCKS_PATH_ENV)
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
            .unwrap_or_default();
        Sources { builtin: true, blocks_path, flags: flags.to_vec(), project: project.map(Path::to_path_buf), compile_on_use: false }
    }

    /// Only the built-ins.
    pub fn builtin_only() -> Sources {
        Sources { builtin: true, ..Sources::default() }
    }
}

/// Every known block and stack, after overrides; all scripts compiled, all references
/// checked, no ordering cycles.
#[derive(Debug, Default)]
pub struct Registry {
    blocks: BTreeMap<String, Block>,
    stacks: BTreeMap<String, Stack>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    Stack,
}

struct RawFile {
    origin: Origin,
    kind: Kind,
    path: PathBuf,
    file: Arc<SourceFile>,
}

impl Registry {
    /// Loads manifests from `sources`. Every problem found is returned, not only the first.
    pub fn load(sources: &Sources) -> Result<Registry, LoadError> {
        let mut errors = Vec::new();
        let files = collect(sources, &mut errors);
        let mut registry = Registry::default();
        for raw in files {
            let id = match file_id(&raw) {
                Ok(id) => id,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let source = Source { origin: raw.origin, path: raw.path.clone(), file: raw.file.clone() };
            match raw.kind {
                Kind::Block => match parse_block(&id, source, sources.compile_on_use, &mut errors) {
                    Some(mut block) => {
                        if let Some(old) = registry.blocks.remove(&id) {
                            block.overrides = old.overrides;
                            block.overrides.push(old.source);
                        }
                        registry.blocks.insert(id, block);
                    }
                    None => continue,
                },
                Kind::Stack => match parse_stack(&id, source, &mut errors) {
                    Some(mut stack) => {
                        if let Some(old) = registry.stacks.remove(&id) {
                            stack.overrides = old.overrides;
                            stack.overrides.push(old.source);
                        }
                        registry.stacks.insert(id, stack);
                    }
                    None => continue,
                },
            }
        }
        if errors.is_empty() {
            registry.check_references(&mut errors);
        }
        if errors.is_empty() {
            let all: Vec<&Block> = registry.blocks.values().collect();
            if let Err(e) = crate::dag::order(&all, &|_| usize::MAX) {
                errors.push(e.into());
            }
        }
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(LoadError { errors })
        }
    }

    /// The block with this id.
    pub fn block(&self, id: &str) -> Option<&Block> {
        self.blocks.get(id)
    }

    /// Every block, by id.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.blocks.values()
    }

    /// The stack with this id.
    pub fn stack(&self, id: &str) -> Option<&Stack> {
        self.stacks.get(id)
    }

    /// Stacks in the order detection tries them: ascending `order`, a stack from a later
    /// source before a built-in one, then id.
    pub fn stacks(&self) -> Vec<&Stack> {
        let mut out: Vec<&Stack> = self.stacks.values().collect();
        // At the same order, a stack from a later source (the project's, then `--blocks`,
        // then COGPACK_BLOCKS_PATH) is tried before a built-in one: a dropped-in copy of a
        // stack under another id takes effect.
        out.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| b.source.origin.cmp(&a.source.origin)).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// The blocks that take part when `stack` wins: the ones it lists, the ones that name
    /// it in `stacks`, and blocks from outside the built-ins that name no stack.
    pub fn blocks_for_stack(&self, stack: &Stack) -> Vec<&Block> {
        let listed: Vec<&str> = stack.blocks.iter().map(|r| r.id.as_str()).collect();
        let mut out: Vec<&Block> = listed.iter().filter_map(|id| self.blocks.get(*id)).collect();
        for block in self.blocks.values() {
            if listed.contains(&block.id.as_str()) {
                continue;
            }
            let joins = block.stacks.iter().any(|s| s.id == stack.id) || (block.stacks.is_empty() && !block.is_builtin());
            if joins {
                out.push(block);
            }
        }
        out
    }

    /// Unknown block, stack and capability names, with "did you mean" hints.
    fn check_references(&self, errors: &mut Vec<ManifestError>) {
        let block_ids: Vec<&str> = self.blocks.keys().map(String::as_str).collect();
        let stack_ids: Vec<&str> = self.stacks.keys().map(String::as_str).collect();
        let capabilities: Vec<&str> =
            self.blocks.values().flat_map(|b| b.provides.iter().map(String::as_str)).collect();
        let unknown = |file: &Arc<SourceFile>, r: &IdRef, what: &str, field: &str, known: &[&str]| {
            ManifestError::UnknownReference(
                Diagnostic::error("manifest::unknown_reference", format!("`{field}` names unknown {what} `{}`", r.id))
                    .with_primary(file, Span::from(r.span.clone()), format!("no {what} has this name"))
                    .with_help_opt(did_you_mean(&r.id, known.iter().copied())),
            )
        };
        for block in self.blocks.values() {
            let file = &block.source.file;
            for (field, refs) in [("after", &block.after), ("before", &block.before)] {
                for r in refs {
                    if !self.blocks.contains_key(&r.id) {
                        errors.push(unknown(file, r, "block", field, &block_ids));
                    }
                }
            }
            for r in &block.stacks {
                if !self.stacks.contains_key(&r.id) {
                    errors.push(unknown(file, r, "stack", "stacks", &stack_ids));
                }
            }
            for r in &block.requires {
                if !capabilities.contains(&r.id.as_str()) {
                    errors.push(unknown(file, r, "capability", "requires", &capabilities));
                }
            }
        }
        for stack in self.stacks.values() {
            for r in &stack.blocks {
                if !self.blocks.contains_key(&r.id) {
                    errors.push(unknown(&stack.source.file, r, "block", "blocks", &block_ids));
                }
            }
        }
    }
}

/// Reads every manifest file, in override order.
fn collect(sources: &Sources, errors: &mut Vec<ManifestError>) -> Vec<RawFile> {
    let mut out = Vec::new();
    if sources.builtin {
        for (kind, files) in [(Kind::Block, crate::builtin::blocks()), (Kind::Stack, crate::builtin::stacks())] {
            for f in files {
                out.push(RawFile {
                    origin: Origin::Builtin,
                    kind,
                    path: PathBuf::from(&f.path),
                    file: SourceFile::new(f.path.clone(), f.text),
                });
            }
        }
    }
    for (origin, dirs) in [(Origin::BlocksPath, &sources.blocks_path), (Origin::Flag, &sources.flags)] {
        for dir in dirs {
            if !dir.is_dir() {
                errors.push(ManifestError::Io {
                    path: dir.display().to_string(),
                    message: format!("not a directory (given by {})", origin.name()),
                });
                continue;
            }
            let blocks_d = dir.join("blocks.d");
            let stacks_d = dir.join("stacks.d");
            if blocks_d.is_dir() || stacks_d.is_dir() {
                read_dir(&blocks_d, origin, Kind::Block, &mut out, errors);
                read_dir(&stacks_d, origin, Kind::Stack, &mut out, errors);
            } else {
                read_dir(dir, origin, Kind::Block, &mut out, errors);
            }
        }
    }
    if let Some(project) = &sources.project {
        let base = project.join(".cogpack");
        read_dir(&base.join("blocks.d"), Origin::Project, Kind::Block, &mut out, errors);
        read_dir(&base.join("stacks.d"), Origin::Project, Kind::Stack, &mut out, errors);
    }
    out
}

fn read_dir(dir: &Path, origin: Origin, kind: Kind, out: &mut Vec<RawFile>, errors: &mut Vec<ManifestError>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension() == Some(OsStr::new("toml")) && p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let name = path.display().to_string();
                out.push(RawFile { origin, kind, path, file: SourceFile::new(name, text) });
            }
            Err(e) => errors.push(ManifestError::Io { path: path.display().to_string(), message: e.to_string() }),
        }
    }
}

/// The id of a manifest: its file stem, which must be lowercase kebab-case.
fn file_id(raw: &RawFile) -> Result<String, ManifestError> {
    let stem = raw.path.file_stem().and_then(OsStr::to_str).unwrap_or("");
    let valid = !stem.is_empty()
        && stem.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stem.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(stem.to_string())
    } else {
        Err(ManifestError::Invalid(
            Diagnostic::error("manifest::invalid_id", format!("manifest file name `{stem}` is not a valid id"))
                .with_primary(&raw.file, Span::empty(0), "")
                .with_help("ids are the file stem: lowercase letters, digits and `-` (e.g. `blocks.d/my-block.toml`)"),
        ))
    }
}

/// Checks one manifest's text as [`Registry::load`] checks each file — TOML and shape, then
/// the checked model with every script compiled — without the checks across files
/// (references, cycles). `path` names it in diagnostics (`.cogpack/blocks.d/x.toml`); a
/// block when `block`, else a stack. For tools and the fuzzer (`fuzz/`).
pub fn check_manifest(block: bool, id: &str, path: &str, text: &str) -> Result<(), LoadError> {
    let file = SourceFile::new(path, text);
    let source = Source { origin: Origin::Project, path: PathBuf::from(path), file };
    let mut errors = Vec::new();
    if block {
        parse_block(id, source, false, &mut errors);
    } else {
        parse_stack(id, source, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LoadError { errors })
    }
}

/// A TOML or shape error as a diagnostic, with a hint for unknown keys.
fn toml_error(file: &Arc<SourceFile>, err: &toml::de::Error, what: &str) -> ManifestError {
    let message = err.message().trim().to_string();
    let span = err.span().unwrap_or(0..0);
    let mut help = None;
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, tail)) = rest.split_once('`') {
            let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            help = did_you_mean(name, expected.iter().copied())
                .or_else(|| Some(format!("valid keys here: {}", expected.join(", "))));
        }
    }
    ManifestError::Toml(
        Diagnostic::error("manifest::toml", format!("invalid {what} manifest: {message}"))
            .with_primary(file, Span::from(span), "here")
            .with_help_opt(help),
    )
}

fn id_refs(list: Vec<Spanned<String>>) -> Vec<IdRef> {
    list.into_iter().map(|s| IdRef { span: s.span(), id: s.into_inner() }).collect()
}

fn parse_block(id: &str, source: Source, compile_on_use: bool, errors: &mut Vec<ManifestError>) -> Option<Block> {
    let file = source.file.clone();
    let raw: BlockManifest = match toml::from_str(file.text()) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(toml_error(&file, &e, "block"));
            return None;
        }
    };
    let owner = format!("block `{id}`");
    let before = errors.len();
    if raw.summary.trim().is_empty() {
        errors.push(ManifestError::Invalid(
            Diagnostic::error("manifest::empty_summary", format!("{owner} has an empty `summary`"))
                .with_primary(&file, Span::empty(0), "")
                .with_help("say in one line what the block does"),
        ));
    }
    let detect = check_detect(raw.detect, &file, &owner, errors);
    let mut dependencies = Vec::new();
    for dep in raw.dependencies.fixed {
        let span = dep.constraint.span();
        let constraint = dep.constraint.into_inner();
        if let Err(message) = check_constraint(&constraint) {
            errors.push(ManifestError::Invalid(
                Diagnostic::error(
                    "manifest::invalid_constraint",
                    format!("dependency `{}` of {owner} has an invalid constraint `{constraint}`: {message}", dep.name),
                )
                .with_primary(&file, Span::from(span), "not a version requirement")
                .with_help("write a requirement like `>=3.10`, `>=2.0, <3`, `2.1.*` or `*`"),
            ));
        }
        dependencies.push(DependencySpec { name: dep.name, constraint });
    }
    let dependencies_script =
        raw.dependencies.script.and_then(|s| compile(ScriptKind::Dependencies, s, &file, &owner, compile_on_use, errors));
    let plan = raw.plan.and_then(|p| compile(ScriptKind::Plan, p.script, &file, &owner, compile_on_use, errors));
    let params = match serde_json::to_value(&raw.params) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    if errors.len() > before {
        return None;
    }
    Some(Block {
        id: id.to_string(),
        source,
        overrides: Vec::new(),
        summary: raw.summary.trim().to_string(),
        doc: raw.doc.trim().to_string(),
        status: raw.status,
        phase: raw.phase.into_inner(),
        after: id_refs(raw.after),
        before: id_refs(raw.before),
        requires: id_refs(raw.requires),
        provides: raw.provides,
        stacks: id_refs(raw.stacks),
        params,
        detect,
        dependencies,
        dependencies_script,
        plan,
        tests: raw
            .tests
            .into_iter()
            .map(|t| TestCase { project: t.project, fires: t.fires, reason: t.reason })
            .collect(),
    })
}

fn parse_stack(id: &str, source: Source, errors: &mut Vec<ManifestError>) -> Option<Stack> {
    let file = source.file.clone();
    let raw: StackManifest = match toml::from_str(file.text()) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(toml_error(&file, &e, "stack"));
            return None;
        }
    };
    let owner = format!("stack `{id}`");
    let before = errors.len();
    let detect = check_detect(raw.detect, &file, &owner, errors);
    if errors.len() > before {
        return None;
    }
    Some(Stack {
        id: id.to_string(),
        source,
        overrides: Vec::new(),
        summary: raw.summary.trim().to_string(),
        doc: raw.doc.trim().to_string(),
        order: raw.order,
        blocks: id_refs(raw.blocks),
        detect,
        export: raw.export,
    })
}

/// A script of the manifest, compiled now, or on its first run when `on_use`.
fn compile(
    kind: ScriptKind,
    text: Spanned<String>,
    file: &Arc<SourceFile>,
    owner: &str,
    on_use: bool,
    errors: &mut Vec<ManifestError>,
) -> Option<script::Script> {
    let origin = ScriptOrigin::of_toml_string(file, text.span());
    if on_use {
        return Some(script::compile_on_use(kind, text.get_ref(), origin, owner));
    }
    match script::compile(kind, text.get_ref(), origin, owner) {
        Ok(s) => Some(s),
        Err(d) => {
            errors.push(ManifestError::Script(d));
            None
        }
    }
}

fn check_detect(raw: DetectManifest, file: &Arc<SourceFile>, owner: &str, errors: &mut Vec<ManifestError>) -> Detect {
    let has_conditions = !raw.files.is_empty()
        || !raw.any_files.is_empty()
        || !raw.missing_files.is_empty()
        || !raw.config.is_empty()
        || !raw.config_equals.is_empty()
        || raw.script.is_some();
    let detect_at = find_table(file.text(), "detect");
    if raw.always && has_conditions {
        errors.push(ManifestError::Invalid(
            Diagnostic::error("manifest::invalid_detect", format!("the detect table of {owner} has `always = true` and other conditions"))
                .with_primary(file, detect_at, "")
                .with_help("remove `always`, or the conditions"),
        ));
    }
    if !raw.always && !has_conditions {
        errors.push(ManifestError::Invalid(
            Diagnostic::error("manifest::invalid_detect", format!("the detect table of {owner} has no condition"))
                .with_primary(file, detect_at, "")
                .with_help("write `always = true` for something that applies to every project"),
        ));
    }
    let script = raw.script.and_then(|s| compile(ScriptKind::Detect, s, file, owner, false, errors));
    let config_equals = raw
        .config_equals
        .into_iter()
        .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(serde_json::Value::Null)))
        .collect();
    Detect {
        always: raw.always,
        files: raw.files,
        any_files: raw.any_files,
        missing_files: raw.missing_files,
        config: raw.config,
        config_equals,
        script,
    }
}

/// The span of a `[name]` table header, or the file start.
fn find_table(text: &str, name: &str) -> Span {
    let header = format!("[{name}]");
    text.find(&header).map_or(Span::empty(0), |i| Span::new(i, i + header.len()))
}

/// Checks a version requirement: comma-separated clauses with an optional operator
/// (`==`, `=`, `>=`, `<=`, `>`, `<`, `~=`, `~`, `^`, `!=`) and a version that may end in `.*`.
pub fn check_constraint(constraint: &str) -> Result<(), String> {
    let c = constraint.trim();
    if c == "*" {
        return Ok(());
    }
    if c.is_empty() {
        return Err("it is empty".into());
    }
    for clause in c.split(',') {
        let clause = clause.trim();
        let version = ["==", ">=", "<=", "~=", "!=", "=", ">", "<", "~", "^"]
            .iter()
            .find_map(|op| clause.strip_prefix(op))
            .unwrap_or(clause)
            .trim();
        let version = version.strip_suffix(".*").unwrap_or(version);
        let (core, _local) = version.split_once('+').unwrap_or((version, ""));
        let parts: Vec<&str> = core.split('.').collect();
        if core.is_empty() || parts.len() > 4 || !parts.iter().all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_alphanumeric())) {
            return Err(format!("`{clause}` is not an operator followed by a version"));
        }
        if !parts[0].chars().all(|ch| ch.is_ascii_digit()) {
            return Err(format!("`{clause}` does not start with a number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_constraint;

    #[test]
    fn constraints() {
        for ok in ["*", ">=3.10", ">=3.10, <3.13", "==2.0.1+cu118", "2.1.*", "~=1.4", "^0.13"] {
            assert_eq!(check_constraint(ok), Ok(()), "{ok}");
        }
        for bad in ["", ">=", "abc", ">= 3..1", "3.10 or 3.11"] {
            assert!(check_constraint(bad).is_err(), "{bad}");
        }
    }
}
