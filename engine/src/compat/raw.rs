//! The compat tables as written in TOML, before any check. Every field that a later check
//! refers to is [`Spanned`], so a bad value is reported at its own line.
//!
//! These types are only read by [`super::check`]; the rest of the engine sees the checked
//! tables in [`super::tables`].

use serde::Deserialize;
use toml::Spanned;

/// `compat/python.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PythonFile {
    /// The `[[python]]` rows.
    #[serde(default)]
    pub python: Vec<Spanned<PythonRow>>,
}

/// One supported Python minor version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PythonRow {
    /// `major.minor`, e.g. `"3.11"`.
    pub version: Spanned<String>,
    /// True on the one row used when nothing pins or narrows Python.
    #[serde(default)]
    pub default: bool,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/cuda.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CudaFile {
    /// The `[[cuda]]` rows.
    #[serde(default)]
    pub cuda: Vec<Spanned<CudaRow>>,
}

/// One CUDA major.minor with a cuDNN devel image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CudaRow {
    /// `major.minor`, e.g. `"11.8"`.
    pub version: Spanned<String>,
    /// The newest patch release with an image, e.g. `"11.8.0"`.
    pub release: Spanned<String>,
    /// The cuDNN major version in the images, e.g. `"8"`.
    pub cudnn: Spanned<String>,
    /// Ubuntu releases the images come in, e.g. `["20.04", "22.04"]`.
    pub ubuntu: Spanned<Vec<String>>,
    /// The CUDA libraries of this release as PyPI wheels (`[cuda.pypi]`), when published.
    #[serde(default)]
    pub pypi: Option<Spanned<CudaLibraryWheels>>,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/torch.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TorchFile {
    /// The package index of a variant, with `{variant}` to replace.
    pub index_url: Spanned<String>,
    /// The `[[torch]]` rows.
    #[serde(default)]
    pub torch: Vec<Spanned<TorchRow>>,
}

/// One torch release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TorchRow {
    /// The torch version, without a local label, e.g. `"2.0.1"`.
    pub torch: Spanned<String>,
    /// The torchvision release paired with it.
    pub torchvision: Spanned<String>,
    /// The torchaudio release paired with it.
    pub torchaudio: Spanned<String>,
    /// Published variants: `"cpu"` and `"cuXYZ"` labels.
    pub variants: Spanned<Vec<String>>,
    /// CPython versions with wheels, `major.minor`.
    pub pythons: Spanned<Vec<String>>,
    /// The CUDA its Linux x86_64 wheels on PyPI bring (`[torch.pypi]`), when they do.
    #[serde(default)]
    pub pypi: Option<Spanned<FrameworkWheels>>,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// The CUDA a framework's PyPI wheels bring, read from their METADATA (`Requires-Dist`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FrameworkWheels {
    /// The extra that pulls the CUDA wheels (`and-cuda`, `cuda12`); none when the plain
    /// package requires them (torch).
    #[serde(default)]
    pub extra: Option<Spanned<String>>,
    /// `major.minor` of the CUDA runtime wheel.
    pub cuda: Spanned<String>,
    /// `major.minor` of the cuDNN wheel.
    pub cudnn: Spanned<String>,
    /// Every CUDA library wheel required on Linux x86_64, each an exact `name==version` pin.
    pub wheels: Spanned<Vec<String>>,
    /// The wheel the facts were read from (an https:// address).
    pub source: Spanned<String>,
    /// When, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// A CUDA release's run-time libraries as PyPI wheels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CudaLibraryWheels {
    /// Exact `name==version` pins: runtime, cuBLAS, cuFFT, ... (not cuDNN).
    pub wheels: Spanned<Vec<String>>,
    /// cuDNN major -> the exact pin of the cuDNN wheel used with this CUDA.
    pub cudnn: Spanned<std::collections::BTreeMap<String, String>>,
    /// The page the facts were read from.
    pub source: Spanned<String>,
    /// When, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/tensorflow.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TensorflowFile {
    /// The `[[tensorflow]]` rows.
    #[serde(default)]
    pub tensorflow: Vec<Spanned<TensorflowRow>>,
}

