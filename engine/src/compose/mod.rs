//! Composition: from a project and the registry of manifests to a validated [`Plan`].
//!
//! [`compose`] runs, in this order:
//! 1. reads and checks `cog.yaml` ([`crate::cog_yaml::load`]; scripts get it as a plain map
//!    made from the same parse) and the requirements file with its includes ([`inputs`]);
//! 2. tries the stacks in order; the first whose detect passes wins;
//! 3. orders the stack's blocks ([`crate::dag`]) and evaluates each block's detect;
//! 4. collects the dependencies of the blocks that fired (static ones and the ones their
//!    dependencies scripts return) and resolves versions with the compat resolver
//!    ([`resolve::resolve_versions`]): the plan's `resolved` object, the rewritten
//!    requirements as the generated context `requirements`, and warnings;
//! 5. runs the plan scripts in block order (a script may `plan.skip(reason)`, which undoes
//!    what it added and records the block as not fired);
//! 6. finishes the plan: stages sorted by phase (stable), default inputs filled in with the
//!    previous stage, context exclusions applied, the stack's export defaults overlaid with
//!    the blocks' export changes; then [`crate::plan::validate`], every violation reported.

mod detect;
mod error;
mod ignored;
pub mod inputs;
pub mod resolve;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use detect::{config_value, is_set, Check, CheckOutcome, DetectReport};
pub use error::ComposeError;
pub use inputs::{read_inputs, ProjectInputs};
pub use crate::resolve::PackageIndexes;
pub use resolve::{resolve_versions, source_text, Versions, DEFAULT_COG, DEFAULT_UV, REQUIREMENTS_CONTEXT, REQUIREMENTS_FILE};

use crate::diagnostics::{Diagnostic, RenderStyle, Span};
use crate::manifest::{Block, Registry, Stack};
use crate::plan::{BlockOutcome, Context, Input, Mount, Op, Plan, Resolved, Violation};
use crate::project::Project;
use crate::script::{dynamic_to_json, ExportChange, PlanApi, ProjectView, ScriptContext};

/// A dependency a fired block declared, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// `python`, `torch`, `cuda`, `cog`, `uv`, ...
    pub name: String,
    /// A version requirement (`>=3.10`, `==2.0.1+cu118`, `*`).
    pub constraint: String,
    /// The block that declared it.
    pub block: String,
    /// That block's manifest (`blocks.d/torch.toml`).
    pub manifest: String,
    /// Whether a script emitted it (else it is static in the manifest).
    pub from_script: bool,
    /// Where the project itself states the constraint, when the script cited a value of a
    /// project file (`file` and `field`): the resolver then names that file, line and column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cited: Option<crate::resolve::Source>,
}

/// Everything composition found, for `plan` and `explain`.
#[derive(Debug, Clone)]
pub struct Composition {
    pub plan: Plan,
    /// Stacks tried, in order, with their detect reports (the last one won).
    pub stacks_tried: Vec<(String, DetectReport)>,
    /// Block ids in execution order (every block the stack considered).
    pub order: Vec<String>,
    /// Each considered block's detect report.
    pub detections: BTreeMap<String, DetectReport>,
    /// Dependencies of the fired blocks, in block order.
    pub dependencies: Vec<Dependency>,
    /// Export changes, with the block that made each.
    pub exports: Vec<(String, ExportChange)>,
    /// Warnings for the user (deprecated cog.yaml keys, resolver warnings), in that order;
    /// the CLI prints them on stderr. They never enter the plan.
    pub warnings: Vec<Diagnostic>,
    /// The resolver's full answer (the plan's `resolved` object is made from it).
    pub resolution: crate::resolve::Resolution,
}

/// Composes the plan for a project from the registry. See the module docs for the steps.
pub fn compose(registry: &Registry, project: Arc<Project>) -> Result<Composition, ComposeError> {
    compose_with(registry, project, &PackageIndexes::default())
}

