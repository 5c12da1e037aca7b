//! The checked compat tables: every value parsed, every row carrying where it was defined.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::resolve::version::Version;

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a table row is defined: `compat/torch.toml:42`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TableRef {
    /// The table file, as shown to users (`compat/torch.toml`).
    pub file: String,
    /// 1-based line of the row's header.
    pub line: u32,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Where a row's facts come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citation {
    /// The page the facts were read from.
    pub source: String,
    /// When, `YYYY-MM-DD`.
    pub checked: String,
}

/// A supported Python minor version (`compat/python.toml`).
#[derive(Debug, Clone)]
pub struct PythonRow {
    /// `major.minor`.
    pub version: Version,
    /// The Python used when nothing pins or narrows it.
    pub default: bool,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// A CUDA major.minor with a cuDNN devel image (`compat/cuda.toml`).
#[derive(Debug, Clone)]
pub struct CudaRow {
    /// `major.minor`.
    pub version: Version,
    /// The newest patch release with an image.
    pub release: Version,
    /// The cuDNN major version in its images.
    pub cudnn: Version,
    /// Ubuntu releases the images come in, oldest first.
    pub ubuntu: Vec<String>,
    /// Its run-time libraries as PyPI wheels, when published.
    pub pypi: Option<CudaLibraries>,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// One published build of a torch release: CPU, or CUDA X.Y.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchVariant {
    /// The local label: `cpu` or `cuXYZ`.
    pub label: String,
    /// The CUDA the build targets; `None` for CPU.
    pub cuda: Option<Version>,
    /// The package index that serves it.
    pub index_url: String,
}

impl TorchVariant {
    /// The CUDA a `cuXYZ` label targets (`cu118` -> 11.8, `cu130` -> 13.0); `None` otherwise.
    pub fn cuda_of(label: &str) -> Option<Version> {
        super::check::cuda_of_label(label)
    }
}

/// A torch release with its paired torchvision/torchaudio (`compat/torch.toml`).
#[derive(Debug, Clone)]
pub struct TorchRow {
    /// The torch version (no local label).
    pub torch: Version,
    /// The paired torchvision.
    pub torchvision: Version,
    /// The paired torchaudio.
    pub torchaudio: Version,
    /// Published variants.
    pub variants: Vec<TorchVariant>,
    /// CPython versions with wheels.
    pub pythons: Vec<Version>,
    /// The CUDA its PyPI wheels bring, when they do.
    pub pypi: Option<WheelCuda>,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// The CUDA a framework's PyPI wheels bring (`[torch.pypi]`, `[tensorflow.pypi]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelCuda {
    /// The extra that pulls the CUDA wheels (`and-cuda`), if one is needed.
    pub extra: Option<String>,
    /// CUDA `major.minor`.
    pub cuda: Version,
    /// cuDNN `major.minor`.
    pub cudnn: Version,
    /// The CUDA library wheels, exact `name==version` pins, sorted.
    pub wheels: Vec<String>,
    /// The sub-table.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// A JAX release whose CUDA extra brings CUDA from PyPI (`compat/jax.toml`).
#[derive(Debug, Clone)]
pub struct JaxRow {
    /// The release.
    pub jax: Version,
    /// The extra (`cuda12`).
    pub extra: String,
    /// What `jax[extra]` brings.
    pub pypi: WheelCuda,
    /// The row.
    pub at: TableRef,
}

/// A CUDA release's run-time libraries as PyPI wheels (`[cuda.pypi]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaLibraries {
    /// Exact pins of the libraries other than cuDNN, sorted.
    pub wheels: Vec<String>,
    /// cuDNN major -> (the cuDNN `major.minor`, its exact pin).
    pub cudnn: std::collections::BTreeMap<u64, (Version, String)>,
    /// The sub-table.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// A TensorFlow minor series (`compat/tensorflow.toml`).
#[derive(Debug, Clone)]
pub struct TensorflowRow {
    /// The releases covered.
    pub versions: Vec<Version>,
    /// The CUDA the GPU build was tested with.
    pub cuda: Version,
    /// The cuDNN it was tested with.
    pub cudnn: Version,
    /// CPython versions with wheels.
    pub pythons: Vec<Version>,
    /// Requirement template for CPU images (`{version}`).
    pub cpu_package: String,
    /// Requirement template for GPU images (`{version}`).
    pub gpu_package: String,
    /// The CUDA its PyPI wheels bring with an extra, when they do.
    pub pypi: Option<WheelCuda>,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// Where a base image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Built offline from Debian packages by `cogpack images build`.
    Local,
    /// Pulled from a registry by name; cannot be built here.
    Registry,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Local => "local",
            Origin::Registry => "registry",
        })
    }
}

