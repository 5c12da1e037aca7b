//! The predictor: the class or function cog.yaml names, its `run`/`predict`/`train`
//! signature, each input with its `Input(...)` metadata and literal default, and the
//! return type. The rules (and the messages, where the build used to fail) are those of
//! the Cog runtime's inspector (cog 0.23.1), so a project it accepts gets the same schema.

use std::sync::Arc;

use serde_json::{Map, Number, Value};

use super::python::{Binding, ClassDef, Expr, ExprKind, FunctionDef, Loc, Module, ParamKind};
use super::resolve::{Resolver, Sym, MAX_DEPTH};
use super::types::{self, FieldType, Output, OutputError, Prim, Rep, TyError, Types};
use super::{Mode, SchemaError};

/// One input of the predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct InputField {
    pub name: String,
    pub order: usize,
    pub ty: FieldType,
    /// The JSON default; `None` when there is none (or it is `None`).
    pub default: Option<Value>,
    pub description: Option<Value>,
    pub ge: Option<f64>,
    pub le: Option<f64>,
    pub min_length: Option<Value>,
    pub max_length: Option<Value>,
    pub regex: Option<Value>,
    pub choices: Option<Vec<Value>>,
    pub deprecated: bool,
}

/// The predictor's interface.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub inputs: Vec<InputField>,
    pub output: Output,
}

/// Reads the predictor `name` of `file` (a project file) and its signature.
pub fn signature(resolver: &mut Resolver<'_>, file: &str, name: &str, mode: Mode) -> Result<Signature, SchemaError> {
    let module = resolver.load(file)?.ok_or_else(|| SchemaError::MissingFile { field: mode.field().into(), file: file.into() })?;
    let (target_module, target) = find_target(resolver, &module, name, 0)?
        .ok_or_else(|| SchemaError::NotFound { file: file.into(), name: name.into() })?;
    let (f, fmodule, is_method) = match target {
        Target::Function(f) => (f, target_module, false),
        Target::Class(class) => {
            let (f, m) = method(resolver, &target_module, &class, mode)?;
            (f, m, true)
        }
    };
    let invalid = |loc: Loc, message: String| SchemaError::Invalid { file: fmodule.path.clone(), loc, message };
    let fname = f.name.clone();
    let mut params = f.params.iter();
    if is_method {
        match params.next() {
            Some(p) if p.name == "self" => {}
            _ => return Err(invalid(f.loc, format!("{fname}() must have 'self' as first argument"))),
        }
    }
    let mut inputs = Vec::new();
    for (order, p) in params.enumerate() {
        match p.kind {
            ParamKind::VarArgs => return Err(invalid(p.loc, format!("{fname}() must not have *args"))),
            ParamKind::VarKw => return Err(invalid(p.loc, format!("{fname}() must not have **kwargs"))),
            ParamKind::KeywordOnly => return Err(invalid(p.loc, format!("{fname}() must not have keyword-only args"))),
            ParamKind::Positional => {}
        }
        let ann = p.annotation.as_ref().ok_or_else(|| invalid(p.loc, format!("missing type annotation for input: {}", p.name)))?;
        let what = format!("input `{}`", p.name);
        let ty = Types { resolver: &mut *resolver }.ty(&fmodule, ann, 0).map_err(|e| ty_error(e, &what))?;
        let ft = types::field_type(&ty)
            .map_err(|m| SchemaError::Invalid { file: fmodule.path.clone(), loc: ann.loc, message: format!("invalid input field {}: {m}", p.name) })?;
        let field = input_field(resolver, &fmodule, &p.name, order, ft, p.default.as_ref())?;
        inputs.push(field);
    }
    let ret = match &f.returns {
        Some(r) if !matches!(r.kind, ExprKind::None) => r,
        _ => return Err(invalid(f.loc, format!("{fname}() must have a return type annotation"))),
    };
    let mut t = Types { resolver: &mut *resolver };
    let ty = t.ty(&fmodule, ret, 0).map_err(|e| ty_error(e, "the output"))?;
    let output = types::output(&mut t, &ty).map_err(|e| match e {
        OutputError::Message(m) => SchemaError::Invalid { file: fmodule.path.clone(), loc: ret.loc, message: format!("invalid output type `{}`: {m}", ret.text) },
        OutputError::Ty(e) => ty_error(e, "an output field"),
    })?;
    Ok(Signature { inputs, output })
}

