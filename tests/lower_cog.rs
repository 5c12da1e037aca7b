//! Lowering a Cog-shaped plan: the decoded graph (snapshot), determinism, env tracking,
//! host CA mounts, contexts and `.dockerignore`, and the v0.8 vs modern differences.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cogpack::llb::{self, pb};
use cogpack::lower::{self, EngineCaps, LocalSpec, LowerError, LowerOptions, Lowered};
use cogpack::plan::*;
use prost::Message;
use serde_json::Value;

const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A throwaway project directory with a `.dockerignore` and a CA bundle beside it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(
            p.join("cog.yaml"),
            "build:\n  python_version: \"3.11\"\npredict: predict.py:Predictor\n",
        )
        .unwrap();
        std::fs::write(p.join("predict.py"), "class Predictor: ...\n").unwrap();
        std::fs::write(
            p.join(".dockerignore"),
            "# comment\n.git\n/weights/*.tmp\n!weights/keep.tmp\n",
        )
        .unwrap();
        std::fs::create_dir(p.join("scripts")).unwrap();
        std::fs::write(p.join("ca.pem"), CA_PEM).unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn options(&self) -> LowerOptions {
        LowerOptions {
            ca_cert: Some(self.path().join("ca.pem")),
            source_key: None,
            image_configs: Default::default(),
        }
    }

    fn lower(&self, plan: &Plan, engine: &EngineCaps) -> Result<Lowered, LowerError> {
        lower::lower_with(plan, self.path(), engine, &self.options())
    }
}

fn sh(cmd: &str) -> Exec {
    Exec {
        args: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
        env: vec![],
        cwd: None,
        user: None,
        mounts: vec![],
        network: Network::Default,
        host_ca: false,
        description: None,
    }
}

fn stage(id: &str, phase: Phase, input: Input, ops: Vec<Op>) -> Stage {
    Stage {
        id: id.into(),
        block: id.split('.').next().unwrap().into(),
        phase,
        input,
        ops,
        runs_on: None,
        detached: false,
    }
}

fn copy(from: Input, src: &[&str], dest: &str) -> Copy {
    Copy {
        from,
        src: src.iter().map(|s| s.to_string()).collect(),
        dest: dest.into(),
        include: vec![],
        exclude: vec![],
        chown: None,
        merge: false,
        description: None,
    }
}

fn env(key: &str, value: &str) -> Op {
    Op::Env(SetEnv {
        key: key.into(),
        value: value.into(),
    })
}

