//! A read-only view of a project directory, safe to hand to block scripts.
//!
//! Every path is relative to the project root and is checked before use: absolute paths,
//! `..` components and symlinks that resolve outside the root are refused, reads are bounded
//! in size, and the same tree always gives the same answers.
//!
//! The project's files are walked once, in Rust, into a [`FileIndex`] (path and size of every
//! regular file, sorted) that every glob and `large_files` question is answered from. The
//! walk applies `.dockerignore` first — an excluded directory is never entered unless an `!`
//! exception may re-include something below it — skips `.git`, never follows symlinked
//! directories, lists a symlinked file only when it resolves inside the project, and stops
//! with an error after [`MAX_WALK_ENTRIES`] entries.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use std::sync::OnceLock;

use globset::GlobBuilder;
use thiserror::Error;
use walkdir::WalkDir;

use crate::diagnostics::{display_path, SourceFile};
use crate::dockerignore::{Dockerignore, DockerignoreError};

pub mod json;

pub use json::{JsonDocument, JsonError};

/// The most paths [`Project::glob`] returns before failing with
/// [`ProjectError::TooManyMatches`].
pub const DEFAULT_MAX_GLOB_MATCHES: usize = 10_000;

/// The most directory entries the project walk visits (after `.dockerignore`) before failing
/// with [`ProjectError::TooManyEntries`].
pub const MAX_WALK_ENTRIES: usize = 1_000_000;

/// Errors from reading a project directory. Paths in messages are as given (relative to the
/// project root) so they make sense to the user.
#[derive(Debug, Error)]
pub enum ProjectError {
    /// The project directory does not exist or is not a directory.
    #[error("project directory `{path}` does not exist or is not a directory")]
    NotADirectory {
        /// The directory as given.
        path: PathBuf,
    },
    /// A path points outside the project (absolute, `..`, or a symlink leading out).
    #[error("path `{path}` is outside the project directory")]
    OutsideProject {
        /// The path as given.
        path: String,
    },
    /// Nothing exists at the path.
    #[error("`{path}` does not exist in the project")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The path exists but is not a regular file.
    #[error("`{path}` is not a regular file")]
    NotAFile {
        /// The path as given.
        path: String,
    },
    /// A file is larger than the caller allows.
    #[error("`{path}` is {size} bytes, more than the {max} bytes allowed")]
    TooLarge {
        /// The path as given.
        path: String,
        /// Its size in bytes.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A file read as text is not UTF-8.
    #[error("`{path}` is not valid UTF-8 text")]
    NotUtf8 {
        /// The path as given.
        path: String,
    },
    /// A glob pattern is malformed or tries to leave the project.
    #[error("invalid glob pattern `{pattern}`: {message}")]
    InvalidGlob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A glob matched more paths than allowed.
    #[error("glob `{pattern}` matched more than {limit} files")]
    TooManyMatches {
        /// The pattern as given.
        pattern: String,
        /// The limit.
        limit: usize,
    },
    /// The project tree is too large to walk.
    #[error(
        "the project has more than {limit} files and directories (not counting what .dockerignore \
         excludes)\nhelp: list data directories the image does not need in .dockerignore"
    )]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// The project's `.dockerignore` cannot be used.
    #[error("{0}\nhelp: fix or remove the line; patterns follow Docker's .dockerignore syntax")]
    Dockerignore(DockerignoreError),
    /// A file read as JSON is not JSON.
    #[error("{path}:{line}:{col}: {message}")]
    InvalidJson {
        /// The path as given.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column (in characters).
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// Any other I/O failure.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A project directory, opened read-only. Cheap to clone (clones share the file index);
/// `Send + Sync`.
#[derive(Clone)]
pub struct Project {
    /// Canonical absolute root (symlinks resolved).
    root: PathBuf,
    /// How the root is shown to users: relative to the working directory when inside it.
    display_root: String,
    /// `.dockerignore` and the file index, computed on first use.
    cache: Arc<Cache>,
}

#[derive(Default)]
struct Cache {
    dockerignore: OnceLock<Arc<Dockerignore>>,
    index: OnceLock<Arc<FileIndex>>,
}

impl PartialEq for Project {
    fn eq(&self, other: &Project) -> bool {
        self.root == other.root && self.display_root == other.display_root
    }
}

impl Eq for Project {}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project").field("root", &self.root).field("display_root", &self.display_root).finish()
    }
}

