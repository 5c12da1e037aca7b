//! Annotations -> Cog's input and output types, and their JSON Schema.
//!
//! An annotation is first resolved to a [`Ty`] (what the names mean, through
//! [`Resolver`]); then the rules of Cog's runtime inspector (the `cog` SDK's
//! `FieldType.from_type` and output rules, cog 0.23.1) turn it into a [`FieldType`] (an
//! input, or a field of an output model) or an [`Output`]. The JSON Schema each produces is
//! the one the runtime's inspector writes, so the document matches it value for value.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::python::{ClassDef, Expr, ExprKind, Loc, Module};
use super::resolve::{Resolver, Sym, MAX_DEPTH};
use super::SchemaError;

/// Cog's primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prim {
    Bool,
    Float,
    Integer,
    String,
    Path,
    File,
    Secret,
    Any,
}

impl Prim {
    pub fn json(self) -> Value {
        match self {
            Prim::Bool => json!({"type": "boolean"}),
            Prim::Float => json!({"type": "number"}),
            Prim::Integer => json!({"type": "integer"}),
            Prim::String => json!({"type": "string"}),
            Prim::Path | Prim::File => json!({"type": "string", "format": "uri"}),
            Prim::Secret => json!({"type": "string", "format": "password", "writeOnly": true, "x-cog-secret": true}),
            Prim::Any => json!({"type": "object"}),
        }
    }

    /// The Python name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Prim::Bool => "bool",
            Prim::Float => "float",
            Prim::Integer => "int",
            Prim::String => "str",
            Prim::Path => "Path",
            Prim::File => "File",
            Prim::Secret => "Secret",
            Prim::Any => "Any",
        }
    }
}

/// Whether a field is required, optional, a list, or an optional list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rep {
    Required,
    Optional,
    Repeated,
    OptionalRepeated,
}

impl Rep {
    pub fn is_optional(self) -> bool {
        matches!(self, Rep::Optional | Rep::OptionalRepeated)
    }
}

/// An input's (or an output field's) type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldType {
    pub prim: Prim,
    pub rep: Rep,
    /// `A | B` inputs: the variants, each required or a list.
    pub variants: Option<Vec<FieldType>>,
}

impl FieldType {
    fn new(prim: Prim, rep: Rep) -> FieldType {
        FieldType { prim, rep, variants: None }
    }

    pub fn json(&self) -> Value {
        if let Some(variants) = &self.variants {
            let mut m = Map::new();
            m.insert("anyOf".into(), Value::Array(variants.iter().map(FieldType::json).collect()));
            if self.rep == Rep::Optional {
                m.insert("nullable".into(), Value::Bool(true));
            }
            return Value::Object(m);
        }
        match self.rep {
            Rep::Repeated | Rep::OptionalRepeated => json!({"type": "array", "items": self.prim.json()}),
            _ => self.prim.json(),
        }
    }
}

/// What a predictor returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `-> Any`: no type.
    Untyped,
    Single(Prim),
    List(Prim),
    Iterator(Prim),
    ConcatIterator(Prim),
    /// A `BaseModel` (Cog's or pydantic's): its fields in order.
    Object(Vec<(String, FieldType)>),
}

impl Output {
    /// The `Output` component.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("title".into(), json!("Output"));
        let mut merge = |v: Value| {
            if let Value::Object(o) = v {
                m.extend(o);
            }
        };
        match self {
            Output::Untyped => {}
            Output::Single(p) => merge(p.json()),
            Output::List(p) => merge(json!({"type": "array", "items": p.json()})),
            Output::Iterator(p) => merge(json!({"type": "array", "items": p.json(), "x-cog-array-type": "iterator"})),
            Output::ConcatIterator(p) => merge(json!({
                "type": "array", "items": p.json(),
                "x-cog-array-type": "iterator", "x-cog-array-display": "concatenate",
            })),
            Output::Object(fields) => {
                let mut props = Map::new();
                let mut required = Vec::new();
                for (name, ft) in fields {
                    let mut prop = ft.json();
                    if let Value::Object(p) = &mut prop {
                        if ft.rep.is_optional() {
                            p.insert("nullable".into(), Value::Bool(true));
                        } else {
                            required.push(json!(name));
                        }
                        p.insert("title".into(), json!(super::title(name)));
                    }
                    props.insert(name.clone(), prop);
                }
                merge(json!({"type": "object", "properties": props}));
                if !required.is_empty() {
                    m.insert("required".into(), Value::Array(required));
                }
            }
        }
        Value::Object(m)
    }
}

