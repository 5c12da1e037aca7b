//! Cogpack base images, made locally from Debian packages (no registry needed).
//!
//! A [`BaseImageRecipe`] names a Debian suite and packages. [`build`] runs
//! `debootstrap --variant=minbase`, [`normalize`]s the tree (caches, logs, `.pyc`, host files,
//! dates in `/etc/shadow`), writes it as one layer with sorted entries, numeric owners and
//! mtimes clamped to SOURCE_DATE_EPOCH ([`write_layer`]), adds an image config with a fixed
//! `created` ([`image_config`]) and loads the docker-archive through the Docker API. The image
//! ID is the sha256 of that config, which names the layer by its content hash: same packages,
//! same image ID. [`ensure`] builds an image only when it is absent or was made from another
//! recipe.

mod archive;
mod build;
mod debootstrap;
mod layer;
mod normalize;
mod recipe;

use std::path::{Path, PathBuf};

pub use archive::{docker_arch, image_config, labels, rfc3339, DEFAULT_PATH};
pub use build::{
    build, ensure, presence, BuildEvent, BuildOptions, BuildStep, BuiltImage, ImageId, Presence,
    DEFAULT_SOURCE_DATE_EPOCH,
};
pub use layer::{write_layer, LayerInfo};
pub use normalize::{fix_shadow_dates, normalize, NormalizeReport};
pub use recipe::{
    builtin_recipe, builtin_recipes, recipe_for, BaseImageRecipe, DEFAULT_MIRROR, PY311_BOOKWORM, PY313_TRIXIE,
    SUITES,
};

/// Everything that can go wrong building or finding a base image.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    /// No recipe has this name.
    #[error("unknown base image `{name}`\nhelp: known base images: {}", known.join(", "))]
    UnknownRecipe { name: String, known: Vec<String> },

    /// A recipe field is unusable.
    #[error("base image recipe `{name}`: invalid `{field}`: {reason}")]
    InvalidRecipe {
        name: String,
        field: &'static str,
        reason: String,
    },

    /// Building needs root (debootstrap creates device nodes and chowns files).
    #[error("building base images needs root (debootstrap); running as uid {uid}")]
    NotRoot { uid: u32 },

    /// A helper program (apt-get) failed.
    #[error("`{command}` failed ({status})\n{output_tail}")]
    Tool {
        command: String,
        status: String,
        output_tail: String,
    },

    /// The installed debootstrap has no script for the suite.
    #[error(
        "debootstrap does not know suite `{suite}` (no script in {})\n\
         help: install a newer debootstrap and debian-archive-keyring (e.g. from backports)",
        scripts.display()
    )]
    SuiteUnsupported { suite: String, scripts: PathBuf },

    /// debootstrap failed.
    #[error(
        "building `{recipe}`: `{command}` failed ({status})\n{output_tail}\n\
         help: check that the mirror is reachable and the packages exist in the suite"
    )]
    Debootstrap {
        recipe: String,
        command: String,
        status: String,
        output_tail: String,
    },

    /// A file of the work tree could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// `POST /images/load` failed.
    #[error("loading `{name}` into the Docker daemon failed: {message}")]
    Load { name: String, message: String },

    /// Another Docker API call failed.
    #[error("docker API: {0}")]
    Docker(#[from] bollard::errors::Error),
}

impl ImagesError {
    /// An error walking the tree under `root`, as [`ImagesError::Io`] on the path it names
    /// (`root` when it names none).
    fn walk(root: &Path, e: walkdir::Error) -> Self {
        Self::Io {
            path: e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| root.to_owned()),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed")),
        }
    }
}

impl From<crate::apt::AptFailure> for ImagesError {
    fn from(f: crate::apt::AptFailure) -> Self {
        Self::Tool {
            command: f.command,
            status: f.status,
            output_tail: f.output_tail,
        }
    }
}
