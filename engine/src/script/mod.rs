//! The sandboxed Rhai engine that runs block and stack scripts.
//!
//! One [`rhai::Engine`] is configured once per process ([`engine`]): a raw engine with an
//! explicit list of packages (no `eval`, no module loading, no `sleep`, no time, no printing),
//! strict variables, and limits on operations, call depth, expression depth and
//! string/array/map sizes. A wall-clock limit ([`TIME_LIMIT`]) stops a script that is slow
//! without being long, so `loop {}` is stopped and named in well under a second or two; all
//! runs of one [`ScriptContext`] share [`PLAN_TIME_BUDGET`], and a run may hold at most
//! [`MAX_SCRIPT_MEMORY`] ([`memory`]). Time and memory are checked before every operation.
//!
//! Scripts are compiled when manifests load ([`compile`]), so a syntax error is a manifest
//! diagnostic at the manifest's `file:line:col`; when a plan is composed, plan and
//! dependencies scripts compile on their first run instead ([`compile_on_use`]: only the
//! blocks that fire run them), with the same diagnostic. They never see the filesystem: they get a
//! read-only context ([`ScriptContext`]) with
//!
//! | variable       | what                                                          | scripts |
//! |----------------|---------------------------------------------------------------|---------|
//! | `project`      | `has_file(p)`, `is_dir(p)`, `glob(pat)`, `read_text(p)`, `read_json(p)`, `file_size(p)`, `large_files(min_bytes)`, `has_file_under(dir, suffixes)` inside the project root, `openapi_schema(ref)` or `openapi_schema(#{ predict, train })` (see [`crate::schema`]) | all |
//! | `cog`          | cog.yaml as a plain map (`#{}` when absent)                   | all     |
//! | `requirements` | the Python requirement lines (`#{name, specifier, marker, line}`) | all |
//! | `params`       | the block's `[params]`                                        | all     |
//! | `block`        | the block's (or stack's) id                                   | all     |
//! | `resolved`     | resolved versions: `resolved.python.version`, `resolved.base_image.version` | plan |
//! | `plan`         | the plan builder (see [`api`])                                | plan    |
//!
//! and a few pure helpers: `shell_quote(s)`, `shell_join(array)`, `to_json(value)`,
//! `lookup(map, "a.b.c")`, `invalid_project(message)`.

pub mod api;
mod convert;
mod engine;
pub mod memory;
pub mod project;
pub mod reqlines;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use rhai::{Dynamic, Position, Scope, AST};

use crate::diagnostics::{Diagnostic, SourceFile, Span};

pub use api::{ExportChange, PlanApi, PlanState, StageApi};
pub use convert::{dynamic_to_json, json_to_dynamic};
pub use engine::{engine, shell_quote, MAX_OPERATIONS, PLAN_TIME_BUDGET, TIME_LIMIT};
pub use memory::MAX_SCRIPT_MEMORY;
pub use project::{ProjectError, ProjectView, READ_LIMIT};

/// Which kind of script, which decides the variables it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `[detect] script`: returns whether the block (or stack) applies.
    Detect,
    /// `[dependencies] script`: returns extra dependencies.
    Dependencies,
    /// `[plan] script`: adds to the plan.
    Plan,
}

impl ScriptKind {
    /// The scope variables a script of this kind may use.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            ScriptKind::Detect | ScriptKind::Dependencies => &["project", "cog", "requirements", "params", "block"],
            ScriptKind::Plan => &["project", "cog", "requirements", "params", "block", "resolved", "plan"],
        }
    }

    /// `detect`, `dependencies` or `plan`.
    pub fn name(self) -> &'static str {
        match self {
            ScriptKind::Detect => "detect",
            ScriptKind::Dependencies => "dependencies",
            ScriptKind::Plan => "plan",
        }
    }
}

impl fmt::Display for ScriptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a script's text sits inside its manifest, to map Rhai positions to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOrigin {
    /// The manifest.
    pub file: Arc<SourceFile>,
    /// Byte offset in the manifest of the script's first character.
    pub content_start: usize,
    /// Whether the script text is verbatim in the file (a literal `'''` string), so that
    /// columns map exactly; escapes in basic strings can shift them.
    pub verbatim: bool,
}

