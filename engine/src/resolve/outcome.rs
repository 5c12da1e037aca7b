//! Picked values -> [`Resolution`]: the base image, `{version, source, reason}` for every
//! value, and the requirements rewritten for the resolved variant.

use std::collections::BTreeMap;

use super::collect::{Collected, Target};
use super::derivation::{Derivation, Fact};
use super::solver::{cudnn_matches, Choice, TorchC, Why};
use super::version::Version;
use super::{Applied, Resolution, ResolveError, ResolveInput, Resolved, Source, Warning};
use crate::compat::{BaseImage, CompatTables, CudaRow, Origin, WheelCuda};
use crate::requirements::{rewrite, Replacement, RewritePlan};

/// Where a GPU build's CUDA libraries come from.
#[derive(Debug, Clone)]
pub(crate) enum CudaSupply<'t> {
    /// The base image: an `nvidia/cuda` cuDNN image, pulled from a registry.
    Image(&'t CudaRow),
    /// `nvidia-*` wheels from PyPI, in a layer of their own on a Debian base image.
    Wheels {
        cuda: Version,
        cudnn: Version,
        /// Exact pins, sorted.
        wheels: Vec<String>,
        reason: String,
        /// The framework's table row when a framework brings it; `None` when the CUDA
        /// release was chosen first (its own reason stands) and its libraries follow.
        source: Option<Source>,
    },
}

/// The picked values as the plan's values, built one concern at a time.
struct Outcome<'a, 't> {
    c: &'a Collected,
    ch: &'a Choice<'t>,
    values: BTreeMap<String, Resolved>,
    plan: RewritePlan,
    warnings: Vec<Warning>,
}

pub(crate) fn build(
    input: &ResolveInput,
    c: &Collected,
    ch: &Choice<'_>,
    t: &CompatTables,
) -> Result<Resolution, ResolveError> {
    let mut warnings = c.warnings.clone();
    warnings.extend(ch.warnings.iter().cloned());
    let mut out = Outcome { c, ch, values: BTreeMap::new(), plan: RewritePlan::default(), warnings };

    let python_version = out.python();
    let supply = ch.cuda.map(|row| cuda_supply(c, ch, row));
    if let Some(CudaSupply::Image(_)) = &supply {
        out.warnings.extend(ch.image_warnings.iter().cloned());
    }
    if let Some(supply) = &supply {
        out.cuda(supply);
    }
    if let Some(torch) = ch.torch {
        out.torch(input, torch, supply.as_ref());
    }
    out.tensorflow(supply.as_ref());
    out.package_index(input);

    let python_v = Version::parse(&python_version).unwrap_or_else(|_| ch.python.version.clone());
    let image_cuda = match &supply {
        Some(CudaSupply::Image(row)) => Some(*row),
        _ => None,
    };
    let image = base_image(t, &python_v, image_cuda, &mut out.warnings)?;
    let reason = image_reason(&image, &python_v, image_cuda, supply.as_ref());
    out.values.insert("base_image".to_string(), Resolved::base_image(&image, reason));

    let rewritten_requirements = if let Some(file) = &input.requirements {
        Some(rewrite(file, &out.plan))
    } else {
        c.packages_file.as_ref().map(|(file, _)| rewrite(file, &out.plan))
    };
    Ok(Resolution {
        gpu: c.gpu,
        values: out.values,
        base_image: image,
        rewritten_requirements,
        warnings: out.warnings,
    })
}