/// [`compose`] with the package indexes the user set for the build (`--index-url`, ...).
pub fn compose_with(registry: &Registry, project: Arc<Project>, indexes: &PackageIndexes) -> Result<Composition, ComposeError> {
    let inputs = read_inputs(&project)?;
    ignored::check(&project, inputs.config.as_ref())?;
    let view: Arc<dyn ProjectView> = project.clone();
    let ctx = ScriptContext::new(view, &inputs.cog, &inputs.requirements);

    // Stack.
    let (winner, stacks_tried) = select_stack(registry, &ctx, &inputs.cog)?;
    let Some(stack) = winner else {
        return Err(ComposeError::NoStack {
            tried: stacks_tried.into_iter().map(|(id, r)| (id, r.reason)).collect(),
        });
    };

    // Blocks, ordered, detected.
    let blocks = registry.blocks_for_stack(stack);
    let position: BTreeMap<&str, usize> = stack.blocks.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let order = crate::dag::order(&blocks, &|id| position.get(id).copied().unwrap_or(usize::MAX))
        .map_err(|e| ComposeError::Manifest(e.into()))?;
    let by_id: BTreeMap<&str, &Block> = blocks.iter().map(|b| (b.id.as_str(), *b)).collect();
    let mut detections = BTreeMap::new();
    for id in &order {
        let block = by_id[id.as_str()];
        let params = params_json(block);
        let report = detect::evaluate(&block.detect, &ctx, &inputs.cog, &owner(block), &block.id, &params)?;
        detections.insert(id.clone(), report);
    }

    // Dependencies and resolution.
    let mut dependencies = Vec::new();
    for id in order.iter().filter(|id| detections[*id].fired) {
        dependencies.extend(block_dependencies(by_id[id.as_str()], &ctx, &project)?);
    }
    let versions = resolve_versions(&project, &inputs, &dependencies, indexes)?;
    let resolved_json = serde_json::to_value(&versions.values).unwrap_or_default();

    // Plan scripts.
    let api = PlanApi::new();
    {
        let mut st = api.state();
        st.fired = detections.iter().map(|(id, r)| (id.clone(), r.fired)).collect();
        // Made by cogpack, not a block: blocks bind it (`context:requirements`).
        if let Some(ctx) = &versions.requirements {
            st.contexts.insert(REQUIREMENTS_CONTEXT.to_string(), (ctx.clone(), String::new()));
        }
    }
    let mut outcomes = Vec::new();
    for id in &order {
        let block = by_id[id.as_str()];
        let report = &detections[id];
        let mut outcome = BlockOutcome {
            id: id.clone(),
            fired: report.fired,
            reason: report.reason.clone(),
            source: block.source.plan_name(),
        };
        if report.fired {
            if let Some(script) = &block.plan {
                let snapshot = {
                    let mut st = api.state();
                    st.block = block.id.clone();
                    st.phase = Some(block.phase);
                    st.skipped = None;
                    st.clone()
                };
                let _ = ctx.run_plan(script, &owner(block), &block.id, &params_json(block), &resolved_json, &api)
                    .map_err(|e| ComposeError::Script(Box::new(e)))?;
                let mut st = api.state();
                if let Some(why) = st.skipped.take() {
                    *st = snapshot;
                    st.fired.insert(id.clone(), false);
                    outcome.fired = false;
                    outcome.reason = format!("skipped by its plan script: {why}");
                }
            }
        }
        outcomes.push(outcome);
    }

    check_capabilities(&order, &by_id, &outcomes)?;
    let exports = api.state().export.clone();
    let plan = finish(stack, outcomes, versions.values, &api)?;
    let mut warnings = inputs.warnings;
    warnings.extend(versions.warnings);
    Ok(Composition {
        plan,
        stacks_tried,
        order,
        detections,
        dependencies,
        exports,
        warnings,
        resolution: versions.resolution,
    })
}

/// Tries the stacks in the registry's order ([`Registry::stacks`]); the first whose detect passes
/// wins. Returns the winner and every stack tried with its detect report (the winner last).
fn select_stack<'r>(
    registry: &'r Registry,
    ctx: &ScriptContext,
    cog: &serde_json::Value,
) -> Result<(Option<&'r Stack>, Vec<(String, DetectReport)>), ComposeError> {
    let empty = serde_json::Value::Object(Default::default());
    let mut tried = Vec::new();
    for stack in registry.stacks() {
        let owner = format!("stack `{}`", stack.id);
        let report = detect::evaluate(&stack.detect, ctx, cog, &owner, &stack.id, &empty)?;
        let fired = report.fired;
        tried.push((stack.id.clone(), report));
        if fired {
            return Ok((Some(stack), tried));
        }
    }
    Ok((None, tried))
}

/// Which stack a project gets, and why: every stack tried, in order, with its detect report
/// (the last one won when it fired). `cogpack stacks list DIR` shows this.
pub fn stacks_for(registry: &Registry, project: Arc<Project>) -> Result<Vec<(String, DetectReport)>, ComposeError> {
    let inputs = read_inputs(&project)?;
    let view: Arc<dyn ProjectView> = project;
    let ctx = ScriptContext::new(view, &inputs.cog, &inputs.requirements);
    Ok(select_stack(registry, &ctx, &inputs.cog)?.1)
}

