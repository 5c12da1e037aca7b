//! Dependencies resolved by the versions base images ship: a base-image row may say
//! `ships = { <name> = "<major.minor.patch>" }` (`compat/base-images.toml`), and a block
//! dependency with that name is resolved against those rows alone. The rows are the table of
//! versions; the dependency's constraint is a [`Range`]; the winning row is also the base
//! image. No name is special here: a new runtime is a row and a block, not code.
//!
//! For every name, the images that ship it and satisfy every constraint on it remain; among
//! them the newest version of the first name wins, a local image before a registry one. When
//! none remains, the failure is a derivation naming each constraint with its source and each
//! row with why it does not fit: missing data when a constraint asks for a release newer than
//! every row, a conflict otherwise.

use std::collections::BTreeMap;

use super::derivation::{Derivation, Fact, Tried};
use super::range::{parse_release, show, Range, Release};
use super::{Applied, Dependency, Resolution, ResolveError, Resolved, Source};
use crate::compat::{BaseImage, CompatTables, Origin};

/// The names some base image ships (`ships` keys), sorted.
pub fn shipped_names(tables: &CompatTables) -> Vec<&str> {
    let mut names: Vec<&str> = tables.base_images().iter().flat_map(|i| i.ships.keys().map(String::as_str)).collect();
    names.sort_unstable();
    names.dedup();
    names
}

struct Wanted<'a> {
    dep: &'a Dependency,
    range: Range,
}

/// Resolves `deps` (each named by some image's `ships`) and picks the base image.
pub(crate) fn resolve(deps: &[&Dependency], tables: &CompatTables) -> Result<Resolution, ResolveError> {
    let mut names: Vec<&str> = Vec::new();
    let mut wanted: Vec<Wanted<'_>> = Vec::new();
    for dep in deps {
        if !names.contains(&dep.name.as_str()) {
            names.push(&dep.name);
        }
        let range = Range::parse(&dep.constraint).map_err(|e| {
            ResolveError::Invalid(Derivation {
                title: format!("invalid {} version range `{}`", dep.name, dep.constraint),
                facts: vec![Fact::new(e, vec![dep.source.clone()])],
                conclusion: String::new(),
                tried: Vec::new(),
                hints: vec!["write a range such as `>=18`, `^20.1`, `18.x` or `>=18 <21`".into()],
            })
        })?;
        wanted.push(Wanted { dep, range });
    }

    let version_of = |img: &BaseImage, name: &str| -> Option<Release> { img.ships.get(name).and_then(|v| parse_release(v).ok()) };
    let mut fits: Vec<&BaseImage> = Vec::new();
    let mut tried: Vec<Tried> = Vec::new();
    for img in tables.base_images() {
        let missing: Vec<&str> = names.iter().copied().filter(|n| version_of(img, n).is_none()).collect();
        if missing.len() == names.len() {
            continue;
        }
        let why: Vec<String> = if missing.is_empty() {
            wanted
                .iter()
                .filter_map(|w| {
                    let v = version_of(img, &w.dep.name)?;
                    (!w.range.contains(v)).then(|| format!("{} {} is not {} ({})", w.dep.name, show(v), w.range, w.dep.source))
                })
                .collect()
        } else {
            vec![format!("ships no {}", missing.join(", "))]
        };
        if why.is_empty() {
            fits.push(img);
        } else {
            let shipped: Vec<String> = names.iter().filter_map(|n| version_of(img, n).map(|v| format!("{n} {}", show(v)))).collect();
            tried.push(Tried {
                what: format!("{} ({})", img.name, shipped.join(", ")),
                rows: vec![Source::from(&img.at)],
                why: why.join("; "),
            });
        }
    }

    let first = names[0];
    let Some(image) = fits.iter().copied().max_by(|a, b| {
        let rank = |i: &BaseImage| (version_of(i, first), i.origin == Origin::Local);
        rank(a).cmp(&rank(b)).then_with(|| b.at.line.cmp(&a.at.line))
    }) else {
        return Err(no_image(&names, &wanted, tried, tables));
    };

    let mut values = BTreeMap::new();
    for name in &names {
        let version = image.ships[*name].clone();
        let of_name: Vec<&Wanted<'_>> = wanted.iter().filter(|w| w.dep.name == *name).collect();
        let constraints: Vec<Applied> = of_name
            .iter()
            .filter(|w| !w.range.is_any())
            .map(|w| Applied { constraint: w.dep.constraint.clone(), source: w.dep.source.clone() })
            .collect();
        let asked = constraints.iter().map(|a| format!("{} ({})", a.constraint, a.source)).collect::<Vec<_>>().join(" and ");
        let reason = if asked.is_empty() {
            format!("the newest {name} a base image ships: {version} in {} ({})", image.name, image.at)
        } else {
            format!("the newest {name} a base image ships that satisfies {asked}: {version} in {} ({})", image.name, image.at)
        };
        let requested = constraints.iter().find(|a| a.source.is_user()).map(|a| a.constraint.clone());
        values.insert(
            name.to_string(),
            Resolved {
                version,
                source: Source::from(&image.at),
                reason,
                requested,
                variant: None,
                index_url: None,
                package: None,
                constraints,
                wheels: Vec::new(),
            },
        );
    }
    let what: Vec<String> = names.iter().map(|n| format!("{n} {}", image.ships[*n])).collect();
    values.insert(
        "base_image".to_string(),
        Resolved::base_image(&image, format!("{} image that ships {} ({})", image.origin, what.join(", "), image.at)),
    );
    Ok(Resolution { gpu: false, values, base_image: image.clone(), rewritten_requirements: None, warnings: Vec::new() })
}

