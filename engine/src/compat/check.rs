//! Raw rows -> checked tables. Every problem is collected with its file:line:col, so a
//! maintainer sees all bad rows of a file at once.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;

use super::raw;
use super::tables::*;
use super::Problem;
use crate::diagnostics::SourceFile;
use crate::resolve::version::Version;

/// One file being checked: its label, text, and the problems found so far.
pub(crate) struct Checker<'a> {
    label: &'a str,
    /// The file's text and line index: every row is located (`at`), by a binary search of
    /// the index rather than by counting the newlines before it.
    source: std::sync::Arc<SourceFile>,
    pub problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub fn new(label: &'a str, text: &'a str) -> Self {
        Self {
            label,
            source: SourceFile::new(label, text),
            problems: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let at = self.source.line_col(offset);
        (at.line as u32, at.col as u32)
    }

    /// Parses the whole file into its raw type; a TOML or schema error becomes one problem.
    pub fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(self.source.text()) {
            Ok(v) => Some(v),
            Err(e) => {
                let (line, col) = e
                    .span()
                    .map(|s| self.line_col(s.start))
                    .unwrap_or((1, 1));
                let message = e.message().trim().to_string();
                let help = if message.contains("unknown field") {
                    Some("see docs/compat-data.md for the fields each table takes".to_string())
                } else {
                    None
                };
                self.problems.push(Problem {
                    file: self.label.to_string(),
                    line,
                    col,
                    message,
                    help,
                });
                None
            }
        }
    }

    fn at(&self, span: Range<usize>) -> TableRef {
        TableRef {
            file: self.label.to_string(),
            line: self.line_col(span.start).0,
        }
    }

    fn problem(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<&str>) {
        let (line, col) = self.line_col(span.start);
        self.problems.push(Problem {
            file: self.label.to_string(),
            line,
            col,
            message: message.into(),
            help: help.map(str::to_string),
        });
    }

    fn version(&mut self, field: &str, value: &Spanned<String>) -> Option<Version> {
        match Version::parse(value.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(value.span(), format!("`{field}`: {e}"), None);
                None
            }
        }
    }

    /// A version with exactly `major.minor` and nothing else.
    fn major_minor(&mut self, field: &str, value: &Spanned<String>) -> Option<Version> {
        let v = self.version(field, value)?;
        if v.release().len() != 2 || v.local().is_some() || v.is_prerelease() {
            self.problem(
                value.span(),
                format!("`{field}` must be `major.minor`, got `{}`", value.get_ref()),
                None,
            );
            return None;
        }
        Some(v)
    }

    fn major_only(&mut self, field: &str, value: &Spanned<String>) -> Option<Version> {
        let v = self.version(field, value)?;
        if v.release().len() != 1 || v.local().is_some() {
            self.problem(
                value.span(),
                format!(
                    "`{field}` must be a major version, got `{}`",
                    value.get_ref()
                ),
                None,
            );
            return None;
        }
        Some(v)
    }

    fn plain_version(&mut self, field: &str, value: &Spanned<String>) -> Option<Version> {
        let v = self.version(field, value)?;
        if v.local().is_some() {
            self.problem(
                value.span(),
                format!(
                    "`{field}` must not carry a local label (`+...`): `{}`",
                    value.get_ref()
                ),
                Some("variants are listed in `variants`"),
            );
            return None;
        }
        Some(v)
    }

    fn pythons(&mut self, value: &Spanned<Vec<String>>) -> Option<Vec<Version>> {
        if value.get_ref().is_empty() {
            self.problem(
                value.span(),
                "`pythons` must list at least one Python",
                None,
            );
            return None;
        }
        let mut out = Vec::new();
        for p in value.get_ref() {
            match Version::parse(p) {
                Ok(v) if v.release().len() == 2 => out.push(v),
                _ => {
                    self.problem(
                        value.span(),
                        format!("`pythons`: `{p}` is not a `major.minor` version"),
                        None,
                    );
                    return None;
                }
            }
        }
        out.sort();
        Some(out)
    }

    fn citation(&mut self, source: &Spanned<String>, checked: &Spanned<String>) -> Citation {
        if !source.get_ref().starts_with("https://") {
            self.problem(
                source.span(),
                "`source` must start with the https:// address of the page the facts come from",
                None,
            );
        }
        let date = checked.get_ref();
        let ok = date.len() == 10
            && date.chars().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if !ok {
            self.problem(
                checked.span(),
                format!("`checked` must be a date `YYYY-MM-DD`, got `{date}`"),
                None,
            );
        }
        Citation {
            source: source.get_ref().clone(),
            checked: date.clone(),
        }
    }

    /// `name==version` or `name[extra,...]==version`; returns the version.
    fn wheel_pin(&mut self, span: Range<usize>, pin: &str) -> Option<Version> {
        let parsed = pin.split_once("==").and_then(|(name, version)| {
            let bare = name.split_once('[').map_or(name, |(n, rest)| if rest.ends_with(']') { n } else { "" });
            let ok = !bare.is_empty() && bare.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            ok.then(|| Version::parse(version).ok()).flatten()
        });
        if parsed.is_none() {
            self.problem(span, format!("`wheels`: `{pin}` is not an exact pin `name==version`"), None);
        }
        parsed
    }

    /// `[torch.pypi]`, `[tensorflow.pypi]`: the CUDA a framework's PyPI wheels bring.
    fn framework_wheels(&mut self, row: &Spanned<raw::FrameworkWheels>) -> Option<WheelCuda> {
        let at = self.at(row.span());
        let r = row.get_ref();
        let cite = self.citation(&r.source, &r.checked);
        let cuda = self.major_minor("pypi.cuda", &r.cuda);
        let cudnn = self.major_minor("pypi.cudnn", &r.cudnn);
        let mut wheels = Vec::new();
        for w in r.wheels.get_ref() {
            self.wheel_pin(r.wheels.span(), w)?;
            wheels.push(w.clone());
        }
        if wheels.is_empty() {
            self.problem(r.wheels.span(), "`wheels` must list the CUDA library wheels", None);
            return None;
        }
        wheels.sort();
        Some(WheelCuda {
            extra: r.extra.as_ref().map(|e| e.get_ref().clone()),
            cuda: cuda?,
            cudnn: cudnn?,
            wheels,
            at,
            cite,
        })
    }

    /// `[cuda.pypi]`: a CUDA release's libraries as wheels, and a cuDNN pin per major.
    fn library_wheels(&mut self, row: &Spanned<raw::CudaLibraryWheels>) -> Option<CudaLibraries> {
        let at = self.at(row.span());
        let r = row.get_ref();
        let cite = self.citation(&r.source, &r.checked);
        let mut wheels = Vec::new();
        for w in r.wheels.get_ref() {
            self.wheel_pin(r.wheels.span(), w)?;
            wheels.push(w.clone());
        }
        wheels.sort();
        let mut cudnn = BTreeMap::new();
        for (major, pin) in r.cudnn.get_ref() {
            let version = self.wheel_pin(r.cudnn.span(), pin)?;
            let release = version.release();
            if major.parse::<u64>().ok() != release.first().copied() || release.len() < 2 {
                self.problem(r.cudnn.span(), format!("`cudnn`: `{pin}` is not a cuDNN {major} wheel"), None);
                return None;
            }
            let mm = Version::parse(&format!("{}.{}", release[0], release[1])).ok()?;
            cudnn.insert(release[0], (mm, pin.clone()));
        }
        if wheels.is_empty() {
            self.problem(r.wheels.span(), "`wheels` must list the CUDA library wheels", None);
            return None;
        }
        Some(CudaLibraries { wheels, cudnn, at, cite })
    }
}

