//! Composition errors.

use crate::cog_yaml::CogYamlError;
use crate::diagnostics::{exit, Diagnostic, HasDiagnostics, RenderStyle};
use crate::manifest::ManifestError;
use crate::plan::Violation;
use crate::requirements::RequirementsError;
use crate::resolve::ResolveError;
use crate::script::ScriptError;

/// Why a plan could not be composed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ComposeError {
    /// The project directory cannot be used.
    #[error("{0}")]
    Project(String),
    /// cog.yaml is missing where it must be, unreadable, or invalid: every problem, located.
    #[error("{message}")]
    CogYaml {
        /// One line (`cog.yaml is invalid: ...`).
        message: String,
        /// The checker's diagnostics, errors and warnings, in file order.
        diagnostics: Vec<Diagnostic>,
    },
    /// The requirements file (or a file it includes) cannot be read or parsed.
    #[error(transparent)]
    Requirements(Box<RequirementsError>),
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
    /// Versions could not be resolved: a conflict, missing compat data, or an invalid value.
    /// [`crate::resolve::render`] gives the derivation.
    #[error(transparent)]
    Resolve(Box<ResolveError>),
    /// A block's constraint on a tool cogpack installs (`cog`, `uv`) cannot hold.
    #[error("{message}")]
    Tool {
        /// What is wrong, naming the block.
        message: String,
        /// The constraint is valid but not met (else it does not parse).
        conflict: bool,
    },
    /// The blocks produced a plan that breaks the plan rules.
    #[error("the plan made by stack `{stack}` is invalid ({} problem(s))", violations.len())]
    InvalidPlan { stack: String, violations: Vec<Violation> },
}

impl ComposeError {
    /// A cog.yaml failure, with its diagnostics.
    pub fn cog_yaml(e: CogYamlError) -> ComposeError {
        ComposeError::CogYaml { message: e.to_string(), diagnostics: e.diagnostics() }
    }

    /// The process exit code for this failure class.
    pub fn exit_code(&self) -> u8 {
        match self {
            ComposeError::Project(_)
            | ComposeError::CogYaml { .. }
            | ComposeError::Requirements(_)
            | ComposeError::NoStack { .. } => exit::PROJECT,
            ComposeError::Script(e) if e.is_project_error() => exit::PROJECT,
            ComposeError::Resolve(e) => e.exit_code(),
            ComposeError::Tool { conflict: true, .. } => exit::RESOLVE_CONFLICT,
            ComposeError::Tool { conflict: false, .. }
            | ComposeError::Detect(_)
            | ComposeError::Script(_)
            | ComposeError::BadScriptResult(_)
            | ComposeError::Manifest(_)
            | ComposeError::MissingCapability(_)
            | ComposeError::InvalidPlan { .. } => exit::MANIFEST,
        }
    }

    /// The whole error as text for stderr: every diagnostic with its snippets
    /// ([`crate::diagnostics::render`]; cog.yaml warnings included), a resolution failure
    /// as its derivation ([`crate::resolve::render`]).
    pub fn render(&self, color: bool) -> String {
        let style = if color { RenderStyle::Colored } else { RenderStyle::Plain };
        match self {
            ComposeError::CogYaml { diagnostics, .. } => crate::diagnostics::render(diagnostics, style),
            ComposeError::Resolve(e) => format!("{}\n", crate::resolve::render(e)),
            other => crate::diagnostics::render(&other.diagnostics(), style),
        }
    }

    /// The errors as located diagnostics (cog.yaml errors as the checker made them; a
    /// resolution failure is one diagnostic holding its derivation).
    /// [`ComposeError::render`] is the better rendering for people.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ComposeError::Project(m) => vec![Diagnostic::error("compose::project", m.clone())],
            ComposeError::Tool { message, .. } => vec![Diagnostic::error("compose::tool", message.clone())],
            ComposeError::CogYaml { message, diagnostics } => {
                let mut out: Vec<Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
                if out.is_empty() {
                    out.push(Diagnostic::error("cog_yaml::invalid", message.clone()));
                }
                out
            }
            ComposeError::Requirements(e) => vec![Diagnostic::error("requirements::invalid", e.to_string())],
            ComposeError::Resolve(e) => vec![Diagnostic::error("resolve::failed", crate::resolve::render(e))],
            ComposeError::Detect(d) | ComposeError::BadScriptResult(d) | ComposeError::MissingCapability(d) => {
                vec![d.clone()]
            }
            ComposeError::NoStack { tried } => {
                let mut message = "no stack can build this project".to_string();
                for (id, why) in tried {
                    message.push_str(&format!("\n  stack `{id}`: {why}"));
                }
                vec![Diagnostic::error("compose::no_stack", message)
                    .with_help("a Cog project has a cog.yaml at its root; see `cogpack stacks list`")]
            }
            ComposeError::Script(e) => vec![e.to_diagnostic()],
            ComposeError::Manifest(e) => vec![e.diagnostic()],
            ComposeError::InvalidPlan { stack, violations } => {
                let mut message = format!("the plan made by stack `{stack}` is invalid:");
                for v in violations {
                    message.push_str(&format!("\n  - {v}"));
                }
                vec![Diagnostic::error("compose::invalid_plan", message)
                    .with_help("the blocks named in each stage's `block` field made these stages")]
            }
        }
    }
}
