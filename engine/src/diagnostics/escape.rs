//! Making user text safe to print: what a project wrote (a NUL byte, terminal escape codes,
//! a 20 KB line) is never echoed raw. Control characters and Unicode bidi controls become
//! visible escapes (`\0`, `\x1b`, `\u{202e}`), and long lines are cut around what the
//! diagnostic points at, with a marker saying how much was left out.
//!
//! [`super::render`] runs every message, label, note and snippet source through here, so it
//! is the one place; [`clean_message`] is public for text printed without a diagnostic.

use std::fmt::Write as _;

use super::source::Span;

/// The longest line of a message (or of a note or label) printed whole, in characters.
pub const MAX_MESSAGE_LINE: usize = 400;

/// The longest source line shown whole in a snippet, in characters; a longer one shows a
/// window of this many characters around the label.
pub const MAX_SOURCE_LINE: usize = 160;

/// Characters shown before the label in a cut source line.
const CONTEXT_BEFORE: usize = 40;

/// Whether `c` is printed as an escape: control characters other than tab, and the bidi
/// controls that reorder what a terminal shows ("Trojan Source").
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\0' => out.push_str("\\0"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// One line (no `\n` inside) with control characters escaped.
fn escape_line(line: &str, out: &mut String) {
    for c in line.chars() {
        if needs_escape(c) {
            push_escaped(out, c);
        } else {
            out.push(c);
        }
    }
}

fn cut_marker(chars: usize) -> String {
    format!("… [{chars} more characters]")
}

/// Message text made safe to print: every line has its control characters escaped (line
/// breaks are kept) and is cut after [`MAX_MESSAGE_LINE`] characters with a marker.
pub fn clean_message(text: &str) -> String {
    if text.len() <= MAX_MESSAGE_LINE && !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len().min(4 * MAX_MESSAGE_LINE));
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let count = line.chars().count();
        if count > MAX_MESSAGE_LINE {
            let end = line.char_indices().nth(MAX_MESSAGE_LINE).map_or(line.len(), |(b, _)| b);
            escape_line(&line[..end], &mut out);
            out.push_str(&cut_marker(count - MAX_MESSAGE_LINE));
        } else {
            escape_line(line, &mut out);
        }
    }
    out
}

/// A file's text as snippets show it, with a map from the original byte offsets.
#[derive(Debug)]
pub(crate) struct SourceView {
    /// The text to show.
    pub text: String,
    /// `(old_start, new_start, verbatim)` per segment, in order: a verbatim segment maps
    /// byte for byte; any other (an escape, a cut) maps every offset to its start.
    segments: Vec<(usize, usize, bool)>,
}

