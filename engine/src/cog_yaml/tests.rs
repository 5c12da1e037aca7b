//! Unit tests for cog.yaml checking (fixture snapshots live in tests/cog_yaml_fixtures.rs).

use super::*;

fn ok(text: &str) -> Loaded {
    match check_str("cog.yaml", text, None) {
        Ok(loaded) => loaded,
        Err(e) => panic!(
            "expected valid cog.yaml, got: {}",
            crate::diagnostics::render(&e.diagnostics(), Default::default())
        ),
    }
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match check_str("cog.yaml", text, None) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e
            .diagnostics()
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect(),
    }
}

fn one_error(text: &str) -> Diagnostic {
    let mut errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

#[test]
fn unquoted_python_versions_keep_their_text() {
    // YAML 1.2 reads 3.10 as the float 3.1; Cog (Go yaml into a string field) reads "3.10".
    for (written, expected) in [
        ("3.10", "3.10"),
        ("3.11", "3.11"),
        ("3.13", "3.13"),
        ("\"3.12\"", "3.12"),
        ("'3.11.4'", "3.11.4"),
        ("3.11.4", "3.11.4"),
    ] {
        let loaded = ok(&format!("build:\n  python_version: {written}\n"));
        assert_eq!(
            loaded.config.build.python_version.unwrap().value.to_string(),
            expected,
            "{written}"
        );
    }
    let v = ok("build:\n  python_version: 3.10\n")
        .config
        .build
        .python_version
        .unwrap()
        .value;
    assert_eq!((v.major, v.minor, v.patch), (3, 10, None));
    assert_eq!(v.minor_version(), "3.10");
}

#[test]
fn python_version_errors_use_cogs_words() {
    let e = one_error("build:\n  python_version: \"3.7\"\n");
    assert_eq!(
        e.message,
        "invalid build.python_version \"3.7\": minimum supported Python version is 3.10"
    );
    assert_eq!(e.code, code::INVALID_VALUE);
    assert_eq!(e.location().unwrap().to_string(), "cog.yaml:2:19");
    // 3.1 is what an unquoted "3.10" would be if read as a float: it must not pass silently.
    assert!(one_error("build:\n  python_version: 3.1\n")
        .message
        .contains("minimum supported"));
    assert!(one_error("build:\n  python_version: 3\n")
        .message
        .contains("must include major and minor version"));
    assert!(one_error("build:\n  python_version: \"three.11\"\n")
        .message
        .contains("invalid major version number"));
    assert!(one_error("build:\n  python_version: \"3.x\"\n")
        .message
        .contains("invalid minor version number"));
    assert!(one_error("build:\n  python_version: \"3.11.x\"\n")
        .message
        .contains("invalid patch version number"));
}

#[test]
fn python_version_is_required() {
    let e = one_error("build:\n  gpu: false\npredict: predict.py:Predictor\n");
    assert_eq!(e.code, code::MISSING_FIELD);
    assert!(
        e.message
            .starts_with("invalid build.python_version: python_version is required"),
        "{}",
        e.message
    );
    assert_eq!(e.location().unwrap().to_string(), "cog.yaml:1:1");
    assert_eq!(
        one_error("build:\n  python_version:\n").code,
        code::MISSING_FIELD
    );
    assert_eq!(one_error("build: {}\n").code, code::MISSING_FIELD);
}

#[test]
fn without_a_build_section_python_is_cogs_default() {
    // As Cog: `python_version` is required only when there is a `build` section (a null
    // `build:` is no section, as in Go's YAML).
    for text in ["predict: predict.py:Predictor\n", "", "build:\npredict: predict.py:Predictor\n"] {
        let config = ok(text).config;
        assert!(config.build.python_version.is_none(), "{text:?}");
        assert_eq!(config.build.python().to_string(), DEFAULT_PYTHON_VERSION);
        assert_eq!(DEFAULT_PYTHON_VERSION, "3.13");
        // Cog's effective config (the `run.cog.config` label) carries the default; scripts
        // see no `build.python_version` that the user did not write.
        assert!(config.effective_config_json().contains("\"python_version\":\"3.13\""), "{text:?}");
        assert!(config.plain_map().pointer("/build/python_version").is_none(), "{text:?}");
    }
}

#[test]
fn spans_point_at_values_for_citations() {
    let text = "# model\nbuild:\n  gpu: true\n  python_version: \"3.11\"\n  cuda: \"11.8\"\n  python_requirements: requirements.txt\nrun: \"predict.py:Predictor\"\n";
    let config = ok(text).config;
    let b = &config.build;
    assert_eq!(config.cite(b.python_version.as_ref().unwrap().span), "cog.yaml:4");
    assert_eq!(
        config.location(b.python_version.as_ref().unwrap().span).to_string(),
        "cog.yaml:4:19"
    );
    assert_eq!(
        config.location(b.gpu.as_ref().unwrap().span).to_string(),
        "cog.yaml:3:8"
    );
    assert_eq!(
        config.location(b.cuda.as_ref().unwrap().span).to_string(),
        "cog.yaml:5:9"
    );
    assert_eq!(
        config.source().slice(b.cuda.as_ref().unwrap().span),
        "\"11.8\""
    );
    assert_eq!(
        config.cite(b.python_requirements.as_ref().unwrap().span),
        "cog.yaml:6"
    );
    assert_eq!(
        config.cite(config.predict.as_ref().unwrap().span),
        "cog.yaml:7"
    );
    assert!(config.gpu());
    let label = config.label(b.python_version.as_ref().unwrap().span, "python pinned here");
    assert_eq!(label.location().to_string(), "cog.yaml:4:19");
}

#[test]
fn list_items_keep_their_own_spans() {
    let text = "build:\n  python_version: \"3.11\"\n  system_packages:\n    - git\n    - ffmpeg\n  run:\n    - echo one\n    - command: echo two\n      mounts:\n        - type: secret\n          id: tok\n          target: /run/secrets/tok\nenvironment:\n  - A=1\n  - B=two=2\n";
    let config = ok(text).config;
    let pkgs: Vec<String> = config
        .build
        .system_packages
        .iter()
        .map(|p| config.location(p.span).to_string())
        .collect();
    assert_eq!(pkgs, ["cog.yaml:4:7", "cog.yaml:5:7"]);
    assert_eq!(config.cite(config.build.run[1].command.span), "cog.yaml:8");
    assert_eq!(config.build.run[1].mounts[0].id.value, "tok");
    assert_eq!(config.cite(config.environment[1].span), "cog.yaml:15");
    assert_eq!(
        config.environment_pairs().collect::<Vec<_>>(),
        [("A", "1"), ("B", "two=2")]
    );
}

#[test]
fn reserved_environment_names_are_rejected_all_at_once() {
    let text = "build:\n  python_version: \"3.11\"\nenvironment:\n  - PATH=/x\n  - CUDA_HOME=/c\n  - OK=1\n  - REPLICATE_API_TOKEN=t\n  - NOEQUALS\n  - OK=2\n";
    let errs = errors(text);
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "invalid environment: environment variable \"PATH\" is not allowed: reserved for internal use",
            "invalid environment: environment variable \"CUDA_HOME\" is not allowed: reserved for internal use",
            "invalid environment: environment variable \"REPLICATE_API_TOKEN\" is not allowed: reserved for internal use",
            "invalid environment: environment variable \"NOEQUALS\" is not in the KEY=VALUE format",
            "invalid environment: environment variable \"OK\" is already defined",
        ]
    );
    assert_eq!(errs[0].code, code::RESERVED_ENV);
    assert_eq!(errs[0].location().unwrap().to_string(), "cog.yaml:4:5");
    assert_eq!(errs[4].secondary[0].location().to_string(), "cog.yaml:6:5");
}

