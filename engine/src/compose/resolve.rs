//! PLACEHOLDER version resolution, to be replaced by `crate::resolve` (the compat tables).
//!
//! Compose calls [`resolve_versions`] once, after every fired block has emitted its
//! dependencies and before any plan script runs; plan scripts read the result as
//! `resolved.<name>.version` (`resolved["base-image"].version`). Every value made here is
//! marked `"placeholder": true` and its `source` says so. What it does:
//!
//! - `python`: cog.yaml `build.python_version`, else the default `3.13`.
//! - `base-image`: `cogpack/base:py3.11-bookworm` for 3.11, `cogpack/base:py3.13-trixie` for
//!   3.13 (the Debian images cogpack builds locally; details carry their `python`), else
//!   `<unresolved:base-image>`.
//! - `cog`: cog.yaml `build.sdk_version`, else `0.23.1`.
//! - `uv`: `0.13.8`.
//! - anything else a block depends on (`torch`, `cuda`, `cudnn`, `tensorflow`, ...):
//!   `<unresolved:NAME>`.

use std::collections::BTreeMap;

use serde_json::json;

use super::Dependency;
use crate::plan::Resolved;

/// Python used when cog.yaml does not say (Cog's default).
pub const DEFAULT_PYTHON: &str = "3.13";
/// The cog wheel used when cog.yaml has no `build.sdk_version`.
pub const DEFAULT_COG: &str = "0.23.1";
/// The uv release installed by the uv and python-interpreter blocks.
pub const DEFAULT_UV: &str = "0.13.8";

/// Why versions could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A cog.yaml value has the wrong shape.
    #[error("cog.yaml `{field}` must be {expected}, not {found}")]
    BadField { field: String, expected: String, found: String },
}

/// Placeholder resolver: see the module docs. `cog` is cog.yaml as JSON; `deps` are every
/// fired block's dependencies.
pub fn resolve_versions(cog: &serde_json::Value, deps: &[Dependency]) -> Result<BTreeMap<String, Resolved>, ResolveError> {
    let mut out = BTreeMap::new();
    let requested = |name: &str| -> serde_json::Value {
        deps.iter()
            .filter(|d| d.name == name)
            .map(|d| json!(format!("{} (block `{}`)", d.constraint, d.block)))
            .collect::<Vec<_>>()
            .into()
    };
    let entry = |version: Option<String>, source: String, name: &str, extra: serde_json::Value| {
        let mut details = BTreeMap::new();
        details.insert("placeholder".to_string(), json!(true));
        let req = requested(name);
        if req.as_array().is_some_and(|a| !a.is_empty()) {
            details.insert("requested".to_string(), req);
        }
        if let serde_json::Value::Object(map) = extra {
            details.extend(map);
        }
        Resolved { version, source, details }
    };

    let python = match cog.pointer("/build/python_version") {
        None | Some(serde_json::Value::Null) => (DEFAULT_PYTHON.to_string(), "default (placeholder resolver)".to_string()),
        Some(serde_json::Value::String(s)) => (s.trim().to_string(), "cog.yaml build.python_version".to_string()),
        Some(serde_json::Value::Number(n)) => (n.to_string(), "cog.yaml build.python_version".to_string()),
        Some(other) => {
            return Err(ResolveError::BadField {
                field: "build.python_version".into(),
                expected: "a version string like \"3.11\"".into(),
                found: other.to_string(),
            })
        }
    };
    let minor = python.0.split('.').take(2).collect::<Vec<_>>().join(".");
    let names: Vec<&str> = {
        let mut n: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
        n.sort();
        n.dedup();
        n
    };
    for name in names {
        let resolved = match name {
            "python" => entry(Some(python.0.clone()), python.1.clone(), name, json!({})),
            "base-image" => match minor.as_str() {
                "3.11" => entry(
                    Some("cogpack/base:py3.11-bookworm".into()),
                    "placeholder resolver: Debian bookworm base for python 3.11".into(),
                    name,
                    json!({"python": "3.11", "distro": "debian-bookworm"}),
                ),
                "3.13" => entry(
                    Some("cogpack/base:py3.13-trixie".into()),
                    "placeholder resolver: Debian trixie base for python 3.13".into(),
                    name,
                    json!({"python": "3.13", "distro": "debian-trixie"}),
                ),
                _ => entry(
                    Some("<unresolved:base-image>".into()),
                    format!("placeholder resolver: no base image known for python {minor}"),
                    name,
                    json!({}),
                ),
            },
            "cog" => match cog.pointer("/build/sdk_version").and_then(|v| v.as_str()) {
                Some(v) => entry(Some(v.trim().to_string()), "cog.yaml build.sdk_version".into(), name, json!({})),
                None => entry(Some(DEFAULT_COG.into()), "default (placeholder resolver)".into(), name, json!({})),
            },
            "uv" => entry(Some(DEFAULT_UV.into()), "default (placeholder resolver)".into(), name, json!({})),
            other => entry(
                Some(format!("<unresolved:{other}>")),
                "placeholder resolver: resolution against the compat tables is not wired in yet".into(),
                name,
                json!({}),
            ),
        };
        out.insert(name.to_string(), resolved);
    }
    Ok(out)
}