/// PyPI's wheels supply CUDA when every GPU framework of the project brings it from there
/// (torch's own wheels, `tensorflow[and-cuda]`), or, with no framework, when the CUDA
/// release's libraries are published as wheels; and when what they bring satisfies the
/// project (its `cuda`/`cudnn` pins, no `+cuXYZ` pin or pytorch.org index line). Otherwise
/// the base image supplies it, as in Cog.
pub(crate) fn cuda_supply<'t>(c: &Collected, ch: &Choice<'t>, row: &'t CudaRow) -> CudaSupply<'t> {
    let image = CudaSupply::Image(row);
    let mut from: Vec<(String, &WheelCuda)> = Vec::new();
    if let Some(torch) = ch.torch {
        let Some(p) = &torch.row.pypi else { return image };
        let same = torch.variant.cuda.as_ref().is_some_and(|v| v.cog_matches(&p.cuda) && p.cuda.cog_matches(v));
        if c.names_torch_build() || !same {
            return image;
        }
        from.push((format!("torch {}", torch.row.torch), p));
    }
    if let Some(tf) = ch.tf {
        let Some(p) = &tf.row.pypi else { return image };
        let extra = p.extra.as_deref().map(|e| format!("[{e}]")).unwrap_or_default();
        from.push((format!("tensorflow{extra} {}", tf.version), p));
    }
    if let Some(j) = &c.jax {
        from.push((format!("jax[{}] {}", j.extra, j.version), &j.wheels));
    }
    let (cuda, cudnn, wheels, reason, source) = if from.is_empty() {
        let Some(lib) = &row.pypi else { return image };
        let Some((cudnn, pin)) = lib.cudnn.get(&row.cudnn.major()) else { return image };
        let mut wheels = lib.wheels.clone();
        wheels.push(pin.clone());
        wheels.sort();
        let reason = format!(
            "no framework brings CUDA: the CUDA {} libraries and cuDNN {cudnn} come as PyPI wheels ({})",
            row.version, lib.at
        );
        (row.version.clone(), cudnn.clone(), wheels, reason, None)
    } else {
        let (_, p) = &from[0];
        let mut pins: BTreeMap<String, String> = BTreeMap::new();
        for (_, w) in &from {
            if !(w.cuda == p.cuda && w.cudnn.major() == p.cudnn.major()) {
                return image;
            }
            for pin in &w.wheels {
                let name = pin.split(['=', '[']).next().unwrap_or(pin).to_string();
                if pins.insert(name, pin.clone()).is_some_and(|old| &old != pin) {
                    return image;
                }
            }
        }
        let names: Vec<&str> = from.iter().map(|(n, _)| n.as_str()).collect();
        let reason = format!(
            "{} from PyPI bring{} CUDA {} and cuDNN {} as nvidia wheels ({}), so no CUDA base image is needed",
            names.join(" and "),
            if names.len() == 1 { "s" } else { "" },
            p.cuda,
            p.cudnn,
            p.at
        );
        (p.cuda.clone(), p.cudnn.clone(), pins.into_values().collect(), reason, Some(Source::from(&p.at)))
    };
    let fits = c.of(Target::Cuda).all(|k| k.spec.contains_cog(&cuda))
        && c.of(Target::Cudnn).all(|k| cudnn_matches(&k.spec, &cudnn));
    if !fits {
        return image;
    }
    CudaSupply::Wheels { cuda, cudnn, wheels, reason, source }
}

impl Outcome<'_, '_> {
    fn applied(&self, target: Target) -> Vec<Applied> {
        self.c
            .of(target)
            .map(|k| Applied { constraint: k.written.clone(), source: k.source.clone() })
            .collect()
    }

    fn why(&self, key: &str) -> Why {
        self.ch.why.get(key).cloned().unwrap_or_else(|| Why {
            reason: String::new(),
            source: Source::Default { why: String::new() },
        })
    }

    /// A value with no build variant, index or package line (python, cuda, cudnn).
    fn plain(&self, key: &str, version: String, target: Target, requested: Option<String>) -> Resolved {
        let w = self.why(key);
        Resolved {
            version,
            source: w.source,
            reason: w.reason,
            requested,
            variant: None,
            index_url: None,
            package: None,
            constraints: self.applied(target),
            wheels: Vec::new(),
        }
    }

    /// Python: a pin keeps its patch ("3.11.4"); otherwise the row's major.minor.
    fn python(&mut self) -> String {
        let pin = self.c.of(Target::Python).find(|k| matches!(k.source, Source::CogYaml { .. }));
        let version = pin.map_or_else(|| self.ch.python.version.to_string(), |k| k.written.clone());
        let value = self.plain("python", version.clone(), Target::Python, pin.map(|k| k.written.clone()));
        self.values.insert("python".to_string(), value);
        version
    }

