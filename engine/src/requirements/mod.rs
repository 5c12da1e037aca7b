//! pip requirements files: parsed line by line, keeping every line's number and text, and
//! rewritten for a resolved torch variant without touching the user's other lines.
//!
//! [`RequirementsFile::parse`] reads one file; [`RequirementsFile::load`] also follows `-r`
//! (requirements) and `-c` (constraints) includes relative to the including file, refusing
//! cycles. Every file it opens is confined to the project root *before a byte is read*
//! (absolute paths, `..` escapes and symlinks leading out are refused, only regular files are
//! opened) and the whole read is bounded ([`MAX_TOTAL_BYTES`], [`MAX_LINES`],
//! [`MAX_INCLUDE_DEPTH`]); errors name the including `file:line` and the path as written, and
//! never carry a byte of a file outside the project. Each logical line (continuations with a trailing `\` are joined) is one [`Line`]:
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

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

pub use marker::evaluate_on_linux;
pub use rewrite::{
    rewrite, AddedLine, ChangedLine, Replacement, RewritePlan, RewrittenRequirements,
};

use crate::resolve::version::{SpecifierSet, Version};

/// The most bytes [`RequirementsFile::load`] reads, the file and everything it includes
/// together (a file included twice counts twice). Real requirements files are a few KiB; a
/// fully hash-pinned one a few hundred.
pub const MAX_TOTAL_BYTES: u64 = 2 << 20;

/// The most requirement and option lines (blank and comment lines do not count) in a file and
/// its includes together. Every block script that reads requirements walks this list, so the
/// limit keeps their work small and a huge file a project error naming the file, not a
/// script-limit failure of a built-in block.
pub const MAX_LINES: usize = 10_000;

