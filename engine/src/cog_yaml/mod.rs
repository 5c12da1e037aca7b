//! cog.yaml: read, check and expose a project's Cog configuration.
//!
//! Reading goes in three steps, each collecting every problem it finds rather than stopping
//! at the first: YAML text to a located node tree ([`yaml`](self) module, which keeps each
//! scalar's source text so `python_version: 3.10` means 3.10, as in Cog), then to raw typed
//! values (types, duplicate and unknown keys), then Cog's semantic rules into the checked
//! [`CogConfig`]. Errors and warnings are [`Diagnostic`]s pointing at `file:line:col`, with
//! Cog's own wording where Cog has one. See `docs/cog-yaml.md`.
//!
//! What Cog does, and cogpack matches: only `cog.yaml` is read (not `cog.yml`); unknown keys
//! are ignored (cogpack warns, with a suggestion); `predict` and its newer name `run` are the
//! same key (setting both is an error; `predict` gets Cog's deprecation warning);
//! `build.python_version` is required (Cog 0.17+; Cog suggests 3.13) and at least 3.10.

mod config;
mod effective;
mod env;
mod plain;
mod raw;
mod validate;
mod yaml;

use std::sync::Arc;

use thiserror::Error;

use crate::diagnostics::{exit, Diagnostic, HasDiagnostics, SourceFile, Span};
use crate::project::{Project, ProjectError};

pub use config::{
    Build, CogConfig, Concurrency, EnvVar, PythonVersion, PythonVersionError, RunOrigin, RunStep,
    SecretMount, TypeRef, Weight, WeightSource, DEFAULT_PYTHON_VERSION, MINIMUM_CUDA_MAJOR,
    MINIMUM_PYTHON, MINIMUM_PYTHON_FOR_CONCURRENCY,
};
pub use effective::{
    EffectiveBuild, EffectiveConcurrency, EffectiveConfig, EffectiveMount, EffectiveRun,
    EffectiveWeight, EffectiveWeightSource, EffectiveWeightSources,
};
pub use env::{reserved_rule, RESERVED_NAMES, RESERVED_PREFIXES};

pub use crate::diagnostics::Located;

/// The file name Cog reads. Cog does not look for `cog.yml`.
pub const FILE_NAME: &str = "cog.yaml";

/// The largest cog.yaml read (a sanity bound; real ones are a few hundred bytes).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Diagnostic codes this module emits.
pub mod code {
    /// The file is not valid YAML.
    pub const SYNTAX: &str = "cog_yaml::syntax";
    /// A value has the wrong type (a list where a string belongs, ...).
    pub const INVALID_TYPE: &str = "cog_yaml::invalid_type";
    /// A value has the right type but is not acceptable.
    pub const INVALID_VALUE: &str = "cog_yaml::invalid_value";
    /// A required field is missing.
    pub const MISSING_FIELD: &str = "cog_yaml::missing_field";
    /// Two fields that exclude each other are both set.
    pub const CONFLICT: &str = "cog_yaml::conflict";
    /// A mapping key appears twice.
    pub const DUPLICATE_KEY: &str = "cog_yaml::duplicate_key";
    /// An `environment` name Cog reserves.
    pub const RESERVED_ENV: &str = "cog_yaml::reserved_env";
    /// A file named by cog.yaml does not exist in the project.
    pub const MISSING_FILE: &str = "cog_yaml::missing_file";
    /// Warning: a predictor/trainer name does not appear in its file.
    pub const MISSING_NAME: &str = "cog_yaml::missing_name";
    /// Warning: a key Cog does not know (Cog ignores it).
    pub const UNKNOWN_FIELD: &str = "cog_yaml::unknown_field";
    /// Warning: a deprecated key.
    pub const DEPRECATED_FIELD: &str = "cog_yaml::deprecated_field";
    /// Warning: a key that has no effect in this configuration.
    pub const IGNORED_FIELD: &str = "cog_yaml::ignored_field";
    /// No cog.yaml in the project.
    pub const NOT_FOUND: &str = "cog_yaml::not_found";
    /// cog.yaml could not be read.
    pub const READ: &str = "cog_yaml::read";
    /// A predictor is required but cog.yaml names none.
    pub const NO_PREDICTOR: &str = "cog_yaml::no_predictor";
}

/// A checked cog.yaml and the warnings found while checking it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The checked configuration.
    pub config: CogConfig,
    /// Warnings (deprecated, unknown or ignored keys, ...), in file order.
    pub warnings: Vec<Diagnostic>,
}

