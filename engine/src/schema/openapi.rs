//! A predictor's [`Signature`] -> the OpenAPI 3.0.2 document Cog's runtime serves at
//! `/openapi.json` (and reads from `/src/.cog/openapi_schema.json`): the `Input` and
//! `Output` components, the request/response envelopes, the paths.

use serde_json::{json, Map, Value};

use super::predictor::{InputField, Signature};
use super::Mode;

/// The whole document: the predictor's part, and the trainer's when cog.yaml names one
/// (as Cog merges them: `/trainings` with `TrainingInput`/`TrainingOutput`, the components
/// Cog's runtime validates training requests against).
pub fn document(predict: Option<&Signature>, train: Option<&Signature>) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Status".into(),
        json!({"title": "Status", "type": "string", "enum": ["starting", "processing", "succeeded", "canceled", "failed"]}),
    );
    for (sig, mode) in [(predict, Mode::Predict), (train, Mode::Train)] {
        if let Some(sig) = sig {
            part(sig, mode, &mut paths, &mut schemas);
        }
    }
    paths.insert(
        "/health-check".into(),
        json!({"get": {"summary": "Healthcheck", "responses": {"200": {"description": "Successful Response"}}}}),
    );
    json!({
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// The path and components of one entry point.
fn part(sig: &Signature, mode: Mode, paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let (kind, path, input, output) = match mode {
        Mode::Predict => ("Prediction", "/predictions", "Input", "Output"),
        Mode::Train => ("Training", "/trainings", "TrainingInput", "TrainingOutput"),
    };
    let input_ref = json!({"$ref": format!("#/components/schemas/{input}")});
    let request = json!({
        "title": format!("{kind}Request"), "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "input": input_ref,
            "webhook": {"title": "Webhook", "type": "string", "format": "uri"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
        },
    });
    let response = json!({
        "title": format!("{kind}Response"), "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "input": input_ref,
            "output": {"$ref": format!("#/components/schemas/{output}")},
            "status": {"$ref": "#/components/schemas/Status"},
            "error": {"title": "Error", "type": "string"},
            "logs": {"title": "Logs", "type": "string", "default": ""},
            "metrics": {"title": "Metrics", "type": "object"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
            "started_at": {"title": "Started At", "type": "string", "format": "date-time"},
            "completed_at": {"title": "Completed At", "type": "string", "format": "date-time"},
        },
    });
    let mut input_schema = input_schema(&sig.inputs);
    let mut output_schema = sig.output.json();
    if mode == Mode::Train {
        input_schema["title"] = json!(input);
        output_schema["title"] = json!(output);
    }
    schemas.insert(input.into(), input_schema);
    schemas.insert(output.into(), output_schema);
    schemas.insert(format!("{kind}Request"), request);
    schemas.insert(format!("{kind}Response"), response);
    paths.insert(
        path.into(),
        json!({"post": {
            "summary": kind,
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{kind}Request")}}}},
            "responses": {"200": {"description": "Successful Response", "content": {
                "application/json": {"schema": {"$ref": format!("#/components/schemas/{kind}Response")}}}}},
        }}),
    );
}

fn input_schema(inputs: &[InputField]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for field in inputs {
        let mut prop = match field.ty.json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        prop.insert("title".into(), json!(super::title(&field.name)));
        prop.insert("x-order".into(), json!(field.order));
        if let Some(d) = &field.description {
            prop.insert("description".into(), d.clone());
        }
        // The inspector stores ge/le as floats.
        if let Some(ge) = field.ge {
            prop.insert("minimum".into(), json!(ge));
        }
        if let Some(le) = field.le {
            prop.insert("maximum".into(), json!(le));
        }
        for (key, v) in [("minLength", &field.min_length), ("maxLength", &field.max_length), ("pattern", &field.regex)] {
            if let Some(v) = v {
                prop.insert(key.into(), v.clone());
            }
        }
        if let Some(choices) = &field.choices {
            prop.insert("enum".into(), Value::Array(choices.clone()));
        }
        if field.deprecated {
            prop.insert("deprecated".into(), Value::Bool(true));
        }
        match &field.default {
            None if field.ty.rep.is_optional() => {
                prop.insert("nullable".into(), Value::Bool(true));
            }
            None => required.push(json!(field.name)),
            Some(d) => {
                prop.insert("default".into(), d.clone());
            }
        }
        props.insert(field.name.clone(), Value::Object(prop));
    }
    let mut schema = Map::new();
    schema.insert("title".into(), json!("Input"));
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    Value::Object(schema)
}
