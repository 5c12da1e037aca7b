//! Evaluating `[detect]` tables, keeping every condition's outcome for `explain`.

use serde::Serialize;

use super::ComposeError;
use crate::diagnostics::{Diagnostic, Span};
use crate::manifest::Detect;
use crate::script::{ProjectError, ScriptContext};

/// The outcome of one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckOutcome {
    Held,
    Failed,
    /// Not evaluated because an earlier condition failed.
    Skipped,
}

/// One condition and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The condition in words (`the project has `uv.lock``).
    pub condition: String,
    pub outcome: CheckOutcome,
    /// What was found (`uv.lock exists`, `cog.yaml does not set build.gpu`).
    pub detail: String,
}

/// Whether a block or stack applies to a project, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectReport {
    pub fired: bool,
    /// One line: the conditions that held (fired) or the one that failed.
    pub reason: String,
    pub checks: Vec<Check>,
}

/// Evaluates a detect table. Declarative conditions run first, in manifest order; the
/// script runs only when they all held.
pub fn evaluate(
    detect: &Detect,
    ctx: &ScriptContext,
    cog: &serde_json::Value,
    owner: &str,
    owner_id: &str,
    params: &serde_json::Value,
) -> Result<DetectReport, ComposeError> {
    let project = ctx.project();
    let mut checks = Vec::new();
    let any_failed = |checks: &[Check]| checks.iter().any(|c| c.outcome != CheckOutcome::Held);
    let push = |checks: &mut Vec<Check>, condition: String, held: bool, yes: String, no: String| {
        let outcome = if any_failed(checks) {
            CheckOutcome::Skipped
        } else if held {
            CheckOutcome::Held
        } else {
            CheckOutcome::Failed
        };
        let detail = match outcome {
            CheckOutcome::Held => yes,
            CheckOutcome::Failed => no,
            CheckOutcome::Skipped => "not checked (an earlier condition failed)".into(),
        };
        checks.push(Check { condition, outcome, detail });
    };
    let bad_path = |e: ProjectError| ComposeError::Detect(Diagnostic::error("compose::detect", format!("detect condition of {owner}: {e}")));
    let exists = |path: &str| -> Result<bool, ComposeError> {
        if path.contains(['*', '?', '[', '{']) {
            Ok(!project.glob(path).map_err(bad_path)?.is_empty())
        } else {
            Ok(project.has_file(path).map_err(bad_path)? || project.is_dir(path).map_err(bad_path)?)
        }
    };

    if detect.always {
        push(&mut checks, "always".into(), true, "applies to every project".into(), String::new());
    }
    for f in &detect.files {
        let held = exists(f)?;
        push(&mut checks, format!("the project has `{f}`"), held, format!("`{f}` exists"), format!("`{f}` does not exist"));
    }
    if !detect.any_files.is_empty() {
        let mut found = None;
        for f in &detect.any_files {
            if exists(f)? {
                found = Some(f.clone());
                break;
            }
        }
        let list = detect.any_files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        let yes = found.as_ref().map(|f| format!("`{f}` exists")).unwrap_or_default();
        push(&mut checks, format!("the project has one of {list}"), found.is_some(), yes, format!("none of {list} exists"));
    }
    for f in &detect.missing_files {
        let held = !exists(f)?;
        push(&mut checks, format!("the project has no `{f}`"), held, format!("`{f}` does not exist"), format!("`{f}` exists"));
    }
    for key in &detect.config {
        let value = config_value(cog, key);
        let held = value.is_some_and(is_set);
        push(
            &mut checks,
            format!("cog.yaml sets `{key}`"),
            held,
            format!("cog.yaml sets `{key}`"),
            match value {
                Some(v) if !v.is_null() => format!("cog.yaml `{key}` is empty ({v})"),
                _ => format!("cog.yaml does not set `{key}`"),
            },
        );
    }
    for (key, expected) in &detect.config_equals {
        let value = config_value(cog, key);
        let held = value == Some(expected);
        let no = match value {
            None | Some(serde_json::Value::Null) => format!("cog.yaml does not set `{key}` (needs {expected})"),
            Some(v) => format!("cog.yaml `{key}` is {v} (needs {expected})"),
        };
        push(&mut checks, format!("cog.yaml `{key}` is {expected}"), held, format!("cog.yaml `{key}` is {expected}"), no);
    }
    if let Some(script) = &detect.script {
        let condition = format!("the detect script ({}) says yes", script.origin.start_location());
        if any_failed(&checks) {
            push(&mut checks, condition, false, String::new(), String::new());
        } else {
            let value = ctx.run(script, owner, owner_id, params).map_err(|e| ComposeError::Script(Box::new(e)))?;
            let (fires, reason) = script_verdict(value).map_err(|m| {
                ComposeError::BadScriptResult(
                    Diagnostic::error("compose::bad_script_result", format!("the detect script of {owner} returned {m}"))
                        .with_primary(&script.origin.file, Span::empty(script.origin.content_start), "the script starts here")
                        .with_help("return `true`/`false` or `#{ fires: bool, reason: \"...\" }`"),
                )
            })?;
            let yes = reason.clone().unwrap_or_else(|| "the detect script returned true".into());
            let no = reason.unwrap_or_else(|| "the detect script returned false".into());
            push(&mut checks, condition, fires, yes, no);
        }
    }

    let fired = checks.iter().all(|c| c.outcome == CheckOutcome::Held);
    let reason = if fired {
        checks.iter().map(|c| c.detail.as_str()).collect::<Vec<_>>().join("; ")
    } else {
        checks.iter().find(|c| c.outcome == CheckOutcome::Failed).map(|c| c.detail.clone()).unwrap_or_default()
    };
    Ok(DetectReport { fired, reason, checks })
}

fn script_verdict(value: rhai::Dynamic) -> Result<(bool, Option<String>), String> {
    if let Ok(b) = value.as_bool() {
        return Ok((b, None));
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let fires = map
            .get("fires")
            .and_then(|v| v.as_bool().ok())
            .ok_or_else(|| "a map without a boolean `fires`".to_string())?;
        let reason = match map.get("reason") {
            None => None,
            Some(r) if r.is_unit() => None,
            Some(r) => Some(r.clone().into_string().map_err(|t| format!("a `reason` of type {t}"))?),
        };
        if let Some(key) = map.keys().find(|k| k.as_str() != "fires" && k.as_str() != "reason") {
            return Err(format!("a map with an unknown key `{key}`"));
        }
        return Ok((fires, reason));
    }
    Err(format!("a value of type `{}`", value.type_name()))
}

/// The value at a dotted cog.yaml path.
pub fn config_value<'a>(cog: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut current = cog;
    for key in path.split('.') {
        current = current.as_object()?.get(key)?;
    }
    Some(current)
}

/// Whether a cog.yaml value counts as set: not null, false, `""`, `[]` or `{}`.
pub fn is_set(value: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match value {
        J::Null => false,
        J::Bool(b) => *b,
        J::String(s) => !s.trim().is_empty(),
        J::Array(a) => !a.is_empty(),
        J::Object(o) => !o.is_empty(),
        J::Number(_) => true,
    }
}
