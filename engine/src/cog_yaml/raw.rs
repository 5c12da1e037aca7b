//! cog.yaml as written: the shape and types of every key Cog knows, with spans, before any
//! semantic check. Reading never stops at the first problem: type errors, duplicate keys
//! and unknown keys are collected as diagnostics and the rest of the file is still read.

use std::sync::Arc;

use crate::diagnostics::{suggest, Diagnostic, Located, SourceFile, Span};

use super::code;
use super::yaml::{Kind, Node};

/// A key and its value: errors about the field point at the key, errors about the value
/// at the value.
#[derive(Debug, Clone)]
pub(crate) struct Field<T> {
    pub key: Span,
    pub value: Located<T>,
}

/// Top-level keys Cog reads.
pub(crate) const TOP_KEYS: &[&str] = &[
    "build",
    "image",
    "model",
    "run",
    "predict",
    "train",
    "concurrency",
    "environment",
    "weights",
];

/// Keys of `build`.
pub(crate) const BUILD_KEYS: &[&str] = &[
    "gpu",
    "python_version",
    "python_requirements",
    "python_packages",
    "system_packages",
    "run",
    "pre_install",
    "cuda",
    "cudnn",
    "sdk_version",
];

const RUN_ITEM_KEYS: &[&str] = &["command", "mounts"];
const MOUNT_KEYS: &[&str] = &["type", "id", "target"];
const CONCURRENCY_KEYS: &[&str] = &["max", "default_target"];
const WEIGHT_KEYS: &[&str] = &["name", "target", "source"];
const WEIGHT_SOURCE_KEYS: &[&str] = &["uri", "include", "exclude"];