#[test]
fn packages_and_requirements_are_exclusive() {
    let e = one_error("build:\n  python_version: \"3.11\"\n  python_packages:\n    - torch==2.0.1\n  python_requirements: requirements.txt\n");
    assert_eq!(
        e.message,
        "invalid build: only one of python_packages or python_requirements can be set, not both"
    );
    assert_eq!(e.code, code::CONFLICT);
    assert_eq!(e.location().unwrap().line, 3);
    assert_eq!(e.secondary[0].location().line, 5);
}

#[test]
fn deprecations_warn_with_cogs_wording() {
    let loaded = ok("build:\n  python_version: \"3.11\"\n  python_packages:\n    - numpy==1.26.4\n  pre_install:\n    - echo pre\n  run:\n    - echo run\npredict: predict.py:Predictor\n");
    let messages: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "deprecated field \"build.python_packages\": use \"build.python_requirements\" instead",
            "deprecated field \"build.pre_install\": use \"build.run\" instead",
        ]
    );
    // pre_install is appended after run, as Cog does.
    let run: Vec<(&str, RunOrigin)> = loaded
        .config
        .build
        .run
        .iter()
        .map(|s| (s.command.value.as_str(), s.origin))
        .collect();
    assert_eq!(
        run,
        [
            ("echo run", RunOrigin::Run),
            ("echo pre", RunOrigin::PreInstall)
        ]
    );
}