/// An annotation with the meaning of its names resolved.
#[derive(Debug, Clone)]
pub enum Ty {
    Prim(Prim),
    None,
    /// `list` (no argument) or `list[T]` / `List[T]`.
    List(Option<Box<Ty>>),
    /// `dict`, `dict[K, V]`, a `TypedDict`.
    Dict { parametrized: bool },
    Union(Vec<Ty>),
    /// `Iterator[T]`, `AsyncIterator[T]` (the arguments as written).
    Iterator(Vec<Ty>),
    /// `ConcatenateIterator[T]`, `AsyncConcatenateIterator[T]`.
    Concat(Vec<Ty>),
    /// `Annotated[T, cog.Opaque]`: an object (or list of objects) the schema does not look into.
    Opaque(Rep),
    /// A class deriving from Cog's or pydantic's `BaseModel`.
    Model { module: Arc<Module>, class: ClassDef },
    /// Another generic with an origin (`tuple[int, str]`, `Literal["a"]`, `set`), by name.
    Generic(String),
    /// Another class (an `Enum`, a plain class), by name.
    Class(String),
}

impl Ty {
    /// Whether `typing.get_origin` would return something for it.
    fn has_origin(&self) -> bool {
        matches!(
            self,
            Ty::List(Some(_)) | Ty::Dict { parametrized: true } | Ty::Union(_) | Ty::Iterator(_) | Ty::Concat(_) | Ty::Generic(_)
        )
    }

    /// A name for messages and for telling union members apart.
    pub fn name(&self) -> String {
        match self {
            Ty::Prim(p) => p.name().into(),
            Ty::None => "None".into(),
            Ty::List(None) => "list".into(),
            Ty::List(Some(t)) => format!("list[{}]", t.name()),
            Ty::Dict { .. } => "dict".into(),
            Ty::Union(ts) => ts.iter().map(Ty::name).collect::<Vec<_>>().join(" | "),
            Ty::Iterator(ts) => format!("Iterator[{}]", ts.iter().map(Ty::name).collect::<Vec<_>>().join(", ")),
            Ty::Concat(ts) => format!("ConcatenateIterator[{}]", ts.iter().map(Ty::name).collect::<Vec<_>>().join(", ")),
            Ty::Opaque(_) => "Opaque".into(),
            Ty::Model { class, .. } => class.name.clone(),
            Ty::Generic(n) | Ty::Class(n) => n.clone(),
        }
    }
}

/// Why an annotation could not be turned into a type.
#[derive(Debug)]
pub enum TyError {
    /// A name the schema cannot see into: `(file, loc, name as written, why)`.
    Unresolved { file: String, loc: Loc, name: String, why: String },
    /// A type Cog does not accept here: `(file, loc, message)`.
    Unsupported { file: String, loc: Loc, message: String },
    Schema(SchemaError),
}

impl From<SchemaError> for TyError {
    fn from(e: SchemaError) -> TyError {
        TyError::Schema(e)
    }
}

/// Resolves annotations of one module to [`Ty`]s.
pub struct Types<'r, 'p> {
    pub resolver: &'r mut Resolver<'p>,
}

impl Types<'_, '_> {
    /// The meaning of the annotation `e`, written in `module`.
    pub fn ty(&mut self, module: &Arc<Module>, e: &Expr, depth: usize) -> Result<Ty, TyError> {
        let unsupported = |message: String| TyError::Unsupported { file: module.path.clone(), loc: e.loc, message };
        if depth > MAX_DEPTH {
            return Err(unsupported(format!("`{}` refers to itself or nests too deeply", e.text)));
        }
        match &e.kind {
            ExprKind::None => Ok(Ty::None),
            ExprKind::Name(_) | ExprKind::Attr(..) => {
                let sym = self.resolver.expr(module, e, depth)?;
                self.sym_ty(module, e, sym, depth)
            }
            ExprKind::BitOr(l, r) => {
                let (l, r) = (self.ty(module, l, depth + 1)?, self.ty(module, r, depth + 1)?);
                Ok(union(vec![l, r]))
            }
            ExprKind::Subscript(base, args) => self.subscript(module, e, base, args, depth),
            _ => Err(unsupported(format!("`{}` is not a type", e.text))),
        }
    }

