//! Rendering diagnostics to text with code snippets.
//!
//! The one renderer of the crate: manifest, script, cog.yaml, compat and composition
//! problems all come here. Built on `codespan-reporting`: a codespan diagnostic takes
//! labels in *several* files natively ("defined again here" in one manifest, "first
//! defined here" in another render as one snippet block each, in one diagnostic), its
//! output does not depend on the terminal width,
//! which keeps snapshots stable, and colour is a property of the writer (`termcolor`), so
//! the plain and coloured renderings are the same text. Our own [`Diagnostic`] type stays
//! the public interface; this module is the only place that knows about the renderer.
//!
//! What a project wrote is never printed raw: messages, labels and notes go through
//! [`escape::clean_message`](super::escape::clean_message), and snippets show each file through
//! an [`escape::SourceView`](super::escape::SourceView) (control characters escaped, long lines
//! cut around the label).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files, SimpleFiles};
use codespan_reporting::term::{self, termcolor};

use super::diagnostic::{Diagnostic, Label, Severity};
use super::escape::{clean_message, SourceView};
use super::source::{SourceFile, Span};

/// Whether rendered text carries ANSI colour codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderStyle {
    /// No colour: snapshots, logs, pipes.
    #[default]
    Plain,
    /// ANSI colours, for a terminal.
    Colored,
}

impl RenderStyle {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset (https://no-color.org).
    pub fn for_stderr() -> RenderStyle {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if !no_color && std::io::stderr().is_terminal() {
            RenderStyle::Colored
        } else {
            RenderStyle::Plain
        }
    }
}

/// Render diagnostics one after another, each with its snippets.
pub fn render(diagnostics: &[Diagnostic], style: RenderStyle) -> String {
    let mut out = Vec::new();
    let config = term::Config::default();
    let files = Shown::new(diagnostics);
    for diagnostic in diagnostics {
        let converted = to_codespan(diagnostic, &files);
        let result = match style {
            RenderStyle::Plain => term::emit_to_io_write(&mut out, &config, &files, &converted),
            RenderStyle::Colored => {
                let mut ansi = termcolor::Ansi::new(&mut out);
                term::emit_to_write_style(&mut ansi, &config, &files, &converted)
            }
        };
        if result.is_err() {
            // Spans are clamped into their files, so this should not happen; if it does,
            // the one-line form still says what is wrong.
            out.extend_from_slice(format!("{}\n", clean_message(&diagnostic.to_string())).as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The files the diagnostics label, as shown: each one's text through one [`SourceView`]
/// (made once per file, for every span labelled in it, so many diagnostics on a large file
/// cost one pass over it), lines as in the original, and columns counted in the original
/// text (so `file:line:col` is where the user's editor finds it, whatever was escaped or
/// cut).
struct Shown {
    files: SimpleFiles<String, String>,
    originals: Vec<(Arc<SourceFile>, SourceView)>,
    ids: HashMap<*const SourceFile, usize>,
}

impl Shown {
    fn new(diagnostics: &[Diagnostic]) -> Shown {
        let mut spans: Vec<(Arc<SourceFile>, Vec<Span>)> = Vec::new();
        let mut ids: HashMap<*const SourceFile, usize> = HashMap::new();
        for label in diagnostics.iter().flat_map(|d| d.primary.iter().chain(&d.secondary)) {
            let id = *ids.entry(Arc::as_ptr(&label.file)).or_insert_with(|| {
                spans.push((label.file.clone(), Vec::new()));
                spans.len() - 1
            });
            spans[id].1.push(label.file.clamp_span(label.span));
        }
        let mut files = SimpleFiles::new();
        let mut originals = Vec::new();
        for (file, spans) in spans {
            let view = SourceView::new(file.text(), &spans);
            files.add(clean_message(file.path()), view.text.clone());
            originals.push((file, view));
        }
        Shown { files, originals, ids }
    }
}

impl<'a> Files<'a> for Shown {
    type FileId = usize;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<String, FilesError> {
        self.files.name(id)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        self.files.source(id)
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        self.files.line_index(id, byte_index)
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<std::ops::Range<usize>, FilesError> {
        self.files.line_range(id, line_index)
    }

    fn column_number(&'a self, id: usize, _line_index: usize, byte_index: usize) -> Result<usize, FilesError> {
        let (file, view) = self.originals.get(id).ok_or(FilesError::FileMissing)?;
        Ok(file.line_col(view.unmap(byte_index)).col)
    }
}

/// Convert to codespan's form, in the files as [`Shown`].
fn to_codespan(diagnostic: &Diagnostic, files: &Shown) -> cs::Diagnostic<usize> {
    let label = |label: &Label, style: cs::LabelStyle| {
        let id = files.ids[&Arc::as_ptr(&label.file)];
        let span = files.originals[id].1.map_span(label.file.clamp_span(label.span));
        cs::Label::new(style, id, span.range()).with_message(clean_message(&label.message))
    };
    let mut labels = Vec::new();
    if let Some(primary) = &diagnostic.primary {
        labels.push(label(primary, cs::LabelStyle::Primary));
    }
    for secondary in &diagnostic.secondary {
        labels.push(label(secondary, cs::LabelStyle::Secondary));
    }
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let notes = diagnostic
        .notes
        .iter()
        .map(|n| format!("note: {}", clean_message(n)))
        .chain(diagnostic.help.iter().map(|h| format!("help: {}", clean_message(h))))
        .collect();
    cs::Diagnostic::new(severity)
        .with_code(&diagnostic.code)
        .with_message(clean_message(&diagnostic.message))
        .with_labels(labels)
        .with_notes(notes)
}
