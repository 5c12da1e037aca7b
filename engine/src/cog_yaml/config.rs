//! The checked cog.yaml: what the rest of the engine sees.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::diagnostics::{Diagnostic, Label, Located, Location, SourceFile, Span};

use super::{code, CogYamlError};

/// A checked cog.yaml. Every value that later checks may cite keeps its span; use
/// [`CogConfig::location`] / [`CogConfig::cite`] / [`CogConfig::label`] to point at one.
#[derive(Debug, Clone, Serialize)]
pub struct CogConfig {
    /// The file it was read from (for diagnostics); not serialized.
    #[serde(skip)]
    pub(crate) source: Arc<SourceFile>,
    /// Where the document's content starts (its first key); not serialized.
    #[serde(skip)]
    pub(crate) document_start: usize,
    /// `build:`.
    pub build: Build,
    /// `image:`: the name given to built images.
    pub image: Option<Located<String>>,
    /// `model:`: the repository the model is pushed to (bare, no tag).
    pub model: Option<Located<String>>,
    /// The predictor, from `predict:` or its newer name `run:`; `None` when neither is set.
    pub predict: Option<Located<TypeRef>>,
    /// `train:`: the trainer.
    pub train: Option<Located<TypeRef>>,
    /// `concurrency:`.
    pub concurrency: Option<Concurrency>,
    /// `environment:` entries, in order; names are unique and not reserved.
    pub environment: Vec<Located<EnvVar>>,
    /// `weights:` entries.
    pub weights: Vec<Weight>,
}

/// The checked `build:` section.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    /// `gpu:` as written; `None` when not set (CPU). See [`Build::gpu`].
    pub gpu: Option<Located<bool>>,
    /// `python_version:` (at least 3.10). Required when cog.yaml has a `build` section;
    /// `None` when it has none, and Cog's default ([`DEFAULT_PYTHON_VERSION`]) applies (see
    /// [`Build::python`]).
    pub python_version: Option<Located<PythonVersion>>,
    /// `python_requirements:`: a project-relative path to an existing requirements file.
    pub python_requirements: Option<Located<String>>,
    /// `python_packages:` (deprecated; never set together with `python_requirements`).
    pub python_packages: Vec<Located<String>>,
    /// `system_packages:` (apt package names).
    pub system_packages: Vec<Located<String>>,
    /// `run:` steps, then the deprecated `pre_install:` commands appended, as Cog does.
    pub run: Vec<RunStep>,
    /// `cuda:` as written (e.g. "11.8"), format-checked; compatibility is the resolver's job.
    pub cuda: Option<Located<String>>,
    /// `cudnn:` as written (e.g. "8"), format-checked.
    pub cudnn: Option<Located<String>>,
    /// `sdk_version:`: pins the cog Python package installed in the image.
    pub sdk_version: Option<Located<String>>,
}

impl Build {
    /// The Python version asked for: `python_version`, else Cog's default.
    pub fn python(&self) -> PythonVersion {
        self.python_version.as_ref().map_or_else(
            || DEFAULT_PYTHON_VERSION.parse().expect("the default Python version parses"),
            |v| v.value,
        )
    }

    /// Whether the build targets GPUs (`gpu: true`).
    pub fn gpu(&self) -> bool {
        self.gpu.as_ref().is_some_and(|g| g.value)
    }
}

/// A Python version `major.minor[.patch]`, at least 3.10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PythonVersion {
    /// Major version (3).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version, when given.
    pub patch: Option<u32>,
}

impl PythonVersion {
    /// `major.minor`, e.g. "3.11" (what base images and compat tables key on).
    pub fn minor_version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(patch) = self.patch {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

impl Serialize for PythonVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Why a Python version string was refused; the messages are Cog's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonVersionError(pub String);

impl fmt::Display for PythonVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PythonVersion {
    type Err = PythonVersionError;

    /// Parse `3.11` or `3.11.4` (surrounding whitespace ignored) and check Cog's minimum.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |m: &str| Err(PythonVersionError(m.to_string()));
        let parts: Vec<&str> = text.trim().splitn(3, '.').collect();
        if parts.len() < 2 {
            return err("must include major and minor version (e.g., '3.11')");
        }
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let Some(major) = number(parts[0]) else {
            return err("invalid major version number");
        };
        let Some(minor) = number(parts[1]) else {
            return err("invalid minor version number");
        };
        let patch = match parts.get(2) {
            None => None,
            Some(p) => match number(p) {
                Some(p) => Some(p),
                None => return err("invalid patch version number"),
            },
        };
        let version = PythonVersion {
            major,
            minor,
            patch,
        };
        if (major, minor) < MINIMUM_PYTHON {
            return Err(PythonVersionError(format!(
                "minimum supported Python version is {}.{}",
                MINIMUM_PYTHON.0, MINIMUM_PYTHON.1
            )));
        }
        Ok(version)
    }
}

/// The oldest Python Cog builds (Cog's `MinimumMajorPythonVersion`.`MinimumMinorPythonVersion`).
pub const MINIMUM_PYTHON: (u32, u32) = (3, 10);
/// The oldest Python Cog allows `concurrency.max > 1` with.
pub const MINIMUM_PYTHON_FOR_CONCURRENCY: (u32, u32) = (3, 11);
/// The Python version Cog suggests (its `DefaultPythonVersion`).
pub const DEFAULT_PYTHON_VERSION: &str = "3.13";
/// The oldest CUDA major version Cog accepts.
pub const MINIMUM_CUDA_MAJOR: u32 = 11;

/// A reference to a Python class or function: `predict.py:Predictor`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeRef {
    /// The project-relative Python file, e.g. `my-subdir/predict.py`.
    pub file: String,
    /// The class or function name in it, e.g. `Predictor`.
    pub name: String,
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.name)
    }
}

