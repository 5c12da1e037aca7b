//! The read-only view of a project that scripts get ([`ProjectView`]), implemented by the
//! shared [`crate::project::Project`], and the `project` object scripts call.
//!
//! Paths are relative to the project root, use `/`, and may not be absolute or contain
//! `..`; a symlink that resolves outside the root is treated as absent for `has_file` and
//! is an error for `read_text`. Reads are bounded by [`READ_LIMIT`]. `read_json` parses a
//! file with [`crate::project::json`]: a malformed file is the project's fault (exit code 4),
//! reported at its `file:line:col`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use crate::diagnostics::{SourceFile, Span};

/// Largest file `read_text` returns.
pub const READ_LIMIT: u64 = 1024 * 1024;
/// Most files `glob` returns.
pub const MAX_FILES: usize = 200_000;

/// A problem with a project path or file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("path `{0}` is absolute; project paths are relative to the project root")]
    Absolute(String),
    #[error("path `{0}` leaves the project (`..`)")]
    Escapes(String),
    #[error("path `{0}` is a symlink that points outside the project")]
    SymlinkEscapes(String),
    #[error("path is empty")]
    Empty,
    #[error("`{path}` is {size} bytes; read_text reads at most {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("`{0}` is not UTF-8 text")]
    NotText(String),
    #[error("invalid glob `{pattern}`: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("cannot read `{path}`: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}:{col}: {message}")]
    NotJson { path: String, line: usize, col: usize, message: String },
    /// The project's files cannot be listed (a bad `.dockerignore`, too many files).
    #[error("{0}")]
    Walk(String),
}

/// What blocks may learn about a project. Implementations must keep every access inside the
/// project root.
pub trait ProjectView: Send + Sync {
    /// The project directory (for messages only; scripts never see it).
    fn root(&self) -> &Path;
    /// Whether `path` is a regular file (or a symlink to one inside the project).
    fn has_file(&self, path: &str) -> Result<bool, ProjectError>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> Result<bool, ProjectError>;
    /// Files matching a glob (`*` stays within a directory, `**` crosses them), sorted.
    /// `.git/` is never listed.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, ProjectError>;
    /// The text of a file, `None` when it does not exist.
    fn read_text(&self, path: &str) -> Result<Option<String>, ProjectError>;
    /// The size of a file in bytes, `None` when it does not exist.
    fn file_size(&self, path: &str) -> Result<Option<u64>, ProjectError>;
    /// A JSON file's value, `None` when it does not exist; [`ProjectError::NotJson`] at the
    /// problem's line and column when it is not JSON.
    fn read_json(&self, path: &str) -> Result<Option<serde_json::Value>, ProjectError>;
    /// Files of at least `min_bytes`, as `(path, size)`, sorted by path; what
    /// `.dockerignore` excludes and `.git` are not listed. Found by one walk, in Rust.
    fn large_files(&self, min_bytes: u64) -> Result<Vec<(String, u64)>, ProjectError>;
    /// Whether some file below directory `dir` ends with one of `suffixes` (any file when
    /// `suffixes` is empty); same files as [`ProjectView::large_files`].
    fn has_file_under(&self, dir: &str, suffixes: &[String]) -> Result<bool, ProjectError>;
    /// A project-relative path as shown to users in diagnostics.
    fn display_path(&self, rel: &str) -> String {
        rel.to_string()
    }
}

/// Validates a relative project path and normalises `./` away.
pub fn check_relative(path: &str) -> Result<PathBuf, ProjectError> {
    if path.trim().is_empty() {
        return Err(ProjectError::Empty);
    }
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(ProjectError::Escapes(path.to_string())),
            Component::RootDir | Component::Prefix(_) => return Err(ProjectError::Absolute(path.to_string())),
        }
    }
    if out.as_os_str().is_empty() {
        return Ok(PathBuf::from("."));
    }
    Ok(out)
}

/// The shared read-only project view behind the trait scripts use. Path rules: relative, no
/// `..`, no symlink escape.
impl ProjectView for crate::project::Project {
    fn root(&self) -> &Path {
        crate::project::Project::root(self)
    }

    fn has_file(&self, path: &str) -> Result<bool, ProjectError> {
        check_relative(path)?;
        Ok(crate::project::Project::has_file(self, path))
    }

