//! The read-only view of a project that scripts get, and its filesystem implementation.
//!
//! Paths are relative to the project root, use `/`, and may not be absolute or contain
//! `..`; a symlink that resolves outside the root is treated as absent for `has_file` and
//! is an error for `read_text`. Reads are bounded by [`READ_LIMIT`].

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rhai::{Array, Dynamic, Engine, EvalAltResult};

/// Largest file `read_text` returns.
pub const READ_LIMIT: u64 = 1024 * 1024;
/// Most files the project index holds (`glob` walks it).
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
    #[error("the project has more than {MAX_FILES} files; glob cannot index it")]
    TooManyFiles,
    #[error("cannot read `{path}`: {message}")]
    Io { path: String, message: String },
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
}

/// A project directory on disk.
pub struct FsProject {
    root: PathBuf,
    canonical_root: PathBuf,
    index: OnceLock<Result<Vec<(String, u64)>, ProjectError>>,
}

impl fmt::Debug for FsProject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsProject").field("root", &self.root).finish_non_exhaustive()
    }
}

impl FsProject {
    /// A view of `root`, which must be a directory.
    pub fn new(root: impl Into<PathBuf>) -> Result<FsProject, ProjectError> {
        let root = root.into();
        let canonical_root = root.canonicalize().map_err(|e| ProjectError::Io {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
        if !canonical_root.is_dir() {
            return Err(ProjectError::Io { path: root.display().to_string(), message: "not a directory".into() });
        }
        Ok(FsProject { root, canonical_root, index: OnceLock::new() })
    }

    /// Checks a relative path and returns it joined to the root.
    fn resolve(&self, path: &str) -> Result<PathBuf, ProjectError> {
        let clean = check_relative(path)?;
        Ok(self.canonical_root.join(clean))
    }

    /// The real path of `full` when it stays inside the root (following symlinks), else
    /// `Ok(None)` when it does not exist, or an error when it escapes.
    fn inside(&self, path: &str, full: &Path) -> Result<Option<PathBuf>, ProjectError> {
        match full.canonicalize() {
            Ok(real) if real.starts_with(&self.canonical_root) => Ok(Some(real)),
            Ok(_) => Err(ProjectError::SymlinkEscapes(path.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProjectError::Io { path: path.to_string(), message: e.to_string() }),
        }
    }

    fn index(&self) -> Result<&[(String, u64)], ProjectError> {
        let result = self.index.get_or_init(|| self.build_index());
        match result {
            Ok(files) => Ok(files),
            Err(e) => Err(e.clone()),
        }
    }

    fn build_index(&self) -> Result<Vec<(String, u64)>, ProjectError> {
        let mut files = Vec::new();
        let walker = walkdir::WalkDir::new(&self.canonical_root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.depth() == 1 && e.file_name() == ".git"));
        for entry in walker {
            let entry = entry.map_err(|e| ProjectError::Io {
                path: e.path().map(|p| p.display().to_string()).unwrap_or_default(),
                message: e.to_string(),
            })?;
            let rel = match entry.path().strip_prefix(&self.canonical_root) {
                Ok(r) if !r.as_os_str().is_empty() => r,
                _ => continue,
            };
            let Some(rel_str) = rel.to_str().map(|s| s.replace('\\', "/")) else { continue };
            let size = if entry.file_type().is_file() {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            } else if entry.file_type().is_symlink() {
                match self.inside(&rel_str, entry.path()) {
                    Ok(Some(real)) if real.is_file() => real.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => continue,
                }
            } else {
                continue;
            };
            files.push((rel_str, size));
            if files.len() > MAX_FILES {
                return Err(ProjectError::TooManyFiles);
            }
        }
        files.sort();
        Ok(files)
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

impl ProjectView for FsProject {
    fn root(&self) -> &Path {
        &self.root
    }

    fn has_file(&self, path: &str) -> Result<bool, ProjectError> {
        let full = self.resolve(path)?;
        match self.inside(path, &full) {
            Ok(Some(real)) => Ok(real.is_file()),
            Ok(None) | Err(ProjectError::SymlinkEscapes(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn is_dir(&self, path: &str) -> Result<bool, ProjectError> {
        let full = self.resolve(path)?;
        match self.inside(path, &full) {
            Ok(Some(real)) => Ok(real.is_dir()),
            Ok(None) | Err(ProjectError::SymlinkEscapes(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, ProjectError> {
        if pattern.starts_with('/') {
            return Err(ProjectError::Absolute(pattern.to_string()));
        }
        if pattern.split('/').any(|c| c == "..") {
            return Err(ProjectError::Escapes(pattern.to_string()));
        }
        let pattern_clean = pattern.trim_start_matches("./");
        let matcher = globset::GlobBuilder::new(pattern_clean)
            .literal_separator(true)
            .build()
            .map_err(|e| ProjectError::BadGlob { pattern: pattern.to_string(), message: e.kind().to_string() })?
            .compile_matcher();
        Ok(self.index()?.iter().filter(|(p, _)| matcher.is_match(p)).map(|(p, _)| p.clone()).collect())
    }

    fn read_text(&self, path: &str) -> Result<Option<String>, ProjectError> {
        let full = self.resolve(path)?;
        let Some(real) = self.inside(path, &full)? else { return Ok(None) };
        if !real.is_file() {
            return Ok(None);
        }
        let io = |e: std::io::Error| ProjectError::Io { path: path.to_string(), message: e.to_string() };
        let size = real.metadata().map_err(io)?.len();
        if size > READ_LIMIT {
            return Err(ProjectError::TooLarge { path: path.to_string(), size, limit: READ_LIMIT });
        }
        let bytes = std::fs::read(&real).map_err(io)?;
        String::from_utf8(bytes).map(Some).map_err(|_| ProjectError::NotText(path.to_string()))
    }

    fn file_size(&self, path: &str) -> Result<Option<u64>, ProjectError> {
        let full = self.resolve(path)?;
        match self.inside(path, &full) {
            Ok(Some(real)) if real.is_file() => Ok(real.metadata().ok().map(|m| m.len())),
            Ok(_) | Err(ProjectError::SymlinkEscapes(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The shared read-only project view (`crate::project::Project`) behind the same trait, so
/// compose can take either. Path rules are the same: relative, no `..`, no symlink escape.
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

    fn file_size(&self, path: &str) -> Result<Option<u64>, ProjectError> {
        check_relative(path)?;
        use crate::project::ProjectError as P;
        match crate::project::Project::file_size(self, path) {
            Ok(n) => Ok(Some(n)),
            Err(P::NotFound { .. } | P::NotAFile { .. } | P::OutsideProject { .. }) => Ok(None),
            Err(e) => Err(from_shared(path, e)),
        }
    }
}

fn from_shared(path: &str, e: crate::project::ProjectError) -> ProjectError {
    use crate::project::ProjectError as P;
    match e {
        P::OutsideProject { .. } => ProjectError::SymlinkEscapes(path.to_string()),
        P::TooLarge { size, max, .. } => ProjectError::TooLarge { path: path.to_string(), size, limit: max },
        P::NotUtf8 { .. } => ProjectError::NotText(path.to_string()),
        P::InvalidGlob { pattern, message } => ProjectError::BadGlob { pattern, message },
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
        e.register_fn("file_size", |p: &mut ProjectApi, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            Ok(p.0.file_size(path).map_err(err)?.map_or(Dynamic::UNIT, |n| Dynamic::from_int(n as i64)))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, FsProject) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cog.yaml"), "build: {}\n").unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deep")).unwrap();
        std::fs::write(dir.path().join("sub/deep/w.bin"), vec![0u8; 10]).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "x").unwrap();
        let p = FsProject::new(dir.path()).unwrap();
        (dir, p)
    }

    #[test]
    fn paths_cannot_leave_the_root() {
        let (_d, p) = project();
        assert!(matches!(p.read_text("../etc/passwd"), Err(ProjectError::Escapes(_))));
        assert!(matches!(p.read_text("/etc/passwd"), Err(ProjectError::Absolute(_))));
        assert!(matches!(p.glob("../*"), Err(ProjectError::Escapes(_))));
        assert_eq!(p.read_text("./cog.yaml").unwrap().as_deref(), Some("build: {}\n"));
        assert_eq!(p.read_text("missing").unwrap(), None);
    }

    #[test]
    #[cfg(unix)]
    fn symlinks_out_of_the_root_are_refused() {
        let (d, p) = project();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("link")).unwrap();
        assert!(!p.has_file("link").unwrap());
        assert!(matches!(p.read_text("link"), Err(ProjectError::SymlinkEscapes(_))));
        assert!(!p.glob("*").unwrap().contains(&"link".to_string()));
    }

    #[test]
    fn glob_matches_relative_paths_and_skips_git() {
        let (_d, p) = project();
        assert_eq!(p.glob("**/*.bin").unwrap(), vec!["sub/deep/w.bin"]);
        assert_eq!(p.glob("*.yaml").unwrap(), vec!["cog.yaml"]);
        assert!(p.glob("**").unwrap().iter().all(|f| !f.starts_with(".git")));
        assert_eq!(p.file_size("sub/deep/w.bin").unwrap(), Some(10));
    }

    #[test]
    fn the_shared_project_view_answers_the_same() {
        let (d, fs) = project();
        let shared = crate::project::Project::open(d.path()).unwrap();
        for p in ["cog.yaml", "sub", "sub/deep/w.bin", "missing", ".git/HEAD"] {
            assert_eq!(ProjectView::has_file(&shared, p).unwrap(), fs.has_file(p).unwrap(), "{p}");
            assert_eq!(ProjectView::is_dir(&shared, p).unwrap(), fs.is_dir(p).unwrap(), "{p}");
            assert_eq!(ProjectView::file_size(&shared, p).unwrap(), fs.file_size(p).unwrap(), "{p}");
        }
        for g in ["**", "*.yaml", "**/*.bin"] {
            assert_eq!(ProjectView::glob(&shared, g).unwrap(), fs.glob(g).unwrap(), "{g}");
        }
        assert_eq!(ProjectView::read_text(&shared, "cog.yaml").unwrap(), fs.read_text("cog.yaml").unwrap());
        assert_eq!(ProjectView::read_text(&shared, "missing").unwrap(), None);
        assert!(ProjectView::read_text(&shared, "../x").is_err());
        assert!(ProjectView::has_file(&shared, "/etc/passwd").is_err());
    }

    #[test]
    fn reads_are_bounded() {
        let (d, p) = project();
        std::fs::write(d.path().join("big.txt"), vec![b'a'; READ_LIMIT as usize + 1]).unwrap();
        assert!(matches!(p.read_text("big.txt"), Err(ProjectError::TooLarge { .. })));
    }
}