/// One regular file of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// Relative to the root, with `/`.
    pub path: String,
    /// Size in bytes (of the target, for a symlink inside the project).
    pub size: u64,
}

/// Every regular file of the project that `.dockerignore` does not exclude, sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileIndex {
    files: Vec<IndexedFile>,
    /// Directory entries the walk visited.
    visited: usize,
}

impl FileIndex {
    /// How many directory entries the walk visited (what `.dockerignore` excludes is not).
    pub fn visited(&self) -> usize {
        self.visited
    }

    /// All files, sorted by path.
    pub fn files(&self) -> &[IndexedFile] {
        &self.files
    }

    /// The files whose path starts with `prefix`, found by binary search.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a IndexedFile> + 'a {
        let start = self.files.partition_point(|f| f.path.as_str() < prefix);
        self.files[start..].iter().take_while(move |f| f.path.starts_with(prefix))
    }

    /// The files of at least `min_bytes`, sorted by path.
    pub fn large_files(&self, min_bytes: u64) -> Vec<IndexedFile> {
        self.files.iter().filter(|f| f.size >= min_bytes).cloned().collect()
    }

    /// Whether some file below the directory `dir` ends with one of `suffixes` (with no
    /// suffixes: any file below `dir`).
    pub fn has_file_under(&self, dir: &str, suffixes: &[String]) -> bool {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let found = self
            .with_prefix(&prefix)
            .any(|f| suffixes.is_empty() || suffixes.iter().any(|s| f.path.ends_with(s.as_str())));
        found
    }
}

