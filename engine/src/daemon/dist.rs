//! The engine's programs, fetched from Debian's packages into a private root.
//!
//! The private engine needs a BuildKit with MergeOp and DiffOp, which Debian 12's Docker 20.10
//! (BuildKit v0.8) lacks. Debian 13 (trixie) ships Docker 26.1 (BuildKit v0.13), whose
//! dockerd and containerd run on Debian 12's glibc; trixie's runc needs a newer glibc, so runc
//! comes from Debian 12. Nothing is installed on the system: a scratch apt configuration (its
//! own sources list, lists, cache and status file, passed with `APT_CONFIG`) runs
//! `apt-get update` and `apt-get download`, and `dpkg-deb -x` unpacks each package into a
//! private root. The system's apt state and packages are never touched.
//!
//! The root is keyed by the package set ([`EngineDist::key`]): fetching again is a no-op once
//! `versions.json` records a complete unpack, and an interrupted fetch leaves only a temporary
//! directory that the next attempt removes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DaemonError;

/// Where Debian's packages come from, unless `COGPACK_DEBIAN_MIRROR` says otherwise.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The keyring that signs Debian's archives (Debian 12's `debian-archive-keyring`).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One Debian suite and the packages taken from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuitePackages {
    pub suite: &'static str,
    pub packages: &'static [&'static str],
}

/// The package set of the private engine.
pub const ENGINE_PACKAGES: &[SuitePackages] = &[
    SuitePackages {
        suite: "trixie",
        packages: &["docker.io", "docker-cli", "containerd", "tini"],
    },
    // trixie's runc needs glibc 2.38; Debian 12's runc 1.1.5 works with trixie's containerd.
    SuitePackages {
        suite: "bookworm",
        packages: &["runc"],
    },
];

/// What a fetched engine root holds, written last (its presence marks a complete unpack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistVersions {
    /// The mirror the packages came from.
    pub mirror: String,
    /// `package` -> `version (suite)`, e.g. `docker.io` -> `26.1.5+dfsg1-9+deb13u1+b1 (trixie)`.
    pub packages: BTreeMap<String, String>,
}

/// A private root with the engine's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineDist {
    /// `/var/lib/cogpack/dist/engine-<key>`.
    pub dir: PathBuf,
}

/// Progress of a fetch, for the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    /// `apt-get update` for a suite.
    Updating { suite: String },
    /// `apt-get download` of these packages.
    Downloading { packages: Vec<String> },
    /// Unpacking one `.deb`.
    Unpacking { file: String },
}

impl EngineDist {
    /// The dist for [`ENGINE_PACKAGES`] under `dist_root` (normally `/var/lib/cogpack/dist`).
    pub fn new(dist_root: &Path) -> Self {
        EngineDist {
            dir: dist_root.join(format!("engine-{}", Self::key())),
        }
    }

    /// A short hash of the package set: a new set gets a new root.
    pub fn key() -> String {
        let mut h = Sha256::new();
        for s in ENGINE_PACKAGES {
            h.update(s.suite.as_bytes());
            for p in s.packages {
                h.update(b"\0");
                h.update(p.as_bytes());
            }
            h.update(b"\n");
        }
        hex::encode(&h.finalize()[..6])
    }

    /// The unpacked filesystem (`usr/sbin/dockerd`, `usr/bin/containerd`, ...).
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn versions_file(&self) -> PathBuf {
        self.dir.join("versions.json")
    }

    /// `PATH` entries that hold the engine's programs, first.
    pub fn bin_dirs(&self) -> Vec<PathBuf> {
        let root = self.root();
        vec![root.join("usr/sbin"), root.join("usr/bin")]
    }

    /// `dockerd` in the root.
    pub fn dockerd(&self) -> PathBuf {
        self.root().join("usr/sbin/dockerd")
    }

    /// What a complete fetch recorded, or `None` when the root is absent or incomplete.
    pub fn versions(&self) -> Option<DistVersions> {
        let text = std::fs::read(self.versions_file()).ok()?;
        let v: DistVersions = serde_json::from_slice(&text).ok()?;
        self.dockerd().is_file().then_some(v)
    }