#[test]
fn predict_and_run_are_one_key() {
    let run = ok("build:\n  python_version: \"3.11\"\nrun: run.py:Runner\n").config;
    assert_eq!(
        run.predict.as_ref().unwrap().value,
        TypeRef {
            file: "run.py".into(),
            name: "Runner".into()
        }
    );
    let e = one_error(
        "build:\n  python_version: \"3.11\"\nrun: run.py:Runner\npredict: predict.py:Predictor\n",
    );
    assert_eq!(
        e.message,
        "invalid run: only one of run or predict can be set"
    );
    let e = one_error("build:\n  python_version: \"3.11\"\npredict: predict:Predictor\n");
    assert_eq!(
        e.message,
        "invalid predict \"predict:Predictor\": must be in the form 'predict.py:Predictor'"
    );
    let sub =
        ok("build:\n  python_version: \"3.11\"\npredict: my-subdir/predict.py:Predictor\n").config;
    assert_eq!(sub.predict.unwrap().value.file, "my-subdir/predict.py");
}

#[test]
fn no_predictor_is_allowed_until_required() {
    let config = ok("build:\n  python_version: \"3.11\"\n").config;
    assert!(config.predictor().is_none());
    let err = config.require_predictor().unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(d.code, code::NO_PREDICTOR);
    assert!(d
        .help
        .as_deref()
        .unwrap()
        .contains("predict: \"predict.py:Predictor\""));
    assert_eq!(err.exit_code(), crate::diagnostics::exit::PROJECT);
}

#[test]
fn syntax_errors_have_positions() {
    let e = one_error("build:\n  python_version: \"3.11\"\n   gpu: true\n");
    assert_eq!(e.code, code::SYNTAX);
    assert_eq!(e.location().unwrap().to_string(), "cog.yaml:3:4");
    let e = one_error("build:\n\tpython_version: \"3.11\"\n");
    assert_eq!(e.code, code::SYNTAX);
}

#[test]
fn type_errors_are_all_reported() {
    let errs = errors("build:\n  gpu: maybe\n  python_version: [3, 11]\n  system_packages: git\nconcurrency:\n  max: lots\n");
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "invalid build.gpu: must be a boolean (true or false), found \"maybe\"",
            "invalid build.python_version: must be a string, found a list",
            "invalid build.system_packages: must be a list, found \"git\"",
            "invalid concurrency.max: must be an integer, found \"lots\"",
        ]
    );
    assert!(errs.iter().all(|e| e.code == code::INVALID_TYPE));
    // YAML 1.1 booleans are accepted, as Go's YAML library does for boolean fields.
    assert!(ok("build:\n  gpu: yes\n  python_version: \"3.11\"\n")
        .config
        .gpu());
    let quoted = one_error("build:\n  gpu: \"true\"\n  python_version: \"3.11\"\n");
    assert!(
        quoted.message.contains("found the string \"true\""),
        "{}",
        quoted.message
    );
}

#[test]
fn unknown_keys_warn_with_suggestions() {
    let loaded = ok("build:\n  python_version: \"3.11\"\n  pyhton_packages: []\n  predict: x\ngpu: true\nfoo: 1\n");
    let w: Vec<(&str, Option<&str>)> = loaded
        .warnings
        .iter()
        .map(|w| (w.message.as_str(), w.help.as_deref()))
        .collect();
    assert_eq!(
        w,
        [
            (
                "unknown field \"build.pyhton_packages\" in build; Cog ignores it",
                Some("did you mean `python_packages`?")
            ),
            (
                "unknown field \"build.predict\" in build; Cog ignores it",
                Some("`predict` belongs at the top level, not under `build:`")
            ),
            (
                "unknown field \"gpu\" at the top level; Cog ignores it",
                Some("`gpu` belongs under `build:`")
            ),
            (
                "unknown field \"foo\" at the top level; Cog ignores it",
                None
            ),
        ]
    );
}

