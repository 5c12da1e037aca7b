//! The dependency resolver: Python, CUDA, cuDNN, torch (+ torchvision, torchaudio),
//! TensorFlow and the base image, narrowed against the [`crate::compat`] tables, with a reason
//! for every value and a derivation for every failure.
//!
//! # Flow
//!
//! 1. [`ResolveInput`] carries what the project asks for: cog.yaml pins (`gpu`,
//!    `python_version`, `cuda`, `cudnn`), the parsed requirements file (or the deprecated
//!    `python_packages`), and the dependencies blocks emit. Every value has a [`Source`].
//! 2. `collect` turns them into constraints on the resolver's variables and rejects values no
//!    table can ever satisfy: below a minimum ([`ResolveError::Invalid`], e.g. Python 3.7) or
//!    newer than anything the tables know ([`ResolveError::MissingData`], e.g. torch 9.9.9).
//! 3. `solver` keeps, per variable, the table rows still possible (Python rows, torch
//!    builds, TensorFlow releases, CUDA/cuDNN rows) and narrows them: the CPU/GPU rule, the
//!    framework requirements, then the Python and CUDA pins, after each step propagating the
//!    table relations (torch <-> Python, torch <-> CUDA, TensorFlow <-> Python, TensorFlow <->
//!    CUDA/cuDNN) until nothing changes. Each narrowing is logged with the fact that caused it.
//!    An emptied variable is a [`ResolveError::Conflict`] whose [`Derivation`] is built from
//!    those logs. Then it picks values in order (TensorFlow, torch, Python, CUDA, the torch
//!    build), newest compatible unless pinned, following Cog's rules (see `docs/resolution.md`),
//!    re-propagating after each pick and backtracking if a pick empties something.
//! 4. `outcome` picks the base image, records `{version, source, reason}` for each value, and
//!    rewrites the requirements for the resolved variant ([`crate::requirements::rewrite`]).
//! 5. [`resolve_runtime`] (in `runtime`) checks or chooses the Cog runtime against the
//!    project's pins with `compat/cog.toml`, for composition.
//! 6. [`render`] (in `render`, apart from the solver) turns a [`ResolveError`] into text that
//!    reads as a derivation.
//!
//! The resolver never reads files and never prints.

mod collect;
mod derivation;
mod outcome;
pub mod range;
mod render;
pub mod shipped;
mod runtime;
mod solver;
pub mod version;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use derivation::{Derivation, Fact, Tried};
pub use render::{render, render_resolution};
pub use runtime::{resolve_runtime, RuntimeChoice};

use crate::compat::{BaseImage, CompatTables, TableRef};
use crate::requirements::{RequirementsFile, RewrittenRequirements};

/// Where a constraint or a resolved value comes from. Serialised as
/// `{"kind": "cog_yaml", "field": "build.cuda", "line": 5, "col": 9}` and so on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A cog.yaml field (`build.python_version`), 1-based line and column of its value.
    CogYaml {
        /// The field path, e.g. `build.cuda` or `build.python_packages[2]`.
        field: String,
        /// Line.
        line: u32,
        /// Column.
        col: u32,
    },
    /// A line of a requirements file.
    Requirements {
        /// The file as shown to users.
        path: String,
        /// Line.
        line: u32,
    },
    /// A value in one of the project's own files that a block cites for its dependency
    /// (`package.json` field `engines.<name>`), at the value's 1-based line and column.
    File {
        /// The file, relative to the project.
        path: String,
        /// The dotted key of the value.
        field: String,
        /// Line.
        line: u32,
        /// Column.
        col: u32,
    },
    /// A block's dependency.
    Block {
        /// The block id.
        id: String,
        /// Its manifest file.
        manifest: String,
    },
    /// A compat table row.
    Table {
        /// The table file (`compat/torch.toml`).
        file: String,
        /// The row's line.
        line: u32,
    },
    /// A build setting: a command-line flag or an environment variable
    /// (`--index-url`, `env PIP_INDEX_URL`).
    Setting {
        /// The flag or variable as the user would write it.
        name: String,
    },
    /// A default, with why it applies.
    Default {
        /// Why.
        why: String,
    },
}

impl Source {
    /// True for what the user wrote (cog.yaml, requirements files, a cited project file).
    pub fn is_user(&self) -> bool {
        matches!(self, Source::CogYaml { .. } | Source::Requirements { .. } | Source::File { .. })
    }
}