fn no_image(names: &[&str], wanted: &[Wanted<'_>], tried: Vec<Tried>, tables: &CompatTables) -> ResolveError {
    let what = names.join(" and ");
    let facts: Vec<Fact> = wanted
        .iter()
        .filter(|w| !w.range.is_any())
        .map(|w| {
            let who = match &w.dep.source {
                Source::Block { id, .. } => format!("block `{id}` requires"),
                Source::File { path, field, .. } => format!("{path} `{field}` requires"),
                _ => "the project requires".to_string(),
            };
            Fact::new(format!("{who} {} {}", w.dep.name, w.range), vec![w.dep.source.clone()])
        })
        .chain(std::iter::once(Fact::new(
            format!("the base images that ship {what} are {}", tried.iter().map(|t| t.what.clone()).collect::<Vec<_>>().join(", ")),
            tried.iter().flat_map(|t| t.rows.clone()).collect(),
        )))
        .collect();
    let newest: Option<Release> = tables
        .base_images()
        .iter()
        .filter_map(|i| i.ships.get(names[0]).and_then(|v| parse_release(v).ok()))
        .max();
    let newer = newest.is_some_and(|top| {
        let on: Vec<&Wanted<'_>> = wanted.iter().filter(|w| w.dep.name == names[0] && !w.range.is_any()).collect();
        !on.is_empty() && on.iter().all(|w| w.range.wants_newer_than(top))
    });
    let title = format!("cannot pick a base image that ships {what}");
    let hints = vec![
        format!(
            "the releases on offer: {}",
            tried.iter().map(|t| t.what.clone()).collect::<Vec<_>>().join(", ")
        ),
        if newer {
            "add an image row whose `ships` has that release to compat/base-images.toml (docs/compat-data.md)".into()
        } else {
            format!("widen the range so that it admits one of those {what} releases")
        },
    ];
    let d = Derivation {
        title,
        facts,
        conclusion: format!("no base image ships a {what} that satisfies all of these"),
        tried,
        hints,
    };
    if newer {
        ResolveError::MissingData(d)
    } else {
        ResolveError::Conflict(d)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{resolve, Dependency, Pin, ResolveError, ResolveInput, Source};
    use crate::compat::CompatTables;

    /// Names of the runtime the built-in rows ship (the test stays free of any one ecosystem).
    fn runtime() -> String {
        super::shipped_names(CompatTables::builtin())[0].to_string()
    }

    fn input(constraint: &str) -> ResolveInput {
        ResolveInput {
            dependencies: vec![Dependency {
                name: runtime(),
                constraint: constraint.into(),
                source: Source::File { path: "manifest.json".into(), field: "engines.x".into(), line: 5, col: 13 },
            }],
            ..Default::default()
        }
    }

    fn shipped(constraint: &str) -> Result<(String, String), ResolveError> {
        let r = resolve(&input(constraint), CompatTables::builtin())?;
        Ok((r.values[&runtime()].version.clone(), r.base_image.name.clone()))
    }

    #[test]
    fn the_newest_row_that_fits_wins_and_is_the_base_image() {
        let tables = CompatTables::builtin();
        let mut versions: Vec<(String, String)> = tables
            .base_images()
            .iter()
            .filter_map(|i| i.ships.get(&runtime()).map(|v| (v.clone(), i.name.clone())))
            .collect();
        versions.sort_by_key(|(v, _)| super::parse_release(v).unwrap());
        assert!(versions.len() >= 2, "{versions:?}");
        let (oldest, newest) = (versions[0].clone(), versions[versions.len() - 1].clone());
        assert_eq!(shipped("*").unwrap(), newest);
        assert_eq!(shipped(&format!(">={}", oldest.0)).unwrap(), newest);
        let major = oldest.0.split('.').next().unwrap();
        assert_eq!(shipped(&format!("^{major}")).unwrap(), oldest);
        assert_eq!(shipped(&format!("{major}.x || >=999")).unwrap(), oldest);
        let r = resolve(&input(&format!("^{major}")), tables).unwrap();
        assert!(!r.values.contains_key("python"), "{:?}", r.values.keys());
        assert_eq!(r.values[&runtime()].requested.as_deref(), Some(format!("^{major}").as_str()));
    }

    #[test]
    fn failures_are_derivations_of_the_right_class() {
        let text = |e: &ResolveError| super::super::render(e);
        let newer = shipped(">=999").unwrap_err();
        assert!(matches!(newer, ResolveError::MissingData(_)), "{}", text(&newer));
        let t = text(&newer);
        assert!(t.contains("manifest.json `engines.x` requires") && t.contains("(manifest.json:5:13)"), "{t}");
        assert!(t.contains("compat/base-images.toml:"), "{t}");
        let older = shipped("<1").unwrap_err();
        assert!(matches!(older, ResolveError::Conflict(_)), "{}", text(&older));
        let bad = shipped(">=1.0-rc.1").unwrap_err();
        assert!(matches!(bad, ResolveError::Invalid(_)) && text(&bad).contains("pre-release"), "{}", text(&bad));
    }

    #[test]
    fn a_project_that_also_needs_python_is_refused() {
        let mut both = input("*");
        both.python_version = Some(Pin::cog_yaml("3.11".into(), "build.python_version", 2, 19));
        let err = resolve(&both, CompatTables::builtin()).unwrap_err();
        assert!(matches!(err, ResolveError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("cannot both choose the base image"), "{err}");
    }
}
