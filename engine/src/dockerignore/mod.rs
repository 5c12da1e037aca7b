//! `.dockerignore`: reading the file, and the matcher every file walk of cogpack uses.
//!
//! - [`read`] / [`parse`] turn the file into patterns as Docker does: per line, a leading
//!   UTF-8 BOM is dropped, lines starting with `#` are comments, surrounding whitespace is
//!   trimmed, empty lines are skipped, a leading `!` marks an exception, the pattern is
//!   cleaned like a path (`a//b/./c/` → `a/b/c`) and a leading `/` is removed. Each pattern
//!   is compiled by the same compiler the matcher uses, so a pattern the matcher would refuse
//!   (`[z-a]`, an unclosed `[`, a trailing `\`, a lone `!`) is an error naming the file and
//!   line before anything is walked or sent to the engine.
//! - [`PatternMatcher`]: the last pattern that matches a path or one of its parents decides
//!   whether it is excluded. Matching is linear in the pattern and the path ([`glob`]: an
//!   automaton simulation, no backtracking).
//! - [`IncludeMatcher`]: include patterns of a filtered source (which parents to send).
//!
//! Users: `project` (the file index scripts see skips what `.dockerignore` excludes),
//! `lower` (a build context's patterns) and `buildkit::session` (FileSync applies them).

mod glob;
mod matcher;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use glob::PatternError;
pub use matcher::{clean_path, normalize_pattern, IncludeMatch, IncludeMatcher, PatternMatcher};

/// The largest `.dockerignore` read (bytes).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A `.dockerignore` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DockerignoreError {
    /// A line holds a pattern that cannot be matched.
    #[error("{}:{line}: {message}", file.display())]
    Pattern { file: PathBuf, line: usize, message: String },
    /// The file is not UTF-8 text.
    #[error("{}: the file is not UTF-8 text", file.display())]
    NotText { file: PathBuf },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{}: the file is larger than {MAX_FILE_BYTES} bytes", file.display())]
    TooLarge { file: PathBuf },
    /// The file exists but cannot be read (or is not a regular file).
    #[error("cannot read {}: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
}

impl DockerignoreError {
    /// The same error with the file shown as `shown` (e.g. relative to the project).
    pub fn shown_as(self, shown: &str) -> DockerignoreError {
        let file = PathBuf::from(shown);
        match self {
            DockerignoreError::Pattern { line, message, .. } => DockerignoreError::Pattern { file, line, message },
            DockerignoreError::NotText { .. } => DockerignoreError::NotText { file },
            DockerignoreError::TooLarge { .. } => DockerignoreError::TooLarge { file },
            DockerignoreError::Read { source, .. } => DockerignoreError::Read { file, source },
        }
    }
}

/// The patterns of one `.dockerignore`, with the line each came from.
#[derive(Debug, Clone, Default)]
pub struct Dockerignore {
    /// Cleaned patterns in file order (`!` kept on exceptions).
    pub patterns: Vec<String>,
    /// The 1-based line of each pattern.
    pub lines: Vec<usize>,
    /// The compiled patterns.
    pub matcher: PatternMatcher,
}

impl Dockerignore {
    /// Parses `.dockerignore` text; an error is `(1-based line, message)`.
    pub fn parse(text: &str) -> Result<Dockerignore, (usize, String)> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut out = Dockerignore::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exception = pattern.starts_with('!');
            if exception {
                pattern = pattern[1..].trim();
                if pattern.is_empty() {
                    return Err((line, "`!` must be followed by a pattern".into()));
                }
            }
            let mut cleaned = clean_path(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let shown: String = raw.trim().chars().take(200).collect();
            let read = if exception { format!("!{cleaned}") } else { cleaned };
            let malformed = |e: PatternError| {
                let reason = match e {
                    PatternError::Syntax { reason, .. } => reason,
                    PatternError::EmptyException => "`!` must be followed by a pattern",
                };
                (line, format!("pattern `{}` is malformed: {reason}", shown.escape_debug()))
            };
            // What the matcher will match (Docker's matcher trims and cleans again): checked
            // here so that an error names its line and `lines` stays aligned with the
            // matcher's patterns when cleaning leaves only whitespace (`x/../ /`).
            let Some((_, body)) = normalize_pattern(&read).map_err(malformed)? else {
                continue;
            };
            glob::Glob::new(&body).map_err(malformed)?;
            out.patterns.push(read);
            out.lines.push(line);
        }
        out.matcher = PatternMatcher::new(&out.patterns).map_err(|e| (0, e.to_string()))?;
        Ok(out)
    }

    /// Whether `path` (relative, clean) is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        self.matcher.matches(path)
    }

    /// The line of the pattern that excludes `path`, if it is excluded.
    pub fn excluding_line(&self, path: &str) -> Option<usize> {
        self.matcher.deciding(path).and_then(|i| self.lines.get(i).copied())
    }
}

