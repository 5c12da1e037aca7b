//! Mutual TLS to a Docker daemon on TCP (`dockerd --tlsverify`), with Docker's file names:
//! `ca.pem` (who signed the daemon's certificate), `cert.pem` and `key.pem` (ours). The
//! `/grpc` and `/session` upgrades run inside the TLS stream, so the session (project files,
//! secrets, registry credentials) is encrypted end to end.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The client configuration for the certificates in `dir`. Errors name the file.
pub(crate) fn client_config(dir: &Path) -> io::Result<ClientConfig> {
    let bad = |file: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e} (DOCKER_CERT_PATH holds ca.pem, cert.pem, key.pem)", file.display()))
    };
    let ca = dir.join("ca.pem");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&ca).map_err(|e| bad(&ca, &e))? {
        roots.add(c.map_err(|e| bad(&ca, &e))?).map_err(|e| bad(&ca, &e))?;
    }
    if roots.is_empty() {
        return Err(bad(&ca, &"no certificate in the file"));
    }
    let chain = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| bad(&cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&cert, &e))?;
    if chain.is_empty() {
        return Err(bad(&cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| bad(&key, &e))?;
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(dir, &e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key_der)
        .map_err(|e| bad(&cert, &e))
}

/// Opens a TCP connection and completes the TLS handshake (the daemon's certificate must be
/// valid for `host`).
pub(crate) async fn connect(host: &str, port: u16, certs: &Path) -> io::Result<TlsStream<TcpStream>> {
    let config = client_config(certs)?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("`{host}` is not a TLS server name: {e}")))?;
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake with {host}:{port}: {e}")))
}
