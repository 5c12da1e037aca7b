//! Tarball outputs from Docker's image store: `docker save` through the API for
//! `type=docker`, converted to an OCI image layout for `type=oci` (Docker 20.10's classic
//! store has no OCI exporter).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bollard::Docker;
use futures::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{BuildError, OutputSpec};

/// A tarball written to disk.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Saves image `name` as `output` asks. The file appears only when complete (written to a
/// temporary file beside it, then renamed), so a failed export leaves nothing behind.
/// `tags` become the archive's `RepoTags` (a temporary export name is never written).
pub async fn save(
    docker: &Docker,
    name: &str,
    tags: &[String],
    output: &OutputSpec,
) -> Result<Written, BuildError> {
    let (dest, oci) = match output {
        OutputSpec::Docker { dest } => (dest.clone(), false),
        OutputSpec::Oci { dest } => (dest.clone(), true),
    };
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let write_err = |source: std::io::Error| BuildError::Write { path: dest.clone(), source };
    let mut archive = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    {
        let mut out = BufWriter::new(archive.as_file_mut());
        let mut stream = docker.export_image(name);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BuildError::Export(format!("docker save {name}: {e}")))?;
            out.write_all(&chunk).map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
    }
    let finished = if oci {
        let mut layout = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
        docker_archive_to_oci(archive.path(), layout.as_file_mut(), name)
            .map_err(|e| BuildError::Export(format!("converting {name} to an OCI layout: {e}")))?;
        layout
    } else {
        let mut retagged = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
        retag_archive(archive.path(), retagged.as_file_mut(), tags)
            .map_err(|e| BuildError::Export(format!("writing the docker archive of {name}: {e}")))?;
        retagged
    };
    let bytes = finished.as_file().metadata().map_err(write_err)?.len();
    finished.persist(&dest).map_err(|e| write_err(e.error))?;
    Ok(Written { path: dest, bytes })
}

/// Removes a temporary tag.
pub async fn untag(docker: &Docker, tag: &str) -> Result<(), BuildError> {
    docker
        .remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None)
        .await
        .map(|_| ())
        .map_err(|e| BuildError::Export(format!("removing the temporary tag {tag}: {e}")))
}

/// Converts a `docker save` archive into an OCI image layout tarball: `oci-layout`,
/// `index.json`, and `blobs/sha256/*` for the config, the manifest and each (uncompressed)
/// layer.
pub fn docker_archive_to_oci(archive: &Path, out: &mut File, name: &str) -> std::io::Result<()> {
    let manifest = read_entry(archive, "manifest.json")?
        .ok_or_else(|| invalid("the archive has no manifest.json"))?;
    let manifest: Value = serde_json::from_slice(&manifest).map_err(|e| invalid(&e.to_string()))?;
    let first = manifest.get(0).ok_or_else(|| invalid("manifest.json is empty"))?;
    let config_path = first["Config"].as_str().ok_or_else(|| invalid("no Config"))?.to_owned();
    let layer_paths: Vec<String> = first["Layers"]
        .as_array()
        .ok_or_else(|| invalid("no Layers"))?
        .iter()
        .filter_map(|l| l.as_str().map(str::to_owned))
        .collect();
    let config = read_entry(archive, &config_path)?.ok_or_else(|| invalid("config missing"))?;

    let mut tar = tar::Builder::new(BufWriter::new(out));
    tar.mode(tar::HeaderMode::Deterministic);
    let add = |tar: &mut tar::Builder<BufWriter<&mut File>>, path: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, path, data)
    };
    add(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;

    // Layers: stream each layer.tar into a blob named by its digest.
    let mut layers = Vec::new();
    let mut file = tar::Archive::new(File::open(archive)?);
    let mut digests: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for entry in file.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if !layer_paths.contains(&path) {
            continue;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data)?;
        let digest = hex::encode(Sha256::digest(&data));
        add(&mut tar, &format!("blobs/sha256/{digest}"), &data)?;
        digests.insert(path, (digest, data.len() as u64));
    }
    for path in &layer_paths {
        let (digest, size) = digests.get(path).ok_or_else(|| invalid("a layer is missing"))?;
        layers.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{digest}"),
            "size": size,
        }));
    }
    let config_digest = hex::encode(Sha256::digest(&config));
    add(&mut tar, &format!("blobs/sha256/{config_digest}"), &config)?;
    let image_manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": layers,
    }))
    .map_err(|e| invalid(&e.to_string()))?;
    let manifest_digest = hex::encode(Sha256::digest(&image_manifest));
    add(&mut tar, &format!("blobs/sha256/{manifest_digest}"), &image_manifest)?;
    let mut descriptor = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{manifest_digest}"),
        "size": image_manifest.len(),
    });
    if !name.starts_with("cogpack-export/") {
        descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": name });
    }
    let index = serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": [descriptor] }))
        .map_err(|e| invalid(&e.to_string()))?;
    add(&mut tar, "index.json", &index)?;
    tar.into_inner()?.flush()
}

