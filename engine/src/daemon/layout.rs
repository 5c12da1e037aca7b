//! Where the private engine keeps its files.

use std::path::{Path, PathBuf};

/// The directories and files of the private Docker daemon `cogpack engine up` manages.
///
/// The system layout is fixed (`/var/lib/cogpack/engine`, `/run/cogpack/engine`) so that every
/// cogpack process — and a daemon started by hand with the same flags — agrees on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLayout {
    /// Persistent state: data root, log, state file.
    pub state_dir: PathBuf,
    /// Runtime state: socket, pidfile, exec root (a tmpfs that vanishes at reboot).
    pub run_dir: PathBuf,
}

impl Default for EngineLayout {
    fn default() -> Self {
        Self::system()
    }
}

/// Names another home for the private engine (`$DIR/state`, `$DIR/run`): CI runs its suite
/// against an engine whose image store and build cache start empty this way.
pub const HOME_ENV: &str = "COGPACK_ENGINE_HOME";

impl EngineLayout {
    /// The layout used on a real machine: `$COGPACK_ENGINE_HOME/{state,run}` when that is set,
    /// else `/var/lib/cogpack/engine` and `/run/cogpack/engine`.
    pub fn system() -> Self {
        match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            Some(home) => {
                let home = PathBuf::from(home);
                Self::at(home.join("state"), home.join("run"))
            }
            None => Self::default_system(),
        }
    }

    /// The fixed system layout, whatever the environment says.
    pub fn default_system() -> Self {
        Self::at("/var/lib/cogpack/engine", "/run/cogpack/engine")
    }

    /// Where fetched engine packages are kept, shared by every layout (they are programs,
    /// not state): `/var/lib/cogpack/dist`.
    pub fn dist_root(&self) -> PathBuf {
        PathBuf::from("/var/lib/cogpack/dist")
    }

    /// The daemon's config file (it turns on the containerd image store).
    pub fn config_file(&self) -> PathBuf {
        self.state_dir.join("daemon.json")
    }

    /// The network bridge of this engine's containers: `cogpack0` for the default layout,
    /// a name derived from the state directory otherwise, so two engines never share one.
    pub fn bridge(&self) -> String {
        if *self == Self::default_system() {
            "cogpack0".into()
        } else {
            format!("cogpack{:04x}", self.hash() & 0xffff)
        }
    }

    /// The bridge's preferred address (`172.31.N.1/24`); `up` moves to the next free /24
    /// when it overlaps an address the host already has.
    pub fn bridge_cidr_seed(&self) -> u8 {
        if *self == Self::default_system() {
            213
        } else {
            (16 + self.hash() % 224) as u8
        }
    }

    fn hash(&self) -> u32 {
        // FNV-1a over the state directory: stable across runs and processes.
        let mut h: u32 = 0x811c9dc5;
        for b in self.state_dir.as_os_str().as_encoded_bytes() {
            h ^= *b as u32;
            h = h.wrapping_mul(0x01000193);
        }
        h
    }

    /// A layout rooted elsewhere (tests, unusual hosts).
    pub fn at(state_dir: impl Into<PathBuf>, run_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            run_dir: run_dir.into(),
        }
    }

    /// `--data-root`: images, containers, BuildKit cache.
    pub fn data_root(&self) -> PathBuf {
        self.state_dir.join("data")
    }

    /// `--exec-root`: containerd and runc state.
    pub fn exec_root(&self) -> PathBuf {
        self.run_dir.join("exec")
    }

    /// The Docker API socket.
    pub fn socket(&self) -> PathBuf {
        self.run_dir.join("docker.sock")
    }

    /// `--pidfile`, written by dockerd itself.
    pub fn pidfile(&self) -> PathBuf {
        self.run_dir.join("dockerd.pid")
    }

    /// dockerd's stdout and stderr.
    pub fn log(&self) -> PathBuf {
        self.state_dir.join("dockerd.log")
    }

    /// What `engine up` recorded about the daemon (see [`super::EngineState`]).
    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    /// The socket as a `DOCKER_HOST` value.
    pub fn docker_host(&self) -> String {
        unix_url(&self.socket())
    }

    /// The dockerd command line for this layout (program first), with its own config file
    /// and bridge.
    pub fn dockerd_args(&self) -> Vec<String> {
        vec![
            "dockerd".to_owned(),
            "--config-file".to_owned(),
            self.config_file().display().to_string(),
            "--bridge".to_owned(),
            self.bridge(),
            "--data-root".to_owned(),
            self.data_root().display().to_string(),
            "--exec-root".to_owned(),
            self.exec_root().display().to_string(),
            "-H".to_owned(),
            self.docker_host(),
            "--pidfile".to_owned(),
            self.pidfile().display().to_string(),
        ]
    }
}

/// `unix:///path` for a socket path.
pub fn unix_url(path: &Path) -> String {
    format!("unix://{}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_layout_matches_the_documented_command_line() {
        let args = EngineLayout::default_system().dockerd_args().join(" ");
        assert_eq!(
            args,
            "dockerd --config-file /var/lib/cogpack/engine/daemon.json --bridge cogpack0 --data-root /var/lib/cogpack/engine/data --exec-root /run/cogpack/engine/exec \
             -H unix:///run/cogpack/engine/docker.sock --pidfile /run/cogpack/engine/dockerd.pid"
        );
    }

    #[test]
    fn other_layouts_get_their_own_bridge() {
        let a = EngineLayout::at("/tmp/a/state", "/tmp/a/run");
        let b = EngineLayout::at("/tmp/b/state", "/tmp/b/run");
        assert_ne!(a.bridge(), b.bridge());
        assert!(a.bridge().len() <= 15, "IFNAMSIZ");
        assert_eq!(a.bridge(), EngineLayout::at("/tmp/a/state", "/x").bridge());
        assert_eq!(EngineLayout::default_system().bridge(), "cogpack0");
    }
}