#[test]
fn duplicate_keys_point_at_both() {
    let e = one_error("build:\n  python_version: \"3.11\"\n  python_version: \"3.12\"\n");
    assert_eq!(e.code, code::DUPLICATE_KEY);
    assert_eq!(e.location().unwrap().line, 3);
    assert_eq!(e.secondary[0].location().line, 2);
}

#[test]
fn cuda_and_cudnn_formats() {
    let errs = errors("build:\n  gpu: true\n  python_version: \"3.11\"\n  cuda: \"eleven\"\n  cudnn: \"latest\"\n");
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "invalid build.cuda \"eleven\": must include both major and minor versions (e.g., '11.8')",
            "invalid build.cudnn \"latest\": must be a version number like \"8\" or \"8.9\"",
        ]
    );
    assert!(
        one_error("build:\n  gpu: true\n  python_version: \"3.11\"\n  cuda: \"10.2\"\n")
            .message
            .contains("minimum supported CUDA version is 11")
    );
    assert!(
        one_error("build:\n  gpu: true\n  python_version: \"3.11\"\n  cuda: \"x.2\"\n")
            .message
            .contains("invalid major version number")
    );
    // Unquoted numbers keep their text too.
    let config =
        ok("build:\n  gpu: true\n  python_version: 3.11\n  cuda: 12.1\n  cudnn: 8\n").config;
    assert_eq!(config.build.cuda.unwrap().value, "12.1");
    assert_eq!(config.build.cudnn.unwrap().value, "8");
    // Without gpu, cuda is ignored (as Cog does) and cogpack says so.
    let loaded = ok("build:\n  python_version: \"3.11\"\n  cuda: \"11.8\"\n");
    assert_eq!(loaded.warnings[0].code, code::IGNORED_FIELD);
}

#[test]
fn run_items_are_checked() {
    let errs = errors("build:\n  python_version: \"3.11\"\n  run:\n    - |\n      echo a\n      echo b\n    - command: \"\"\n    - mounts: []\n    - command: echo c\n      mounts:\n        - type: cache\n          id: x\n          target: /x\n        - type: secret\n");
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "invalid build.run[0]: the command contains a new line, which won't work",
            "invalid build.run[1]: command must not be empty",
            "invalid build.run[2]: command is required",
            "invalid build.run[3].mounts[0].type \"cache\": must be \"secret\"",
            "invalid build.run[3].mounts[1]: id is required",
            "invalid build.run[3].mounts[1]: target is required",
        ]
    );
    // Folded commands are one line.
    let config =
        ok("build:\n  python_version: \"3.11\"\n  run:\n    - >-\n      echo a\n      && echo b\n")
            .config;
    assert_eq!(config.build.run[0].command.value, "echo a && echo b");
}

#[test]
fn concurrency_rules() {
    let loaded =
        ok("build:\n  python_version: \"3.11\"\nconcurrency:\n  max: 4\n  default_target: 2\n");
    let c = loaded.config.concurrency.unwrap();
    assert_eq!((c.max.value, c.default_target.unwrap().value), (4, 2));
    assert_eq!(
        loaded.warnings[0].message,
        "deprecated field \"concurrency.max\": use \"@cog.concurrent(max=...)\" instead"
    );
    let e = one_error("build:\n  python_version: \"3.10\"\nconcurrency:\n  max: 2\n");
    assert_eq!(
        e.message,
        "invalid concurrency.max \"2\": concurrency requires Python 3.11 or higher"
    );
    assert!(
        one_error("build:\n  python_version: \"3.11\"\nconcurrency:\n  max: 0\n")
            .message
            .contains("must be at least 1")
    );
    assert!(
        one_error("build:\n  python_version: \"3.11\"\nconcurrency:\n  default_target: 2\n")
            .message
            .contains("max is required")
    );
}