#[derive(Debug, Default)]
pub(crate) struct RawCogYaml {
    /// The whole document (empty at 0 for an empty file).
    pub document: Span,
    pub build: Option<Field<RawBuild>>,
    pub image: Option<Field<String>>,
    pub model: Option<Field<String>>,
    pub run: Option<Field<String>>,
    pub predict: Option<Field<String>>,
    pub train: Option<Field<String>>,
    pub concurrency: Option<Field<RawConcurrency>>,
    pub environment: Option<Field<Vec<Located<String>>>>,
    pub weights: Option<Field<Vec<Located<RawWeight>>>>,
    /// Paths of fields that were present but had the wrong type (already reported), so the
    /// checker does not also call them missing.
    pub type_errors: std::collections::HashSet<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawBuild {
    pub gpu: Option<Field<bool>>,
    pub python_version: Option<Field<String>>,
    pub python_requirements: Option<Field<String>>,
    pub python_packages: Option<Field<Vec<Located<String>>>>,
    pub system_packages: Option<Field<Vec<Located<String>>>>,
    pub run: Option<Field<Vec<Located<RawRunItem>>>>,
    pub pre_install: Option<Field<Vec<Located<String>>>>,
    pub cuda: Option<Field<String>>,
    pub cudnn: Option<Field<String>>,
    pub sdk_version: Option<Field<String>>,
}

/// A `build.run` item: a string, or `{command, mounts}`.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawRunItem {
    pub command: Option<Located<String>>,
    pub mounts: Vec<Located<RawMount>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawMount {
    pub kind: Option<Located<String>>,
    pub id: Option<Located<String>>,
    pub target: Option<Located<String>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawConcurrency {
    pub max: Option<Field<i64>>,
    pub default_target: Option<Field<i64>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawWeight {
    pub name: Option<Located<String>>,
    pub target: Option<Located<String>>,
    pub source: Option<Field<Vec<Located<RawWeightSource>>>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawWeightSource {
    pub uri: Option<Located<String>>,
    pub include: Vec<Located<String>>,
    pub exclude: Vec<Located<String>>,
}

/// Reads nodes into raw types, collecting diagnostics.
pub(crate) struct Reader<'f> {
    file: &'f Arc<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
    type_errors: std::collections::HashSet<String>,
}

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'f> Reader<'f> {
    pub fn new(file: &'f Arc<SourceFile>) -> Self {
        Reader {
            file,
            diagnostics: Vec::new(),
            type_errors: Default::default(),
        }
    }

    fn type_error(&mut self, path: &str, node: &Node, expected: &str) {
        self.type_errors.insert(path.to_string());
        self.diagnostics.push(
            Diagnostic::error(
                code::INVALID_TYPE,
                format!(
                    "invalid {path}: must be {expected}, found {}",
                    node.describe()
                ),
            )
            .with_primary(self.file, node.span, format!("expected {expected}")),
        );
    }

    /// The entries of a mapping with scalar keys. Reports duplicate keys (first one wins, as
    /// an error like Go's YAML library gives) and unknown keys (a warning: Cog ignores them).
    /// `None` when the node is null (treated as absent) or not a mapping (reported).
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
    ) -> Option<Vec<(&'n str, Span, &'n Node)>> {
        let entries = match &node.kind {
            Kind::Map(entries) => entries,
            _ if node.is_null() => return None,
            _ => {
                self.type_error(
                    if path.is_empty() { "cog.yaml" } else { path },
                    node,
                    "a mapping",
                );
                return None;
            }
        };
        let mut out: Vec<(&'n str, Span, &'n Node)> = Vec::new();
        // Where each key was first defined: duplicates are found in linear time, whatever
        // the number of keys.
        let mut seen: std::collections::HashMap<&'n str, Span> = std::collections::HashMap::new();
        for (key, value) in entries {
            let Some(name) = key.as_scalar().map(|s| s.text.as_str()) else {
                self.type_error(
                    &format!("key in {}", if path.is_empty() { "cog.yaml" } else { path }),
                    key,
                    "a string",
                );
                continue;
            };
            if let Some(&first) = seen.get(name) {
                self.diagnostics.push(
                    Diagnostic::error(
                        code::DUPLICATE_KEY,
                        format!(
                            "invalid {}: mapping key {name:?} already defined",
                            join(path, name)
                        ),
                    )
                    .with_primary(self.file, key.span, "defined again here")
                    .with_secondary(self.file, first, "first defined here")
                    .with_help("remove one of them; cogpack uses the first"),
                );
                continue;
            }
            if !known.contains(&name) {
                self.unknown_key(path, name, key.span, known);
            }
            seen.insert(name, key.span);
            out.push((name, key.span, value));
        }
        Some(out)
    }

    fn unknown_key(&mut self, path: &str, name: &str, span: Span, known: &[&str]) {
        let place = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in {path}")
        };
        let help = if let Some(close) = suggest(name, known.iter().copied()) {
            Some(format!("did you mean `{close}`?"))
        } else if path.is_empty() && BUILD_KEYS.contains(&name) {
            Some(format!("`{name}` belongs under `build:`"))
        } else if path == "build" && TOP_KEYS.contains(&name) {
            Some(format!(
                "`{name}` belongs at the top level, not under `build:`"
            ))
        } else {
            None
        };
        self.diagnostics.push(
            Diagnostic::warning(
                code::UNKNOWN_FIELD,
                format!(
                    "unknown field {:?} {place}; Cog ignores it",
                    join(path, name)
                ),
            )
            .with_primary(self.file, span, "unknown field")
            .with_help_opt(help),
        );
    }

    /// A string field. Any scalar is read as its text, like Go's YAML library does for
    /// string fields (`3.10` stays "3.10"); null is absent.
    fn string(&mut self, node: &Node, path: &str) -> Option<Located<String>> {
        match node.as_scalar() {
            Some(s) if s.is_null() => None,
            Some(s) => Some(Located::new(s.text.clone(), node.span)),
            None => {
                self.type_error(path, node, "a string");
                None
            }
        }
    }

    /// A boolean: plain `true`/`false` in any common case, and the YAML 1.1 words
    /// (`yes`/`no`/`on`/`off`) that Go's YAML library accepts into boolean fields.
    fn boolean(&mut self, node: &Node, path: &str) -> Option<Located<bool>> {
        let value = match node.as_scalar() {
            Some(s) if s.is_null() => return None,
            Some(s) if s.plain => match s.text.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y"
                | "Y" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
                | "N" => Some(false),
                _ => None,
            },
            _ => None,
        };
        match value {
            Some(v) => Some(Located::new(v, node.span)),
            None => {
                self.type_error(path, node, "a boolean (true or false)");
                None
            }
        }
    }

