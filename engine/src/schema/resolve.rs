//! Names -> what they mean, across the project's files.
//!
//! A name in an annotation is followed through the module's bindings: a class or an
//! assignment of the same file, an import of another *project* file (parsed on demand, at
//! most [`MAX_MODULES`] files, each read through the bounded [`ProjectView`]), or one of the
//! few outside modules whose types the schema knows (`cog`, `typing`, `typing_extensions`,
//! `collections.abc`, `pathlib`, `pydantic`, builtins). Anything else is an outside name
//! the schema cannot see into, which the caller reports with its location.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::script::ProjectView;

use super::python::{Binding, ClassDef, Expr, ExprKind, Module};
use super::SchemaError;

/// Most project files one schema may parse.
pub const MAX_MODULES: usize = 64;
/// Deepest chain of aliases, re-exports and nested models followed.
pub const MAX_DEPTH: usize = 32;

/// Outside modules whose names the schema understands.
const KNOWN_MODULES: &[&str] = &["cog", "typing", "typing_extensions", "collections.abc", "pathlib", "pydantic", "builtins"];

/// What a name means.
#[derive(Debug, Clone)]
pub enum Sym {
    /// A name of a known outside module (`cog.Path`, `typing.Optional`) or a builtin
    /// (module `builtins`).
    Known { module: &'static str, name: String },
    /// A class defined in a project file.
    Class { module: Arc<Module>, class: ClassDef },
    /// A module-level assignment (`Alias = list[str]`, `DEFAULT = 3`) in a project file.
    Assign { module: Arc<Module>, expr: Expr },
    /// A project module (`import mylib`, `from . import types`).
    ProjectModule(Arc<Module>),
    /// A module outside the project whose types cannot be read (`torch`, `numpy`).
    OutsideModule(String),
    /// A name imported from an outside module.
    Outside { module: String, name: String },
    /// Bound to something else (a function, a variable without a value we read).
    Other,
    /// Not bound at all.
    Unbound,
}

/// Reads and caches the project's modules.
pub struct Resolver<'p> {
    view: &'p dyn ProjectView,
    modules: BTreeMap<String, Option<Arc<Module>>>,
    parsed: usize,
}

