//! The data of a failure: the facts that led to it, in order, the table rows that were tried
//! and why each did not fit, and hints. [`super::render`] turns it into text; the plan and
//! `--format json` can carry it as is.

use serde::Serialize;

use super::version::Version;
use super::Source;

/// Why resolution failed, as a chain of facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Derivation {
    /// One line saying what could not be done (`cannot pick a cuDNN version`).
    pub title: String,
    /// The facts, in the order they narrowed the choice; each names where it comes from.
    pub facts: Vec<Fact>,
    /// What follows from them (`no CUDA/cuDNN pair fits`).
    pub conclusion: String,
    /// Table rows that were still candidates at the last step, and why each was rejected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<Tried>,
    /// What would work (`set cudnn to 8`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// One fact of a derivation: `cog.yaml pins cudnn 7` from `cog.yaml:5:10`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// The fact, without its location.
    pub text: String,
    /// Where it comes from (cog.yaml fields, requirements lines, table rows, ...).
    pub sources: Vec<Source>,
}

impl Fact {
    /// A fact with its sources.
    pub fn new(text: impl Into<String>, sources: Vec<Source>) -> Self {
        Self {
            text: text.into(),
            sources,
        }
    }
}

/// Candidates rejected at the failing step, grouped by the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tried {
    /// The candidates (`torch 1.13.1 cpu`).
    pub what: String,
    /// Their rows.
    pub rows: Vec<Source>,
    /// Why they do not fit.
    pub why: String,
}

/// `3.7, 3.8, 3.9, 3.10`, or `1.13.0, 1.13.1, ..., 2.11.0 (24 versions)` for long lists.
pub(crate) fn list_versions<'a>(versions: impl IntoIterator<Item = &'a Version>) -> String {
    let mut v: Vec<&Version> = versions.into_iter().collect();
    v.sort();
    v.dedup_by(|a, b| a.to_string() == b.to_string());
    list_strings(
        &v.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        "versions",
    )
}

/// Like [`list_versions`] for already formatted items.
pub(crate) fn list_strings(items: &[String], noun: &str) -> String {
    if items.len() <= 6 {
        return items.join(", ");
    }
    format!(
        "{}, {}, ..., {} ({} {noun})",
        items[0],
        items[1],
        items[items.len() - 1],
        items.len()
    )
}

/// `compat/torch.toml:12, 20, 28; cog.yaml:3:19`: sources with the same table file share it.
pub(crate) fn fmt_sources(sources: &[Source]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut tables: Vec<(String, Vec<u32>)> = Vec::new();
    for s in sources {
        match s {
            Source::Table { file, line } => match tables.iter_mut().find(|(f, _)| f == file) {
                Some((_, lines)) => {
                    if !lines.contains(line) {
                        lines.push(*line)
                    }
                }
                None => tables.push((file.clone(), vec![*line])),
            },
            other => {
                let s = other.to_string();
                if !parts.contains(&s) {
                    parts.push(s);
                }
            }
        }
    }
    for (file, mut lines) in tables {
        lines.sort_unstable();
        let shown: Vec<String> = if lines.len() > 5 {
            let mut v: Vec<String> = lines[..3].iter().map(u32::to_string).collect();
            v.push("...".into());
            v.push(lines[lines.len() - 1].to_string());
            v
        } else {
            lines.iter().map(u32::to_string).collect()
        };
        parts.push(format!("{file}:{}", shown.join(", ")));
    }
    parts.join("; ")
}
