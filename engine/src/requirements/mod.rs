//! pip requirements files: parsed line by line, keeping every line's number and text, and
//! rewritten for a resolved torch variant without touching the user's other lines.
//!
//! [`RequirementsFile::parse`] reads one file; [`RequirementsFile::load`] also follows `-r`
//! (requirements) and `-c` (constraints) includes relative to the including file, refusing
//! cycles. Each logical line (continuations with a trailing `\` are joined) is one [`Line`]:
//! blank, comment, an option (`--index-url`, `--extra-index-url`, `-f`/`--find-links`,
//! `--pre`, `--trusted-host`, ...; unknown options are kept as they are), or a
//! [`Requirement`]: a PEP 508 `name[extras] specifier ; marker`, a `name @ url`, a bare URL or
//! local path (wheel filenames give the name and version), or `-e` editable.
//!
//! [`rewrite`] swaps the requirement lines of chosen packages (torch, torchvision, torchaudio)
//! and adds `--extra-index-url` lines, keeping every other line verbatim. Environment markers
//! are evaluated only as far as Linux goes ([`evaluate_on_linux`]): a line for another OS is
//! neither resolved nor rewritten.

mod marker;
mod parse;
mod rewrite;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use marker::evaluate_on_linux;
pub use rewrite::{
    rewrite, AddedLine, ChangedLine, Replacement, RewritePlan, RewrittenRequirements,
};

use crate::resolve::version::{SpecifierSet, Version};

/// A requirements file could not be read or parsed. Exit code:
/// [`crate::diagnostics::exit::PROJECT`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequirementsError {
    /// The file (or an included one) could not be read.
    #[error("cannot read {path}{}: {message}", .included_from.as_ref().map(|f| format!(" (included from {f})")).unwrap_or_default())]
    Io {
        /// The file, as shown to users.
        path: String,
        /// `file:line` of the `-r`/`-c` line that included it.
        included_from: Option<String>,
        /// The OS error.
        message: String,
    },
    /// A line does not parse.
    #[error("{path}:{line}: {message}{}", .help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// `-r`/`-c` includes form a cycle.
    #[error("{path}:{line}: `{include}` includes a file that is already being read: {}", .chain.join(" -> "))]
    Cycle {
        /// The including file.
        path: String,
        /// The `-r` line.
        line: u32,
        /// The include as written.
        include: String,
        /// The chain of files.
        chain: Vec<String>,
    },
}

impl RequirementsError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        crate::diagnostics::exit::PROJECT
    }
}

/// One requirements file, parsed, with the files it includes when loaded from disk.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementsFile {
    /// The path as shown to users (relative to the project, e.g. `requirements.txt`).
    pub path: String,
    /// Logical lines in file order.
    pub lines: Vec<Line>,
    /// Files included with `-r`/`-c`, when loaded with [`RequirementsFile::load`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub included: Vec<Included>,
}

/// A file included by a `-r` or `-c` line.
#[derive(Debug, Clone, Serialize)]
pub struct Included {
    /// `-r` (requirements) or `-c` (constraints).
    pub kind: IncludeKind,
    /// The line of the including file.
    pub from_line: u32,
    /// The included file.
    pub file: RequirementsFile,
}

/// How a file is included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncludeKind {
    /// `-r`/`--requirement`: its requirements are installed.
    Requirements,
    /// `-c`/`--constraint`: its entries only constrain versions.
    Constraints,
}

/// One logical line.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// First physical line, 1-based.
    pub line: u32,
    /// Last physical line (differs when `\` continues the line).
    pub end_line: u32,
    /// The physical text, verbatim (continued lines joined with `\n`).
    pub raw: String,
    /// What the line is.
    pub kind: LineKind,
}

/// What a logical line is.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineKind {
    /// Nothing but whitespace.
    Blank,
    /// Only a comment.
    Comment,
    /// A global option (`--index-url URL`, `-r file`, `--pre`, ...).
    Option(OptionLine),
    /// A requirement.
    Requirement(Requirement),
}

/// A global option line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionLine {
    /// The option's long name (`--index-url` for `-i`), or as written when unknown.
    pub name: String,
    /// Its value, if it takes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// How a requirement names what to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementForm {
    /// `name[extras] specifier ; marker`.
    Named,
    /// `name @ url`, or a bare URL.
    Url,
    /// A local file or directory (`./dist/pkg-1.0-py3-none-any.whl`).
    Path,
    /// `-e path_or_url`.
    Editable,
}

/// A requirement line.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// How it names what to install.
    pub form: RequirementForm,
    /// The project name as written, when known (from the line, `#egg=`, or a wheel filename).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Extras, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// The version specifier text, e.g. `==2.0.1` (empty when none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub specifier: String,
    /// The environment marker after `;`, without the `;`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The URL or path for URL/path/editable forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The version a wheel filename carries (`torch-2.0.1+cu118-...whl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_version: Option<String>,
    /// Per-requirement options (`--hash=sha256:...`), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A trailing comment, with its leading whitespace (` # pinned`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip)]
    pub(crate) spec: SpecifierSet,
}