/// A plan shaped like a Cog image: base image, apt with caches, a venv, pip with the host
/// CA, a user `run` step with a secret and a bind mount, weights and source merged on top.
fn cog_plan() -> Plan {
    let mut plan = Plan::new("python");
    plan.contexts.insert(
        "source".into(),
        Context::Local {
            path: ".".into(),
            dockerignore: true,
            include: vec![],
            exclude: vec![],
        },
    );
    plan.contexts.insert(
        "requirements".into(),
        Context::Generated {
            files: BTreeMap::from([(
                "requirements.txt".into(),
                GeneratedFile {
                    contents: "torch==2.1.0\n".into(),
                    mode: 0o644,
                },
            )]),
        },
    );
    let tini_sum = format!(
        "sha256:{}",
        "93dcc18adc78c65a028a84799ecf8ad40c936fdfc5f2a57b1acda5a8117fa82c"
    );
    plan.stages = vec![
        stage(
            "tini",
            Phase::Base,
            Input::Url {
                url: "https://github.com/krallin/tini/releases/download/v0.19.0/tini-amd64".into(),
                checksum: Some(tini_sum),
                filename: Some("tini".into()),
            },
            vec![],
        ),
        stage(
            "base",
            Phase::Base,
            Input::Image {
                image: "cogpack/base:py3.11-bookworm".into(),
            },
            vec![
                env("DEBIAN_FRONTEND", "noninteractive"),
                env("PYTHONUNBUFFERED", "1"),
            ],
        ),
        stage(
            "apt",
            Phase::SystemDeps,
            Input::Phase { phase: Phase::Base },
            vec![
                Op::Exec(Exec {
                    mounts: vec![
                        Mount::Cache {
                            target: "/var/cache/apt".into(),
                            id: "apt-cache".into(),
                            sharing: CacheSharing::Locked,
                        },
                        Mount::Cache {
                            target: "/var/lib/apt/lists".into(),
                            id: "apt-lists".into(),
                            sharing: CacheSharing::Locked,
                        },
                    ],
                    description: Some("install system packages: ffmpeg".into()),
                    ..sh("apt-get update && apt-get install -y --no-install-recommends ffmpeg")
                }),
                Op::Rm(Rm {
                    path: "/var/log/apt".into(),
                }),
            ],
        ),
        stage(
            "python",
            Phase::Runtime,
            Input::Phase {
                phase: Phase::SystemDeps,
            },
            vec![
                Op::Copy(Copy {
                    chown: Some("0:0".into()),
                    ..copy(
                        Input::Stage {
                            stage: "tini".into(),
                        },
                        &["/tini"],
                        "/usr/bin/tini",
                    )
                }),
                env("VIRTUAL_ENV", "/venv"),
                env("PATH", "$VIRTUAL_ENV/bin:${PATH}"),
                Op::Exec(Exec {
                    mounts: vec![Mount::Tmpfs {
                        target: "/tmp".into(),
                        size: None,
                    }],
                    network: Network::None,
                    ..sh("python -m venv $VIRTUAL_ENV")
                }),
            ],
        ),
        stage(
            "pip",
            Phase::AppDeps,
            Input::Phase {
                phase: Phase::Runtime,
            },
            vec![
                Op::Copy(copy(
                    Input::Context {
                        context: "requirements".into(),
                    },
                    &["/requirements.txt"],
                    "/tmp/requirements.txt",
                )),
                Op::Exec(Exec {
                    mounts: vec![Mount::Cache {
                        target: "/root/.cache/pip".into(),
                        id: "pip".into(),
                        sharing: CacheSharing::Shared,
                    }],
                    host_ca: true,
                    env: vec!["PIP_DISABLE_PIP_VERSION_CHECK=1".into()],
                    description: Some("install requirements".into()),
                    ..sh("pip install -r /tmp/requirements.txt")
                }),
            ],
        ),
        stage(
            "run",
            Phase::AppDeps,
            Input::Stage {
                stage: "pip".into(),
            },
            vec![
                Op::Exec(Exec {
                    mounts: vec![
                        Mount::Secret {
                            target: "/run/secrets/hf_token".into(),
                            id: "hf_token".into(),
                            required: true,
                        },
                        Mount::Bind {
                            target: "/scripts".into(),
                            from: Input::Context {
                                context: "source".into(),
                            },
                            source: Some("/scripts".into()),
                            readonly: true,
                        },
                    ],
                    user: Some("nobody".into()),
                    ..sh("sh /scripts/download.sh")
                }),
                Op::MkDir(MkDir {
                    path: "/src/.cog".into(),
                    mode: 0o755,
                }),
                Op::MkFile(MkFile {
                    path: "/src/.cog/openapi_schema.json".into(),
                    contents: "{}".into(),
                    mode: 0o644,
                }),
            ],
        ),
        stage(
            "weights",
            Phase::AppSource,
            Input::Stage {
                stage: "run".into(),
            },
            vec![Op::Copy(Copy {
                include: vec!["weights/**".into()],
                merge: true,
                description: Some("copy weights".into()),
                ..copy(
                    Input::Context {
                        context: "source".into(),
                    },
                    &["/"],
                    "/src",
                )
            })],
        ),
        stage(
            "source-copy",
            Phase::AppSource,
            Input::Stage {
                stage: "weights".into(),
            },
            vec![
                Op::Workdir(SetWorkdir {
                    path: "/src".into(),
                }),
                Op::Copy(Copy {
                    exclude: vec!["weights".into(), ".cog".into()],
                    merge: true,
                    ..copy(
                        Input::Context {
                            context: "source".into(),
                        },
                        &["/"],
                        "/src",
                    )
                }),
                Op::Exec(sh("python -m compileall -q .")),
            ],
        ),
    ];
    plan.export = ExportConfig {
        cmd: vec!["python".into(), "-m".into(), "cog.server.http".into()],
        env: vec![
            "COG_PREDICT_TYPE_STUB=predict.py:Predictor".into(),
            "PYTHONUNBUFFERED=0".into(),
        ],
        workdir: None,
        exposed_ports: vec!["5000".into()],
        labels: BTreeMap::from([("run.cog.version".into(), "0.9.0".into())]),
        ..Default::default()
    };
    plan
}