    /// `cuda` and `cudnn`, with `variant` saying where they come from: `image` or `wheels`.
    fn cuda(&mut self, supply: &CudaSupply<'_>) {
        let cuda_pin = self.c.of(Target::Cuda).next().map(|k| k.written.clone());
        let cudnn_pin = self.c.of(Target::Cudnn).next().map(|k| k.written.clone());
        let (mut cuda, mut cudnn) = match supply {
            CudaSupply::Image(row) => {
                let version = match (self.ch.tf, &cudnn_pin) {
                    (Some(tf), _) => tf.row.cudnn.to_string(),
                    (None, Some(written)) => written.clone(),
                    (None, None) => row.cudnn.to_string(),
                };
                (
                    self.plain("cuda", row.version.to_string(), Target::Cuda, cuda_pin),
                    self.plain("cudnn", version, Target::Cudnn, cudnn_pin),
                )
            }
            CudaSupply::Wheels { cuda, cudnn, wheels, reason, source } => {
                let mut a = self.plain("cuda", cuda.to_string(), Target::Cuda, cuda_pin);
                let mut b = self.plain("cudnn", cudnn.to_string(), Target::Cudnn, cudnn_pin);
                for v in [&mut a, &mut b] {
                    match source {
                        Some(source) => {
                            v.reason = reason.clone();
                            v.source = source.clone();
                        }
                        None if v.reason.is_empty() => v.reason = reason.clone(),
                        None => v.reason = format!("{}; {reason}", v.reason),
                    }
                    v.wheels = wheels.clone();
                }
                (a, b)
            }
        };
        let variant = match supply {
            CudaSupply::Image(_) => "image",
            CudaSupply::Wheels { .. } => "wheels",
        };
        cuda.variant = Some(variant.into());
        cudnn.variant = Some(variant.into());
        self.values.insert("cuda".to_string(), cuda);
        self.values.insert("cudnn".to_string(), cudnn);
    }

    /// torch, torchvision, torchaudio: the build, its index and the rewritten lines.
    fn torch(&mut self, input: &ResolveInput, torch: TorchC<'_>, supply: Option<&CudaSupply<'_>>) {
        let c = self.c;
        let label = torch.variant.label.clone();
        let from_pypi = matches!(supply, Some(CudaSupply::Wheels { .. }));
        let override_index = input.indexes.frameworks.get("torch");
        // `None`: the default index (PyPI, or the build's `--index-url`).
        let index: Option<String> = match override_index {
            Some(pin) => Some(pin.value.clone()),
            None if from_pypi => None,
            None => Some(torch.variant.index_url.clone()),
        };
        let index_text = index.clone().unwrap_or_else(|| "the default package index".into());
        let build = match &torch.variant.cuda {
            Some(cuda) if from_pypi => format!("the CUDA {cuda} build PyPI serves"),
            Some(cuda) => format!("the CUDA {cuda} build ({label})"),
            None => "the CPU build".to_string(),
        };
        let direct = c.torch.as_ref().is_some_and(|p| p.direct);
        let w = self.why("torch");
        let mut entries = vec![("torch", Target::Torch, &torch.row.torch, c.torch.is_some() && !direct, w.reason, w.source)];
        for (key, target, version, presence) in [
            ("torchvision", Target::Torchvision, &torch.row.torchvision, &c.torchvision),
            ("torchaudio", Target::Torchaudio, &torch.row.torchaudio, &c.torchaudio),
        ] {
            let Some(p) = presence else { continue };
            let pinned = c.of(target).find(|k| k.spec.exact().is_some() && !k.constraint_file);
            let (reason, source) = match pinned {
                Some(k) => (format!("{} ({})", k.fact, k.source), k.source.clone()),
                None => (
                    format!("the {key} release paired with torch {} ({})", torch.row.torch, torch.row.at),
                    Source::from(&torch.row.at),
                ),
            };
            entries.push((key, target, version, !p.direct, reason, source));
        }
        for (key, target, version, presence, reason, source) in entries {
            let user_label = c.of(target).any(|k| {
                !k.constraint_file && k.spec.specifiers().iter().any(|s| s.version.local().is_some())
            });
            // CPU builds from pytorch.org pin the `+cpu` wheel: if the CPU index cannot be
            // reached, the install then fails loudly instead of quietly installing PyPI's
            // multi-gigabyte CUDA build. An index the user names serves what it serves.
            let labelled = user_label || (torch.variant.cuda.is_none() && override_index.is_none());
            let spec = if labelled { format!("=={version}+{label}") } else { format!("=={version}") };
            let pin = c.of(target).find(|k| !k.constraint_file);
            self.values.insert(
                key.to_string(),
                Resolved {
                    version: version.to_string(),
                    source,
                    reason,
                    requested: pin.map(|k| k.written.clone()),
                    variant: Some(label.clone()),
                    index_url: index.clone(),
                    package: Some(format!("{key}{spec}")),
                    constraints: self.applied(target),
                    wheels: Vec::new(),
                },
            );
            if presence {
                self.plan.replacements.push(Replacement {
                    package: key.to_string(),
                    specifier: spec,
                    why: format!("{key} {version}, {build} from {index_text} ({})", torch.row.at),
                });
            }
        }
        if let Some(index) = &index {
            let why = match override_index {
                Some(pin) => format!("the package index set for torch ({})", pin.source),
                None => format!("the package index of torch {} {build} ({})", torch.row.torch, torch.row.at),
            };
            self.plan.extra_index_urls.push((index.clone(), why));
        }
        if let Some(pin) = override_index.filter(|_| !c.gpu && torch.variant.cuda.is_none()) {
            if pin.value.contains("pypi.org") {
                self.warnings.push(Warning {
                    message: "PyPI's torch wheels for Linux are CUDA builds: this CPU image carries torch's CUDA libraries (gigabytes)".into(),
                    source: Some(pin.source.clone()),
                    help: Some(format!("a mirror of {} serves the CPU build", torch.variant.index_url)),
                });
            }
        }
        if c.torch.as_ref().and_then(|p| p.unversioned.as_ref()).is_some()
            && !c.of(Target::Torch).any(|k| !k.constraint_file)
        {
            self.warnings.push(Warning {
                message: format!(
                    "torch has no version in the requirements; cogpack pins torch {} (the newest that fits)",
                    torch.row.torch
                ),
                source: c.torch.as_ref().and_then(|p| p.unversioned.clone()),
                help: Some(format!("pin `torch=={}` yourself so that builds stay the same", torch.row.torch)),
            });
        }
    }

