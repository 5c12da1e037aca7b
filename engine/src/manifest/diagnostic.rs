//! Located diagnostics and their rendering.
//!
//! Every manifest and script problem becomes a [`Diagnostic`]: a message, the file it is in,
//! a byte span, a label and a `help:` hint. [`render`] is the one place that turns them into
//! text (miette's graphical report: `file:line:col`, a snippet, the help), so it can move to
//! the shared `diagnostics` module later without touching the callers.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The text of a file that a diagnostic points into.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown to people: `blocks.d/uv.toml`, `.cogpack/blocks.d/hello.toml`, ...
    pub name: String,
    /// The whole file.
    pub text: Arc<str>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile").field("name", &self.name).finish_non_exhaustive()
    }
}

impl SourceFile {
    /// A named file.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile { name: name.into(), text: text.into() }
    }

    /// `name:line:col` of a byte offset.
    pub fn location(&self, offset: usize) -> String {
        let (line, col) = line_col(&self.text, offset);
        format!("{}:{line}:{col}", self.name)
    }
}

/// One problem, with where it is and what to do about it. (Boxed, so results that carry
/// one stay small; the fields are reached through `Deref`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic(Box<DiagnosticData>);

/// The fields of a [`Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticData {
    /// What is wrong (may span several lines).
    pub message: String,
    /// The file the span points into, if any.
    pub file: Option<SourceFile>,
    /// Byte range in `file`.
    pub span: Option<Range<usize>>,
    /// Short text shown under the snippet.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl std::ops::Deref for Diagnostic {
    type Target = DiagnosticData;
    fn deref(&self) -> &DiagnosticData {
        &self.0
    }
}

impl std::ops::DerefMut for Diagnostic {
    fn deref_mut(&mut self) -> &mut DiagnosticData {
        &mut self.0
    }
}

impl Diagnostic {
    /// A diagnostic without a location.
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic(Box::new(DiagnosticData { message: message.into(), file: None, span: None, label: None, help: None }))
    }

    /// Points the diagnostic at a span of a file.
    pub fn at(mut self, file: &SourceFile, span: Range<usize>) -> Diagnostic {
        self.file = Some(file.clone());
        self.span = Some(span);
        self
    }

    /// Sets the label shown at the span.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Sets the `help:` hint.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the `help:` hint when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// `file:line:col` of the start of the span, when the diagnostic has one.
    pub fn location(&self) -> Option<String> {
        match (&self.file, &self.span) {
            (Some(file), Some(span)) => Some(file.location(span.start)),
            (Some(file), None) => Some(file.name.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStyle {
    /// ANSI colours (terminals); off for files, pipes and snapshots.
    pub color: bool,
    /// Wrap width.
    pub width: usize,
}

impl RenderStyle {
    /// No colour, 100 columns: stable output for tests and logs.
    pub const PLAIN: RenderStyle = RenderStyle { color: false, width: 100 };
}

/// Renders diagnostics as miette graphical reports, separated by blank lines.
pub fn render(diagnostics: &[Diagnostic], style: RenderStyle) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for (i, diag) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let report = Report::new(diag);
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail in practice; fall back to the plain form.
            out.push_str(&diag.to_string());
            out.push('\n');
        }
    }
    out
}

/// Adapter from [`Diagnostic`] to miette's trait.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<miette::NamedSource<Arc<str>>>,
}

impl<'a> Report<'a> {
    fn new(diag: &'a Diagnostic) -> Report<'a> {
        let source = diag
            .file
            .as_ref()
            .map(|f| miette::NamedSource::new(&f.name, f.text.clone()));
        Report { diag, source }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diag, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)?;
        // Without a snippet, still say which file it is.
        if self.diag.span.is_none() {
            if let Some(file) = &self.diag.file {
                write!(f, "\n  in {}", file.name)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag.help.as_ref().map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match (&self.source, &self.diag.span) {
            (Some(source), Some(_)) => Some(source as &dyn miette::SourceCode),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.diag.span.clone()?;
        self.source.as_ref()?;
        let len = span.end.saturating_sub(span.start);
        let label = miette::LabeledSpan::new(self.diag.label.clone(), span.start, len);
        Some(Box::new(std::iter::once(label)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
    }

    #[test]
    fn rendering_names_file_line_and_column() {
        let file = SourceFile::new("blocks.d/x.toml", "summary = \"x\"\nphse = 1\n");
        let d = Diagnostic::new("unknown field `phse`").at(&file, 14..18).label("here").help("did you mean `phase`?");
        let out = render(&[d], RenderStyle::PLAIN);
        assert!(out.contains("blocks.d/x.toml:2:1"), "{out}");
        assert!(out.contains("did you mean `phase`?"), "{out}");
        assert!(!out.contains('\u{1b}'), "no colour codes: {out}");
    }
}
