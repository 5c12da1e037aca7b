//! Image reference normalisation, as `docker pull` understands names.
//!
//! BuildKit's `docker-image://` identifiers must be fully qualified: a registry domain, a
//! repository path (`library/` for official Docker Hub images) and a tag or digest.
//! `cogpack/base:py3.11-bookworm` becomes `docker.io/cogpack/base:py3.11-bookworm`,
//! `python:3.11-slim` becomes `docker.io/library/python:3.11-slim`, and `busybox` becomes
//! `docker.io/library/busybox:latest`.

use super::LlbError;

/// The fully qualified form of an image reference, or why it is not one.
pub fn normalize_image_ref(reference: &str) -> Result<String, LlbError> {
    let bad = |why: &str| LlbError::ImageReference {
        reference: reference.to_string(),
        why: why.to_string(),
    };
    let input = reference.trim();
    if input.is_empty() {
        return Err(bad("it is empty"));
    }
    if input.contains(char::is_whitespace) {
        return Err(bad("it contains whitespace"));
    }
    let input = input.strip_prefix("docker-image://").unwrap_or(input);

    let (name_and_tag, digest) = match input.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (input, None),
    };
    // A tag follows the last `:` that comes after the last `/` (a `:` before it is a port).
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_and_tag[..last_slash + i],
            Some(&name_and_tag[last_slash + i + 1..]),
        ),
        None => (name_and_tag, None),
    };

    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest.to_string())
        }
        _ => ("docker.io", name.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };

    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(bad(&format!("`{domain}` is not a registry host")));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(bad("the repository path has an empty component"));
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("repository names must be lowercase"));
        }
        let ok_chars = component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        let ok_ends = component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok_chars || !ok_ends {
            return Err(bad(&format!(
                "`{component}` is not a valid repository path component"
            )));
        }
    }
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(bad(&format!("`{tag}` is not a valid tag")));
        }
    }
    if let Some(digest) = digest {
        let ok = digest.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty()
                && algo.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, '+' | '.' | '_' | '-')
                })
                && hex.len() >= 32
                && hex
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '=' | '_' | '-'))
        });
        if !ok {
            return Err(bad(&format!("`{digest}` is not a valid digest")));
        }
    }

    let mut out = format!("{domain}/{path}");
    match (tag, digest) {
        (None, None) => out.push_str(":latest"),
        (Some(tag), _) => {
            out.push(':');
            out.push_str(tag);
        }
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
    Ok(out)
}
