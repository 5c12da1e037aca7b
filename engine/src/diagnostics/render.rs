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

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};

use super::diagnostic::{Diagnostic, Label, Severity};
use super::source::SourceFile;

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
    let mut files = SimpleFiles::new();
    let mut ids: HashMap<*const SourceFile, usize> = HashMap::new();
    let mut out = Vec::new();
    let config = term::Config::default();
    for diagnostic in diagnostics {
        let converted = to_codespan(diagnostic, &mut files, &mut ids);
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
            out.extend_from_slice(format!("{diagnostic}\n").as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Convert to codespan's form, registering each file once (keyed by its `Arc`).
fn to_codespan<'d>(
    diagnostic: &'d Diagnostic,
    files: &mut SimpleFiles<&'d str, &'d str>,
    ids: &mut HashMap<*const SourceFile, usize>,
) -> cs::Diagnostic<usize> {
    let mut label = |label: &'d Label, style: cs::LabelStyle| {
        let id = *ids
            .entry(Arc::as_ptr(&label.file))
            .or_insert_with(|| files.add(label.file.path(), label.file.text()));
        let span = label.file.clamp_span(label.span);
        cs::Label::new(style, id, span.range()).with_message(&label.message)
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
        .map(|n| format!("note: {n}"))
        .chain(diagnostic.help.iter().map(|h| format!("help: {h}")))
        .collect();
    cs::Diagnostic::new(severity)
        .with_code(&diagnostic.code)
        .with_message(&diagnostic.message)
        .with_labels(labels)
        .with_notes(notes)
}
