//! Diagnostics shared by every module: exit codes, source files and spans, the
//! [`Diagnostic`] type modules return for problems in files, its rendering with code
//! snippets, and "did you mean" suggestions.
//!
//! A module that reads a file makes a [`SourceFile`] (path as shown to the user + text),
//! keeps [`Span`]s (byte ranges) or [`Located`] values for what later checks may cite, and
//! reports problems as [`Diagnostic`]s with a primary [`Label`], optional secondary labels
//! (in any file) and a `help:` hint. Library code never prints: the CLI calls
//! [`render`] (or [`Diagnostic::render`]) with a [`RenderStyle`].

mod diagnostic;
mod escape;
mod render;
mod source;
mod suggest;

pub use diagnostic::{Diagnostic, DiagnosticData, HasDiagnostics, Label, Severity};
pub use escape::{clean_message, MAX_MESSAGE_LINE, MAX_SOURCE_LINE};
pub use render::{render, RenderStyle};
pub use source::{display_path, LineCol, Located, Location, SourceFile, Span};
pub use suggest::{levenshtein, suggest};

/// Process exit codes, one per failure class, so scripts can tell them apart.
/// Documented in `docs/exit-codes.md`.
pub mod exit {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// An unexpected failure with no better class.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// A block, stack or compat manifest is invalid (cogpack's or a user's own manifest).
    pub const MANIFEST: u8 = 3;
    /// The project is invalid: cog.yaml, requirements, missing predictor, ...
    pub const PROJECT: u8 = 4;
    /// Version resolution failed because the user's constraints conflict.
    pub const RESOLVE_CONFLICT: u8 = 5;
    /// Version resolution failed because cogpack's compat tables lack the data (cogpack's fault).
    pub const RESOLVE_MISSING_DATA: u8 = 6;
    /// A build step failed inside BuildKit.
    pub const BUILD: u8 = 7;
    /// No BuildKit engine could be reached or started.
    pub const ENGINE: u8 = 8;
    /// A prediction failed (the container did not become ready, or the prediction errored).
    pub const PREDICT: u8 = 9;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cog_yaml() -> std::sync::Arc<SourceFile> {
        SourceFile::new(
            "cog.yaml",
            "build:\n  python_version: \"3.7\"\npredict: \"predict.py:Predictor\"\n",
        )
    }

    #[test]
    fn plain_render_has_snippet_location_and_help() {
        let file = cog_yaml();
        let start = file.text().find("\"3.7\"").unwrap();
        let d = Diagnostic::error(
            "cog_yaml::invalid_value",
            "invalid build.python_version \"3.7\": minimum supported Python version is 3.10",
        )
        .with_primary(&file, Span::new(start, start + 5), "too old")
        .with_note("Cog supports Python 3.10 and newer")
        .with_help("use python_version: \"3.11\"");
        let text = d.render_plain();
        assert!(text.starts_with("error[cog_yaml::invalid_value]: invalid build.python_version"));
        assert!(text.contains("cog.yaml:2:19"), "{text}");
        assert!(text.contains("python_version: \"3.7\""), "{text}");
        assert!(text.contains("^^^^^ too old"), "{text}");
        assert!(text.contains("= note: Cog supports"), "{text}");
        assert!(text.contains("= help: use python_version"), "{text}");
        assert!(!text.contains('\u{1b}'), "plain output has no escape codes");
    }

    #[test]
    fn colored_render_is_the_same_text_with_ansi_codes() {
        let file = cog_yaml();
        let d = Diagnostic::warning("cog_yaml::deprecated_field", "deprecated field \"predict\"")
            .with_primary(&file, Span::new(30, 37), "");
        let colored = d.render(RenderStyle::Colored);
        assert!(colored.contains('\u{1b}'));
        let stripped = strip_ansi(&colored);
        assert_eq!(stripped, d.render_plain());
    }

    #[test]
    fn labels_in_two_files_render_both_snippets() {
        let first = SourceFile::new("blocks.d/uv.toml", "[block]\nid = \"uv\"\n");
        let second = SourceFile::new("my/blocks/uv.toml", "[block]\nid = \"uv\"\n");
        let d = Diagnostic::error("manifest::duplicate_id", "block `uv` is defined twice")
            .with_primary(&second, Span::new(8, 17), "defined again here")
            .with_secondary(&first, Span::new(8, 17), "first defined here");
        let text = render(&[d.clone(), d], RenderStyle::Plain);
        assert!(text.contains("my/blocks/uv.toml:2:1"), "{text}");
        assert!(text.contains("blocks.d/uv.toml:2:1"), "{text}");
        assert!(text.contains("first defined here"), "{text}");
        assert_eq!(text.matches("error[manifest::duplicate_id]").count(), 2);
    }

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let file = SourceFile::new("x.yaml", "a: b");
        let d = Diagnostic::error("x::y", "bad").with_primary(&file, Span::new(100, 200), "here");
        assert!(d.render_plain().contains("x.yaml:1:5"));
        let no_label = Diagnostic::error("cog_yaml::not_found", "cog.yaml not found in /tmp/x");
        assert!(no_label
            .render_plain()
            .starts_with("error[cog_yaml::not_found]"));
    }

    #[test]
    fn source_text_and_messages_are_never_echoed_raw() {
        // A NUL byte, a terminal escape and a 20 KB line in the file; the label on the long
        // line, far to the right.
        let text = format!(
            "a: \"x\0y\x1b[2J\"\nlong: {}BAD{}\nend: 1\n",
            "a".repeat(10_000),
            "z".repeat(10_000)
        );
        let file = SourceFile::new("cog.yaml", text.clone());
        let at = text.find("BAD").unwrap();
        let d = Diagnostic::error("x::y", format!("bad value {:?}\0", &text[at - 5_000..at + 3]))
            .with_primary(&file, Span::new(at, at + 3), "here\x07")
            .with_secondary(&file, Span::new(4, 8), "and this");
        let out = render(&[d], RenderStyle::Plain);
        assert!(!out.contains('\0') && !out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.lines().all(|l| l.chars().count() < 600), "{out}");
        // The location is the original line and column.
        assert!(out.contains("cog.yaml:2:10007"), "{out}");
        assert!(out.contains("BAD"), "{out}");
        assert!(out.contains("^^^ here\\x07"), "{out}");
        assert!(out.contains("\"x\\0y\\x1b[2J\""), "{out}");
        assert!(out.contains("… [9883 more characters]"), "{out}");
        assert!(out.contains("2 │ [9966 characters] …"), "{out}");
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
