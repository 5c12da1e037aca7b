//! The OpenAPI schema of a Cog predictor, read from its Python source without running it.
//!
//! Cog's runtime serves the document at `/openapi.json` from `/src/.cog/openapi_schema.json`
//! and validates inputs against it. cogpack writes that file at plan time, like Cog's own
//! static generator: the predictor file named by cog.yaml is parsed with tree-sitter
//! ([`python`]), names in annotations are followed through the project's files
//! ([`resolve`]), annotations become Cog's types by the runtime inspector's rules
//! ([`types`]), the signature and its `Input(...)` metadata are read ([`predictor`]), and
//! the document is written ([`openapi`]). No Python process, no container, no import of
//! the user's code or of the packages it imports.
//!
//! Only files inside the project are read, through the bounded
//! [`ProjectView`](crate::script::ProjectView) (1 MiB each, at most
//! [`resolve::MAX_MODULES`] files). A type that cannot be read statically (a class from an
//! installed package, a name that is not defined) is an error naming `file:line:col`, the
//! type and the input, never a guess.
//!
//! Blocks ask for the document through the script API (`project.openapi_schema(ref)`, or
//! `project.openapi_schema(#{ predict: .., train: .. })` for both entry points, merged as Cog
//! merges them), so the planning pipeline itself knows nothing of Python.

pub mod openapi;
pub mod predictor;
pub mod python;
pub mod resolve;
pub mod types;

use crate::script::ProjectView;

pub use python::Loc;

/// Which entry point of cog.yaml the schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `predict` (`/predictions`)
    Predict,
    /// `train` (`/trainings`)
    Train,
}

impl Mode {
    /// The cog.yaml field that names the entry point.
    pub fn field(self) -> &'static str {
        match self {
            Mode::Predict => "predict",
            Mode::Train => "train",
        }
    }
}

/// Why the schema could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("cog.yaml `{field}` is `{reference}`; it must name a file and a class or function, like `predict.py:Predictor`")]
    BadReference { field: String, reference: String },
    #[error("cog.yaml names neither `predict` nor `train`: there is no schema to make")]
    NoEntryPoint,
    #[error("`{file}`, named by cog.yaml `{field}`, is not in the project")]
    MissingFile { field: String, file: String },
    #[error("{file}: `{name}` is not defined (no class or function of that name)")]
    NotFound { file: String, name: String },
    #[error("{file}:{}:{}: the file is not valid Python (syntax error)", loc.line, loc.col)]
    Parse { file: String, loc: Loc },
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("the predictor imports more than {limit} project files (stopped at `{path}`)")]
    TooManyModules { limit: usize, path: String },
    #[error("{file}:{}:{}: cannot resolve the type `{ty}` of {what}: {why}", loc.line, loc.col)]
    Unresolved { file: String, loc: Loc, ty: String, what: String, why: String },
    #[error("{file}:{}:{}: {message}", loc.line, loc.col)]
    Invalid { file: String, loc: Loc, message: String },
}

impl SchemaError {
    /// The project file, position and length (in characters) of what is wrong, when it is
    /// in a Python file.
    pub fn location(&self) -> Option<(&str, Loc, usize)> {
        match self {
            SchemaError::Parse { file, loc } => Some((file, *loc, 1)),
            SchemaError::Unresolved { file, loc, ty, .. } => Some((file, *loc, ty.chars().count().max(1))),
            SchemaError::Invalid { file, loc, .. } => Some((file, *loc, 1)),
            _ => None,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SchemaError::Unresolved { .. } => Some(
                "cogpack reads the schema from the source, without running Python: annotate with a type Cog knows \
                 (str, int, float, bool, cog.Path, cog.File, cog.Secret, list[...], Optional[...], Iterator[...], \
                 a BaseModel defined in the project), define the class in a project file, or wrap a JSON-shaped \
                 outside type as Annotated[T, cog.Opaque]"
                    .into(),
            ),
            SchemaError::Parse { .. } => Some("fix the syntax error; Python would fail to import the file too".into()),
            SchemaError::TooManyModules { .. } => {
                Some("the schema follows imports of project files only as far as the types need; keep the types in fewer files".into())
            }
            SchemaError::NotFound { .. } | SchemaError::BadReference { .. } => {
                Some("cog.yaml `predict` is `FILE.py:NAME`, NAME a class or function defined (or imported) at the top of FILE.py".into())
            }
            _ => None,
        }
    }
}

/// The entry points a document describes: cog.yaml `predict` and `train`
/// (`predict.py:Predictor`, `train.py:train`), either may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryPoints<'a> {
    pub predict: Option<&'a str>,
    pub train: Option<&'a str>,
}

/// The OpenAPI document (JSON, keys sorted, two-space indent, a final newline) of the
/// entry points, read from the project.
pub fn openapi_schema(view: &dyn ProjectView, entry: EntryPoints<'_>) -> Result<String, SchemaError> {
    let doc = openapi_value(view, entry)?;
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    Ok(text)
}

/// The document as a JSON value.
pub fn openapi_value(view: &dyn ProjectView, entry: EntryPoints<'_>) -> Result<serde_json::Value, SchemaError> {
    let mut resolver = resolve::Resolver::new(view);
    let predict = entry.predict.map(|r| signature(&mut resolver, r, Mode::Predict)).transpose()?;
    let train = entry.train.map(|r| signature(&mut resolver, r, Mode::Train)).transpose()?;
    if predict.is_none() && train.is_none() {
        return Err(SchemaError::NoEntryPoint);
    }
    Ok(openapi::document(predict.as_ref(), train.as_ref()))
}

/// The signature of one entry point (`FILE.py:NAME`).
fn signature(resolver: &mut resolve::Resolver<'_>, reference: &str, mode: Mode) -> Result<predictor::Signature, SchemaError> {
    let bad = || SchemaError::BadReference { field: mode.field().into(), reference: reference.into() };
    let (file, name) = reference.rsplit_once(':').ok_or_else(bad)?;
    let file = crate::script::project::check_relative(file).map_err(|_| bad())?;
    let file = file.to_str().ok_or_else(bad)?.replace('\\', "/");
    if name.is_empty() || !file.ends_with(".py") {
        return Err(bad());
    }
    predictor::signature(resolver, &file, name, mode)
}

/// Python's `name.replace("_", " ").title()`: the title Cog gives an input or field.
pub fn title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_cased = false;
    for c in name.replace('_', " ").chars() {
        let cased = c.is_alphabetic();
        if cased && !prev_cased {
            out.extend(c.to_uppercase());
        } else if cased {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_cased = cased;
    }
    out
}

#[cfg(test)]
mod tests;
