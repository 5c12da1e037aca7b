//! The build host's CA bundle, mounted read-only into steps that ask for it (`host_ca`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::LowerError;

/// Where the bundle is mounted in the step, and what `SSL_CERT_FILE`, `PIP_CERT` and
/// `REQUESTS_CA_BUNDLE` point to (uv honours `SSL_CERT_FILE` directly).
pub const CA_TARGET: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Name of the in-memory local that carries the bundle.
pub const CA_LOCAL: &str = "cogpack-host-ca";
/// File name of the bundle inside that local.
pub const CA_FILE: &str = "ca-certificates.crt";
/// The host path used when nothing else is given.
pub const DEFAULT_CA_PATH: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A CA bundle read from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCa {
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// Which file to read: `--ca-cert FILE`, else `$SSL_CERT_FILE`, else [`DEFAULT_CA_PATH`].
pub fn choose_ca_path(explicit: Option<&Path>, ssl_cert_file: Option<OsString>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match ssl_cert_file {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_CA_PATH),
    }
}

/// Reads the host CA bundle chosen by [`choose_ca_path`] (with the real `SSL_CERT_FILE`).
pub fn host_ca_bundle(explicit: Option<&Path>) -> Result<HostCa, LowerError> {
    let path = choose_ca_path(explicit, std::env::var_os("SSL_CERT_FILE"));
    let contents = std::fs::read(&path).map_err(|e| LowerError::HostCa {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let pem = String::from_utf8_lossy(&contents);
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(LowerError::HostCa {
            path,
            message: "it holds no PEM certificate".into(),
        });
    }
    Ok(HostCa { path, contents })
}
