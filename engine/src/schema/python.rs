//! Python source -> the few facts the schema needs, with tree-sitter.
//!
//! One file is parsed into a [`Module`]: what each module-level name is bound to (an
//! import, a class, a function, an assignment; the last binding wins, as in Python), and
//! for classes their bases, annotated fields and methods. Expressions are kept as a small
//! owned tree ([`Expr`]) with the `line:col` of each, so later steps can point at the exact
//! annotation or default they could not use. Nothing is executed.

use std::collections::BTreeMap;

use tree_sitter::{Node, Parser};

use super::SchemaError;

/// A 1-based position in a source file (the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
}

/// An expression, as far as annotations and literal defaults need.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Name(String),
    /// `value.attr`
    Attr(Box<Expr>, String),
    /// `value[args]`, and the annotation form `list[str]` (tree-sitter's `generic_type`).
    Subscript(Box<Expr>, Vec<Expr>),
    /// `left | right`
    BitOr(Box<Expr>, Box<Expr>),
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `-x`
    Neg(Box<Expr>),
    Call { func: Box<Expr>, args: Vec<Expr>, kwargs: Vec<(String, Expr)> },
    /// Anything else, by its tree-sitter kind (an f-string, a lambda, ...).
    Other(&'static str),
}

/// An expression with where it is and how it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub loc: Loc,
    /// The source text, for messages.
    pub text: String,
}

/// What a module-level (or class-level) name is bound to.
#[derive(Debug, Clone)]
pub enum Binding {
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to `a.b`;
    /// `from . import m` binds `m` to module `.m`.
    Module { module: String, level: usize },
    /// `from m import x [as y]`
    From { module: String, level: usize, name: String, loc: Loc },
    Class(Box<ClassDef>),
    Function(Box<FunctionDef>),
    /// `name = expr` or `name: T = expr`
    Assign(Expr),
}

/// A class definition.
#[derive(Debug, Clone)]
pub struct ClassDef {
    pub name: String,
    pub loc: Loc,
    pub bases: Vec<Expr>,
    /// Annotated class-body names (`x: int` or `x: int = 1`), in order.
    pub fields: Vec<(String, Expr)>,
    pub methods: BTreeMap<String, FunctionDef>,
}

/// How a parameter is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Positional,
    /// `*args`
    VarArgs,
    /// `**kwargs`
    VarKw,
    /// after `*` or `*args`
    KeywordOnly,
}

/// A function parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub loc: Loc,
    pub kind: ParamKind,
    pub annotation: Option<Expr>,
    pub default: Option<Expr>,
}

/// A function or method definition.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub name: String,
    pub loc: Loc,
    pub params: Vec<Param>,
    pub returns: Option<Expr>,
}

/// One parsed Python file.
#[derive(Debug, Clone)]
pub struct Module {
    /// The file, relative to the project root.
    pub path: String,
    pub bindings: BTreeMap<String, Binding>,
}

impl Module {
    /// Parses `text` (the file `path`, relative to the project root).
    pub fn parse(path: &str, text: &str) -> Result<Module, SchemaError> {
        let tree = parse_tree(text).ok_or_else(|| SchemaError::Parse { file: path.to_string(), loc: Loc::default() })?;
        let root = tree.root_node();
        if root.has_error() {
            let loc = first_error(root).map_or(Loc::default(), loc_of);
            return Err(SchemaError::Parse { file: path.to_string(), loc });
        }
        let mut cx = Cx { src: text, file: path };
        let mut bindings = BTreeMap::new();
        cx.statements(root, &mut bindings)?;
        Ok(Module { path: path.to_string(), bindings })
    }
}

fn parse_tree(text: &str) -> Option<tree_sitter::Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    parser.parse(text, None)
}

fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().filter(|c| c.has_error()).find_map(first_error)
}

fn loc_of(node: Node<'_>) -> Loc {
    let p = node.start_position();
    Loc { line: p.row + 1, col: p.column + 1 }
}

struct Cx<'a> {
    src: &'a str,
    file: &'a str,
}

