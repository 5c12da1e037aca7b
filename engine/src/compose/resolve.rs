//! Version resolution inside composition: the project's inputs and the fired blocks'
//! dependencies go to the compat resolver ([`crate::resolve::resolve`]); its values become
//! the plan's `resolved` object, its rewritten requirements the generated context
//! `requirements`, and its warnings composition warnings.
//!
//! Compose calls [`resolve_versions`] once, after every fired block has emitted its
//! dependencies and before any plan script runs; plan scripts read the result as
//! `resolved.<name>.version` and the other fields (`resolved.base_image.provides`,
//! `resolved.torch.index_url`, ...).
//!
//! Two names are not the resolver's: the tools blocks install themselves. They get values
//! here, each with an explicit source:
//!
//! - `cog` (the Cog runtime wheel): cog.yaml `build.sdk_version`, else an exact version a
//!   block asks for, each checked against the project's pins with `compat/cog.toml`
//!   ([`resolve::resolve_runtime`]: a conflict is a derivation naming both lines); else the
//!   newest release no newer than the table's default ([`DEFAULT_COG`]) whose requirements
//!   accept the project's pins. Its `config_label` detail is the `run.cog.config` label:
//!   Cog's effective config with the resolved CUDA and cuDNN written in, as Cog does.
//! - `uv`: [`DEFAULT_UV`], or an exact version a block asks for.
//!
//! Every block constraint on them must hold, or composition fails naming the block.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{ComposeError, Dependency, ProjectInputs};
use crate::compat::CompatTables;
use crate::diagnostics::{Diagnostic, Severity};
use crate::plan::{Context, GeneratedFile, Resolved};
use crate::project::Project;
use crate::resolve::version::{SpecifierSet, Version};
use crate::resolve::{self, Pin, ResolveInput, Source};

/// The cog wheel installed when cog.yaml has no `build.sdk_version`.
pub const DEFAULT_COG: &str = "0.23.1";
/// The uv release installed by the uv and python-interpreter blocks.
pub const DEFAULT_UV: &str = "0.13.8";
/// The generated context that holds the rewritten requirements.
pub const REQUIREMENTS_CONTEXT: &str = "requirements";
/// The rewritten requirements file's name in that context.
pub const REQUIREMENTS_FILE: &str = "requirements.txt";

/// Names whose values composition gives itself (see the module docs).
const TOOLS: [&str; 2] = ["cog", "uv"];

/// What resolution decided, ready for the plan.
#[derive(Debug, Clone)]
pub struct Versions {
    /// name -> value, as the plan's `resolved` object (and the scripts' `resolved`).
    pub values: BTreeMap<String, Resolved>,
    /// The generated context with the rewritten requirements (`requirements.txt` and the
    /// files it still includes), when the project has requirements.
    pub requirements: Option<Context>,
    /// The resolver's warnings, as diagnostics for the CLI.
    pub warnings: Vec<Diagnostic>,
    /// The resolver's full answer.
    pub resolution: resolve::Resolution,
}

/// Resolves the project's versions with the compat tables. See the module docs.
pub fn resolve_versions(
    project: &Project,
    inputs: &ProjectInputs,
    deps: &[Dependency],
    indexes: &resolve::PackageIndexes,
) -> Result<Versions, ComposeError> {
    let tables = CompatTables::builtin();
    let mut input = resolve_input(inputs, deps);
    input.indexes = indexes.clone();
    let resolution = resolve::resolve(&input, tables).map_err(|e| ComposeError::Resolve(Box::new(e)))?;

    let mut warnings: Vec<Diagnostic> = resolution.warnings.iter().map(|w| warning(inputs, w)).collect();
    let mut values: BTreeMap<String, Resolved> = resolution
        .values
        .iter()
        .map(|(name, r)| (name.clone(), to_plan(r)))
        .collect();
    if let Some(image) = values.get_mut("base_image") {
        let row = &resolution.base_image;
        let d = &mut image.details;
        d.insert("origin".into(), json!(row.origin.to_string()));
        d.insert("os".into(), json!(row.os));
        d.insert("provides".into(), json!(row.provides));
        for (key, v) in [("python", &row.python), ("cuda", &row.cuda), ("cudnn", &row.cudnn)] {
            if let Some(v) = v {
                d.insert(key.into(), json!(v.to_string()));
            }
        }
        if let Some(up) = &row.upstream {
            d.insert("upstream".into(), json!(up));
        }
        if !row.ships.is_empty() {
            d.insert("ships".into(), json!(row.ships));
        }
    }
    for (name, value) in values.iter_mut() {
        if is_direct(inputs, name) {
            value.details.insert("direct".into(), json!(true));
        }
    }
    for name in TOOLS {
        let wanted: Vec<&Dependency> = deps.iter().filter(|d| d.name == name).collect();
        if !wanted.is_empty() {
            let (value, warned) = tool_value(name, inputs, &input, &wanted, &resolution, tables)?;
            warnings.extend(warned.iter().map(|w| warning(inputs, w)));
            values.insert(name.to_string(), value);
        }
    }

    let requirements = match &resolution.rewritten_requirements {
        Some(rw) => Some(requirements_context(project, inputs, rw)?),
        None => None,
    };
    Ok(Versions { values, requirements, warnings, resolution })
}

