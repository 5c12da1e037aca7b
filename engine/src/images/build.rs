//! Building a base image from its recipe, and making sure one is present.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use serde::Serialize;

use super::archive::{image_config, labels, load, sha256};
use super::{debootstrap, layer, normalize, BaseImageRecipe, ImagesError};

/// SOURCE_DATE_EPOCH of base images: 2024-01-01T00:00:00Z. Every mtime is clamped to it and
/// it is the config's `created`.
pub const DEFAULT_SOURCE_DATE_EPOCH: i64 = 1_704_067_200;

/// A Docker image ID (`sha256:<hex>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ImageId(pub String);

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Knobs of [`build`].
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Clamp for mtimes and the config's `created`.
    pub source_date_epoch: i64,
    /// Where the temporary root filesystem and layer go (needs ~700 MB; not `noexec`/`nodev`).
    pub work_dir: PathBuf,
    /// Where debootstrap keeps downloaded `.deb`s between builds (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            source_date_epoch: DEFAULT_SOURCE_DATE_EPOCH,
            work_dir: PathBuf::from("/var/tmp"),
            cache_dir: Some(PathBuf::from("/var/cache/cogpack/debootstrap")),
        }
    }
}

/// The long steps of a build, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStep {
    /// apt-get is installing debootstrap.
    InstallDebootstrap,
    /// debootstrap is downloading and installing packages (~1 min).
    Debootstrap,
    /// Removing caches, logs and build-time files.
    Normalize,
    /// Writing the layer tar.
    Layer,
    /// Loading the image into the daemon.
    Load,
}

/// Progress of a build, for the CLI to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A step begins.
    Step { recipe: String, step: BuildStep },
    /// A line of debootstrap's output.
    Line(String),
    /// Entries written to the layer so far.
    Entries(u64),
}

/// A built and loaded base image.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltImage {
    /// The recipe's image name (now tagged in the daemon).
    pub name: String,
    /// The ID the daemon gives it.
    pub id: ImageId,
    /// sha256 of the config we wrote (equals `id` on Docker's classic image store).
    pub config_digest: String,
    /// sha256 of the uncompressed layer.
    pub layer_diff_id: String,
    /// Layer size in bytes.
    pub layer_size: u64,
    /// Version of Debian's `python3` package, if installed.
    pub python: Option<String>,
    /// Wall time of the build.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Whether a recipe's image is in the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Presence {
    /// No image has the recipe's name.
    Absent,
    /// The image exists and was built from this recipe.
    Current { id: ImageId },
    /// An image has the name but another recipe digest (or none): it is rebuilt by `ensure`.
    Stale {
        id: ImageId,
        recipe_digest: Option<String>,
    },
}

/// Looks the recipe's image up in the daemon.
pub async fn presence(docker: &Docker, recipe: &BaseImageRecipe) -> Result<Presence, ImagesError> {
    let image = match docker.inspect_image(&recipe.name).await {
        Ok(image) => image,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(Presence::Absent),
        Err(e) => return Err(e.into()),
    };
    let id = ImageId(image.id.unwrap_or_default());
    let digest = image
        .config
        .and_then(|c| c.labels)
        .and_then(|mut l| l.remove(labels::RECIPE_DIGEST));
    Ok(if digest.as_deref() == Some(recipe.digest().as_str()) {
        Presence::Current { id }
    } else {
        Presence::Stale {
            id,
            recipe_digest: digest,
        }
    })
}

/// Returns the ID of the recipe's image, building it first when it is absent or stale.
pub async fn ensure(
    docker: &Docker,
    recipe: &BaseImageRecipe,
    progress: &(dyn Fn(BuildEvent) + Send + Sync),
) -> Result<ImageId, ImagesError> {
    match presence(docker, recipe).await? {
        Presence::Current { id } => Ok(id),
        Presence::Absent | Presence::Stale { .. } => {
            Ok(build(docker, recipe, &BuildOptions::default(), progress)
                .await?
                .id)
        }
    }
}

