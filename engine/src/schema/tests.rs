use serde_json::json;

use super::*;
use crate::project::Project;

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cog.yaml"), "build: {}\n").unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let p = Project::open(dir.path()).unwrap();
    (dir, p)
}

fn predict(reference: &str) -> EntryPoints<'_> {
    EntryPoints { predict: Some(reference), train: None }
}

fn schema(files: &[(&str, &str)]) -> Result<serde_json::Value, SchemaError> {
    let (_d, p) = project(files);
    openapi_value(&p, predict("predict.py:Predictor"))
}

#[test]
fn titles_are_pythons() {
    assert_eq!(title("num_steps"), "Num Steps");
    assert_eq!(title("num2x"), "Num2X");
    assert_eq!(title("HTTPURL"), "Httpurl");
}

#[test]
fn a_string_predictor() {
    let doc = schema(&[(
        "predict.py",
        "from cog import BasePredictor, Input\n\nclass Predictor(BasePredictor):\n    def predict(self, s: str = Input(description=\"Who to greet\")) -> str:\n        return s\n",
    )])
    .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Input"],
        json!({"title": "Input", "type": "object", "required": ["s"], "properties": {
            "s": {"title": "S", "type": "string", "x-order": 0, "description": "Who to greet"}}})
    );
    assert_eq!(schemas["Output"], json!({"title": "Output", "type": "string"}));
    assert!(doc["paths"]["/predictions"]["post"].is_object());
}

#[test]
fn an_outside_type_is_a_located_error() {
    let err = schema(&[(
        "predict.py",
        "from cog import BasePredictor\nfrom torch import Tensor\n\nclass Predictor(BasePredictor):\n    def predict(self, x: Tensor) -> str:\n        return ''\n",
    )])
    .unwrap_err();
    assert!(
        err.to_string().starts_with("predict.py:5:26: cannot resolve the type `Tensor` of input `x`: it is imported from `torch`"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("Opaque"));
}

#[test]
fn an_undefined_name_is_a_located_error() {
    let err = schema(&[(
        "predict.py",
        "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n    def predict(self) -> Foo:\n        return ''\n",
    )])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "predict.py:4:26: cannot resolve the type `Foo` of the output: it is not defined or imported in predict.py"
    );
}

#[test]
fn types_from_other_project_files() {
    let doc = schema(&[
        ("predict.py", "from cog import BasePredictor\nfrom lib.types import Out, Size\n\nclass Predictor(BasePredictor):\n    def predict(self, n: Size = 3) -> Out:\n        ...\n"),
        ("lib/__init__.py", ""),
        ("lib/types.py", "from typing import Optional\nfrom cog import BaseModel, Path\nSize = int\n\nclass Base(BaseModel):\n    a: int\n\nclass Out(Base):\n    file: Path\n    note: Optional[str]\n"),
    ])
    .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Input"]["properties"]["n"], json!({"title": "N", "type": "integer", "x-order": 0, "default": 3}));
    assert_eq!(
        schemas["Output"],
        json!({"title": "Output", "type": "object", "required": ["a", "file"], "properties": {
            "a": {"title": "A", "type": "integer"},
            "file": {"title": "File", "type": "string", "format": "uri"},
            "note": {"title": "Note", "type": "string", "nullable": true}}})
    );
}

#[test]
fn the_predictor_file_must_exist_and_name_a_class() {
    let (_d, p) = project(&[("predict.py", "x = 1\n")]);
    assert!(matches!(openapi_value(&p, predict("missing.py:P")), Err(SchemaError::MissingFile { .. })));
    assert!(matches!(openapi_value(&p, predict("predict.py:P")), Err(SchemaError::NotFound { .. })));
    assert!(matches!(openapi_value(&p, predict("../predict.py:P")), Err(SchemaError::BadReference { .. })));
}

#[test]
fn a_trainer_is_merged_as_cog_merges_it() {
    let (_d, p) = project(&[
        ("predict.py", "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n    def predict(self, s: str) -> str:\n        return s\n"),
        ("train.py", "from cog import Input\n\ndef train(n: int = Input(ge=0)) -> int:\n    return n\n"),
    ]);
    let doc = openapi_value(&p, EntryPoints { predict: Some("predict.py:Predictor"), train: Some("train.py:train") }).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Input"]["properties"]["s"]["type"], "string");
    assert_eq!(
        schemas["TrainingInput"],
        json!({"title": "TrainingInput", "type": "object", "required": ["n"], "properties": {
            "n": {"title": "N", "type": "integer", "x-order": 0, "minimum": 0.0}}})
    );
    assert_eq!(schemas["TrainingOutput"], json!({"title": "TrainingOutput", "type": "integer"}));
    assert_eq!(schemas["TrainingResponse"]["properties"]["output"]["$ref"], "#/components/schemas/TrainingOutput");
    assert!(doc["paths"]["/trainings"]["post"].is_object());
    assert!(doc["paths"]["/predictions"]["post"].is_object());
    assert!(matches!(openapi_value(&p, EntryPoints::default()), Err(SchemaError::NoEntryPoint)));
}

#[test]
fn streaming_outputs() {
    let doc = schema(&[(
        "predict.py",
        "from cog import BaseRunner, ConcatenateIterator\n\nclass Runner(BaseRunner):\n    def run(self) -> ConcatenateIterator[str]:\n        yield ''\n\nPredictor = Runner\n",
    )])
    .unwrap();
    assert_eq!(
        doc["components"]["schemas"]["Output"],
        json!({"title": "Output", "type": "array", "items": {"type": "string"},
               "x-cog-array-type": "iterator", "x-cog-array-display": "concatenate"})
    );
    let err = schema(&[(
        "predict.py",
        "from cog import BasePredictor, ConcatenateIterator\n\nclass Predictor(BasePredictor):\n    def predict(self) -> ConcatenateIterator[int]:\n        yield 1\n",
    )])
    .unwrap_err();
    assert!(err.to_string().contains("ConcatenateIterator must have str element"), "{err}");
}
