//! What a base image is made of: a Debian suite and a package list.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ImagesError;

/// Name of the Python 3.11 base image (Debian 12 bookworm).
pub const PY311_BOOKWORM: &str = "cogpack/base:py3.11-bookworm";
/// Name of the Python 3.13 base image (Debian 13 trixie).
pub const PY313_TRIXIE: &str = "cogpack/base:py3.13-trixie";

/// The Debian mirror used when a recipe names none.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The suites debootstrap is known to build here.
pub const SUITES: &[&str] = &["bookworm", "trixie"];

/// How to make one base image: `debootstrap --variant=minbase --include=<packages> <suite>`
/// from `mirror`, with `env` in the image config. A plain struct so the compat tables can
/// supply recipes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImageRecipe {
    /// Image reference it is tagged with, e.g. `cogpack/base:py3.11-bookworm`.
    pub name: String,
    /// Debian suite: `bookworm` or `trixie`.
    pub suite: String,
    /// Packages added to the minbase variant.
    pub packages: Vec<String>,
    /// Debian mirror URL (`http://…`, `file:///…` for a local mirror); default [`DEFAULT_MIRROR`].
    /// Pin a date with `http://snapshot.debian.org/archive/debian/<YYYYMMDDTHHMMSSZ>`.
    pub mirror: Option<String>,
    /// Environment variables of the image (PATH is always set; a PATH here replaces it).
    pub env: Vec<(String, String)>,
}

impl BaseImageRecipe {
    /// The mirror debootstrap downloads from.
    pub fn mirror_url(&self) -> &str {
        self.mirror.as_deref().unwrap_or(DEFAULT_MIRROR)
    }

    /// sha256 of the recipe's canonical JSON: recorded as a label, so an image built from an
    /// older recipe is recognised as stale.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("recipe serialises");
        format!("sha256:{}", hex::encode(Sha256::digest(&json)))
    }

    /// Checks the fields debootstrap and Docker will read.
    pub fn validate(&self) -> Result<(), ImagesError> {
        let invalid = |field: &'static str, reason: String| ImagesError::InvalidRecipe {
            name: self.name.clone(),
            field,
            reason,
        };
        let (repo, tag) = self
            .name
            .rsplit_once(':')
            .filter(|(r, t)| !r.is_empty() && !t.is_empty() && !t.contains('/'))
            .ok_or_else(|| invalid("name", "expected `repository:tag`".into()))?;
        let repo_ok = repo
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c));
        let tag_ok = tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !repo_ok || !tag_ok {
            return Err(invalid(
                "name",
                "not a valid Docker reference (lowercase repository, tag of [A-Za-z0-9._-])".into(),
            ));
        }
        if !SUITES.contains(&self.suite.as_str()) {
            return Err(invalid(
                "suite",
                format!(
                    "unknown suite `{}`; expected one of: {}",
                    self.suite,
                    SUITES.join(", ")
                ),
            ));
        }
        for p in &self.packages {
            let ok = !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
            if !ok {
                return Err(invalid(
                    "packages",
                    format!("`{p}` is not a Debian package name"),
                ));
            }
        }
        let m = self.mirror_url();
        if !(m.starts_with("http://") || m.starts_with("https://") || m.starts_with("file:///")) {
            return Err(invalid(
                "mirror",
                format!("`{m}` is not an http(s):// or file:/// URL"),
            ));
        }
        for (k, _) in &self.env {
            if k.is_empty() || k.contains('=') {
                return Err(invalid("env", format!("`{k}` is not a variable name")));
            }
        }
        Ok(())
    }
}

/// The base images cogpack can build locally: the `origin = "local"` rows of the compat
/// table `compat/base-images.toml` (one source of truth for the resolver and the builder).
pub fn builtin_recipes() -> Vec<BaseImageRecipe> {
    crate::compat::CompatTables::builtin()
        .base_images()
        .iter()
        .filter(|row| row.origin == crate::compat::Origin::Local)
        .map(recipe_for)
        .collect()
}

/// The recipe that builds a local base-image row of the compat table.
pub fn recipe_for(row: &crate::compat::BaseImage) -> BaseImageRecipe {
    BaseImageRecipe {
        name: row.name.clone(),
        suite: row.suite.clone(),
        packages: row.packages.clone(),
        mirror: None,
        env: vec![("LANG".to_owned(), "C.UTF-8".to_owned())],
    }
}

/// A built-in recipe by image name.
pub fn builtin_recipe(name: &str) -> Result<BaseImageRecipe, ImagesError> {
    let all = builtin_recipes();
    if let Some(r) = all.iter().find(|r| r.name == name) {
        return Ok(r.clone());
    }
    // Accept the tag alone (`py3.11-bookworm`) as a shorthand.
    if let Some(r) = all
        .iter()
        .find(|r| r.name.rsplit_once(':').map(|(_, t)| t) == Some(name))
    {
        return Ok(r.clone());
    }
    Err(ImagesError::UnknownRecipe {
        name: name.to_owned(),
        known: all.into_iter().map(|r| r.name).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_recipes_are_valid_and_found_by_tag() {
        for r in builtin_recipes() {
            r.validate().unwrap();
        }
        assert_eq!(builtin_recipe("py3.13-trixie").unwrap().suite, "trixie");
        let err = builtin_recipe("cogpack/base:py3.12")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cogpack/base:py3.11-bookworm"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let mut r = builtin_recipe(PY311_BOOKWORM).unwrap();
        r.suite = "buster".into();
        assert!(r.validate().unwrap_err().to_string().contains("suite"));
        let mut r = builtin_recipe(PY311_BOOKWORM).unwrap();
        r.packages.push("python3,evil".into());
        assert!(r.validate().unwrap_err().to_string().contains("packages"));
        let mut r = builtin_recipe(PY311_BOOKWORM).unwrap();
        r.name = "Cogpack/Base".into();
        assert!(r.validate().unwrap_err().to_string().contains("name"));
    }

    #[test]
    fn digest_changes_with_the_recipe() {
        let a = builtin_recipe(PY311_BOOKWORM).unwrap();
        let mut b = a.clone();
        b.packages.push("git".into());
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), a.clone().digest());
    }
}
