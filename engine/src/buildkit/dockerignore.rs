//! `.dockerignore` semantics: the exclude patterns BuildKit sends with a FileSync request.
//!
//! Patterns are cleaned like Go's `filepath.Clean`, `!` turns a pattern into an exception, later
//! patterns override earlier ones, and a pattern that matches a parent directory matches
//! everything below it. Inside a pattern `*` matches within one path segment, `?` one character,
//! `[...]` a character class, `\` escapes, and `**` any number of segments (`**/x` also matches
//! `x` at the top).

use std::fmt;

/// A pattern that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern `!`: an exception needs a path after the `!`")]
    EmptyException,
    #[error("invalid pattern `{pattern}`: {reason}")]
    Syntax { pattern: String, reason: &'static str },
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
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Lit(char),
    /// `*`: any run of characters except `/`.
    Star,
    /// `?`: one character except `/`.
    One,
    Class { negated: bool, ranges: Vec<(char, char)> },
    /// `**` followed by more pattern: zero or more whole segments, i.e. `(.*/)?`.
    AnyDirs,
    /// `**` at the end: anything at all.
    AnyRest,
}

impl PatternMatcher {
    /// Compiles patterns in order. Empty patterns are ignored; `!` marks an exception.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for raw in patterns {
            let raw = raw.as_ref().trim();
            if raw.is_empty() {
                continue;
            }
            let (exception, body) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, raw),
            };
            if exception && body.is_empty() {
                return Err(PatternError::EmptyException);
            }
            let text = clean_path(body);
            let tokens = compile(&text)?;
            out.push(Pattern { text, exception, tokens });
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
    /// matches it or one of its parent directories decides.
    pub fn matches(&self, path: &str) -> bool {
        let parents: Vec<&str> = parent_prefixes(path).collect();
        let mut matched = false;
        for p in &self.patterns {
            // An exclude cannot change an already excluded path, nor an exception an
            // included one.
            if p.exception != matched {
                continue;
            }
            let hit = glob_match(&p.tokens, path) || parents.iter().any(|d| glob_match(&p.tokens, d));
            if hit {
                matched = !p.exception;
            }
        }
        matched
    }

    /// Whether an exception could re-include something below the excluded directory `dir`, so
    /// a walker has to descend into it instead of skipping it whole.
    pub fn may_include_below(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.patterns.iter().filter(|p| p.exception).any(|p| {
            p.text.starts_with(&prefix) || p.text.contains(['*', '?', '[', '\\'])
        })
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

/// `a/b/c` -> `a`, `a/b` (the parent directories, outermost first).
fn parent_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Lexically cleans a `/`-separated path like Go's `filepath.Clean`.
pub(crate) fn clean_path(path: &str) -> String {
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

fn compile(pattern: &str) -> Result<Vec<Token>, PatternError> {
    let syntax = |reason| PatternError::Syntax { pattern: pattern.to_owned(), reason };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                out.push(if i >= chars.len() { Token::AnyRest } else { Token::AnyDirs });
            }
            '*' => out.push(Token::Star),
            '?' => out.push(Token::One),
            '\\' => {
                let next = *chars.get(i).ok_or_else(|| syntax("trailing `\\`"))?;
                i += 1;
                out.push(Token::Lit(next));
            }
            '[' => {
                let mut negated = false;
                if matches!(chars.get(i), Some('^') | Some('!')) {
                    negated = true;
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let mut lo = *chars.get(i).ok_or_else(|| syntax("unterminated `[`"))?;
                    i += 1;
                    if lo == ']' && !first {
                        break;
                    }
                    first = false;
                    if lo == '\\' {
                        lo = *chars.get(i).ok_or_else(|| syntax("unterminated `[`"))?;
                        i += 1;
                    }
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                        hi = chars[i + 1];
                        i += 2;
                        if hi == '\\' {
                            hi = *chars.get(i).ok_or_else(|| syntax("unterminated `[`"))?;
                            i += 1;
                        }
                        if hi < lo {
                            return Err(syntax("character range is out of order"));
                        }
                    }
                    ranges.push((lo, hi));
                }
                out.push(Token::Class { negated, ranges });
            }
            c => out.push(Token::Lit(c)),
        }
    }
    Ok(out)
}

/// Matches a whole path (anchored at both ends) against compiled tokens.
fn glob_match(tokens: &[Token], path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    match_from(tokens, &chars)
}

fn match_from(tokens: &[Token], s: &[char]) -> bool {
    let Some((tok, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match tok {
        Token::Lit(c) => s.first() == Some(c) && match_from(rest, &s[1..]),
        Token::One => s.first().is_some_and(|c| *c != '/') && match_from(rest, &s[1..]),
        Token::Class { negated, ranges } => match s.first() {
            Some(c) => {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated && match_from(rest, &s[1..])
            }
            None => false,
        },
        Token::Star => {
            for i in 0..=s.len() {
                if match_from(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == '/' {
                    break;
                }
            }
            false
        }
        Token::AnyRest => true,
        Token::AnyDirs => {
            if match_from(rest, s) {
                return true;
            }
            s.iter()
                .enumerate()
                .filter(|(_, c)| **c == '/')
                .any(|(i, _)| match_from(rest, &s[i + 1..]))
        }
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
    /// Per-segment tokens, for prefix matching.
    segments: Vec<Vec<Token>>,
    /// Whole-path tokens, used when the pattern has `**` (any depth).
    whole: Option<Vec<Token>>,
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
                out.push(IncludePattern { segments: Vec::new(), whole: Some(vec![Token::AnyRest]) });
                continue;
            }
            let whole = cleaned.contains("**").then(|| compile(cleaned)).transpose()?;
            let segments = cleaned.split('/').map(compile).collect::<Result<Vec<_>, _>>()?;
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
                if glob_match(whole, path) {
                    return IncludeMatch::Full;
                }
                best = IncludeMatch::Parent;
                continue;
            }
            let pat = &pat.segments;
            let n = segs.len().min(pat.len());
            let prefix_ok = (0..n).all(|i| glob_match(&pat[i], segs[i]));
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
        let pm = m(&["./a//b/", "c/../d"]);
        assert!(pm.matches("a/b"));
        assert!(pm.matches("d"));
        assert_eq!(clean_path("/x/./y/"), "/x/y");
        assert_eq!(clean_path(""), ".");
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert_eq!(PatternMatcher::new(&["!"]).unwrap_err(), PatternError::EmptyException);
        assert!(matches!(PatternMatcher::new(&["[ab"]), Err(PatternError::Syntax { .. })));
        assert!(matches!(PatternMatcher::new(&["a\\"]), Err(PatternError::Syntax { .. })));
    }

    #[test]
    fn parses_dockerignore_files() {
        let text = "# comment\n\n  node_modules/  \n!/keep.txt\n/abs\n*.log\n";
        assert_eq!(crate::lower::parse_dockerignore(text).unwrap(), vec!["node_modules", "!keep.txt", "abs", "*.log"]);
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
