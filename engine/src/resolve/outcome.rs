//! Picked values -> [`Resolution`]: the base image, `{version, source, reason}` for every
//! value, and the requirements rewritten for the resolved variant.

use std::collections::BTreeMap;

use super::collect::{Collected, Target};
use super::derivation::{Derivation, Fact};
use super::solver::{Choice, Why};
use super::version::Version;
use super::{Applied, Resolution, ResolveError, ResolveInput, Resolved, Source, Warning};
use crate::compat::{BaseImage, CompatTables, CudaRow, Origin};
use crate::requirements::{rewrite, Replacement, RewritePlan};

pub(crate) fn build(
    input: &ResolveInput,
    c: &Collected,
    ch: &Choice<'_>,
    t: &CompatTables,
) -> Result<Resolution, ResolveError> {
    let mut warnings = c.warnings.clone();
    warnings.extend(ch.warnings.iter().cloned());
    let mut values = BTreeMap::new();
    let applied = |target: Target| -> Vec<Applied> {
        c.of(target)
            .map(|k| Applied {
                constraint: k.written.clone(),
                source: k.source.clone(),
            })
            .collect()
    };
    let why = |key: &str| {
        ch.why.get(key).cloned().unwrap_or_else(|| Why {
            reason: String::new(),
            source: Source::Default { why: String::new() },
        })
    };

    // A value with no build variant, index or package line (python, cuda, cudnn).
    let plain = |key: &str, version: String, target: Target, requested: Option<String>| {
        let w = why(key);
        Resolved {
            version,
            source: w.source,
            reason: w.reason,
            requested,
            variant: None,
            index_url: None,
            package: None,
            constraints: applied(target),
        }
    };

    // Python: a pin keeps its patch ("3.11.4"); otherwise the row's major.minor.
    let python_pin = c
        .of(Target::Python)
        .find(|k| matches!(k.source, Source::CogYaml { .. }));
    let python_version =
        python_pin.map_or_else(|| ch.python.version.to_string(), |k| k.written.clone());
    values.insert(
        "python".to_string(),
        plain("python", python_version.clone(), Target::Python, python_pin.map(|k| k.written.clone())),
    );

    if let Some(cuda) = ch.cuda {
        let pin = c.of(Target::Cuda).next();
        values.insert(
            "cuda".to_string(),
            plain("cuda", cuda.version.to_string(), Target::Cuda, pin.map(|k| k.written.clone())),
        );
        let pin = c.of(Target::Cudnn).next();
        let version = match (ch.tf, pin) {
            (Some(tf), _) => tf.row.cudnn.to_string(),
            (None, Some(k)) => k.written.clone(),
            (None, None) => cuda.cudnn.to_string(),
        };
        values.insert(
            "cudnn".to_string(),
            plain("cudnn", version, Target::Cudnn, pin.map(|k| k.written.clone())),
        );
    }

    let mut plan = RewritePlan::default();
    if let Some(torch) = ch.torch {
        let label = &torch.variant.label;
        let index = torch.variant.index_url.clone();
        let build = match &torch.variant.cuda {
            Some(cuda) => format!("the CUDA {cuda} build ({label})"),
            None => "the CPU build".to_string(),
        };
        let mut add = |key: &'static str,
                       target: Target,
                       version: &Version,
                       presence: bool,
                       reason: String,
                       source: Source| {
            let user_label = c.of(target).any(|k| {
                !k.constraint_file
                    && k.spec
                        .specifiers()
                        .iter()
                        .any(|s| s.version.local().is_some())
            });
            // CPU builds pin the `+cpu` wheel: if the CPU index cannot be reached, pip then
            // fails loudly instead of quietly installing PyPI's multi-gigabyte CUDA build.
            let spec = if user_label || torch.variant.cuda.is_none() {
                format!("=={version}+{label}")
            } else {
                format!("=={version}")
            };
            let pin = c.of(target).find(|k| !k.constraint_file);
            values.insert(
                key.to_string(),
                Resolved {
                    version: version.to_string(),
                    source,
                    reason,
                    requested: pin.map(|k| k.written.clone()),
                    variant: Some(label.clone()),
                    index_url: Some(index.clone()),
                    package: Some(format!("{key}{spec}")),
                    constraints: applied(target),
                },
            );
            if presence {
                plan.replacements.push(Replacement {
                    package: key.to_string(),
                    specifier: spec,
                    why: format!("{key} {version}, {build} from {index} ({})", torch.row.at),
                });
            }
        };
        let w = why("torch");
        let direct = c.torch.as_ref().is_some_and(|p| p.direct);
        add(
            "torch",
            Target::Torch,
            &torch.row.torch,
            c.torch.is_some() && !direct,
            w.reason,
            w.source,
        );
        for (key, target, version, presence) in [
            (
                "torchvision",
                Target::Torchvision,
                &torch.row.torchvision,
                &c.torchvision,
            ),
            (
                "torchaudio",
                Target::Torchaudio,
                &torch.row.torchaudio,
                &c.torchaudio,
            ),
        ] {
            let Some(p) = presence else { continue };
            let pinned = c
                .of(target)
                .find(|k| k.spec.exact().is_some() && !k.constraint_file);
            let (reason, source) = match pinned {
                Some(k) => (format!("{} ({})", k.fact, k.source), k.source.clone()),
                None => (
                    format!(
                        "the {key} release paired with torch {} ({})",
                        torch.row.torch, torch.row.at
                    ),
                    Source::from(&torch.row.at),
                ),
            };
            add(key, target, version, !p.direct, reason, source);
        }
        plan.extra_index_urls.push((
            index.clone(),
            format!(
                "the package index of torch {} {build} ({})",
                torch.row.torch, torch.row.at
            ),
        ));
        if c.torch
            .as_ref()
            .and_then(|p| p.unversioned.as_ref())
            .is_some()
            && !c.of(Target::Torch).any(|k| !k.constraint_file)
        {
            warnings.push(Warning {
                message: format!(
                    "torch has no version in the requirements; cogpack pins torch {} (the newest that fits)",
                    torch.row.torch
                ),
                source: c.torch.as_ref().and_then(|p| p.unversioned.clone()),
                help: Some(format!("pin `torch=={}` yourself so that builds stay the same", torch.row.torch)),
            });
        }
    }

    if let Some(tf) = ch.tf {
        let w = why("tensorflow");
        let template = if c.gpu {
            &tf.row.gpu_package
        } else {
            &tf.row.cpu_package
        };
        let package = template.replace("{version}", &tf.version.to_string());
        let pin = c.of(Target::Tensorflow).find(|k| !k.constraint_file);
        values.insert(
            "tensorflow".to_string(),
            Resolved {
                version: tf.version.to_string(),
                source: w.source,
                reason: w.reason,
                requested: pin.map(|k| k.written.clone()),
                variant: Some(if c.gpu { "gpu" } else { "cpu" }.to_string()),
                index_url: None,
                package: Some(package.clone()),
                constraints: applied(Target::Tensorflow),
            },
        );
        if let Some(spec) = package.strip_prefix("tensorflow") {
            if c.tensorflow.as_ref().is_some_and(|p| !p.direct) && spec.starts_with("==") {
                plan.replacements.push(Replacement {
                    package: "tensorflow".into(),
                    specifier: spec.to_string(),
                    why: format!("tensorflow {} ({})", tf.version, tf.row.at),
                });
            }
        }
    } else if let Some((written, source)) = &c.tensorflow_unknown {
        values.insert(
            "tensorflow".to_string(),
            Resolved {
                version: written.trim_start_matches("==").to_string(),
                source: source.clone(),
                reason: format!(
                    "installed as written ({source}); compat/tensorflow.toml has no row for it"
                ),
                requested: Some(written.clone()),
                variant: Some("cpu".into()),
                index_url: None,
                package: None,
                constraints: Vec::new(),
            },
        );
    }

    let python_v = Version::parse(&python_version).unwrap_or_else(|_| ch.python.version.clone());
    let image = base_image(t, &python_v, ch.cuda, &mut warnings)?;
    values.insert(
        "base_image".to_string(),
        Resolved {
            version: image.name.clone(),
            source: Source::from(&image.at),
            reason: image_reason(&image, &python_v, ch.cuda),
            requested: None,
            variant: Some(image.origin.to_string()),
            index_url: None,
            package: None,
            constraints: Vec::new(),
        },
    );

    let rewritten_requirements = if let Some(file) = &input.requirements {
        Some(rewrite(file, &plan))
    } else {
        c.packages_file
            .as_ref()
            .map(|(file, _)| rewrite(file, &plan))
    };

    Ok(Resolution {
        gpu: c.gpu,
        values,
        base_image: image,
        rewritten_requirements,
        warnings,
    })
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

fn image_reason(img: &BaseImage, python: &Version, cuda: Option<&CudaRow>) -> String {
    let what = match cuda {
        Some(row) => format!("CUDA {} with cuDNN {}", row.version, row.cudnn),
        None => "no CUDA".to_string(),
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
        .base_images
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
        .base_images
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
