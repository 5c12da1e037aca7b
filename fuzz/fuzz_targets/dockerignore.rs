//! Fuzzes `.dockerignore` parsing and matching: the input is a `.dockerignore`, a NUL byte,
//! then paths (one per line). Nothing may panic or take more than linear time (libFuzzer's
//! `-timeout` catches a hang), and for small patterns without classes or escapes the
//! matcher must agree with a direct (exponential, so tiny-input-only) reading of the syntax.
#![no_main]

use cogpack::dockerignore::{clean_path, normalize_pattern, Dockerignore, IncludeMatcher, PatternMatcher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (ignore, paths) = text.split_once('\0').unwrap_or((text, "a/b/c"));
    let paths: Vec<String> = paths.lines().map(clean_path).filter(|p| !p.starts_with('/') && !p.starts_with("..")).collect();
    let Ok(parsed) = Dockerignore::parse(ignore) else {
        // Whatever the file refuses, the matcher refuses too.
        let raw: Vec<&str> = ignore.lines().filter(|l| !l.starts_with('#')).collect();
        let _ = PatternMatcher::new(&raw);
        return;
    };
    let includes = IncludeMatcher::new(&parsed.patterns);
    for path in &paths {
        let excluded = parsed.excludes(path);
        assert_eq!(excluded, parsed.excluding_line(path).is_some(), "{path}");
        let _ = parsed.matcher.may_include_below(path);
        if let Ok(inc) = &includes {
            let _ = inc.classify(path);
        }
        // A single small pattern against the direct reading.
        if parsed.patterns.len() == 1 {
            // What Docker's matcher matches: the pattern as read, trimmed and cleaned again.
            let Ok(Some((exception, p))) = normalize_pattern(&parsed.patterns[0]) else { continue };
            let p = &p;
            let simple = !exception && !p.contains(['[', '\\']) && !p.contains("***") && p.len() <= 12 && path.len() <= 24;
            if simple {
                let pc: Vec<char> = p.chars().collect();
                let want = parents_and_self(path).any(|q| reference(&pc, &q.chars().collect::<Vec<_>>()));
                assert_eq!(excluded, want, "pattern {p:?} path {path:?}");
            }
        }
    }
});

fn parents_and_self(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i]).chain(std::iter::once(path))
}

/// Docker's syntax read directly: `*` = `[^/]*`, `?` = `[^/]`, `**` at the end = `.*`,
/// `**` (and `**/`) elsewhere = `(.*/)?`.
fn reference(p: &[char], s: &[char]) -> bool {
    match p {
        [] => s.is_empty(),
        ['*', '*', rest @ ..] => {
            let rest = rest.strip_prefix(&['/']).unwrap_or(rest);
            if rest.is_empty() {
                return true;
            }
            if reference(rest, s) {
                return true;
            }
            (0..s.len()).any(|i| s[i] == '/' && reference(rest, &s[i + 1..]))
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
