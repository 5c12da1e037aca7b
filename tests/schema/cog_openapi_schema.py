"""The OpenAPI schema of a Cog predictor, made by importing it: the reference for cogpack's
static schema generator (engine/src/schema/) in the parity tests.

Usage: python cog_openapi_schema.py MODULE_FILE:NAME [train] > openapi_schema.json
(run from the project root). Introspects the predictor with the Cog SDK's own inspector (the
one the runtime uses). This was the openapi-schema block's build step before the schema was
generated statically; the tests run it in the built image (or in a venv with the same cog) and
compare its document with the static one, as JSON.
"""
import json
import os
import sys


def input_schema(info):
    props, required = {}, []
    for name, field in info.inputs.items():
        prop = dict(field.type.json_type())
        prop["title"] = name.replace("_", " ").title()
        prop["x-order"] = field.order
        if field.description is not None:
            prop["description"] = field.description
        limits = {"minimum": field.ge, "maximum": field.le, "minLength": field.min_length,
                  "maxLength": field.max_length, "pattern": field.regex}
        prop.update({k: v for k, v in limits.items() if v is not None})
        if field.choices is not None:
            prop["enum"] = list(field.choices)
        if field.deprecated:
            prop["deprecated"] = True
        if field.default is None:
            optional = getattr(field.type.repetition, "name", "").startswith("OPTIONAL")
            if optional:
                prop["nullable"] = True
            else:
                required.append(name)
        else:
            prop["default"] = field.type.json_encode(field.default)
        props[name] = prop
    schema = {"title": "Input", "type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def document(info, train):
    kind = "Training" if train else "Prediction"
    path = "/trainings" if train else "/predictions"
    request = {
        "title": f"{kind}Request", "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "input": {"$ref": "#/components/schemas/Input"},
            "webhook": {"title": "Webhook", "type": "string", "format": "uri"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
        },
    }
    response = {
        "title": f"{kind}Response", "type": "object",
        "properties": {
            "id": {"title": "Id", "type": "string"},
            "input": {"$ref": "#/components/schemas/Input"},
            "output": {"$ref": "#/components/schemas/Output"},
            "status": {"$ref": "#/components/schemas/Status"},
            "error": {"title": "Error", "type": "string"},
            "logs": {"title": "Logs", "type": "string", "default": ""},
            "metrics": {"title": "Metrics", "type": "object"},
            "created_at": {"title": "Created At", "type": "string", "format": "date-time"},
            "started_at": {"title": "Started At", "type": "string", "format": "date-time"},
            "completed_at": {"title": "Completed At", "type": "string", "format": "date-time"},
        },
    }
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {
            path: {"post": {
                "summary": f"{kind}",
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{kind}Request"}}}},
                "responses": {"200": {"description": "Successful Response", "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{kind}Response"}}}}},
            }},
            "/health-check": {"get": {"summary": "Healthcheck", "responses": {
                "200": {"description": "Successful Response"}}}},
        },
        "components": {"schemas": {
            "Input": input_schema(info),
            "Output": info.output.json_type(),
            "Status": {"title": "Status", "type": "string",
                       "enum": ["starting", "processing", "succeeded", "canceled", "failed"]},
            f"{kind}Request": request,
            f"{kind}Response": response,
        }},
    }


def main():
    ref = sys.argv[1]
    train = len(sys.argv) > 2 and sys.argv[2] == "train"
    file, _, name = ref.rpartition(":")
    directory, module_file = os.path.split(file)
    # As the runtime does: the project root (the working directory) is importable, and so
    # is the predictor's own directory.
    sys.path.insert(0, os.getcwd())
    sys.path.insert(0, os.path.abspath(directory or "."))
    module = module_file[:-3] if module_file.endswith(".py") else module_file
    stdout = sys.stdout
    sys.stdout = sys.stderr  # user code printing at import must not corrupt the schema
    from cog._inspector import create_predictor
    info = create_predictor(module, name)
    sys.stdout = stdout
    json.dump(document(info, train), stdout, indent=2, sort_keys=True)
    stdout.write("\n")


if __name__ == "__main__":
    main()