impl From<&TableRef> for Source {
    fn from(t: &TableRef) -> Self {
        Source::Table {
            file: t.file.clone(),
            line: t.line,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::CogYaml { line, col, .. } => write!(f, "cog.yaml:{line}:{col}"),
            Source::Requirements { path, line } => write!(f, "{path}:{line}"),
            Source::File { path, line, col, .. } => write!(f, "{path}:{line}:{col}"),
            Source::Block { id, manifest } => write!(f, "block `{id}`, {manifest}"),
            Source::Table { file, line } => write!(f, "{file}:{line}"),
            Source::Setting { name } => write!(f, "{name}"),
            Source::Default { why } => write!(f, "default: {why}"),
        }
    }
}

/// A value from cog.yaml with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin<T = String> {
    /// The value as written (`"3.11"`, `"12.1"`, `true`).
    pub value: T,
    /// Where.
    pub source: Source,
}

impl<T> Pin<T> {
    /// A pin from a cog.yaml field.
    pub fn cog_yaml(value: T, field: &str, line: u32, col: u32) -> Self {
        Self {
            value,
            source: Source::CogYaml {
                field: field.to_string(),
                line,
                col,
            },
        }
    }
}

/// A dependency a block emits: `{name, constraint, source}`. Names the resolver knows:
/// `python`, `cuda`, `cudnn`, `torch`, `torchvision`, `torchaudio`, `tensorflow`; others are
/// reported as warnings and left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package or tool (`python`, `torch`).
    pub name: String,
    /// A PEP 440 specifier set (`>=3.10`, `==2.0.1`); a bare version means `==`; empty means
    /// "needed, any version".
    pub constraint: String,
    /// Which block emitted it.
    pub source: Source,
}

/// Everything the resolver reads. Build it from the parsed cog.yaml; no field is required.
#[derive(Debug, Clone, Default)]
pub struct ResolveInput {
    /// `build.gpu`; `None` means not set (CPU, as in Cog).
    pub gpu: Option<Pin<bool>>,
    /// `build.python_version`.
    pub python_version: Option<Pin>,
    /// `build.cuda`.
    pub cuda: Option<Pin>,
    /// `build.cudnn`.
    pub cudnn: Option<Pin>,
    /// The `build.python_requirements` file, parsed (with includes when loaded from disk).
    pub requirements: Option<RequirementsFile>,
    /// `build.python_packages` (deprecated), one pin per list item.
    pub python_packages: Vec<Pin>,
    /// Dependencies emitted by blocks.
    pub dependencies: Vec<Dependency>,
    /// Package indexes the user set for this build (flags, environment).
    pub indexes: PackageIndexes,
}

/// Package indexes set for a build: the default for every Python install step, and one per
/// framework (`torch`, `tensorflow`) that overrides where that framework comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageIndexes {
    /// Replaces PyPI for every install step.
    pub default: Option<Pin>,
    /// framework name -> its index.
    pub frameworks: BTreeMap<String, Pin>,
}

/// One resolved value: `{version, source, reason, ...}` in the plan's `resolved` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The version chosen (for `base_image`: the image name).
    pub version: String,
    /// What decided it: a cog.yaml field, a requirements line, a block, a table row, or a
    /// default.
    pub source: Source,
    /// One sentence saying why, naming the rows involved.
    pub reason: String,
    /// What the project asked for, as written (`==2.0.1`, `3.11`), when it asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The torch build (`cu118`, `cpu`), for torch, torchvision and torchaudio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The package index the build comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_url: Option<String>,
    /// The requirement line installed (`torch==2.0.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// For `cuda` and `cudnn` when they come from PyPI: the exact pins of the CUDA library
    /// wheels installed (`nvidia-cuda-runtime-cu12==12.4.127`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wheels: Vec<String>,
    /// Every constraint that applied, with where it came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Applied>,
}

impl Resolved {
    /// The `base_image` value: the image row's name, its table row as the source, and its
    /// origin (`local`, `registry`) as the variant.
    pub(crate) fn base_image(image: &BaseImage, reason: String) -> Self {
        Resolved {
            version: image.name.clone(),
            source: Source::from(&image.at),
            reason,
            requested: None,
            variant: Some(image.origin.to_string()),
            index_url: None,
            package: None,
            constraints: Vec::new(),
            wheels: Vec::new(),
        }
    }
}

