//! Registry credentials from where Docker users keep them: `$DOCKER_CONFIG/config.json` (or
//! `~/.docker/config.json`), its `auths` entries (base64 `user:password`, or an identity
//! token), and credential helpers (`credHelpers` per registry, `credsStore` for all) run as
//! `docker-credential-NAME get`.
//!
//! Values are looked up when a registry asks (the session's Auth service, a pull), never kept
//! longer than one answer, and never part of an error message: errors name the file, the
//! `auths` key or the helper, not the value.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

/// Docker Hub's key in `config.json` (the hosts `docker.io`, `index.docker.io` and
/// `registry-1.docker.io` all use it).
pub const HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// What a registry gets for a host. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// Empty with an identity token.
    pub username: String,
    /// The password or identity token.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("secret", &"<redacted>").finish()
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{col}: not a Docker config file: {message}\nhelp: fix the JSON, or point DOCKER_CONFIG at another directory", path.display())]
    Parse { path: PathBuf, line: usize, col: usize, message: String },
    #[error("{}: `auths.{key}.auth` is not base64 of `user:password`\nhelp: log in again (`docker login {key}`) or fix the entry", path.display())]
    BadAuth { path: PathBuf, key: String },
    #[error("credential helper `docker-credential-{helper}` for {host} failed: {detail}\nhelp: check that docker-credential-{helper} is installed and on PATH, or remove it from {}", path.display())]
    Helper { helper: String, host: String, detail: String, path: PathBuf },
}

#[derive(Debug, Default, serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

/// Docker's client configuration: where credentials for each registry come from.
#[derive(Debug, Default)]
pub struct DockerConfig {
    /// The file read (`None`: there was none, every registry is anonymous).
    pub path: Option<PathBuf>,
    file: ConfigFile,
}

impl DockerConfig {
    /// The config file Docker's CLI would read: `$DOCKER_CONFIG/config.json`, else
    /// `$HOME/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
            Some(dir) => Some(PathBuf::from(dir).join("config.json")),
            None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json")),
        }
    }

    /// Reads the default config; a missing file means no credentials.
    pub fn load() -> Result<DockerConfig, CredentialsError> {
        match Self::default_path() {
            Some(path) => Self::load_from(&path),
            None => Ok(DockerConfig::default()),
        }
    }

    /// Reads `path`; a missing file means no credentials.
    pub fn load_from(path: &Path) -> Result<DockerConfig, CredentialsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DockerConfig::default()),
            Err(source) => return Err(CredentialsError::Read { path: path.to_owned(), source }),
        };
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| CredentialsError::Parse {
            path: path.to_owned(),
            line: e.line(),
            col: e.column(),
            // serde_json's messages name types and fields, never the input's values.
            message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        })?;
        Ok(DockerConfig { path: Some(path.to_owned()), file })
    }

    /// The credentials for a registry host (`127.0.0.1:5000`, `registry-1.docker.io`), or
    /// `None` for anonymous access.
    pub fn credentials(&self, host: &str) -> Result<Option<Credentials>, CredentialsError> {
        let key = config_key(host);
        let path = self.path.clone().unwrap_or_default();
        let helper = self.file.cred_helpers.get(&key).or_else(|| self.file.cred_helpers.get(host)).or(self.file.creds_store.as_ref());
        if let Some(helper) = helper.filter(|h| !h.is_empty()) {
            if let Some(found) = run_helper(helper, &key, &path)? {
                return Ok(Some(found));
            }
        }
        let entry = self.file.auths.get(&key).or_else(|| {
            let want = hostname_of(&key);
            self.file.auths.iter().find(|(k, _)| hostname_of(k) == want).map(|(_, v)| v)
        });
        let Some(entry) = entry else { return Ok(None) };
        let entry_key = self.file.auths.iter().find(|(_, v)| std::ptr::eq(*v, entry)).map(|(k, _)| k.clone()).unwrap_or(key);
        if let Some(token) = entry.identity_token.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials { username: String::new(), secret: token.clone() }));
        }
        if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
            let bad = || CredentialsError::BadAuth { path: path.clone(), key: entry_key.clone() };
            let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (user, secret) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credentials { username: user.to_owned(), secret: secret.to_owned() }));
        }
        match (&entry.username, &entry.password) {
            (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials { username: u.clone(), secret: p.clone() })),
            _ => Ok(None),
        }
    }
}

