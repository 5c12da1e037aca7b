//! Pulls and pushes through the Docker API of the engine (`POST /images/create`,
//! `POST /images/{name}/push`), with the credentials of Docker's client config sent as
//! `X-Registry-Auth`: base images through a mirror, `cogpack images push`, `cogpack push IMAGE`,
//! `cogpack predict REF`. Builds push with BuildKit's image exporter instead (`crate::build`).

use std::collections::BTreeMap;

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use bollard::Docker;
use futures::StreamExt;

use super::credentials::{config_key, CredentialsError, DockerConfig};
use super::reference::{Reference, ReferenceError};
use crate::buildkit::EngineAddr;

/// What a push through the Docker API did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransferReport {
    /// The reference pushed or pulled.
    pub reference: String,
    /// Layers sent (push) or downloaded (pull).
    pub layers_transferred: usize,
    /// Layers the other side already had.
    pub layers_present: usize,
    /// Bytes of the layers sent (push; compressed sizes as the engine reports them).
    pub bytes_sent: u64,
    /// The manifest digest the registry answered with, when it did.
    pub digest: Option<String>,
}

/// A pull or push that failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("{action} {reference} failed: {detail}{}", super::report::hint(detail, reference).map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
    Failed { action: &'static str, reference: String, detail: String },
}

/// The `X-Registry-Auth` credentials for the registry of `reference`.
pub fn docker_credentials(config: &DockerConfig, reference: &Reference) -> Result<Option<DockerCredentials>, CredentialsError> {
    let Some(c) = config.credentials(&reference.host)? else { return Ok(None) };
    let serveraddress = Some(config_key(&reference.host));
    Ok(Some(if c.username.is_empty() {
        DockerCredentials { identitytoken: Some(c.secret), serveraddress, ..Default::default() }
    } else {
        DockerCredentials { username: Some(c.username), password: Some(c.secret), serveraddress, ..Default::default() }
    }))
}

/// Pulls `reference` into the engine's image store.
pub async fn pull(docker: &Docker, config: &DockerConfig, reference: &str) -> Result<TransferReport, TransferError> {
    let parsed = Reference::parse(reference)?.with_default_tag();
    let creds = docker_credentials(config, &parsed)?;
    let full = parsed.to_string();
    let opts = bollard::query_parameters::CreateImageOptionsBuilder::default().from_image(&full).build();
    let mut stream = docker.create_image(Some(opts), None, creds);
    let mut report = TransferReport { reference: full.clone(), ..Default::default() };
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| TransferError::Failed { action: "pulling", reference: full.clone(), detail: docker_error(e) })?;
        if let Some(err) = info.error_detail.and_then(|e| e.message) {
            return Err(TransferError::Failed { action: "pulling", reference: full, detail: err });
        }
        match info.status.as_deref().unwrap_or_default() {
            "Pull complete" | "Download complete" => report.layers_transferred += 1,
            "Already exists" => report.layers_present += 1,
            s if s.starts_with("Digest: ") => report.digest = Some(s["Digest: ".len()..].to_owned()),
            _ => {}
        }
    }
    Ok(report)
}

/// Tags `image` (a name or ID in the engine's store) as `reference` and pushes it through the
/// engine's Docker API at `addr`, which reports every layer: sent (with its size) or already
/// in the registry. A push that fails leaves the registry without the tag: registries write a
/// tag only with its manifest, after every blob arrived.
pub async fn push(
    docker: &Docker,
    addr: &EngineAddr,
    config: &DockerConfig,
    image: &str,
    reference: &str,
) -> Result<TransferReport, TransferError> {
    let parsed = Reference::parse(reference)?.with_default_tag();
    let creds = docker_credentials(config, &parsed)?;
    let full = parsed.to_string();
    let fail = |detail: String| TransferError::Failed { action: "pushing", reference: full.clone(), detail };
    let repo = format!("{}/{}", parsed.host, parsed.path);
    let tag = parsed.tag.clone().unwrap_or_else(|| "latest".into());
    let tagged = image != full && docker.inspect_image(&full).await.is_err();
    if image != full {
        let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(&repo).tag(&tag).build();
        docker.tag_image(image, Some(opts)).await.map_err(|e| fail(docker_error(e)))?;
    }
    let pushed = push_tagged(addr, &repo, &tag, creds, full.clone()).await;
    if pushed.is_err() && tagged {
        // The name was made for this push; a failed push leaves nothing that looks pushed.
        let _ = docker.remove_image(&full, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }
    pushed
}

async fn push_tagged(
    addr: &EngineAddr,
    repo: &str,
    tag: &str,
    creds: Option<DockerCredentials>,
    full: String,
) -> Result<TransferReport, TransferError> {
    let fail = |detail: String| TransferError::Failed { action: "pushing", reference: full.clone(), detail };
    let auth = serde_json::to_vec(&creds.unwrap_or_default()).unwrap_or_default();
    let header = base64::engine::general_purpose::URL_SAFE.encode(auth);
    let path = format!("/images/{repo}/push?tag={tag}");
    let mut lines = crate::buildkit::docker_post_lines(addr, &path, &[("X-Registry-Auth", header)])
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut layers: BTreeMap<String, LayerPush> = BTreeMap::new();
    let mut report = TransferReport { reference: full.clone(), ..Default::default() };
    while let Some(line) = lines.next().await {
        let line = line.map_err(|e| fail(e.to_string()))?;
        let Ok(msg) = serde_json::from_slice::<PushMessage>(&line) else { continue };
        if let Some(err) = msg.error_detail.and_then(|e| e.message).or(msg.error) {
            return Err(fail(err));
        }
        let status = msg.status.unwrap_or_default();
        if let Some(d) = status.split("digest: ").nth(1) {
            report.digest = d.split_whitespace().next().map(str::to_owned);
        }
        let Some(id) = msg.id.filter(|i| !i.is_empty() && i != tag) else { continue };
        let layer = layers.entry(id).or_default();
        match status.as_str() {
            "Pushing" => {
                if let Some(p) = msg.progress_detail {
                    layer.bytes = layer.bytes.max(p.total.unwrap_or(0).max(p.current.unwrap_or(0)).max(0) as u64);
                }
            }
            "Pushed" => layer.sent = Some(true),
            s if s == "Layer already exists" || s.starts_with("Mounted from") => layer.sent = Some(false),
            _ => {}
        }
    }
    for layer in layers.values() {
        match layer.sent {
            Some(true) => {
                report.layers_transferred += 1;
                report.bytes_sent += layer.bytes;
            }
            Some(false) => report.layers_present += 1,
            None => {}
        }
    }
    Ok(report)
}

#[derive(Default)]
struct LayerPush {
    sent: Option<bool>,
    bytes: u64,
}

#[derive(serde::Deserialize)]
struct PushMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, rename = "progressDetail")]
    progress_detail: Option<Progress>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorMessage>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Progress {
    #[serde(default)]
    current: Option<i64>,
    #[serde(default)]
    total: Option<i64>,
}

#[derive(serde::Deserialize)]
struct ErrorMessage {
    #[serde(default)]
    message: Option<String>,
}

fn docker_error(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        bollard::errors::Error::DockerStreamError { error } => error,
        other => other.to_string(),
    }
}