/// Whether the project installs `name` from a direct reference (a URL, a path, a wheel
/// file): such lines are installed as written, never from a package index.
fn is_direct(inputs: &ProjectInputs, name: &str) -> bool {
    use crate::requirements::{RequirementForm, RequirementsFile};
    let direct_in = |file: &RequirementsFile| {
        file.requirements().iter().any(|f| {
            !f.constraint
                && f.requirement.form != RequirementForm::Named
                && f.requirement.normalized_name().as_deref() == Some(name)
        })
    };
    if inputs.requirements_file.as_ref().is_some_and(direct_in) {
        return true;
    }
    let packages: String = inputs
        .config
        .iter()
        .flat_map(|c| c.build.python_packages.iter().map(|p| format!("{}\n", p.value)))
        .collect();
    !packages.is_empty()
        && RequirementsFile::parse("cog.yaml build.python_packages", &packages).is_ok_and(|f| direct_in(&f))
}

/// cog.yaml pins with their `line:col`, the requirements, and the blocks' dependencies.
fn resolve_input(inputs: &ProjectInputs, deps: &[Dependency]) -> ResolveInput {
    let mut input = ResolveInput {
        requirements: inputs.requirements_file.clone(),
        dependencies: deps
            .iter()
            .filter(|d| !TOOLS.contains(&d.name.as_str()))
            .map(|d| resolve::Dependency {
                name: d.name.clone(),
                constraint: d.constraint.clone(),
                source: d.cited.clone().unwrap_or_else(|| Source::Block { id: d.block.clone(), manifest: d.manifest.clone() }),
            })
            .collect(),
        ..Default::default()
    };
    let Some(config) = &inputs.config else { return input };
    let pin = |field: &str, value: String, span| {
        let at = config.location(span);
        Pin::cog_yaml(value, field, at.line as u32, at.col as u32)
    };
    let b = &config.build;
    input.gpu = b.gpu.as_ref().map(|g| {
        let at = config.location(g.span);
        Pin::cog_yaml(g.value, "build.gpu", at.line as u32, at.col as u32)
    });
    // As written: `3.11` and `3.11.4` mean different things to the resolver.
    // Without a `build` section nothing pins Python: the compat table's default row (Cog's
    // default, 3.13) applies.
    input.python_version =
        b.python_version.as_ref().map(|v| pin("build.python_version", v.value.to_string(), v.span));
    input.cuda = b.cuda.as_ref().map(|c| pin("build.cuda", c.value.clone(), c.span));
    input.cudnn = b.cudnn.as_ref().map(|c| pin("build.cudnn", c.value.clone(), c.span));
    input.python_packages = b
        .python_packages
        .iter()
        .enumerate()
        .map(|(i, p)| pin(&format!("build.python_packages[{i}]"), p.value.clone(), p.span))
        .collect();
    input
}