    /// Makes sure the root is complete: returns what it holds, fetching first when needed.
    pub async fn ensure(
        &self,
        mirror: &str,
        progress: &mut dyn FnMut(FetchEvent),
    ) -> Result<DistVersions, DaemonError> {
        if let Some(v) = self.versions() {
            return Ok(v);
        }
        let parent = self.dir.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(parent).map_err(|source| DaemonError::Io {
            path: parent.to_owned(),
            source,
        })?;
        // Work in a temporary directory beside the final one, then rename: a fetch that fails
        // or is interrupted leaves nothing a retry would mistake for a complete root.
        let work = tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(parent)
            .map_err(|source| DaemonError::Io {
                path: parent.to_owned(),
                source,
            })?;
        let versions = fetch_into(work.path(), mirror, progress).await?;
        let text = serde_json::to_string_pretty(&versions).expect("versions serialise") + "\n";
        let file = work.path().join("versions.json");
        std::fs::write(&file, text).map_err(|source| DaemonError::Io { path: file, source })?;
        // Drop only the apt scratch state; keep the root and the record.
        for d in ["apt", "debs"] {
            let _ = std::fs::remove_dir_all(work.path().join(d));
        }
        if self.dir.exists() {
            // An incomplete leftover (no versions.json): replace it.
            std::fs::remove_dir_all(&self.dir).map_err(|source| DaemonError::Io {
                path: self.dir.clone(),
                source,
            })?;
        }
        let work = work.keep();
        std::fs::rename(&work, &self.dir).map_err(|source| DaemonError::Io {
            path: self.dir.clone(),
            source,
        })?;
        Ok(versions)
    }
}