fn owner(block: &Block) -> String {
    format!("block `{}`", block.id)
}

fn params_json(block: &Block) -> serde_json::Value {
    serde_json::Value::Object(block.params.clone().into_iter().collect())
}

/// A fired block's static and script-emitted dependencies.
fn block_dependencies(block: &Block, ctx: &ScriptContext, project: &Project) -> Result<Vec<Dependency>, ComposeError> {
    let manifest = block.source.file.path().to_string();
    let mut out: Vec<Dependency> = block
        .dependencies
        .iter()
        .map(|d| Dependency {
            name: d.name.clone(),
            constraint: d.constraint.clone(),
            block: block.id.clone(),
            manifest: manifest.clone(),
            from_script: false,
            cited: None,
        })
        .collect();
    if let Some(script) = &block.dependencies_script {
        let value = ctx.run(script, &owner(block), &block.id, &params_json(block)).map_err(|e| ComposeError::Script(Box::new(e)))?;
        let bad = |m: String| {
            ComposeError::BadScriptResult(
                Diagnostic::error(
                    "compose::bad_script_result",
                    format!("the dependencies script of block `{}` returned {m}", block.id),
                )
                .with_primary(&script.origin.file, Span::empty(script.origin.content_start), "the script starts here")
                .with_help("return an array of `#{ name: \"torch\", constraint: \"==2.1.0\" }` (or `[]`); add `file` and `field` to cite the project file that states the constraint"),
            )
        };
        if !value.is_unit() {
            let json = dynamic_to_json(&value).map_err(bad)?;
            let items = json.as_array().ok_or_else(|| bad(format!("`{json}`, not an array")))?;
            for item in items {
                let name = item.get("name").and_then(|v| v.as_str());
                let constraint = item.get("constraint").and_then(|v| v.as_str()).unwrap_or("*");
                let extra = item.as_object().and_then(|o| o.keys().find(|k| !["name", "constraint", "file", "field"].contains(&k.as_str())));
                let text = |key: &str| item.get(key).and_then(|v| v.as_str());
                match (name, extra) {
                    (Some(name), None) if !name.trim().is_empty() => {
                        let cited = match (text("file"), text("field")) {
                            (None, None) => None,
                            (Some(file), Some(field)) => Some(cite(project, file, field).map_err(|why| bad(format!("an item citing `{field}` of `{file}`, {why}")))?),
                            _ => return Err(bad(format!("an item with only one of `file` and `field`: {item}"))),
                        };
                        out.push(Dependency {
                            name: name.to_string(),
                            constraint: constraint.trim().to_string(),
                            block: block.id.clone(),
                            manifest: manifest.clone(),
                            from_script: true,
                            cited,
                        })
                    }
                    (_, Some(key)) => return Err(bad(format!("an item with an unknown key `{key}`"))),
                    _ => return Err(bad(format!("an item without a `name`: {item}"))),
                }
            }
        }
    }
    Ok(out)
}

/// Locates a value of a project JSON file a dependency cites: the source the resolver names.
fn cite(project: &Project, file: &str, field: &str) -> Result<crate::resolve::Source, String> {
    let doc = project.read_json(file, crate::script::READ_LIMIT).map_err(|e| e.to_string())?;
    let offset = doc.offset_of(field).ok_or_else(|| format!("which `{file}` does not have"))?;
    let text = project.read_text(file, crate::script::READ_LIMIT).map_err(|e| e.to_string())?;
    let at = crate::diagnostics::SourceFile::new(file.to_string(), text).location(Span::empty(offset));
    Ok(crate::resolve::Source::File { path: file.to_string(), field: field.to_string(), line: at.line as u32, col: at.col as u32 })
}

/// Every fired block's `requires` must be provided by a fired block.
fn check_capabilities(order: &[String], by_id: &BTreeMap<&str, &Block>, outcomes: &[BlockOutcome]) -> Result<(), ComposeError> {
    let fired: Vec<&Block> = outcomes.iter().filter(|o| o.fired).map(|o| by_id[o.id.as_str()]).collect();
    for id in order {
        let block = by_id[id.as_str()];
        if !fired.iter().any(|b| b.id == block.id) {
            continue;
        }
        for r in &block.requires {
            if !fired.iter().any(|b| b.provides.contains(&r.id)) {
                let providers: Vec<String> = by_id
                    .values()
                    .filter(|b| b.provides.contains(&r.id))
                    .map(|b| format!("`{}`", b.id))
                    .collect();
                return Err(ComposeError::MissingCapability(
                    Diagnostic::error(
                        "compose::missing_capability",
                        format!("block `{}` fired and requires `{}`, but no block that fired provides it", block.id, r.id),
                    )
                    .with_primary(&block.source.file, Span::from(r.span.clone()), "required here")
                    .with_help(format!("it is provided by {}, which did not fire for this project", providers.join(", "))),
                ));
            }
        }
    }
    Ok(())
}