/// A source as one line of text: `cog.yaml:3:19 build.python_version`,
/// `requirements.txt:1`, `block `torch` (blocks.d/torch.toml)`, `compat/torch.toml:40`,
/// `default: ...`.
pub fn source_text(source: &Source) -> String {
    match source {
        Source::CogYaml { field, line, col } => format!("cog.yaml:{line}:{col} {field}"),
        Source::Requirements { path, line } => format!("{path}:{line}"),
        Source::File { path, field, line, col } => format!("{path}:{line}:{col} {field}"),
        Source::Block { id, manifest } => format!("block `{id}` ({manifest})"),
        Source::Table { file, line } => format!("{file}:{line}"),
        Source::Setting { name } => name.clone(),
        Source::Default { why } => format!("default: {why}"),
    }
}

fn to_plan(r: &resolve::Resolved) -> Resolved {
    let mut details = BTreeMap::new();
    details.insert("reason".to_string(), json!(r.reason));
    for (key, v) in [
        ("requested", &r.requested),
        ("variant", &r.variant),
        ("index_url", &r.index_url),
        ("package", &r.package),
    ] {
        if let Some(v) = v {
            details.insert(key.to_string(), json!(v));
        }
    }
    if !r.constraints.is_empty() {
        let list: Vec<Value> = r
            .constraints
            .iter()
            .map(|a| json!({"constraint": a.constraint, "source": source_text(&a.source)}))
            .collect();
        details.insert("constraints".to_string(), Value::Array(list));
    }
    if !r.wheels.is_empty() {
        details.insert("wheels".to_string(), json!(r.wheels));
    }
    Resolved { version: Some(r.version.clone()), source: source_text(&r.source), details }
}

/// `cog` or `uv`: see the module docs.
fn tool_value(
    name: &str,
    inputs: &ProjectInputs,
    input: &ResolveInput,
    wanted: &[&Dependency],
    resolution: &resolve::Resolution,
    tables: &CompatTables,
) -> Result<(Resolved, Option<resolve::Warning>), ComposeError> {
    let parsed: Vec<(&Dependency, SpecifierSet)> = wanted
        .iter()
        .map(|d| {
            SpecifierSet::parse(&d.constraint).map(|s| (*d, s)).map_err(|e| ComposeError::Tool {
                message: format!("block `{}` ({}) requires {name} `{}`, which is not a version constraint: {e}", d.block, d.manifest, d.constraint),
                conflict: false,
            })
        })
        .collect::<Result<_, _>>()?;
    let sdk = if name == "cog" {
        inputs.config.as_ref().and_then(|c| c.build.sdk_version.as_ref().map(|v| (c, v)))
    } else {
        None
    };
    let exact = parsed.iter().find_map(|(d, s)| s.exact().map(|v| (*d, v.to_string())));
    let mut warned = None;
    let mut runtime_details = BTreeMap::new();
    let (version, source, reason) = if name == "cog" {
        let pinned = match (sdk, exact) {
            (Some((config, v)), _) => {
                let at = config.location(v.span);
                Some((v.value.trim().to_string(), Source::CogYaml { field: "build.sdk_version".into(), line: at.line as u32, col: at.col as u32 }))
            }
            (None, Some((d, v))) => Some((v, Source::Block { id: d.block.clone(), manifest: d.manifest.clone() })),
            (None, None) => None,
        };
        let python = resolution.values.get("python").and_then(|p| Version::parse(&p.version).ok());
        let choice = resolve::resolve_runtime(input, tables, python.as_ref(), pinned)
            .map_err(|e| ComposeError::Resolve(Box::new(e)))?;
        warned = choice.warning;
        let plan = to_plan(&choice.resolved);
        runtime_details = plan.details;
        (choice.resolved.version, plan.source, choice.resolved.reason)
    } else {
        match exact {
            Some((d, v)) => (
                v.clone(),
                source_text(&Source::Block { id: d.block.clone(), manifest: d.manifest.clone() }),
                format!("block `{}` requires {name} =={v}", d.block),
            ),
            None => (DEFAULT_UV.to_string(), "default: the uv release cogpack pins".to_string(), format!("cogpack pins uv {DEFAULT_UV}")),
        }
    };
    let chosen = Version::parse(&version).map_err(|e| ComposeError::Tool {
        message: format!("{name} version `{version}` ({source}) is not a version: {e}"),
        conflict: false,
    })?;
    for (d, spec) in &parsed {
        if !spec.contains(&chosen) {
            return Err(ComposeError::Tool {
                message: format!(
                    "block `{}` ({}) requires {name} {}, but {name} is {version} ({source})",
                    d.block, d.manifest, d.constraint
                ),
                conflict: true,
            });
        }
    }
    let mut details = runtime_details;
    details.insert("reason".to_string(), json!(reason));
    let constraints: Vec<Value> = parsed
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(d, _)| json!({"constraint": d.constraint, "source": source_text(&Source::Block { id: d.block.clone(), manifest: d.manifest.clone() })}))
        .collect();
    if !constraints.is_empty() {
        let mut all = match details.remove("constraints") {
            Some(Value::Array(a)) => a,
            _ => vec![],
        };
        all.extend(constraints);
        details.insert("constraints".to_string(), Value::Array(all));
    }
    if name == "cog" {
        if let Some(config) = &inputs.config {
            let mut effective = config.effective_config();
            if resolution.gpu {
                if let Some(c) = resolution.values.get("cuda") {
                    effective.build.cuda = c.version.clone();
                }
                if let Some(c) = resolution.values.get("cudnn") {
                    effective.build.cudnn = c.version.clone();
                }
            }
            details.insert("config_label".to_string(), json!(effective.to_json()));
        }
    }
    Ok((Resolved { version: Some(version), source, details }, warned))
}

