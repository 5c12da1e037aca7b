use super::*;
use prost::Message;
use sha2::{Digest as _, Sha256};

fn meta(name: &str) -> OpMeta {
    OpMeta::new(name, Some(platform("linux", "amd64")))
}

fn busybox() -> State {
    State::image("busybox", &meta("from")).unwrap()
}

fn ops(def: &pb::Definition) -> Vec<pb::Op> {
    def.def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect()
}

#[test]
fn image_references_are_normalised() {
    let cases = [
        (
            "cogpack/base:py3.11-bookworm",
            "docker.io/cogpack/base:py3.11-bookworm",
        ),
        ("python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ("busybox", "docker.io/library/busybox:latest"),
        (
            "docker.io/library/alpine:3.19",
            "docker.io/library/alpine:3.19",
        ),
        (
            "index.docker.io/nvidia/cuda:11.8.0-devel",
            "docker.io/nvidia/cuda:11.8.0-devel",
        ),
        ("localhost:5000/x/y", "localhost:5000/x/y:latest"),
        ("ghcr.io/a/b:1", "ghcr.io/a/b:1"),
        (
            "r8.im/x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
            "r8.im/x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        ),
    ];
    for (input, want) in cases {
        let got = normalize_image_ref(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got, want, "{input}");
    }
    for bad in ["", "Python:3", "a b", "x:", "x/:1", "x@sha256:zz"] {
        assert!(
            normalize_image_ref(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn digest_is_sha256_of_the_exact_bytes_and_the_last_op_is_terminal() {
    let root = Exec::new(busybox(), vec!["/bin/true".into()])
        .build(&meta("run"))
        .unwrap()
        .root;
    let def = marshal(&root).unwrap();
    assert_eq!(def.def.len(), 3, "image, exec, terminal");
    for bytes in &def.def {
        let want = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        assert_eq!(digest_of(bytes), want);
        assert!(def.metadata.contains_key(&want), "metadata for every op");
    }
    let all = ops(&def);
    let terminal = all.last().unwrap();
    assert!(terminal.op.is_none());
    assert_eq!(terminal.inputs, vec![root.input().unwrap()]);
    // Dependencies come before the ops that read them.
    assert_eq!(all[1].inputs[0].digest, digest_of(&def.def[0]));
    assert!(matches!(all[0].op, Some(pb::op::Op::Source(_))));
    assert_eq!(marshal(&State::scratch()), Err(LlbError::ScratchResult));
}

#[test]
fn definitions_round_trip_and_are_deterministic() {
    let build = || {
        let ctx = State::local(
            "context",
            &LocalOptions {
                exclude: vec![".git".into()],
                ..Default::default()
            },
            &meta("ctx"),
        )
        .unwrap();
        let copied = FileOps::new(busybox())
            .copy(
                &ctx,
                "/",
                "/src",
                CopyOptions {
                    dir_copy_contents: true,
                    ..Default::default()
                },
            )
            .build(&meta("copy"))
            .unwrap();
        let run = Exec::new(copied, vec!["sh".into(), "-c".into(), "echo hi".into()])
            .env(vec!["PATH=/bin".into()])
            .mount(
                "/root/.cache",
                MountSpec::Cache {
                    id: "pip".into(),
                    sharing: CacheSharing::Locked,
                },
            )
            .build(&meta("run"))
            .unwrap();
        marshal(&run.root).unwrap()
    };
    let a = build();
    let b = build();
    assert_eq!(a.encode_to_vec(), b.encode_to_vec());
    let back = pb::Definition::decode(a.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, a);
    let json = decode(&back).unwrap();
    let listed = json["ops"].as_array().unwrap();
    assert_eq!(listed.len(), a.def.len());
    for (entry, bytes) in listed.iter().zip(&a.def) {
        assert_eq!(entry["digest"], digest_of(bytes));
    }
    assert_eq!(listed.last().unwrap()["kind"], "terminal");
    assert_eq!(json["result"], listed.last().unwrap()["inputs"][0]);
}

#[test]
fn the_same_op_built_twice_is_emitted_once() {
    let a = busybox();
    let b = busybox();
    assert_eq!(a, b);
    let merged = State::merge(
        &[
            a.clone(),
            FileOps::new(b)
                .mkdir("/x", 0o755, true, None)
                .build(&meta("mk"))
                .unwrap(),
        ],
        &meta("m"),
    );
    let def = marshal(&merged).unwrap();
    let images = ops(&def)
        .iter()
        .filter(|o| matches!(o.op, Some(pb::op::Op::Source(_))))
        .count();
    assert_eq!(images, 1);
    assert_eq!(def.def.len(), 4, "image, file, merge, terminal");
}

#[test]
fn mounts_get_outputs_in_order_and_sentinels_elsewhere() {
    let other = State::image("alpine:3", &meta("alpine")).unwrap();
    let out = Exec::new(busybox(), vec!["/bin/true".into()])
        .mount("/tmp/scratch", MountSpec::Tmpfs { size: None })
        .mount(
            "/out",
            MountSpec::Bind {
                source: other.clone(),
                selector: None,
                readonly: false,
            },
        )
        .mount(
            "/ro",
            MountSpec::bind_readonly(other.clone(), Some("/etc".into())),
        )
        .mount(
            "/cache",
            MountSpec::Cache {
                id: "c".into(),
                sharing: CacheSharing::Private,
            },
        )
        .mount("/run/secrets/tok", MountSpec::secret("tok", true))
        .mount(
            "/a-writable",
            MountSpec::Bind {
                source: State::scratch(),
                selector: None,
                readonly: false,
            },
        )
        .network(Network::None)
        .build(&meta("run"))
        .unwrap();
    let def = marshal(&out.root).unwrap();
    let exec_op = ops(&def)
        .into_iter()
        .find(|o| matches!(o.op, Some(pb::op::Op::Exec(_))))
        .unwrap();
    assert_eq!(exec_op.inputs.len(), 2, "busybox and alpine, alpine once");
    let Some(pb::op::Op::Exec(e)) = exec_op.op else {
        unreachable!()
    };
    let got: Vec<(&str, i64, i64, i32)> = e
        .mounts
        .iter()
        .map(|m| (m.dest.as_str(), m.input, m.output, m.mount_type))
        .collect();
    let (bind, cache, secret, tmpfs) = (0, 3, 1, 4);
    assert_eq!(
        got,
        vec![
            ("/", 0, 0, bind),
            ("/a-writable", -1, 1, bind),
            ("/cache", -1, -1, cache),
            ("/out", 1, 2, bind),
            ("/ro", 1, -1, bind),
            ("/run/secrets/tok", -1, -1, secret),
            ("/tmp/scratch", -1, -1, tmpfs),
        ]
    );
    let ro = &e.mounts[4];
    assert!(ro.readonly);
    assert_eq!(ro.selector, "/etc");
    let s = e.mounts[5].secret_opt.as_ref().unwrap();
    assert_eq!((s.id.as_str(), s.mode, s.optional), ("tok", 0o400, true));
    assert_eq!(
        e.mounts[2].cache_opt.as_ref().unwrap().sharing,
        pb::CacheSharingOpt::Private as i32
    );
    assert_eq!(e.network, pb::NetMode::None as i32);
    assert_eq!(
        out.mounts.keys().collect::<Vec<_>>(),
        ["/a-writable", "/out"]
    );
    assert_eq!(out.mounts["/out"].output_index(), Some(2));
    let md = &def.metadata[out.root.digest().unwrap()];
    for cap in [
        "exec.meta.base",
        "exec.mount.bind",
        "exec.mount.selector",
        "exec.mount.cache",
        "exec.mount.cache.sharing",
        "exec.mount.secret",
        "exec.mount.tmpfs",
        "exec.meta.network",
    ] {
        assert!(
            md.caps.contains_key(cap),
            "missing cap {cap}: {:?}",
            md.caps
        );
    }
    assert!(!md.caps.contains_key("exec.mount.tmpfs.size"));
    assert_eq!(exec_op.platform.unwrap().architecture, "amd64");
}

#[test]
fn exec_rejects_bad_mounts() {
    let e = || Exec::new(busybox(), vec!["x".into()]);
    assert!(matches!(
        e().mount("rel", MountSpec::Tmpfs { size: None })
            .build(&meta("x")),
        Err(LlbError::NotAbsolute { .. })
    ));
    assert!(matches!(
        e().mount("/a", MountSpec::Tmpfs { size: None })
            .mount("/a", MountSpec::Tmpfs { size: None })
            .build(&meta("x")),
        Err(LlbError::MountTarget { .. })
    ));
    assert_eq!(
        Exec::new(busybox(), vec![]).build(&meta("x")).unwrap_err(),
        LlbError::EmptyCommand
    );
    let sized = e()
        .mount(
            "/t",
            MountSpec::Tmpfs {
                size: Some(1 << 20),
            },
        )
        .build(&meta("x"))
        .unwrap();
    let def = marshal(&sized.root).unwrap();
    assert!(def.metadata[sized.root.digest().unwrap()]
        .caps
        .contains_key("exec.mount.tmpfs.size"));
}

#[test]
fn file_actions_chain_and_index_inputs() {
    let a = State::image("alpine:3", &meta("alpine")).unwrap();
    let ctx = State::local("ctx", &LocalOptions::default(), &meta("ctx")).unwrap();
    let out = FileOps::new(busybox())
        .copy(&a, "/etc/os-release", "/a", CopyOptions::default())
        .copy(
            &ctx,
            "/",
            "/src",
            CopyOptions {
                create_dest_path: true,
                mode: Some(0o644),
                ..Default::default()
            },
        )
        .copy(
            &a,
            "/bin",
            "/b",
            CopyOptions {
                owner: Some(Chown::parse("app:1000")),
                ..Default::default()
            },
        )
        .mkfile("/f", 0o600, b"hi".to_vec(), None)
        .rm("/tmp/*", true, true)
        .build(&meta("files"))
        .unwrap();
    let def = marshal(&out).unwrap();
    let file_op = ops(&def)
        .into_iter()
        .find(|o| matches!(o.op, Some(pb::op::Op::File(_))))
        .unwrap();
    assert_eq!(file_op.inputs.len(), 3, "busybox, alpine, ctx");
    let Some(pb::op::Op::File(f)) = file_op.op else {
        unreachable!()
    };
    let idx: Vec<(i64, i64, i64)> = f
        .actions
        .iter()
        .map(|a| (a.input, a.secondary_input, a.output))
        .collect();
    assert_eq!(
        idx,
        vec![(0, 1, -1), (3, 2, -1), (4, 1, -1), (5, -1, -1), (6, -1, 0)]
    );
    let copy = |i: usize| match &f.actions[i].action {
        Some(pb::file_action::Action::Copy(c)) => c.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (copy(0).mode, copy(0).timestamp),
        (-1, -1),
        "unset mode and time are -1"
    );
    assert_eq!(copy(1).mode, 0o644);
    let owner = copy(2).owner.unwrap();
    assert_eq!(
        owner.user.unwrap().user,
        Some(pb::user_opt::User::ByName(pb::NamedUserOpt {
            name: "app".into(),
            input: 4
        }))
    );
    assert_eq!(
        owner.group.unwrap().user,
        Some(pb::user_opt::User::ById(1000))
    );
    let Some(pb::file_action::Action::Mkfile(mk)) = &f.actions[3].action else {
        panic!()
    };
    assert_eq!(
        (mk.mode, mk.timestamp, mk.data.as_slice()),
        (0o600, -1, b"hi".as_slice())
    );
    let md = &def.metadata[out.digest().unwrap()];
    assert!(md.caps.contains_key("file.base") && md.caps.contains_key("file.rm.wildcard"));
    assert!(!md.caps.contains_key("file.copy.includeexcludepatterns"));

    // A chain on scratch reads −1; copy patterns declare their cap.
    let layer = FileOps::new(State::scratch())
        .copy(
            &a,
            "/",
            "/",
            CopyOptions {
                include: vec!["*.py".into()],
                ..Default::default()
            },
        )
        .build(&meta("layer"))
        .unwrap();
    let def = marshal(&layer).unwrap();
    let Some(pb::op::Op::File(f)) = pb::Op::decode(def.def[1].as_slice()).unwrap().op else {
        panic!()
    };
    assert_eq!(
        (
            f.actions[0].input,
            f.actions[0].secondary_input,
            f.actions[0].output
        ),
        (-1, 0, 0)
    );
    assert!(def.metadata[layer.digest().unwrap()]
        .caps
        .contains_key("file.copy.includeexcludepatterns"));
    assert_eq!(
        FileOps::new(busybox()).build(&meta("x")).unwrap_err(),
        LlbError::EmptyFileOp
    );
}

#[test]
fn sources_use_the_exact_attr_names() {
    let local = State::local(
        "context",
        &LocalOptions {
            include: vec!["requirements.txt".into()],
            exclude: vec![".git".into(), "**/*.pyc".into()],
            follow_paths: vec![],
            shared_key_hint: Some("context".into()),
        },
        &meta("ctx"),
    )
    .unwrap();
    let def = marshal(&local).unwrap();
    let op = pb::Op::decode(def.def[0].as_slice()).unwrap();
    assert!(op.platform.is_none(), "only image sources carry a platform");
    let Some(pb::op::Op::Source(s)) = op.op else {
        panic!()
    };
    assert_eq!(s.identifier, "local://context");
    let attrs: Vec<(&str, &str)> = s
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("local.excludepatterns", r#"[".git","**/*.pyc"]"#),
            ("local.includepattern", r#"["requirements.txt"]"#),
            ("local.sharedkeyhint", "context"),
        ]
    );
    let caps: Vec<&String> = def.metadata[local.digest().unwrap()].caps.keys().collect();
    assert_eq!(
        caps,
        [
            "source.local",
            "source.local.excludepatterns",
            "source.local.includepatterns",
            "source.local.sharedkeyhint"
        ]
    );
    assert!(State::local("a/b", &LocalOptions::default(), &meta("x")).is_err());

    let sum = format!("sha256:{}", "ab".repeat(32));
    let http = State::http(
        "https://example.com/x.tgz",
        &HttpOptions {
            checksum: Some(sum.clone()),
            filename: Some("x.tgz".into()),
            perm: Some(0o644),
        },
        &meta("dl"),
    )
    .unwrap();
    let def = marshal(&http).unwrap();
    let op = pb::Op::decode(def.def[0].as_slice()).unwrap();
    assert!(op.platform.is_none());
    let Some(pb::op::Op::Source(s)) = op.op else {
        panic!()
    };
    assert_eq!(s.attrs["http.checksum"], sum);
    assert_eq!(s.attrs["http.filename"], "x.tgz");
    assert_eq!(s.attrs["http.perm"], "0644");
    assert!(State::http("ftp://x", &HttpOptions::default(), &meta("x")).is_err());

    let img = busybox();
    let def = marshal(&img).unwrap();
    let op = pb::Op::decode(def.def[0].as_slice()).unwrap();
    assert_eq!(op.platform.unwrap().os, "linux");
    let Some(pb::op::Op::Source(s)) = op.op else {
        panic!()
    };
    assert_eq!(
        s.identifier,
        "docker-image://docker.io/library/busybox:latest"
    );
    let terminal = def.metadata[&digest_of(def.def.last().unwrap())]
        .caps
        .clone();
    assert_eq!(
        terminal.keys().collect::<Vec<_>>(),
        ["meta.description", "platform"]
    );
}

#[test]
fn merge_skips_scratch_and_lists_inputs() {
    let a = busybox();
    assert_eq!(State::merge(&[State::scratch(), a.clone()], &meta("m")), a);
    assert!(State::merge(&[], &meta("m")).is_scratch());
    let b = FileOps::new(State::scratch())
        .mkfile("/x", 0o644, vec![], None)
        .build(&meta("x"))
        .unwrap();
    let m = State::merge(&[a, b], &meta("m"));
    let def = marshal(&m).unwrap();
    let json = decode(&def).unwrap();
    let merge = json["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "merge")
        .unwrap();
    assert_eq!(merge["merge"]["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(merge["caps"], serde_json::json!(["mergeop"]));
    assert_eq!(merge["name"], "m");
}

#[test]
fn decode_rejects_garbage() {
    let bad = pb::Definition {
        def: vec![vec![0xff, 0xff, 0xff]],
        ..Default::default()
    };
    assert!(matches!(
        decode(&bad),
        Err(LlbError::Decode { index: 0, .. })
    ));
    let no_terminal = marshal(&busybox()).map(|mut d| {
        d.def.pop();
        d
    });
    assert_eq!(decode(&no_terminal.unwrap()), Err(LlbError::NoTerminal));
}

/// The custom names of a chain's ops, bottom first.
fn layer_names(def: &pb::Definition) -> Option<(Option<String>, Vec<String>)> {
    let chain = layer_chain(def)?;
    let names = chain
        .ops
        .iter()
        .map(|d| def.metadata[d].description[CUSTOM_NAME].clone())
        .collect();
    Some((chain.base, names))
}

#[test]
fn the_layer_chain_follows_root_mounts_and_file_bases_not_side_inputs() {
    let ctx = State::local("ctx", &LocalOptions::default(), &meta("ctx")).unwrap();
    let tools = Exec::new(busybox(), vec!["/bin/true".into()]).build(&meta("tools")).unwrap().root;
    let venv = Exec::new(busybox(), vec!["mkvenv".into()]).build(&meta("venv")).unwrap().root;
    // A bind of another state and a cache mount add no layer.
    let deps = Exec::new(venv, vec!["pip".into()])
        .mount("/tools", MountSpec::Bind { source: tools, selector: None, readonly: true })
        .mount("/root/.cache", MountSpec::Cache { id: "pip".into(), sharing: CacheSharing::Locked })
        .build(&meta("deps"))
        .unwrap()
        .root;
    let src = FileOps::new(deps)
        .copy(&ctx, "/", "/src", CopyOptions::default())
        .mkfile("/src/x", 0o644, vec![], None)
        .build(&meta("source"))
        .unwrap();
    let (base, names) = layer_names(&marshal(&src).unwrap()).unwrap();
    assert_eq!(base.as_deref(), Some("docker-image://docker.io/library/busybox:latest"));
    assert_eq!(names, ["venv", "deps", "source"]);

    // Scratch at the bottom: no base image.
    let lone = FileOps::new(State::scratch()).mkfile("/x", 0o644, vec![], None).build(&meta("lone")).unwrap();
    let (base, names) = layer_names(&marshal(&lone).unwrap()).unwrap();
    assert_eq!((base, names), (None, vec!["lone".to_string()]));
}

#[test]
fn a_merge_stacks_its_inputs_and_unknown_shapes_give_no_chain() {
    let run = Exec::new(busybox(), vec!["a".into()]).build(&meta("a")).unwrap().root;
    let weights = FileOps::new(State::scratch()).mkfile("/w", 0o644, vec![], None).build(&meta("weights")).unwrap();
    let merged = State::merge(&[run, weights.clone()], &meta("m"));
    let (base, names) = layer_names(&marshal(&merged).unwrap()).unwrap();
    assert_eq!(base.as_deref(), Some("docker-image://docker.io/library/busybox:latest"));
    assert_eq!(names, ["a", "weights"]);
    // An upper input that starts from an image is not a plain stack of layers.
    let other = Exec::new(busybox(), vec!["b".into()]).build(&meta("b")).unwrap().root;
    let odd = State::merge(&[weights, other], &meta("m2"));
    assert!(layer_chain(&marshal(&odd).unwrap()).is_none());
    // A chain whose bottom is a local source has no known layers.
    let ctx = State::local("ctx", &LocalOptions::default(), &meta("ctx")).unwrap();
    let on_ctx = Exec::new(ctx, vec!["x".into()]).build(&meta("x")).unwrap().root;
    assert!(layer_chain(&marshal(&on_ctx).unwrap()).is_none());
}
