//! Build options as users write them on the command line (`--secret`, `--output`), parsed
//! into checked values.

use std::path::PathBuf;

pub use crate::buildkit::SecretSource;

/// One `--secret id=ID,src=PATH` or `--secret id=ID,env=VAR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub id: String,
    pub source: SecretSource,
}

/// What `--output` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// A `docker load`-able tarball.
    Docker { dest: PathBuf },
    /// An OCI image layout tarball.
    Oci { dest: PathBuf },
}

/// One `--cache-to` / `--cache-from`: where the build cache goes or comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    /// The image reference holding the cache (`type=registry,ref=...`).
    pub reference: String,
    /// `mode=max` exports the cache of every intermediate step, not only the final layers'.
    pub max: bool,
    /// Other attributes passed to BuildKit as given (`image-manifest`, `oci-mediatypes`,
    /// `compression`, `ignore-error`).
    pub extra: Vec<(String, String)>,
}

/// A malformed `--secret` or `--output` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {flag} `{value}`: {reason}")]
pub struct OptionError {
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

fn fields(value: &str) -> Vec<(&str, &str)> {
    value
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| f.split_once('=').unwrap_or((f, "")))
        .collect()
}

impl SecretSpec {
    /// Parses `id=ID,src=PATH` (alias `source=`), `id=ID,env=VAR`, or `id=ID` alone
    /// (then the env var named ID, as buildx does).
    pub fn parse(value: &str) -> Result<SecretSpec, OptionError> {
        let err = |reason: &str| OptionError {
            flag: "--secret",
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let mut id = None;
        let mut source = None;
        for (key, val) in fields(value) {
            match key {
                "id" => id = Some(val.to_owned()),
                "src" | "source" => source = Some(SecretSource::File(PathBuf::from(val))),
                "env" => source = Some(SecretSource::Env(val.to_owned())),
                "type" if val == "file" || val == "env" => {}
                other => return Err(err(&format!("unknown field `{other}` (expected id, src or env)"))),
            }
        }
        let id = id.filter(|i| !i.is_empty()).ok_or_else(|| err("missing `id=`"))?;
        if id.contains(|c: char| c.is_whitespace() || c == '/' || c == ':') {
            return Err(err("the id may not contain whitespace, `/` or `:`"));
        }
        let source = source.unwrap_or_else(|| SecretSource::Env(id.clone()));
        match &source {
            SecretSource::File(p) if p.as_os_str().is_empty() => return Err(err("empty `src=`")),
            SecretSource::Env(v) if v.is_empty() => return Err(err("empty `env=`")),
            _ => {}
        }
        Ok(SecretSpec { id, source })
    }
}

impl OutputSpec {
    /// Parses `type=docker,dest=FILE` or `type=oci,dest=FILE`.
    pub fn parse(value: &str) -> Result<OutputSpec, OptionError> {
        let err = |reason: &str| OptionError {
            flag: "--output",
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let mut kind = None;
        let mut dest = None;
        for (key, val) in fields(value) {
            match key {
                "type" => kind = Some(val),
                "dest" => dest = Some(PathBuf::from(val)),
                other => return Err(err(&format!("unknown field `{other}` (expected type and dest)"))),
            }
        }
        let dest = dest
            .filter(|d| !d.as_os_str().is_empty())
            .ok_or_else(|| err("missing `dest=FILE`"))?;
        match kind {
            Some("docker") => Ok(OutputSpec::Docker { dest }),
            Some("oci") => Ok(OutputSpec::Oci { dest }),
            Some(other) => Err(err(&format!("unsupported type `{other}` (expected docker or oci)"))),
            None => Err(err("missing `type=docker|oci`")),
        }
    }
}

impl CacheSpec {
    /// Parses `type=registry,ref=REF[,mode=min|max][,KEY=VALUE...]`, or a bare `REF`
    /// (`type=registry` implied), for `flag` (`--cache-to` or `--cache-from`).
    pub fn parse_for(flag: &'static str, value: &str) -> Result<CacheSpec, OptionError> {
        let err = |reason: String| OptionError { flag, value: value.to_owned(), reason };
        let mut reference = None;
        let mut max = false;
        let mut extra = Vec::new();
        if !value.contains('=') {
            reference = Some(value.to_owned());
        } else {
            for (key, val) in fields(value) {
                match key {
                    "type" if val == "registry" => {}
                    "type" => {
                        return Err(err(format!("unsupported type `{val}` (cogpack shares the build cache through a registry: type=registry)")))
                    }
                    "ref" => reference = Some(val.to_owned()),
                    "mode" if flag == "--cache-to" => match val {
                        "max" => max = true,
                        "min" => max = false,
                        other => return Err(err(format!("mode must be min or max, not `{other}`"))),
                    },
                    "image-manifest" | "oci-mediatypes" | "compression" | "compression-level" | "force-compression"
                    | "ignore-error"
                        if flag == "--cache-to" =>
                    {
                        extra.push((key.to_owned(), val.to_owned()))
                    }
                    other => {
                        let known = if flag == "--cache-to" { "type, ref, mode, image-manifest, oci-mediatypes, compression, ignore-error" } else { "type and ref" };
                        return Err(err(format!("unknown field `{other}` (expected {known})")));
                    }
                }
            }
        }
        let reference = reference.filter(|r| !r.is_empty()).ok_or_else(|| err("missing `ref=IMAGE`".into()))?;
        crate::registry::Reference::parse(&reference).map_err(|e| err(format!("`ref`: {}", e.reason)))?;
        Ok(CacheSpec { reference, max, extra })
    }