/// Something a base image already provides, so blocks can skip installing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provide {
    /// A Python interpreter (the row's `python`).
    Python,
    /// pip for that interpreter.
    Pip,
    /// The `venv` module.
    Venv,
    /// The uv binary.
    Uv,
    /// An init for PID 1 (`tini`), the image's entrypoint.
    Init,
}

impl Provide {
    /// Parses `python`, `pip`, `venv`, `uv`, `init`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "python" => Provide::Python,
            "pip" => Provide::Pip,
            "venv" => Provide::Venv,
            "uv" => Provide::Uv,
            "init" => Provide::Init,
            _ => return None,
        })
    }

    /// The name as written in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Provide::Python => "python",
            Provide::Pip => "pip",
            Provide::Venv => "venv",
            Provide::Uv => "uv",
            Provide::Init => "init",
        }
    }
}

/// A Cogpack base image (`compat/base-images.toml`).
#[derive(Debug, Clone, Serialize)]
pub struct BaseImage {
    /// Image reference.
    pub name: String,
    /// Local (buildable offline) or registry (pull only).
    pub origin: Origin,
    /// OS and release, e.g. `debian-12`.
    pub os: String,
    /// Release code name, e.g. `bookworm`.
    pub suite: String,
    /// The Python it ships, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<Version>,
    /// CUDA `major.minor` (GPU images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuda: Option<Version>,
    /// cuDNN major (GPU images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cudnn: Option<Version>,
    /// The image it starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// What it already provides.
    pub provides: Vec<Provide>,
    /// Other runtimes it ships: dependency name -> version (`major.minor.patch`). A block
    /// dependency with such a name is resolved against these rows (`resolve::shipped`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ships: std::collections::BTreeMap<String, String>,
    /// Debian packages a local build installs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

impl BaseImage {
    /// True when the image already provides `what` (a `has_provider` check for blocks).
    pub fn has_provider(&self, what: Provide) -> bool {
        self.provides.contains(&what)
    }

    /// True for GPU images.
    pub fn is_gpu(&self) -> bool {
        self.cuda.is_some()
    }
}

/// A release of the Cog runtime and what it requires (`compat/cog.toml`).
#[derive(Debug, Clone)]
pub struct CogRow {
    /// The release.
    pub version: Version,
    /// The runtime installed when nothing asks for another.
    pub default: bool,
    /// Its `Requires-Python`.
    pub requires_python: crate::resolve::version::SpecifierSet,
    /// Its requirements, in the wheel's order.
    pub requires: Vec<RuntimeRequirement>,
    /// `coglet` or `python`: the HTTP server it runs.
    pub server: String,
    /// The row.
    pub at: TableRef,
    /// Where its facts come from.
    pub cite: Citation,
}

/// One `Requires-Dist` entry of a runtime release: `requests>=2.25.0`.
#[derive(Debug, Clone)]
pub struct RuntimeRequirement {
    /// The PEP 503 name (`typing-extensions`).
    pub name: String,
    /// The specifier (empty: any version).
    pub spec: crate::resolve::version::SpecifierSet,
    /// As written in the table.
    pub text: String,
}