pub(crate) fn python(c: &mut Checker<'_>) -> Vec<PythonRow> {
    let Some(file) = c.parse::<raw::PythonFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.python {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let Some(version) = c.major_minor("version", &r.version) else {
            continue;
        };
        if let Some(first) = seen.insert(version.to_string(), at.line) {
            c.problem(
                r.version.span(),
                format!("Python {version} is listed twice (first at line {first})"),
                None,
            );
            continue;
        }
        rows.push(PythonRow {
            version,
            default: r.default,
            at,
            cite,
        });
    }
    let defaults = rows.iter().filter(|r| r.default).count();
    if defaults != 1 && c.problems.is_empty() {
        let line_span = file.python.first().map_or(0..0, |r| r.span());
        c.problem(
            line_span,
            format!("exactly one `[[python]]` row must say `default = true`, found {defaults}"),
            None,
        );
    }
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    rows
}

pub(crate) fn cuda(c: &mut Checker<'_>) -> Vec<CudaRow> {
    let Some(file) = c.parse::<raw::CudaFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.cuda {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let version = c.major_minor("version", &r.version);
        let release = c.version("release", &r.release);
        let cudnn = c.major_only("cudnn", &r.cudnn);
        let ubuntu = r.ubuntu.get_ref().clone();
        if ubuntu.is_empty()
            || ubuntu
                .iter()
                .any(|u| Version::parse(u).map_or(true, |v| v.release().len() != 2))
        {
            c.problem(
                r.ubuntu.span(),
                "`ubuntu` must list releases like \"22.04\"",
                None,
            );
            continue;
        }
        let (Some(version), Some(release), Some(cudnn)) = (version, release, cudnn) else {
            continue;
        };
        if release.release().len() != 3 || !release.cog_matches(&version) {
            c.problem(
                r.release.span(),
                format!(
                    "`release` must be a patch release of CUDA {version}, like \"{version}.0\""
                ),
                None,
            );
            continue;
        }
        if let Some(first) = seen.insert(version.to_string(), at.line) {
            c.problem(
                r.version.span(),
                format!("CUDA {version} is listed twice (first at line {first})"),
                None,
            );
            continue;
        }
        let pypi = match &r.pypi {
            Some(p) => match c.library_wheels(p) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        rows.push(CudaRow {
            version,
            release,
            cudnn,
            ubuntu,
            pypi,
            at,
            cite,
        });
    }
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    rows
}

/// `cu118` -> 11.8, `cu126` -> 12.6, `cu130` -> 13.0.
pub(crate) fn cuda_of_label(label: &str) -> Option<Version> {
    let digits = label.strip_prefix("cu")?;
    if digits.len() < 3 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (major, minor) = digits.split_at(digits.len() - 1);
    Version::parse(&format!("{}.{}", major.trim_start_matches('0'), minor)).ok()
}

pub(crate) fn torch(c: &mut Checker<'_>) -> Vec<TorchRow> {
    let Some(file) = c.parse::<raw::TorchFile>() else {
        return Vec::new();
    };
    let template = file.index_url.get_ref().clone();
    if !template.contains("{variant}") || !template.starts_with("https://") {
        c.problem(
            file.index_url.span(),
            "`index_url` must be an https:// address containing `{variant}`",
            Some("e.g. \"https://download.pytorch.org/whl/{variant}\""),
        );
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.torch {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let torch = c.plain_version("torch", &r.torch);
        let torchvision = c.plain_version("torchvision", &r.torchvision);
        let torchaudio = c.plain_version("torchaudio", &r.torchaudio);
        let pythons = c.pythons(&r.pythons);
        let mut variants = Vec::new();
        let mut labels = HashSet::new();
        let mut bad = false;
        for label in r.variants.get_ref() {
            let cuda = if label == "cpu" {
                None
            } else if let Some(v) = cuda_of_label(label) {
                Some(v)
            } else {
                c.problem(
                    r.variants.span(),
                    format!("variant `{label}` is neither `cpu` nor `cuXYZ` (e.g. `cu118` for CUDA 11.8)"),
                    None,
                );
                bad = true;
                continue;
            };
            if !labels.insert(label.clone()) {
                c.problem(
                    r.variants.span(),
                    format!("variant `{label}` is listed twice"),
                    None,
                );
                bad = true;
            }
            variants.push(TorchVariant {
                label: label.clone(),
                cuda,
                index_url: template.replace("{variant}", label),
            });
        }
        if variants.is_empty() && !bad {
            c.problem(
                r.variants.span(),
                "`variants` must list at least one build",
                None,
            );
            continue;
        }
        let (Some(torch), Some(torchvision), Some(torchaudio), Some(pythons), false) =
            (torch, torchvision, torchaudio, pythons, bad)
        else {
            continue;
        };
        if let Some(first) = seen.insert(torch.to_string(), at.line) {
            c.problem(
                r.torch.span(),
                format!("torch {torch} is listed twice (first at line {first})"),
                None,
            );
            continue;
        }
        let pypi = match &r.pypi {
            Some(p) => match c.framework_wheels(p) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        variants.sort_by(|a, b| a.cuda.cmp(&b.cuda));
        rows.push(TorchRow {
            torch,
            torchvision,
            torchaudio,
            variants,
            pythons,
            pypi,
            at,
            cite,
        });
    }
    rows.sort_by(|a, b| a.torch.cmp(&b.torch));
    rows
}

pub(crate) fn tensorflow(c: &mut Checker<'_>) -> Vec<TensorflowRow> {
    let Some(file) = c.parse::<raw::TensorflowFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.tensorflow {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let cuda = c.major_minor("cuda", &r.cuda);
        let cudnn = c.version("cudnn", &r.cudnn);
        let pythons = c.pythons(&r.pythons);
        for (field, value) in [
            ("cpu_package", &r.cpu_package),
            ("gpu_package", &r.gpu_package),
        ] {
            if !value.get_ref().contains("{version}") {
                c.problem(
                    value.span(),
                    format!("`{field}` must contain `{{version}}`"),
                    None,
                );
            }
        }
        let mut versions = Vec::new();
        if r.versions.get_ref().is_empty() {
            c.problem(
                r.versions.span(),
                "`versions` must list at least one release",
                None,
            );
        }
        for v in r.versions.get_ref() {
            match Version::parse(v) {
                Ok(ver) if ver.local().is_none() => {
                    if let Some(first) = seen.insert(ver.to_string(), at.line) {
                        c.problem(
                            r.versions.span(),
                            format!("tensorflow {ver} is listed twice (first at line {first})"),
                            None,
                        );
                    }
                    versions.push(ver);
                }
                _ => c.problem(
                    r.versions.span(),
                    format!("`versions`: `{v}` is not a release version"),
                    None,
                ),
            }
        }
        let (Some(cuda), Some(cudnn), Some(pythons)) = (cuda, cudnn, pythons) else {
            continue;
        };
        if versions.is_empty() {
            continue;
        }
        let pypi = match &r.pypi {
            Some(p) => match c.framework_wheels(p) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        versions.sort();
        rows.push(TensorflowRow {
            versions,
            cuda,
            cudnn,
            pythons,
            cpu_package: r.cpu_package.get_ref().clone(),
            gpu_package: r.gpu_package.get_ref().clone(),
            pypi,
            at,
            cite,
        });
    }
    rows.sort_by(|a, b| a.versions[0].cmp(&b.versions[0]));
    rows
}

pub(crate) fn jax(c: &mut Checker<'_>) -> Vec<JaxRow> {
    let Some(file) = c.parse::<raw::JaxFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for row in &file.jax {
        let at = c.at(row.span());
        let r = row.get_ref();
        let jax = c.plain_version("jax", &r.jax);
        let pypi = c.framework_wheels(&r.pypi);
        let (Some(jax), Some(mut pypi)) = (jax, pypi) else { continue };
        pypi.extra = Some(r.extra.get_ref().clone());
        rows.push(JaxRow { jax, extra: r.extra.get_ref().clone(), pypi, at });
    }
    rows.sort_by(|a, b| a.jax.cmp(&b.jax));
    rows
}

const SUITES: &[&str] = &["bookworm", "trixie", "bionic", "focal", "jammy", "noble"];
const LOCAL_SUITES: &[&str] = &["bookworm", "trixie"];

pub(crate) fn base_images(c: &mut Checker<'_>) -> Vec<BaseImage> {
    let Some(file) = c.parse::<raw::BaseImageFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.image {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            c.problem(
                r.name.span(),
                "`name` must be an image reference without spaces",
                None,
            );
            continue;
        }
        if let Some(first) = seen.insert(name.clone(), at.line) {
            c.problem(
                r.name.span(),
                format!("image `{name}` is listed twice (first at line {first})"),
                None,
            );
            continue;
        }
        let origin = match r.origin.get_ref().as_str() {
            "local" => Origin::Local,
            "registry" => Origin::Registry,
            other => {
                c.problem(
                    r.origin.span(),
                    format!("`origin` must be \"local\" or \"registry\", got \"{other}\""),
                    None,
                );
                continue;
            }
        };
        let suite = r.suite.get_ref().clone();
        if !SUITES.contains(&suite.as_str()) {
            c.problem(
                r.suite.span(),
                format!("unknown `suite` \"{suite}\"; known: {}", SUITES.join(", ")),
                None,
            );
            continue;
        }
        if r.os.get_ref().trim().is_empty() {
            c.problem(
                r.os.span(),
                "`os` must name the OS release, e.g. \"debian-12\"",
                None,
            );
            continue;
        }
        let python = match &r.python {
            Some(p) => match c.version("python", p) {
                Some(v) => Some(v),
                None => continue,
            },
            None => None,
        };
        let cuda = match &r.cuda {
            Some(p) => match c.major_minor("cuda", p) {
                Some(v) => Some(v),
                None => continue,
            },
            None => None,
        };
        let cudnn = match &r.cudnn {
            Some(p) => match c.major_only("cudnn", p) {
                Some(v) => Some(v),
                None => continue,
            },
            None => None,
        };
        if cuda.is_some() != cudnn.is_some() {
            c.problem(
                row.span(),
                "a GPU image gives both `cuda` and `cudnn`, a CPU image neither",
                None,
            );
            continue;
        }
        let mut provides = Vec::new();
        let mut bad = false;
        for p in r.provides.get_ref() {
            match Provide::parse(p) {
                Some(v) => provides.push(v),
                None => {
                    c.problem(
                        r.provides.span(),
                        format!("unknown provider `{p}`; known: python, pip, venv, uv, init"),
                        None,
                    );
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        provides.sort();
        provides.dedup();
        if provides.contains(&Provide::Python) != python.is_some() {
            c.problem(
                r.provides.span(),
                "`provides` lists \"python\" exactly when the row gives `python`",
                None,
            );
            continue;
        }
        let ships = r.ships.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default();
        if let Some(spanned) = &r.ships {
            let bad = ships.iter().find_map(|(name, version)| {
                if crate::resolve::RESOLVER_NAMES.contains(&name.as_str()) {
                    Some(format!("`ships`: `{name}` is resolved from the Python tables; give it with `python` or in its own table"))
                } else if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
                    Some(format!("`ships`: `{name}` is not a dependency name (lowercase letters, digits, `-`, `_`)"))
                } else {
                    crate::resolve::range::parse_release(version).err().map(|e| format!("`ships.{name}`: {e}"))
                }
            });
            if let Some(message) = bad {
                c.problem(spanned.span(), message, None);
                continue;
            }
        }
        let packages = r
            .packages
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or_default();
        if origin == Origin::Local {
            if packages.is_empty() {
                c.problem(
                    row.span(),
                    "a local image lists the Debian `packages` its build installs",
                    Some("local images are built with debootstrap --include=<packages>"),
                );
                continue;
            }
            if provides.contains(&Provide::Init) != packages.iter().any(|p| p == "tini") {
                c.problem(
                    r.provides.span(),
                    "a local image `provides` \"init\" exactly when its `packages` include \"tini\"",
                    Some("the init block sets the entrypoint to /usr/bin/tini"),
                );
                continue;
            }
            if !LOCAL_SUITES.contains(&suite.as_str()) || cuda.is_some() {
                c.problem(
                    r.origin.span(),
                    format!(
                        "a local image is a Debian ({}) image without CUDA; use origin = \"registry\"",
                        LOCAL_SUITES.join(" or ")
                    ),
                    None,
                );
                continue;
            }
        }
        rows.push(BaseImage {
            name,
            origin,
            os: r.os.get_ref().clone(),
            suite,
            python,
            cuda,
            cudnn,
            upstream: r.upstream.as_ref().map(|u| u.get_ref().clone()),
            provides,
            ships,
            packages,
            at,
            cite,
        });
    }
    rows
}

pub(crate) fn cog(c: &mut Checker<'_>) -> Vec<CogRow> {
    use crate::resolve::version::SpecifierSet;
    let Some(file) = c.parse::<raw::CogFile>() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for row in &file.cog {
        let at = c.at(row.span());
        let r = row.get_ref();
        let cite = c.citation(&r.source, &r.checked);
        let Some(version) = c.plain_version("version", &r.version) else {
            continue;
        };
        if let Some(first) = seen.insert(version.to_string(), at.line) {
            c.problem(r.version.span(), format!("cog {version} is listed twice (first at line {first})"), None);
            continue;
        }
        let requires_python = match SpecifierSet::parse(r.requires_python.get_ref()) {
            Ok(s) => s,
            Err(e) => {
                c.problem(r.requires_python.span(), format!("`requires_python`: {e}"), None);
                continue;
            }
        };
        let mut requires = Vec::new();
        for text in r.requires.get_ref() {
            match runtime_requirement(text) {
                Ok(req) => requires.push(req),
                Err(why) => c.problem(r.requires.span(), format!("`requires`: `{text}`: {why}"), Some("write `name`, `name>=1.0` or `name[extra]<2,>=1`")),
            }
        }
        if !matches!(r.server.get_ref().as_str(), "coglet" | "python") {
            c.problem(r.server.span(), format!("`server` must be `coglet` or `python`, got `{}`", r.server.get_ref()), None);
        }
        rows.push(CogRow { version, default: r.default, requires_python, requires, server: r.server.get_ref().clone(), at, cite });
    }
    let defaults = rows.iter().filter(|r| r.default).count();
    if defaults != 1 && c.problems.is_empty() {
        let span = file.cog.first().map_or(0..0, |r| r.span());
        c.problem(span, format!("exactly one `[[cog]]` row must say `default = true`, found {defaults}"), None);
    }
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    rows
}

/// `requests>=2.25.0`, `uvicorn[standard]<1,>=0.12`, `PyYAML`: a name, extras, a specifier.
fn runtime_requirement(text: &str) -> Result<RuntimeRequirement, String> {
    let end = text.find(|ch: char| !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))).unwrap_or(text.len());
    let name = &text[..end];
    if name.is_empty() {
        return Err("no package name".into());
    }
    let mut rest = text[end..].trim();
    if let Some(after) = rest.strip_prefix('[') {
        rest = after.split_once(']').ok_or("unclosed `[`")?.1.trim();
    }
    let spec = crate::resolve::version::SpecifierSet::parse(rest).map_err(|e| e.to_string())?;
    Ok(RuntimeRequirement { name: crate::requirements::normalize_name(name), spec, text: text.to_string() })
}
