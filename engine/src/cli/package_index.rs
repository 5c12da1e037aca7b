//! `--index-url` and `--framework-index`: the package indexes a build installs Python
//! packages from, with the usual environment variables as fallbacks. Checked here, before
//! any planning: a malformed address or one carrying credentials is refused by name.

use crate::resolve::{PackageIndexes, Pin, Source};

/// Frameworks whose index can be set on its own.
pub const FRAMEWORKS: [&str; 2] = ["torch", "tensorflow"];

/// Environment variables read, in order, when `--index-url` is not given.
const DEFAULT_ENV: [&str; 3] = ["UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"];

/// Package index flags, shared by every command that plans.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IndexArgs {
    /// Package index used instead of PyPI by every Python install step (a mirror, say).
    /// Without it: UV_DEFAULT_INDEX, UV_INDEX_URL, then PIP_INDEX_URL. Index lines in the
    /// requirements file still apply. Credentials do not belong in the address: use a
    /// netrc secret (`--secret`).
    #[arg(long = "index-url", value_name = "URL", global = true)]
    pub index_url: Option<String>,
    /// Where one framework comes from, `NAME=URL` (torch, tensorflow), e.g.
    /// `torch=https://pypi.org/simple` where pytorch.org is unreachable (PyPI's Linux torch
    /// wheels are CUDA builds). Repeatable. Also COGPACK_TORCH_INDEX_URL,
    /// COGPACK_TENSORFLOW_INDEX_URL.
    #[arg(long = "framework-index", value_name = "NAME=URL", global = true)]
    pub framework_index: Vec<String>,
}

impl IndexArgs {
    /// The indexes from the flags, else the environment; an error names the flag or variable.
    pub fn indexes(&self) -> Result<PackageIndexes, String> {
        self.indexes_with(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    fn indexes_with(&self, env: impl Fn(&str) -> Option<String>) -> Result<PackageIndexes, String> {
        let mut out = PackageIndexes::default();
        out.default = match &self.index_url {
            Some(url) => Some(pin(url, "--index-url")?),
            None => DEFAULT_ENV
                .iter()
                .find_map(|k| env(k).map(|v| (k, v)))
                .map(|(k, v)| pin(&v, &format!("env {k}")))
                .transpose()?,
        };
        for name in FRAMEWORKS {
            let key = format!("COGPACK_{}_INDEX_URL", name.to_uppercase());
            if let Some(v) = env(&key) {
                out.frameworks.insert(name.to_string(), pin(&v, &format!("env {key}"))?);
            }
        }
        for spec in &self.framework_index {
            let Some((name, url)) = spec.split_once('=') else {
                return Err(format!("--framework-index `{spec}`: expected NAME=URL, e.g. torch=https://pypi.org/simple"));
            };
            if !FRAMEWORKS.contains(&name) {
                return Err(format!(
                    "--framework-index `{spec}`: `{name}` is not a framework whose index can be set (known: {})",
                    FRAMEWORKS.join(", ")
                ));
            }
            out.frameworks.insert(name.to_string(), pin(url, &format!("--framework-index {name}"))?);
        }
        Ok(out)
    }
}

/// An index address as a pin: http(s), a host, no credentials, no whitespace.
fn pin(url: &str, from: &str) -> Result<Pin, String> {
    let url = url.trim();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(format!("{from}: `{url}` is not an http:// or https:// address"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "{from}: the index address carries credentials; they would be written into the plan and the build's steps\n  help: give the address without them and the credentials as a secret (a netrc file: --secret id=netrc,src=FILE)"
        ));
    }
    if authority.is_empty() || url.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
        return Err(format!("{from}: `{url}` is not a valid index address"));
    }
    Ok(Pin { value: url.trim_end_matches('/').to_string(), source: Source::Setting { name: from.to_string() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(index: Option<&str>, fw: &[&str]) -> IndexArgs {
        IndexArgs { index_url: index.map(str::to_string), framework_index: fw.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn flags_win_over_the_environment_and_keep_their_source() {
        let env = |k: &str| (k == "PIP_INDEX_URL").then(|| "https://env.example/simple".to_string());
        let got = args(Some("https://mirror.example/simple/"), &["torch=https://pypi.org/simple"]).indexes_with(env).unwrap();
        let d = got.default.unwrap();
        assert_eq!(d.value, "https://mirror.example/simple");
        assert_eq!(d.source, Source::Setting { name: "--index-url".into() });
        assert_eq!(got.frameworks["torch"].value, "https://pypi.org/simple");
        let from_env = args(None, &[]).indexes_with(env).unwrap().default.unwrap();
        assert_eq!(from_env.source, Source::Setting { name: "env PIP_INDEX_URL".into() });
    }

    #[test]
    fn bad_addresses_are_refused_by_name_and_credentials_never_echoed() {
        let none = |_: &str| None;
        let e = args(Some("https://user:s3cret@mirror.example/simple"), &[]).indexes_with(none).unwrap_err();
        assert!(e.contains("--index-url") && e.contains("credentials") && !e.contains("s3cret"), "{e}");
        let e = args(None, &["jax=https://x.example"]).indexes_with(none).unwrap_err();
        assert!(e.contains("`jax`") && e.contains("torch, tensorflow"), "{e}");
        let e = args(None, &["torch"]).indexes_with(none).unwrap_err();
        assert!(e.contains("NAME=URL"), "{e}");
        let e = args(Some("ftp://x"), &[]).indexes_with(none).unwrap_err();
        assert!(e.contains("not an http"), "{e}");
    }
}
