use super::*;

fn origin(text: &str) -> ScriptOrigin {
    ScriptOrigin { file: SourceFile::new("t.toml", text), content_start: 0, verbatim: true }
}

fn run(text: &str) -> Result<Dynamic, ScriptError> {
    let script = compile(ScriptKind::Detect, text, origin(text), "block `t`").map_err(|d| panic!("{d}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = ScriptContext::new(Arc::new(crate::project::Project::open(dir.path()).unwrap()), &serde_json::json!({"build": {"gpu": true}}), &[]);
    ctx.run(&script, "block `t`", "t", &serde_json::json!({}))
}

#[test]
fn language_features_blocks_use() {
    let v = run(r#"
        let a = cog.build?.python_requirements ?? "none";
        let b = cog.nothing?.deeper;
        let t = type_of(cog.build);
        let s = "a b".split(" ");
        if b != () { return false; }
        a == "none" && t == "map" && s.len() == 2 && "x.py".ends_with(".py") && "abc".contains("b")
            && shell_quote("it's") == "'it'\\''s'" && lookup(cog, "build.gpu") == true
    "#).unwrap();
    assert!(v.as_bool().unwrap());
}

#[test]
fn endless_loops_are_stopped() {
    let start = std::time::Instant::now();
    let err = run("loop {}").unwrap_err();
    assert!(matches!(err, ScriptError::Runaway { .. }), "{err:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn no_eval_no_sleep_no_undeclared_variables() {
    let text = "eval(\"1\")";
    assert!(compile(ScriptKind::Detect, text, origin(text), "block `t`").is_err());
    let text = "sleep(100)";
    let script = compile(ScriptKind::Detect, text, origin(text), "block `t`").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = ScriptContext::new(Arc::new(crate::project::Project::open(dir.path()).unwrap()), &serde_json::json!({}), &[]);
    assert!(ctx.run(&script, "block `t`", "t", &serde_json::json!({})).is_err());
    let text = "plan.stage(\"t\")";
    let err = compile(ScriptKind::Detect, text, origin(text), "block `t`").unwrap_err();
    assert!(err.message.contains("plan"), "{}", err.message);
}

#[test]
fn positions_map_into_the_manifest() {
    let file = "summary = \"x\"\n[detect]\nscript = '''\nlet x = 1;\nlet y = nope;\n'''\n";
    let start = file.find("'''").unwrap();
    let end = file.rfind("'''").unwrap() + 3;
    let f = SourceFile::new("b.toml", file);
    let o = ScriptOrigin::of_toml_string(&f, start..end);
    let text = &file[o.content_start..end - 3];
    let err = compile(ScriptKind::Detect, text, o, "block `b`").unwrap_err();
    assert_eq!(err.location().unwrap().to_string(), "b.toml:5:9");
}

#[test]
fn a_url_input_carries_the_index_checksum() {
    use crate::plan::Input;
    let hex = "e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984";
    let input = api::parse_input(&format!("url:https://files.example/uv-0.13.8-py3-none-any.whl#sha256={hex}")).unwrap();
    assert_eq!(
        input,
        Input::Url { url: "https://files.example/uv-0.13.8-py3-none-any.whl".into(), checksum: Some(format!("sha256:{hex}")), filename: None }
    );
    let plain = api::parse_input("url:https://files.example/x.tar").unwrap();
    assert_eq!(plain, Input::Url { url: "https://files.example/x.tar".into(), checksum: None, filename: None });
}
