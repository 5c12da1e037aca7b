//! Turning `-i key=value` arguments into the JSON input of a prediction, typed by the model's
//! OpenAPI schema (`components.schemas.Input`).

use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::PredictError;

/// One `-i key=value` argument, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawInput {
    pub key: String,
    pub value: String,
}

impl RawInput {
    /// Parses `key=value` (the value may contain `=`).
    pub fn parse(arg: &str) -> Result<Self, PredictError> {
        match arg.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(RawInput {
                key: k.trim().to_owned(),
                value: v.to_owned(),
            }),
            _ => Err(PredictError::BadInput {
                key: arg.to_owned(),
                reason: "expected `-i name=value` (use `name=@file` for a file)".into(),
            }),
        }
    }
}

/// The JSON type an input expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputType {
    String,
    Integer,
    Number,
    Boolean,
    /// `format: uri` (a `cog.Path` or `File`): a URL or a data URL.
    File,
    /// A list of the inner type; `-i key=…` may repeat.
    Array(Box<InputType>),
    /// Anything else (objects, unknown): the value is parsed as JSON, else sent as a string.
    Any,
}

/// The declared inputs of a model: name → type, from its OpenAPI schema.
#[derive(Debug, Clone, Default)]
pub struct InputSchema {
    /// In the order the schema lists them (`x-order` when present).
    pub inputs: Vec<(String, InputType)>,
}

impl InputSchema {
    /// Reads `components.schemas.Input` of an OpenAPI document. `None` when the document has
    /// no such schema (e.g. `{"error": "OpenAPI schema not available"}`).
    pub fn from_openapi(doc: &Value) -> Option<Self> {
        let schemas = doc.pointer("/components/schemas")?;
        let input = schemas.get("Input")?;
        let props = input.get("properties")?.as_object()?;
        let mut inputs: Vec<(i64, String, InputType)> = props
            .iter()
            .map(|(name, prop)| {
                let order = prop
                    .get("x-order")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX);
                (order, name.clone(), type_of(prop, schemas, 0))
            })
            .collect();
        inputs.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Some(InputSchema {
            inputs: inputs.into_iter().map(|(_, n, t)| (n, t)).collect(),
        })
    }

    fn get(&self, name: &str) -> Option<&InputType> {
        self.inputs.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// The type of one schema property: `type`, `format: uri`, `anyOf`/`oneOf` (Optional[...]),
/// `allOf`/`$ref` (enums of choices), `items` for arrays.
fn type_of(prop: &Value, schemas: &Value, depth: usize) -> InputType {
    if depth > 8 {
        return InputType::Any;
    }
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return schemas
            .get(name)
            .map(|s| type_of(s, schemas, depth + 1))
            .unwrap_or(InputType::Any);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = prop.get(key).and_then(Value::as_array) {
            // Optional[T] is anyOf [T, null]: the first non-null member decides.
            let found = list
                .iter()
                .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .map(|s| type_of(s, schemas, depth + 1))
                .next();
            if let Some(t) = found {
                return t;
            }
        }
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("string") if prop.get("format").and_then(Value::as_str) == Some("uri") => {
            InputType::File
        }
        Some("string") => InputType::String,
        Some("integer") => InputType::Integer,
        Some("number") => InputType::Number,
        Some("boolean") => InputType::Boolean,
        Some("array") => {
            let inner = prop
                .get("items")
                .map(|i| type_of(i, schemas, depth + 1))
                .unwrap_or(InputType::Any);
            InputType::Array(Box::new(inner))
        }
        _ => InputType::Any,
    }
}