/// How deep `-r`/`-c` includes may nest (`a.txt` includes `b.txt` is depth 1).
pub const MAX_INCLUDE_DEPTH: usize = 16;

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
    /// A path a requirements file names (an include, a local wheel or directory) is outside
    /// the project. Nothing was read from it.
    #[error("{path}:{line}: `{target}` is outside the project{}; a build can only read files inside it\n  help: move it into the project directory and name it relative to {path}", .why)]
    Outside {
        /// The file that names it.
        path: String,
        /// The line.
        line: u32,
        /// The path as written.
        target: String,
        /// Why (`: it is absolute`, `: it leaves the project with ..`, `: it is a symlink to
        /// a file outside the project`), starting with `: `.
        why: String,
    },
    /// A limit of [`RequirementsFile::load`] was passed.
    #[error("{path}{}: {message}\n  help: {help}", .included_from.as_ref().map(|f| format!(" (included from {f})")).unwrap_or_default())]
    Limit {
        /// The file being read when the limit was passed.
        path: String,
        /// `file:line` of the `-r`/`-c` line that included it.
        included_from: Option<String>,
        /// Which limit, and the figures.
        message: String,
        /// What to do.
        help: String,
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

    /// Reads the file at `rel` (relative to the project directory `root`, and shown to
    /// users as written) and every file it includes with `-r`/`-c`, resolved relative to the
    /// including file. Every path is confined to `root` before it is opened, and the paths
    /// the lines name (local wheels, `-e ./pkg`, `--find-links ./dir`) must not leave it
    /// either (see [`RequirementsError::Outside`]).
    pub fn load(root: &Path, rel: &str) -> Result<Self, RequirementsError> {
        let root = root.canonicalize().map_err(|e| RequirementsError::Io {
            path: rel.to_string(),
            included_from: None,
            message: format!("the project directory cannot be read: {e}"),
        })?;
        let mut loader = Loader {
            root,
            stack: Vec::new(),
            bytes: 0,
            lines: 0,
        };
        let top = Target {
            written: rel.to_string(),
            label: normalize(Path::new(rel)).ok_or_else(|| RequirementsError::Io {
                path: rel.to_string(),
                included_from: None,
                message: "it is outside the project; a build can only read files inside it".into(),
            })?,
            included_from: None,
        };
        loader.load(top)
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

/// A file to open: as written, and normalised relative to the project root.
struct Target {
    /// As written on the including line (or in cog.yaml).
    written: String,
    /// Relative to the project root, `.` and `..` folded away.
    label: String,
    /// `(file, line)` of the `-r`/`-c` line that names it.
    included_from: Option<(String, u32)>,
}

struct Loader {
    /// The canonical project root.
    root: PathBuf,
    /// Canonical paths of the files being read, outermost first, with their labels.
    stack: Vec<(PathBuf, String)>,
    /// Bytes read so far, every file together.
    bytes: u64,
    /// Requirement and option lines so far, every file together.
    lines: usize,
}

impl Loader {
    fn load(&mut self, target: Target) -> Result<RequirementsFile, RequirementsError> {
        let text = self.read(&target)?;
        let label = target.label.clone();
        let mut parsed = parse::parse(&label, &text)?;
        self.lines += parsed
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Option(_) | LineKind::Requirement(_)))
            .count();
        if self.lines > MAX_LINES {
            return Err(self.limit(
                &target,
                format!("more than {MAX_LINES} requirement and option lines (with the files it includes)"),
            ));
        }
        parsed.check_local_paths()?;
        let label_dir = Path::new(&label).parent().unwrap_or(Path::new("")).to_path_buf();
        for line in &parsed.lines {
            let LineKind::Option(o) = &line.kind else {
                continue;
            };
            let kind = match o.name.as_str() {
                "--requirement" => IncludeKind::Requirements,
                "--constraint" => IncludeKind::Constraints,
                _ => continue,
            };
            let Some(written) = &o.value else { continue };
            if written.contains("://") {
                // A remote include cannot be read offline; pip reads it at install time.
                continue;
            }
            let outside = |why: &str| RequirementsError::Outside {
                path: label.clone(),
                line: line.line,
                target: written.clone(),
                why: why.to_string(),
            };
            if Path::new(written).has_root() {
                return Err(outside(": it is an absolute path"));
            }
            let child = normalize(&label_dir.join(written))
                .ok_or_else(|| outside(": it leaves the project with `..`"))?;
            if self.stack.len() > MAX_INCLUDE_DEPTH {
                return Err(RequirementsError::Limit {
                    path: label.clone(),
                    included_from: None,
                    message: format!(
                        "line {}: `{written}` would nest includes more than {MAX_INCLUDE_DEPTH} deep",
                        line.line
                    ),
                    help: "include the files from fewer levels".into(),
                });
            }
            let file = self.load(Target {
                written: written.clone(),
                label: child,
                included_from: Some((label.clone(), line.line)),
            })?;
            parsed.included.push(Included {
                kind,
                from_line: line.line,
                file,
            });
        }
        self.stack.pop();
        Ok(parsed)
    }

    /// Opens and reads one file, after checking that it is a regular file inside the root
    /// and that the bytes budget allows it. Pushes it on the include stack.
    fn read(&mut self, target: &Target) -> Result<String, RequirementsError> {
        let from = target.included_from.as_ref().map(|(f, l)| format!("{f}:{l}"));
        let io = |message: String| RequirementsError::Io {
            path: target.label.clone(),
            included_from: from.clone(),
            message,
        };
        let joined = self.root.join(&target.label);
        let canonical = match joined.canonicalize() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(io("it does not exist in the project".into()))
            }
            Err(e) => return Err(io(e.to_string())),
        };
        if !canonical.starts_with(&self.root) {
            return Err(match &target.included_from {
                Some((path, line)) => RequirementsError::Outside {
                    path: path.clone(),
                    line: *line,
                    target: target.written.clone(),
                    why: ": it is a symlink to a file outside the project".into(),
                },
                None => io("it is a symlink to a file outside the project; a build can only read files inside it".into()),
            });
        }
        if let Some((path, line)) = &target.included_from {
            if self.stack.iter().any(|(p, _)| *p == canonical) {
                let mut chain: Vec<String> = self.stack.iter().map(|(_, l)| l.clone()).collect();
                chain.push(target.label.clone());
                return Err(RequirementsError::Cycle {
                    path: path.clone(),
                    line: *line,
                    include: target.written.clone(),
                    chain,
                });
            }
        }
        let meta = std::fs::metadata(&canonical).map_err(|e| io(e.to_string()))?;
        if !meta.is_file() {
            return Err(io("it is not a regular file".into()));
        }
        let left = MAX_TOTAL_BYTES - self.bytes;
        if meta.len() > left {
            return Err(self.limit(
                target,
                format!(
                    "it is {} bytes; requirements files are read up to {MAX_TOTAL_BYTES} bytes ({} MiB) in all, with the files they include",
                    meta.len(),
                    MAX_TOTAL_BYTES >> 20
                ),
            ));
        }
        let file = std::fs::File::open(&canonical).map_err(|e| io(e.to_string()))?;
        // Bounded even if the file grows after the size check.
        let mut bytes = Vec::new();
        file.take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io(e.to_string()))?;
        if bytes.len() as u64 > left {
            return Err(self.limit(
                target,
                format!("it grew past the {MAX_TOTAL_BYTES} bytes requirements files may have in all"),
            ));
        }
        self.bytes += bytes.len() as u64;
        let text = String::from_utf8(bytes).map_err(|e| {
            io(format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        self.stack.push((canonical, target.label.clone()));
        Ok(text)
    }

    fn limit(&self, target: &Target, message: String) -> RequirementsError {
        RequirementsError::Limit {
            path: target.label.clone(),
            included_from: target.included_from.as_ref().map(|(f, l)| format!("{f}:{l}")),
            message,
            help: "split the project's requirements, or install the rest from a package index; the limits are in docs/limits.md".into(),
        }
    }
}

impl RequirementsFile {
    /// Checks that the local paths this file's lines name — wheels and archives, `-e ./pkg`,
    /// `--find-links ./dir`, `file:` URLs — stay inside the project: pip runs from the
    /// project root in the build, so `..`, `~` or an absolute path would point at something
    /// the build does not have (or, with a careless mount, something of the host). Nothing is
    /// read. [`RequirementsFile::load`] checks every file it reads.
    pub fn check_local_paths(&self) -> Result<(), RequirementsError> {
        check_local_paths(self)
    }
}

fn check_local_paths(file: &RequirementsFile) -> Result<(), RequirementsError> {
    for line in &file.lines {
        let target = match &line.kind {
            LineKind::Requirement(r) => match r.form {
                RequirementForm::Path | RequirementForm::Editable => r.url.as_deref(),
                RequirementForm::Url => r.url.as_deref().filter(|u| u.starts_with("file:")),
                RequirementForm::Named => None,
            },
            LineKind::Option(o) if o.name == "--find-links" => o.value.as_deref(),
            _ => None,
        };
        let Some(target) = target else { continue };
        if target.contains("://") && !target.starts_with("file:") {
            continue;
        }
        let path = target
            .strip_prefix("file:")
            .map(|p| p.trim_start_matches('/'))
            .unwrap_or(target);
        let path = path.split(['#', '?']).next().unwrap_or(path);
        let outside = |why: &str| RequirementsError::Outside {
            path: file.path.clone(),
            line: line.line,
            target: target.to_string(),
            why: why.to_string(),
        };
        if path.starts_with('~') {
            return Err(outside(": `~` is a home directory"));
        }
        if Path::new(path).has_root() {
            return Err(outside(": it is an absolute path"));
        }
        let base = Path::new(&file.path).parent().unwrap_or(Path::new(""));
        // pip resolves these from the directory it runs in (the project root); from the
        // file's own directory they must not leave the project either.
        if normalize(Path::new(path)).is_none() || normalize(&base.join(path)).is_none() {
            return Err(outside(": it leaves the project with `..`"));
        }
    }
    Ok(())
}

/// A relative path with `.` and `..` folded away (`""` for the root itself); `None` when it
/// is absolute or leaves its base.
pub(crate) fn normalize_path(path: &str) -> Option<String> {
    normalize(Path::new(path))
}

fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests;