/// The generated context: the rewritten file as `requirements.txt`, and each file it still
/// includes (`-r`/`-c`, not inlined) at its path relative to the requirements file.
fn requirements_context(
    project: &Project,
    inputs: &ProjectInputs,
    rw: &crate::requirements::RewrittenRequirements,
) -> Result<Context, ComposeError> {
    let mut files = BTreeMap::new();
    files.insert(REQUIREMENTS_FILE.to_string(), GeneratedFile { contents: rw.text.clone(), mode: 0o644 });
    if let Some(main) = &inputs.requirements_file {
        let dir = std::path::Path::new(&main.path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let mut stack: Vec<&crate::requirements::RequirementsFile> = main.included.iter().map(|i| &i.file).collect();
        while let Some(file) = stack.pop() {
            stack.extend(file.included.iter().map(|i| &i.file));
            if rw.inlined.contains(&file.path) {
                continue;
            }
            let rel = crate::requirements::normalize_path(&file.path).unwrap_or_default();
            let name = match rel.strip_prefix(&format!("{dir}/")) {
                Some(inner) if !dir.is_empty() => inner.to_string(),
                _ if dir.is_empty() => rel.clone(),
                _ => {
                    return Err(ComposeError::Project(format!(
                        "`{}` includes `{rel}`, which is not in its directory or below; cogpack places included files next to the requirements file\n  help: move `{rel}` under `{dir}/`",
                        main.path
                    )))
                }
            };
            let text = project
                .read_text(&rel, crate::script::READ_LIMIT)
                .map_err(|e| ComposeError::Project(format!("`{rel}` (included by `{}`): {e}", main.path)))?;
            files.insert(name, GeneratedFile { contents: text, mode: 0o644 });
        }
    }
    Ok(Context::Generated { files })
}

/// A resolver warning as a diagnostic; a cog.yaml source points into cog.yaml.
fn warning(inputs: &ProjectInputs, w: &resolve::Warning) -> Diagnostic {
    let mut d = Diagnostic::new(Severity::Warning, "resolve::warning", w.message.clone()).with_help_opt(w.help.clone());
    match (&w.source, &inputs.config) {
        (Some(Source::CogYaml { line, col, field }), Some(config)) => {
            let file = config.source();
            match file.offset_of(*line as usize, *col as usize) {
                Some(at) => {
                    let end = file.text()[at..].find('\n').map_or(file.text().len(), |i| at + i);
                    d = d.with_primary(file, crate::diagnostics::Span::new(at, end), format!("{field} is set here"));
                }
                None => d.message = format!("{} (cog.yaml:{line}:{col} {field})", d.message),
            }
        }
        (Some(source), _) => d.message = format!("{} ({})", d.message, source_text(source)),
        (None, _) => {}
    }
    d
}
