//! One compiled `.dockerignore` pattern and its matcher.
//!
//! A pattern is compiled to tokens and matched by simulating the automaton the tokens
//! describe, one path character at a time, with the set of live positions in the pattern as
//! the state: a path of `n` characters against a pattern of `m` tokens costs at most
//! `O(n * m)`, whatever the pattern. There is no backtracking, so patterns such as
//! `*a*a*a*a*a*a*a*aZ` or `**/a/**/a/…` cannot blow up the way a recursive matcher does.
//!
//! Syntax (Docker's, which is Go's `filepath.Match` plus `**`): `*` matches within one path
//! segment, `?` one character other than `/`, `[...]` a character class (`[^...]`/`[!...]`
//! negated, `a-z` ranges), `\` escapes the next character, `**` any number of characters
//! including `/` (`**/` also matches nothing, so `**/x` matches `x` at the top).

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal exclusion pattern `!`: an exception needs a path after the `!`")]
    EmptyException,
    #[error("invalid pattern `{pattern}`: {reason}")]
    Syntax { pattern: String, reason: &'static str },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Lit(char),
    /// `*`: any run of characters except `/`.
    Star,
    /// `?`: one character except `/`.
    One,
    Class { negated: bool, ranges: Vec<(char, char)> },
    /// `**` followed by more pattern: empty, or anything that ends with `/` (`(.*/)?`).
    AnyDirs,
    /// `**` at the end: anything at all.
    AnyRest,
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
    /// The literal characters every match starts with (a cheap pre-check).
    prefix: String,
}