/// Turns the drafted state into the final plan and validates it.
fn finish(
    stack: &Stack,
    outcomes: Vec<BlockOutcome>,
    resolved: BTreeMap<String, Resolved>,
    api: &PlanApi,
) -> Result<Plan, ComposeError> {
    let st = api.state().clone();
    let mut plan = Plan::new(stack.id.clone());
    plan.blocks = outcomes;
    plan.resolved = resolved;
    let mut violations = Vec::new();

    // Stages: by phase, stable; the default input is the previous stage.
    let mut drafts = st.stages;
    drafts.sort_by_key(|d| d.stage.phase);
    let mut previous: Option<String> = None;
    for draft in drafts {
        let mut stage = draft.stage;
        stage.input = match (draft.input, &previous) {
            (Some(input), _) => input,
            (None, Some(prev)) => Input::Stage { stage: prev.clone() },
            (None, None) => {
                violations.push(Violation {
                    at: format!("stage {}", stage.id),
                    message: format!(
                        "block `{}` gave no input and no stage comes before it; name one (`image:...`, `scratch`, ...)",
                        stage.block
                    ),
                });
                Input::Scratch
            }
        };
        if !stage.detached {
            previous = Some(stage.id.clone());
        }
        plan.stages.push(stage);
    }

    // Contexts and exclusions. A context cogpack made that no stage reads is left out.
    plan.contexts = st
        .contexts
        .into_iter()
        .filter(|(name, (_, owner))| !owner.is_empty() || reads_context(&plan.stages, name))
        .map(|(name, (ctx, _))| (name, ctx))
        .collect();
    for (name, patterns, block) in st.excludes {
        match plan.contexts.get_mut(&name) {
            Some(Context::Local { exclude, .. }) => {
                for p in patterns {
                    if !exclude.contains(&p) {
                        exclude.push(p);
                    }
                }
            }
            Some(Context::Generated { .. }) => violations.push(Violation {
                at: format!("context {name}"),
                message: format!("block `{block}` excludes files from a generated context"),
            }),
            None => violations.push(Violation {
                at: format!("context {name}"),
                message: format!("block `{block}` excludes files from context `{name}`, which no block added"),
            }),
        }
    }

    // Export.
    plan.export = stack.export.clone();
    for (_, change) in st.export {
        apply_export(&mut plan.export, change);
    }

    violations.extend(crate::plan::validate(&plan));
    if violations.is_empty() {
        Ok(plan)
    } else {
        Err(ComposeError::InvalidPlan { stack: stack.id.clone(), violations })
    }
}

/// Whether any stage reads the named context (as its input, a copy source or a mount).
fn reads_context(stages: &[crate::plan::Stage], name: &str) -> bool {
    let is = |input: &Input| matches!(input, Input::Context { context } if context == name);
    stages.iter().any(|s| {
        is(&s.input)
            || s.ops.iter().any(|op| match op {
                Op::Copy(c) => is(&c.from),
                Op::Exec(e) => e.mounts.iter().any(|m| matches!(m, Mount::Bind { from, .. } if is(from))),
                _ => false,
            })
    })
}

fn apply_export(export: &mut crate::plan::ExportConfig, change: ExportChange) {
    match change {
        ExportChange::Env { key, value } => {
            export.env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
            export.env.push(format!("{key}={value}"));
        }
        ExportChange::Cmd(c) => export.cmd = c,
        ExportChange::Entrypoint(c) => export.entrypoint = c,
        ExportChange::Workdir(w) => export.workdir = Some(w),
        ExportChange::User(u) => export.user = Some(u),
        ExportChange::Label { key, value } => {
            export.label_files.remove(&key);
            export.labels.insert(key, value);
        }
        ExportChange::LabelFile { key, file } => {
            export.labels.remove(&key);
            export.label_files.insert(key, file);
        }
        ExportChange::Port(p) => {
            if !export.exposed_ports.contains(&p) {
                export.exposed_ports.push(p);
            }
        }
        ExportChange::Volume(v) => {
            if !export.volumes.contains(&v) {
                export.volumes.push(v);
            }
        }
    }
}

