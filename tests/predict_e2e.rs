//! `cogpack predict` against real images in the real engine.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::text;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use engine_support::*;

fn cogpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cogpack"))
        .args(args)
        .output()
        .expect("run cogpack")
}

/// Tests that share the string-predictor image run one at a time, so "no container left"
/// does not see the other test's live one.
static SHARED_IMAGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn string_predictor_answers_and_leaves_no_container() {
    let Some(docker) = engine_or_skip("string_predictor_answers_and_leaves_no_container").await
    else {
        return;
    };
    let _serial = SHARED_IMAGE.lock().await;
    let image = string_predictor_image(&docker).await;

    let out = cogpack(&["predict", &image, "-i", "s=world"]);
    assert!(out.status.success(), "stderr:\n{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello world\n");

    // `n` is an integer in the schema: the CLI must send 2, not "2".
    let out = cogpack(&[
        "predict", &image, "-i", "s=world", "-i", "n=2", "--format", "json",
    ]);
    assert!(out.status.success(), "stderr:\n{}", text(&out.stderr));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(response["status"], "succeeded");
    assert_eq!(response["output"], "hello worldhello world");

    assert!(leftover_predict_containers(&docker, &image)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_usage_errors() {
    let Some(docker) = engine_or_skip("bad_inputs_are_usage_errors").await else {
        return;
    };
    let _serial = SHARED_IMAGE.lock().await;
    let image = string_predictor_image(&docker).await;

    // Inputs the model does not take are usage errors (2), as clap's own are.
    let out = cogpack(&["predict", &image, "-i", "s=world", "-i", "n=many"]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("input `n`: `many` is not an integer"),
        "{}",
        text(&out.stderr)
    );

    let out = cogpack(&["predict", &image, "-i", "colour=red"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("its inputs are: s, n"),
        "{}",
        text(&out.stderr)
    );

    let out = cogpack(&["predict", &image, "-i", "s=x", "-e", "NOEQUALS"]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--env `NOEQUALS`: expected NAME=VALUE"), "{}", text(&out.stderr));
    let out = cogpack(&["predict", &image, "-i", "s=x", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", text(&out.stderr));

    let out = cogpack(&["predict", "cogpack-test/does-not-exist:1", "-i", "s=x"]);
    assert_eq!(out.status.code(), Some(9));
    assert!(
        text(&out.stderr).contains("is not in the engine"),
        "{}",
        text(&out.stderr)
    );

    assert!(leftover_predict_containers(&docker, &image)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_crashes_at_start_shows_its_log() {
    let Some(docker) = engine_or_skip("a_model_that_crashes_at_start_shows_its_log").await else {
        return;
    };
    let image = image_with_cmd(
        &docker,
        "cogpack-test/crash-at-start",
        &[
            "python3",
            "-c",
            "import sys; print('weights file /src/model.bin is missing', flush=True); sys.exit(3)",
        ],
    )
    .await;

    let out = cogpack(&["predict", &image, "-i", "s=world", "--timeout", "60"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "stderr:\n{stderr}");
    assert!(
        stderr.contains("exited during setup (exit code 3)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("weights file /src/model.bin is missing"),
        "{stderr}"
    );
    assert!(leftover_predict_containers(&docker, &image)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_never_gets_ready_times_out_and_ctrl_c_cleans_up() {
    let Some(docker) =
        engine_or_skip("a_model_that_never_gets_ready_times_out_and_ctrl_c_cleans_up").await
    else {
        return;
    };
    let image = image_with_cmd(&docker, "cogpack-test/never-ready", &["sleep", "600"]).await;

    let start = Instant::now();
    let out = cogpack(&["predict", &image, "-i", "s=x", "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(9), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not ready after 2s"),
        "{}",
        text(&out.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(leftover_predict_containers(&docker, &image)
        .await
        .is_empty());

    // Ctrl-C, `kill` and a closed terminal while waiting: the container goes too.
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let child = Command::new(env!("CARGO_BIN_EXE_cogpack"))
            .args(["predict", &image, "-i", "s=x", "--timeout", "120"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let pid = child.id() as libc::pid_t;
        let deadline = Instant::now() + Duration::from_secs(30);
        while leftover_predict_containers(&docker, &image).await.is_empty() {
            assert!(Instant::now() < deadline, "{name}: the predict container never appeared");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // SAFETY: signalling the child we spawned.
        unsafe { libc::kill(pid, signal) };
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(130), "{name}: stderr:\n{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("cancelled"), "{name}: {}", text(&out.stderr));
        assert!(leftover_predict_containers(&docker, &image).await.is_empty(), "{name} left its container");
    }
}

/// A server that is READY at once and never answers a prediction.
const HANGING_SERVER: &str = "import http.server, json, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == '/health-check'
        body = json.dumps({'status': 'READY'} if ok else {}).encode()
        self.send_response(200 if ok else 404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        print('prediction started', flush=True)
        time.sleep(600)
http.server.ThreadingHTTPServer(('0.0.0.0', 5000), H).serve_forever()
";

#[tokio::test(flavor = "multi_thread")]
async fn the_timeout_covers_the_prediction_itself() {
    let Some(docker) = engine_or_skip("the_timeout_covers_the_prediction_itself").await else {
        return;
    };
    let image = image_with_cmd(&docker, "cogpack-test/hanging-prediction", &["python3", "-c", HANGING_SERVER]).await;
    let start = Instant::now();
    let out = cogpack(&["predict", &image, "-i", "s=x", "--timeout", "8"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "stderr:\n{stderr}");
    assert!(stderr.contains("did not finish within 8s"), "{stderr}");
    assert!(stderr.contains("prediction started"), "the log tail is shown: {stderr}");
    assert!(start.elapsed() < Duration::from_secs(40), "took {:?}", start.elapsed());
    assert!(leftover_predict_containers(&docker, &image).await.is_empty());
}
