//! The image config and the docker-archive (`docker save` format) around one layer, loaded
//! through `POST /images/load`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use bollard::query_parameters::ImportImageOptionsBuilder;
use bollard::Docker;
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{BaseImageRecipe, ImagesError};

/// The default PATH of a Debian image.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Label keys every base image carries.
pub mod labels {
    /// The recipe's image name.
    pub const RECIPE: &str = "org.cogpack.base.recipe";
    /// sha256 of the recipe's canonical JSON ([`super::BaseImageRecipe::digest`]).
    pub const RECIPE_DIGEST: &str = "org.cogpack.base.recipe-digest";
    /// Debian suite.
    pub const SUITE: &str = "org.cogpack.base.suite";
    /// Comma-separated package list of the recipe.
    pub const PACKAGES: &str = "org.cogpack.base.packages";
    /// Mirror the packages came from.
    pub const MIRROR: &str = "org.cogpack.base.mirror";
    /// Version of Debian's `python3` package in the image, when installed (e.g. `3.11.2-1+b1`).
    pub const PYTHON: &str = "org.cogpack.base.python";
    /// SOURCE_DATE_EPOCH the image was normalised with.
    pub const SOURCE_DATE_EPOCH: &str = "org.cogpack.base.source-date-epoch";
}

/// An image config (the subset of the OCI/Docker image spec v1 we write). Field order is the
/// serialisation order; maps are sorted: the bytes are a function of the content.
#[derive(Debug, Serialize)]
pub struct ImageConfig {
    pub architecture: String,
    pub config: RunConfig,
    pub created: String,
    pub history: Vec<History>,
    pub os: String,
    pub rootfs: RootFs,
}

/// The runtime part of an image config.
#[derive(Debug, Serialize)]
pub struct RunConfig {
    #[serde(rename = "Env")]
    pub env: Vec<String>,
    #[serde(rename = "Cmd")]
    pub cmd: Vec<String>,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
}

/// One history entry.
#[derive(Debug, Serialize)]
pub struct History {
    pub created: String,
    pub created_by: String,
}

/// The layer list of an image config.
#[derive(Debug, Serialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

/// The Docker/OCI name of the architecture this process runs on (and debootstrap builds for).
pub fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// RFC 3339 form of a Unix time (UTC), e.g. `2024-01-01T00:00:00Z`.
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The config JSON for `recipe` with one layer `diff_id`.
pub fn image_config(
    recipe: &BaseImageRecipe,
    diff_id: &str,
    epoch: i64,
    python: Option<&str>,
) -> Vec<u8> {
    let mut env = vec![format!("PATH={DEFAULT_PATH}")];
    for (k, v) in &recipe.env {
        if k == "PATH" {
            env[0] = format!("PATH={v}");
        } else {
            env.push(format!("{k}={v}"));
        }
    }
    let mut labels = BTreeMap::new();
    labels.insert(labels::RECIPE.to_owned(), recipe.name.clone());
    labels.insert(labels::RECIPE_DIGEST.to_owned(), recipe.digest());
    labels.insert(labels::SUITE.to_owned(), recipe.suite.clone());
    labels.insert(labels::PACKAGES.to_owned(), recipe.packages.join(","));
    labels.insert(labels::MIRROR.to_owned(), recipe.mirror_url().to_owned());
    labels.insert(labels::SOURCE_DATE_EPOCH.to_owned(), epoch.to_string());
    if let Some(py) = python {
        labels.insert(labels::PYTHON.to_owned(), py.to_owned());
    }
    let created = rfc3339(epoch);
    let config = ImageConfig {
        architecture: docker_arch().to_owned(),
        config: RunConfig {
            env,
            cmd: vec!["bash".to_owned()],
            labels,
        },
        created: created.clone(),
        history: vec![History {
            created,
            created_by: format!(
                "cogpack images build: debootstrap --variant=minbase --include={} {} {}",
                recipe.packages.join(","),
                recipe.suite,
                recipe.mirror_url()
            ),
        }],
        os: "linux".to_owned(),
        rootfs: RootFs {
            kind: "layers".to_owned(),
            diff_ids: vec![diff_id.to_owned()],
        },
    };
    serde_json::to_vec(&config).expect("config serialises")
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Streams a docker-archive made of `config` and the layer at `layer_path` into
/// `POST /images/load`, tagging it `name`.
pub async fn load(
    docker: &Docker,
    name: &str,
    config: Vec<u8>,
    layer_path: &Path,
    layer_diff_id: &str,
) -> Result<(), ImagesError> {
    let layer_hex = layer_diff_id.trim_start_matches("sha256:").to_owned();
    let config_name = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    let layer_name = format!("{layer_hex}/layer.tar");
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [name],
        "Layers": [layer_name],
    }]))
    .expect("manifest serialises");

    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
    let layer_path = layer_path.to_owned();
    let writer = tokio::task::spawn_blocking(move || -> io::Result<()> {
        let mut ar = tar::Builder::new(ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        });
        let put = |ar: &mut tar::Builder<ChannelWriter>, path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_entry_type(tar::EntryType::Regular);
            ar.append_data(&mut h, path, data)
        };
        put(&mut ar, &config_name, &config)?;
        let mut dir = tar::Header::new_gnu();
        dir.set_mode(0o755);
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        ar.append_data(&mut dir, &layer_hex, io::empty())?;
        let mut file = File::open(&layer_path)?;
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(file.metadata()?.len());
        h.set_entry_type(tar::EntryType::Regular);
        ar.append_data(&mut h, &layer_name, &mut file)?;
        put(&mut ar, "manifest.json", &manifest)?;
        let mut w = ar.into_inner()?;
        w.flush()
    });

    let body = tokio_stream::wrappers::ReceiverStream::new(rx);
    let options = ImportImageOptionsBuilder::default().quiet(true).build();
    let mut answers = docker.import_image_stream(options, body, None);
    let mut failure = None;
    while let Some(answer) = answers.next().await {
        if let Err(e) = answer {
            failure.get_or_insert_with(|| e.to_string());
        }
    }
    let written = writer.await.map_err(|e| io::Error::other(e.to_string()));
    if let Some(message) = failure {
        return Err(ImagesError::Load {
            name: name.to_owned(),
            message,
        });
    }
    written.and_then(|r| r).map_err(|e| ImagesError::Load {
        name: name.to_owned(),
        message: format!("writing the archive: {e}"),
    })
}

const CHUNK: usize = 1 << 20;

/// Sends what is written, in chunks, down a channel (the body of the load request).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn config_is_stable_and_carries_path_and_labels() {
        let recipe = super::super::builtin_recipe(super::super::PY311_BOOKWORM).unwrap();
        let a = image_config(&recipe, "sha256:00", 1_704_067_200, Some("3.11.2-1+b1"));
        let b = image_config(&recipe, "sha256:00", 1_704_067_200, Some("3.11.2-1+b1"));
        assert_eq!(a, b);
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["created"], "2024-01-01T00:00:00Z");
        assert_eq!(v["config"]["Env"][0], format!("PATH={DEFAULT_PATH}"));
        assert_eq!(
            v["config"]["Labels"][labels::RECIPE],
            "cogpack/base:py3.11-bookworm"
        );
        assert_eq!(v["rootfs"]["diff_ids"][0], "sha256:00");
        assert_ne!(
            a,
            image_config(&recipe, "sha256:01", 1_704_067_200, Some("3.11.2-1+b1"))
        );
    }
}