    fn sym_ty(&mut self, module: &Arc<Module>, e: &Expr, sym: Sym, depth: usize) -> Result<Ty, TyError> {
        let unresolved = |why: String| TyError::Unresolved { file: module.path.clone(), loc: e.loc, name: e.text.clone(), why };
        match sym {
            Sym::Known { module: m, name } => Ok(known(m, &name)),
            Sym::Class { module: cm, class } => self.class_ty(&cm, class, depth),
            Sym::Assign { module: am, expr } => {
                if let ExprKind::Str(_) = expr.kind {
                    return Err(unresolved("it is a string, not a type".into()));
                }
                self.ty(&am, &expr, depth + 1)
            }
            Sym::Outside { module: m, .. } => Err(unresolved(format!(
                "it is imported from `{m}`, which is not a module of the project (imports resolve from the project root, as in the runtime), so its source cannot be read"
            ))),
            Sym::OutsideModule(m) => Err(unresolved(format!("`{m}` is a module outside the project"))),
            Sym::ProjectModule(m) => Err(unresolved(format!("it is the module `{}`, not a type", m.path))),
            Sym::Other => Err(unresolved("it is not a class or a type alias".into())),
            Sym::Unbound => Err(unresolved(format!("it is not defined or imported in {}", module.path))),
        }
    }

    fn class_ty(&mut self, module: &Arc<Module>, class: ClassDef, depth: usize) -> Result<Ty, TyError> {
        match self.class_kind(module, &class, depth)? {
            ClassKind::Model => Ok(Ty::Model { module: module.clone(), class }),
            ClassKind::TypedDict => Ok(Ty::Dict { parametrized: false }),
            ClassKind::Path => Ok(Ty::Prim(Prim::Path)),
            ClassKind::Plain => Ok(Ty::Class(class.name)),
        }
    }

    /// What a project class derives from, through its project base classes.
    fn class_kind(&mut self, module: &Arc<Module>, class: &ClassDef, depth: usize) -> Result<ClassKind, TyError> {
        if depth > MAX_DEPTH {
            return Ok(ClassKind::Plain);
        }
        for base in &class.bases {
            let kind = match self.resolver.expr(module, base, depth + 1)? {
                Sym::Known { module: "cog", name } | Sym::Known { module: "pydantic", name } if name == "BaseModel" => {
                    ClassKind::Model
                }
                Sym::Known { module: "typing" | "typing_extensions", name } if name == "TypedDict" => ClassKind::TypedDict,
                Sym::Known { module: "pathlib", .. } => ClassKind::Path,
                Sym::Class { module: bm, class: bc } => self.class_kind(&bm, &bc, depth + 1)?,
                _ => ClassKind::Plain,
            };
            if kind != ClassKind::Plain {
                return Ok(kind);
            }
        }
        Ok(ClassKind::Plain)
    }

    /// The annotated fields of a model class, bases first (as `typing.get_type_hints`
    /// walks the MRO), each with the module it is written in.
    pub fn model_fields(
        &mut self,
        module: &Arc<Module>,
        class: &ClassDef,
        depth: usize,
    ) -> Result<Vec<(String, Expr, Arc<Module>)>, TyError> {
        let mut out: Vec<(String, Expr, Arc<Module>)> = Vec::new();
        if depth > MAX_DEPTH {
            return Ok(out);
        }
        for base in class.bases.iter().rev() {
            if let Sym::Class { module: bm, class: bc } = self.resolver.expr(module, base, depth + 1)? {
                for f in self.model_fields(&bm, &bc, depth + 1)? {
                    upsert(&mut out, f);
                }
            }
        }
        for (name, ann) in &class.fields {
            upsert(&mut out, (name.clone(), ann.clone(), module.clone()));
        }
        Ok(out)
    }

