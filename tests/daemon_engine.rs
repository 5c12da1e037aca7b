//! The engine commands against the real private daemon, and discovery order.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::text;

use std::collections::HashMap;
use std::process::{Command, Output};
use std::time::Duration;

use cogpack::buildkit::EngineAddr;
use cogpack::daemon::{
    discover_with, DaemonError, DiscoverPaths, EngineLayout, EngineState, Origin,
};

fn cogpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(args)
        .output()
        .expect("run cogpack")
}

/// A fake host: a temp layout and system socket path, and an environment map.
struct Host {
    _dir: tempfile::TempDir,
    paths: DiscoverPaths,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let layout = EngineLayout::at(dir.path().join("state"), dir.path().join("run"));
        std::fs::create_dir_all(&layout.state_dir).unwrap();
        std::fs::create_dir_all(&layout.run_dir).unwrap();
        let paths = DiscoverPaths {
            layout,
            system_socket: dir.path().join("docker.sock"),
        };
        Host { _dir: dir, paths }
    }

    fn discover(
        &self,
        flag: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<(EngineAddr, Origin), DaemonError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        discover_with(flag, &|k| env.get(k).cloned(), &self.paths).map(|d| (d.addr, d.origin))
    }
}

#[test]
fn discovery_follows_the_documented_order() {
    let host = Host::new();
    let all = [
        ("BUILDKIT_HOST", "tcp://127.0.0.1:1234"),
        ("DOCKER_HOST", "unix:///d.sock"),
    ];
    std::fs::write(host.paths.layout.socket(), "").unwrap();
    std::fs::write(&host.paths.system_socket, "").unwrap();

    // 1. the flag beats everything
    let (addr, origin) = host
        .discover(Some("docker-unix:///flag.sock"), &all)
        .unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::DockerUnix {
                path: "/flag.sock".into()
            },
            Origin::Flag
        )
    );
    // 2. BUILDKIT_HOST
    let (addr, origin) = host.discover(None, &all).unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::BuildkitTcp {
                host: "127.0.0.1".into(),
                port: 1234
            },
            Origin::BuildkitHost
        )
    );
    // 3. DOCKER_HOST (an empty BUILDKIT_HOST counts as unset)
    let (addr, origin) = host
        .discover(
            None,
            &[("BUILDKIT_HOST", ""), ("DOCKER_HOST", "unix:///d.sock")],
        )
        .unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::DockerUnix {
                path: "/d.sock".into()
            },
            Origin::DockerHost
        )
    );
    // 4. the private engine's socket
    let (addr, origin) = host.discover(None, &[]).unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::DockerUnix {
                path: host.paths.layout.socket()
            },
            Origin::CogpackEngine
        )
    );
    // 5. the system socket
    std::fs::remove_file(host.paths.layout.socket()).unwrap();
    let (addr, origin) = host.discover(None, &[]).unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::DockerUnix {
                path: host.paths.system_socket.clone()
            },
            Origin::SystemDocker
        )
    );
    // nothing: an error that says how to start one
    std::fs::remove_file(&host.paths.system_socket).unwrap();
    let err = host.discover(None, &[]).unwrap_err().to_string();
    assert!(err.contains("cogpack engine up --install"), "{err}");
}

#[test]
fn the_state_file_names_the_private_engine_socket() {
    let host = Host::new();
    let elsewhere = host.paths.layout.state_dir.join("other.sock");
    std::fs::write(&elsewhere, "").unwrap();
    let state = EngineState {
        docker_host: format!("unix://{}", elsewhere.display()),
        pid: None,
        data_root: "/d".into(),
        exec_root: "/e".into(),
        log: "/l".into(),
        started_by_cogpack: true,
        recorded_at_unix: 0,
        docker_version: None,
        packages: Default::default(),
        bridge: None,
    };
    state.save(&host.paths.layout.state_file()).unwrap();
    let (addr, origin) = host.discover(None, &[]).unwrap();
    assert_eq!(
        (addr, origin),
        (
            EngineAddr::DockerUnix { path: elsewhere },
            Origin::CogpackEngine
        )
    );
}

