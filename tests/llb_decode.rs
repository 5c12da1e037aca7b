//! The public LLB builder from outside the crate: one graph with every op kind, its
//! decoded dump (snapshot), and the wire rules a daemon checks.

use cogpack::llb::*;
use prost::Message;

fn meta(name: &str) -> OpMeta {
    OpMeta::new(name, Some(platform("linux", "arm64")))
}

fn graph() -> State {
    let base = State::image("cogpack-test/busybox:latest", &meta("base")).unwrap();
    let ctx = State::local(
        "context",
        &LocalOptions {
            include: vec!["src/**".into()],
            exclude: vec!["**/*.pyc".into()],
            ..Default::default()
        },
        &meta("context"),
    )
    .unwrap();
    let tool = State::http(
        "https://example.com/tool",
        &HttpOptions {
            checksum: Some(format!("sha256:{}", "0".repeat(64))),
            filename: Some("tool".into()),
            perm: Some(0o755),
        },
        &meta("download"),
    )
    .unwrap();
    let prepared = FileOps::new(base.clone())
        .mkdir("/app", 0o755, true, Some(Chown::parse("1000:1000")))
        .copy(
            &tool,
            "/tool",
            "/usr/local/bin/tool",
            CopyOptions {
                create_dest_path: true,
                ..Default::default()
            },
        )
        .mkfile("/app/config.json", 0o644, br#"{"a":1}"#.to_vec(), None)
        .rm("/var/cache/*", true, true)
        .build(&meta("prepare"))
        .unwrap();
    let run = Exec::new(
        prepared,
        vec![
            "/bin/sh".into(),
            "-c".into(),
            "tool build /src > /out/result".into(),
        ],
    )
    .env(vec!["PATH=/usr/local/bin:/usr/bin:/bin".into()])
    .cwd("/app")
    .user("1000")
    .mount("/src", MountSpec::bind_readonly(ctx, Some("/src".into())))
    .mount(
        "/out",
        MountSpec::Bind {
            source: State::scratch(),
            selector: None,
            readonly: false,
        },
    )
    .mount(
        "/root/.cache",
        MountSpec::Cache {
            id: "tool-cache".into(),
            sharing: CacheSharing::Locked,
        },
    )
    .mount("/run/secrets/token", MountSpec::secret("token", false))
    .mount("/tmp", MountSpec::Tmpfs { size: None })
    .build(&meta("build"))
    .unwrap();
    let layer = FileOps::new(State::scratch())
        .copy(
            &run.mounts["/out"],
            "/result",
            "/app/result",
            CopyOptions::default(),
        )
        .build(&meta("collect"))
        .unwrap();
    State::merge(&[base, layer], &meta("assemble"))
}

#[test]
fn decoded_dump_of_every_op_kind() {
    let def = marshal(&graph()).unwrap();
    insta::assert_json_snapshot!("every_op_kind", decode(&def).unwrap());
}

#[test]
fn the_wire_form_is_stable_and_self_consistent() {
    let a = marshal(&graph()).unwrap().encode_to_vec();
    let b = marshal(&graph()).unwrap().encode_to_vec();
    assert_eq!(a, b);
    let def = pb::Definition::decode(a.as_slice()).unwrap();
    let digests: Vec<String> = def.def.iter().map(|op| digest_of(op)).collect();
    // Every input names an earlier op: dependencies come first.
    for (i, bytes) in def.def.iter().enumerate() {
        let op = pb::Op::decode(bytes.as_slice()).unwrap();
        for input in &op.inputs {
            let at = digests
                .iter()
                .position(|d| *d == input.digest)
                .expect("input is in the definition");
            assert!(at < i, "op {i} reads op {at}, which comes later");
        }
        assert!(def.metadata.contains_key(&digests[i]));
    }
    let unique: std::collections::BTreeSet<&String> = digests.iter().collect();
    assert_eq!(unique.len(), digests.len(), "each op once");
}