/// A constraint that applied to a resolved value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The constraint as written (`==2.0.1`, `>=3.10`, `3.11`).
    pub constraint: String,
    /// Where it came from.
    pub source: Source,
}

/// Something the user should know that did not stop resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What happened.
    pub message: String,
    /// Where, when one place is responsible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// The result of a successful resolution.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// True for a GPU build.
    pub gpu: bool,
    /// name -> resolved value. Keys: `python`, `base_image`, and when they apply `cuda`,
    /// `cudnn`, `torch`, `torchvision`, `torchaudio`, `tensorflow`.
    pub values: BTreeMap<String, Resolved>,
    /// The chosen base image row.
    pub base_image: BaseImage,
    /// The requirements rewritten for the resolved variant (present whenever the project has
    /// requirements or python_packages; `changed()` says whether it differs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten_requirements: Option<RewrittenRequirements>,
    /// Warnings, in the order they arose.
    pub warnings: Vec<Warning>,
}

/// Resolution failed. Each variant carries a [`Derivation`]; [`render`] formats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The project's own constraints cannot all hold (exit code `RESOLVE_CONFLICT`).
    Conflict(Derivation),
    /// cogpack's tables lack the row the project needs (exit code `RESOLVE_MISSING_DATA`).
    MissingData(Derivation),
    /// A value is malformed or below a supported minimum (exit code `PROJECT`).
    Invalid(Derivation),
}

impl ResolveError {
    /// The process exit code for this failure class.
    pub fn exit_code(&self) -> u8 {
        use crate::diagnostics::exit;
        match self {
            ResolveError::Conflict(_) => exit::RESOLVE_CONFLICT,
            ResolveError::MissingData(_) => exit::RESOLVE_MISSING_DATA,
            ResolveError::Invalid(_) => exit::PROJECT,
        }
    }

    /// The derivation explaining the failure.
    pub fn derivation(&self) -> &Derivation {
        match self {
            ResolveError::Conflict(d) | ResolveError::MissingData(d) | ResolveError::Invalid(d) => {
                d
            }
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(self))
    }
}

impl std::error::Error for ResolveError {}

/// The dependency names the Python resolver narrows against its own tables; any other name
/// a base image `ships` is resolved by [`shipped`].
pub const RESOLVER_NAMES: [&str; 7] = ["python", "cuda", "cudnn", "torch", "torchvision", "torchaudio", "tensorflow"];

/// Resolves every version the project needs and the base image.
///
/// Block dependencies whose name some base image `ships` (and that are not
/// [`RESOLVER_NAMES`]) are resolved against those rows by [`shipped`], which also picks the
/// base image. When the input asks nothing of the Python tables (no cog.yaml pin, no
/// requirements, no other dependency), that is the whole resolution; a project that needs
/// both is refused with a message, since one base image cannot be chosen by both.
pub fn resolve(input: &ResolveInput, tables: &CompatTables) -> Result<Resolution, ResolveError> {
    let names = shipped::shipped_names(tables);
    let (by_image, rest): (Vec<&Dependency>, Vec<&Dependency>) = input
        .dependencies
        .iter()
        .partition(|d| names.contains(&d.name.as_str()) && !RESOLVER_NAMES.contains(&d.name.as_str()));
    if !by_image.is_empty() {
        let python_side = input.gpu.is_some()
            || input.python_version.is_some()
            || input.cuda.is_some()
            || input.cudnn.is_some()
            || input.requirements.is_some()
            || !input.python_packages.is_empty()
            || !rest.is_empty();
        if python_side {
            return Err(ResolveError::Invalid(Derivation {
                title: format!("`{}` and Python cannot both choose the base image", by_image[0].name),
                facts: vec![
                    Fact::new(
                        format!("{} is resolved from the base images that ship it", by_image[0].name),
                        vec![by_image[0].source.clone()],
                    ),
                    Fact::new(
                        "the project also needs the Python tables (cog.yaml, requirements or a Python dependency)",
                        rest.iter().map(|d| d.source.clone()).take(3).collect(),
                    ),
                ],
                conclusion: String::new(),
                tried: Vec::new(),
                hints: vec!["build the two parts as separate projects, or install one runtime with a block".into()],
            }));
        }
        return shipped::resolve(&by_image, tables);
    }
    let collected = collect::collect(input, tables)?;
    let choice = solver::solve(&collected, tables)?;
    outcome::build(input, &collected, &choice, tables)
}