fn ty_error(e: TyError, what: &str) -> SchemaError {
    match e {
        TyError::Unresolved { file, loc, name, why } => SchemaError::Unresolved { file, loc, ty: name, what: what.into(), why },
        TyError::Unsupported { file, loc, message } => SchemaError::Invalid { file, loc, message },
        TyError::Schema(e) => e,
    }
}

enum Target {
    Class(ClassDef),
    Function(FunctionDef),
}

/// The class or function `name` of `module`, following imports into project files.
fn find_target(resolver: &mut Resolver<'_>, module: &Arc<Module>, name: &str, depth: usize) -> Result<Option<(Arc<Module>, Target)>, SchemaError> {
    if depth > MAX_DEPTH {
        return Ok(None);
    }
    Ok(match module.bindings.get(name) {
        Some(Binding::Class(c)) => Some((module.clone(), Target::Class((**c).clone()))),
        Some(Binding::Function(f)) => Some((module.clone(), Target::Function((**f).clone()))),
        Some(Binding::From { module: m, level, name: imported, .. }) => match resolver.find_module(module, m, *level)? {
            Some(target) => find_target(resolver, &target, imported, depth + 1)?,
            None => None,
        },
        // `Predictor = Runner`
        Some(Binding::Assign(Expr { kind: ExprKind::Name(other), .. })) if other != name => {
            find_target(resolver, module, other, depth + 1)?
        }
        _ => None,
    })
}

/// The method a class target runs: `run` or (deprecated) `predict` in predict mode,
/// `train` in train mode; inherited from project base classes too.
fn method(resolver: &mut Resolver<'_>, module: &Arc<Module>, class: &ClassDef, mode: Mode) -> Result<(FunctionDef, Arc<Module>), SchemaError> {
    let mut chain = Vec::new();
    user_mro(resolver, module, class, &mut chain, 0)?;
    let find = |name: &str| chain.iter().find_map(|(m, c)| c.methods.get(name).map(|f| (f.clone(), m.clone())));
    let invalid = |message: String| SchemaError::Invalid { file: module.path.clone(), loc: class.loc, message };
    match mode {
        Mode::Train => find("train").ok_or_else(|| invalid(format!("train method not found: {}", class.name))),
        Mode::Predict => match (find("run"), find("predict")) {
            (Some(_), Some(_)) => Err(invalid(format!("{} must define either run() or predict(), not both", class.name))),
            (Some(f), None) | (None, Some(f)) => Ok(f),
            (None, None) => Err(invalid(format!("run or predict method not found: {}", class.name))),
        },
    }
}

/// The class and its project base classes, depth first (Cog's own bases end the walk).
fn user_mro(
    resolver: &mut Resolver<'_>,
    module: &Arc<Module>,
    class: &ClassDef,
    out: &mut Vec<(Arc<Module>, ClassDef)>,
    depth: usize,
) -> Result<(), SchemaError> {
    if depth > MAX_DEPTH || out.iter().any(|(m, c)| m.path == module.path && c.name == class.name) {
        return Ok(());
    }
    out.push((module.clone(), class.clone()));
    for base in &class.bases {
        if let Sym::Class { module: bm, class: bc } = resolver.expr(module, base, depth + 1)? {
            user_mro(resolver, &bm, &bc, out, depth + 1)?;
        }
    }
    Ok(())
}

/// The keyword arguments `Input(...)` takes.
const INPUT_KWARGS: &[&str] =
    &["default", "description", "ge", "le", "min_length", "max_length", "regex", "choices", "deprecated", "accept"];

