use super::*;

fn exec(cmd: &str) -> Op {
    Op::Exec(Exec {
        args: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
        env: vec![],
        cwd: None,
        user: None,
        mounts: vec![],
        network: Network::Default,
        host_ca: false,
        description: None,
    })
}

fn stage(id: &str, phase: Phase, input: Input, ops: Vec<Op>) -> Stage {
    Stage { id: id.into(), block: id.split('.').next().unwrap().into(), phase, input, ops, runs_on: None, detached: false }
}

/// A plan shaped like Cog's string-project image.
fn sample() -> Plan {
    let mut plan = Plan::new("python");
    plan.contexts.insert(
        "source".into(),
        Context::Local { path: ".".into(), dockerignore: true, include: vec![], exclude: vec![] },
    );
    plan.stages = vec![
        stage("base", Phase::Base, Input::Image { image: "cogpack/base:py3.11-bookworm".into() }, vec![]),
        stage(
            "pip-requirements",
            Phase::AppDeps,
            Input::Phase { phase: Phase::Base },
            vec![Op::Exec(Exec {
                mounts: vec![Mount::Cache {
                    target: "/root/.cache/pip".into(),
                    id: "pip".into(),
                    sharing: CacheSharing::Locked,
                }],
                host_ca: true,
                ..match exec("pip install -r /tmp/requirements.txt") {
                    Op::Exec(e) => e,
                    _ => unreachable!(),
                }
            })],
        ),
        stage(
            "source-copy",
            Phase::AppSource,
            Input::Stage { stage: "pip-requirements".into() },
            vec![
                Op::Workdir(SetWorkdir { path: "/src".into() }),
                Op::Copy(Copy {
                    from: Input::Context { context: "source".into() },
                    src: vec!["/".into()],
                    dest: "/src".into(),
                    include: vec![],
                    exclude: vec![".cog".into()],
                    chown: None,
                    merge: false,
                    description: None,
                }),
            ],
        ),
    ];
    plan.export = ExportConfig {
        cmd: vec!["python".into(), "-m".into(), "cog.server.http".into()],
        env: vec!["COG_PREDICT_TYPE_STUB=predict.py:Predictor".into()],
        workdir: Some("/src".into()),
        exposed_ports: vec!["5000".into()],
        ..Default::default()
    };
    plan
}

#[test]
fn a_cog_shaped_plan_is_valid() {
    assert_eq!(validate(&sample()), vec![]);
}

#[test]
fn json_round_trips_and_is_deterministic() {
    let plan = sample();
    let json = plan.to_json();
    assert_eq!(json, sample().to_json());
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    assert!(json.contains("\"from\": \"context\""), "{json}");
}

#[test]
fn phase_inputs_fall_back_to_earlier_phases() {
    let plan = sample();
    assert_eq!(plan.phase_output(Phase::SystemDeps).unwrap().id, "base");
    assert_eq!(plan.phase_output(Phase::BuildComplete).unwrap().id, "source-copy");
    assert_eq!(plan.exported_stage().unwrap().id, "source-copy");
    assert!(Plan::new("x").phase_output(Phase::AppDeps).is_none());
}