    pub fn parse_to(value: &str) -> Result<CacheSpec, OptionError> {
        Self::parse_for("--cache-to", value)
    }

    pub fn parse_from(value: &str) -> Result<CacheSpec, OptionError> {
        Self::parse_for("--cache-from", value)
    }

    /// The BuildKit cache exporter/importer entry; `insecure` allows plain HTTP to the registry.
    pub fn entry(&self, insecure: bool) -> crate::buildkit::CacheEntry {
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("ref".to_owned(), self.reference.clone());
        if self.max {
            attrs.insert("mode".to_owned(), "max".to_owned());
        }
        for (k, v) in &self.extra {
            attrs.insert(k.clone(), v.clone());
        }
        if insecure {
            attrs.insert("registry.insecure".to_owned(), "true".to_owned());
        }
        crate::buildkit::CacheEntry { kind: "registry".to_owned(), attrs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert_eq!(
            SecretSpec::parse("id=hf,src=/tmp/token").unwrap(),
            SecretSpec { id: "hf".into(), source: SecretSource::File("/tmp/token".into()) }
        );
        assert_eq!(
            SecretSpec::parse("id=hf,env=HF_TOKEN").unwrap().source,
            SecretSource::Env("HF_TOKEN".into())
        );
        assert_eq!(SecretSpec::parse("id=TOKEN").unwrap().source, SecretSource::Env("TOKEN".into()));
        assert_eq!(
            SecretSpec::parse("src=/x").unwrap_err().to_string(),
            "invalid --secret `src=/x`: missing `id=`"
        );
        assert!(SecretSpec::parse("id=a,color=red").unwrap_err().reason.contains("unknown field `color`"));
    }

    #[test]
    fn outputs() {
        assert_eq!(
            OutputSpec::parse("type=oci,dest=out.tar").unwrap(),
            OutputSpec::Oci { dest: "out.tar".into() }
        );
        assert_eq!(
            OutputSpec::parse("type=docker,dest=/tmp/i.tar").unwrap(),
            OutputSpec::Docker { dest: "/tmp/i.tar".into() }
        );
        assert!(OutputSpec::parse("type=registry,dest=x").unwrap_err().reason.contains("unsupported type"));
        assert!(OutputSpec::parse("type=oci").unwrap_err().reason.contains("missing `dest=FILE`"));
    }

    #[test]
    fn caches() {
        let c = CacheSpec::parse_to("type=registry,ref=127.0.0.1:5000/cache:p,mode=max").unwrap();
        assert_eq!((c.reference.as_str(), c.max), ("127.0.0.1:5000/cache:p", true));
        let e = c.entry(true);
        assert_eq!(e.kind, "registry");
        assert_eq!(e.attrs.get("mode").map(String::as_str), Some("max"));
        assert_eq!(e.attrs.get("registry.insecure").map(String::as_str), Some("true"));
        assert_eq!(CacheSpec::parse_from("reg.example/cache:x").unwrap().reference, "reg.example/cache:x");
        assert!(CacheSpec::parse_from("type=registry,ref=x,mode=max").unwrap_err().reason.contains("unknown field `mode`"));
        assert!(CacheSpec::parse_to("type=local,dest=/tmp").unwrap_err().reason.contains("unsupported type `local`"));
        assert!(CacheSpec::parse_to("type=registry").unwrap_err().reason.contains("missing `ref=IMAGE`"));
        assert!(CacheSpec::parse_to("type=registry,ref=UP/x").unwrap_err().reason.contains("`ref`"));
        assert!(CacheSpec::parse_to("type=registry,ref=r/x,mode=all").unwrap_err().reason.contains("min or max"));
    }
}