impl Glob {
    /// Compiles a (cleaned) pattern.
    pub(crate) fn new(pattern: &str) -> Result<Glob, PatternError> {
        let tokens = compile(pattern)?;
        let prefix = tokens
            .iter()
            .map_while(|t| match t {
                Token::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        Ok(Glob { tokens, prefix })
    }

    /// A glob that matches every path.
    pub(crate) fn everything() -> Glob {
        Glob { tokens: vec![Token::AnyRest], prefix: String::new() }
    }

    /// Whether the whole of `path` matches.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.run(path, false)
    }

    /// Whether `path` or one of its parent directories (`a` and `a/b` for `a/b/c`) matches.
    pub(crate) fn matches_self_or_parent(&self, path: &str) -> bool {
        self.run(path, true)
    }

    /// One pass over `path`; with `parents`, a match of any prefix that ends before a `/`
    /// counts too.
    fn run(&self, path: &str, parents: bool) -> bool {
        if !path.starts_with(self.prefix.as_str()) {
            return false;
        }
        let n = self.tokens.len();
        // Positions 0..=n are "about to match token i"; n + 1 + i is "inside `**` i".
        let mut cur = vec![false; 2 * (n + 1)];
        let mut next = vec![false; 2 * (n + 1)];
        cur[0] = true;
        self.close(&mut cur);
        for c in path.chars() {
            if c == '/' && parents && cur[n] {
                return true;
            }
            next.iter_mut().for_each(|s| *s = false);
            let mut live = false;
            for i in 0..n {
                let at = cur[i];
                let inside = cur[n + 1 + i];
                if !at && !inside {
                    continue;
                }
                let mut set = |j: usize| {
                    next[j] = true;
                    live = true;
                };
                match &self.tokens[i] {
                    Token::Lit(x) if at && *x == c => set(i + 1),
                    Token::One if at && c != '/' => set(i + 1),
                    Token::Class { negated, ranges } if at => {
                        let inside_class = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                        if inside_class != *negated {
                            set(i + 1);
                        }
                    }
                    Token::Star if at && c != '/' => set(i),
                    Token::AnyRest if at => set(i),
                    Token::AnyDirs => {
                        set(n + 1 + i);
                        if c == '/' {
                            set(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            if !live {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
            self.close(&mut cur);
        }
        cur[n]
    }

    /// Follows the empty transitions: `*`, `**` and `**/` may match nothing. They only lead
    /// forward, so one pass in order is enough.
    fn close(&self, states: &mut [bool]) {
        for (i, t) in self.tokens.iter().enumerate() {
            if states[i] && matches!(t, Token::Star | Token::AnyDirs | Token::AnyRest) {
                states[i + 1] = true;
            }
        }
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
                // Any run of stars is one `**`.
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                let token = if i >= chars.len() { Token::AnyRest } else { Token::AnyDirs };
                if out.last() != Some(&token) {
                    out.push(token);
                }
            }
            '*' => {
                // `**` is handled above; consecutive `*` tokens cannot arise here, but a `*`
                // right after `**` adds nothing.
                if !matches!(out.last(), Some(Token::Star | Token::AnyRest)) {
                    out.push(Token::Star);
                }
            }
            '?' => out.push(Token::One),
            '\\' => {
                let next = *chars.get(i).ok_or_else(|| syntax("it ends with an escaping `\\`"))?;
                i += 1;
                out.push(Token::Lit(next));
            }
            '[' => {
                let unterminated = || syntax("a `[` character class is not closed");
                let mut negated = false;
                if matches!(chars.get(i), Some('^') | Some('!')) {
                    negated = true;
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *chars.get(i).ok_or_else(unterminated)?;
                    i += 1;
                    if c == ']' && !first {
                        break;
                    }
                    if c == ']' || c == '-' {
                        return Err(syntax("a character class has an empty range (escape `]` or `-` with `\\`)"));
                    }
                    first = false;
                    let lo = if c == '\\' {
                        i += 1;
                        *chars.get(i - 1).ok_or_else(unterminated)?
                    } else {
                        c
                    };
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') {
                        let h = *chars.get(i + 1).ok_or_else(unterminated)?;
                        i += 2;
                        if h == ']' || h == '-' {
                            return Err(syntax("a character range has no end"));
                        }
                        hi = if h == '\\' {
                            i += 1;
                            *chars.get(i - 1).ok_or_else(unterminated)?
                        } else {
                            h
                        };
                        if hi < lo {
                            return Err(syntax("a character range is out of order (write `[a-z]`, not `[z-a]`)"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn g(p: &str) -> Glob {
        Glob::new(p).unwrap()
    }

    #[test]
    fn tokens_match_as_documented() {
        assert!(g("a*c").is_match("abbc"));
        assert!(!g("a*c").is_match("ab/c"));
        assert!(g("a?c").is_match("abc"));
        assert!(!g("a?c").is_match("a/c"));
        assert!(g("[a-c]x").is_match("bx"));
        assert!(!g("[^a-c]x").is_match("bx"));
        assert!(g("[!a-c]x").is_match("dx"));
        assert!(g("**/x").is_match("x"));
        assert!(g("**/x").is_match("a/b/x"));
        assert!(!g("**/x").is_match("a/bx"));
        assert!(g("a**b").is_match("ab"));
        assert!(g("a**b").is_match("ax/b"));
        assert!(g("logs/**").is_match("logs/a/b"));
        assert!(!g("logs/**").is_match("logs"));
        assert!(g("lit\\*").is_match("lit*"));
        assert!(!g("lit\\*").is_match("litx"));
        assert!(g("é?").is_match("éé"));
        assert!(g("").is_match(""));
        assert!(!g("").is_match("a"));
    }

    #[test]
    fn parents_match_at_segment_boundaries_only() {
        assert!(g("build").matches_self_or_parent("build/out/x.o"));
        assert!(!g("build").matches_self_or_parent("builds/x"));
        assert!(g("a/*").matches_self_or_parent("a/b/c"));
        assert!(!g("a/*").is_match("a/b/c"));
    }

    #[test]
    fn ranges_out_of_order_and_unclosed_classes_are_errors() {
        for (bad, what) in [("[z-a]", "out of order"), ("[ab", "not closed"), ("a\\", "escaping"), ("[-a]", "empty range"), ("[a-]", "no end"), ("[]", "empty range")] {
            let err = Glob::new(bad).unwrap_err().to_string();
            assert!(err.contains(what), "{bad}: {err}");
        }
    }

    /// Docker's syntax read directly (exponential; tiny inputs only): `*` = `[^/]*`,
    /// `?` = `[^/]`, `**` at the end = `.*`, `**` (and `**/`) elsewhere = `(.*/)?`.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p {
            [] => s.is_empty(),
            ['*', '*', rest @ ..] => {
                let rest = rest.strip_prefix(&['/']).unwrap_or(rest);
                rest.is_empty()
                    || reference(rest, s)
                    || (0..s.len()).any(|i| s[i] == '/' && reference(rest, &s[i + 1..]))
            }
            ['*', rest @ ..] => {
                for i in 0..=s.len() {
                    if reference(rest, &s[i..]) {
                        return true;
                    }
                    if i < s.len() && s[i] == '/' {
                        break;
                    }
                }
                false
            }
            ['?', rest @ ..] => s.first().is_some_and(|c| *c != '/') && reference(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && reference(rest, &s[1..]),
        }
    }

    /// The automaton agrees with the direct reading on every small pattern and path a
    /// fixed pseudo-random sequence produces (the fuzz target checks the same, unbounded).
    #[test]
    fn agrees_with_a_direct_reading_of_the_syntax() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as usize
        };
        for _ in 0..20_000 {
            let pattern: String = (0..1 + next(8)).map(|_| ['a', 'b', '/', '*', '?'][next(5)]).collect();
            let pattern = crate::dockerignore::clean_path(&pattern);
            if pattern.starts_with('/') || pattern.contains("***") {
                continue;
            }
            let path: String = (0..1 + next(10)).map(|_| ['a', 'b', '/'][next(3)]).collect();
            let path = crate::dockerignore::clean_path(&path);
            if path.starts_with('/') {
                continue;
            }
            let pc: Vec<char> = pattern.chars().collect();
            let mut candidates: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
            candidates.push(&path);
            let want = candidates.iter().any(|c| reference(&pc, &c.chars().collect::<Vec<_>>()));
            assert_eq!(g(&pattern).matches_self_or_parent(&path), want, "pattern {pattern:?} path {path:?}");
        }
    }

    /// Issue 8, defect 3: these took minutes (or never ended) with a backtracking matcher.
    #[test]
    fn pathological_patterns_answer_in_milliseconds() {
        let name = "a".repeat(200);
        let started = Instant::now();
        for pairs in 1..=12 {
            let p = format!("{}Z", "*a".repeat(pairs));
            assert!(!g(&p).matches_self_or_parent(&name));
            assert!(g(&format!("{}a", "*a".repeat(pairs))).is_match(&name));
        }
        let deep = vec!["a"; 60].join("/");
        let p = format!("{}Z", "**/a/".repeat(20));
        assert!(!g(&p).matches_self_or_parent(&deep));
        assert!(g(&format!("{}a", "**/a/".repeat(20))).is_match(&deep));
        assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
    }
}