/// Fetches and unpacks [`ENGINE_PACKAGES`] into `work/root`.
async fn fetch_into(
    work: &Path,
    mirror: &str,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<DistVersions, DaemonError> {
    if !Path::new(KEYRING).is_file() {
        return Err(DaemonError::FetchFailed {
            step: "check the Debian archive keyring".into(),
            detail: format!(
                "{KEYRING} is missing\nhelp: apt-get install debian-archive-keyring"
            ),
        });
    }
    let root = work.join("root");
    let debs = work.join("debs");
    for d in [&root, &debs] {
        std::fs::create_dir_all(d).map_err(|source| DaemonError::Io {
            path: d.clone(),
            source,
        })?;
    }
    let mut packages = BTreeMap::new();
    for suite in ENGINE_PACKAGES {
        let apt = ScratchApt::create(&work.join("apt").join(suite.suite), mirror, suite.suite)?;
        progress(FetchEvent::Updating {
            suite: suite.suite.into(),
        });
        // A mirror that cannot be reached is only a warning to a plain `apt-get update`.
        apt.run(&["update", "--error-on=any"], work).await?;
        progress(FetchEvent::Downloading {
            packages: suite.packages.iter().map(|p| p.to_string()).collect(),
        });
        let mut args = vec!["download"];
        args.extend(suite.packages.iter().copied());
        apt.run(&args, &debs).await?;
        for name in suite.packages {
            let deb = find_deb(&debs, name)?;
            let version = deb_field(&deb, "Version").await?;
            packages.insert(name.to_string(), format!("{version} ({})", suite.suite));
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)
        .map_err(|source| DaemonError::Io {
            path: debs.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    files.sort();
    for deb in &files {
        progress(FetchEvent::Unpacking {
            file: deb.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        });
        run_tool(
            "dpkg-deb",
            &["-x".as_ref(), deb.as_os_str(), root.as_os_str()],
            None,
            &format!("unpack {}", deb.display()),
        )
        .await?;
    }
    Ok(DistVersions {
        mirror: mirror.into(),
        packages,
    })
}

/// The one `.deb` of `name` in `dir` (`name_VERSION_ARCH.deb`).
fn find_deb(dir: &Path, name: &str) -> Result<PathBuf, DaemonError> {
    let prefix = format!("{name}_");
    std::fs::read_dir(dir)
        .map_err(|source| DaemonError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .ok_or_else(|| DaemonError::FetchFailed {
            step: format!("download {name}"),
            detail: format!("apt-get download left no {name}_*.deb in {}", dir.display()),
        })
}

/// `dpkg-deb -f DEB FIELD`.
async fn deb_field(deb: &Path, field: &str) -> Result<String, DaemonError> {
    let out = run_tool(
        "dpkg-deb",
        &["-f".as_ref(), deb.as_os_str(), field.as_ref()],
        None,
        &format!("read {field} of {}", deb.display()),
    )
    .await?;
    Ok(out.trim().to_owned())
}

/// An apt configuration of its own: sources, lists, cache and status in one directory.
struct ScratchApt {
    config: PathBuf,
}

impl ScratchApt {
    fn create(dir: &Path, mirror: &str, suite: &str) -> Result<Self, DaemonError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DaemonError::Io { path, source }
        };
        for sub in ["lists/partial", "cache/archives/partial"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let sources = dir.join("sources.list");
        std::fs::write(
            &sources,
            format!("deb [signed-by={KEYRING}] {mirror} {suite} main\n"),
        )
        .map_err(io(&sources))?;
        let status = dir.join("status");
        std::fs::write(&status, "").map_err(io(&status))?;
        let config = dir.join("apt.conf");
        let q = |p: PathBuf| p.display().to_string().replace('"', "");
        std::fs::write(
            &config,
            format!(
                "Dir::Etc::sourcelist \"{}\";\nDir::Etc::sourceparts \"{}\";\n\
                 Dir::State::lists \"{}\";\nDir::State::status \"{}\";\nDir::Cache \"{}\";\n\
                 APT::Sandbox::User \"root\";\n",
                q(sources),
                q(dir.join("sources.list.d-none")),
                q(dir.join("lists")),
                q(status),
                q(dir.join("cache")),
            ),
        )
        .map_err(io(&config))?;
        Ok(ScratchApt { config })
    }

    async fn run(&self, args: &[&str], cwd: &Path) -> Result<String, DaemonError> {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let mut cmd = tokio::process::Command::new("apt-get");
        cmd.arg("-q").args(&os).current_dir(cwd);
        cmd.env("APT_CONFIG", &self.config);
        run_command(cmd, &format!("apt-get {}", args.join(" "))).await
    }
}

async fn run_tool(
    program: &str,
    args: &[&std::ffi::OsStr],
    cwd: Option<&Path>,
    step: &str,
) -> Result<String, DaemonError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    run_command(cmd, step).await
}

async fn run_command(mut cmd: tokio::process::Command, step: &str) -> Result<String, DaemonError> {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| DaemonError::FetchFailed {
        step: step.into(),
        detail: format!("could not start: {e}"),
    })?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(DaemonError::FetchFailed {
            step: step.into(),
            detail: format!("{}\n{}", out.status, crate::apt::last_lines(&text, 15)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_package_set() {
        let k = EngineDist::key();
        assert_eq!(k.len(), 12);
        assert_eq!(k, EngineDist::key());
        let d = EngineDist::new(Path::new("/x"));
        assert_eq!(d.dir, Path::new("/x").join(format!("engine-{k}")));
        assert_eq!(d.dockerd(), d.dir.join("root/usr/sbin/dockerd"));
    }

    #[test]
    fn an_empty_dir_is_not_a_complete_root() {
        let tmp = tempfile::tempdir().unwrap();
        let d = EngineDist::new(tmp.path());
        assert!(d.versions().is_none());
        std::fs::create_dir_all(d.dir.join("root/usr/sbin")).unwrap();
        std::fs::write(d.dir.join("versions.json"), "{\"mirror\":\"m\",\"packages\":{}}").unwrap();
        assert!(d.versions().is_none(), "no dockerd yet");
        std::fs::write(d.dockerd(), "").unwrap();
        assert_eq!(d.versions().unwrap().mirror, "m");
    }

    #[tokio::test]
    async fn a_mirror_that_does_not_answer_is_a_named_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let d = EngineDist::new(tmp.path());
        // Port 9 on loopback: nothing listens there.
        let err = d
            .ensure("http://127.0.0.1:9/debian", &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("apt-get update"), "{err}");
        assert!(d.versions().is_none());
        // Nothing half-made is left beside the root.
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