    fn subscript(&mut self, module: &Arc<Module>, e: &Expr, base: &Expr, args: &[Expr], depth: usize) -> Result<Ty, TyError> {
        let sym = self.resolver.expr(module, base, depth + 1)?;
        let (m, name) = match sym {
            Sym::Known { module: m, name } => (m, name),
            other => {
                let b = self.sym_ty(module, base, other, depth + 1)?;
                return Ok(Ty::Generic(format!("{}[...]", b.name())));
            }
        };
        let tys = |this: &mut Self| -> Result<Vec<Ty>, TyError> {
            args.iter().map(|a| this.ty(module, a, depth + 1)).collect()
        };
        let typing = matches!(m, "typing" | "typing_extensions");
        let abc = m == "collections.abc";
        Ok(match (m, name.as_str()) {
            (_, "Optional") if typing => {
                let mut ts = tys(self)?;
                ts.push(Ty::None);
                union(ts)
            }
            (_, "Union") if typing => union(tys(self)?),
            ("builtins", "list") => list(tys(self)?),
            (_, "List") if typing => list(tys(self)?),
            ("builtins", "dict") => Ty::Dict { parametrized: true },
            (_, "Dict") if typing => Ty::Dict { parametrized: true },
            (_, "Iterator" | "AsyncIterator") if typing || abc => Ty::Iterator(tys(self)?),
            ("cog", "ConcatenateIterator" | "AsyncConcatenateIterator") => Ty::Concat(tys(self)?),
            (_, "Annotated") if typing => {
                let Some(inner) = args.first() else {
                    return Err(TyError::Unsupported { file: module.path.clone(), loc: e.loc, message: "`Annotated` needs a type".into() });
                };
                let mut opaque = false;
                for meta in &args[1..] {
                    if let Ok(Sym::Known { module: "cog", name }) = self.resolver.expr(module, meta, depth + 1) {
                        opaque |= name == "Opaque";
                    }
                }
                if opaque {
                    Ty::Opaque(self.opaque_shape(module, inner, depth + 1))
                } else {
                    self.ty(module, inner, depth + 1)?
                }
            }
            (_, other) => Ty::Generic(format!("{other}[...]")),
        })
    }

