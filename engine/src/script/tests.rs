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

/// Issue 8, defect 6: one expensive string operation in a loop ran 29 s against the
/// documented 2 s (the deadline was looked at every 4,096 operations).
#[test]
fn expensive_operations_stop_at_the_time_limit() {
    let start = std::time::Instant::now();
    let err = run("let s = \"x\"; for i in 0..21 { s += s; }\nloop { let t = s.replace(\"x\", \"yy\"); }").unwrap_err();
    let took = start.elapsed();
    assert!(err.to_string().contains("longer than 2 s"), "{err}");
    assert!(took < std::time::Duration::from_millis(3500), "{took:?}");
    let ScriptError::Runaway { span, origin, .. } = &err else { panic!("{err:?}") };
    assert_eq!(origin.file.location(crate::diagnostics::Span::from(span.clone())).line, 2, "the loop's line");
}

/// Issue 8, defect 6: a map of large strings grew to 2 GB.
#[test]
fn data_is_bounded_in_memory() {
    let start = std::time::Instant::now();
    let err = run("let s = \"x\"; for i in 0..21 { s += s; }\nlet m = #{};\nfor i in 0..2000 { m[\"k\" + i] = s + i; }\nm.len()").unwrap_err();
    assert!(matches!(err, ScriptError::Runaway { .. }), "{err:?}");
    assert!(err.to_string().contains("MiB of data") || err.to_string().contains("larger than allowed"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(crate::script::memory::live_bytes() < MAX_SCRIPT_MEMORY, "the data was freed");
}

/// Issue 8, defect 6: three blocks looping made `plan` take 73 s; all scripts of a plan
/// share one time budget.
#[test]
fn scripts_of_one_plan_share_a_time_budget() {
    let text = "loop {}";
    let script = compile(ScriptKind::Detect, text, origin(text), "block `t`").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = ScriptContext::new(Arc::new(crate::project::Project::open(dir.path()).unwrap()), &serde_json::json!({}), &[])
        .with_time_budget(std::time::Duration::from_millis(300));
    let start = std::time::Instant::now();
    let err = ctx.run(&script, "block `t`", "t", &serde_json::json!({})).unwrap_err();
    assert!(err.to_string().contains("ran longer than 0.3 s together"), "{err}");
    let err = ctx.run(&script, "block `u`", "u", &serde_json::json!({})).unwrap_err();
    assert!(err.to_string().contains("block `u`") && err.to_string().contains("together"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
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