/// Parses `.dockerignore` text into cleaned patterns; an error is `(1-based line, message)`.
pub fn parse(text: &str) -> Result<Vec<String>, (usize, String)> {
    Dockerignore::parse(text).map(|d| d.patterns)
}

/// Reads `<dir>/.dockerignore` (a missing file means no patterns), at most
/// [`MAX_FILE_BYTES`].
pub fn read(dir: &Path) -> Result<Dockerignore, DockerignoreError> {
    let file = dir.join(".dockerignore");
    let opened = match std::fs::File::open(&file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Dockerignore::default()),
        Err(source) => return Err(DockerignoreError::Read { file, source }),
    };
    let mut bytes = Vec::new();
    opened
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| DockerignoreError::Read { file: file.clone(), source })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DockerignoreError::TooLarge { file });
    }
    let text = String::from_utf8(bytes).map_err(|_| DockerignoreError::NotText { file: file.clone() })?;
    Dockerignore::parse(&text).map_err(|(line, message)| DockerignoreError::Pattern { file, line, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        let text = "\u{feff}# comment\n\n  .git  \n/build/\n!build/keep\n**/__pycache__\n./a//b/../c\n";
        assert_eq!(parse(text).unwrap(), vec![".git", "build", "!build/keep", "**/__pycache__", "a/c"]);
        assert_eq!(parse("ok\n[abc\n").unwrap_err().0, 2);
        assert!(parse("!\n").unwrap_err().1.contains('!'));
        assert!(parse("x\\").is_err());
        assert!(parse("[a-c]*.py\n\\[literal\n").is_ok());
    }

    /// Issue 8: `[z-a]` was an engine gRPC error without a line.
    #[test]
    fn a_bad_range_is_an_error_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "weights/\n*.ckpt\nsrc/[z-a]\n").unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        let want = format!("{}:3: pattern `src/[z-a]` is malformed", dir.path().join(".dockerignore").display());
        assert!(err.starts_with(&want), "{err}");
        assert!(err.contains("out of order"), "{err}");
        assert!(read(&dir.path().join("none")).unwrap().patterns.is_empty());
    }

    /// Found by `scripts/fuzz 600 dockerignore`: cleaning `*a\r…\r/` leaves `*a\r…\r`, which
    /// Docker's matcher trims again to `*a`; the fuzz target's oracle read the untrimmed text.
    #[test]
    fn whitespace_exposed_by_cleaning_is_trimmed_as_docker_does() {
        let d = Dockerignore::parse("*a\r\r\r\r\r\r\r\r/\n").unwrap();
        assert_eq!(normalize_pattern(&d.patterns[0]).unwrap(), Some((false, "*a".to_owned())));
        assert!(d.excludes("\0\0\rz\rdta/ata"));
        assert!(d.excludes("xa"));
        // A pattern that cleaning reduces to whitespace matches nothing, and the lines of
        // the patterns after it stay right.
        let d = Dockerignore::parse("x/../\r/\nsrc\n").unwrap();
        assert_eq!(d.excluding_line("src/a.py"), Some(2));
        // An exception with nothing left is an error on its line.
        assert_eq!(Dockerignore::parse("a\n!x/../\r/\n").unwrap_err().0, 2);
    }

    #[test]
    fn the_excluding_line_is_named() {
        let d = Dockerignore::parse("# c\n*.py\n!keep.py\n\nsrc\n").unwrap();
        assert_eq!(d.excluding_line("predict.py"), Some(2));
        assert_eq!(d.excluding_line("keep.py"), None);
        assert_eq!(d.excluding_line("src/keep.py"), Some(5));
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(read(dir.path()), Err(DockerignoreError::TooLarge { .. })));
    }
}