impl ScriptOrigin {
    /// The origin of a TOML string value whose token (quotes included) is `token` in `file`.
    pub fn of_toml_string(file: &Arc<SourceFile>, token: Range<usize>) -> ScriptOrigin {
        let text = file.text();
        let tok = text.get(token.clone()).unwrap_or("");
        let mut start = token.start;
        let mut verbatim = false;
        for (delim, literal, multiline) in
            [("'''", true, true), ("\"\"\"", false, true), ("'", true, false), ("\"", false, false)]
        {
            if tok.starts_with(delim) {
                start += delim.len();
                verbatim = literal;
                if multiline {
                    if text[start..].starts_with("\r\n") {
                        start += 2;
                    } else if text[start..].starts_with('\n') {
                        start += 1;
                    }
                }
                break;
            }
        }
        ScriptOrigin { file: Arc::clone(file), content_start: start, verbatim }
    }

    /// The byte span in the manifest of a position inside the script.
    pub fn span_of(&self, pos: Position) -> Range<usize> {
        let text: &str = self.file.text();
        let (Some(line), Some(col)) = (pos.line(), pos.position()) else {
            return self.content_start..self.content_start;
        };
        let mut offset = self.content_start;
        for _ in 1..line {
            match text[offset..].find('\n') {
                Some(i) => offset += i + 1,
                None => break,
            }
        }
        let line_text = &text[offset..text[offset..].find('\n').map_or(text.len(), |i| offset + i)];
        let byte_col: usize = line_text.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
        let start = offset + byte_col;
        let word = text[start..]
            .char_indices()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = (start + word.max(1)).min(text.len()).max(start);
        start..end
    }

    /// `file:line:col` of the script's first character.
    pub fn start_location(&self) -> String {
        self.file.location(Span::empty(self.content_start)).to_string()
    }
}

/// A script and where it came from, compiled at load ([`compile`]) or on its first run
/// ([`compile_on_use`]).
#[derive(Clone)]
pub struct Script {
    compiled: Arc<Compiled>,
    pub kind: ScriptKind,
    pub origin: ScriptOrigin,
}

/// A script's text and, once compiled, its AST or why it does not compile.
struct Compiled {
    text: String,
    owner: String,
    ast: std::sync::OnceLock<Result<AST, Diagnostic>>,
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script").field("kind", &self.kind).field("at", &self.origin.start_location()).finish()
    }
}

impl Script {
    /// The AST, compiling it now if this is the first use; a syntax error, or a variable the
    /// kind does not provide, is a diagnostic at the manifest's line and column.
    pub fn ast(&self) -> Result<&AST, Diagnostic> {
        let c = &self.compiled;
        c.ast.get_or_init(|| compile_ast(self.kind, &c.text, &self.origin, &c.owner)).as_ref().map_err(Clone::clone)
    }
}

/// Compiles a script now (see [`Script::ast`] for the errors).
pub fn compile(kind: ScriptKind, text: &str, origin: ScriptOrigin, owner: &str) -> Result<Script, Diagnostic> {
    let script = compile_on_use(kind, text, origin, owner);
    script.ast()?;
    Ok(script)
}

/// A script compiled when it first runs: `cogpack plan` loads every manifest but runs only
/// the plan scripts of the blocks that fire, and compiling the rest was a fifth of its time.
pub fn compile_on_use(kind: ScriptKind, text: &str, origin: ScriptOrigin, owner: &str) -> Script {
    let compiled = Compiled { text: text.to_owned(), owner: owner.to_owned(), ast: std::sync::OnceLock::new() };
    Script { compiled: Arc::new(compiled), kind, origin }
}

fn compile_ast(kind: ScriptKind, text: &str, origin: &ScriptOrigin, owner: &str) -> Result<AST, Diagnostic> {
    let mut scope = Scope::new();
    for name in kind.variables() {
        scope.push_dynamic(*name, Dynamic::UNIT);
    }
    engine().compile_with_scope(&scope, text).map_err(|err| {
        let span = origin.span_of(err.position());
        let message = err.err_type().to_string();
        let help = if message.contains("Undefined variable") || message.contains("Variable not found") {
            Some(format!(
                "a {kind} script can use the variables {}; functions defined with `fn` see only their parameters",
                kind.variables().iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
            ))
        } else if message.contains("eval") {
            Some("scripts cannot use `eval`".into())
        } else {
            None
        };
        Diagnostic::error("script::compile", format!("the {kind} script of {owner} does not compile: {message}"))
            .with_primary(&origin.file, span.into(), "here")
            .with_help_opt(help)
    })
}