/// What `explain` needs to know about one block in one project.
#[derive(Debug, Clone)]
pub struct BlockInProject {
    /// The stack that won, if any.
    pub stack: Option<String>,
    /// Whether that stack considers the block.
    pub considered: bool,
    /// Its detect report (evaluated even when the stack does not consider it).
    pub detect: DetectReport,
    /// The outcome recorded in the plan (absent when not considered or composition failed).
    pub outcome: Option<BlockOutcome>,
    /// Stages it added.
    pub stages: Vec<crate::plan::Stage>,
    /// Export changes it made.
    pub exports: Vec<ExportChange>,
    /// Dependencies it declared.
    pub dependencies: Vec<Dependency>,
    /// Why the full composition failed, if it did.
    pub compose_error: Option<ComposeError>,
}

/// Evaluates one block against a project for `blocks explain ID DIR`.
pub fn explain_block(registry: &Registry, block: &Block, project: Arc<Project>) -> Result<BlockInProject, ComposeError> {
    let inputs = read_inputs(&project)?;
    ignored::check(&project, inputs.config.as_ref())?;
    let view: Arc<dyn ProjectView> = project.clone();
    let ctx = ScriptContext::new(view, &inputs.cog, &inputs.requirements);
    let detect = detect::evaluate(&block.detect, &ctx, &inputs.cog, &owner(block), &block.id, &params_json(block))?;
    let mut out = BlockInProject {
        stack: None,
        considered: false,
        detect,
        outcome: None,
        stages: Vec::new(),
        exports: Vec::new(),
        dependencies: Vec::new(),
        compose_error: None,
    };
    match compose(registry, project) {
        Ok(c) => {
            out.stack = Some(c.plan.stack.clone());
            out.considered = c.order.contains(&block.id);
            out.outcome = c.plan.blocks.iter().find(|o| o.id == block.id).cloned();
            out.stages = c.plan.stages.iter().filter(|s| s.block == block.id).cloned().collect();
            out.exports = c.exports.iter().filter(|(b, _)| *b == block.id).map(|(_, e)| e.clone()).collect();
            out.dependencies = c.dependencies.into_iter().filter(|d| d.block == block.id).collect();
        }
        Err(e) => out.compose_error = Some(e),
    }
    Ok(out)
}

/// Loads manifests for a project directory and composes its plan: the whole `cogpack plan`.
pub fn plan_dir(dir: &std::path::Path, extra_dirs: &[std::path::PathBuf], indexes: &PackageIndexes) -> Result<Composition, PlanDirError> {
    // Resolution reads the compat tables after the manifests load: meanwhile, check on
    // another core the ones every plan reads (each table is checked on first use; a CPU
    // project never reads the framework tables).
    std::thread::spawn(|| {
        let tables = crate::compat::CompatTables::builtin();
        let _ = (tables.base_images(), tables.python(), tables.cog());
    });
    let project = Project::open(dir).map_err(|e| PlanDirError::Compose(ComposeError::Project(e.to_string())))?;
    // Only the blocks that fire run their plan scripts: the others need not compile.
    let sources = crate::manifest::Sources { compile_on_use: true, ..crate::manifest::Sources::from_env(extra_dirs, Some(dir)) };
    let registry = Registry::load(&sources).map_err(PlanDirError::Load)?;
    compose_with(&registry, Arc::new(project), indexes).map_err(PlanDirError::Compose)
}

/// A failure of [`plan_dir`]: the manifests, or the composition.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanDirError {
    #[error(transparent)]
    Load(crate::manifest::LoadError),
    #[error(transparent)]
    Compose(ComposeError),
}

impl PlanDirError {
    /// Exit code of the failure class.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlanDirError::Load(_) => crate::diagnostics::exit::MANIFEST,
            PlanDirError::Compose(e) => e.exit_code(),
        }
    }

    /// As located diagnostics (see [`ComposeError::diagnostics`]).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            PlanDirError::Load(e) => e.diagnostics(),
            PlanDirError::Compose(e) => e.diagnostics(),
        }
    }

    /// The error as text for stderr (see [`ComposeError::render`]): what the CLI prints.
    pub fn render(&self, color: bool) -> String {
        match self {
            PlanDirError::Load(e) => {
                let style = if color { RenderStyle::Colored } else { RenderStyle::Plain };
                crate::diagnostics::render(&e.diagnostics(), style)
            }
            PlanDirError::Compose(e) => e.render(color),
        }
    }
}

#[cfg(test)]
mod tests;
