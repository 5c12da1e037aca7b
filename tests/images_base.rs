//! Building the py3.11-bookworm base image for real (debootstrap from the Debian mirror).

#[path = "engine_support/mod.rs"]
mod engine_support;

use std::sync::Mutex;

use cogpack::images::{self, BuildEvent, BuildOptions, BuildStep, Presence, PY311_BOOKWORM};
use engine_support::*;

#[tokio::test(flavor = "multi_thread")]
async fn bookworm_base_builds_reproducibly_and_runs_python() {
    let Some(docker) = engine_or_skip("bookworm_base_builds_reproducibly_and_runs_python").await
    else {
        return;
    };
    let recipe = images::builtin_recipe(PY311_BOOKWORM).unwrap();

    let steps = Mutex::new(Vec::new());
    let on_event = |e: BuildEvent| {
        if let BuildEvent::Step { step, .. } = e {
            steps.lock().unwrap().push(step);
        }
    };
    let first = images::build(&docker, &recipe, &BuildOptions::default(), &on_event)
        .await
        .expect("first build");
    let steps = steps.into_inner().unwrap();
    assert!(
        steps.contains(&BuildStep::Debootstrap)
            && steps.ends_with(&[BuildStep::Layer, BuildStep::Load]),
        "{steps:?}"
    );

    // On Docker's classic store the image ID is the digest of the config we wrote.
    let version = cogpack::daemon::version(
        &cogpack::daemon::discover(None).unwrap().addr,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    if version.version.starts_with("20.") {
        assert_eq!(first.id.0, first.config_digest);
    }
    assert!(
        first
            .python
            .as_deref()
            .is_some_and(|v| v.starts_with("3.11")),
        "{:?}",
        first.python
    );
    assert_eq!(
        images::presence(&docker, &recipe).await.unwrap(),
        Presence::Current {
            id: first.id.clone()
        }
    );

    let (code, out) = run_in(&docker, PY311_BOOKWORM, &["python3", "--version"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("Python 3.11."), "{out}");
    // Normalised: no apt lists, no logs, no host name from the build machine.
    let (code, out) = run_in(
        &docker,
        PY311_BOOKWORM,
        &["sh", "-c", "ls /var/lib/apt/lists /var/log | wc -l; find / -xdev -name '*.pyc' | wc -l; stat -c %Y /etc/passwd"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "0", "no .pyc files: {out}");
    assert!(
        lines[2].parse::<i64>().unwrap() <= images::DEFAULT_SOURCE_DATE_EPOCH,
        "mtime clamped: {out}"
    );

    // Same inputs, same image.
    let second = images::build(&docker, &recipe, &BuildOptions::default(), &|_| {})
        .await
        .expect("second build");
    assert_eq!(
        first.layer_diff_id, second.layer_diff_id,
        "the layer tar is byte-identical"
    );
    assert_eq!(
        first.id, second.id,
        "the image ID is a function of the content"
    );
}