fn input_field(
    resolver: &mut Resolver<'_>,
    module: &Arc<Module>,
    name: &str,
    order: usize,
    ty: FieldType,
    default: Option<&Expr>,
) -> Result<InputField, SchemaError> {
    let mut field = InputField {
        name: name.into(),
        order,
        ty,
        default: None,
        description: None,
        ge: None,
        le: None,
        min_length: None,
        max_length: None,
        regex: None,
        choices: None,
        deprecated: false,
    };
    let Some(default) = default else { return Ok(field) };
    let invalid = |loc: Loc, message: String| SchemaError::Invalid { file: module.path.clone(), loc, message };
    let in_repr = format!("{name}: {}", type_name(&field.ty));

    let is_input_call = match &default.kind {
        ExprKind::Call { func, .. } => matches!(resolver.expr(module, func, 0)?, Sym::Known { module: "cog", name } if name == "Input"),
        _ => false,
    };
    if !is_input_call {
        let value = literal(resolver, module, default, 0).map_err(|m| invalid(default.loc, format!("the default of input `{name}` {m}")))?;
        field.default = normalize_default(&field.ty, &value).map_err(|m| invalid(default.loc, format!("invalid default for {in_repr}: {m}")))?;
        return Ok(field);
    }
    let ExprKind::Call { args, kwargs, .. } = &default.kind else { return Ok(field) };
    if args.len() > 1 {
        return Err(invalid(default.loc, "Input() takes at most one positional argument (the default)".into()));
    }
    let mut values: Vec<(&str, &Expr)> = args.first().map(|a| ("default", a)).into_iter().collect();
    for (k, v) in kwargs {
        if k == "default_factory" {
            return Err(invalid(v.loc, "default_factory is not supported in Input(); use a literal default value instead: Input(default=...)".into()));
        }
        if !INPUT_KWARGS.contains(&k.as_str()) {
            return Err(invalid(v.loc, format!("Input() got an unexpected keyword argument `{k}`")));
        }
        if values.iter().any(|(n, _)| *n == k) {
            return Err(invalid(v.loc, format!("Input() got multiple values for argument `{k}`")));
        }
        values.push((k.as_str(), v));
    }
    let lit = |resolver: &mut Resolver<'_>, key: &str, e: &Expr| {
        literal(resolver, module, e, 0).map_err(|m| invalid(e.loc, format!("`{key}` of input `{name}` {m}")))
    };
    let mut raw_choices = None;
    for (key, e) in values {
        let v = lit(resolver, key, e)?;
        if v.is_null() {
            continue;
        }
        let number = |v: &Value| v.as_f64().ok_or_else(|| invalid(e.loc, format!("`{key}` of input `{name}` must be a number")));
        match key {
            "default" => {
                field.default = normalize_default(&field.ty, &v).map_err(|m| invalid(e.loc, format!("invalid default for {in_repr}: {m}")))?
            }
            "description" => field.description = Some(v),
            "ge" => field.ge = Some(number(&v)?),
            "le" => field.le = Some(number(&v)?),
            "min_length" => field.min_length = Some(v),
            "max_length" => field.max_length = Some(v),
            "regex" => field.regex = Some(v),
            "choices" => raw_choices = Some((v, e.loc)),
            "deprecated" => field.deprecated = truthy(&v),
            _ => {} // accept: not part of the schema
        }
    }
    check_constraints(&mut field, raw_choices, &in_repr).map_err(|(loc, m)| invalid(loc.unwrap_or(default.loc), m))?;
    Ok(field)
}