/// Builds the `input` object. With a schema, unknown names are errors and values are typed;
/// without one, values are sent as strings. `@path` reads a file (via `read_file`) and sends it
/// as a data URL.
pub fn coerce(
    schema: Option<&InputSchema>,
    raw: &[RawInput],
    read_file: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Map<String, Value>, PredictError> {
    let mut out = Map::new();
    for RawInput { key, value } in raw {
        let ty = match schema {
            Some(s) => s
                .get(key)
                .cloned()
                .ok_or_else(|| PredictError::UnknownInput {
                    key: key.clone(),
                    known: s.inputs.iter().map(|(n, _)| n.clone()).collect(),
                })?,
            None if value.starts_with('@') => InputType::File,
            None => InputType::String,
        };
        match ty {
            InputType::Array(inner) => {
                let v = scalar(key, value, &inner, read_file)?;
                let slot = out
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = slot {
                    items.push(v);
                }
            }
            ty => {
                if out.contains_key(key) {
                    return Err(PredictError::BadInput {
                        key: key.clone(),
                        reason: "given more than once, but it is not a list".into(),
                    });
                }
                out.insert(key.clone(), scalar(key, value, &ty, read_file)?);
            }
        }
    }
    Ok(out)
}

fn scalar(
    key: &str,
    value: &str,
    ty: &InputType,
    read_file: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Value, PredictError> {
    let bad = |reason: String| PredictError::BadInput {
        key: key.to_owned(),
        reason,
    };
    if let Some(path) = value.strip_prefix('@') {
        let bytes =
            read_file(Path::new(path)).map_err(|e| bad(format!("cannot read `{path}`: {e}")))?;
        return Ok(Value::String(data_url(Path::new(path), &bytes)));
    }
    Ok(match ty {
        InputType::String | InputType::File => Value::String(value.to_owned()),
        InputType::Integer => value
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad(format!("`{value}` is not an integer")))?,
        InputType::Number => {
            let n: f64 = value
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{value}` is not a number")))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| bad(format!("`{value}` is not a finite number")))?
        }
        InputType::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => return Err(bad(format!("`{value}` is not a boolean (true/false)"))),
        },
        InputType::Array(inner) => scalar(key, value, inner, read_file)?,
        InputType::Any => {
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
        }
    })
}

/// `data:<mime>;base64,<bytes>` for a file, with the MIME type guessed from its extension.
pub fn data_url(path: &Path, bytes: &[u8]) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = super::output::mime_for_extension(&ext);
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> InputSchema {
        let doc = json!({"components": {"schemas": {
            "Input": {"type": "object", "properties": {
                "s": {"type": "string", "x-order": 0},
                "n": {"type": "integer", "x-order": 1},
                "f": {"type": "number", "x-order": 2},
                "b": {"type": "boolean", "x-order": 3},
                "img": {"type": "string", "format": "uri", "x-order": 4},
                "opt": {"anyOf": [{"type": "integer"}, {"type": "null"}], "x-order": 5},
                "choice": {"allOf": [{"$ref": "#/components/schemas/choice"}], "x-order": 6},
                "xs": {"type": "array", "items": {"type": "integer"}, "x-order": 7}
            }},
            "choice": {"type": "integer", "enum": [1, 2]}
        }}});
        InputSchema::from_openapi(&doc).unwrap()
    }

    fn raw(args: &[&str]) -> Vec<RawInput> {
        args.iter().map(|a| RawInput::parse(a).unwrap()).collect()
    }

    fn no_files(_: &Path) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::other("no files here"))
    }

    #[test]
    fn values_follow_the_schema_types() {
        let got = coerce(
            Some(&schema()),
            &raw(&[
                "s=a=b", "n=42", "f=0.5", "b=true", "opt=7", "choice=2", "xs=1", "xs=2",
            ]),
            &no_files,
        )
        .unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"s": "a=b", "n": 42, "f": 0.5, "b": true, "opt": 7, "choice": 2, "xs": [1, 2]})
        );
    }

    #[test]
    fn bad_values_and_names_are_errors_that_name_the_input() {
        let e = coerce(Some(&schema()), &raw(&["n=abc"]), &no_files)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`n`") && e.contains("not an integer"), "{e}");
        let e = coerce(Some(&schema()), &raw(&["nope=1"]), &no_files)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope") && e.contains("s, n, f, b"), "{e}");
        let e = coerce(Some(&schema()), &raw(&["s=1", "s=2"]), &no_files)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than once"), "{e}");
        assert!(RawInput::parse("novalue").is_err());
    }

    #[test]
    fn files_become_data_urls() {
        let read = |p: &Path| {
            assert_eq!(p, Path::new("photo.png"));
            Ok(b"\x89PNG".to_vec())
        };
        let got = coerce(Some(&schema()), &raw(&["img=@photo.png"]), &read).unwrap();
        assert_eq!(got["img"], json!("data:image/png;base64,iVBORw=="));
    }

    #[test]
    fn without_a_schema_values_stay_strings() {
        let got = coerce(None, &raw(&["n=42"]), &no_files).unwrap();
        assert_eq!(got["n"], json!("42"));
    }
}