/// One TensorFlow minor series.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TensorflowRow {
    /// The releases the row covers, e.g. `["2.12.0", "2.12.1"]`.
    pub versions: Spanned<Vec<String>>,
    /// The CUDA the GPU build was tested with, `major.minor`.
    pub cuda: Spanned<String>,
    /// The cuDNN it was tested with, `major.minor`.
    pub cudnn: Spanned<String>,
    /// CPython versions with wheels.
    pub pythons: Spanned<Vec<String>>,
    /// The requirement line for CPU images, `{version}` replaced.
    pub cpu_package: Spanned<String>,
    /// The requirement line for GPU images, `{version}` replaced.
    pub gpu_package: Spanned<String>,
    /// The CUDA its PyPI wheels bring with an extra (`[tensorflow.pypi]`), when they do.
    #[serde(default)]
    pub pypi: Option<Spanned<FrameworkWheels>>,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/base-images.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BaseImageFile {
    /// The `[[image]]` rows.
    #[serde(default)]
    pub image: Vec<Spanned<BaseImageRow>>,
}

/// One base image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BaseImageRow {
    /// Image reference, e.g. `"cogpack/base:py3.11-bookworm"`.
    pub name: Spanned<String>,
    /// `"local"` (built offline from Debian packages) or `"registry"` (pull only).
    pub origin: Spanned<String>,
    /// OS and release, e.g. `"debian-12"`.
    pub os: Spanned<String>,
    /// Release code name, e.g. `"bookworm"`.
    pub suite: Spanned<String>,
    /// The Python it ships, if any.
    #[serde(default)]
    pub python: Option<Spanned<String>>,
    /// CUDA `major.minor`, GPU images only.
    #[serde(default)]
    pub cuda: Option<Spanned<String>>,
    /// cuDNN major, GPU images only.
    #[serde(default)]
    pub cudnn: Option<Spanned<String>>,
    /// The image it starts from, e.g. an nvidia/cuda tag.
    #[serde(default)]
    pub upstream: Option<Spanned<String>>,
    /// What it already provides: `python`, `pip`, `venv`, `uv`.
    pub provides: Spanned<Vec<String>>,
    /// Other runtimes it ships, dependency name -> `major.minor.patch`: the versions a block
    /// dependency of that name is resolved against.
    #[serde(default)]
    pub ships: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    /// Debian packages a local build installs.
    #[serde(default)]
    pub packages: Option<Spanned<Vec<String>>>,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/cog.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CogFile {
    /// The `[[cog]]` rows.
    #[serde(default)]
    pub cog: Vec<Spanned<CogRow>>,
}

/// One release of the Cog runtime (the `cog` package).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CogRow {
    /// The release, e.g. `"0.23.1"`.
    pub version: Spanned<String>,
    /// True on the one row installed when nothing asks for another.
    #[serde(default)]
    pub default: bool,
    /// The wheel's `Requires-Python`, e.g. `">=3.10"`.
    pub requires_python: Spanned<String>,
    /// The wheel's `Requires-Dist` entries that apply on every supported Python, e.g.
    /// `"requests>=2.25.0"`.
    pub requires: Spanned<Vec<String>>,
    /// The HTTP server the release runs: `coglet` or `python`.
    pub server: Spanned<String>,
    /// The page the fact was read from.
    pub source: Spanned<String>,
    /// When it was read, `YYYY-MM-DD`.
    pub checked: Spanned<String>,
}

/// `compat/jax.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JaxFile {
    /// The `[[jax]]` rows.
    #[serde(default)]
    pub jax: Vec<Spanned<JaxRow>>,
}

/// One JAX release and the CUDA its extra brings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JaxRow {
    /// The release, e.g. `"0.12.0"`.
    pub jax: Spanned<String>,
    /// The extra, e.g. `"cuda12"`.
    pub extra: Spanned<String>,
    /// What `jax[extra]` brings from PyPI.
    pub pypi: Spanned<FrameworkWheels>,
}