fn decoded_ops(lowered: &Lowered) -> Vec<Value> {
    llb::decode(&lowered.definition).unwrap()["ops"]
        .as_array()
        .unwrap()
        .clone()
}

fn ops(def: &pb::Definition) -> Vec<(String, pb::Op)> {
    def.def
        .iter()
        .map(|b| (llb::digest_of(b), pb::Op::decode(b.as_slice()).unwrap()))
        .collect()
}

/// The exec op whose custom name ends with `name`.
fn exec_named(lowered: &Lowered, name: &str) -> pb::ExecOp {
    for (digest, op) in ops(&lowered.definition) {
        let custom = &lowered.definition.metadata[&digest].description;
        if custom
            .get("llb.customname")
            .is_some_and(|n| n.ends_with(name))
        {
            if let Some(pb::op::Op::Exec(e)) = op.op {
                return e;
            }
        }
    }
    panic!("no exec named {name}");
}

fn env_of(e: &pb::ExecOp) -> Vec<String> {
    e.meta.as_ref().unwrap().env.clone()
}

#[test]
fn the_plan_is_valid() {
    assert_eq!(validate(&cog_plan()), vec![]);
}

#[test]
fn decoded_graph_snapshot() {
    let project = Project::new();
    let lowered = project.lower(&cog_plan(), &EngineCaps::modern()).unwrap();
    let origins: BTreeMap<&String, String> = lowered
        .origins
        .iter()
        .map(|(d, o)| {
            (
                d,
                format!(
                    "{}/{} op {:?}: {}",
                    o.block, o.stage, o.op_index, o.description
                ),
            )
        })
        .collect();
    insta::assert_json_snapshot!("modern_graph", llb::decode(&lowered.definition).unwrap());
    insta::assert_json_snapshot!("image_config", lowered.image_config);
    insta::assert_json_snapshot!("origins", origins);
}

#[test]
fn the_same_plan_gives_the_same_bytes_in_any_directory() {
    let a = Project::new();
    let b = Project::new();
    for engine in [EngineCaps::modern(), EngineCaps::buildkit_v0_8()] {
        let first = a
            .lower(&cog_plan(), &engine)
            .unwrap()
            .definition
            .encode_to_vec();
        let again = a
            .lower(&cog_plan(), &engine)
            .unwrap()
            .definition
            .encode_to_vec();
        let elsewhere = b
            .lower(&cog_plan(), &engine)
            .unwrap()
            .definition
            .encode_to_vec();
        assert_eq!(first, again);
        assert_eq!(first, elsewhere);
    }
}

