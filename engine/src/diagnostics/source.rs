//! Source files, byte spans and the positions computed from them.

use std::fmt;
use std::ops::Range;
use std::path::{Component, Path};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A text file that diagnostics can point into: the path as the user should see it
/// (relative to the working directory or the project when possible) and its full text.
///
/// Files are shared through [`Arc`] handles, so a [`Diagnostic`](super::Diagnostic) carries
/// the files its labels point into and can be rendered anywhere, with no registry to pass
/// around.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    path: String,
    text: String,
    /// Byte offset of the start of each line; always starts with 0.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Make a shared source file from the path shown to the user and its text.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
        })
    }

    /// The path as shown to the user.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full text of the file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The number of lines (a trailing newline does not start a new line of content,
    /// but is counted as an empty last line, like editors do).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Clamp a byte offset into the file and back onto a UTF-8 character boundary.
    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// Clamp a span into the file, on character boundaries, with `start <= end`.
    pub fn clamp_span(&self, span: Span) -> Span {
        let start = self.clamp(span.start);
        let end = self.clamp(span.end.max(start));
        Span { start, end }
    }

    /// The 1-based line and column of a byte offset. Columns count characters, not bytes.
    /// Offsets past the end are clamped to the end of the file.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.clamp(offset);
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(exact) => exact,
            Err(next) => next - 1,
        };
        let line_start = self.line_starts[line_index];
        let col = self.text[line_start..offset].chars().count() + 1;
        LineCol {
            line: line_index + 1,
            col,
        }
    }

    /// The byte offset of a 1-based line and column (columns in characters), if the file has
    /// that line. A column past the end of the line gives the end of the line (its last
    /// character, the `\n`, included). Useful to turn the line/column of another parser's
    /// error into a [`Span`].
    pub fn offset_of(&self, line: usize, col: usize) -> Option<usize> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let line_end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let offset = self.text[start..line_end]
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line_end, |(i, _)| start + i);
        Some(offset)
    }

    /// The span of a 1-based line, without its line terminator.
    pub fn line_span(&self, line: usize) -> Option<Span> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let mut end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        Some(Span { start, end })
    }

    /// The text a span covers (clamped into the file).
    pub fn slice(&self, span: Span) -> &str {
        let span = self.clamp_span(span);
        &self.text[span.range()]
    }

    /// Where a span starts, as `path:line:col`.
    pub fn location(&self, span: Span) -> Location {
        let LineCol { line, col } = self.line_col(span.start);
        Location {
            path: self.path.clone(),
            line,
            col,
        }
    }
}

/// A byte range in a [`SourceFile`]: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (swapped if given backwards).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start.min(end),
            end: start.max(end),
        }
    }

    /// An empty span at one offset (points at a position, not at text).
    pub fn empty(at: usize) -> Span {
        Span { start: at, end: at }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it covers no text.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// As a `Range<usize>`.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Span {
        Span::new(range.start, range.end)
    }
}

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LineCol {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

/// A position shown to users: `path:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// The path as shown to the user.
    pub path: String,
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

impl Location {
    /// `path:line`, for citing a line rather than a character (e.g. "cog.yaml:5").
    pub fn to_line_string(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.col)
    }
}

/// A value with the span of the text it was read from, so later checks can point at it
/// (e.g. the resolver citing `cog.yaml:5` as the source of a pin).
///
/// Serializes as the bare value: spans are for diagnostics, not for data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Located<T> {
    /// Pair a value with its span.
    pub fn new(value: T, span: Span) -> Located<T> {
        Located { value, span }
    }

    /// Transform the value, keeping the span.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located {
            value: f(self.value),
            span: self.span,
        }
    }

    /// Borrow the value, keeping the span.
    pub fn as_ref(&self) -> Located<&T> {
        Located {
            value: &self.value,
            span: self.span,
        }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: fmt::Display> fmt::Display for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// The path to show a user for `path`: relative to the first of `bases` that contains it
/// (typically the working directory, then the project root), else `path` as given.
/// Always uses `/` as the separator so output is the same on every platform.
pub fn display_path(path: &Path, bases: &[&Path]) -> String {
    let shown = bases
        .iter()
        .find_map(|base| {
            path.strip_prefix(base)
                .ok()
                .filter(|rel| !rel.as_os_str().is_empty())
        })
        .unwrap_or(path);
    let mut out = String::new();
    for component in shown.components() {
        match component {
            Component::RootDir => out.push('/'),
            Component::Prefix(prefix) => out.push_str(&prefix.as_os_str().to_string_lossy()),
            Component::CurDir => {}
            other => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let file = SourceFile::new("cog.yaml", "build:\n  gpu: true\n  é: x\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(file.line_col(6), LineCol { line: 1, col: 7 }); // the newline itself
        assert_eq!(file.line_col(7), LineCol { line: 2, col: 1 });
        assert_eq!(file.line_col(14), LineCol { line: 2, col: 8 });
        // "  é: x": 'é' is two bytes; ':' is the 4th character.
        let colon = file.text().find("é:").unwrap() + "é".len();
        assert_eq!(file.line_col(colon), LineCol { line: 3, col: 4 });
        // Past the end clamps; inside a multi-byte char rounds down.
        assert_eq!(file.line_col(10_000), LineCol { line: 4, col: 1 });
        let inside = file.text().find('é').unwrap() + 1;
        assert_eq!(file.line_col(inside), LineCol { line: 3, col: 3 });
    }

    #[test]
    fn offset_of_inverts_line_col() {
        let text = "a: 1\r\nbé: 22\nlast";
        let file = SourceFile::new("x.yaml", text);
        for offset in text.char_indices().map(|(i, _)| i) {
            let LineCol { line, col } = file.line_col(offset);
            assert_eq!(file.offset_of(line, col), Some(offset), "offset {offset}");
        }
        assert_eq!(file.offset_of(9, 1), None);
        assert_eq!(file.offset_of(0, 1), None);
        assert_eq!(file.slice(file.line_span(1).unwrap()), "a: 1");
        assert_eq!(file.slice(file.line_span(3).unwrap()), "last");
        assert_eq!(file.offset_of(1, 99), Some(5));
    }

    #[test]
    fn location_displays_path_line_col() {
        let file = SourceFile::new("proj/cog.yaml", "build:\n  python_version: \"3.7\"\n");
        let start = file.text().find("\"3.7\"").unwrap();
        let loc = file.location(Span::new(start, start + 5));
        assert_eq!(loc.to_string(), "proj/cog.yaml:2:19");
        assert_eq!(loc.to_line_string(), "proj/cog.yaml:2");
    }

    #[test]
    fn located_serializes_as_its_value() {
        let v = Located::new("3.11".to_string(), Span::new(3, 9));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"3.11\"");
        assert_eq!(v.len(), 4); // derefs to the value
    }

    #[test]
    fn display_path_prefers_bases_and_uses_slashes() {
        let p = Path::new("/work/proj/cog.yaml");
        assert_eq!(display_path(p, &[Path::new("/work")]), "proj/cog.yaml");
        assert_eq!(
            display_path(p, &[Path::new("/other"), Path::new("/work/proj")]),
            "cog.yaml"
        );
        assert_eq!(display_path(p, &[]), "/work/proj/cog.yaml");
        assert_eq!(
            display_path(Path::new("/work"), &[Path::new("/work")]),
            "/work"
        );
    }
}
