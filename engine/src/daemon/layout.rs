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

impl EngineLayout {
    /// The layout used on a real machine.
    pub fn system() -> Self {
        Self::at("/var/lib/cogpack/engine", "/run/cogpack/engine")
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

    /// The dockerd command line for this layout (program first).
    pub fn dockerd_args(&self) -> Vec<String> {
        vec![
            "dockerd".to_owned(),
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
        let args = EngineLayout::system().dockerd_args().join(" ");
        assert_eq!(
            args,
            "dockerd --data-root /var/lib/cogpack/engine/data --exec-root /run/cogpack/engine/exec \
             -H unix:///run/cogpack/engine/docker.sock --pidfile /run/cogpack/engine/dockerd.pid"
        );
    }
}
