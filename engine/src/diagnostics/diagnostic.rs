//! The diagnostic every module builds when it reports a problem in a file.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::source::{Location, SourceFile, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the command.
    Error,
    /// Reported, but the command goes on.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A span in a file with a short message, e.g. "first defined here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file the span is in.
    pub file: Arc<SourceFile>,
    /// What the label points at.
    pub span: Span,
    /// Shown next to the underlined text; may be empty.
    pub message: String,
}

impl Label {
    /// A label on `span` of `file`.
    pub fn new(file: &Arc<SourceFile>, span: Span, message: impl Into<String>) -> Label {
        Label {
            file: Arc::clone(file),
            span,
            message: message.into(),
        }
    }

    /// Where the label starts.
    pub fn location(&self) -> Location {
        self.file.location(self.span)
    }
}

/// A problem found in the user's files or in cogpack's own manifests, with everything
/// needed to show it: a code (`cog_yaml::invalid_value`), a one-line message, the primary
/// place it happened, other places that explain it (possibly in other files), notes and a
/// `help:` hint.
///
/// Library code builds these and returns them; only the CLI renders them
/// (see [`Diagnostic::render`]).
///
/// The fields live in a box (reached through `Deref`), so that error enums and results that
/// carry a diagnostic stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic(Box<DiagnosticData>);

/// The fields of a [`Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticData {
    /// Error or warning.
    pub severity: Severity,
    /// Stable machine-readable code, `module::kind` (e.g. `cog_yaml::reserved_env`).
    pub code: String,
    /// One line saying what is wrong; names the file, field or block.
    pub message: String,
    /// Where the problem is, if it has a place in a file.
    pub primary: Option<Label>,
    /// Other places that explain the problem ("first defined here"), in any file.
    pub secondary: Vec<Label>,
    /// Extra facts shown under the snippet (`= note: ...`).
    pub notes: Vec<String>,
    /// What to do about it (`= help: ...`), e.g. "did you mean `python_version`?".
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
    /// A new diagnostic with no labels.
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic(Box::new(DiagnosticData {
            severity,
            code: code.into(),
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }))
    }

    /// A new error.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, code, message)
    }

    /// A new warning.
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, code, message)
    }

    /// Set the primary label.
    pub fn with_primary(
        mut self,
        file: &Arc<SourceFile>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        self.primary = Some(Label::new(file, span, message));
        self
    }

    /// Add a secondary label (any file).
    pub fn with_secondary(
        mut self,
        file: &Arc<SourceFile>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        self.secondary.push(Label::new(file, span, message));
        self
    }

    /// Add a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Set the help hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Set the help hint if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Where the primary label starts, if there is one.
    pub fn location(&self) -> Option<Location> {
        self.primary.as_ref().map(Label::location)
    }

    /// Render with a code snippet, in colour (ANSI) or not. See [`super::render`].
    pub fn render(&self, style: super::RenderStyle) -> String {
        super::render::render(std::slice::from_ref(self), style)
    }

    /// Render without colour: for snapshots, logs and non-terminals.
    pub fn render_plain(&self) -> String {
        self.render(super::RenderStyle::Plain)
    }
}

/// One line: `path:line:col: error[code]: message` (no snippet). For logs and `Display`
/// of error enums; use [`Diagnostic::render`] to show it to a person.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location() {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// The JSON form of a diagnostic (for `--format json`): positions instead of file texts.
#[derive(Serialize)]
struct DiagnosticJson<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
    labels: Vec<LabelJson<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct LabelJson<'a> {
    primary: bool,
    #[serde(flatten)]
    location: Location,
    span: Span,
    message: &'a str,
}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn label(label: &Label, primary: bool) -> LabelJson<'_> {
            LabelJson {
                primary,
                location: label.location(),
                span: label.span,
                message: &label.message,
            }
        }
        let labels = self
            .primary
            .iter()
            .map(|l| label(l, true))
            .chain(self.secondary.iter().map(|l| label(l, false)))
            .collect();
        DiagnosticJson {
            severity: self.severity,
            code: &self.code,
            message: &self.message,
            location: self.location(),
            labels,
            notes: &self.notes,
            help: self.help.as_deref(),
        }
        .serialize(serializer)
    }
}

/// Implemented by module error types that carry diagnostics, so the CLI can render any of
/// them the same way and pick the exit code.
pub trait HasDiagnostics {
    /// The diagnostics to show, errors and warnings, in order.
    fn diagnostics(&self) -> Vec<Diagnostic>;

    /// The process exit code for this failure (see [`super::exit`]).
    fn exit_code(&self) -> u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_location() {
        let file = SourceFile::new("cog.yaml", "build:\n  gpu: maybe\n");
        let start = file.text().find("maybe").unwrap();
        let d = Diagnostic::error(
            "cog_yaml::invalid_type",
            "invalid build.gpu: must be a boolean",
        )
        .with_primary(&file, Span::new(start, start + 5), "not a boolean");
        assert_eq!(
            d.to_string(),
            "cog.yaml:2:8: error[cog_yaml::invalid_type]: invalid build.gpu: must be a boolean"
        );
        let w = Diagnostic::warning("x::y", "no place");
        assert_eq!(w.to_string(), "warning[x::y]: no place");
        assert!(!w.is_error());
    }

    #[test]
    fn json_has_positions_not_texts() {
        let a = SourceFile::new("a.toml", "name = \"x\"\n");
        let b = SourceFile::new("b.toml", "\nname = \"x\"\n");
        let d = Diagnostic::error("manifest::duplicate", "block `x` is defined twice")
            .with_primary(&b, Span::new(1, 11), "defined again here")
            .with_secondary(&a, Span::new(0, 10), "first defined here")
            .with_help("rename one of them");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["location"]["path"], "b.toml");
        assert_eq!(json["location"]["line"], 2);
        assert_eq!(json["labels"][1]["path"], "a.toml");
        assert_eq!(json["labels"][1]["primary"], false);
        assert_eq!(json["help"], "rename one of them");
        assert!(json.get("notes").is_none());
    }
}