/// The inspector's checks of `ge`/`le`/`min_length`/`max_length`/`regex`/`choices`.
fn check_constraints(field: &mut InputField, choices: Option<(Value, Loc)>, in_repr: &str) -> Result<(), (Option<Loc>, String)> {
    let prim = if field.ty.variants.is_some() { None } else { Some(field.ty.prim) };
    let numeric = matches!(prim, Some(Prim::Float | Prim::Integer));
    let string = prim == Some(Prim::String);
    let defaults: Vec<&Value> = match &field.default {
        Some(Value::Array(items)) if matches!(field.ty.rep, Rep::Repeated | Rep::OptionalRepeated) => items.iter().collect(),
        Some(v) => vec![v],
        None => vec![],
    };
    if field.ge.is_some() || field.le.is_some() {
        if !numeric {
            return Err((None, format!("incompatible input type for ge/le: {in_repr}")));
        }
        for d in &defaults {
            let x = d.as_f64().unwrap_or(f64::NAN);
            if field.ge.is_some_and(|ge| x < ge) {
                return Err((None, format!("invalid default for {in_repr}: must be at minimum {}", py_num(field.ge))));
            }
            if field.le.is_some_and(|le| x > le) {
                return Err((None, format!("invalid default for {in_repr}: must be at maximum {}", py_num(field.le))));
            }
        }
    }
    if field.min_length.is_some() || field.max_length.is_some() {
        if !string {
            return Err((None, format!("incompatible input type for min_length/max_length: {in_repr}")));
        }
        for d in &defaults {
            let len = d.as_str().map_or(0, |s| s.chars().count()) as f64;
            if field.min_length.as_ref().and_then(Value::as_f64).is_some_and(|m| len < m) {
                return Err((None, format!("default conflicts with min_length for input: {in_repr}")));
            }
            if field.max_length.as_ref().and_then(Value::as_f64).is_some_and(|m| len > m) {
                return Err((None, format!("default conflicts with max_length for input: {in_repr}")));
            }
        }
    }
    if field.regex.is_some() && !string {
        return Err((None, format!("incompatible input type for regex: {in_repr}")));
    }
    if let Some((raw, loc)) = choices {
        let at = Some(loc);
        let Value::Array(items) = raw else {
            return Err((at, format!("choices must be a list: {in_repr}")));
        };
        if !matches!(prim, Some(Prim::Integer | Prim::String)) {
            return Err((at, format!("incompatible input type for choices: {in_repr}")));
        }
        if items.len() < 2 {
            return Err((at, format!("choices must have >= 2 elements: {in_repr}")));
        }
        if field.ge.is_some() || field.le.is_some() {
            return Err((at, format!("choices and ge/le are mutually exclusive: {in_repr}")));
        }
        if field.min_length.is_some() || field.max_length.is_some() {
            return Err((at, format!("choices and min_length/max_length are mutually exclusive: {in_repr}")));
        }
        let same = items.iter().all(|c| match prim {
            Some(Prim::Integer) => c.is_i64() || c.is_u64(),
            _ => c.is_string(),
        });
        if !same {
            return Err((at, format!("not all choices have the same type as input: {in_repr}")));
        }
        field.choices = Some(items);
    }
    Ok(())
}

fn py_num(v: Option<f64>) -> String {
    let v = v.unwrap_or_default();
    if v.fract() == 0.0 { format!("{v:.1}") } else { v.to_string() }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null => false,
    }
}

fn type_name(ft: &FieldType) -> String {
    if let Some(vs) = &ft.variants {
        let name = vs.iter().map(type_name).collect::<Vec<_>>().join(" | ");
        return if ft.rep == Rep::Optional { format!("Optional[{name}]") } else { name };
    }
    let p = ft.prim.name();
    match ft.rep {
        Rep::Required => p.into(),
        Rep::Optional => format!("Optional[{p}]"),
        Rep::Repeated => format!("List[{p}]"),
        Rep::OptionalRepeated => format!("Optional[List[{p}]]"),
    }
}

/// A default as the runtime's inspector stores it: normalised to the input's type (`1`
/// for a float input is `1.0`), `None` meaning no default.
fn normalize_default(ft: &FieldType, v: &Value) -> Result<Option<Value>, String> {
    if v.is_null() {
        return Ok(None);
    }
    if ft.variants.is_some() {
        return Ok(Some(v.clone()));
    }
    match ft.rep {
        Rep::Repeated | Rep::OptionalRepeated => match v {
            Value::Array(items) => Ok(Some(Value::Array(items.iter().map(|x| normalize(ft.prim, x)).collect::<Result<_, _>>()?))),
            _ => Err("a list input needs a list default".into()),
        },
        _ => normalize(ft.prim, v).map(Some),
    }
}