    fn is_dir(&self, path: &str) -> Result<bool, ProjectError> {
        check_relative(path)?;
        Ok(crate::project::Project::is_dir(self, path))
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, ProjectError> {
        self.glob_limited(pattern, MAX_FILES).map_err(|e| from_shared(pattern, e))
    }

    fn read_text(&self, path: &str) -> Result<Option<String>, ProjectError> {
        check_relative(path)?;
        use crate::project::ProjectError as P;
        match crate::project::Project::read_text(self, path, READ_LIMIT) {
            Ok(text) => Ok(Some(text)),
            Err(P::NotFound { .. } | P::NotAFile { .. }) => Ok(None),
            Err(e) => Err(from_shared(path, e)),
        }
    }

    fn read_json(&self, path: &str) -> Result<Option<serde_json::Value>, ProjectError> {
        check_relative(path)?;
        use crate::project::ProjectError as P;
        match crate::project::Project::read_json(self, path, READ_LIMIT) {
            Ok(doc) => Ok(Some(doc.value)),
            Err(P::NotFound { .. } | P::NotAFile { .. }) => Ok(None),
            Err(e) => Err(from_shared(path, e)),
        }
    }

    fn display_path(&self, rel: &str) -> String {
        crate::project::Project::display_path(self, rel)
    }

    fn file_size(&self, path: &str) -> Result<Option<u64>, ProjectError> {
        check_relative(path)?;
        use crate::project::ProjectError as P;
        match crate::project::Project::file_size(self, path) {
            Ok(n) => Ok(Some(n)),
            Err(P::NotFound { .. } | P::NotAFile { .. } | P::OutsideProject { .. }) => Ok(None),
            Err(e) => Err(from_shared(path, e)),
        }
    }

    fn large_files(&self, min_bytes: u64) -> Result<Vec<(String, u64)>, ProjectError> {
        let index = self.index_for_scripts()?;
        Ok(index.large_files(min_bytes).into_iter().map(|f| (f.path, f.size)).collect())
    }

    fn has_file_under(&self, dir: &str, suffixes: &[String]) -> Result<bool, ProjectError> {
        let dir = check_relative(dir)?;
        let dir = dir.to_str().unwrap_or_default().replace(std::path::MAIN_SEPARATOR, "/");
        if dir == "." {
            return Ok(self.index_for_scripts()?.files().iter().any(|f| {
                suffixes.is_empty() || suffixes.iter().any(|s| f.path.ends_with(s.as_str()))
            }));
        }
        Ok(self.index_for_scripts()?.has_file_under(&dir, suffixes))
    }
}

impl crate::project::Project {
    fn index_for_scripts(&self) -> Result<std::sync::Arc<crate::project::FileIndex>, ProjectError> {
        self.files().map_err(|e| from_shared(".", e))
    }
}

fn from_shared(path: &str, e: crate::project::ProjectError) -> ProjectError {
    use crate::project::ProjectError as P;
    match e {
        P::InvalidJson { path, line, col, message } => ProjectError::NotJson { path, line, col, message },
        P::OutsideProject { .. } => ProjectError::SymlinkEscapes(path.to_string()),
        P::TooLarge { size, max, .. } => ProjectError::TooLarge { path: path.to_string(), size, limit: max },
        P::NotUtf8 { .. } => ProjectError::NotText(path.to_string()),
        P::InvalidGlob { pattern, message } => ProjectError::BadGlob { pattern, message },
        P::Dockerignore(e) => ProjectError::Walk(e.to_string()),
        e @ (P::TooManyEntries { .. } | P::TooManyMatches { .. }) => ProjectError::Walk(e.to_string()),
        other => ProjectError::Io { path: path.to_string(), message: other.to_string() },
    }
}

/// The `project` object scripts see.
#[derive(Clone)]
pub struct ProjectApi(Arc<dyn ProjectView>);

impl ProjectApi {
    pub(super) fn new(view: Arc<dyn ProjectView>) -> ProjectApi {
        ProjectApi(view)
    }