/// Builds the recipe's image and loads it into the daemon (replacing any image of that name).
pub async fn build(
    docker: &Docker,
    recipe: &BaseImageRecipe,
    opts: &BuildOptions,
    progress: &(dyn Fn(BuildEvent) + Send + Sync),
) -> Result<BuiltImage, ImagesError> {
    recipe.validate()?;
    let start = Instant::now();
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        return Err(ImagesError::NotRoot { uid });
    }
    let step = |step| {
        progress(BuildEvent::Step {
            recipe: recipe.name.clone(),
            step,
        })
    };

    let program = match debootstrap::find() {
        Some(p) => p,
        None => {
            step(BuildStep::InstallDebootstrap);
            debootstrap::install().await?
        }
    };
    debootstrap::check_suite(&recipe.suite)?;
    let cache_dir = match &opts.cache_dir {
        Some(dir) => {
            let dir = dir.join(format!("{}-{}", recipe.suite, super::docker_arch()));
            std::fs::create_dir_all(&dir).map_err(|source| ImagesError::Io {
                path: dir.clone(),
                source,
            })?;
            Some(dir)
        }
        None => None,
    };
    std::fs::create_dir_all(&opts.work_dir).map_err(|source| ImagesError::Io {
        path: opts.work_dir.clone(),
        source,
    })?;
    let work = WorkDir::new(&opts.work_dir)?;
    let rootfs = work.path().join("rootfs");
    let layer_path = work.path().join("layer.tar");

    step(BuildStep::Debootstrap);
    let on_line = |line: String| progress(BuildEvent::Line(line));
    debootstrap::run(&program, recipe, &rootfs, cache_dir.as_deref(), &on_line).await?;
    debootstrap::unmount_under(&rootfs)?;

    step(BuildStep::Normalize);
    let epoch = opts.source_date_epoch;
    let root = rootfs.clone();
    let python = debootstrap::installed_version(&rootfs, "python3");
    blocking(move || normalize::normalize(&root, epoch)).await?;

    step(BuildStep::Layer);
    let (root, dest) = (rootfs.clone(), layer_path.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = tokio::task::spawn_blocking(move || {
        layer::write_layer(&root, &dest, epoch, &mut |n| {
            let _ = tx.send(n);
        })
    });
    while let Some(n) = rx.recv().await {
        progress(BuildEvent::Entries(n));
    }
    let layer = writer.await.map_err(join_error)??;

    step(BuildStep::Load);
    let config = image_config(recipe, &layer.diff_id, epoch, python.as_deref());
    let config_digest = sha256(&config);
    load(docker, &recipe.name, config, &layer_path, &layer.diff_id).await?;
    let id = docker
        .inspect_image(&recipe.name)
        .await?
        .id
        .unwrap_or_default();
    drop(work);

    Ok(BuiltImage {
        name: recipe.name.clone(),
        id: ImageId(id),
        config_digest,
        layer_diff_id: layer.diff_id,
        layer_size: layer.size,
        python,
        elapsed: start.elapsed(),
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImagesError> + Send + 'static,
) -> Result<T, ImagesError> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

fn join_error(e: tokio::task::JoinError) -> ImagesError {
    ImagesError::Io {
        path: PathBuf::from("<worker thread>"),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A temporary directory that is unmounted under and removed when dropped (also on errors
/// and cancellation), so a failed debootstrap never leaves /proc mounted in /var/tmp.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(parent: &Path) -> Result<Self, ImagesError> {
        let dir = tempfile::Builder::new()
            .prefix("cogpack-base-")
            .tempdir_in(parent)
            .map_err(|source| ImagesError::Io {
                path: parent.to_owned(),
                source,
            })?;
        Ok(WorkDir(dir.keep()))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        // Only delete when nothing is mounted below any more: never recurse into a live /proc.
        if debootstrap::unmount_under(&self.0).is_ok() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
