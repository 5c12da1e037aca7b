//! `moby.buildkit.secrets.v1.Secrets/GetSecret`: secret values for SECRET mounts and secret env.
//!
//! Values are read when the engine asks for them, never stored in the client, and never logged:
//! errors name the secret id and its source (path or variable name), not its value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// Why a secret cannot be served. Messages name the source (path or variable), never the
/// value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The file does not exist.
    #[error("`{}` does not exist", .0.display())]
    Missing(PathBuf),
    /// The path is a directory, a device (`/dev/zero`), a FIFO or a socket.
    #[error("`{}` is not a regular file (a secret is read from a regular file)", .0.display())]
    NotAFile(PathBuf),
    /// The value is larger than [`MAX_SECRET_BYTES`].
    #[error("{what} is larger than the {MAX_SECRET_BYTES} bytes a secret may have")]
    TooLarge {
        /// `` `path` `` or `environment variable NAME`.
        what: String,
    },
    /// The variable is not set.
    #[error("environment variable `{0}` is not set")]
    EnvUnset(String),
    /// Any other failure to read the file.
    #[error("cannot read `{}`: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
}

impl SecretSource {
    /// Checks that the value can be read, without keeping it: the file exists, is a regular
    /// file and is small enough, or the variable is set and small enough. Builds call this
    /// before starting, so a missing source is an error even when a cached step would never
    /// ask for it.
    pub fn check(&self) -> Result<(), SecretError> {
        self.read().map(|_| ())
    }

    /// Reads the value now, at most [`MAX_SECRET_BYTES`] (plus one byte to tell that it is
    /// larger), from a regular file only: the file is opened without blocking (a FIFO never
    /// hangs the build) and checked after opening (no swap between check and read). The
    /// error never contains the value.
    pub fn read(&self) -> Result<Vec<u8>, SecretError> {
        match self {
            SecretSource::File(path) => read_file(path),
            SecretSource::Env(var) => {
                let value = std::env::var_os(var).ok_or_else(|| SecretError::EnvUnset(var.clone()))?;
                if value.len() as u64 > MAX_SECRET_BYTES {
                    return Err(SecretError::TooLarge {
                        what: format!("environment variable `{var}`"),
                    });
                }
                Ok(value.into_encoded_bytes())
            }
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, SecretError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SecretError::Missing(path.to_path_buf()),
        _ => SecretError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    };
    // Refuse what is plainly not a regular file before opening it (opening a device can
    // have effects); the check after opening is the one that counts.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(SecretError::NotAFile(path.to_path_buf()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(SecretError::NotAFile(path.to_path_buf()));
    }
    let too_large = || SecretError::TooLarge {
        what: format!("`{}`", path.display()),
    };
    if meta.len() > MAX_SECRET_BYTES {
        return Err(too_large());
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_SECRET_BYTES + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > MAX_SECRET_BYTES {
        // It grew after the size check.
        data.fill(0);
        return Err(too_large());
    }
    Ok(data)
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
            .map_err(|e| match e {
                // Not found is what BuildKit skips for an optional mount.
                SecretError::Missing(_) | SecretError::EnvUnset(_) => Status::not_found(format!("secret `{id}`: {e}")),
                _ => Status::failed_precondition(format!("secret `{id}`: {e}")),
            })?;
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
        assert_eq!(src.read().unwrap_err(), SecretError::Missing(p.clone()));
        assert_eq!(src.check().unwrap_err().to_string(), format!("`{}` does not exist", p.display()));
        std::fs::write(&p, "s3cr3t").unwrap();
        assert_eq!(src.read().unwrap(), b"s3cr3t");
        std::fs::write(&p, "rotated").unwrap();
        assert_eq!(src.read().unwrap(), b"rotated");

        let path = std::env::var_os("PATH").unwrap();
        assert_eq!(SecretSource::Env("PATH".into()).read().unwrap(), path.into_encoded_bytes());
        let err = SecretSource::Env("COGPACK_SURELY_UNSET_VAR".into()).read().unwrap_err();
        assert_eq!(err.to_string(), "environment variable `COGPACK_SURELY_UNSET_VAR` is not set");
    }

    #[test]
    fn oversized_files_are_refused_without_showing_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; MAX_SECRET_BYTES as usize + 1]).unwrap();
        let err = SecretSource::File(p.clone()).read().unwrap_err().to_string();
        assert_eq!(err, format!("`{}` is larger than the 512000 bytes a secret may have", p.display()));
        std::fs::write(&p, vec![b'x'; MAX_SECRET_BYTES as usize]).unwrap();
        assert_eq!(SecretSource::File(p).read().unwrap().len(), MAX_SECRET_BYTES as usize);
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        // /dev/zero would be read forever; a FIFO would block the open.
        let started = std::time::Instant::now();
        let zero = SecretSource::File("/dev/zero".into()).read().unwrap_err();
        assert_eq!(zero, SecretError::NotAFile("/dev/zero".into()));
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(SecretSource::File(fifo.clone()).read().unwrap_err(), SecretError::NotAFile(fifo));
        let d = SecretSource::File(dir.path().to_path_buf()).read().unwrap_err();
        assert!(d.to_string().contains("is not a regular file"), "{d}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