#[test]
fn every_op_is_named_and_traced_to_its_block_and_stage() {
    let project = Project::new();
    let lowered = project.lower(&cog_plan(), &EngineCaps::modern()).unwrap();
    let all = ops(&lowered.definition);
    let (body, terminal) = all.split_at(all.len() - 1);
    assert!(terminal[0].1.op.is_none());
    for (digest, _) in body {
        let origin = lowered
            .origins
            .get(digest)
            .unwrap_or_else(|| panic!("no origin for {digest}"));
        let name = &lowered.definition.metadata[digest].description["llb.customname"];
        assert!(
            name.starts_with(&format!("[{}/{}] ", origin.block, origin.stage)),
            "{name}"
        );
    }
    let pip = lowered
        .origins
        .values()
        .find(|o| o.description == "install requirements")
        .unwrap();
    assert_eq!(
        (pip.block.as_str(), pip.stage.as_str(), pip.op_index),
        ("pip", "pip", Some(1))
    );
    let image = lowered
        .origins
        .values()
        .find(|o| o.description.starts_with("FROM"))
        .unwrap();
    assert_eq!(
        image.description,
        "FROM docker.io/cogpack/base:py3.11-bookworm"
    );
    assert_eq!(image.op_index, None);
}

#[test]
fn env_workdir_and_user_accumulate_into_execs_and_the_image_config() {
    let project = Project::new();
    let lowered = project.lower(&cog_plan(), &EngineCaps::modern()).unwrap();
    let venv_path = format!("PATH=/venv/bin:{BASE_PATH}");

    let apt = exec_named(&lowered, "install system packages: ffmpeg");
    assert_eq!(
        env_of(&apt),
        vec![
            format!("PATH={BASE_PATH}"),
            "DEBIAN_FRONTEND=noninteractive".into(),
            "PYTHONUNBUFFERED=1".into()
        ]
    );
    assert_eq!(apt.meta.as_ref().unwrap().cwd, "/");

    let venv = exec_named(&lowered, "python -m venv $VIRTUAL_ENV");
    assert_eq!(venv.network, pb::NetMode::None as i32);
    assert!(env_of(&venv).contains(&venv_path), "{:?}", env_of(&venv));

    let pip = exec_named(&lowered, "install requirements");
    let pip_env = env_of(&pip);
    assert!(pip_env.contains(&venv_path) && pip_env.contains(&"VIRTUAL_ENV=/venv".to_string()));
    assert!(pip_env.contains(&"PIP_DISABLE_PIP_VERSION_CHECK=1".to_string()));

    let run = exec_named(&lowered, "sh /scripts/download.sh");
    assert_eq!(run.meta.as_ref().unwrap().user, "nobody");
    assert!(
        !env_of(&run).iter().any(|e| e.starts_with("PIP_DISABLE")),
        "exec env is for that step only"
    );

    let compile = exec_named(&lowered, "python -m compileall -q .");
    assert_eq!(
        compile.meta.as_ref().unwrap().cwd,
        "/src",
        "WORKDIR applies to later execs"
    );
    assert_eq!(
        compile.meta.as_ref().unwrap().user,
        "",
        "USER of one exec does not stick"
    );

    let config = &lowered.image_config["config"];
    let image_env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        image_env,
        vec![
            venv_path.as_str(),
            "DEBIAN_FRONTEND=noninteractive",
            "PYTHONUNBUFFERED=0",
            "VIRTUAL_ENV=/venv",
            "COG_PREDICT_TYPE_STUB=predict.py:Predictor",
        ]
    );
    assert_eq!(config["WorkingDir"], "/src");
    assert_eq!(config["ExposedPorts"], serde_json::json!({"5000/tcp": {}}));
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["python", "-m", "cog.server.http"])
    );
    assert_eq!(lowered.image_config["architecture"], "amd64");
    assert!(config.get("User").is_none());
}