/// A failure while running a script.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScriptError {
    /// A script compiled on first use ([`compile_on_use`]) that does not compile.
    #[error("{}", .0.message)]
    Compile(Diagnostic),
    /// Stopped by a limit: too many operations, too long, too deep, too much data.
    #[error("the {kind} script of {owner} was stopped: {why}")]
    Runaway { owner: String, kind: ScriptKind, why: String, origin: ScriptOrigin, span: Range<usize> },
    /// The script failed (a bad call, a type error, `throw`, a bad plan-API argument).
    #[error("the {kind} script of {owner} failed: {message}")]
    Runtime { owner: String, kind: ScriptKind, message: String, origin: ScriptOrigin, span: Range<usize> },
    /// The script called `invalid_project(message)`: the project, not the block, is at fault.
    #[error("{message}")]
    InvalidProject {
        owner: String,
        message: String,
        help: Option<String>,
        /// Where in a project file the problem is, when the script API knows it.
        at: Option<(Arc<SourceFile>, Span)>,
        origin: ScriptOrigin,
        span: Range<usize>,
    },
}

impl ScriptError {
    /// The error as a located diagnostic.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            ScriptError::Compile(d) => d.clone(),
            ScriptError::Runaway { origin, span, .. } => Diagnostic::error("script::runaway", self.to_string())
                .with_primary(&origin.file, span.clone().into(), "stopped here")
                .with_help(format!(
                    "a script may run at most {MAX_OPERATIONS} operations and {} s and hold {} MiB; all scripts of a \
                     plan together {} s; look for a loop that never ends or data that keeps growing",
                    TIME_LIMIT.as_secs(),
                    MAX_SCRIPT_MEMORY >> 20,
                    PLAN_TIME_BUDGET.as_secs()
                )),
            ScriptError::Runtime { origin, span, .. } => {
                Diagnostic::error("script::runtime", self.to_string()).with_primary(&origin.file, span.clone().into(), "here")
            }
            ScriptError::InvalidProject { owner, origin, span, message, help, at } => {
                let d = Diagnostic::error("script::invalid_project", message.clone());
                let d = match at {
                    Some((file, at)) => d.with_primary(file, *at, "here"),
                    None => d,
                };
                d.with_note(format!("reported by {owner}, {}", origin.file.location(Span::from(span.clone()))))
                    .with_help_opt(help.clone())
            }
        }
    }

    /// Whether the project (not the manifest) is at fault.
    pub fn is_project_error(&self) -> bool {
        matches!(self, ScriptError::InvalidProject { .. })
    }
}

/// What scripts see of a project: shared by every script run of one composition.
#[derive(Clone)]
pub struct ScriptContext {
    project: Arc<dyn ProjectView>,
    cog: Dynamic,
    requirements: Dynamic,
    /// Time the scripts run with this context have taken, against `budget`.
    spent: Arc<std::sync::Mutex<std::time::Duration>>,
    /// How long all scripts run with this context may take together ([`PLAN_TIME_BUDGET`]).
    budget: std::time::Duration,
}

impl fmt::Debug for ScriptContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptContext").finish_non_exhaustive()
    }
}

impl ScriptContext {
    /// A context for a project, its cog.yaml (as JSON) and its requirement lines.
    pub fn new(project: Arc<dyn ProjectView>, cog: &serde_json::Value, requirements: &[reqlines::RequirementLine]) -> ScriptContext {
        let reqs: rhai::Array = requirements.iter().map(|r| r.to_dynamic()).collect();
        ScriptContext {
            project,
            cog: json_to_dynamic(cog),
            requirements: Dynamic::from_array(reqs),
            spent: Arc::default(),
            budget: PLAN_TIME_BUDGET,
        }
    }

    /// The same context with another total time budget for its scripts.
    pub fn with_time_budget(mut self, budget: std::time::Duration) -> ScriptContext {
        self.budget = budget;
        self
    }

    /// The project view.
    pub fn project(&self) -> &Arc<dyn ProjectView> {
        &self.project
    }

