//! The failure formatter, kept apart from the solver: a [`ResolveError`] becomes text that
//! reads as a derivation ("Because A (where), and B (where), no X fits."), then the rows
//! that were tried, then hints. Conflicts, missing data and invalid values are worded
//! differently so a reader knows whose fault it is.

use super::derivation::{fmt_sources, Derivation, Fact};
use super::ResolveError;

fn located(f: &Fact) -> String {
    if f.sources.is_empty() {
        f.text.clone()
    } else {
        format!("{} ({})", f.text, fmt_sources(&f.sources))
    }
}

fn because(d: &Derivation, out: &mut String) {
    for (i, f) in d.facts.iter().enumerate() {
        let lead = if i == 0 { "  Because " } else { "      and " };
        out.push_str(lead);
        out.push_str(&located(f));
        out.push_str(",\n");
    }
    if !d.conclusion.is_empty() {
        out.push_str("  ");
        out.push_str(&d.conclusion);
        out.push_str(".\n");
    }
}

fn tail(d: &Derivation, out: &mut String) {
    if !d.tried.is_empty() {
        out.push_str("  Rows tried:\n");
        for t in &d.tried {
            out.push_str(&format!(
                "    - {} ({}): {}\n",
                t.what,
                fmt_sources(&t.rows),
                t.why
            ));
        }
    }
    for h in &d.hints {
        out.push_str("  help: ");
        out.push_str(h);
        out.push('\n');
    }
}

/// Renders a resolution failure for people. The exit code is [`ResolveError::exit_code`].
pub fn render(err: &ResolveError) -> String {
    let mut out = String::new();
    match err {
        ResolveError::Conflict(d) => {
            out.push_str(&format!("error: {}\n", d.title));
            because(d, &mut out);
            tail(d, &mut out);
        }
        ResolveError::MissingData(d) => {
            out.push_str(&format!("error: {}\n", d.title));
            because(d, &mut out);
            out.push_str(
                "  note: cogpack's compat tables lack this data; the project is not at fault\n",
            );
            tail(d, &mut out);
        }
        ResolveError::Invalid(d) => {
            out.push_str(&format!("error: {}\n", d.title));
            for f in &d.facts {
                out.push_str("  ");
                out.push_str(&located(f));
                out.push('\n');
            }
            tail(d, &mut out);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Renders a successful resolution for the text plan: one line per value (name, version,
/// build, and the reason naming its source), then warnings with their help.
pub fn render_resolution(r: &super::Resolution) -> String {
    let mut out = String::new();
    let width = r.values.values().map(|v| v.version.len()).max().unwrap_or(0);
    for (name, v) in &r.values {
        let build = v.variant.as_deref().map(|b| format!(" [{b}]")).unwrap_or_default();
        out.push_str(&format!("{name:<12} {:<width$}{build:<12} {}\n", v.version, v.reason));
    }
    for w in &r.warnings {
        out.push_str("warning: ");
        out.push_str(&w.message);
        if let Some(s) = &w.source {
            out.push_str(&format!(" ({s})"));
        }
        out.push('\n');
        if let Some(h) = &w.help {
            out.push_str("  help: ");
            out.push_str(h);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}