#[test]
fn host_ca_is_mounted_for_its_step_only_and_never_exported() {
    let project = Project::new();
    let lowered = project
        .lower(&cog_plan(), &EngineCaps::buildkit_v0_8())
        .unwrap();
    let pip = exec_named(&lowered, "install requirements");
    let ca = pip
        .mounts
        .iter()
        .find(|m| m.dest == lower::CA_TARGET)
        .expect("CA mount on the pip step");
    assert!(ca.readonly);
    assert_eq!(ca.output, -1);
    assert_eq!(ca.selector, "/ca-certificates.crt");
    for var in ["SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"] {
        assert!(
            env_of(&pip).contains(&format!("{var}={}", lower::CA_TARGET)),
            "{var}"
        );
    }
    // The mount reads the in-memory local holding the chosen bundle.
    let pip_op = ops(&lowered.definition)
        .into_iter()
        .find(|(_, op)| matches!(&op.op, Some(pb::op::Op::Exec(e)) if *e == pip))
        .unwrap()
        .1;
    let source_digest = &pip_op.inputs[ca.input as usize].digest;
    let (_, source) = ops(&lowered.definition)
        .into_iter()
        .find(|(d, _)| d == source_digest)
        .unwrap();
    let Some(pb::op::Op::Source(s)) = source.op else {
        panic!()
    };
    assert_eq!(s.identifier, "local://cogpack-host-ca");
    match &lowered.locals["cogpack-host-ca"] {
        LocalSpec::Memory { files, .. } => assert_eq!(
            files["ca-certificates.crt"],
            (CA_PEM.as_bytes().to_vec(), 0o644)
        ),
        other => panic!("{other:?}"),
    }
    // No other step sees it, and the image config does not carry it.
    let venv = exec_named(&lowered, "python -m venv $VIRTUAL_ENV");
    assert!(!venv.mounts.iter().any(|m| m.dest == lower::CA_TARGET));
    assert!(!env_of(&venv).iter().any(|e| e.starts_with("SSL_CERT_FILE")));
    let config = lowered.image_config.to_string();
    assert!(
        !config.contains("SSL_CERT_FILE")
            && !config.contains("PIP_CERT")
            && !config.contains("MIIBfake")
    );

    // A missing bundle is a clear error.
    let bad = LowerOptions {
        ca_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        source_key: None,
        image_configs: Default::default(),
    };
    let err =
        lower::lower_with(&cog_plan(), project.path(), &EngineCaps::modern(), &bad).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn contexts_filter_at_the_source_and_honour_dockerignore() {
    let project = Project::new();
    let lowered = project
        .lower(&cog_plan(), &EngineCaps::buildkit_v0_8())
        .unwrap();
    let sources: Vec<pb::SourceOp> = ops(&lowered.definition)
        .into_iter()
        .filter_map(|(_, op)| match op.op {
            Some(pb::op::Op::Source(s)) if s.identifier.starts_with("local://source") => Some(s),
            _ => None,
        })
        .collect();
    // Issue 8: patterns never travel to the engine (it would send them back in gRPC
    // headers, limited to 16 KiB); each filtered view is its own local, filtered by us.
    let ignore = [".git", "weights/*.tmp", "!weights/keep.tmp"].map(String::from).to_vec();
    let mut views: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut hints = BTreeSet::new();
    for s in &sources {
        assert!(!s.attrs.contains_key("local.includepattern"), "{:?}", s.attrs);
        assert!(!s.attrs.contains_key("local.excludepatterns"), "{:?}", s.attrs);
        assert!(!s.attrs.contains_key("local.session") && !s.attrs.contains_key("local.unique"));
        let name = s.identifier.trim_start_matches("local://");
        let hint = &s.attrs["local.sharedkeyhint"];
        assert!(hint.starts_with("source-") && hints.insert(hint.clone()), "{hint}");
        match &lowered.locals[name] {
            LocalSpec::Dir { path, include, exclude } => {
                assert_eq!(path, project.path());
                views.push((include.clone(), exclude.clone()));
            }
            other => panic!("{other:?}"),
        }
    }
    let mut code = ignore.clone();
    code.extend(["weights".to_string(), ".cog".to_string()]);
    assert!(views.contains(&(vec![], ignore.clone())), "{views:?}");
    assert!(views.contains(&(vec!["weights/**".to_string()], ignore.clone())), "{views:?}");
    assert!(views.contains(&(vec![], code)), "{views:?}");
    // The same patterns give the same digests.
    let again = project.lower(&cog_plan(), &EngineCaps::buildkit_v0_8()).unwrap();
    assert_eq!(again.definition, lowered.definition);
    // A copy of specific paths from a context only sends those paths.
    let req = ops(&lowered.definition)
        .into_iter()
        .find_map(|(_, op)| match op.op {
            Some(pb::op::Op::Source(s)) if s.identifier.starts_with("local://requirements") => Some(s),
            _ => None,
        })
        .unwrap();
    match &lowered.locals[req.identifier.trim_start_matches("local://")] {
        LocalSpec::Memory { files, include, exclude } => {
            assert_eq!(files["requirements.txt"], (b"torch==2.1.0\n".to_vec(), 0o644));
            assert_eq!(include, &["requirements.txt"]);
            assert!(exclude.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lowered.secrets.iter().collect::<Vec<_>>(), ["hf_token"]);

    std::fs::write(project.path().join(".dockerignore"), "ok\n\n# c\nbad[\n").unwrap();
    let err = project
        .lower(&cog_plan(), &EngineCaps::modern())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}:4: ",
            project.path().join(".dockerignore").display()
        )),
        "{err}"
    );
}

