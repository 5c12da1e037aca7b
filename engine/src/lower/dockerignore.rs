//! Reading a project's `.dockerignore` into exclude patterns, as Docker does.
//!
//! Per line: a leading UTF-8 BOM is dropped, lines starting with `#` are comments, surrounding
//! whitespace is trimmed, empty lines are skipped; a leading `!` marks an exception; the
//! pattern is cleaned like a path (`a//b/./c/` → `a/b/c`) and a leading `/` is removed.
//! A pattern that cannot be matched (an unclosed `[`, a trailing `\`, a lone `!`) is an error
//! naming the file and line, rather than a build that silently sends the wrong files.

use std::path::Path;

use super::LowerError;

/// Reads `<dir>/.dockerignore`; a missing file means no patterns.
pub fn read(dir: &Path) -> Result<Vec<String>, LowerError> {
    let file = dir.join(".dockerignore");
    let text = match std::fs::read(&file) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| LowerError::Dockerignore {
            file: file.clone(),
            line: 0,
            message: "the file is not UTF-8 text".into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(LowerError::ReadFile { file, source }),
    };
    parse(&text).map_err(|(line, message)| LowerError::Dockerignore {
        file,
        line,
        message,
    })
}

/// Parses `.dockerignore` text; an error is `(1-based line, message)`.
pub fn parse(text: &str) -> Result<Vec<String>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
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
        let mut cleaned = clean(pattern);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        check_syntax(&cleaned).map_err(|m| {
            (
                line,
                format!("pattern `{raw}` is malformed: {m}", raw = raw.trim()),
            )
        })?;
        patterns.push(if exception {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    Ok(patterns)
}

/// Lexical path cleaning (Go's `path.Clean`).
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Checks glob syntax the way Go's `filepath.Match` would reject it.
fn check_syntax(p: &str) -> Result<(), &'static str> {
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return Err("it ends with an escaping `\\`"),
            '[' => {
                if chars.peek() == Some(&'^') || chars.peek() == Some(&'!') {
                    chars.next();
                }
                let mut empty = true;
                loop {
                    match chars.next() {
                        None => return Err("a `[` character class is not closed"),
                        Some(']') if !empty => break,
                        Some('\\') => {
                            if chars.next().is_none() {
                                return Err("it ends with an escaping `\\`");
                            }
                        }
                        Some('-') if empty => return Err("a character range has no start"),
                        Some(_) => {}
                    }
                    empty = false;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