    fn scope(&self, owner_id: &str, params: &serde_json::Value) -> Scope<'static> {
        let mut scope = Scope::new();
        scope.push_dynamic("project", Dynamic::from(project::ProjectApi::new(self.project.clone())));
        scope.push_dynamic("cog", self.cog.clone());
        scope.push_dynamic("requirements", self.requirements.clone());
        scope.push_dynamic("params", json_to_dynamic(params));
        scope.push_dynamic("block", Dynamic::from(owner_id.to_string()));
        scope
    }

    /// Runs a detect or dependencies script and returns its value.
    pub fn run(&self, script: &Script, owner: &str, owner_id: &str, params: &serde_json::Value) -> Result<Dynamic, ScriptError> {
        let mut scope = self.scope(owner_id, params);
        self.eval(script, owner, &mut scope)
    }

    /// Runs a plan script with the resolved versions and the plan builder.
    pub fn run_plan(
        &self,
        script: &Script,
        owner: &str,
        owner_id: &str,
        params: &serde_json::Value,
        resolved: &serde_json::Value,
        plan: &PlanApi,
    ) -> Result<Dynamic, ScriptError> {
        let mut scope = self.scope(owner_id, params);
        scope.push_dynamic("resolved", json_to_dynamic(resolved));
        scope.push_dynamic("plan", Dynamic::from(plan.clone()));
        self.eval(script, owner, &mut scope)
    }

    /// Runs a script within its own limits and what is left of the plan's time budget.
    fn eval(&self, script: &Script, owner: &str, scope: &mut Scope<'static>) -> Result<Dynamic, ScriptError> {
        let spent = *self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let started = std::time::Instant::now();
        let ast = script.ast().map_err(ScriptError::Compile)?;
        let result = engine::with_limits(self.budget.saturating_sub(spent), || engine().eval_ast_with_scope::<Dynamic>(scope, ast));
        *self.spent.lock().unwrap_or_else(|p| p.into_inner()) += started.elapsed();
        result.map_err(|err| classify(*err, script, owner, self.budget))
    }
}

/// Turns a Rhai error into a [`ScriptError`] located in the manifest.
pub(crate) fn classify(err: rhai::EvalAltResult, script: &Script, owner: &str, budget: std::time::Duration) -> ScriptError {
    use rhai::EvalAltResult as E;
    let pos = err.position();
    let origin = script.origin.clone();
    let span = origin.span_of(pos);
    let owner = owner.to_string();
    let kind = script.kind;
    let runaway = |why: String| ScriptError::Runaway {
        owner: owner.clone(),
        kind,
        why,
        origin: origin.clone(),
        span: span.clone(),
    };
    match err {
        E::ErrorTooManyOperations(_) => runaway(format!("it ran more than {MAX_OPERATIONS} operations (an endless loop?)")),
        E::ErrorTerminated(token, _) => runaway(match token.clone().into_string().unwrap_or_default().as_str() {
            engine::STOP_MEMORY => format!(
                "it held more than {} MiB of data (strings, arrays and maps it built)",
                MAX_SCRIPT_MEMORY >> 20
            ),
            engine::STOP_BUDGET => format!(
                "the scripts of this plan ran longer than {:.1} s together (each block's scripts count)",
                budget.as_secs_f64()
            ),
            _ => format!("it ran longer than {} s (an endless loop?)", TIME_LIMIT.as_secs()),
        }),
        E::ErrorStackOverflow(_) => runaway("it called functions too deeply (endless recursion?)".into()),
        E::ErrorDataTooLarge(what, _) => runaway(format!("{what} grew larger than allowed")),
        E::ErrorRuntime(value, _) if value.is::<api::ProjectRejection>() => {
            let api::ProjectRejection { message, help, at } = value.cast::<api::ProjectRejection>();
            ScriptError::InvalidProject { owner, message, help, at, origin, span }
        }
        E::ErrorInFunctionCall(_, _, inner, _) => classify(*inner, script, &owner, budget),
        other => ScriptError::Runtime { owner, kind, message: runtime_message(&other), origin, span },
    }
}

fn runtime_message(err: &rhai::EvalAltResult) -> String {
    use rhai::EvalAltResult as E;
    match err {
        E::ErrorRuntime(value, _) => value.to_string(),
        other => {
            // Rhai appends " (line L, position C)"; the diagnostic shows the location itself.
            let text = other.to_string();
            match text.rfind(" (line ") {
                Some(i) if text.ends_with(')') => text[..i].to_string(),
                _ => text,
            }
        }
    }
}

#[cfg(test)]
mod tests;