#[test]
fn merge_copies_become_independent_layers_only_with_merge_op() {
    let project = Project::new();
    let modern = project.lower(&cog_plan(), &EngineCaps::modern()).unwrap();
    let old = project
        .lower(&cog_plan(), &EngineCaps::buildkit_v0_8())
        .unwrap();

    let merges = |l: &Lowered| {
        ops(&l.definition)
            .into_iter()
            .filter(|(_, op)| matches!(op.op, Some(pb::op::Op::Merge(_))))
            .count()
    };
    assert_eq!(merges(&modern), 2, "weights and source are merged layers");
    assert_eq!(merges(&old), 0, "v0.8 has no MergeOp");

    // The same copies either way; on scratch with MergeOp, onto the stage without it.
    let copies = |l: &Lowered| -> Vec<(String, String, i64)> {
        let mut out = Vec::new();
        for (_, op) in ops(&l.definition) {
            if let Some(pb::op::Op::File(f)) = op.op {
                for a in f.actions {
                    if let Some(pb::file_action::Action::Copy(c)) = a.action {
                        if c.dest == "/src" {
                            out.push((c.src, c.dest, a.input));
                        }
                    }
                }
            }
        }
        out
    };
    assert_eq!(
        copies(&modern),
        vec![
            ("/".into(), "/src".into(), -1),
            ("/".into(), "/src".into(), -1)
        ]
    );
    assert_eq!(
        copies(&old),
        vec![
            ("/".into(), "/src".into(), 0),
            ("/".into(), "/src".into(), 0)
        ]
    );
    assert!(old
        .definition
        .metadata
        .values()
        .all(|md| !md.caps.contains_key("mergeop")));
    assert!(modern
        .definition
        .metadata
        .values()
        .any(|md| md.caps.contains_key("mergeop")));
    let merged = decoded_ops(&modern)
        .into_iter()
        .find(|o| o["kind"] == "merge")
        .unwrap();
    assert_eq!(
        merged["name"],
        "[weights/weights] copy weights (merged layer)"
    );
    assert_eq!(merged["merge"]["inputs"].as_array().unwrap().len(), 2);
}

