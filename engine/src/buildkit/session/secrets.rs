//! `moby.buildkit.secrets.v1.Secrets/GetSecret`: secret values for SECRET mounts and secret env.
//!
//! Values are read when the engine asks for them, never stored in the client, and never logged:
//! errors name the secret id and its source (path or variable name), not its value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::Secrets;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use tonic::{Request, Response, Status};

/// Largest secret served (the limit Go's file provider uses).
pub const MAX_SECRET_BYTES: u64 = 500 * 1024;

/// Where a secret's value comes from; read at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The contents of a file.
    File(PathBuf),
    /// The value of an environment variable of this process.
    Env(String),
}

impl SecretSource {
    /// Reads the value now. The error never contains the value.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            SecretSource::File(path) => {
                let md = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if md.len() > MAX_SECRET_BYTES {
                    return Err(format!("{} is larger than {MAX_SECRET_BYTES} bytes", path.display()));
                }
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            SecretSource::Env(var) => std::env::var_os(var)
                .map(|v| v.into_encoded_bytes())
                .ok_or_else(|| format!("environment variable {var} is not set")),
        }
    }
}

pub(crate) struct SecretsService {
    pub secrets: Arc<BTreeMap<String, SecretSource>>,
}

#[tonic::async_trait]
impl Secrets for SecretsService {
    async fn get_secret(&self, request: Request<GetSecretRequest>) -> Result<Response<GetSecretResponse>, Status> {
        let id = request.into_inner().id;
        let source = self
            .secrets
            .get(&id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("secret `{id}` was not provided to this build")))?;
        let data = tokio::task::spawn_blocking(move || source.read())
            .await
            .map_err(|e| Status::internal(format!("secret `{id}`: {e}")))?
            .map_err(|e| Status::not_found(format!("secret `{id}`: {e}")))?;
        Ok(Response::new(GetSecretResponse { data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_files_and_env_at_request_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        let src = SecretSource::File(p.clone());
        assert!(src.read().unwrap_err().contains("cannot read"));
        std::fs::write(&p, "s3cr3t").unwrap();
        assert_eq!(src.read().unwrap(), b"s3cr3t");
        std::fs::write(&p, "rotated").unwrap();
        assert_eq!(src.read().unwrap(), b"rotated");

        let path = std::env::var_os("PATH").unwrap();
        assert_eq!(SecretSource::Env("PATH".into()).read().unwrap(), path.into_encoded_bytes());
        let err = SecretSource::Env("COGPACK_SURELY_UNSET_VAR".into()).read().unwrap_err();
        assert!(err.contains("COGPACK_SURELY_UNSET_VAR"));
    }

    #[test]
    fn oversized_files_are_refused_without_showing_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; MAX_SECRET_BYTES as usize + 1]).unwrap();
        let err = SecretSource::File(p).read().unwrap_err();
        assert!(err.contains("larger than") && !err.contains("xxx"));
    }
}
