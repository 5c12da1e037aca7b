//! The Cog runtime against the project's pins, from `compat/cog.toml`.
//!
//! The build installs the runtime in the same resolution as the requirements, so a pin the
//! runtime cannot accept fails the install. Here the plan finds that first: each release's
//! `Requires-Dist` (a table row) is checked against every version specifier the project
//! writes (requirements lines, `-c` constraints, `build.python_packages`, a `cog` line of its
//! own) and against the resolved Python. A pinned runtime (`build.sdk_version`, or an exact
//! version a block asks for) that conflicts is a [`ResolveError::Conflict`] whose derivation
//! names the runtime's requirement and the user's line; an unpinned one is the newest release
//! no newer than the table's default that accepts every pin, and the reason says why.

use super::derivation::{Derivation, Fact};
use super::version::{SpecifierSet, Version};
use super::{Applied, ResolveError, ResolveInput, Resolved, Source, Warning};
use crate::compat::{CogRow, CompatTables};
use crate::requirements::{RequirementForm, RequirementsFile};

/// A version specifier the project writes for a package.
#[derive(Debug, Clone)]
struct UserPin {
    name: String,
    spec: SpecifierSet,
    /// `requests==2.20.0`.
    text: String,
    source: Source,
}

/// What the runtime requirement of a release and a project line disagree on.
enum Clash<'a> {
    /// The release requires `req`, the project pins `pin`.
    Requirement { req: &'a crate::compat::RuntimeRequirement, pin: &'a UserPin },
    /// The project pins `cog` itself.
    Cog { pin: &'a UserPin },
    /// The release does not run on the resolved Python.
    Python { python: &'a Version },
}

/// The runtime chosen, with the warning to show when the table cannot check it.
#[derive(Debug, Clone)]
pub struct RuntimeChoice {
    /// `resolved.cog`.
    pub resolved: Resolved,
    /// Set when the pinned release has no row (its requirements are left to the installer).
    pub warning: Option<Warning>,
}

/// Chooses (or checks) the Cog runtime. `pinned`: the version and where it was asked for;
/// `python`: the resolved Python.
pub fn resolve_runtime(
    input: &ResolveInput,
    tables: &CompatTables,
    python: Option<&Version>,
    pinned: Option<(String, Source)>,
) -> Result<RuntimeChoice, ResolveError> {
    let pins = user_pins(input);
    let applied = |row_reqs: &[crate::compat::RuntimeRequirement]| -> Vec<Applied> {
        pins.iter()
            .filter(|p| p.name == "cog" || row_reqs.iter().any(|r| r.name == p.name))
            .map(|p| Applied { constraint: p.text.clone(), source: p.source.clone() })
            .collect()
    };
    if let Some((text, source)) = pinned {
        let Some(row) = Version::parse(&text).ok().and_then(|v| tables.cog_row(&v)) else {
            return Ok(RuntimeChoice {
                resolved: Resolved {
                    version: text.clone(),
                    source: source.clone(),
                    reason: format!("{} (the cog runtime {text})", pin_fact(&text, &source)),
                    requested: Some(text.clone()),
                    variant: None,
                    index_url: None,
                    package: Some(format!("cog=={text}")),
                    constraints: vec![], wheels: Vec::new(),
                },
                warning: Some(Warning {
                    message: format!("compat/cog.toml has no row for the cog runtime {text}: the plan cannot check its requirements against the project's pins; the install does (one resolution)"),
                    source: Some(source),
                    help: Some("add the release to compat/cog.toml (docs/compat-data.md), or pin a release it lists".into()),
                }),
            });
        };
        let clashes = clashes(row, &pins, python);
        if clashes.is_empty() {
            return Ok(RuntimeChoice {
                resolved: Resolved {
                    version: text.clone(),
                    source: source.clone(),
                    reason: format!("{}, and its requirements ({}) accept the project's pins", pin_fact(&text, &source), Source::from(&row.at)),
                    requested: Some(text.clone()),
                    variant: None,
                    index_url: None,
                    package: Some(format!("cog=={text}")),
                    constraints: applied(&row.requires), wheels: Vec::new(),
                },
                warning: None,
            });
        }
        let mut facts = vec![Fact::new(pin_fact(&text, &source), vec![source.clone()])];
        facts.extend(clash_facts(row, &clashes));
        let mut hints = Vec::new();
        if let Some(ok) = newest_fitting(tables, &pins, python, None) {
            hints.push(format!(
                "the cog runtime {} accepts every pin of the project ({}): set build.sdk_version to \"{}\"{}",
                ok.version,
                Source::from(&ok.at),
                ok.version,
                legacy_note(ok)
            ));
        }
        hints.extend(loosen_hints(&clashes));
        return Err(ResolveError::Conflict(Derivation {
            title: format!("cannot install the cog runtime {text} with the project's requirements"),
            facts,
            conclusion: conclusion(&clashes),
            tried: vec![],
            hints,
        }));
    }

    let default = tables.default_cog();
    let default_clashes = clashes(default, &pins, python);
    if default_clashes.is_empty() {
        return Ok(RuntimeChoice {
            resolved: Resolved {
                version: default.version.to_string(),
                source: Source::Default { why: "cog.yaml has no build.sdk_version".into() },
                reason: format!(
                    "cog.yaml has no build.sdk_version, so cogpack installs its default cog runtime {} ({}), whose requirements accept the project's pins",
                    default.version,
                    Source::from(&default.at)
                ),
                requested: None,
                variant: None,
                index_url: None,
                package: Some(format!("cog=={}", default.version)),
                constraints: applied(&default.requires), wheels: Vec::new(),
            },
            warning: None,
        });
    }
    let why_not: Vec<String> = clash_facts(default, &default_clashes).iter().map(|f| format!("{} ({})", f.text, super::derivation::fmt_sources(&f.sources))).collect();
    match newest_fitting(tables, &pins, python, Some(&default.version)) {
        Some(row) => Ok(RuntimeChoice {
            resolved: Resolved {
                version: row.version.to_string(),
                source: Source::from(&row.at),
                reason: format!(
                    "cog.yaml has no build.sdk_version and cogpack's default cog runtime {} does not fit: {}; {} is the newest release whose requirements accept the project's pins{}",
                    default.version,
                    why_not.join("; "),
                    row.version,
                    legacy_note(row)
                ),
                requested: None,
                variant: None,
                index_url: None,
                package: Some(format!("cog=={}", row.version)),
                constraints: applied(&row.requires), wheels: Vec::new(),
            },
            warning: None,
        }),
        None => {
            let mut facts = vec![Fact::new(
                format!("cog.yaml has no build.sdk_version, and no release of the cog runtime in compat/cog.toml accepts every pin of the project; the newest, cogpack's default {},", default.version),
                vec![],
            )];
            facts.extend(clash_facts(default, &default_clashes));
            Err(ResolveError::Conflict(Derivation {
                title: "cannot choose a cog runtime that accepts the project's requirements".into(),
                facts,
                conclusion: conclusion(&default_clashes),
                tried: vec![],
                hints: loosen_hints(&default_clashes),
            }))
        }
    }
}

fn pin_fact(version: &str, source: &Source) -> String {
    match source {
        Source::CogYaml { .. } => format!("cog.yaml pins the cog runtime {version} with build.sdk_version"),
        Source::Block { id, .. } => format!("block `{id}` requires the cog runtime {version}"),
        _ => format!("the cog runtime is {version}"),
    }
}

fn legacy_note(row: &CogRow) -> &'static str {
    if row.server == "python" {
        " (a release from before coglet: it runs Cog's Python HTTP server)"
    } else {
        ""
    }
}