#[test]
fn every_violation_is_reported() {
    let mut plan = sample();
    plan.stages[1].ops.push(Op::Env(SetEnv { key: "1BAD".into(), value: "x".into() }));
    plan.stages[1].ops.push(Op::Workdir(SetWorkdir { path: "relative".into() }));
    plan.stages[2].input = Input::Stage { stage: "pip-requirement".into() };
    plan.stages.push(stage("base", Phase::AppSource, Input::Context { context: "nope".into() }, vec![]));
    plan.export.env.push("NOEQUALS".into());
    plan.export.workdir = Some("src".into());
    plan.export.exposed_ports.push("70000".into());
    plan.export.volumes.push("data".into());
    let found: Vec<String> = validate(&plan).iter().map(|v| v.to_string()).collect();
    let expected = [
        "stage base: stage id is used more than once",
        "stage pip-requirements, op 2 (env): ENV key `1BAD` must start with a letter or `_`",
        "stage pip-requirements, op 3 (workdir): WORKDIR `relative` is not an absolute path",
        "stage source-copy: input refers to unknown stage `pip-requirement` (did you mean `pip-requirements`?)",
        "stage base: input refers to unknown context `nope`",
        "export.env[1]: `NOEQUALS` is not `KEY=value`",
        "export.workdir: WORKDIR `src` is not an absolute path",
        "export.volumes[0]: VOLUME `data` is not an absolute path",
        "export.exposed_ports[1]: EXPOSE `70000` is not `port[/tcp|/udp]` with a port from 1 to 65535",
    ];
    for e in expected {
        assert!(found.iter().any(|f| f == e), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn cycles_are_named() {
    let mut plan = sample();
    plan.stages[1].input = Input::Stage { stage: "source-copy".into() };
    let found: Vec<String> = validate(&plan).iter().map(|v| v.to_string()).collect();
    assert!(
        found.iter().any(|f| f.contains("stages form a cycle: pip-requirements -> source-copy -> pip-requirements")),
        "{found:#?}"
    );
}

#[test]
fn phase_inputs_must_look_backwards() {
    let mut plan = sample();
    plan.stages[1].input = Input::Phase { phase: Phase::AppSource };
    let found: Vec<String> = validate(&plan).iter().map(|v| v.to_string()).collect();
    assert!(found.iter().any(|f| f.contains("is not earlier than the stage's own phase")), "{found:#?}");
}

#[test]
fn mounts_are_checked() {
    let mut plan = sample();
    if let Op::Exec(e) = &mut plan.stages[1].ops[0] {
        e.mounts.push(Mount::Secret { target: "/root/.cache/pip".into(), id: "".into(), required: true });
        e.mounts.push(Mount::Tmpfs { target: "tmp".into(), size: None });
        e.env.push("A B=c".into());
    }
    let found: Vec<String> = validate(&plan).iter().map(|v| v.to_string()).collect();
    for e in [
        "two mounts share the target `/root/.cache/pip`",
        "mount 2 (secret) has an empty id",
        "mount 3 target `tmp` is not an absolute path",
        "env[0] `A B=c` has a key that may contain only letters, digits and `_`",
    ] {
        assert!(found.iter().any(|f| f.ends_with(e)), "missing {e:?} in {found:#?}");
    }
}

/// `sample()` plus a detached `pip-freeze` stage in the last build phase.
fn with_freeze() -> Plan {
    let mut plan = sample();
    let mut freeze = stage(
        "pip-freeze",
        Phase::BuildComplete,
        Input::Phase { phase: Phase::AppDeps },
        vec![exec("python -m pip freeze > /cogpack/pip-freeze.txt")],
    );
    freeze.detached = true;
    plan.stages.push(freeze);
    plan.export.label_files.insert(
        "run.cog.pip_freeze".into(),
        LabelFile { path: "/cogpack/pip-freeze.txt".into(), stage: Some("pip-freeze".into()) },
    );
    plan
}

#[test]
fn a_detached_stage_is_never_a_phase_output_or_the_export() {
    let plan = with_freeze();
    assert_eq!(validate(&plan), vec![]);
    assert_eq!(plan.phase_output(Phase::BuildComplete).unwrap().id, "source-copy");
    assert_eq!(plan.exported_stage().unwrap().id, "source-copy");
    let json = plan.to_json();
    assert!(json.contains("\"detached\": true"), "{json}");
    assert_eq!(json.matches("\"detached\"").count(), 1, "only the detached stage says so");
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn label_files_must_read_a_detached_stage_that_exists() {
    let mut plan = with_freeze();
    plan.export.label_files.insert(
        "a".into(),
        LabelFile { path: "/x".into(), stage: Some("pip-frezee".into()) },
    );
    plan.export.label_files.insert(
        "b".into(),
        LabelFile { path: "/y".into(), stage: Some("source-copy".into()) },
    );
    plan.export.label_files.insert("c".into(), LabelFile { path: "relative".into(), stage: None });
    let found: Vec<String> = validate(&plan).iter().map(|v| v.to_string()).collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("export.label_files.a") && found[0].contains("unknown stage `pip-frezee`"), "{}", found[0]);
    assert!(found[0].contains("pip-freeze"), "did you mean: {}", found[0]);
    assert!(found[1].contains("export.label_files.b") && found[1].contains("not detached"), "{}", found[1]);
    assert!(found[2].contains("export.label_files.c") && found[2].contains("not an absolute path"), "{}", found[2]);
}