    /// An integer (plain decimal).
    fn integer(&mut self, node: &Node, path: &str) -> Option<Located<i64>> {
        match node.as_scalar() {
            Some(s) if s.is_null() => None,
            Some(s) if s.plain => match s.text.replace('_', "").parse::<i64>() {
                Ok(v) => Some(Located::new(v, node.span)),
                Err(_) => {
                    self.type_error(path, node, "an integer");
                    None
                }
            },
            _ => {
                self.type_error(path, node, "an integer");
                None
            }
        }
    }

    /// The items of a list; null is an empty list.
    fn list<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ if node.is_null() => None,
            _ => {
                self.type_error(path, node, "a list");
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, path: &str) -> Vec<Located<String>> {
        let Some(items) = self.list(node, path) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
            .collect()
    }

    fn field<T>(key: Span, node: &Node, value: T) -> Field<T> {
        Field {
            key,
            value: Located::new(value, node.span),
        }
    }

    fn string_field(&mut self, key: Span, node: &Node, path: &str) -> Option<Field<String>> {
        self.string(node, path).map(|value| Field { key, value })
    }

    /// Read the whole document.
    pub fn read(&mut self, root: Option<&Node>) -> RawCogYaml {
        let mut raw = self.read_document(root);
        raw.type_errors = std::mem::take(&mut self.type_errors);
        raw
    }

    fn read_document(&mut self, root: Option<&Node>) -> RawCogYaml {
        let mut raw = RawCogYaml::default();
        let Some(root) = root else { return raw };
        raw.document = root.span;
        let Some(entries) = self.mapping(root, "", TOP_KEYS) else {
            return raw;
        };
        for (name, key, node) in entries {
            match name {
                "build" => {
                    raw.build = self.build(node).map(|b| Self::field(key, node, b));
                }
                "image" => raw.image = self.string_field(key, node, name),
                "model" => raw.model = self.string_field(key, node, name),
                "run" => raw.run = self.string_field(key, node, name),
                "predict" => raw.predict = self.string_field(key, node, name),
                "train" => raw.train = self.string_field(key, node, name),
                "concurrency" => {
                    raw.concurrency = self.concurrency(node).map(|c| Self::field(key, node, c));
                }
                "environment" => {
                    let items = self.string_list(node, name);
                    raw.environment = Some(Self::field(key, node, items));
                }
                "weights" => {
                    let items = self.weights(node);
                    raw.weights = Some(Self::field(key, node, items));
                }
                _ => {}
            }
        }
        raw
    }

    fn build(&mut self, node: &Node) -> Option<RawBuild> {
        let entries = self.mapping(node, "build", BUILD_KEYS)?;
        let mut build = RawBuild::default();
        for (name, key, node) in entries {
            let path = join("build", name);
            match name {
                "gpu" => {
                    build.gpu = self.boolean(node, &path).map(|value| Field { key, value });
                }
                "python_version" => build.python_version = self.string_field(key, node, &path),
                "python_requirements" => {
                    build.python_requirements = self.string_field(key, node, &path);
                }
                "python_packages" => {
                    let items = self.string_list(node, &path);
                    build.python_packages = Some(Self::field(key, node, items));
                }
                "system_packages" => {
                    let items = self.string_list(node, &path);
                    build.system_packages = Some(Self::field(key, node, items));
                }
                "pre_install" => {
                    let items = self.string_list(node, &path);
                    build.pre_install = Some(Self::field(key, node, items));
                }
                "run" => {
                    let items = self.run_items(node, &path);
                    build.run = Some(Self::field(key, node, items));
                }
                "cuda" => build.cuda = self.string_field(key, node, &path),
                "cudnn" => build.cudnn = self.string_field(key, node, &path),
                "sdk_version" => build.sdk_version = self.string_field(key, node, &path),
                _ => {}
            }
        }
        Some(build)
    }