impl Project {
    /// Open a project directory. The root is canonicalized; it is shown to users relative
    /// to the current directory when it lies inside it (`.` when it is the current
    /// directory), else as an absolute path.
    pub fn open(dir: impl AsRef<Path>) -> Result<Project, ProjectError> {
        let dir = dir.as_ref();
        let root = fs::canonicalize(dir)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| ProjectError::NotADirectory {
                path: dir.to_path_buf(),
            })?;
        let cwd = std::env::current_dir()
            .ok()
            .and_then(|c| fs::canonicalize(c).ok());
        let display_root = match &cwd {
            Some(cwd) if cwd == &root => ".".to_string(),
            Some(cwd) => display_path(&root, &[cwd]),
            None => display_path(&root, &[]),
        };
        Ok(Project { root, display_root, cache: Arc::default() })
    }

    /// Show the root to users as `display` instead (e.g. a stable name in tests).
    pub fn with_display_root(mut self, display: impl Into<String>) -> Project {
        self.display_root = display.into();
        self
    }

    /// The canonical absolute root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root as shown to users (`.` for the current directory).
    pub fn display_root(&self) -> &str {
        &self.display_root
    }

    /// A project-relative path as shown to users, e.g. `fixtures/x/cog.yaml`, or `cog.yaml`
    /// when the project is the current directory.
    pub fn display_path(&self, rel: &str) -> String {
        let rel = rel.trim_start_matches("./");
        match self.display_root.as_str() {
            "." | "" => rel.to_string(),
            root => format!("{}/{rel}", root.trim_end_matches('/')),
        }
    }

    /// Check a project-relative path: not absolute, no `..`. Returns it joined to the root
    /// (not yet resolved through symlinks).
    fn join_checked(&self, rel: &str) -> Result<PathBuf, ProjectError> {
        let outside = || ProjectError::OutsideProject {
            path: rel.to_string(),
        };
        let path = Path::new(rel);
        let mut joined = self.root.clone();
        for component in path.components() {
            match component {
                Component::Normal(part) => joined.push(part),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(outside())
                }
            }
        }
        Ok(joined)
    }

    /// Resolve a project-relative path to a canonical absolute path inside the root,
    /// following symlinks, and refusing any that lead outside.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, ProjectError> {
        let joined = self.join_checked(rel)?;
        let resolved = fs::canonicalize(&joined).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ProjectError::NotFound {
                path: rel.to_string(),
            },
            _ => ProjectError::Io {
                path: rel.to_string(),
                source,
            },
        })?;
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(ProjectError::OutsideProject {
                path: rel.to_string(),
            })
        }
    }

    /// Whether something (file or directory) exists at `rel` inside the project.
    pub fn exists(&self, rel: &str) -> bool {
        self.resolve(rel).is_ok()
    }

    /// Whether `rel` is a regular file inside the project (symlinks to files inside count).
    pub fn has_file(&self, rel: &str) -> bool {
        self.resolve(rel).is_ok_and(|p| p.is_file())
    }

    /// Whether `rel` is a directory inside the project.
    pub fn is_dir(&self, rel: &str) -> bool {
        self.resolve(rel).is_ok_and(|p| p.is_dir())
    }

    /// The size in bytes of the regular file at `rel`.
    pub fn file_size(&self, rel: &str) -> Result<u64, ProjectError> {
        let path = self.resolve(rel)?;
        let meta = fs::metadata(&path).map_err(|source| ProjectError::Io {
            path: rel.to_string(),
            source,
        })?;
        if !meta.is_file() {
            return Err(ProjectError::NotAFile {
                path: rel.to_string(),
            });
        }
        Ok(meta.len())
    }

    /// Read the file at `rel`, refusing files over `max_bytes`.
    pub fn read_bytes(&self, rel: &str, max_bytes: u64) -> Result<Vec<u8>, ProjectError> {
        let size = self.file_size(rel)?;
        let too_large = |size| ProjectError::TooLarge {
            path: rel.to_string(),
            size,
            max: max_bytes,
        };
        if size > max_bytes {
            return Err(too_large(size));
        }
        let path = self.resolve(rel)?;
        let io = |source| ProjectError::Io {
            path: rel.to_string(),
            source,
        };
        let file = fs::File::open(path).map_err(io)?;
        // The file may grow between the size check and the read: never read past the limit.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Read the UTF-8 text file at `rel`, refusing files over `max_bytes`.
    pub fn read_text(&self, rel: &str, max_bytes: u64) -> Result<String, ProjectError> {
        let bytes = self.read_bytes(rel, max_bytes)?;
        String::from_utf8(bytes).map_err(|_| ProjectError::NotUtf8 {
            path: rel.to_string(),
        })
    }

    /// Read and parse the JSON file at `rel` (at most `max_bytes`), with the position of
    /// every object member's value; a malformed file is [`ProjectError::InvalidJson`] at its
    /// line and column.
    pub fn read_json(&self, rel: &str, max_bytes: u64) -> Result<JsonDocument, ProjectError> {
        let text = self.read_text(rel, max_bytes)?;
        JsonDocument::parse(&text).map_err(|e| {
            let file = SourceFile::new(rel.to_string(), text.clone());
            let at = file.location(crate::diagnostics::Span::empty(e.offset));
            ProjectError::InvalidJson { path: rel.to_string(), line: at.line, col: at.col, message: e.message }
        })
    }

    /// Read a text file as a [`SourceFile`] for diagnostics, shown with
    /// [`Project::display_path`].
    pub fn source_file(&self, rel: &str, max_bytes: u64) -> Result<Arc<SourceFile>, ProjectError> {
        let text = self.read_text(rel, max_bytes)?;
        Ok(SourceFile::new(self.display_path(rel), text))
    }

    /// Project-relative paths (with `/`) of the regular files matching a glob pattern, sorted.
    /// At most [`DEFAULT_MAX_GLOB_MATCHES`]; see [`Project::glob_limited`].
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>, ProjectError> {
        self.glob_limited(pattern, DEFAULT_MAX_GLOB_MATCHES)
    }

    /// Like [`Project::glob`] with an explicit limit on the number of matches.
    ///
    /// Patterns use `globset` syntax relative to the root: `*` stays within one directory,
    /// `**` crosses directories, `{a,b}` alternates. Absolute patterns and `..` are refused.
    /// Answered from the [`FileIndex`]: `.git` and what `.dockerignore` excludes are not
    /// listed, symlinked directories are not entered, and symlinked files are listed only
    /// when they resolve inside the project.
    pub fn glob_limited(&self, pattern: &str, limit: usize) -> Result<Vec<String>, ProjectError> {
        let invalid = |message: &str| ProjectError::InvalidGlob {
            pattern: pattern.to_string(),
            message: message.to_string(),
        };
        if pattern.starts_with('/') {
            return Err(invalid("patterns are relative to the project root"));
        }
        if pattern.split('/').any(|part| part == "..") {
            return Err(invalid("`..` would leave the project directory"));
        }
        let pattern_trimmed = pattern.trim_start_matches("./");
        let matcher = GlobBuilder::new(pattern_trimmed)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| invalid(&e.kind().to_string()))?
            .compile_matcher();
        // Only files below the pattern's literal leading directories can match.
        let literal_dirs: Vec<&str> = pattern_trimmed
            .split('/')
            .take_while(|seg| !seg.contains(['*', '?', '[', '{', '\\']))
            .collect();
        let n = literal_dirs.len().min(pattern_trimmed.split('/').count().saturating_sub(1));
        let prefix = if n == 0 { String::new() } else { format!("{}/", literal_dirs[..n].join("/")) };
        let index = self.files()?;
        let mut matches = Vec::new();
        for file in index.with_prefix(&prefix) {
            if !matcher.is_match(&file.path) {
                continue;
            }
            if matches.len() == limit {
                return Err(ProjectError::TooManyMatches {
                    pattern: pattern.to_string(),
                    limit,
                });
            }
            matches.push(file.path.clone());
        }
        Ok(matches)
    }

    /// The project's `.dockerignore` (no patterns when there is none), read once.
    pub fn dockerignore(&self) -> Result<Arc<Dockerignore>, ProjectError> {
        if let Some(d) = self.cache.dockerignore.get() {
            return Ok(d.clone());
        }
        // The file itself may not be a symlink leading out of the project.
        if fs::symlink_metadata(self.root.join(".dockerignore")).is_ok() && self.resolve(".dockerignore").is_err() {
            return Err(ProjectError::OutsideProject { path: ".dockerignore".into() });
        }
        let d = crate::dockerignore::read(&self.root)
            .map_err(|e| ProjectError::Dockerignore(e.shown_as(&self.display_path(".dockerignore"))))?;
        Ok(self.cache.dockerignore.get_or_init(|| Arc::new(d)).clone())
    }

    /// Every regular file `.dockerignore` does not exclude, walked once (see the module
    /// documentation).
    pub fn files(&self) -> Result<Arc<FileIndex>, ProjectError> {
        if let Some(i) = self.cache.index.get() {
            return Ok(i.clone());
        }
        let index = self.walk()?;
        Ok(self.cache.index.get_or_init(|| Arc::new(index)).clone())
    }

    fn walk(&self) -> Result<FileIndex, ProjectError> {
        let ignore = self.dockerignore()?;
        let rel_of = |path: &Path| -> Option<String> {
            let rel = path.strip_prefix(&self.root).ok()?;
            rel.to_str().map(|r| r.replace(std::path::MAIN_SEPARATOR, "/"))
        };
        let walker = WalkDir::new(&self.root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                if entry.depth() == 0 {
                    return true;
                }
                if entry.file_name() == ".git" {
                    return false;
                }
                let Some(rel) = rel_of(entry.path()) else {
                    return false; // non-UTF-8 names cannot be matched or returned as strings
                };
                if !ignore.excludes(&rel) {
                    return true;
                }
                // An excluded directory is entered only when an exception may re-include
                // something below it; excluded files are dropped below.
                entry.file_type().is_dir() && ignore.matcher.may_include_below(&rel)
            });
        let mut files = Vec::new();
        let mut visited = 0;
        for entry in walker {
            visited += 1;
            if visited > MAX_WALK_ENTRIES {
                return Err(ProjectError::TooManyEntries {
                    limit: MAX_WALK_ENTRIES,
                });
            }
            let Ok(entry) = entry else {
                // Unreadable directories are skipped: the view is best-effort read-only.
                continue;
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let Some(rel) = rel_of(entry.path()) else { continue };
            if rel.is_empty() || ignore.excludes(&rel) {
                continue;
            }
            let size = if ft.is_symlink() {
                match self.resolve(&rel) {
                    Ok(p) => match fs::metadata(p) {
                        Ok(md) if md.is_file() => md.len(),
                        _ => continue,
                    },
                    Err(_) => continue,
                }
            } else if ft.is_file() {
                match entry.metadata() {
                    Ok(md) => md.len(),
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            files.push(IndexedFile { path: rel, size });
        }
        // walkdir sorts each directory's names; sort whole paths so prefix searches work
        // (`a/b` and `a-c` order differently as paths than as names).
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(FileIndex { files, visited })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(
            root.join("cog.yaml"),
            "build:\n  python_version: \"3.11\"\n",
        )
        .unwrap();
        fs::write(root.join("predict.py"), "print('hi')\n").unwrap();
        fs::create_dir_all(root.join("my-subdir/deep")).unwrap();
        fs::write(root.join("my-subdir/predict.py"), "x = 1\n").unwrap();
        fs::write(root.join("my-subdir/deep/model.bin"), vec![0u8; 2048]).unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/config"), "[core]\n").unwrap();
        fs::write(root.join(".git/objects/a.py"), "").unwrap();
        fs::write(root.join("latin1.txt"), [0x63u8, 0x61, 0x66, 0xe9]).unwrap();
        fs::write(outside.path().join("secret.txt"), "top secret\n").unwrap();
        fs::create_dir_all(outside.path().join("dir")).unwrap();
        fs::write(outside.path().join("dir/leak.py"), "").unwrap();
        symlink(outside.path().join("secret.txt"), root.join("link-out.txt")).unwrap();
        symlink(outside.path().join("dir"), root.join("dir-out")).unwrap();
        symlink(root.join("predict.py"), root.join("link-in.py")).unwrap();
        let project = Project::open(root).unwrap().with_display_root("proj");
        (dir, outside, project)
    }

    #[test]
    fn reads_files_inside_the_root() {
        let (_d, _o, p) = tree();
        assert!(p.has_file("cog.yaml"));
        assert!(p.has_file("./my-subdir/predict.py"));
        assert!(p.has_file("link-in.py"));
        assert!(p.exists("my-subdir"));
        assert!(p.is_dir("my-subdir"));
        assert!(!p.has_file("my-subdir"));
        assert!(!p.exists("nope.py"));
        assert_eq!(p.file_size("my-subdir/deep/model.bin").unwrap(), 2048);
        assert_eq!(p.read_text("my-subdir/predict.py", 100).unwrap(), "x = 1\n");
        assert_eq!(p.display_path("cog.yaml"), "proj/cog.yaml");
        let source = p.source_file("cog.yaml", 1000).unwrap();
        assert_eq!(source.path(), "proj/cog.yaml");
    }

    #[test]
    fn refuses_escapes() {
        let (_d, outside, p) = tree();
        let escapes = [
            "../x",
            "my-subdir/../../x",
            "/etc/passwd",
            "link-out.txt",
            "dir-out/leak.py",
            "dir-out",
        ];
        for rel in escapes {
            assert!(!p.exists(rel), "{rel} must not exist through the view");
            assert!(!p.has_file(rel), "{rel}");
            let err = p.read_text(rel, 1 << 20).unwrap_err();
            assert!(
                matches!(err, ProjectError::OutsideProject { .. }),
                "{rel}: {err}"
            );
        }
        // Even a path that would lead back inside is refused if it uses `..`.
        assert!(matches!(
            p.read_text("my-subdir/../cog.yaml", 100),
            Err(ProjectError::OutsideProject { .. })
        ));
        // The absolute path of the outside file is refused too.
        let abs = outside.path().join("secret.txt");
        assert!(matches!(
            p.read_text(abs.to_str().unwrap(), 100),
            Err(ProjectError::OutsideProject { .. })
        ));
    }

    #[test]
    fn bounded_and_utf8_reads() {
        let (_d, _o, p) = tree();
        let err = p.read_text("my-subdir/deep/model.bin", 1024).unwrap_err();
        assert!(
            matches!(
                err,
                ProjectError::TooLarge {
                    size: 2048,
                    max: 1024,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            p.read_text("latin1.txt", 100),
            Err(ProjectError::NotUtf8 { .. })
        ));
        assert!(matches!(
            p.read_text("missing.txt", 100),
            Err(ProjectError::NotFound { .. })
        ));
        assert!(matches!(
            p.read_text("my-subdir", 100),
            Err(ProjectError::NotAFile { .. })
        ));
        assert_eq!(p.read_bytes("latin1.txt", 4).unwrap().len(), 4);
    }

    #[test]
    fn glob_is_sorted_skips_git_and_never_leaves_the_root() {
        let (_d, _o, p) = tree();
        assert_eq!(
            p.glob("**/*.py").unwrap(),
            vec!["link-in.py", "my-subdir/predict.py", "predict.py"]
        );
        assert_eq!(p.glob("*.py").unwrap(), vec!["link-in.py", "predict.py"]);
        assert_eq!(
            p.glob("**/*.bin").unwrap(),
            vec!["my-subdir/deep/model.bin"]
        );
        assert_eq!(p.glob("*.{yaml,yml}").unwrap(), vec!["cog.yaml"]);
        // Directories are not files; .git is skipped; symlinks out are not listed or entered.
        assert_eq!(p.glob("my-subdir").unwrap(), Vec::<String>::new());
        assert!(p.glob("**/config").unwrap().is_empty());
        assert!(!p
            .glob("**/*")
            .unwrap()
            .iter()
            .any(|f| f.starts_with(".git") || f.contains("out")));
        for bad in ["../*", "/etc/*", "a/../../*"] {
            assert!(
                matches!(p.glob(bad), Err(ProjectError::InvalidGlob { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            p.glob("[unclosed"),
            Err(ProjectError::InvalidGlob { .. })
        ));
    }

    #[test]
    fn glob_count_is_bounded() {
        let (_d, _o, p) = tree();
        let err = p.glob_limited("**/*", 2).unwrap_err();
        assert!(
            matches!(err, ProjectError::TooManyMatches { limit: 2, .. }),
            "{err}"
        );
        assert_eq!(p.glob_limited("**/*.py", 3).unwrap().len(), 3);
    }

    #[test]
    fn open_rejects_files_and_missing_dirs() {
        let (dir, _o, _p) = tree();
        assert!(matches!(
            Project::open(dir.path().join("cog.yaml")),
            Err(ProjectError::NotADirectory { .. })
        ));
        assert!(matches!(
            Project::open(dir.path().join("missing")),
            Err(ProjectError::NotADirectory { .. })
        ));
    }

    #[test]
    fn project_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Project>();
    }
}