    /// The shape Cog keeps for `Annotated[inner, Opaque]`: a list, an optional, or one object.
    fn opaque_shape(&mut self, module: &Arc<Module>, inner: &Expr, depth: usize) -> Rep {
        let is_list = |this: &mut Self, e: &Expr| -> bool {
            let base = match &e.kind {
                ExprKind::Subscript(b, _) => b.as_ref(),
                _ => e,
            };
            matches!(this.resolver.expr(module, base, depth + 1),
                Ok(Sym::Known { module: "builtins", name }) if name == "list")
                || matches!(this.resolver.expr(module, base, depth + 1),
                    Ok(Sym::Known { module: "typing" | "typing_extensions", name }) if name == "List")
        };
        let optional_of: Option<&Expr> = match &inner.kind {
            ExprKind::BitOr(l, r) if matches!(r.kind, ExprKind::None) => Some(l),
            ExprKind::BitOr(l, r) if matches!(l.kind, ExprKind::None) => Some(r),
            ExprKind::Subscript(b, args) => match self.resolver.expr(module, b, depth + 1) {
                Ok(Sym::Known { module: "typing" | "typing_extensions", name }) if name == "Optional" && args.len() == 1 => {
                    Some(&args[0])
                }
                Ok(Sym::Known { module: "typing" | "typing_extensions", name })
                    if name == "Union" && args.len() == 2 && args.iter().any(|a| matches!(a.kind, ExprKind::None)) =>
                {
                    args.iter().find(|a| !matches!(a.kind, ExprKind::None))
                }
                _ => None,
            },
            _ => None,
        };
        match optional_of {
            Some(x) if is_list(self, x) => Rep::OptionalRepeated,
            Some(_) => Rep::Optional,
            None if is_list(self, inner) => Rep::Repeated,
            None => Rep::Required,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassKind {
    Model,
    TypedDict,
    Path,
    Plain,
}

fn upsert(out: &mut Vec<(String, Expr, Arc<Module>)>, f: (String, Expr, Arc<Module>)) {
    match out.iter_mut().find(|(n, _, _)| *n == f.0) {
        Some(slot) => *slot = f,
        None => out.push(f),
    }
}

fn known(module: &'static str, name: &str) -> Ty {
    match (module, name) {
        ("builtins", "str") => Ty::Prim(Prim::String),
        ("builtins", "int") => Ty::Prim(Prim::Integer),
        ("builtins", "float") => Ty::Prim(Prim::Float),
        ("builtins", "bool") => Ty::Prim(Prim::Bool),
        ("builtins", "list") => Ty::List(None),
        ("builtins", "dict") => Ty::Dict { parametrized: false },
        ("cog", "Path") => Ty::Prim(Prim::Path),
        ("cog", "File") => Ty::Prim(Prim::File),
        ("cog", "Secret") => Ty::Prim(Prim::Secret),
        ("cog", "ConcatenateIterator" | "AsyncConcatenateIterator") => Ty::Concat(Vec::new()),
        ("typing" | "typing_extensions", "Any") => Ty::Prim(Prim::Any),
        ("typing" | "typing_extensions", "List") => Ty::List(None),
        ("typing" | "typing_extensions", "Dict") => Ty::Dict { parametrized: false },
        ("typing" | "typing_extensions" | "collections.abc", "Iterator" | "AsyncIterator") => Ty::Iterator(Vec::new()),
        ("pathlib", "Path" | "PurePath" | "PosixPath" | "PurePosixPath") => Ty::Prim(Prim::Path),
        (_, other) => Ty::Class(other.to_string()),
    }
}

fn list(args: Vec<Ty>) -> Ty {
    // `list[a, b]` is refused later, as Python's inspector does.
    match <[Ty; 1]>::try_from(args) {
        Ok([t]) => Ty::List(Some(Box::new(t))),
        Err(args) => Ty::Generic(format!("list[{}]", args.iter().map(Ty::name).collect::<Vec<_>>().join(", "))),
    }
}

/// `Union[...]` flattened and deduplicated, as Python does; one member is that member.
fn union(ts: Vec<Ty>) -> Ty {
    let mut flat: Vec<Ty> = Vec::new();
    for t in ts {
        let parts = match t {
            Ty::Union(inner) => inner,
            other => vec![other],
        };
        for p in parts {
            if !flat.iter().any(|f| f.name() == p.name()) {
                flat.push(p);
            }
        }
    }
    if flat.len() == 1 {
        flat.pop().unwrap_or(Ty::None)
    } else {
        Ty::Union(flat)
    }
}

/// Cog's `FieldType.from_type`: the type of an input or of an output model's field.
pub fn field_type(ty: &Ty) -> Result<FieldType, String> {
    match ty {
        Ty::Opaque(rep) => Ok(FieldType::new(Prim::Any, *rep)),
        Ty::List(None) => Ok(FieldType::new(Prim::Any, Rep::Repeated)),
        Ty::Dict { .. } => Ok(FieldType::new(Prim::Any, Rep::Required)),
        Ty::List(Some(elem)) => Ok(FieldType::new(list_element(elem)?, Rep::Repeated)),
        Ty::Union(members) => {
            let non_none: Vec<&Ty> = members.iter().filter(|m| !matches!(m, Ty::None)).collect();
            let has_none = non_none.len() < members.len();
            if non_none.len() != 1 {
                let mut variants = Vec::new();
                for m in &non_none {
                    let v = field_type(m).map_err(|_| format!("unsupported union member {} in union {}", m.name(), ty.name()))?;
                    let supported = v.variants.is_none()
                        && !matches!(v.prim, Prim::Path | Prim::File | Prim::Secret)
                        && matches!(v.rep, Rep::Required | Rep::Repeated);
                    if !supported {
                        return Err(format!("unsupported union member {} in union {}", m.name(), ty.name()));
                    }
                    variants.push(v);
                }
                let rep = if has_none { Rep::Optional } else { Rep::Required };
                return Ok(FieldType { prim: Prim::Any, rep, variants: Some(variants) });
            }
            match non_none[0] {
                Ty::Opaque(Rep::Repeated) => Ok(FieldType::new(Prim::Any, Rep::OptionalRepeated)),
                Ty::Opaque(_) => Ok(FieldType::new(Prim::Any, Rep::Optional)),
                Ty::List(None) => Ok(FieldType::new(Prim::Any, Rep::OptionalRepeated)),
                Ty::List(Some(elem)) => Ok(FieldType::new(list_element(elem)?, Rep::OptionalRepeated)),
                Ty::Dict { .. } => Ok(FieldType::new(Prim::Any, Rep::Optional)),
                t if t.has_origin() => Err(format!("Optional cannot have nested type {}", t.name())),
                t => Ok(FieldType::new(primitive(t)?, Rep::Optional)),
            }
        }
        t => Ok(FieldType::new(primitive(t)?, Rep::Required)),
    }
}

fn list_element(elem: &Ty) -> Result<Prim, String> {
    match elem {
        Ty::Opaque(_) | Ty::Dict { .. } => Ok(Prim::Any),
        t if t.has_origin() => Err(format!("List cannot have nested type {}", t.name())),
        t => primitive(t),
    }
}

fn primitive(ty: &Ty) -> Result<Prim, String> {
    match ty {
        Ty::Prim(p) => Ok(*p),
        Ty::Model { class, .. } => Err(format!("unsupported Cog type {} (a BaseModel is an output type, not an input or field type)", class.name)),
        other => Err(format!("unsupported Cog type {}", other.name())),
    }
}

/// Cog's output rules for a return annotation.
pub fn output(types: &mut Types<'_, '_>, ty: &Ty) -> Result<Output, OutputError> {
    match ty {
        Ty::Opaque(rep) => match rep {
            Rep::Optional | Rep::OptionalRepeated => Err(OutputError::Message("output must not be Optional".into())),
            Rep::Repeated => Ok(Output::List(Prim::Any)),
            Rep::Required => Ok(Output::Single(Prim::Any)),
        },
        Ty::Prim(Prim::Any) => Ok(Output::Untyped),
        Ty::Model { module, class } => {
            let mut fields = Vec::new();
            for (name, ann, m) in types.model_fields(module, class, 0).map_err(OutputError::Ty)? {
                let t = types.ty(&m, &ann, 1).map_err(OutputError::Ty)?;
                let ft = field_type(&t).map_err(|message| {
                    OutputError::Ty(TyError::Unsupported {
                        file: m.path.clone(),
                        loc: ann.loc,
                        message: format!("field `{name}` of `{}`: {message}", class.name),
                    })
                })?;
                fields.push((name, ft));
            }
            Ok(Output::Object(fields))
        }
        Ty::Iterator(args) => Ok(Output::Iterator(iterator_element(args)?)),
        Ty::Concat(args) => match iterator_element(args)? {
            Prim::String => Ok(Output::ConcatIterator(Prim::String)),
            _ => Err(OutputError::Message("ConcatenateIterator must have str element".into())),
        },
        t => {
            let ft = field_type(t).map_err(OutputError::Message)?;
            match ft.rep {
                Rep::Optional | Rep::OptionalRepeated => Err(OutputError::Message("output must not be Optional".into())),
                Rep::Required => Ok(Output::Single(ft.prim)),
                Rep::Repeated => Ok(Output::List(ft.prim)),
            }
        }
    }
}

/// The element type of `Iterator[T]` / `ConcatenateIterator[T]`: one plain type.
fn iterator_element(args: &[Ty]) -> Result<Prim, OutputError> {
    let [elem] = args else {
        return Err(OutputError::Message("iterator type must have a type argument".into()));
    };
    let ft = field_type(elem).map_err(OutputError::Message)?;
    if ft.rep != Rep::Required || ft.variants.is_some() {
        return Err(OutputError::Message("iterator element type must not be Optional or List".into()));
    }
    Ok(ft.prim)
}

/// Why a return annotation is not a Cog output.
#[derive(Debug)]
pub enum OutputError {
    Message(String),
    Ty(TyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rules_follow_the_inspector() {
        let s = || Ty::Prim(Prim::String);
        assert_eq!(field_type(&Ty::List(Some(Box::new(s())))).unwrap(), FieldType::new(Prim::String, Rep::Repeated));
        assert_eq!(field_type(&union(vec![s(), Ty::None])).unwrap(), FieldType::new(Prim::String, Rep::Optional));
        assert_eq!(
            field_type(&union(vec![Ty::List(Some(Box::new(s()))), Ty::None])).unwrap(),
            FieldType::new(Prim::String, Rep::OptionalRepeated)
        );
        assert_eq!(field_type(&Ty::Dict { parametrized: true }).unwrap(), FieldType::new(Prim::Any, Rep::Required));
        assert!(field_type(&Ty::List(Some(Box::new(Ty::List(Some(Box::new(s()))))))).unwrap_err().contains("nested"));
        let u = field_type(&union(vec![s(), Ty::Prim(Prim::Integer), Ty::None])).unwrap();
        assert_eq!(u.json(), json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true}));
        assert!(field_type(&union(vec![Ty::Prim(Prim::Path), s()])).is_err());
        assert!(field_type(&Ty::Class("Color".into())).unwrap_err().contains("unsupported Cog type Color"));
    }

    #[test]
    fn secret_and_path_schemas() {
        assert_eq!(
            Prim::Secret.json(),
            json!({"type": "string", "format": "password", "writeOnly": true, "x-cog-secret": true})
        );
        assert_eq!(Prim::Path.json(), json!({"type": "string", "format": "uri"}));
    }
}
