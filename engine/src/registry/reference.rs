//! Image references as Docker users write them (`name`, `user/name:tag`,
//! `host:5000/team/name@sha256:…`), split into the registry host and the rest, with Docker's
//! normalisation (no host: Docker Hub, one path component: `library/`).

use std::fmt;
use std::net::IpAddr;

/// Docker Hub's host as references name it.
pub const DOCKER_HUB: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host, with its port when given (`127.0.0.1:5000`, `docker.io`).
    pub host: String,
    /// Repository path inside the registry (`library/alpine`, `team/model`).
    pub path: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The digest (`sha256:…`), when given.
    pub digest: Option<String>,
}

/// A reference that cannot name an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{value}`: {reason}")]
pub struct ReferenceError {
    pub value: String,
    pub reason: &'static str,
}

impl Reference {
    /// Parses `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`. The first component is a host when it has a
    /// `.` or `:` or is `localhost`, as Docker decides.
    pub fn parse(value: &str) -> Result<Reference, ReferenceError> {
        let err = |reason| ReferenceError { value: value.to_owned(), reason };
        if value.is_empty() {
            return Err(err("it is empty"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("it contains whitespace"));
        }
        let (rest, digest) = match value.split_once('@') {
            Some((r, d)) => {
                if !d.starts_with("sha256:") || d.len() != 71 || !d[7..].bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err("the digest must be sha256: and 64 hex digits"));
                }
                (r, Some(d.to_owned()))
            }
            None => (value, None),
        };
        let (host, remainder) = match rest.split_once('/') {
            Some((first, after)) if first.contains(['.', ':']) || first == "localhost" => (first.to_owned(), after),
            _ => (DOCKER_HUB.to_owned(), rest),
        };
        let (path, tag) = match remainder.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_owned())),
            _ => (remainder, None),
        };
        if path.is_empty() {
            return Err(err("the repository name is empty"));
        }
        let path_ok = path.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        });
        if !path_ok {
            return Err(err("repository names are lowercase letters, digits and `._-`, separated by `/`"));
        }
        if let Some(t) = &tag {
            let tag_ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !t.starts_with(['.', '-']);
            if !tag_ok {
                return Err(err("a tag is up to 128 letters, digits and `._-`"));
            }
        }
        let path = if host == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path.to_owned() };
        Ok(Reference { host, path, tag, digest })
    }

    /// The host without its port.
    pub fn hostname(&self) -> &str {
        host_only(&self.host)
    }

    /// Whether the registry is on this machine's loopback (where Docker allows plain HTTP).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// The same reference with a tag (`latest` when it has neither tag nor digest).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }
}

/// `host:port` -> `host` (IPv6 in brackets kept whole).
pub fn host_only(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// `localhost`, `127.x.x.x` and `[::1]` (with or without a port).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host_only(host).trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!((r.host.as_str(), r.path.as_str(), r.tag.as_deref()), ("docker.io", "library/alpine", None));
        assert_eq!(r.with_default_tag().to_string(), "docker.io/library/alpine:latest");
        let r = Reference::parse("127.0.0.1:5000/team/model:v1").unwrap();
        assert_eq!((r.host.as_str(), r.path.as_str(), r.tag.as_deref()), ("127.0.0.1:5000", "team/model", Some("v1")));
        assert!(r.is_loopback());
        assert_eq!(r.hostname(), "127.0.0.1");
        let r = Reference::parse("localhost/x").unwrap();
        assert!(r.is_loopback());
        let r = Reference::parse("user/model").unwrap();
        assert_eq!((r.host.as_str(), r.path.as_str()), ("docker.io", "user/model"));
        assert!(!Reference::parse("registry.example.com/a:b").unwrap().is_loopback());
        let d = format!("x.io/a@sha256:{}", "a".repeat(64));
        assert_eq!(Reference::parse(&d).unwrap().digest.unwrap().len(), 71);
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for bad in ["", "Upper/case", "a b", "x.io/", "x.io/a:", "x.io/a@sha256:12", "x.io//a"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
