//! OCI labels from the project's git checkout, set at build time as Cog sets them:
//! `org.opencontainers.image.revision` (the commit) and `org.opencontainers.image.version`
//! (`git describe --tags --dirty`, when a tag reaches the commit).
//!
//! They are not part of the plan: a plan is the same in any checkout of the same files.
//! Outside a git checkout, without `git`, or when git fails, there are no such labels.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The commit the image was built from.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// The tag (with `-N-g<hash>` and `-dirty` suffixes as `git describe` writes them).
pub const VERSION: &str = "org.opencontainers.image.version";

/// How long one git command may take before it is stopped.
const LIMIT: Duration = Duration::from_secs(5);

/// The labels for the checkout containing `dir`; empty when there is none.
pub fn labels(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(commit) = git(dir, &["rev-parse", "--verify", "HEAD"]) else {
        return out;
    };
    out.insert(REVISION.to_owned(), commit);
    if let Some(version) = git(dir, &["describe", "--tags", "--dirty"]) {
        out.insert(VERSION.to_owned(), version);
    }
    out
}

/// Runs `git -C dir ARGS`; its trimmed stdout when it succeeds with output in time.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("git is installed")
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn outside_a_checkout_there_are_no_labels() {
        let dir = tempfile::tempdir().unwrap();
        assert!(labels(dir.path()).is_empty());
    }

    #[test]
    fn a_checkout_gives_the_commit_and_the_tag() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run(d, &["init", "-q"]);
        // An empty repository has no commit yet.
        assert!(labels(d).is_empty());
        std::fs::write(d.join("predict.py"), "x = 1\n").unwrap();
        run(d, &["add", "."]);
        run(d, &["commit", "-q", "-m", "one"]);
        let l = labels(d);
        let commit = &l[REVISION];
        assert_eq!(commit.len(), 40, "{l:?}");
        assert!(commit.bytes().all(|b| b.is_ascii_hexdigit()), "{l:?}");
        assert!(!l.contains_key(VERSION), "no tag yet: {l:?}");

        run(d, &["tag", "v1.2.0"]);
        assert_eq!(labels(d)[VERSION], "v1.2.0");
        std::fs::write(d.join("predict.py"), "x = 2\n").unwrap();
        assert_eq!(labels(d)[VERSION], "v1.2.0-dirty");
        // A subdirectory of the checkout is the same checkout.
        std::fs::create_dir(d.join("sub")).unwrap();
        assert_eq!(labels(&d.join("sub"))[REVISION], *commit);
    }
}