impl<'a> Cx<'a> {
    fn text(&self, node: Node<'_>) -> &'a str {
        &self.src[node.byte_range()]
    }

    fn loc(&self, node: Node<'_>) -> Loc {
        // tree-sitter columns are bytes; messages count characters.
        let p = node.start_position();
        let line_start = node.start_byte() - p.column;
        let col = self.src[line_start..node.start_byte()].chars().count() + 1;
        Loc { line: p.row + 1, col }
    }

    /// Module-level statements, and the blocks of `if`/`try`/`with` at module level
    /// (`if TYPE_CHECKING:` imports, `try: import x except ImportError:` fallbacks).
    fn statements(&mut self, block: Node<'_>, out: &mut BTreeMap<String, Binding>) -> Result<(), SchemaError> {
        let mut cursor = block.walk();
        for stmt in block.named_children(&mut cursor) {
            self.statement(stmt, out)?;
        }
        Ok(())
    }

    fn statement(&mut self, stmt: Node<'_>, out: &mut BTreeMap<String, Binding>) -> Result<(), SchemaError> {
        match stmt.kind() {
            "import_statement" => {
                let mut c = stmt.walk();
                for name in stmt.children_by_field_name("name", &mut c) {
                    match name.kind() {
                        "aliased_import" => {
                            let module = field(name, "name").map(|n| self.text(n)).unwrap_or_default();
                            let alias = field(name, "alias").map(|n| self.text(n)).unwrap_or_default();
                            out.insert(alias.into(), Binding::Module { module: module.into(), level: 0 });
                        }
                        _ => {
                            let dotted = self.text(name);
                            let top = dotted.split('.').next().unwrap_or(dotted);
                            out.insert(top.into(), Binding::Module { module: top.into(), level: 0 });
                        }
                    }
                }
            }
            "import_from_statement" => {
                let Some(module_node) = field(stmt, "module_name") else { return Ok(()) };
                let (module, level) = self.module_name(module_node);
                let mut c = stmt.walk();
                for name in stmt.children_by_field_name("name", &mut c) {
                    let (imported, local) = match name.kind() {
                        "aliased_import" => (
                            field(name, "name").map(|n| self.text(n)).unwrap_or_default(),
                            field(name, "alias").map(|n| self.text(n)).unwrap_or_default(),
                        ),
                        _ => (self.text(name), self.text(name)),
                    };
                    let binding = if module.is_empty() {
                        // `from . import m`: a module of the package.
                        Binding::Module { module: imported.into(), level }
                    } else {
                        Binding::From { module: module.clone(), level, name: imported.into(), loc: self.loc(name) }
                    };
                    out.insert(local.into(), binding);
                }
            }
            "class_definition" => {
                let class = self.class(stmt)?;
                out.insert(class.name.clone(), Binding::Class(Box::new(class)));
            }
            "function_definition" => {
                let f = self.function(stmt)?;
                out.insert(f.name.clone(), Binding::Function(Box::new(f)));
            }
            "decorated_definition" => {
                if let Some(def) = field(stmt, "definition") {
                    self.statement(def, out)?;
                }
            }
            "expression_statement" => {
                let mut c = stmt.walk();
                for child in stmt.named_children(&mut c) {
                    if child.kind() == "assignment" {
                        self.assignment(child, out)?;
                    }
                }
            }
            "if_statement" | "try_statement" | "with_statement" | "else_clause" | "elif_clause" | "except_clause"
            | "finally_clause" | "block" => {
                let mut c = stmt.walk();
                for child in stmt.named_children(&mut c) {
                    if matches!(
                        child.kind(),
                        "block" | "else_clause" | "elif_clause" | "except_clause" | "finally_clause"
                    ) {
                        self.statement(child, out)?;
                    } else if stmt.kind() == "block" {
                        self.statement(child, out)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn assignment(&mut self, node: Node<'_>, out: &mut BTreeMap<String, Binding>) -> Result<(), SchemaError> {
        let (Some(left), Some(right)) = (field(node, "left"), field(node, "right")) else { return Ok(()) };
        if left.kind() != "identifier" {
            return Ok(());
        }
        // `a = b = 1`: the right side is itself an assignment.
        let value = if right.kind() == "assignment" {
            self.assignment(right, out)?;
            match field(right, "left") {
                Some(l) if l.kind() == "identifier" => match out.get(self.text(l)) {
                    Some(Binding::Assign(e)) => e.clone(),
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            }
        } else {
            self.expr(right)?
        };
        out.insert(self.text(left).into(), Binding::Assign(value));
        Ok(())
    }

    /// `a.b` -> ("a.b", 0); `..a` -> ("a", 2); `.` -> ("", 1).
    fn module_name(&self, node: Node<'_>) -> (String, usize) {
        if node.kind() == "relative_import" {
            let mut level = 0;
            let mut module = String::new();
            let mut c = node.walk();
            for child in node.named_children(&mut c) {
                match child.kind() {
                    "import_prefix" => level = self.text(child).chars().filter(|c| *c == '.').count(),
                    _ => module = self.text(child).into(),
                }
            }
            (module, level)
        } else {
            (self.text(node).into(), 0)
        }
    }

    fn class(&mut self, node: Node<'_>) -> Result<ClassDef, SchemaError> {
        let name = field(node, "name").map(|n| self.text(n)).unwrap_or_default().to_string();
        let mut bases = Vec::new();
        if let Some(sup) = field(node, "superclasses") {
            let mut c = sup.walk();
            for arg in sup.named_children(&mut c) {
                if arg.kind() != "keyword_argument" && !arg.kind().ends_with("splat") {
                    bases.push(self.expr(arg)?);
                }
            }
        }
        let mut fields = Vec::new();
        let mut methods = BTreeMap::new();
        if let Some(body) = field(node, "body") {
            let mut c = body.walk();
            for stmt in body.named_children(&mut c) {
                let def = if stmt.kind() == "decorated_definition" { field(stmt, "definition") } else { Some(stmt) };
                let Some(def) = def else { continue };
                match def.kind() {
                    "function_definition" => {
                        let f = self.function(def)?;
                        methods.insert(f.name.clone(), f);
                    }
                    "expression_statement" => {
                        let mut c2 = def.walk();
                        for a in def.named_children(&mut c2) {
                            if a.kind() != "assignment" {
                                continue;
                            }
                            if let (Some(left), Some(ty)) = (field(a, "left"), field(a, "type")) {
                                if left.kind() == "identifier" {
                                    let fname = self.text(left).to_string();
                                    let ann = self.annotation(ty)?;
                                    fields.retain(|(n, _): &(String, Expr)| *n != fname);
                                    fields.push((fname, ann));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(ClassDef { name, loc: self.loc(node), bases, fields, methods })
    }

    fn function(&mut self, node: Node<'_>) -> Result<FunctionDef, SchemaError> {
        let name = field(node, "name").map(|n| self.text(n)).unwrap_or_default().to_string();
        let mut params = Vec::new();
        let mut keyword_only = false;
        if let Some(ps) = field(node, "parameters") {
            let mut c = ps.walk();
            for p in ps.named_children(&mut c) {
                let kind = if keyword_only { ParamKind::KeywordOnly } else { ParamKind::Positional };
                let param = match p.kind() {
                    "identifier" => Param { name: self.text(p).into(), loc: self.loc(p), kind, annotation: None, default: None },
                    "typed_parameter" => {
                        // `x: T`, or `*args: T` / `**kw: T`
                        let mut c2 = p.walk();
                        let inner = p.named_children(&mut c2).find(|n| n.kind() != "type");
                        let ann = field(p, "type").map(|t| self.annotation(t)).transpose()?;
                        match inner {
                            Some(n) if n.kind() == "list_splat_pattern" => {
                                keyword_only = true;
                                Param { name: self.text(n).into(), loc: self.loc(n), kind: ParamKind::VarArgs, annotation: ann, default: None }
                            }
                            Some(n) if n.kind() == "dictionary_splat_pattern" => {
                                Param { name: self.text(n).into(), loc: self.loc(n), kind: ParamKind::VarKw, annotation: ann, default: None }
                            }
                            Some(n) => Param { name: self.text(n).into(), loc: self.loc(n), kind, annotation: ann, default: None },
                            None => continue,
                        }
                    }
                    "default_parameter" | "typed_default_parameter" => {
                        let Some(n) = field(p, "name") else { continue };
                        let ann = field(p, "type").map(|t| self.annotation(t)).transpose()?;
                        let default = field(p, "value").map(|v| self.expr(v)).transpose()?;
                        Param { name: self.text(n).into(), loc: self.loc(n), kind, annotation: ann, default }
                    }
                    "list_splat_pattern" => {
                        keyword_only = true;
                        Param { name: self.text(p).into(), loc: self.loc(p), kind: ParamKind::VarArgs, annotation: None, default: None }
                    }
                    "dictionary_splat_pattern" => {
                        Param { name: self.text(p).into(), loc: self.loc(p), kind: ParamKind::VarKw, annotation: None, default: None }
                    }
                    "keyword_separator" => {
                        keyword_only = true;
                        continue;
                    }
                    _ => continue,
                };
                params.push(param);
            }
        }
        let returns = field(node, "return_type").map(|t| self.annotation(t)).transpose()?;
        Ok(FunctionDef { name, loc: self.loc(node), params, returns })
    }

    /// An annotation: a `type` node holding an expression. A string annotation (a forward
    /// reference, or anything under `from __future__ import annotations` written as text)
    /// is parsed as the expression it holds, located at the string.
    fn annotation(&mut self, node: Node<'_>) -> Result<Expr, SchemaError> {
        let inner = if node.kind() == "type" { node.named_child(0).unwrap_or(node) } else { node };
        let e = self.expr(inner)?;
        if let ExprKind::Str(text) = &e.kind {
            return self.string_annotation(text, e.loc);
        }
        Ok(e)
    }

    fn string_annotation(&mut self, text: &str, at: Loc) -> Result<Expr, SchemaError> {
        let tree = parse_tree(text).ok_or_else(|| SchemaError::Parse { file: self.file.into(), loc: at })?;
        let root = tree.root_node();
        let expr_node = root
            .named_child(0)
            .filter(|s| s.kind() == "expression_statement" && !root.has_error())
            .and_then(|s| s.named_child(0))
            .ok_or_else(|| SchemaError::Parse { file: self.file.into(), loc: at })?;
        let mut inner = Cx { src: text, file: self.file };
        let mut e = inner.expr(expr_node)?;
        relocate(&mut e, at);
        Ok(e)
    }

    fn expr(&mut self, node: Node<'_>) -> Result<Expr, SchemaError> {
        let loc = self.loc(node);
        let text = self.text(node).to_string();
        let kind = match node.kind() {
            "identifier" => ExprKind::Name(text.clone()),
            "type" => return node.named_child(0).map_or(Ok(Expr { kind: ExprKind::Other("type"), loc, text }), |n| self.expr(n)),
            "parenthesized_expression" => {
                return node.named_child(0).map_or(Ok(Expr { kind: ExprKind::Other("()"), loc, text }), |n| self.expr(n))
            }
            "attribute" => {
                let object = field(node, "object").map(|n| self.expr(n)).transpose()?;
                let attr = field(node, "attribute").map(|n| self.text(n)).unwrap_or_default();
                match object {
                    Some(o) => ExprKind::Attr(Box::new(o), attr.into()),
                    None => ExprKind::Other("attribute"),
                }
            }
            "subscript" => {
                let value = field(node, "value").map(|n| self.expr(n)).transpose()?;
                let mut args = Vec::new();
                let mut c = node.walk();
                for s in node.children_by_field_name("subscript", &mut c) {
                    args.push(self.expr(s)?);
                }
                // `Union[a, b]` parses as one tuple subscript in some grammar versions.
                if args.len() == 1 {
                    if let ExprKind::Tuple(items) = &args[0].kind {
                        args = items.clone();
                    }
                }
                match value {
                    Some(v) => ExprKind::Subscript(Box::new(v), args),
                    None => ExprKind::Other("subscript"),
                }
            }
            "generic_type" => {
                let mut c = node.walk();
                let children: Vec<Node<'_>> = node.named_children(&mut c).collect();
                let base = match children.first() {
                    Some(b) => self.expr(*b)?,
                    None => return Ok(Expr { kind: ExprKind::Other("generic_type"), loc, text }),
                };
                let mut args = Vec::new();
                for tp in children.iter().skip(1) {
                    let mut c2 = tp.walk();
                    for t in tp.named_children(&mut c2) {
                        args.push(self.annotation(t)?);
                    }
                }
                ExprKind::Subscript(Box::new(base), args)
            }
            "union_type" => {
                let mut c = node.walk();
                let parts: Vec<Node<'_>> = node.named_children(&mut c).collect();
                if parts.len() != 2 {
                    ExprKind::Other("union_type")
                } else {
                    ExprKind::BitOr(Box::new(self.annotation(parts[0])?), Box::new(self.annotation(parts[1])?))
                }
            }
            "member_type" => {
                let mut c = node.walk();
                let parts: Vec<Node<'_>> = node.named_children(&mut c).collect();
                match parts.as_slice() {
                    [object, attr] => ExprKind::Attr(Box::new(self.expr(*object)?), self.text(*attr).into()),
                    _ => ExprKind::Other("member_type"),
                }
            }
            "binary_operator" => {
                let op = field(node, "operator").map(|n| self.text(n)).unwrap_or_default();
                match (op, field(node, "left"), field(node, "right")) {
                    ("|", Some(l), Some(r)) => ExprKind::BitOr(Box::new(self.expr(l)?), Box::new(self.expr(r)?)),
                    _ => ExprKind::Other("binary_operator"),
                }
            }
            "unary_operator" => {
                let op = field(node, "operator").map(|n| self.text(n)).unwrap_or_default();
                match (op, field(node, "argument")) {
                    ("-", Some(a)) => ExprKind::Neg(Box::new(self.expr(a)?)),
                    ("+", Some(a)) => return self.expr(a),
                    _ => ExprKind::Other("unary_operator"),
                }
            }
            "none" => ExprKind::None,
            "true" => ExprKind::Bool(true),
            "false" => ExprKind::Bool(false),
            "integer" => parse_int(&text).map_or(ExprKind::Other("integer"), ExprKind::Int),
            "float" => text.replace('_', "").parse::<f64>().ok().filter(|f| f.is_finite()).map_or(ExprKind::Other("float"), ExprKind::Float),
            "string" => match string_value(&text) {
                Some(s) => ExprKind::Str(s),
                None => ExprKind::Other("f-string"),
            },
            "concatenated_string" => {
                let mut c = node.walk();
                let mut out = String::new();
                let mut ok = true;
                for part in node.named_children(&mut c) {
                    match string_value(self.text(part)) {
                        Some(s) => out.push_str(&s),
                        None => ok = false,
                    }
                }
                if ok { ExprKind::Str(out) } else { ExprKind::Other("f-string") }
            }
            "list" | "tuple" => {
                let mut c = node.walk();
                let mut items = Vec::new();
                for item in node.named_children(&mut c) {
                    items.push(self.expr(item)?);
                }
                if node.kind() == "list" { ExprKind::List(items) } else { ExprKind::Tuple(items) }
            }
            "expression_list" => {
                let mut c = node.walk();
                let mut items = Vec::new();
                for item in node.named_children(&mut c) {
                    items.push(self.expr(item)?);
                }
                ExprKind::Tuple(items)
            }
            "dictionary" => {
                let mut c = node.walk();
                let mut pairs = Vec::new();
                for pair in node.named_children(&mut c) {
                    match (pair.kind(), field(pair, "key"), field(pair, "value")) {
                        ("pair", Some(k), Some(v)) => pairs.push((self.expr(k)?, self.expr(v)?)),
                        _ => return Ok(Expr { kind: ExprKind::Other("dictionary"), loc, text }),
                    }
                }
                ExprKind::Dict(pairs)
            }
            "call" => {
                let func = match field(node, "function") {
                    Some(f) => self.expr(f)?,
                    None => return Ok(Expr { kind: ExprKind::Other("call"), loc, text }),
                };
                let mut args = Vec::new();
                let mut kwargs = Vec::new();
                if let Some(a) = field(node, "arguments") {
                    let mut c = a.walk();
                    for arg in a.named_children(&mut c) {
                        match arg.kind() {
                            "keyword_argument" => {
                                let (Some(n), Some(v)) = (field(arg, "name"), field(arg, "value")) else { continue };
                                kwargs.push((self.text(n).to_string(), self.expr(v)?));
                            }
                            "comment" => {}
                            _ => args.push(self.expr(arg)?),
                        }
                    }
                }
                ExprKind::Call { func: Box::new(func), args, kwargs }
            }
            other => ExprKind::Other(other),
        };
        Ok(Expr { kind, loc, text })
    }
}

fn field<'t>(node: Node<'t>, name: &str) -> Option<Node<'t>> {
    node.child_by_field_name(name)
}

/// Moves an expression parsed from a string annotation to the string's position.
fn relocate(e: &mut Expr, at: Loc) {
    e.loc = at;
    match &mut e.kind {
        ExprKind::Attr(v, _) | ExprKind::Neg(v) => relocate(v, at),
        ExprKind::Subscript(v, args) => {
            relocate(v, at);
            args.iter_mut().for_each(|a| relocate(a, at));
        }
        ExprKind::BitOr(l, r) => {
            relocate(l, at);
            relocate(r, at);
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => items.iter_mut().for_each(|a| relocate(a, at)),
        _ => {}
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.replace('_', "").to_ascii_lowercase();
    let (digits, radix) = match t.get(..2) {
        Some("0x") => (&t[2..], 16),
        Some("0o") => (&t[2..], 8),
        Some("0b") => (&t[2..], 2),
        _ => (t.as_str(), 10),
    };
    i64::from_str_radix(digits, radix).ok()
}

/// The value of a Python string literal (prefixes, quotes, escapes). `None` for f-strings
/// and byte strings, which no schema field can use.
fn string_value(literal: &str) -> Option<String> {
    let quote_at = literal.find(['\'', '"'])?;
    let prefix = literal[..quote_at].to_ascii_lowercase();
    if prefix.contains('f') || prefix.contains('b') || prefix.contains('t') {
        return None;
    }
    let raw = prefix.contains('r');
    let body = &literal[quote_at..];
    let q = if body.starts_with("\"\"\"") || body.starts_with("'''") { 3 } else { 1 };
    if body.len() < 2 * q {
        return None;
    }
    let inner = &body[q..body.len() - q];
    if raw {
        return Some(inner.to_string());
    }
    Some(unescape(inner))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next_if(|c| c.is_ascii_hexdigit())).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == n => out.push(ch),
                    _ => {
                        out.push('\\');
                        out.push(e);
                        out.push_str(&hex);
                    }
                }
            }
            '0'..='7' => {
                let mut oct = String::from(e);
                while oct.len() < 3 {
                    match chars.next_if(|c| ('0'..='7').contains(c)) {
                        Some(d) => oct.push(d),
                        None => break,
                    }
                }
                match u32::from_str_radix(&oct, 8).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&oct),
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(src: &str) -> Module {
        Module::parse("predict.py", src).unwrap()
    }

    #[test]
    fn imports_classes_and_assignments_are_bound() {
        let m = module(
            "import typing as t\nimport os.path\nfrom cog import Input, Path as P\nfrom .types import Out\nfrom . import helpers\nX = 'a' 'b'\nclass C(Base):\n    a: int\n    def predict(self, s: str = Input(description='x')) -> str: ...\n",
        );
        assert!(matches!(&m.bindings["t"], Binding::Module { module, level: 0 } if module == "typing"));
        assert!(matches!(&m.bindings["os"], Binding::Module { module, .. } if module == "os"));
        assert!(matches!(&m.bindings["P"], Binding::From { module, name, .. } if module == "cog" && name == "Path"));
        assert!(matches!(&m.bindings["Out"], Binding::From { module, level: 1, .. } if module == "types"));
        assert!(matches!(&m.bindings["helpers"], Binding::Module { module, level: 1 } if module == "helpers"));
        assert!(matches!(&m.bindings["X"], Binding::Assign(Expr { kind: ExprKind::Str(s), .. }) if s == "ab"));
        let Binding::Class(c) = &m.bindings["C"] else { panic!() };
        assert_eq!(c.fields.len(), 1);
        let f = &c.methods["predict"];
        assert_eq!(f.params.len(), 2);
        assert_eq!(f.params[1].loc, Loc { line: 9, col: 23 });
        assert!(matches!(&f.params[1].default, Some(Expr { kind: ExprKind::Call { kwargs, .. }, .. }) if kwargs[0].0 == "description"));
    }

    #[test]
    fn annotations_parse_to_one_shape() {
        let m = module("def f(a: list[str], b: 'Optional[int]', c: int | None, *, d: float = -1.5) -> Iterator[str]: ...\n");
        let Binding::Function(f) = &m.bindings["f"] else { panic!() };
        assert!(matches!(&f.params[0].annotation, Some(Expr { kind: ExprKind::Subscript(_, args), .. }) if args.len() == 1));
        let b = f.params[1].annotation.as_ref().unwrap();
        assert!(matches!(&b.kind, ExprKind::Subscript(..)));
        assert_eq!(b.loc, Loc { line: 1, col: 24 });
        assert!(matches!(&f.params[2].annotation, Some(Expr { kind: ExprKind::BitOr(..), .. })));
        assert_eq!(f.params[3].kind, ParamKind::KeywordOnly);
        assert!(matches!(&f.params[3].default, Some(Expr { kind: ExprKind::Neg(_), .. })));
    }

    #[test]
    fn string_literals_decode() {
        assert_eq!(string_value(r#""a\nb""#).as_deref(), Some("a\nb"));
        assert_eq!(string_value(r#"r'a\n'"#).as_deref(), Some(r"a\n"));
        assert_eq!(string_value("'''x'''").as_deref(), Some("x"));
        assert_eq!(string_value(r#""\u00e9\x41""#).as_deref(), Some("éA"));
        assert_eq!(string_value("f'{x}'"), None);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = Module::parse("predict.py", "class C:\n    def f(self:\n").unwrap_err();
        assert!(err.to_string().starts_with("predict.py:"), "{err}");
    }
}
