//! ResolveInput -> constraints on the resolver's variables, with early errors for values no
//! table row can ever satisfy: malformed or below a minimum (`Invalid`), or newer than
//! anything the tables know (`MissingData`, cogpack's fault).

use super::derivation::{list_versions, Derivation, Fact};
use super::version::{SpecifierSet, Version};
use super::{ResolveError, ResolveInput, Source, Warning};
use crate::compat::CompatTables;
use crate::requirements::{RequirementForm, RequirementsFile};

/// What a constraint narrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Python,
    Torch,
    Torchvision,
    Torchaudio,
    Tensorflow,
    Cuda,
    Cudnn,
    /// A pytorch.org package index in the user's requirements selects a torch build.
    TorchIndex,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Python => "python",
            Target::Torch | Target::TorchIndex => "torch",
            Target::Torchvision => "torchvision",
            Target::Torchaudio => "torchaudio",
            Target::Tensorflow => "tensorflow",
            Target::Cuda => "cuda",
            Target::Cudnn => "cudnn",
        }
    }
}

/// One constraint with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub target: Target,
    /// The specifier (`==2.0.1+cu117`, `>=3.10`); empty for `TorchIndex`.
    pub spec: SpecifierSet,
    /// For `TorchIndex`: the build label the index serves (`cu121`, `cpu`).
    pub label: Option<String>,
    /// As written (`==2.0.1`, `3.12`, `https://download.pytorch.org/whl/cu121`).
    pub written: String,
    /// The fact it states, for derivations (`cog.yaml pins python 3.12`).
    pub fact: String,
    pub source: Source,
    /// True when it comes from a constraints (`-c`) file: it limits, it does not install.
    pub constraint_file: bool,
}

impl Constraint {
    /// True when it names a torch build explicitly (`+cu117`, a pytorch.org index).
    pub fn names_torch_build(&self) -> bool {
        self.target == Target::TorchIndex
            || (matches!(self.target, Target::Torch | Target::Torchvision | Target::Torchaudio)
                && self.spec.specifiers().iter().any(|s| s.version.local().is_some()))
    }
}

/// A framework the project installs, and the lines that ask for it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Presence {
    /// The installing lines (requirements or python_packages) or blocks.
    pub sources: Vec<Source>,
    /// Some installing line gives no version at all.
    pub unversioned: Option<Source>,
    /// Some installing line is a direct reference (URL, path, wheel): it is not rewritten.
    pub direct: bool,
}

/// A JAX release installed with a CUDA extra, and the CUDA wheels that brings.
#[derive(Debug, Clone)]
pub(crate) struct JaxCuda {
    pub version: Version,
    pub extra: String,
    pub wheels: crate::compat::WheelCuda,
}

/// The input as constraints.
#[derive(Debug, Clone)]
pub(crate) struct Collected {
    pub gpu: bool,
    pub gpu_source: Source,
    pub constraints: Vec<Constraint>,
    pub torch: Option<Presence>,
    pub torchvision: Option<Presence>,
    pub torchaudio: Option<Presence>,
    pub tensorflow: Option<Presence>,
    /// TensorFlow is installed at a version the table lacks, on a CPU build (no CUDA needed):
    /// left as written.
    pub tensorflow_unknown: Option<(String, Source)>,
    pub warnings: Vec<Warning>,
    /// `jax[cudaNN]` lines: (specifier, extra, line).
    pub jax_asks: Vec<(SpecifierSet, String, Source)>,
    /// The JAX release a GPU build installs with a CUDA extra, when the table knows it.
    pub jax: Option<JaxCuda>,
    /// `python_packages` as a requirements file, and the cog.yaml source of each line.
    pub packages_file: Option<(RequirementsFile, Vec<Source>)>,
}

impl Collected {
    pub fn of(&self, target: Target) -> impl Iterator<Item = &Constraint> {
        self.constraints.iter().filter(move |c| c.target == target)
    }