/// Why a project's cog.yaml could not be used.
#[derive(Debug, Error)]
pub enum CogYamlError {
    /// The project has no cog.yaml.
    #[error("{} not found in {dir}", FILE_NAME)]
    NotFound {
        /// The project directory as shown to the user.
        dir: String,
        /// A `cog.yml` exists instead (Cog ignores it).
        found_yml: bool,
    },
    /// cog.yaml exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file as shown to the user.
        path: String,
        /// Why.
        #[source]
        source: ProjectError,
    },
    /// cog.yaml has errors. `diagnostics` holds all of them, and the warnings, in file order.
    #[error("{path} is invalid: {}", summary(.diagnostics))]
    Invalid {
        /// The file as shown to the user.
        path: String,
        /// Errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
    /// A predictor is needed and cog.yaml has none (see [`CogConfig::require_predictor`]).
    #[error("{}", .diagnostic.message)]
    NoPredictor {
        /// The diagnostic to show.
        diagnostic: Box<Diagnostic>,
    },
}

fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    match errors.as_slice() {
        [] => "no errors".into(),
        [one] => one.message.clone(),
        [first, _] => format!("{} (and 1 more error)", first.message),
        [first, rest @ ..] => format!("{} (and {} more errors)", first.message, rest.len()),
    }
}

impl HasDiagnostics for CogYamlError {
    fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            CogYamlError::NotFound { found_yml, .. } => {
                let d = Diagnostic::error(code::NOT_FOUND, self.to_string());
                vec![if *found_yml {
                    d.with_help("Cog reads only cog.yaml: rename cog.yml to cog.yaml")
                } else {
                    d.with_help("run cogpack in a Cog project, or pass the project directory")
                }]
            }
            CogYamlError::Read { .. } => vec![Diagnostic::error(code::READ, self.to_string())],
            CogYamlError::Invalid { diagnostics, .. } => diagnostics.clone(),
            CogYamlError::NoPredictor { diagnostic } => vec![(**diagnostic).clone()],
        }
    }

    fn exit_code(&self) -> u8 {
        exit::PROJECT
    }
}

/// Read and check the project's `cog.yaml`.
pub fn load(project: &Project) -> Result<Loaded, CogYamlError> {
    load_file(project, FILE_NAME)
}

/// Read and check a config file at a project-relative path (Cog's `-f` option).
pub fn load_file(project: &Project, rel: &str) -> Result<Loaded, CogYamlError> {
    if !project.exists(rel) {
        return Err(CogYamlError::NotFound {
            dir: project.display_root().to_string(),
            found_yml: rel == FILE_NAME && project.has_file("cog.yml"),
        });
    }
    let source = project
        .source_file(rel, MAX_FILE_BYTES)
        .map_err(|source| CogYamlError::Read {
            path: project.display_path(rel),
            source,
        })?;
    check(&source, Some(project))
}

/// Check cog.yaml text. With a project, files it names (predictor, requirements) must exist
/// in it; without one those checks are skipped.
pub fn check(source: &Arc<SourceFile>, project: Option<&Project>) -> Result<Loaded, CogYamlError> {
    let invalid = |diagnostics: Vec<Diagnostic>| CogYamlError::Invalid {
        path: source.path().to_string(),
        diagnostics,
    };
    let root = match yaml::parse(source.text()) {
        Ok(root) => root,
        Err(e) => {
            let d = Diagnostic::error(code::SYNTAX, format!("invalid YAML: {}", e.message))
                .with_primary(source, e.span, "the YAML parser stopped here")
                .with_help("check indentation (spaces, not tabs) and quoting around this line");
            return Err(invalid(vec![d]));
        }
    };
    let mut reader = raw::Reader::new(source);
    let raw = reader.read(root.as_ref());
    let mut checker = validate::Checker::new(source, project);
    let config = checker.check(raw);
    let mut diagnostics = reader.diagnostics;
    diagnostics.extend(checker.diagnostics);
    // File order, errors before warnings at the same place; stable for equal keys.
    diagnostics.sort_by_key(|d| {
        (
            d.primary.as_ref().map_or(Span::empty(0), |l| l.span).start,
            d.severity,
        )
    });
    match config {
        Some(config) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(Loaded {
            config,
            warnings: diagnostics,
        }),
        _ => Err(invalid(diagnostics)),
    }
}

/// Check cog.yaml text given as a string (path shown as `path`); for tests and tools.
pub fn check_str(
    path: &str,
    text: &str,
    project: Option<&Project>,
) -> Result<Loaded, CogYamlError> {
    check(&SourceFile::new(path, text), project)
}

#[cfg(test)]
mod tests;