#[test]
fn weights_rules() {
    let loaded = ok("build:\n  python_version: \"3.11\"\nmodel: r8.im/me/model\nweights:\n  - name: base\n    target: /weights/base\n    source:\n      uri: hf://org/repo\n      include: [\"*.safetensors\"]\n");
    assert_eq!(
        loaded.config.weights[0].sources[0].uri.value,
        "hf://org/repo"
    );
    let errs = errors("build:\n  python_version: \"3.11\"\nimage: me/model\nweights:\n  - name: Base\n    target: weights\n    source: {uri: \"hf://a\"}\n  - name: other\n    target: /w\n    source: [{uri: x, exclude: [\"!keep\"]}, {include: []}]\n  - name: third\n    target: /w/sub\n    source: {uri: y}\n");
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "invalid image: weights require 'model', not 'image' — rename 'image' to 'model'",
            "invalid weights[0].name \"Base\": must contain only lowercase alphanumeric characters, hyphens, dots, or underscores (e.g. \"my-model-weights\")",
            "invalid weights[0].target \"weights\": target must be an absolute path",
            "invalid weights[1].source[0].exclude[0] \"!keep\": negation patterns (starting with '!') are not supported",
            "invalid weights[1].source[1]: uri is required",
            "invalid weights[2].target \"/w/sub\": target overlaps with \"/w\"; weight targets must be disjoint",
        ]
    );
}

#[test]
fn model_must_be_bare() {
    assert!(
        one_error("build:\n  python_version: \"3.11\"\nmodel: r8.im/me/model:latest\n")
            .message
            .contains("tags and digests are not allowed")
    );
    assert!(
        ok("build:\n  python_version: \"3.11\"\nmodel: localhost:5000/me/model\n")
            .config
            .model
            .is_some()
    );
    assert_eq!(
        one_error("build:\n  python_version: \"3.11\"\nmodel: a/b\nimage: a/b\n").code,
        code::CONFLICT
    );
}

#[test]
fn effective_config_matches_cogs_label_shape() {
    let config = ok("build:\n  gpu: true\n  python_version: \"3.11\"\n  python_requirements: requirements.txt\n  system_packages: [git]\n  run:\n    - command: echo <a> && b\n      mounts: [{type: secret, id: tok, target: /t}]\n  pre_install: [echo pre]\n  cuda: \"11.8\"\nimage: r8.im/me/x\npredict: predict.py:Predictor\nconcurrency:\n  max: 2\n  default_target: 1\nenvironment: [A=1]\n").config;
    assert_eq!(
        config.effective_config_json(),
        r#"{"build":{"gpu":true,"python_version":"3.11","python_requirements":"requirements.txt","run":[{"command":"echo \u003ca\u003e \u0026\u0026 b","mounts":[{"type":"secret","id":"tok","target":"/t"}]}],"system_packages":["git"],"pre_install":["echo pre"],"cuda":"11.8"},"image":"r8.im/me/x","predict":"predict.py:Predictor","concurrency":{"max":2},"environment":["A=1"]}"#
    );
    let minimal = ok("build:\n  python_version: \"3.13\"\n").config;
    assert_eq!(
        minimal.effective_config_json(),
        r#"{"build":{"python_version":"3.13"}}"#
    );
}

#[test]
fn not_found_mentions_cog_yml() {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::open(dir.path()).unwrap().with_display_root("proj");
    let err = load(&project).unwrap_err();
    assert!(matches!(
        err,
        CogYamlError::NotFound {
            found_yml: false,
            ..
        }
    ));
    assert_eq!(err.to_string(), "cog.yaml not found in proj");
    std::fs::write(
        dir.path().join("cog.yml"),
        "build:\n  python_version: \"3.11\"\n",
    )
    .unwrap();
    let err = load(&project).unwrap_err();
    assert!(matches!(
        err,
        CogYamlError::NotFound {
            found_yml: true,
            ..
        }
    ));
    assert!(err.diagnostics()[0]
        .help
        .as_deref()
        .unwrap()
        .contains("rename cog.yml to cog.yaml"));
}