    /// True when some constraint names a torch build explicitly.
    pub fn names_torch_build(&self) -> bool {
        self.constraints.iter().any(Constraint::names_torch_build)
    }

    pub fn torch_wanted(&self) -> bool {
        self.torch.is_some() || self.torchvision.is_some() || self.torchaudio.is_some()
    }
}

fn invalid(title: String, facts: Vec<Fact>, hints: Vec<String>) -> ResolveError {
    ResolveError::Invalid(Derivation {
        title,
        facts,
        conclusion: String::new(),
        tried: Vec::new(),
        hints,
    })
}

fn missing(
    title: String,
    facts: Vec<Fact>,
    conclusion: String,
    hints: Vec<String>,
) -> ResolveError {
    ResolveError::MissingData(Derivation {
        title,
        facts,
        conclusion,
        tried: Vec::new(),
        hints,
    })
}

const DATA_HINT: &str =
    "if that release exists, add it to cogpack's compat tables (docs/compat-data.md)";

pub(crate) fn collect(input: &ResolveInput, t: &CompatTables) -> Result<Collected, ResolveError> {
    let gpu = input.gpu.as_ref().is_some_and(|g| g.value);
    let gpu_source = input
        .gpu
        .as_ref()
        .map(|g| g.source.clone())
        .unwrap_or_else(|| Source::Default {
            why: "build.gpu is not set, so the build is CPU-only (as in Cog)".into(),
        });
    let mut c = Collected {
        gpu,
        gpu_source,
        constraints: Vec::new(),
        torch: None,
        torchvision: None,
        torchaudio: None,
        tensorflow: None,
        tensorflow_unknown: None,
        warnings: Vec::new(),
        jax_asks: Vec::new(),
        jax: None,
        packages_file: None,
    };

    if let Some(pin) = &input.python_version {
        let v = parse_pin("build.python_version", &pin.value, &pin.source, "3.11")?;
        check_python(
            t,
            &v,
            &format!("invalid build.python_version \"{}\"", pin.value),
            &pin.source,
            true,
        )?;
        c.constraints.push(Constraint {
            target: Target::Python,
            spec: SpecifierSet::parse(&format!("=={v}"))
                .expect("a parsed version is a valid specifier"),
            label: None,
            written: pin.value.clone(),
            fact: format!("cog.yaml pins python {}", pin.value),
            source: pin.source.clone(),
            constraint_file: false,
        });
    }
    for (field, pin, target) in [
        ("build.cuda", &input.cuda, Target::Cuda),
        ("build.cudnn", &input.cudnn, Target::Cudnn),
    ] {
        let Some(pin) = pin else { continue };
        if !gpu {
            c.warnings.push(Warning {
                message: format!(
                    "{field} \"{}\" is ignored: the build is CPU-only",
                    pin.value
                ),
                source: Some(pin.source.clone()),
                help: Some("set `build.gpu: true` for a CUDA image, or remove the field".into()),
            });
            continue;
        }
        let v = parse_pin(
            field,
            &pin.value,
            &pin.source,
            if target == Target::Cuda { "11.8" } else { "8" },
        )?;
        if target == Target::Cuda {
            check_cuda(t, &v, &pin.value, &pin.source)?;
        } else {
            check_cudnn(t, &v, &pin.value, &pin.source)?;
        }
        c.constraints.push(Constraint {
            target,
            spec: SpecifierSet::parse(&format!("=={v}"))
                .expect("a parsed version is a valid specifier"),
            label: None,
            written: pin.value.clone(),
            fact: format!("cog.yaml pins {} {}", target.name(), pin.value),
            source: pin.source.clone(),
            constraint_file: false,
        });
    }

    if let Some(file) = &input.requirements {
        scan_file(&mut c, file, &|line| Source::Requirements {
            path: line.0.to_string(),
            line: line.1,
        })?;
    }
    if !input.python_packages.is_empty() {
        let text: String = input
            .python_packages
            .iter()
            .map(|p| format!("{}\n", p.value))
            .collect();
        let label = "cog.yaml build.python_packages";
        let file = RequirementsFile::parse(label, &text).map_err(|e| {
            let (line, message) = match &e {
                crate::requirements::RequirementsError::Syntax { line, message, .. } => {
                    (*line, message.clone())
                }
                other => (1, other.to_string()),
            };
            let source = input.python_packages[(line as usize)
                .saturating_sub(1)
                .min(input.python_packages.len() - 1)]
            .source
            .clone();
            invalid(
                "invalid build.python_packages entry".into(),
                vec![Fact::new(
                    message.replace(&format!("{label}:{line}: "), ""),
                    vec![source],
                )],
                vec![],
            )
        })?;
        let sources: Vec<Source> = input
            .python_packages
            .iter()
            .map(|p| p.source.clone())
            .collect();
        let lookup = sources.clone();
        scan_file(&mut c, &file, &move |line| {
            lookup[(line.1 as usize - 1).min(lookup.len() - 1)].clone()
        })?;
        c.packages_file = Some((file, sources));
    }

    for dep in &input.dependencies {
        let name = crate::requirements::normalize_name(&dep.name);
        let target = match name.as_str() {
            "python" => Target::Python,
            "cuda" => Target::Cuda,
            "cudnn" => Target::Cudnn,
            "torch" => Target::Torch,
            "torchvision" => Target::Torchvision,
            "torchaudio" => Target::Torchaudio,
            "tensorflow" => Target::Tensorflow,
            _ => {
                c.warnings.push(Warning {
                    message: format!(
                        "no compat table knows `{}`; its constraint `{}` is not checked",
                        dep.name, dep.constraint
                    ),
                    source: Some(dep.source.clone()),
                    help: None,
                });
                continue;
            }
        };
        let spec = SpecifierSet::parse(&dep.constraint).map_err(|e| {
            invalid(
                format!("invalid dependency `{} {}`", dep.name, dep.constraint),
                vec![Fact::new(e.to_string(), vec![dep.source.clone()])],
                vec!["constraints look like `>=3.10`, `==2.0.1`, `>=2.0,<2.3`".into()],
            )
        })?;
        if matches!(target, Target::Cuda | Target::Cudnn) && !gpu {
            continue;
        }
        if target == Target::Python {
            if let Some(v) = spec.exact().or(spec.lower_bound()) {
                check_python(
                    t,
                    v,
                    &format!("block dependency python {}", dep.constraint),
                    &dep.source,
                    false,
                )?;
            }
        }
        let presence = match target {
            Target::Torch => Some(&mut c.torch),
            Target::Torchvision => Some(&mut c.torchvision),
            Target::Torchaudio => Some(&mut c.torchaudio),
            Target::Tensorflow => Some(&mut c.tensorflow),
            _ => None,
        };
        if let Some(p) = presence {
            p.get_or_insert_with(Presence::default)
                .sources
                .push(dep.source.clone());
        }
        if !spec.is_empty() {
            let fact = match &dep.source {
                Source::Block { id, .. } => {
                    format!("block `{id}` requires {} {}", dep.name, dep.constraint)
                }
                _ => format!("{} {} is required", dep.name, dep.constraint),
            };
            c.constraints.push(Constraint {
                target,
                spec,
                label: None,
                written: dep.constraint.clone(),
                fact,
                source: dep.source.clone(),
                constraint_file: false,
            });
        }
    }

    check_frameworks(&mut c, t)?;
    if gpu {
        jax_cuda(&mut c, t);
    }

    if gpu {
        if let Some(torch) = &c.torch {
            let versioned = c.of(Target::Torch).any(|k| !k.spec.is_empty());
            if !versioned {
                if let Some(src) = &torch.unversioned {
                    return Err(unversioned_torch(t, &c, src));
                }
            }
        }
    }
    Ok(c)
}

