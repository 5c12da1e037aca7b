//! Making a debootstrapped root filesystem reproducible: remove what depends on the time or
//! the host of the build, and fix the few files that embed the date.

use std::fs;
use std::io;
use std::path::Path;

use walkdir::WalkDir;

use super::ImagesError;

/// What [`normalize`] changed (for progress output and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NormalizeReport {
    /// Files and directories removed.
    pub removed: usize,
    /// Files rewritten or truncated.
    pub rewritten: Vec<String>,
}

/// Directories whose contents go (the directories themselves stay, empty).
const EMPTIED: &[&str] = &[
    // Package caches and indexes: large, and they change daily on the mirror.
    "var/cache/apt",
    "var/lib/apt/lists",
    // Logs of the build (dpkg.log, apt/, bootstrap.log, alternatives.log) carry timestamps.
    "var/log",
    // Runtime and scratch space; Docker mounts /dev, /proc, /sys and /run over these.
    "dev",
    "proc",
    "sys",
    "run",
    "tmp",
    "var/tmp",
    // debootstrap's own working files, if any are left.
    "debootstrap",
];

/// Single files that go.
const REMOVED: &[&str] = &[
    // ldconfig's cache of inode/mtime facts about libraries.
    "var/cache/ldconfig/aux-cache",
    // Random per-machine identities.
    "var/lib/dbus/machine-id",
    "var/lib/systemd/random-seed",
    // Backup copies the shadow tools and debconf/dpkg write next to the real files.
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/subuid-",
    "etc/subgid-",
    "var/cache/debconf/config.dat-old",
    "var/cache/debconf/passwords.dat-old",
    "var/cache/debconf/templates.dat-old",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "var/lib/dpkg/statoverride-old",
    "root/.bash_history",
];

/// Files copied from the build host by debootstrap, or machine identities: truncated, so the
/// file exists (Docker bind-mounts over the first two) but says nothing about the host.
const TRUNCATED: &[&str] = &["etc/hostname", "etc/resolv.conf", "etc/machine-id"];

/// Normalises the root filesystem at `root` in place. `epoch` (SOURCE_DATE_EPOCH) replaces the
/// build date in `/etc/shadow`. Timestamps are clamped later, when the layer is written.
pub fn normalize(root: &Path, epoch: i64) -> Result<NormalizeReport, ImagesError> {
    let mut report = NormalizeReport::default();
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| ImagesError::Io { path, source }
    };

    for dir in EMPTIED {
        let dir = root.join(dir);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ImagesError::Io {
                    path: dir,
                    source: e,
                })
            }
        };
        for entry in entries {
            let path = entry.map_err(io_err(&dir))?.path();
            remove_any(&path).map_err(io_err(&path))?;
            report.removed += 1;
        }
    }
    for file in REMOVED {
        let path = root.join(file);
        match fs::remove_file(&path) {
            Ok(()) => report.removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImagesError::Io { path, source: e }),
        }
    }
    for file in TRUNCATED {
        let path = root.join(file);
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.is_file() && m.len() > 0)
        {
            fs::write(&path, b"").map_err(io_err(&path))?;
            report.rewritten.push((*file).to_owned());
        }
    }

    // Compiled Python: written by py3compile at install time; marshal output is not stable
    // and the interpreter recreates it on demand.
    let mut pycache = Vec::new();
    for entry in WalkDir::new(root).follow_links(false) {
        let entry = entry.map_err(|e| ImagesError::walk(root, e))?;
        let name = entry.file_name().to_string_lossy();
        let is_cache_dir = entry.file_type().is_dir() && name == "__pycache__";
        let is_compiled =
            entry.file_type().is_file() && (name.ends_with(".pyc") || name.ends_with(".pyo"));
        if is_cache_dir || is_compiled {
            pycache.push(entry.path().to_owned());
        }
    }
    for path in pycache {
        // A file inside an already-removed __pycache__ is gone: ignore NotFound.
        match remove_any(&path) {
            Ok(()) => report.removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImagesError::Io { path, source: e }),
        }
    }

    // /etc/shadow: field 3 is the day of the last password change, i.e. the build date.
    let shadow = root.join("etc/shadow");
    if let Ok(text) = fs::read_to_string(&shadow) {
        let fixed = fix_shadow_dates(&text, epoch);
        if fixed != text {
            fs::write(&shadow, fixed).map_err(io_err(&shadow))?;
            report.rewritten.push("etc/shadow".to_owned());
        }
    }
    Ok(report)
}

/// Replaces the last-change day (field 3) of every non-empty shadow entry with `epoch`'s day.
pub fn fix_shadow_dates(text: &str, epoch: i64) -> String {
    let day = (epoch / 86_400).to_string();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let mut fields: Vec<&str> = body.split(':').collect();
        if fields.len() >= 3 && !fields[2].is_empty() {
            fields[2] = &day;
        }
        out.push_str(&fields.join(":"));
        out.push_str(nl);
    }
    out
}

fn remove_any(path: &Path) -> io::Result<()> {
    let meta = path.symlink_metadata()?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_dates_become_the_epoch_day() {
        let text = "root:*:19700:0:99999:7:::\nnobody:*::0:99999:7:::\n";
        assert_eq!(
            fix_shadow_dates(text, 1_704_067_200),
            "root:*:19723:0:99999:7:::\nnobody:*::0:99999:7:::\n"
        );
    }

    #[test]
    fn normalize_removes_build_leftovers_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "var/log/apt",
            "var/cache/apt/archives",
            "usr/lib/python3/__pycache__",
            "etc",
            "tmp",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("var/log/apt/history.log"), "x").unwrap();
        fs::write(root.join("var/cache/apt/pkgcache.bin"), "x").unwrap();
        fs::write(
            root.join("usr/lib/python3/__pycache__/a.cpython-311.pyc"),
            "x",
        )
        .unwrap();
        fs::write(root.join("usr/lib/python3/a.py"), "x").unwrap();
        fs::write(root.join("etc/hostname"), "buildhost\n").unwrap();
        fs::write(root.join("etc/passwd-"), "x").unwrap();
        fs::write(root.join("etc/shadow"), "root:*:20000:0:99999:7:::\n").unwrap();
        fs::write(root.join("tmp/junk"), "x").unwrap();

        let report = normalize(root, 0).unwrap();
        assert!(root.join("var/log").is_dir());
        assert!(!root.join("var/log/apt").exists());
        assert!(!root.join("var/cache/apt/pkgcache.bin").exists());
        assert!(!root.join("usr/lib/python3/__pycache__").exists());
        assert!(root.join("usr/lib/python3/a.py").exists());
        assert_eq!(fs::read(root.join("etc/hostname")).unwrap(), b"");
        assert!(!root.join("etc/passwd-").exists());
        assert!(!root.join("tmp/junk").exists());
        assert_eq!(
            fs::read_to_string(root.join("etc/shadow")).unwrap(),
            "root:*:0:0:99999:7:::\n"
        );
        assert!(report.rewritten.contains(&"etc/shadow".to_owned()));
    }
}