impl Requirement {
    /// The PEP 503 normalised name (`Torch_Vision` -> `torch-vision`).
    pub fn normalized_name(&self) -> Option<String> {
        self.name.as_deref().map(normalize_name)
    }

    /// The parsed version specifier (empty set when none was given).
    pub fn specifier_set(&self) -> &SpecifierSet {
        &self.spec
    }

    /// False when the line's environment marker rules out Linux (`; sys_platform == "darwin"`);
    /// markers that depend on anything else count as applying.
    pub fn applies_on_linux(&self) -> bool {
        self.marker
            .as_deref()
            .is_none_or(|m| evaluate_on_linux(m) != Some(false))
    }

    /// The version this line pins, from `==V` or from a wheel filename.
    pub fn pinned_version(&self) -> Option<Version> {
        if let Some(v) = self.spec.exact() {
            return Some(v.clone());
        }
        self.file_version
            .as_deref()
            .and_then(|v| Version::parse(v).ok())
    }
}

/// PEP 503 name normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A requirement found while walking a file and its includes.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The file the line is in.
    pub path: &'a str,
    /// The line.
    pub line: &'a Line,
    /// The requirement on it.
    pub requirement: &'a Requirement,
    /// True when it comes from a `-c` constraints file (it constrains, it does not install).
    pub constraint: bool,
}

impl RequirementsFile {
    /// Parses one file's text; `-r`/`-c` lines are kept but not followed.
    pub fn parse(path: &str, text: &str) -> Result<Self, RequirementsError> {
        parse::parse(path, text)
    }

    /// Reads `file` (shown to users as `label`) and every file it includes with `-r`/`-c`,
    /// resolved relative to the including file.
    pub fn load(file: &Path, label: &str) -> Result<Self, RequirementsError> {
        let mut stack = Vec::new();
        load_rec(file, label, None, &mut stack)
    }

    /// Every requirement in this file and its includes, in order; `-c` files' entries are
    /// marked as constraints.
    pub fn requirements(&self) -> Vec<Found<'_>> {
        let mut out = Vec::new();
        self.walk(false, &mut out);
        out
    }

    fn walk<'a>(&'a self, constraint: bool, out: &mut Vec<Found<'a>>) {
        for line in &self.lines {
            match &line.kind {
                LineKind::Requirement(r) => {
                    out.push(Found {
                        path: &self.path,
                        line,
                        requirement: r,
                        constraint,
                    });
                }
                LineKind::Option(o) if is_include(&o.name) => {
                    if let Some(inc) = self.included.iter().find(|i| i.from_line == line.line) {
                        inc.file
                            .walk(constraint || inc.kind == IncludeKind::Constraints, out);
                    }
                }
                _ => {}
            }
        }
    }

    /// Every global option line (index URLs, find-links, ...) in this file and its includes.
    pub fn options(&self) -> Vec<(&str, &Line, &OptionLine)> {
        let mut out = Vec::new();
        for line in &self.lines {
            if let LineKind::Option(o) = &line.kind {
                out.push((self.path.as_str(), line, o));
                if is_include(&o.name) {
                    if let Some(inc) = self.included.iter().find(|i| i.from_line == line.line) {
                        out.extend(inc.file.options());
                    }
                }
            }
        }
        out
    }
}

fn is_include(name: &str) -> bool {
    name == "--requirement" || name == "--constraint"
}

fn load_rec(
    file: &Path,
    label: &str,
    included_from: Option<String>,
    stack: &mut Vec<(PathBuf, String)>,
) -> Result<RequirementsFile, RequirementsError> {
    let text = std::fs::read_to_string(file).map_err(|e| RequirementsError::Io {
        path: label.to_string(),
        included_from: included_from.clone(),
        message: e.to_string(),
    })?;
    let canonical = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    stack.push((canonical, label.to_string()));
    let mut parsed = parse::parse(label, &text)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let label_dir = Path::new(label).parent().unwrap_or(Path::new(""));
    for line in &parsed.lines {
        let LineKind::Option(o) = &line.kind else {
            continue;
        };
        let kind = match o.name.as_str() {
            "--requirement" => IncludeKind::Requirements,
            "--constraint" => IncludeKind::Constraints,
            _ => continue,
        };
        let Some(target) = &o.value else { continue };
        if target.contains("://") {
            // A remote include cannot be read offline; pip reads it at install time.
            continue;
        }
        let child = dir.join(target);
        let child_label = label_dir.join(target).display().to_string();
        let child_canonical = child.canonicalize().unwrap_or_else(|_| child.clone());
        if stack.iter().any(|(p, _)| *p == child_canonical) {
            let mut chain: Vec<String> = stack.iter().map(|(_, l)| l.clone()).collect();
            chain.push(child_label);
            return Err(RequirementsError::Cycle {
                path: label.to_string(),
                line: line.line,
                include: target.clone(),
                chain,
            });
        }
        let from = format!("{label}:{}", line.line);
        let file = load_rec(&child, &child_label, Some(from), stack)?;
        parsed.included.push(Included {
            kind,
            from_line: line.line,
            file,
        });
    }
    stack.pop();
    Ok(parsed)
}