    pub(super) fn register(e: &mut Engine) {
        fn err(e: ProjectError) -> Box<EvalAltResult> {
            e.to_string().into()
        }
        e.register_type_with_name::<ProjectApi>("Project");
        e.register_fn("has_file", |p: &mut ProjectApi, path: &str| p.0.has_file(path).map_err(err));
        e.register_fn("is_dir", |p: &mut ProjectApi, path: &str| p.0.is_dir(path).map_err(err));
        e.register_fn("glob", |p: &mut ProjectApi, pattern: &str| -> Result<Array, Box<EvalAltResult>> {
            Ok(p.0.glob(pattern).map_err(err)?.into_iter().map(Dynamic::from).collect())
        });
        e.register_fn("read_text", |p: &mut ProjectApi, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            Ok(p.0.read_text(path).map_err(err)?.map_or(Dynamic::UNIT, Dynamic::from))
        });
        e.register_fn("read_json", |p: &mut ProjectApi, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            match p.0.read_json(path) {
                Ok(value) => Ok(value.map_or(Dynamic::UNIT, |v| super::json_to_dynamic(&v))),
                // The project's file is malformed: the project is at fault, not the block.
                Err(e @ ProjectError::NotJson { .. }) => Err(Box::new(EvalAltResult::ErrorRuntime(
                    Dynamic::from(super::api::ProjectRejection { message: e.to_string(), help: None, at: None }),
                    rhai::Position::NONE,
                ))),
                Err(e) => Err(err(e)),
            }
        });
        e.register_fn("file_size", |p: &mut ProjectApi, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            Ok(p.0.file_size(path).map_err(err)?.map_or(Dynamic::UNIT, |n| Dynamic::from_int(n as i64)))
        });
        e.register_fn("openapi_schema", |p: &mut ProjectApi, reference: &str| {
            p.openapi_schema(crate::schema::EntryPoints { predict: Some(reference), train: None })
        });
        e.register_fn("openapi_schema", |p: &mut ProjectApi, refs: rhai::Map| -> Result<String, Box<EvalAltResult>> {
            let mut predict = None;
            let mut train = None;
            for (key, value) in refs {
                let value = if value.is_unit() {
                    None
                } else {
                    Some(value.into_string().map_err(|t| format!("openapi_schema: `{key}` must be a string, not {t}"))?)
                };
                match key.as_str() {
                    "predict" => predict = value,
                    "train" => train = value,
                    other => return Err(format!("openapi_schema: unknown key `{other}` (expected `predict`, `train`)").into()),
                }
            }
            p.openapi_schema(crate::schema::EntryPoints { predict: predict.as_deref(), train: train.as_deref() })
        });
        e.register_fn("large_files", |p: &mut ProjectApi, min_bytes: i64| -> Result<Array, Box<EvalAltResult>> {
            let files = p.0.large_files(min_bytes.max(0) as u64).map_err(err)?;
            Ok(files
                .into_iter()
                .map(|(path, size)| {
                    let mut m = rhai::Map::new();
                    m.insert("path".into(), Dynamic::from(path));
                    m.insert("size".into(), Dynamic::from_int(size as i64));
                    Dynamic::from_map(m)
                })
                .collect())
        });
        e.register_fn("has_file_under", |p: &mut ProjectApi, dir: &str, suffixes: Array| -> Result<bool, Box<EvalAltResult>> {
            let suffixes = suffixes
                .into_iter()
                .map(|s| s.into_string().map_err(|t| format!("has_file_under: suffixes must be strings, got {t}")))
                .collect::<Result<Vec<_>, _>>()?;
            p.0.has_file_under(dir, &suffixes).map_err(err)
        });
    }

    /// The OpenAPI document of a predictor (and trainer), read statically from the
    /// project's Python files ([`crate::schema`]). A type that cannot be read is the
    /// project's fault: it is thrown like `invalid_project`, located in the Python file.
    fn openapi_schema(&self, entry: crate::schema::EntryPoints<'_>) -> Result<String, Box<EvalAltResult>> {
        crate::schema::openapi_schema(&*self.0, entry).map_err(|e| {
            let rejection = super::api::ProjectRejection { message: e.to_string(), help: e.hint(), at: self.snippet(&e) };
            Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(rejection), rhai::Position::NONE))
        })
    }

    /// The Python file and span a schema error points at, for a snippet in the diagnostic.
    fn snippet(&self, e: &crate::schema::SchemaError) -> Option<(Arc<SourceFile>, Span)> {
        let (file, loc, len) = e.location()?;
        let text = self.0.read_text(file).ok()??;
        let line_start: usize = text.split_inclusive('\n').take(loc.line.saturating_sub(1)).map(str::len).sum();
        let line = text[line_start..].split('\n').next().unwrap_or("");
        let col: usize = line.chars().take(loc.col.saturating_sub(1)).map(char::len_utf8).sum();
        let width: usize = line[col.min(line.len())..].chars().take(len).map(char::len_utf8).sum();
        let start = line_start + col.min(line.len());
        Some((SourceFile::new(self.0.display_path(file), text.clone()), Span::new(start, start + width)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    fn project() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cog.yaml"), "build: {}\n").unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deep")).unwrap();
        std::fs::write(dir.path().join("sub/deep/w.bin"), vec![0u8; 10]).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "x").unwrap();
        let p = Project::open(dir.path()).unwrap();
        (dir, p)
    }

    #[test]
    fn paths_cannot_leave_the_root() {
        let (_d, p) = project();
        let v: &dyn ProjectView = &p;
        assert!(matches!(v.read_text("../etc/passwd"), Err(ProjectError::Escapes(_))));
        assert!(matches!(v.read_text("/etc/passwd"), Err(ProjectError::Absolute(_))));
        assert!(matches!(v.has_file("/etc/passwd"), Err(ProjectError::Absolute(_))));
        assert!(v.glob("../*").is_err());
        assert_eq!(v.read_text("./cog.yaml").unwrap().as_deref(), Some("build: {}\n"));
        assert_eq!(v.read_text("missing").unwrap(), None);
        assert_eq!(v.file_size("missing").unwrap(), None);
        assert!(v.is_dir("sub").unwrap());
        assert!(!v.has_file("sub").unwrap());
    }

    #[test]
    #[cfg(unix)]
    fn symlinks_out_of_the_root_are_refused() {
        let (d, p) = project();
        let v: &dyn ProjectView = &p;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("link")).unwrap();
        assert!(!v.has_file("link").unwrap());
        assert!(matches!(v.read_text("link"), Err(ProjectError::SymlinkEscapes(_))));
        assert!(!v.glob("*").unwrap().contains(&"link".to_string()));
    }

    #[test]
    fn glob_matches_relative_paths_and_skips_git() {
        let (_d, p) = project();
        let v: &dyn ProjectView = &p;
        assert_eq!(v.glob("**/*.bin").unwrap(), vec!["sub/deep/w.bin"]);
        assert_eq!(v.glob("*.yaml").unwrap(), vec!["cog.yaml"]);
        assert!(v.glob("**").unwrap().iter().all(|f| !f.starts_with(".git")));
        assert_eq!(v.file_size("sub/deep/w.bin").unwrap(), Some(10));
    }

    #[test]
    fn read_json_parses_and_locates_errors() {
        let (d, p) = project();
        let v: &dyn ProjectView = &p;
        std::fs::write(d.path().join("ok.json"), "{\"a\": {\"b\": [1, \"x\"]}}").unwrap();
        std::fs::write(d.path().join("bad.json"), "{\n  \"a\": 1,\n  \"b\" 2\n}\n").unwrap();
        assert_eq!(v.read_json("ok.json").unwrap().unwrap()["a"]["b"][1], "x");
        assert_eq!(v.read_json("missing.json").unwrap(), None);
        let err = v.read_json("bad.json").unwrap_err().to_string();
        assert!(err.starts_with("bad.json:3:7: expected `:`"), "{err}");
    }

    #[test]
    fn large_files_come_from_one_walk_that_honours_dockerignore() {
        let (d, p) = project();
        std::fs::create_dir_all(d.path().join("data/raw")).unwrap();
        std::fs::write(d.path().join("data/raw/huge.bin"), vec![0u8; 100]).unwrap();
        std::fs::write(d.path().join("model.bin"), vec![0u8; 50]).unwrap();
        std::fs::write(d.path().join("sub/code.py"), "x").unwrap();
        std::fs::write(d.path().join(".dockerignore"), "data\n").unwrap();
        let p = Project::open(p.root()).unwrap();
        let v: &dyn ProjectView = &p;
        assert_eq!(v.large_files(20).unwrap(), vec![("model.bin".to_string(), 50)], "data/raw/huge.bin is ignored");
        assert_eq!(v.large_files(10).unwrap().len(), 3, "cog.yaml, model.bin, sub/deep/w.bin");
        assert!(v.has_file_under("sub", &[".py".to_string()]).unwrap());
        assert!(!v.has_file_under("sub/deep", &[".py".to_string()]).unwrap());
        assert!(!v.has_file_under("data", &[]).unwrap(), "data is ignored");
        assert!(v.has_file_under("../x", &[]).is_err());
    }

    #[test]
    fn reads_are_bounded() {
        let (d, p) = project();
        std::fs::write(d.path().join("big.txt"), vec![b'a'; READ_LIMIT as usize + 1]).unwrap();
        assert!(matches!(ProjectView::read_text(&p, "big.txt"), Err(ProjectError::TooLarge { .. })));
    }
}