#[test]
fn project_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("predict.py"),
        "class Predictor:\n    pass\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "numpy\n").unwrap();
    let project = Project::open(dir.path()).unwrap().with_display_root("proj");
    let check = |text: &str| check_str("proj/cog.yaml", text, Some(&project));
    assert!(check("build:\n  python_version: \"3.11\"\n  python_requirements: requirements.txt\npredict: predict.py:Predictor\n").is_ok());
    let err = check("build:\n  python_version: \"3.11\"\n  python_requirements: ../requirements.txt\npredict: predic.py:Predictor\n").unwrap_err();
    let d: Vec<Diagnostic> = err
        .diagnostics()
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    assert_eq!(d[0].message, "invalid build.python_requirements \"../requirements.txt\": must be inside the project directory");
    assert_eq!(
        d[1].message,
        "invalid predict \"predic.py:Predictor\": file \"predic.py\" does not exist"
    );
    assert_eq!(
        d[1].help.as_deref(),
        Some("did you mean `predict.py:Predictor`?")
    );
    let loaded = check("build:\n  python_version: \"3.11\"\nrun: predict.py:Runner\n").unwrap();
    assert_eq!(loaded.warnings[0].code, code::MISSING_NAME);
}

#[test]
fn a_document_that_is_not_a_mapping_is_one_error() {
    let e = one_error("just a string\n");
    assert_eq!(
        e.message,
        "invalid cog.yaml: must be a mapping, found \"just a string\""
    );
    let e = one_error("- a\n- b\n");
    assert_eq!(e.code, code::INVALID_TYPE);
}

#[test]
fn mangled_files_never_panic() {
    // Delete, duplicate or replace each character of a full cog.yaml in turn (with YAML
    // punctuation, tabs and multi-byte characters): every result must be an Ok or an Err
    // whose diagnostics render, never a panic.
    let base = "build:\n  gpu: true\n  python_version: \"3.11\"\n  run:\n    - command: echo é\n      mounts: [{type: secret, id: a, target: /a}]\n  python_packages: [torch==2.0.1]\nenvironment: [A=1]\nweights:\n  - {name: w, target: /w, source: {uri: x}}\nconcurrency: {max: 2}\npredict: predict.py:Predictor\n";
    let inserts = [
        ":", "-", "\t", "\"", "'", "[", "{", "&a ", "*a", "é", "\n", "#", "|",
    ];
    let chars: Vec<(usize, char)> = base.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        let after = i + c.len_utf8();
        let mut variants = vec![
            format!("{}{}", &base[..i], &base[after..]),
            format!("{}{c}{}", &base[..after], &base[after..]),
        ];
        let insert = inserts[n % inserts.len()];
        variants.push(format!("{}{insert}{}", &base[..i], &base[after..]));
        for text in variants {
            match check_str("cog.yaml", &text, None) {
                Ok(loaded) => {
                    let _ = loaded.config.effective_config_json();
                }
                Err(e) => {
                    let rendered = crate::diagnostics::render(&e.diagnostics(), Default::default());
                    assert!(!rendered.is_empty());
                }
            }
        }
    }
}

#[test]
fn large_documents_are_checked_in_linear_time_and_lists_are_bounded() {
    // 20,000 distinct keys: duplicate detection used to compare each key with every earlier
    // one (quadratic: a 1 MiB file of 100,000 keys made 5 * 10^9 comparisons); now a map.
    let mut text = String::from("build:\n  python_version: \"3.11\"\n");
    for i in 0..20_000 {
        text.push_str(&format!("k{i}: 1\n"));
    }
    let started = std::time::Instant::now();
    let loaded = ok(&text);
    assert_eq!(loaded.warnings.len(), 20_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
    // Rendering them all reads the file once, not once per warning.
    let started = std::time::Instant::now();
    let out = crate::diagnostics::render(&loaded.warnings[..5_000], crate::diagnostics::RenderStyle::Plain);
    assert_eq!(out.matches("warning[cog_yaml::unknown_field]").count(), 5_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());

    // Lists scripts walk (and weights, compared pairwise) are bounded.
    for (key, item) in [("environment", "  - A{i}=1\n"), ("build:\n  python_version: \"3.11\"\n  system_packages", "    - p{i}\n")] {
        let mut text = format!("{key}:\n");
        for i in 0..1_001 {
            text.push_str(&item.replace("{i}", &i.to_string()));
        }
        let e = check_str("cog.yaml", &text, None).unwrap_err().diagnostics();
        assert!(e.iter().any(|d| d.message.contains("1001 entries; cogpack reads at most 1000")), "{key}: {e:?}");
    }
}