/// The `config.json` key Docker uses for a host.
pub fn config_key(host: &str) -> String {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => HUB_CONFIG_KEY.to_owned(),
        other => other.to_owned(),
    }
}

/// `https://host:port/v1/` -> `host:port`, as Docker compares `auths` keys.
fn hostname_of(key: &str) -> &str {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-HELPER get` with the server address on stdin.
fn run_helper(helper: &str, key: &str, path: &Path) -> Result<Option<Credentials>, CredentialsError> {
    let fail = |detail: String| CredentialsError::Helper {
        helper: helper.to_owned(),
        host: key.to_owned(),
        detail,
        path: path.to_owned(),
    };
    if !helper.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(fail("the helper name may only hold letters, digits and `-_.`".into()));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(key.as_bytes()).map_err(|e| fail(format!("writing to {program}: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(format!("waiting for {program}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // Helpers say "credentials not found in native keychain" on stdout for unknown hosts.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let why = String::from_utf8_lossy(&out.stderr).trim().lines().next().unwrap_or_default().to_owned();
        return Err(fail(format!("{program} get exited with {}{}", out.status, if why.is_empty() { String::new() } else { format!(": {why}") })));
    }
    let answer: HelperAnswer = serde_json::from_str(stdout.trim())
        .map_err(|_| fail(format!("{program} get did not answer with {{\"Username\", \"Secret\"}} JSON")))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    if answer.username == "<token>" {
        return Ok(Some(Credentials { username: String::new(), secret: answer.secret }));
    }
    Ok(Some(Credentials { username: answer.username, secret: answer.secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        let cfg = DockerConfig::load_from(&path).unwrap();
        (dir, cfg)
    }

    #[test]
    fn reads_auths_by_host_and_by_url_key() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:pw-1");
        let (_d, cfg) = config(&format!(
            r#"{{"auths": {{"https://reg.example:5000/v1/": {{"auth": "{auth}"}},
                 "https://index.docker.io/v1/": {{"identitytoken": "tok"}}}}}}"#
        ));
        let c = cfg.credentials("reg.example:5000").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("alice", "pw-1"));
        let hub = cfg.credentials("registry-1.docker.io").unwrap().unwrap();
        assert_eq!((hub.username.as_str(), hub.secret.as_str()), ("", "tok"));
        assert!(cfg.credentials("other:1").unwrap().is_none());
        assert!(!format!("{c:?}").contains("pw-1"));
    }

    #[test]
    fn errors_name_the_key_never_the_value() {
        let (_d, cfg) = config(r#"{"auths": {"r:1": {"auth": "not-base64-s3cr3t!"}}}"#);
        let err = cfg.credentials("r:1").unwrap_err().to_string();
        assert!(err.contains("auths.r:1.auth"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\"auths\": {\"r\": {\"auth\": 7}}}").unwrap();
        let err = DockerConfig::load_from(&path).unwrap_err().to_string();
        assert!(err.contains("config.json:1:"), "{err}");
    }

    #[test]
    fn missing_file_is_anonymous_and_missing_helper_is_an_error() {
        let cfg = DockerConfig::load_from(Path::new("/nonexistent/config.json")).unwrap();
        assert!(cfg.credentials("x:1").unwrap().is_none());
        let (_d, cfg) = config(r#"{"credHelpers": {"r:1": "cogpack-test-absent"}}"#);
        let err = cfg.credentials("r:1").unwrap_err().to_string();
        assert!(err.contains("docker-credential-cogpack-test-absent"), "{err}");
        assert!(cfg.credentials("other:2").unwrap().is_none());
    }
}
