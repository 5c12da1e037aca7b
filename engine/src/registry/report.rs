//! What the engine reported about registry traffic: cache imports that found nothing (a first
//! build), read from the final build status, and a hint for each way a registry operation
//! fails.

use crate::buildkit::StatusState;

/// Cache references the engine tried to import and did not find (or could not read): the
/// `importing cache manifest from REF` steps that ended in an error. Not finding the cache is
/// normal on a first build; the engine builds without it.
pub fn missing_cache_imports(status: &StatusState) -> Vec<(String, String)> {
    status
        .vertices()
        .filter_map(|v| {
            let reference = v.name.strip_prefix("importing cache manifest from ")?;
            let error = v.error.clone()?;
            Some((reference.split_whitespace().next().unwrap_or(reference).to_owned(), error))
        })
        .collect()
}

/// A hint for a registry error message from the engine or the Docker API.
pub fn hint(detail: &str, reference: &str) -> Option<String> {
    let d = detail.to_ascii_lowercase();
    let host = reference.split('/').next().unwrap_or(reference);
    if d.contains("401") || d.contains("unauthorized") || d.contains("authentication required") || d.contains("no basic auth credentials") {
        return Some(format!(
            "the registry refused the credentials for {host}: log in again (`docker login {host}`), or fix \
             `auths` / the credential helper in $DOCKER_CONFIG/config.json (~/.docker/config.json)"
        ));
    }
    if d.contains("x509") || d.contains("certificate") || d.contains("tls:") {
        return Some(format!(
            "the registry's TLS certificate is not trusted by the engine: put the CA that signed it at \
             /etc/docker/certs.d/{host}/ca.crt on the engine's machine (the engine reads it at every \
             request), or use --insecure-registry for a registry you trust without TLS checks"
        ));
    }
    if d.contains("no such host") || d.contains("connection refused") || d.contains("server misbehaving") || d.contains("i/o timeout") {
        return Some(format!("nothing answers as a registry at {host}: check the host and port in the reference"));
    }
    if d.contains("http response to https client") {
        return Some(format!("{host} speaks plain HTTP: pass --insecure-registry to allow it (loopback registries are allowed by default)"));
    }
    if d.contains("eof") || d.contains("connection reset") || d.contains("broken pipe") || d.contains("closed") {
        return Some(format!(
            "the connection to {host} dropped during the transfer; nothing was tagged (a registry writes a tag \
             only with its manifest, after every layer arrived): retry, unchanged layers are not sent again"
        ));
    }
    if d.contains("not found") || d.contains("manifest unknown") || d.contains("name unknown") {
        return Some(format!("{reference} does not exist in the registry"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_cause() {
        assert!(hint("failed to authorize: 401 Unauthorized", "r:5000/a").unwrap().contains("docker login r:5000"));
        assert!(hint("x509: certificate signed by unknown authority", "r:5000/a").unwrap().contains("/etc/docker/certs.d/r:5000/ca.crt"));
        assert!(hint("dial tcp: lookup nope.invalid: no such host", "nope.invalid/a").unwrap().contains("nothing answers"));
        assert!(hint("unexpected EOF", "r/a").unwrap().contains("nothing was tagged"));
        assert_eq!(hint("something else", "r/a"), None);
    }
}