fn parse_pin(
    field: &str,
    value: &str,
    source: &Source,
    example: &str,
) -> Result<Version, ResolveError> {
    let v = Version::parse(value).map_err(|e| {
        invalid(
            format!("invalid {field} \"{value}\""),
            vec![Fact::new(e.why.clone(), vec![source.clone()])],
            vec![format!("write a version such as \"{example}\"")],
        )
    })?;
    if field != "build.cudnn" && v.release().len() < 2 {
        let what = if field == "build.cuda" {
            "CUDA"
        } else {
            "Python"
        };
        return Err(invalid(
            format!("invalid {field} \"{value}\": {what} version must include both major and minor versions"),
            vec![Fact::new(format!("cog.yaml sets {field} to \"{value}\""), vec![source.clone()])],
            vec![format!("write \"{example}\"")],
        ));
    }
    Ok(v)
}

fn check_python(
    t: &CompatTables,
    v: &Version,
    title: &str,
    source: &Source,
    pin: bool,
) -> Result<(), ResolveError> {
    let min = t.min_python();
    let max = t.max_python();
    if t.python().iter().any(|r| r.version.cog_matches(v)) {
        return Ok(());
    }
    if v.cog_cmp(&min.version).is_lt() {
        let said = if pin {
            format!("cog.yaml pins python {v}")
        } else {
            format!("python {v} is required")
        };
        return Err(invalid(
            format!(
                "{title}: minimum supported Python version is {}",
                min.version
            ),
            vec![
                Fact::new(said, vec![source.clone()]),
                Fact::new(
                    format!("cogpack supports Python {} and newer", min.version),
                    vec![(&min.at).into()],
                ),
            ],
            vec![format!(
                "set python_version to \"{}\" or newer (the default is \"{}\")",
                min.version,
                t.default_python().version
            )],
        ));
    }
    if v.cog_cmp(&max.version).is_gt() {
        return Err(missing(
            format!("cogpack's compat data has no Python {v}"),
            vec![
                Fact::new(format!("python {v} is required"), vec![source.clone()]),
                Fact::new(
                    format!("compat/python.toml ends at Python {}", max.version),
                    vec![(&max.at).into()],
                ),
            ],
            format!("cogpack does not know Python {v} yet"),
            vec![
                format!("use Python {} or older", max.version),
                DATA_HINT.into(),
            ],
        ));
    }
    Ok(())
}