    /// tensorflow: the release and the line installed (with the CUDA extra when PyPI's
    /// wheels supply CUDA).
    fn tensorflow(&mut self, supply: Option<&CudaSupply<'_>>) {
        let c = self.c;
        let Some(tf) = self.ch.tf else {
            if let Some((written, source)) = &c.tensorflow_unknown {
                self.values.insert(
                    "tensorflow".to_string(),
                    Resolved {
                        version: written.trim_start_matches("==").to_string(),
                        source: source.clone(),
                        reason: format!("installed as written ({source}); compat/tensorflow.toml has no row for it"),
                        requested: Some(written.clone()),
                        variant: Some("cpu".into()),
                        index_url: None,
                        package: None,
                        constraints: Vec::new(),
                        wheels: Vec::new(),
                    },
                );
            }
            return;
        };
        let w = self.why("tensorflow");
        let package = match (supply, &tf.row.pypi) {
            (Some(CudaSupply::Wheels { .. }), Some(p)) => {
                let extra = p.extra.as_deref().map(|e| format!("[{e}]")).unwrap_or_default();
                format!("tensorflow{extra}=={}", tf.version)
            }
            _ if c.gpu => tf.row.gpu_package.replace("{version}", &tf.version.to_string()),
            _ => tf.row.cpu_package.replace("{version}", &tf.version.to_string()),
        };
        let pin = c.of(Target::Tensorflow).find(|k| !k.constraint_file);
        self.values.insert(
            "tensorflow".to_string(),
            Resolved {
                version: tf.version.to_string(),
                source: w.source,
                reason: w.reason,
                requested: pin.map(|k| k.written.clone()),
                variant: Some(if c.gpu { "gpu" } else { "cpu" }.to_string()),
                index_url: None,
                package: Some(package.clone()),
                constraints: self.applied(Target::Tensorflow),
                wheels: Vec::new(),
            },
        );
        let spec = package.strip_prefix("tensorflow").map(|s| s.trim_start_matches(|ch| ch != '='));
        if let Some(spec) = spec {
            if c.tensorflow.as_ref().is_some_and(|p| !p.direct) && spec.starts_with("==") {
                self.plan.replacements.push(Replacement {
                    package: "tensorflow".into(),
                    specifier: spec.to_string(),
                    why: format!("tensorflow {} ({})", tf.version, tf.row.at),
                });
            }
        }
    }

    /// `package_index`: the default index the user set for every install step.
    fn package_index(&mut self, input: &ResolveInput) {
        let Some(pin) = &input.indexes.default else { return };
        self.values.insert(
            "package_index".to_string(),
            Resolved {
                version: pin.value.clone(),
                source: pin.source.clone(),
                reason: format!("set by {}: every Python install step uses it instead of PyPI", pin.source),
                requested: Some(pin.value.clone()),
                variant: None,
                index_url: Some(pin.value.clone()),
                package: None,
                constraints: Vec::new(),
                wheels: Vec::new(),
            },
        );
    }
}