/// Copies a `docker save` archive, replacing the names it carries (`manifest.json`'s
/// `RepoTags`, the legacy `repositories` file) with `tags`.
pub fn retag_archive(archive: &Path, out: &mut File, tags: &[String]) -> std::io::Result<()> {
    let mut input = tar::Archive::new(File::open(archive)?);
    let mut tar = tar::Builder::new(BufWriter::new(out));
    for entry in input.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut header = entry.header().clone();
        match path.as_str() {
            "repositories" => continue,
            "manifest.json" => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                let mut manifest: Value =
                    serde_json::from_slice(&data).map_err(|e| invalid(&e.to_string()))?;
                if let Some(items) = manifest.as_array_mut() {
                    for item in items {
                        item["RepoTags"] = if tags.is_empty() { Value::Null } else { json!(tags) };
                    }
                }
                let data = serde_json::to_vec(&manifest).map_err(|e| invalid(&e.to_string()))?;
                header.set_size(data.len() as u64);
                header.set_cksum();
                tar.append_data(&mut header, &path, data.as_slice())?;
            }
            // The containerd image store also names the image in the OCI index, and loads
            // those names back: one entry per tag, and none for a temporary export name.
            "index.json" => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                let index: Value = serde_json::from_slice(&data).map_err(|e| invalid(&e.to_string()))?;
                let data = serde_json::to_vec(&retag_index(index, tags))
                    .map_err(|e| invalid(&e.to_string()))?;
                header.set_size(data.len() as u64);
                header.set_cksum();
                tar.append_data(&mut header, &path, data.as_slice())?;
            }
            _ => tar.append(&header, &mut entry)?,
        }
    }
    tar.into_inner()?.flush()
}

/// An OCI index whose manifests are named by `tags` (one entry per tag; unnamed when none).
fn retag_index(mut index: Value, tags: &[String]) -> Value {
    const IMAGE_NAME: &str = "io.containerd.image.name";
    const REF_NAME: &str = "org.opencontainers.image.ref.name";
    let Some(manifests) = index.get_mut("manifests").and_then(Value::as_array_mut) else {
        return index;
    };
    let mut out = Vec::new();
    for mut m in manifests.drain(..) {
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove(IMAGE_NAME);
            a.remove(REF_NAME);
        }
        if tags.is_empty() {
            out.push(m);
            continue;
        }
        for tag in tags {
            let full = crate::llb::normalize_image_ref(tag).unwrap_or_else(|_| tag.clone());
            let short = full.rsplit_once(':').map(|(_, t)| t.to_owned()).unwrap_or_default();
            let mut named = m.clone();
            let a = named
                .as_object_mut()
                .map(|o| o.entry("annotations").or_insert_with(|| json!({})));
            if let Some(Value::Object(a)) = a {
                a.insert(IMAGE_NAME.into(), json!(full));
                a.insert(REF_NAME.into(), json!(short));
            }
            out.push(named);
        }
    }
    *manifests = out;
    index
}

fn read_entry(archive: &Path, want: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut tar = tar::Archive::new(File::open(archive)?);
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == want {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Value {
        json!({"schemaVersion": 2, "manifests": [{"digest": "sha256:aa", "annotations": {
            "config.digest": "sha256:cc",
            "io.containerd.image.name": "docker.io/cogpack-export/x:tmp",
            "org.opencontainers.image.ref.name": "tmp"}}]})
    }

    #[test]
    fn a_temporary_name_never_reaches_the_index() {
        let out = retag_index(index(), &[]);
        let m = &out["manifests"];
        assert_eq!(m.as_array().unwrap().len(), 1);
        assert_eq!(m[0]["annotations"], json!({"config.digest": "sha256:cc"}));
    }

    #[test]
    fn every_tag_names_the_manifest() {
        let out = retag_index(index(), &["my-model".into(), "reg.example:5000/a/b:v1".into()]);
        let m = out["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["annotations"]["io.containerd.image.name"], "docker.io/library/my-model:latest");
        assert_eq!(m[0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
        assert_eq!(m[1]["annotations"]["io.containerd.image.name"], "reg.example:5000/a/b:v1");
        assert_eq!(m[1]["digest"], "sha256:aa");
    }
}