fn check_cuda(
    t: &CompatTables,
    v: &Version,
    written: &str,
    source: &Source,
) -> Result<(), ResolveError> {
    if v.major() < 11 {
        return Err(invalid(
            format!("invalid build.cuda \"{written}\": minimum supported CUDA version is 11"),
            vec![Fact::new(
                format!("cog.yaml pins cuda {written}"),
                vec![source.clone()],
            )],
            vec!["use CUDA 11.8 (Cog's default) or newer".into()],
        ));
    }
    let newest = &t.cuda()[t.cuda().len() - 1];
    if v.cog_cmp(&newest.version).is_gt() {
        return Err(missing(
            format!("cogpack's compat data has no CUDA {written}"),
            vec![
                Fact::new(
                    format!("cog.yaml pins cuda {written}"),
                    vec![source.clone()],
                ),
                Fact::new(
                    format!("compat/cuda.toml ends at CUDA {}", newest.version),
                    vec![(&newest.at).into()],
                ),
            ],
            format!("cogpack does not know CUDA {written} yet"),
            vec![
                format!("use CUDA {} or older", newest.version),
                DATA_HINT.into(),
            ],
        ));
    }
    Ok(())
}

fn check_cudnn(
    t: &CompatTables,
    v: &Version,
    written: &str,
    source: &Source,
) -> Result<(), ResolveError> {
    let newest = t
        .cuda()
        .iter()
        .max_by(|a, b| a.cudnn.cmp(&b.cudnn))
        .expect("cuda table is not empty");
    if v.major() > newest.cudnn.major() {
        return Err(missing(
            format!("cogpack's compat data has no cuDNN {written}"),
            vec![
                Fact::new(
                    format!("cog.yaml pins cudnn {written}"),
                    vec![source.clone()],
                ),
                Fact::new(
                    format!("the newest cuDNN in compat/cuda.toml is {}", newest.cudnn),
                    vec![(&newest.at).into()],
                ),
            ],
            format!("cogpack does not know cuDNN {written} yet"),
            vec![DATA_HINT.into()],
        ));
    }
    Ok(())
}