fn image_fits_cuda(img: &BaseImage, cuda: Option<&CudaRow>) -> bool {
    match (cuda, &img.cuda, &img.cudnn) {
        (None, None, _) => true,
        (Some(row), Some(c), Some(d)) => {
            row.version.cog_matches(c) && row.cudnn.major() == d.major()
        }
        _ => false,
    }
}

fn image_reason(img: &BaseImage, python: &Version, cuda: Option<&CudaRow>, supply: Option<&CudaSupply<'_>>) -> String {
    let what = match (cuda, supply) {
        (Some(row), _) => format!("CUDA {} with cuDNN {}", row.version, row.cudnn),
        (None, Some(CudaSupply::Wheels { cuda, .. })) => format!("no CUDA (CUDA {cuda} comes as PyPI wheels)"),
        (None, _) => "no CUDA".to_string(),
    };
    match &img.python {
        Some(p) => format!(
            "{} image with Python {p} and {what} ({})",
            img.origin, img.at
        ),
        None => format!(
            "{} image with {what} and no Python: Python {python} is installed on it ({})",
            img.origin, img.at
        ),
    }
}

/// Tier 1: an image shipping the Python, with the right CUDA (local before registry).
/// Tier 2: an image without Python, with the right CUDA; the Python is installed on top.
/// Otherwise cogpack's table lacks an image: missing data, with the closest images named.
fn base_image(
    t: &CompatTables,
    python: &Version,
    cuda: Option<&CudaRow>,
    warnings: &mut Vec<Warning>,
) -> Result<BaseImage, ResolveError> {
    // An image that ships another runtime (`ships`) is that runtime's, not a bare image.
    let fits: Vec<&BaseImage> = t
        .base_images()
        .iter()
        .filter(|i| image_fits_cuda(i, cuda) && i.ships.is_empty())
        .collect();
    let by_origin = |imgs: Vec<&BaseImage>| -> Option<BaseImage> {
        imgs.iter()
            .find(|i| i.origin == Origin::Local)
            .or_else(|| imgs.first())
            .map(|i| (*i).clone())
    };
    let with_python: Vec<&BaseImage> = fits
        .iter()
        .copied()
        .filter(|i| i.python.as_ref().is_some_and(|p| p.cog_matches(python)))
        .collect();
    if let Some(img) = by_origin(with_python) {
        return Ok(img);
    }
    let closest: Vec<String> = fits
        .iter()
        .filter_map(|i| {
            i.python
                .as_ref()
                .map(|p| format!("{} (Python {p}, {})", i.name, i.origin))
        })
        .collect();
    let bare: Vec<&BaseImage> = fits
        .iter()
        .copied()
        .filter(|i| i.python.is_none())
        .collect();
    if let Some(img) = by_origin(bare) {
        let closest_text = if closest.is_empty() {
            "none".to_string()
        } else {
            closest.join(", ")
        };
        warnings.push(Warning {
            message: format!(
                "no base image ships Python {python} (closest: {closest_text}); Python {python} is installed on {}, which has none",
                img.name
            ),
            source: Some(Source::from(&img.at)),
            help: Some(
                "pick a Python a base image ships (see closest) for a faster, offline-buildable image, or add an image row to compat/base-images.toml"
                    .into(),
            ),
        });
        return Ok(img);
    }
    let what = match cuda {
        Some(row) => format!("CUDA {} with cuDNN {}", row.version, row.cudnn),
        None => "no CUDA".to_string(),
    };
    let near: Vec<String> = t
        .base_images()
        .iter()
        .filter(|i| i.python.as_ref().is_some_and(|p| p.cog_matches(python)))
        .map(|i| i.name.clone())
        .take(6)
        .collect();
    Err(ResolveError::MissingData(Derivation {
        title: format!("cogpack's compat data has no base image for Python {python} with {what}"),
        facts: vec![Fact::new(
            format!("compat/base-images.toml has no image with {what}, with or without Python"),
            vec![Source::Table {
                file: "compat/base-images.toml".into(),
                line: 1,
            }],
        )],
        conclusion:
            "no base image fits; this is a gap in cogpack's tables, not an error in the project"
                .into(),
        tried: Vec::new(),
        hints: vec![
            if near.is_empty() {
                format!("no image ships Python {python} at all")
            } else {
                format!("images with Python {python}: {}", near.join(", "))
            },
            "add an image row to compat/base-images.toml (docs/compat-data.md)".into(),
        ],
    }))
}