impl SourceView {
    /// The text of `source` as shown, given the spans the diagnostic labels in it (long
    /// lines keep a window around the first label on them). Linear in the text's length.
    pub fn new(source: &str, spans: &[Span]) -> SourceView {
        let clean = !source
                .chars()
                .any(|c| c != '\n' && c != '\r' && needs_escape(c))
            && source.split('\n').all(|l| l.len() <= MAX_SOURCE_LINE);
        if clean {
            return SourceView {
                text: source.to_string(),
                segments: vec![(0, 0, true)],
            };
        }
        let mut view = SourceView {
            text: String::with_capacity(source.len().min(1 << 20)),
            segments: Vec::new(),
        };
        let mut starts: Vec<usize> = spans.iter().map(|s| s.start).collect();
        starts.sort_unstable();
        // Labels before the current line are skipped once: one walk over lines and labels.
        let mut next_label = 0;
        let mut line_start = 0;
        for line in source.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let body = body.strip_suffix('\r').unwrap_or(body);
            let line_end = line_start + body.len();
            while next_label < starts.len() && starts[next_label] < line_start {
                next_label += 1;
            }
            let chars = if body.len() <= MAX_SOURCE_LINE { body.len() } else { body.chars().count() };
            if chars <= MAX_SOURCE_LINE {
                view.push_escaped(source, line_start, line_end);
            } else {
                // The first label on the line, else its start.
                let first = starts
                    .get(next_label)
                    .filter(|&&s| s <= line_end)
                    .map_or(0, |&s| body[..s - line_start].chars().count());
                let from = first.saturating_sub(CONTEXT_BEFORE).min(chars - MAX_SOURCE_LINE);
                let to = from + MAX_SOURCE_LINE;
                let byte = |n: usize| line_start + body.char_indices().nth(n).map_or(body.len(), |(b, _)| b);
                let (a, b) = (byte(from), byte(to));
                if from > 0 {
                    view.push_replaced(line_start, &format!("[{from} characters] …"));
                }
                view.push_escaped(source, a, b);
                if to < chars {
                    view.push_replaced(b, &cut_marker(chars - to));
                }
            }
            // The line break itself, as written.
            let after = line_start + line.len();
            if line_end < after {
                view.push_verbatim(source, line_end, after);
            }
            line_start = after;
        }
        view.segments.push((source.len(), view.text.len(), false));
        view
    }

    fn push_verbatim(&mut self, source: &str, from: usize, to: usize) {
        self.segments.push((from, self.text.len(), true));
        self.text.push_str(&source[from..to]);
    }

    fn push_replaced(&mut self, at: usize, with: &str) {
        self.segments.push((at, self.text.len(), false));
        self.text.push_str(with);
    }

    /// `source[from..to]` with escapes, as verbatim runs and escape segments.
    fn push_escaped(&mut self, source: &str, from: usize, to: usize) {
        let mut run = from;
        for (i, c) in source[from..to].char_indices() {
            if needs_escape(c) {
                let at = from + i;
                if run < at {
                    self.push_verbatim(source, run, at);
                }
                self.segments.push((at, self.text.len(), false));
                push_escaped(&mut self.text, c);
                run = at + c.len_utf8();
            }
        }
        if run < to {
            self.push_verbatim(source, run, to);
        }
    }

    /// Where an offset of the original text is in the shown text.
    pub fn map(&self, offset: usize) -> usize {
        let i = self.segments.partition_point(|s| s.0 <= offset).saturating_sub(1);
        let Some(&(old, new, verbatim)) = self.segments.get(i) else {
            return 0;
        };
        let mapped = if verbatim { new + (offset - old) } else { new };
        mapped.min(self.text.len())
    }

    /// Where an offset of the shown text was in the original text (an escape or a cut
    /// maps to where it starts).
    pub fn unmap(&self, offset: usize) -> usize {
        let i = self.segments.partition_point(|s| s.1 <= offset).saturating_sub(1);
        match self.segments.get(i) {
            Some(&(old, new, true)) => old + (offset - new),
            Some(&(old, _, false)) => old,
            None => 0,
        }
    }

    /// A span of the original text in the shown text.
    pub fn map_span(&self, span: Span) -> Span {
        Span::new(self.map(span.start), self.map(span.end).max(self.map(span.start)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_escape_controls_and_cut_long_lines() {
        assert_eq!(clean_message("plain\ntwo lines"), "plain\ntwo lines");
        assert_eq!(clean_message("a\0b\x1b[31mc\u{202e}d\r"), "a\\0b\\x1b[31mc\\u{202e}d\\r");
        let long = format!("`{}`", "x".repeat(20_000));
        let cut = clean_message(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_LINE + cut_marker(19_602).chars().count());
        assert!(cut.ends_with("… [19602 more characters]"), "{cut}");
    }

    #[test]
    fn source_views_map_spans_through_escapes_and_cuts() {
        let text = "a: \"x\0y\"\nb: 1\n";
        let view = SourceView::new(text, &[]);
        assert_eq!(view.text, "a: \"x\\0y\"\nb: 1\n");
        let b = text.find("b:").unwrap();
        assert_eq!(&view.text[view.map(b)..view.map(b) + 2], "b:");
        // A 20 KB line shows a window around the label.
        let text = format!("k: {}BAD{}\nnext: 1\n", "a".repeat(10_000), "z".repeat(10_000));
        let at = text.find("BAD").unwrap();
        let view = SourceView::new(&text, &[Span::new(at, at + 3)]);
        let line = view.text.lines().next().unwrap();
        assert!(line.starts_with("[9963 characters] …"), "{line}");
        assert!(line.ends_with("… [9883 more characters]"), "{line}");
        let span = view.map_span(Span::new(at, at + 3));
        assert_eq!(&view.text[span.range()], "BAD");
        assert_eq!(view.unmap(span.start), at);
        let next = text.find("next").unwrap();
        assert_eq!(&view.text[view.map(next)..view.map(next) + 4], "next");
        assert_eq!(view.map(text.len()), view.text.len());
    }
}