fn constraint_from(
    target: Target,
    spec: SpecifierSet,
    written: &str,
    source: &Source,
    constraint_file: bool,
    name: Option<&str>,
) -> Constraint {
    let name = name.unwrap_or(target.name());
    let fact = match (source, constraint_file) {
        (_, true) => format!("a constraints file limits {name} to {written}"),
        (Source::CogYaml { .. }, _) => format!("cog.yaml lists {name}{written}"),
        _ => format!("the project requires {name}{written}"),
    };
    Constraint {
        target,
        spec,
        label: None,
        written: written.to_string(),
        fact,
        source: source.clone(),
        constraint_file,
    }
}

/// `jax[cudaNN]` on a GPU build: CUDA must be NN.x, and the table's row for the release
/// says which CUDA wheels the extra brings.
fn jax_cuda(c: &mut Collected, t: &CompatTables) {
    for (spec, extra, source) in c.jax_asks.clone() {
        let digits: String = extra.trim_start_matches("cuda").chars().take_while(char::is_ascii_digit).collect();
        let Ok(major) = digits.parse::<u64>() else { continue };
        let range = format!(">={major},<{}", major + 1);
        c.constraints.push(Constraint {
            target: Target::Cuda,
            spec: SpecifierSet::parse(&range).expect("a valid range"),
            label: None,
            written: format!("{major}"),
            fact: format!("jax[{extra}] installs CUDA {major} wheels"),
            source: source.clone(),
            constraint_file: false,
        });
        let row = t.jax().iter().rev().find(|r| extra.starts_with(&r.extra) && spec.contains(&r.jax));
        match row {
            Some(r) => {
                c.jax = Some(JaxCuda { version: r.jax.clone(), extra: r.extra.clone(), wheels: r.pypi.clone() });
            }
            None => c.warnings.push(Warning {
                message: format!("compat/jax.toml has no jax release matching jax[{extra}]{spec}: the CUDA libraries it brings are not known to cogpack"),
                source: Some(source.clone()),
                help: Some("pin a release the table lists (docs/compat-data.md says how to add one)".into()),
            }),
        }
    }
}

