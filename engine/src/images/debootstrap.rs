//! Running debootstrap (installing it first when missing) and cleaning up after it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{BaseImageRecipe, ImagesError};
use crate::apt::{apt_get, last_lines, AptOptions};

const TAIL_LINES: usize = 25;

/// The debootstrap program, if installed.
pub fn find() -> Option<PathBuf> {
    [
        "/usr/sbin/debootstrap",
        "/usr/bin/debootstrap",
        "/usr/local/sbin/debootstrap",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// `apt-get install -y debootstrap` (with an `apt-get update` first).
pub async fn install() -> Result<PathBuf, ImagesError> {
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", "debootstrap"][..],
    ] {
        apt_get(
            args,
            AptOptions {
                path: None,
                tail_lines: TAIL_LINES,
            },
        )
        .await?;
    }
    find().ok_or_else(|| ImagesError::Tool {
        command: "apt-get install debootstrap".into(),
        status: "succeeded".into(),
        output_tail: "but no debootstrap binary was found afterwards".into(),
    })
}

/// Checks that the installed debootstrap knows `suite` (it has a script per suite name).
/// bookworm's debootstrap 1.0.128 knows trixie (a link to its `sid` script), and trixie's
/// Release file is also signed with the 12/bookworm archive key, so bookworm's keyring
/// verifies it; a suite newer than the installed debootstrap fails here with a hint.
pub fn check_suite(suite: &str) -> Result<(), ImagesError> {
    let scripts = Path::new("/usr/share/debootstrap/scripts");
    if scripts.is_dir() && !scripts.join(suite).exists() {
        return Err(ImagesError::SuiteUnsupported {
            suite: suite.to_owned(),
            scripts: scripts.to_owned(),
        });
    }
    Ok(())
}

/// The debootstrap command line for `recipe` into `target`.
pub fn args(recipe: &BaseImageRecipe, target: &Path, cache_dir: Option<&Path>) -> Vec<String> {
    let mut args = vec!["--variant=minbase".to_owned()];
    if !recipe.packages.is_empty() {
        args.push(format!("--include={}", recipe.packages.join(",")));
    }
    if let Some(cache) = cache_dir {
        // Downloaded .debs are kept here and reused: the second build of a recipe downloads
        // only the index files.
        args.push(format!("--cache-dir={}", cache.display()));
    }
    args.push(recipe.suite.clone());
    args.push(target.display().to_string());
    args.push(recipe.mirror_url().to_owned());
    args
}

/// Runs debootstrap, sending each output line to `on_line`.
pub async fn run(
    program: &Path,
    recipe: &BaseImageRecipe,
    target: &Path,
    cache_dir: Option<&Path>,
    on_line: &(dyn Fn(String) + Send + Sync),
) -> Result<(), ImagesError> {
    let args = args(recipe, target, cache_dir);
    let mut child = tokio::process::Command::new(program)
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ImagesError::Io {
            path: program.to_owned(),
            source,
        })?;
    let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut tail: VecDeque<String> = VecDeque::new();
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        let line = tokio::select! {
            l = out.next_line(), if out_open => l.unwrap_or(None).or_else(|| { out_open = false; None }),
            l = err.next_line(), if err_open => l.unwrap_or(None).or_else(|| { err_open = false; None }),
        };
        if let Some(line) = line {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.clone());
            on_line(line);
        }
    }
    let status = child.wait().await.map_err(|source| ImagesError::Io {
        path: program.to_owned(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    let mut output_tail: Vec<String> = tail.into_iter().collect();
    let log = target.join("debootstrap/debootstrap.log");
    if let Ok(text) = std::fs::read_to_string(&log) {
        output_tail.push(format!("--- last lines of {} ---", log.display()));
        output_tail.push(last_lines(&text, TAIL_LINES));
    }
    Err(ImagesError::Debootstrap {
        recipe: recipe.name.clone(),
        command: format!("debootstrap {}", args.join(" ")),
        status: status.to_string(),
        output_tail: output_tail.join("\n"),
    })
}

/// Unmounts anything still mounted under `root` (debootstrap mounts /proc and /sys in the
/// target and may leave them after a failure), deepest first. Must run before the tree is
/// deleted or walked.
pub fn unmount_under(root: &Path) -> Result<(), ImagesError> {
    let mounts =
        std::fs::read_to_string("/proc/self/mounts").map_err(|source| ImagesError::Io {
            path: "/proc/self/mounts".into(),
            source,
        })?;
    let mut under: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(unescape_mount_path)
        .filter(|p| p.starts_with(root) && p != root)
        .collect();
    under.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in under {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| {
            ImagesError::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        // SAFETY: c is a valid NUL-terminated path; MNT_DETACH cannot corrupt anything of ours.
        let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        if rc != 0 {
            return Err(ImagesError::Io {
                path,
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// /proc/mounts escapes space, tab, newline and backslash as octal.
fn unescape_mount_path(s: &str) -> PathBuf {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsString::from(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

/// Version of an installed package, read from the rootfs's dpkg status file.
pub fn installed_version(root: &Path, package: &str) -> Option<String> {
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).ok()?;
    status.split("\n\n").find_map(|stanza| {
        let mut name = None;
        let mut version = None;
        let mut installed = false;
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.trim().ends_with(" installed");
            }
        }
        (name == Some(package) && installed)
            .then(|| version.map(str::to_owned))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_follows_the_recipe() {
        let r = super::super::builtin_recipe(super::super::PY311_BOOKWORM).unwrap();
        assert_eq!(
            args(&r, Path::new("/t"), Some(Path::new("/c"))).join(" "),
            "--variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates,tini \
             --cache-dir=/c bookworm /t http://deb.debian.org/debian"
        );
    }

    #[test]
    fn reads_versions_from_dpkg_status() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dpkg/status"),
            "Package: python3-pip\nStatus: install ok installed\nVersion: 23.0.1\n\n\
             Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n",
        )
        .unwrap();
        assert_eq!(
            installed_version(dir.path(), "python3").as_deref(),
            Some("3.11.2-1+b1")
        );
        assert_eq!(installed_version(dir.path(), "git"), None);
    }

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(unescape_mount_path("/plain"), PathBuf::from("/plain"));
    }
}
