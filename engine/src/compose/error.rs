//! Composition errors.

use crate::diagnostics::exit;
use crate::manifest::{Diagnostic, ManifestError};
use crate::plan::Violation;
use crate::script::ScriptError;

use super::resolve::ResolveError;

/// Why a plan could not be composed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ComposeError {
    /// The project directory cannot be used.
    #[error("{0}")]
    Project(String),
    /// cog.yaml is not valid YAML, or not a map.
    #[error("{0}")]
    CogYaml(Diagnostic),
    /// No stack's detect passed.
    #[error("no stack can build this project")]
    NoStack {
        /// Each stack tried, with why it did not apply.
        tried: Vec<(String, String)>,
    },
    /// A detect condition could not be evaluated (a bad path or glob in a manifest).
    #[error("{0}")]
    Detect(Diagnostic),
    /// A script failed or was stopped.
    #[error(transparent)]
    Script(Box<ScriptError>),
    /// A script returned something of the wrong shape.
    #[error("{0}")]
    BadScriptResult(Diagnostic),
    /// A manifest problem found while composing (ordering).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A fired block requires a capability no fired block provides.
    #[error("{0}")]
    MissingCapability(Diagnostic),
    /// Versions could not be resolved.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The blocks produced a plan that breaks the plan rules.
    #[error("the plan made by stack `{stack}` is invalid ({} problem(s))", violations.len())]
    InvalidPlan { stack: String, violations: Vec<Violation> },
}

impl ComposeError {
    /// The process exit code for this failure class.
    pub fn exit_code(&self) -> u8 {
        match self {
            ComposeError::Project(_) | ComposeError::CogYaml(_) | ComposeError::NoStack { .. } => exit::PROJECT,
            ComposeError::Script(e) if e.is_project_error() => exit::PROJECT,
            ComposeError::Resolve(ResolveError::BadField { .. }) => exit::PROJECT,
            ComposeError::Detect(_)
            | ComposeError::Script(_)
            | ComposeError::BadScriptResult(_)
            | ComposeError::Manifest(_)
            | ComposeError::MissingCapability(_)
            | ComposeError::InvalidPlan { .. } => exit::MANIFEST,
        }
    }

    /// The error as diagnostics, ready to render.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ComposeError::Project(m) => vec![Diagnostic::new(m.clone())],
            ComposeError::CogYaml(d)
            | ComposeError::Detect(d)
            | ComposeError::BadScriptResult(d)
            | ComposeError::MissingCapability(d) => vec![d.clone()],
            ComposeError::NoStack { tried } => {
                let mut message = "no stack can build this project".to_string();
                for (id, why) in tried {
                    message.push_str(&format!("\n  stack `{id}`: {why}"));
                }
                vec![Diagnostic::new(message).help("a Cog project has a cog.yaml at its root; see `cogpack stacks list`")]
            }
            ComposeError::Script(e) => vec![e.to_diagnostic()],
            ComposeError::Manifest(e) => vec![e.diagnostic()],
            ComposeError::Resolve(e) => vec![Diagnostic::new(e.to_string())],
            ComposeError::InvalidPlan { stack, violations } => {
                let mut message = format!("the plan made by stack `{stack}` is invalid:");
                for v in violations {
                    message.push_str(&format!("\n  - {v}"));
                }
                vec![Diagnostic::new(message).help("the blocks named in each stage's `block` field made these stages")]
            }
        }
    }
}