fn clashes<'a>(row: &'a CogRow, pins: &'a [UserPin], python: Option<&'a Version>) -> Vec<Clash<'a>> {
    let mut out = Vec::new();
    if let Some(py) = python {
        // `>=3.10` against `3.11`: compare the minor series, as pip does with 3.11.x.
        if !row.requires_python.contains(py) {
            out.push(Clash::Python { python: py });
        }
    }
    for pin in pins {
        if pin.name == "cog" {
            if !pin.spec.contains(&row.version) {
                out.push(Clash::Cog { pin });
            }
            continue;
        }
        for req in row.requires.iter().filter(|r| r.name == pin.name) {
            if !req.spec.intersects(&pin.spec) {
                out.push(Clash::Requirement { req, pin });
            }
        }
    }
    out
}

fn clash_facts(row: &CogRow, clashes: &[Clash<'_>]) -> Vec<Fact> {
    let at = Source::from(&row.at);
    let mut facts = Vec::new();
    for c in clashes {
        match c {
            Clash::Requirement { req, pin } => {
                facts.push(Fact::new(format!("cog {} requires {}", row.version, req.text), vec![at.clone()]));
                facts.push(Fact::new(format!("the project pins {}", pin.text), vec![pin.source.clone()]));
            }
            Clash::Cog { pin } => {
                facts.push(Fact::new(format!("the project pins {}, which excludes cog {}", pin.text, row.version), vec![pin.source.clone()]));
            }
            Clash::Python { python } => {
                facts.push(Fact::new(format!("cog {} requires Python {}, and the build's Python is {python}", row.version, row.requires_python), vec![at.clone()]));
            }
        }
    }
    facts
}

fn where_(source: &Source) -> String {
    match source {
        Source::Requirements { path, line } => format!("{path}:{line}"),
        Source::CogYaml { field, .. } => format!("cog.yaml {field}"),
        other => other.to_string(),
    }
}

fn conclusion(clashes: &[Clash<'_>]) -> String {
    let mut names: Vec<String> = clashes
        .iter()
        .map(|c| match c {
            Clash::Requirement { req, .. } => req.name.clone(),
            Clash::Cog { .. } => "cog".into(),
            Clash::Python { .. } => "Python".into(),
        })
        .collect();
    names.dedup();
    format!("no version of {} satisfies all of these", names.join(" or "))
}

fn loosen_hints(clashes: &[Clash<'_>]) -> Vec<String> {
    clashes
        .iter()
        .filter_map(|c| match c {
            Clash::Requirement { req, pin } => Some(format!(
                "or loosen `{}` ({}) so that it accepts {}",
                pin.text,
                where_(&pin.source),
                req.text
            )),
            Clash::Cog { pin } => Some(format!(
                "or remove `{}` ({}): the runtime's version is build.sdk_version",
                pin.text,
                where_(&pin.source)
            )),
            Clash::Python { .. } => None,
        })
        .collect()
}

/// The newest release (no newer than `limit`) that accepts every pin.
fn newest_fitting<'a>(tables: &'a CompatTables, pins: &[UserPin], python: Option<&Version>, limit: Option<&Version>) -> Option<&'a CogRow> {
    tables
        .cog()
        .iter()
        .rev()
        .filter(|r| limit.is_none_or(|l| r.version <= *l))
        .find(|r| clashes(r, pins, python).is_empty())
}

/// Every version specifier the project writes: the requirements file and its includes
/// (constraints too), `build.python_packages`, and wheel files (their version is a pin).
fn user_pins(input: &ResolveInput) -> Vec<UserPin> {
    let mut out = Vec::new();
    let mut add = |file: &RequirementsFile, source_of: &dyn Fn(&str, u32) -> Source| {
        for found in file.requirements() {
            let r = found.requirement;
            let Some(name) = r.normalized_name() else { continue };
            if !r.applies_on_linux() {
                continue;
            }
            let (spec, text) = if !r.specifier_set().is_empty() {
                (r.specifier_set().clone(), format!("{}{}", r.name.as_deref().unwrap_or(&name), r.specifier))
            } else if let (RequirementForm::Path | RequirementForm::Url, Some(v)) = (r.form, r.file_version.as_deref()) {
                match SpecifierSet::parse(&format!("=={v}")) {
                    Ok(s) => (s, format!("{} {v} (a wheel file)", r.name.as_deref().unwrap_or(&name))),
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            out.push(UserPin { name, spec, text, source: source_of(found.path, found.line.line) });
        }
    };
    if let Some(file) = &input.requirements {
        add(file, &|path, line| Source::Requirements { path: path.to_string(), line });
    }
    for pin in &input.python_packages {
        if let Ok(file) = RequirementsFile::parse("cog.yaml", &pin.value) {
            add(&file, &|_, _| pin.source.clone());
        }
    }
    out
}