#[test]
fn copy_patterns_from_a_stage_need_the_cap() {
    let project = Project::new();
    let mut plan = cog_plan();
    plan.stages[3].ops[0] = Op::Copy(Copy {
        include: vec!["tini*".into()],
        ..copy(
            Input::Stage {
                stage: "tini".into(),
            },
            &["/"],
            "/usr/bin/",
        )
    });
    let err = project
        .lower(&plan, &EngineCaps::buildkit_v0_8())
        .unwrap_err();
    assert!(
        matches!(err, LowerError::CopyPatternsUnsupported { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("[python/python] copies from stage:tini with include/exclude patterns"),
        "{msg}"
    );
    assert!(msg.contains("file.copy.includeexcludepatterns"), "{msg}");

    let lowered = project.lower(&plan, &EngineCaps::modern()).unwrap();
    let (digest, f) = ops(&lowered.definition)
        .into_iter()
        .find_map(|(d, op)| match op.op {
            Some(pb::op::Op::File(f)) if matches!(&f.actions[0].action, Some(pb::file_action::Action::Copy(c)) if c.include_patterns == ["tini*"]) => Some((d, f)),
            _ => None,
        })
        .expect("copy with patterns");
    assert_eq!(f.actions.len(), 1);
    assert!(lowered.definition.metadata[&digest]
        .caps
        .contains_key("file.copy.includeexcludepatterns"));
}

#[test]
fn caps_the_engine_lacks_fail_naming_the_step() {
    let project = Project::new();
    let mut plan = cog_plan();
    if let Op::Exec(e) = &mut plan.stages[3].ops[3] {
        e.mounts[0] = Mount::Tmpfs {
            target: "/tmp".into(),
            size: Some(64 << 20),
        };
    }
    let err = project
        .lower(&plan, &EngineCaps::buildkit_v0_8())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("[python/python] python -m venv $VIRTUAL_ENV: the engine lacks the `exec.mount.tmpfs.size`"), "{err}");
    assert!(err.contains("BuildKit v0.10 (Docker 23.0)"), "{err}");
    assert!(project.lower(&plan, &EngineCaps::modern()).is_ok());
}

#[test]
fn other_failures_are_clear() {
    let project = Project::new();
    let mut plan = cog_plan();
    plan.stages[1].input = Input::Image {
        image: "Bad Image".into(),
    };
    let err = project
        .lower(&plan, &EngineCaps::modern())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("the plan is invalid:"), "{err}");

    let mut plan = cog_plan();
    plan.stages[1].input = Input::Image {
        image: "cogpack/Base:1".into(),
    };
    let err = project
        .lower(&plan, &EngineCaps::modern())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("[base/base] image reference `cogpack/Base:1` is invalid"),
        "{err}"
    );

    let mut plan = cog_plan();
    plan.contexts.insert(
        "source".into(),
        Context::Local {
            path: "missing".into(),
            dockerignore: false,
            include: vec![],
            exclude: vec![],
        },
    );
    let err = project
        .lower(&plan, &EngineCaps::modern())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[run/run] context `source` is the directory")
            && err.contains("does not exist"),
        "{err}"
    );

    let mut scratch = Plan::new("x");
    scratch.stages = vec![stage("empty", Phase::Base, Input::Scratch, vec![])];
    let err = lower::lower(&scratch, project.path(), &EngineCaps::modern())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "[empty/empty] the exported stage is an empty filesystem (scratch with no ops)"
    );

    let mut host = Plan::new("x");
    host.stages = vec![stage(
        "net",
        Phase::Base,
        Input::Image {
            image: "busybox".into(),
        },
        vec![Op::Exec(Exec {
            network: Network::Host,
            ..sh("true")
        })],
    )];
    let lowered = lower::lower(&host, project.path(), &EngineCaps::buildkit_v0_8()).unwrap();
    assert_eq!(
        lowered.entitlements.iter().collect::<Vec<_>>(),
        ["network.host"]
    );
    assert!(lowered.locals.is_empty() && lowered.secrets.is_empty());
}

#[test]
fn the_dump_carries_secret_ids_only() {
    let project = Project::new();
    let lowered = project.lower(&cog_plan(), &EngineCaps::modern()).unwrap();
    let dump = llb::decode(&lowered.definition).unwrap();
    let secret = decoded_ops(&lowered)
        .into_iter()
        .flat_map(|o| o["exec"]["mounts"].as_array().cloned().unwrap_or_default())
        .find(|m| m["type"] == "secret")
        .unwrap();
    assert_eq!(
        secret,
        serde_json::json!({"dest": "/run/secrets/hf_token", "type": "secret", "id": "hf_token", "optional": false,
            "mode": "0400", "uid": 0, "gid": 0, "output": -1})
    );
    // Not even the CA bundle's contents (which live in `locals`) reach the dump.
    assert!(!dump.to_string().contains("MIIBfake"));
}