/// Reads framework lines and pytorch.org index lines from a requirements file.
fn scan_file(
    c: &mut Collected,
    file: &RequirementsFile,
    source_of: &dyn Fn((&str, u32)) -> Source,
) -> Result<(), ResolveError> {
    for found in file.requirements() {
        let r = found.requirement;
        if !r.applies_on_linux() {
            continue;
        }
        let Some(name) = r.normalized_name() else {
            continue;
        };
        if name == "jax" && !found.constraint {
            if let Some(extra) = r.extras.iter().find(|e| e.starts_with("cuda")) {
                let source = source_of((found.path, found.line.line));
                c.jax_asks.push((r.specifier_set().clone(), extra.clone(), source));
            }
            continue;
        }
        let target = match name.as_str() {
            "torch" => Target::Torch,
            "torchvision" => Target::Torchvision,
            "torchaudio" => Target::Torchaudio,
            "tensorflow" => Target::Tensorflow,
            _ => continue,
        };
        let source = source_of((found.path, found.line.line));
        let (spec, written) = match r.form {
            RequirementForm::Named => (r.specifier_set().clone(), r.specifier.clone()),
            RequirementForm::Url | RequirementForm::Path => match &r.file_version {
                Some(v) => {
                    let s = format!("=={v}");
                    (SpecifierSet::parse(&s).expect("wheel versions parse"), s)
                }
                None => (SpecifierSet::default(), String::new()),
            },
            RequirementForm::Editable => (SpecifierSet::default(), String::new()),
        };
        if !found.constraint {
            let p = match target {
                Target::Torch => &mut c.torch,
                Target::Torchvision => &mut c.torchvision,
                Target::Torchaudio => &mut c.torchaudio,
                _ => &mut c.tensorflow,
            };
            let p = p.get_or_insert_with(Presence::default);
            p.sources.push(source.clone());
            if spec.is_empty() && p.unversioned.is_none() {
                p.unversioned = Some(source.clone());
            }
            if r.form != RequirementForm::Named {
                p.direct = true;
            }
        }
        if !spec.is_empty() {
            let shown = r.name.as_deref().unwrap_or(target.name());
            c.constraints.push(constraint_from(
                target,
                spec,
                &written,
                &source,
                found.constraint,
                Some(shown),
            ));
        }
    }
    for (path, line, option) in file.options() {
        if !matches!(option.name.as_str(), "--index-url" | "--extra-index-url") {
            continue;
        }
        let Some(url) = &option.value else { continue };
        let trimmed = url.trim_end_matches('/');
        let Some(label) = trimmed.strip_prefix("https://download.pytorch.org/whl/") else {
            continue;
        };
        if label != "cpu" && crate::compat::tables::TorchVariant::cuda_of(label).is_none() {
            continue;
        }
        let source = source_of((path, line.line));
        // Several pytorch.org index lines allow any of their builds.
        if let Some(k) = c
            .constraints
            .iter_mut()
            .find(|k| k.target == Target::TorchIndex)
        {
            if let Some(l) = &mut k.label {
                l.push(',');
                l.push_str(label);
            }
            k.written = format!("{}, {url}", k.written);
            k.fact = format!("the project installs torch from {}", k.written);
            continue;
        }
        c.constraints.push(Constraint {
            target: Target::TorchIndex,
            spec: SpecifierSet::default(),
            label: Some(label.to_string()),
            written: url.clone(),
            fact: format!("the project installs torch from {url}, which serves the {label} build"),
            source,
            constraint_file: false,
        });
    }
    Ok(())
}

