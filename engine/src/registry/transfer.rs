//! Pulls and pushes through the Docker API of the engine (`POST /images/create`,
//! `POST /images/{name}/push`), with the credentials of Docker's client config sent as
//! `X-Registry-Auth`: base images through a mirror, `cogpack images push`, `cogpack push IMAGE`,
//! `cogpack predict REF`. Builds push with BuildKit's image exporter instead (`crate::build`).

use bollard::auth::DockerCredentials;
use bollard::Docker;
use futures::StreamExt;

use super::credentials::{config_key, CredentialsError, DockerConfig};
use super::reference::{Reference, ReferenceError};

/// What a push through the Docker API did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransferReport {
    /// The reference pushed or pulled.
    pub reference: String,
    /// Layers sent (push) or downloaded (pull).
    pub layers_transferred: usize,
    /// Layers the other side already had.
    pub layers_present: usize,
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

/// Tags `image` (a name or ID in the engine's store) as `reference` and pushes it. A push that
/// fails leaves the registry without the tag: registries write a tag only with its manifest,
/// after every blob arrived.
pub async fn push(docker: &Docker, config: &DockerConfig, image: &str, reference: &str) -> Result<TransferReport, TransferError> {
    let parsed = Reference::parse(reference)?.with_default_tag();
    let creds = docker_credentials(config, &parsed)?;
    let full = parsed.to_string();
    let fail = |detail: String| TransferError::Failed { action: "pushing", reference: full.clone(), detail };
    let repo = format!("{}/{}", parsed.host, parsed.path);
    let tag = parsed.tag.clone().unwrap_or_else(|| "latest".into());
    if image != full {
        let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(&repo).tag(&tag).build();
        docker.tag_image(image, Some(opts)).await.map_err(|e| fail(docker_error(e)))?;
    }
    let opts = bollard::query_parameters::PushImageOptionsBuilder::default().tag(&tag).build();
    let mut stream = docker.push_image(&repo, Some(opts), creds);
    let mut report = TransferReport { reference: full.clone(), ..Default::default() };
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| fail(docker_error(e)))?;
        if let Some(err) = info.error_detail.and_then(|e| e.message) {
            return Err(fail(err));
        }
        let status = info.status.unwrap_or_default();
        match status.as_str() {
            "Pushed" => report.layers_transferred += 1,
            "Layer already exists" | "Mounted from" => report.layers_present += 1,
            s => {
                if let Some(d) = s.split("digest: ").nth(1) {
                    report.digest = d.split_whitespace().next().map(str::to_owned);
                }
            }
        }
    }
    Ok(report)
}

fn docker_error(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        bollard::errors::Error::DockerStreamError { error } => error,
        other => other.to_string(),
    }
}