#[test]
fn a_source_key_names_the_project_in_directory_sources() {
    let project = Project::new();
    let mut options = project.options();
    options.source_key = Some(lower::project_key(project.path()));
    let lowered =
        lower::lower_with(&cog_plan(), project.path(), &EngineCaps::modern(), &options).unwrap();
    let dump = serde_json::to_string(&cogpack::llb::decode(&lowered.definition).unwrap()).unwrap();
    let key = format!("source-{}", lower::project_key(project.path()));
    assert!(dump.contains(&key), "{key} not in {dump}");
    let other = Project::new();
    assert_ne!(lower::project_key(project.path()), lower::project_key(other.path()));
}

#[test]
fn chains_start_from_the_image_config_the_engine_reports() {
    let project = Project::new();
    let mut options = project.options();
    let plan = cog_plan();
    let image = plan
        .stages
        .iter()
        .find_map(|s| match &s.input {
            cogpack::plan::Input::Image { image } => Some(image.clone()),
            _ => None,
        })
        .expect("the sample plan starts from an image");
    options.image_configs.insert(
        image,
        lower::ImageDefaults {
            env: vec!["PATH=/opt/bin:/usr/bin:/bin".into(), "LANG=C.UTF-8".into()],
            workdir: None,
            user: None,
        },
    );
    let lowered = lower::lower_with(&plan, project.path(), &EngineCaps::modern(), &options).unwrap();
    let env: Vec<String> = lowered.image_config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(env.contains(&"LANG=C.UTF-8".to_string()), "{env:?}");
    assert!(env.iter().any(|e| e.starts_with("PATH=") && e.contains("/opt/bin")), "{env:?}");
}

#[test]
fn a_detached_stage_is_its_own_definition_and_not_in_the_image() {
    let project = Project::new();
    let mut plan = cog_plan();
    let last = plan.exported_stage().unwrap().id.clone();
    let mut freeze = stage(
        "pip-freeze",
        Phase::BuildComplete,
        Input::Phase { phase: Phase::AppDeps },
        vec![Op::Exec(sh("python -m pip freeze > /cogpack/pip-freeze.txt"))],
    );
    freeze.detached = true;
    plan.stages.push(freeze);
    plan.export.label_files.insert(
        "run.cog.pip_freeze".into(),
        LabelFile { path: "/cogpack/pip-freeze.txt".into(), stage: Some("pip-freeze".into()) },
    );
    assert_eq!(plan.exported_stage().unwrap().id, last);
    let lowered = project.lower(&plan, &EngineCaps::buildkit_v0_8()).unwrap();
    let image = serde_json::to_string(&llb::decode(&lowered.definition).unwrap()).unwrap();
    assert!(!image.contains("pip freeze"), "the image's graph must not run the side step");
    assert_eq!(lowered.side_definitions.keys().collect::<Vec<_>>(), ["pip-freeze"]);
    let side = &lowered.side_definitions["pip-freeze"];
    let text = serde_json::to_string(&llb::decode(side).unwrap()).unwrap();
    assert!(text.contains("pip freeze"), "{text}");
    // The side step is traced to its block like every other op.
    let freeze_op = ops(side)
        .into_iter()
        .find(|(_, op)| matches!(&op.op, Some(pb::op::Op::Exec(e)) if e.meta.as_ref().unwrap().args.join(" ").contains("pip freeze")))
        .unwrap();
    assert_eq!(lowered.origins[&freeze_op.0].stage, "pip-freeze");
    // It shares the dependency ops with the image (one cache, one solve).
    let shared = ops(side).iter().filter(|(d, _)| lowered.definition.def.iter().any(|b| &llb::digest_of(b) == d)).count();
    assert!(shared >= 3, "only {shared} ops shared");
}