impl Serialize for TypeRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One build command, with the secrets it mounts.
#[derive(Debug, Clone, Serialize)]
pub struct RunStep {
    /// The shell command (trimmed; never contains a newline).
    pub command: Located<String>,
    /// Secret mounts (`{type: secret, id, target}`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<SecretMount>,
    /// Whether it came from `build.run` or the deprecated `build.pre_install`.
    pub origin: RunOrigin,
}

/// Where a [`RunStep`] was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrigin {
    /// `build.run`.
    Run,
    /// `build.pre_install` (deprecated; appended after `build.run`).
    PreInstall,
}

/// A BuildKit secret mounted into a run step. Only the id and target are known here; the
/// secret's value comes from the command line at build time and never enters the plan.
#[derive(Debug, Clone, Serialize)]
pub struct SecretMount {
    /// The secret id (`--secret id=...`).
    pub id: Located<String>,
    /// Where the secret file appears during the step.
    pub target: Located<String>,
}

/// `concurrency:`.
#[derive(Debug, Clone, Serialize)]
pub struct Concurrency {
    /// `max`: the most concurrent predictions (at least 1).
    pub max: Located<u32>,
    /// `default_target`: a hint for autoscalers.
    pub default_target: Option<Located<u32>>,
}

/// An `environment:` entry, `NAME=value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    /// The variable name.
    pub name: String,
    /// Its value (may be empty; may contain `=`).
    pub value: String,
}

/// A `weights:` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Weight {
    /// Unique, OCI-tag-safe name.
    pub name: Located<String>,
    /// Absolute path in the container where the weights are mounted.
    pub target: Located<String>,
    /// Where to import them from (one or more).
    pub sources: Vec<WeightSource>,
}

/// Where a weight is imported from.
#[derive(Debug, Clone, Serialize)]
pub struct WeightSource {
    /// `hf://`, `file://`, `https://` or a local path.
    pub uri: Located<String>,
    /// Glob patterns to include.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Glob patterns to skip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl CogConfig {
    /// The cog.yaml file this was read from.
    pub fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }

    /// Whether the build targets GPUs.
    pub fn gpu(&self) -> bool {
        self.build.gpu()
    }

    /// Where a span of this cog.yaml is, e.g. `cog.yaml:5:19`.
    pub fn location(&self, span: Span) -> Location {
        self.source.location(span)
    }

    /// A line citation for a span, e.g. `cog.yaml:5`, for derivations like
    /// "cog.yaml pins python 3.12 (cog.yaml:5)".
    pub fn cite(&self, span: Span) -> String {
        self.location(span).to_line_string()
    }

    /// A diagnostic label on a span of this cog.yaml (e.g. a secondary label in a resolver
    /// error: "python pinned here").
    pub fn label(&self, span: Span, message: impl Into<String>) -> Label {
        Label::new(&self.source, span, message)
    }

    /// The predictor, if cog.yaml names one.
    pub fn predictor(&self) -> Option<&Located<TypeRef>> {
        self.predict.as_ref()
    }

    /// The predictor, or an error saying cog.yaml has none. cog.yaml without `predict` is
    /// valid (Cog builds it), but building a runnable image or a plan for one needs it.
    pub fn require_predictor(&self) -> Result<&Located<TypeRef>, CogYamlError> {
        self.predict.as_ref().ok_or_else(|| {
            let diagnostic = Diagnostic::error(
                code::NO_PREDICTOR,
                format!("{} does not say which predictor to run", self.source.path()),
            )
            .with_primary(
                &self.source,
                Span::empty(self.document_start),
                "no `predict` (or `run`) key in this file",
            )
            .with_note("an image without a predictor cannot serve predictions")
            .with_help("add a line like `predict: \"predict.py:Predictor\"` to cog.yaml");
            CogYamlError::NoPredictor {
                diagnostic: Box::new(diagnostic),
            }
        })
    }

    /// The environment as `(name, value)` pairs, in order.
    pub fn environment_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.environment
            .iter()
            .map(|e| (e.value.name.as_str(), e.value.value.as_str()))
    }
}