impl<'p> Resolver<'p> {
    pub fn new(view: &'p dyn ProjectView) -> Resolver<'p> {
        Resolver { view, modules: BTreeMap::new(), parsed: 0 }
    }

    /// Parses a project file (relative path), or `None` when it does not exist.
    pub fn load(&mut self, path: &str) -> Result<Option<Arc<Module>>, SchemaError> {
        if let Some(m) = self.modules.get(path) {
            return Ok(m.clone());
        }
        let text = match self.view.read_text(path) {
            Ok(t) => t,
            Err(e) => return Err(SchemaError::Read { path: path.to_string(), message: e.to_string() }),
        };
        let module = match text {
            None => None,
            Some(text) => {
                self.parsed += 1;
                if self.parsed > MAX_MODULES {
                    return Err(SchemaError::TooManyModules { limit: MAX_MODULES, path: path.to_string() });
                }
                Some(Arc::new(Module::parse(path, &text)?))
            }
        };
        self.modules.insert(path.to_string(), module.clone());
        Ok(module)
    }

    /// The project file a module name refers to, if any, as Python finds it in the
    /// runtime: an absolute import from the project root (the server's working directory,
    /// `/src`, is the only project entry of `sys.path`; the predictor's own directory is
    /// not), a relative import from the importing file's package.
    pub(super) fn find_module(&mut self, from: &Module, module: &str, level: usize) -> Result<Option<Arc<Module>>, SchemaError> {
        let rel = module.replace('.', "/");
        let mut bases: Vec<String> = Vec::new();
        if level > 0 {
            let mut dir: Vec<&str> = from.path.split('/').collect();
            dir.pop();
            for _ in 1..level {
                if dir.pop().is_none() {
                    return Ok(None);
                }
            }
            bases.push(dir.join("/"));
        } else {
            let top = module.split('.').next().unwrap_or(module);
            if KNOWN_MODULES.contains(&module) || KNOWN_MODULES.contains(&top) {
                return Ok(None);
            }
            bases.push(String::new());
        }
        for base in bases {
            let join = |p: &str| if base.is_empty() { p.to_string() } else { format!("{base}/{p}") };
            let candidates = if rel.is_empty() {
                vec![join("__init__.py")]
            } else {
                vec![join(&format!("{rel}.py")), join(&format!("{rel}/__init__.py"))]
            };
            for c in candidates {
                if let Some(m) = self.load(&c)? {
                    return Ok(Some(m));
                }
            }
        }
        Ok(None)
    }

    /// What `name` means in `module`.
    pub fn name(&mut self, module: &Arc<Module>, name: &str, depth: usize) -> Result<Sym, SchemaError> {
        if depth > MAX_DEPTH {
            return Ok(Sym::Other);
        }
        let Some(binding) = module.bindings.get(name) else {
            return Ok(builtin(name));
        };
        Ok(match binding {
            Binding::Class(c) => Sym::Class { module: module.clone(), class: (**c).clone() },
            Binding::Assign(e) => Sym::Assign { module: module.clone(), expr: e.clone() },
            Binding::Function(_) => Sym::Other,
            Binding::Module { module: m, level } => self.module_sym(module, m, *level)?,
            Binding::From { module: m, level, name: imported, .. } => {
                match self.find_module(module, m, *level)? {
                    Some(target) => match self.name(&target, imported, depth + 1)? {
                        // `from pkg import submodule`
                        Sym::Unbound => {
                            let sub = if m.is_empty() { imported.clone() } else { format!("{m}.{imported}") };
                            match self.find_module(module, &sub, *level)? {
                                Some(t) => Sym::ProjectModule(t),
                                None => Sym::Unbound,
                            }
                        }
                        s => s,
                    },
                    None if *level > 0 => Sym::Unbound,
                    None => known_or_outside(m, imported),
                }
            }
        })
    }

    fn module_sym(&mut self, from: &Arc<Module>, module: &str, level: usize) -> Result<Sym, SchemaError> {
        if let Some(m) = self.find_module(from, module, level)? {
            return Ok(Sym::ProjectModule(m));
        }
        Ok(Sym::OutsideModule(module.to_string()))
    }

    /// What an expression naming a type or value means: a name, or `a.b.c` through
    /// modules.
    pub fn expr(&mut self, module: &Arc<Module>, e: &Expr, depth: usize) -> Result<Sym, SchemaError> {
        match &e.kind {
            ExprKind::Name(n) => self.name(module, n, depth),
            ExprKind::Attr(object, attr) => match self.expr(module, object, depth + 1)? {
                Sym::ProjectModule(m) => self.name(&m, attr, depth + 1),
                Sym::OutsideModule(m) => {
                    // `import collections.abc` then `collections.abc.Iterator`
                    let sub = format!("{m}.{attr}");
                    if KNOWN_MODULES.contains(&sub.as_str()) {
                        return Ok(Sym::OutsideModule(sub));
                    }
                    Ok(known_or_outside(&m, attr))
                }
                Sym::Known { module: "builtins", .. } | Sym::Unbound => Ok(Sym::Unbound),
                _ => Ok(Sym::Other),
            },
            _ => Ok(Sym::Other),
        }
    }
}

fn builtin(name: &str) -> Sym {
    const BUILTINS: &[&str] = &["str", "int", "float", "bool", "list", "dict", "set", "tuple", "bytes", "object", "type"];
    match BUILTINS.iter().find(|b| **b == name) {
        Some(b) => Sym::Known { module: "builtins", name: (*b).to_string() },
        None => Sym::Unbound,
    }
}

fn known_or_outside(module: &str, name: &str) -> Sym {
    let canonical = if module == "cog" || module.starts_with("cog.") { "cog" } else { module };
    match KNOWN_MODULES.iter().find(|k| **k == canonical) {
        Some(k) => Sym::Known { module: k, name: name.to_string() },
        None => Sym::Outside { module: module.to_string(), name: name.to_string() },
    }
}