/// Rejects framework versions newer than anything the tables know (missing data); drops
/// unknown TensorFlow versions on CPU builds (nothing to look up) with a warning.
fn check_frameworks(c: &mut Collected, t: &CompatTables) -> Result<(), ResolveError> {
    // The framework tables are read only when a constraint names a framework.
    let torch = |of: fn(&crate::compat::TorchRow) -> &Version| t.torch().iter().map(of).collect::<Vec<&Version>>();
    let mut drop_tf = false;
    for k in &c.constraints {
        let (known, file, name) = match k.target {
            Target::Torch => (torch(|r| &r.torch), "compat/torch.toml", "torch"),
            Target::Torchvision => (torch(|r| &r.torchvision), "compat/torch.toml", "torchvision"),
            Target::Torchaudio => (torch(|r| &r.torchaudio), "compat/torch.toml", "torchaudio"),
            Target::Tensorflow => (
                t.tensorflow().iter().flat_map(|r| r.versions.iter()).collect(),
                "compat/tensorflow.toml",
                "tensorflow",
            ),
            _ => continue,
        };
        // Matching without the local label: the build is checked later, against the variants.
        let public = SpecifierSet::parse(&strip_local(&k.spec)).unwrap_or_default();
        if known.iter().any(|v| public.contains(v)) {
            continue;
        }
        let newest = known.iter().max().expect("tables are not empty");
        let beyond = public
            .exact()
            .or(public.lower_bound())
            .is_some_and(|v| v > *newest);
        if !beyond {
            continue; // a conflict the solver explains with the rows it tried
        }
        if k.target == Target::Tensorflow && !c.gpu {
            c.warnings.push(Warning {
                message: format!(
                    "tensorflow{} is not in {file} (newest known: {newest}); it is installed as written and its Python support is not checked",
                    k.written
                ),
                source: Some(k.source.clone()),
                help: Some(DATA_HINT.into()),
            });
            c.tensorflow_unknown = Some((k.written.clone(), k.source.clone()));
            drop_tf = true;
            continue;
        }
        let mut sorted: Vec<&Version> = known.to_vec();
        sorted.sort();
        sorted.dedup();
        let oldest = sorted[0];
        let newest_row = match k.target {
            Target::Tensorflow => Source::from(&t.tensorflow()[t.tensorflow().len() - 1].at),
            _ => Source::from(&t.torch()[t.torch().len() - 1].at),
        };
        let version = k.written.trim_start_matches("==");
        let unknown = if k.target == Target::Tensorflow {
            format!("which CUDA, cuDNN and Python tensorflow {version} needs")
        } else {
            format!("which builds of {name} {version} exist or which Python and CUDA they need")
        };
        return Err(missing(
            format!(
                "cogpack's compat data has no {name} {}",
                k.written.trim_start_matches("==")
            ),
            vec![
                Fact::new(k.fact.clone(), vec![k.source.clone()]),
                Fact::new(
                    format!(
                        "{file} knows {name} {oldest} to {newest} and has no row for {name}{}",
                        k.written
                    ),
                    vec![newest_row],
                ),
            ],
            format!("cogpack cannot tell {unknown}"),
            vec![
                format!("pin a {name} version the table knows (newest: {newest})"),
                DATA_HINT.into(),
            ],
        ));
    }
    if drop_tf {
        c.constraints.retain(|k| k.target != Target::Tensorflow);
        c.tensorflow = None;
    }
    Ok(())
}

/// `==2.0.1+cu117` -> `==2.0.1`.
pub(crate) fn strip_local(spec: &SpecifierSet) -> String {
    spec.specifiers()
        .iter()
        .map(|s| {
            let text = s.to_string();
            match text.split_once('+') {
                Some((a, _)) => a.to_string(),
                None => text,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn unversioned_torch(t: &CompatTables, c: &Collected, src: &Source) -> ResolveError {
    let python = c
        .of(Target::Python)
        .find_map(|k| k.spec.exact().cloned())
        .unwrap_or_else(|| t.default_python().version.clone());
    let suggestion = t.torch().iter().rev().find(|r| {
        r.pythons.iter().any(|p| p.cog_matches(&python))
            && r.variants.iter().any(|v| v.cuda.is_some())
    });
    let mut hints = Vec::new();
    let paired = c
        .of(Target::Torchvision)
        .chain(c.of(Target::Torchaudio))
        .find_map(|k| {
            let v = k.spec.exact()?.without_local();
            let row = t
                .torch()
                .iter()
                .find(|r| r.torchvision == v || r.torchaudio == v)?;
            Some((k, row))
        });
    if let Some((k, row)) = paired {
        hints.push(format!(
            "{} ({}) pairs with torch {} ({}): pin `torch=={}`",
            k.fact.trim_start_matches("the project requires "),
            k.source,
            row.torch,
            row.at,
            row.torch
        ));
    } else if let Some(row) = suggestion {
        let cudas: Vec<&Version> = row
            .variants
            .iter()
            .filter_map(|v| v.cuda.as_ref())
            .collect();
        hints.push(format!(
            "pin torch, e.g. `torch=={}` (the newest torch with wheels for Python {python}; CUDA {})",
            row.torch,
            list_versions(cudas)
        ));
    }
    invalid(
        "torch version must be specified when using CUDA".into(),
        vec![
            Fact::new("the build uses a GPU", vec![c.gpu_source.clone()]),
            Fact::new("torch is required without a version", vec![src.clone()]),
        ],
        hints,
    )
}
