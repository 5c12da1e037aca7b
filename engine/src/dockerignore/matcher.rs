//! Ordered exclude patterns with `!` exceptions ([`PatternMatcher`]) and the include patterns
//! of a filtered source ([`IncludeMatcher`]).

use std::fmt;

use super::glob::{Glob, PatternError};

/// What Docker's pattern matcher makes of one pattern before matching: trimmed, `!` (an
/// exception) and the whitespace after it removed, cleaned like a path, a leading `/`
/// dropped. `None` for a pattern that is only whitespace (the matcher skips it).
///
/// Docker trims twice — once reading `.dockerignore`, once here — so whitespace that
/// cleaning exposes (`*a\r/` is read as `*a\r`) is not part of what is matched (`*a`).
pub fn normalize_pattern(raw: &str) -> Result<Option<(bool, String)>, PatternError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let (exception, body) = match raw.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, raw),
    };
    if exception && body.is_empty() {
        return Err(PatternError::EmptyException);
    }
    let text = clean_path(body);
    let text = match text.strip_prefix('/') {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => text,
    };
    Ok(Some((exception, text)))
}

/// An ordered list of exclude patterns with `!` exceptions.
#[derive(Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
}

#[derive(Clone)]
struct Pattern {
    text: String,
    exception: bool,
    glob: Glob,
}

impl PatternMatcher {
    /// Compiles patterns in order. Empty patterns are ignored; `!` marks an exception.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for raw in patterns {
            let Some((exception, text)) = normalize_pattern(raw.as_ref())? else {
                continue;
            };
            let glob = Glob::new(&text)?;
            out.push(Pattern { text, exception, glob });
        }
        Ok(PatternMatcher { patterns: out })
    }

    /// True when there are no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an `!` exception.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative, `/`-separated, clean) is excluded: the last pattern that
    /// matches it or one of its parent directories decides. Each pattern costs one pass over
    /// the path.
    pub fn matches(&self, path: &str) -> bool {
        let mut matched = false;
        for p in &self.patterns {
            // An exclude cannot change an already excluded path, nor an exception an
            // included one.
            if p.exception != matched {
                continue;
            }
            if p.glob.matches_self_or_parent(path) {
                matched = !p.exception;
            }
        }
        matched
    }

    /// The index of the pattern that excludes `path`, `None` when it is not excluded.
    pub fn deciding(&self, path: &str) -> Option<usize> {
        let mut decided = None;
        for (i, p) in self.patterns.iter().enumerate() {
            if p.exception != decided.is_some() {
                continue;
            }
            if p.glob.matches_self_or_parent(path) {
                decided = (!p.exception).then_some(i);
            }
        }
        decided
    }

    /// Whether an exception could re-include something below the excluded directory `dir`, so
    /// a walker has to descend into it instead of skipping it whole.
    pub fn may_include_below(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exception)
            .any(|p| p.text.starts_with(&prefix) || p.text.contains(['*', '?', '[', '\\']))
    }
}

impl fmt::Debug for PatternMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self
            .patterns
            .iter()
            .map(|p| if p.exception { format!("!{}", p.text) } else { p.text.clone() })
            .collect();
        f.debug_tuple("PatternMatcher").field(&list).finish()
    }
}

/// Lexically cleans a `/`-separated path like Go's `filepath.Clean`.
pub fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Include patterns (`local.includepattern`): a path is sent when it matches a pattern, when it
/// is a parent directory of what a pattern could match, or when it lies below a fully matched
/// directory.
#[derive(Debug, Clone, Default)]
pub struct IncludeMatcher {
    patterns: Vec<IncludePattern>,
}

#[derive(Debug, Clone)]
struct IncludePattern {
    /// Per-segment globs, for prefix matching.
    segments: Vec<Glob>,
    /// The whole-path glob, used when the pattern has `**` (any depth).
    whole: Option<Glob>,
}

/// How a path relates to the include patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeMatch {
    /// No pattern can match the path or anything below it.
    No,
    /// The path is a directory on the way to what a pattern names.
    Parent,
    /// A pattern matches the path itself (for a directory: everything below is included).
    Full,
}