    fn run_items(&mut self, node: &Node, path: &str) -> Vec<Located<RawRunItem>> {
        let Some(items) = self.list(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            match &item.kind {
                Kind::Scalar(_) => {
                    if let Some(command) = self.string(item, &path) {
                        out.push(Located::new(
                            RawRunItem {
                                command: Some(command),
                                mounts: Vec::new(),
                            },
                            item.span,
                        ));
                    }
                }
                Kind::Map(_) => {
                    let Some(entries) = self.mapping(item, &path, RUN_ITEM_KEYS) else {
                        continue;
                    };
                    let mut run = RawRunItem::default();
                    for (name, _, node) in entries {
                        match name {
                            "command" => run.command = self.string(node, &join(&path, name)),
                            "mounts" => run.mounts = self.mounts(node, &join(&path, name)),
                            _ => {}
                        }
                    }
                    out.push(Located::new(run, item.span));
                }
                Kind::Seq(_) => {
                    self.type_error(&path, item, "a command string or a mapping with `command`");
                }
            }
        }
        out
    }

    fn mounts(&mut self, node: &Node, path: &str) -> Vec<Located<RawMount>> {
        let Some(items) = self.list(node, path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            let Some(entries) = self.mapping(item, &path, MOUNT_KEYS) else {
                if item.is_null() {
                    self.type_error(&path, item, "a mapping");
                }
                continue;
            };
            let mut mount = RawMount::default();
            for (name, _, node) in entries {
                let value = self.string(node, &join(&path, name));
                match name {
                    "type" => mount.kind = value,
                    "id" => mount.id = value,
                    "target" => mount.target = value,
                    _ => {}
                }
            }
            out.push(Located::new(mount, item.span));
        }
        out
    }

    fn concurrency(&mut self, node: &Node) -> Option<RawConcurrency> {
        let entries = self.mapping(node, "concurrency", CONCURRENCY_KEYS)?;
        let mut c = RawConcurrency::default();
        for (name, key, node) in entries {
            let value = self.integer(node, &join("concurrency", name));
            let field = value.map(|value| Field { key, value });
            match name {
                "max" => c.max = field,
                "default_target" => c.default_target = field,
                _ => {}
            }
        }
        Some(c)
    }

    fn weights(&mut self, node: &Node) -> Vec<Located<RawWeight>> {
        let Some(items) = self.list(node, "weights") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("weights[{i}]");
            let Some(entries) = self.mapping(item, &path, WEIGHT_KEYS) else {
                if item.is_null() {
                    self.type_error(&path, item, "a mapping");
                }
                continue;
            };
            let mut weight = RawWeight::default();
            for (name, key, node) in entries {
                let field_path = join(&path, name);
                match name {
                    "name" => weight.name = self.string(node, &field_path),
                    "target" => weight.target = self.string(node, &field_path),
                    "source" => {
                        // One source object, or a list of them.
                        let sources = match &node.kind {
                            Kind::Seq(items) => items
                                .iter()
                                .enumerate()
                                .filter_map(|(j, s)| {
                                    self.weight_source(s, &format!("{field_path}[{j}]"))
                                })
                                .collect(),
                            _ => self.weight_source(node, &field_path).into_iter().collect(),
                        };
                        weight.source = Some(Self::field(key, node, sources));
                    }
                    _ => {}
                }
            }
            out.push(Located::new(weight, item.span));
        }
        out
    }

    fn weight_source(&mut self, node: &Node, path: &str) -> Option<Located<RawWeightSource>> {
        let entries = self.mapping(node, path, WEIGHT_SOURCE_KEYS)?;
        let mut source = RawWeightSource::default();
        for (name, _, value) in entries {
            let field_path = join(path, name);
            match name {
                "uri" => source.uri = self.string(value, &field_path),
                "include" => source.include = self.string_list(value, &field_path),
                "exclude" => source.exclude = self.string_list(value, &field_path),
                _ => {}
            }
        }
        Some(Located::new(source, node.span))
    }
}
