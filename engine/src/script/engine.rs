//! The one Rhai engine: packages, limits and helper functions, configured once.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage, BasicMapPackage,
    BasicMathPackage, BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult};

use super::api;
use super::memory::{self, MAX_SCRIPT_MEMORY};
use super::project::ProjectApi;

/// Most operations one script run may take.
pub const MAX_OPERATIONS: u64 = 5_000_000;
/// Longest one script run may take.
pub const TIME_LIMIT: Duration = Duration::from_secs(2);
/// Deepest function-call nesting.
const MAX_CALL_LEVELS: usize = 32;
/// Longest string a script may build (bytes).
const MAX_STRING: usize = 4 * 1024 * 1024;
/// Largest array.
const MAX_ARRAY: usize = 100_000;
/// Largest map.
const MAX_MAP: usize = 10_000;

/// The longest all script runs of one composition may take together.
pub const PLAN_TIME_BUDGET: Duration = Duration::from_secs(10);

/// Why a running script is stopped (the token `on_progress` returns).
pub(super) const STOP_TIME: &str = "time limit";
pub(super) const STOP_BUDGET: &str = "plan time budget";
pub(super) const STOP_MEMORY: &str = "memory limit";

/// The limits of the script running on this thread.
#[derive(Clone, Copy)]
struct RunLimits {
    deadline: Instant,
    /// The deadline is the plan's budget running out, not the run's own limit.
    budget_first: bool,
    /// What the thread held when the run started.
    memory_base: isize,
}

thread_local! {
    static LIMITS: Cell<Option<RunLimits>> = const { Cell::new(None) };
}

/// Runs `f` with the limits armed for this thread: [`TIME_LIMIT`], or less when only
/// `budget_left` of the plan's budget remains, and [`MAX_SCRIPT_MEMORY`] held at most.
pub(super) fn with_limits<T>(budget_left: Duration, f: impl FnOnce() -> T) -> T {
    let limits = RunLimits {
        deadline: Instant::now() + TIME_LIMIT.min(budget_left),
        budget_first: budget_left < TIME_LIMIT,
        memory_base: memory::live_bytes(),
    };
    let previous = LIMITS.with(|l| l.replace(Some(limits)));
    let out = f();
    LIMITS.with(|l| l.set(previous));
    out
}

/// Checked before every operation: one expensive operation after another cannot run past
/// the deadline by more than one operation.
fn over_limit() -> Option<&'static str> {
    let limits = LIMITS.with(Cell::get)?;
    if memory::live_bytes().saturating_sub(limits.memory_base) > MAX_SCRIPT_MEMORY {
        return Some(STOP_MEMORY);
    }
    if Instant::now() > limits.deadline {
        return Some(if limits.budget_first { STOP_BUDGET } else { STOP_TIME });
    }
    None
}

/// The sandboxed engine (built on first use).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(build)
}

fn build() -> Engine {
    let mut e = Engine::new_raw();
    // Explicit packages: no LanguageCorePackage (it has `sleep`, `exit`, `parse_json`),
    // no time, no blobs; printing goes nowhere.
    for module in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicFnPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
    ] {
        e.register_global_module(module);
    }
    e.disable_symbol("eval");
    e.on_print(|_| {});
    e.on_debug(|_, _, _| {});
    e.set_strict_variables(true);
    // Scripts are small and most run once per process: optimising an AST costs more than
    // it saves (every manifest's scripts compile on each `cogpack plan`).
    e.set_optimization_level(rhai::OptimizationLevel::None);
    e.set_max_strings_interned(0);
    e.set_max_operations(MAX_OPERATIONS);
    e.set_max_call_levels(MAX_CALL_LEVELS);
    e.set_max_expr_depths(64, 32);
    e.set_max_string_size(MAX_STRING);
    e.set_max_array_size(MAX_ARRAY);
    e.set_max_map_size(MAX_MAP);
    e.set_max_variables(1_000);
    e.set_max_functions(256);
    e.on_progress(|_| over_limit().map(Dynamic::from));

    register_helpers(&mut e);
    ProjectApi::register(&mut e);
    api::register(&mut e);
    e
}

fn register_helpers(e: &mut Engine) {
    e.register_fn("shell_quote", |s: &str| shell_quote(s));
    e.register_fn("shell_join", |args: Array| -> Result<String, Box<EvalAltResult>> {
        let mut parts = Vec::with_capacity(args.len());
        for a in args {
            let s = a.into_string().map_err(|t| format!("shell_join: expected strings, got {t}"))?;
            parts.push(shell_quote(&s));
        }
        Ok(parts.join(" "))
    });
    e.register_fn("to_json", |value: Dynamic| -> Result<String, Box<EvalAltResult>> {
        let json = super::dynamic_to_json(&value).map_err(|m| format!("to_json: {m}"))?;
        Ok(serde_json::to_string(&json).unwrap_or_default())
    });
    e.register_fn("lookup", |value: Dynamic, path: &str| lookup(&value, path));
    e.register_fn("invalid_project", |message: &str| -> Result<(), Box<EvalAltResult>> {
        Err(Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(api::ProjectRejection { message: message.to_string(), help: None, at: None }),
            rhai::Position::NONE,
        )))
    });
}

/// `a.b.c` inside nested maps; `()` when any part is missing.
fn lookup(value: &Dynamic, path: &str) -> Dynamic {
    let mut current = value.clone();
    for key in path.split('.') {
        let next = match current.read_lock::<rhai::Map>() {
            Some(map) => map.get(key).cloned(),
            None => None,
        };
        match next {
            Some(v) => current = v,
            None => return Dynamic::UNIT,
        }
    }
    current
}

/// Quotes a string for `/bin/sh` (single quotes; plain words stay as they are).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+@%,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