#[test]
fn bad_addresses_name_their_source() {
    let host = Host::new();
    let err = host
        .discover(None, &[("DOCKER_HOST", "ssh://me@box")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("DOCKER_HOST:") && err.contains("ssh://me@box"),
        "{err}"
    );
    let err = host
        .discover(Some("tcp://nohost"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--engine:"), "{err}");
}

#[test]
fn engine_env_prints_the_docker_host_export() {
    let out = cogpack(&["engine", "env"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("export DOCKER_HOST={}\n", EngineLayout::system().docker_host())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn engine_up_is_idempotent_against_the_running_daemon() {
    let Some(_docker) =
        engine_support::engine_or_skip("engine_up_is_idempotent_against_the_running_daemon").await
    else {
        return;
    };
    let layout = EngineLayout::system();
    if !layout.socket().exists() {
        // The engine found is not the private one (e.g. DOCKER_HOST elsewhere): nothing to test.
        assert!(
            !engine_support::engine_required(),
            "COGPACK_ENGINE_REQUIRED=1 (or CI=true): the private engine must run"
        );
        return;
    }
    let pid_before = std::fs::read_to_string(layout.pidfile()).unwrap();
    for _ in 0..2 {
        let out = cogpack(&["engine", "up"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("already running at {}", layout.docker_host())),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read_to_string(layout.pidfile()).unwrap(),
        pid_before,
        "no second daemon"
    );
    let state = EngineState::load(&layout.state_file()).unwrap();
    assert_eq!(state.pid, pid_before.trim().parse().ok());
    assert_eq!(state.docker_host, layout.docker_host());

    let out = cogpack(&["engine", "status", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["origin"], "cogpack-engine");
    // cogpack's engine: fetched from Debian's packages, with MergeOp and DiffOp from the
    // containerd image store, decided from the caps it reports.
    assert!(status["docker_version"].as_str().is_some(), "{status}");
    let bk = &status["buildkit"];
    assert_eq!(bk["independent_layers"], true, "{status}");
    assert_eq!(bk["containerd_image_store"], true, "{status}");
    let caps: Vec<&str> = bk["llb_caps"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    assert!(caps.contains(&"mergeop") && caps.contains(&"diffop"), "{caps:?}");
    let packages = &status["engine_state"]["packages"];
    assert!(packages["docker.io"].as_str().is_some_and(|v| v.ends_with("(trixie)")), "{status}");
    assert!(packages["runc"].as_str().is_some_and(|v| v.ends_with("(bookworm)")), "{status}");
    engine_support::ensure_base_image();
    let out = cogpack(&["engine", "status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["images"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == engine_support::BASE_IMAGE),
        "{status}"
    );
}

#[test]
fn status_of_an_unreachable_engine_exits_with_the_engine_code() {
    let out = cogpack(&[
        "engine",
        "status",
        "--engine",
        "docker-unix:///nonexistent/docker.sock",
    ]);
    assert_eq!(out.status.code(), Some(8));
    assert!(
        text(&out.stdout).contains("running:  no"),
        "{}",
        text(&out.stdout)
    );
}

/// Stops and restarts the shared development daemon: other sessions use it, so this runs only
/// when asked (`cargo test --test daemon_engine -- --ignored`), and takes a few seconds.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "stops the shared engine briefly; run with --ignored"]
async fn engine_down_then_up_restarts_the_private_daemon() {
    let layout = EngineLayout::system();
    let out = cogpack(&["engine", "down"]);
    // Whatever happened, bring it back before asserting.
    let up = cogpack(&["engine", "up", "--timeout", "60"]);
    assert!(out.status.success(), "down: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("stopped dockerd"),
        "{}",
        text(&out.stderr)
    );
    assert!(up.status.success(), "up: {}", text(&up.stderr));
    assert!(
        text(&up.stderr).contains(&format!("engine: started at {}", layout.docker_host())),
        "{}",
        text(&up.stderr)
    );
    let state = EngineState::load(&layout.state_file()).unwrap();
    assert!(state.started_by_cogpack);
    assert_eq!(
        state.pid,
        std::fs::read_to_string(layout.pidfile())
            .unwrap()
            .trim()
            .parse()
            .ok()
    );
    cogpack::daemon::ping(
        &EngineAddr::DockerUnix {
            path: layout.socket(),
        },
        Duration::from_secs(5),
    )
    .await
    .expect("answers after up");
}

/// `up` and `down` for real, on a second daemon with its own temp layout, in its own network
/// namespace (`unshare --net`): it gets its own docker0 and iptables and cannot disturb the
/// shared engine. (Not `--bridge=none`: at start that makes dockerd delete the host's docker0.)
#[tokio::test(flavor = "multi_thread")]
async fn up_starts_and_down_stops_a_daemon_of_a_private_layout() {
    use cogpack::daemon::{down, up, DownOutcome, UpEvent, UpOptions, UpOutcome};
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            !engine_support::engine_required(),
            "COGPACK_ENGINE_REQUIRED=1 (or CI=true): this test needs root"
        );
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("cp-eng")
        .tempdir_in("/tmp")
        .unwrap();
    let layout = EngineLayout::at(dir.path().join("state"), dir.path().join("run"));
    // A network namespace of its own (named, so the bridge `up` makes and dockerd share it;
    // `nsenter`, not `ip netns exec`, which remounts /sys and breaks dockerd's cgroups).
    let netns = format!("cp-eng-{}", std::process::id());
    let added = Command::new("ip").args(["netns", "add", &netns]).status().unwrap();
    assert!(added.success(), "ip netns add {netns}");
    struct DropNetns(String);
    impl Drop for DropNetns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _netns = DropNetns(netns.clone());
    let opts = UpOptions {
        timeout: Duration::from_secs(60),
        wrapper: vec!["nsenter".into(), format!("--net=/run/netns/{netns}")],
        ..UpOptions::default()
    };
    let mut events = Vec::new();
    let started = up(&layout, &opts, &mut |e| events.push(e)).await;
    // Stop it whatever the assertions say.
    let stopped = down(&layout, Duration::from_secs(30)).await;

    let UpOutcome::Started { state, .. } = started.expect("up") else {
        panic!("expected a new daemon")
    };
    assert!(
        events.iter().any(|e| matches!(e, UpEvent::Started { .. })),
        "{events:?}"
    );
    assert!(state.started_by_cogpack);
    // Its own bridge, made inside its network namespace.
    assert!(state.bridge.as_deref().is_some_and(|b| b.starts_with(&layout.bridge())), "{state:?}");
    assert!(state.packages.contains_key("docker.io"), "{state:?}");
    assert_eq!(state.docker_host, layout.docker_host());
    let pid = state.pid.expect("pid recorded");
    assert_eq!(stopped.expect("down"), DownOutcome::Stopped { pid });
    // The test process started dockerd, so until it reaps it the exited daemon may linger as
    // a zombie (state `Z`): that counts as gone.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    assert!(matches!(state, None | Some('Z') | Some('X')), "dockerd is gone, but: {stat}");
    assert!(!layout.state_file().exists(), "state file removed");
    assert!(std::fs::read_to_string(layout.log())
        .unwrap()
        .contains("API listen on"));
    assert_eq!(
        down(&layout, Duration::from_secs(5)).await.unwrap(),
        DownOutcome::NotRunning
    );
}

/// A daemon that dies at start: the error says so, carries the end of its log and the log's
/// path, and leaves no state file and no bridge behind (a retry starts clean).
#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_that_dies_at_start_is_a_clear_error_and_leaves_nothing_behind() {
    use cogpack::daemon::{up, DaemonError, UpOptions};
    if unsafe { libc::geteuid() } != 0 {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI runs as root");
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = tempfile::Builder::new().prefix("cp-die").tempdir_in("/tmp").unwrap();
    let layout = EngineLayout::at(dir.path().join("state"), dir.path().join("run"));
    let opts = UpOptions {
        timeout: Duration::from_secs(30),
        // Stands in for a dockerd that cannot start (a missing kernel feature, a taken socket).
        wrapper: vec![
            "sh".into(),
            "-c".into(),
            "case \"$1\" in *dockerd) echo 'failed to start daemon: simulated kernel feature missing' >&2; exit 3;; esac; exec \"$@\"".into(),
            "sh".into(),
        ],
        ..UpOptions::default()
    };
    let err = up(&layout, &opts, &mut |_| {}).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DaemonError::StartFailed { .. }), "{text}");
    assert!(text.contains("simulated kernel feature missing"), "{text}");
    assert!(text.contains(&layout.log().display().to_string()), "{text}");
    assert!(!layout.state_file().exists(), "no state file for a daemon that never answered");
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    assert!(!text_of(&links.stdout).contains(&format!("{}:", layout.bridge())), "bridge left behind");
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