fn normalize(prim: Prim, v: &Value) -> Result<Value, String> {
    let fail = || format!("failed to normalize value as {}", prim.name());
    match prim {
        Prim::Float => match v {
            Value::Number(n) => n.as_f64().and_then(Number::from_f64).map(Value::Number).ok_or_else(fail),
            Value::Bool(b) => Ok(Value::from(if *b { 1.0 } else { 0.0 })),
            Value::String(s) => s.trim().parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).ok_or_else(fail),
            _ => Err(fail()),
        },
        Prim::Integer => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Value::from(f as i64)),
                _ => Err(fail()),
            },
            Value::Bool(b) => Ok(Value::from(i64::from(*b))),
            Value::String(s) => s.trim().parse::<i64>().map(Value::from).map_err(|_| fail()),
            _ => Err(fail()),
        },
        Prim::String => v.is_string().then(|| v.clone()).ok_or_else(fail),
        Prim::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
            _ => Err(fail()),
        },
        Prim::Path | Prim::File | Prim::Secret => v.is_string().then(|| v.clone()).ok_or_else(fail),
        Prim::Any => Ok(v.clone()),
    }
}

/// A literal value: numbers, strings, booleans, `None`, lists, tuples and dicts of them,
/// `-x`, and names bound to such values at module level (in the project).
fn literal(resolver: &mut Resolver<'_>, module: &Arc<Module>, e: &Expr, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("`{}` refers to itself or nests too deeply", e.text));
    }
    let not_literal = || format!("is not a literal value (`{}`); cogpack reads defaults from the source without running it", e.text);
    Ok(match &e.kind {
        ExprKind::None => Value::Null,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Int(i) => Value::from(*i),
        ExprKind::Float(f) => Number::from_f64(*f).map(Value::Number).ok_or_else(not_literal)?,
        ExprKind::Str(s) => Value::String(s.clone()),
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            Value::Array(items.iter().map(|i| literal(resolver, module, i, depth + 1)).collect::<Result<_, _>>()?)
        }
        ExprKind::Dict(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                let Value::String(k) = literal(resolver, module, k, depth + 1)? else { return Err(not_literal()) };
                m.insert(k, literal(resolver, module, v, depth + 1)?);
            }
            Value::Object(m)
        }
        ExprKind::Neg(inner) => match literal(resolver, module, inner, depth + 1)? {
            Value::Number(n) if n.is_i64() => Value::from(-n.as_i64().unwrap_or_default()),
            Value::Number(n) => n.as_f64().and_then(|f| Number::from_f64(-f)).map(Value::Number).ok_or_else(not_literal)?,
            _ => return Err(not_literal()),
        },
        ExprKind::Name(_) | ExprKind::Attr(..) => match resolver.expr(module, e, depth).map_err(|err| err.to_string())? {
            Sym::Assign { module: m, expr } => literal(resolver, &m, &expr, depth + 1)?,
            _ => return Err(not_literal()),
        },
        _ => return Err(not_literal()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_normalise_like_the_inspector() {
        let f = FieldType { prim: Prim::Float, rep: Rep::Required, variants: None };
        assert_eq!(normalize_default(&f, &Value::from(1)).unwrap(), Some(serde_json::json!(1.0)));
        let i = FieldType { prim: Prim::Integer, rep: Rep::Required, variants: None };
        assert!(normalize_default(&i, &serde_json::json!(1.5)).is_err());
        let s = FieldType { prim: Prim::String, rep: Rep::Optional, variants: None };
        assert_eq!(normalize_default(&s, &Value::Null).unwrap(), None);
        assert!(normalize_default(&s, &Value::from(3)).is_err());
        let l = FieldType { prim: Prim::Float, rep: Rep::Repeated, variants: None };
        assert_eq!(normalize_default(&l, &serde_json::json!([1, 2.5])).unwrap(), Some(serde_json::json!([1.0, 2.5])));
    }
}