impl IncludeMatcher {
    /// Compiles include patterns; each is cleaned and split into segments.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let cleaned = clean_path(p);
            let cleaned = cleaned.trim_start_matches('/');
            if cleaned.is_empty() || cleaned == "." {
                // "." includes everything.
                out.push(IncludePattern { segments: Vec::new(), whole: Some(Glob::everything()) });
                continue;
            }
            let whole = cleaned.contains("**").then(|| Glob::new(cleaned)).transpose()?;
            let segments = cleaned.split('/').map(Glob::new).collect::<Result<Vec<_>, _>>()?;
            out.push(IncludePattern { segments, whole });
        }
        Ok(IncludeMatcher { patterns: out })
    }

    /// True when no include pattern was given (everything is included).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Classifies a relative, clean path.
    pub fn classify(&self, path: &str) -> IncludeMatch {
        let segs: Vec<&str> = path.split('/').collect();
        let mut best = IncludeMatch::No;
        for pat in &self.patterns {
            // `**` can stand for any depth: match the whole path, and any directory may lead
            // to a match.
            if let Some(whole) = &pat.whole {
                if whole.is_match(path) {
                    return IncludeMatch::Full;
                }
                best = IncludeMatch::Parent;
                continue;
            }
            let pat = &pat.segments;
            let n = segs.len().min(pat.len());
            let prefix_ok = (0..n).all(|i| pat[i].is_match(segs[i]));
            if !prefix_ok {
                continue;
            }
            if segs.len() >= pat.len() {
                return IncludeMatch::Full;
            }
            best = IncludeMatch::Parent;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str]) -> PatternMatcher {
        PatternMatcher::new(patterns).unwrap()
    }

    #[test]
    fn plain_names_match_the_path_and_everything_below() {
        let pm = m(&["secret.txt", "build"]);
        assert!(pm.matches("secret.txt"));
        assert!(!pm.matches("a/secret.txt"));
        assert!(pm.matches("build"));
        assert!(pm.matches("build/out/x.o"));
        assert!(!pm.matches("builds"));
    }

    #[test]
    fn star_stays_within_a_segment() {
        let pm = m(&["*.pyc", "docs/*.md"]);
        assert!(pm.matches("x.pyc"));
        assert!(!pm.matches("pkg/x.pyc"));
        assert!(pm.matches("docs/a.md"));
        assert!(!pm.matches("docs/sub/a.md"));
    }

    #[test]
    fn double_star_spans_segments() {
        let pm = m(&["**/*.pyc"]);
        assert!(pm.matches("x.pyc"));
        assert!(pm.matches("a/b/x.pyc"));
        let pm = m(&["a/**/z"]);
        assert!(pm.matches("a/z"));
        assert!(pm.matches("a/b/c/z"));
        assert!(!pm.matches("b/z"));
        let pm = m(&["logs/**"]);
        assert!(pm.matches("logs/a/b"));
        assert!(pm.matches("logs/"));
    }

    #[test]
    fn exceptions_reinclude_and_later_patterns_win() {
        let pm = m(&["*.md", "!README.md"]);
        assert!(pm.matches("CHANGES.md"));
        assert!(!pm.matches("README.md"));
        let pm = m(&["*.md", "!README.md", "README.md"]);
        assert!(pm.matches("README.md"));
        let pm = m(&["data", "!data/keep"]);
        assert!(pm.matches("data/x"));
        assert!(!pm.matches("data/keep"));
        assert!(!pm.matches("data/keep/inner"));
        assert!(pm.may_include_below("data"));
        assert!(!m(&["data"]).may_include_below("data"));
    }

    #[test]
    fn question_mark_classes_and_escapes() {
        let pm = m(&["file?.txt", "[a-c]x", "[!z]y", "lit\\*"]);
        assert!(pm.matches("file1.txt"));
        assert!(!pm.matches("file10.txt"));
        assert!(pm.matches("bx"));
        assert!(!pm.matches("dx"));
        assert!(pm.matches("ay"));
        assert!(!pm.matches("zy"));
        assert!(pm.matches("lit*"));
        assert!(!pm.matches("litx"));
    }

    #[test]
    fn patterns_are_cleaned() {
        let pm = m(&["./a//b/", "c/../d", "/e"]);
        assert!(pm.matches("a/b"));
        assert!(pm.matches("d"));
        assert!(pm.matches("e"));
        assert_eq!(clean_path("/x/./y/"), "/x/y");
        assert_eq!(clean_path(""), ".");
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert_eq!(PatternMatcher::new(&["!"]).unwrap_err(), PatternError::EmptyException);
        assert!(matches!(PatternMatcher::new(&["[ab"]), Err(PatternError::Syntax { .. })));
        assert!(matches!(PatternMatcher::new(&["a\\"]), Err(PatternError::Syntax { .. })));
        assert!(matches!(PatternMatcher::new(&["[z-a]"]), Err(PatternError::Syntax { .. })));
    }

    #[test]
    fn include_patterns_classify_parents_and_subtrees() {
        let im = IncludeMatcher::new(&["src/app", "*.toml"]).unwrap();
        assert_eq!(im.classify("src"), IncludeMatch::Parent);
        assert_eq!(im.classify("src/app"), IncludeMatch::Full);
        assert_eq!(im.classify("src/app/main.py"), IncludeMatch::Full);
        assert_eq!(im.classify("src/other"), IncludeMatch::No);
        assert_eq!(im.classify("Cargo.toml"), IncludeMatch::Full);
        assert_eq!(im.classify("README.md"), IncludeMatch::No);
        let all = IncludeMatcher::new(&["."]).unwrap();
        assert_eq!(all.classify("anything/below"), IncludeMatch::Full);
        let deep = IncludeMatcher::new(&["**/*.py"]).unwrap();
        assert_eq!(deep.classify("a/b/c.py"), IncludeMatch::Full);
        assert_eq!(deep.classify("a"), IncludeMatch::Parent);
    }
}
