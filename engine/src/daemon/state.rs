//! The state file `engine up` writes: which daemon it started (or found) and where.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DaemonError;

/// Contents of `state.json` in the engine's state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineState {
    /// The socket as a `DOCKER_HOST` value.
    pub docker_host: String,
    /// dockerd's pid when it was last seen (from its pidfile).
    pub pid: Option<u32>,
    /// `--data-root`.
    pub data_root: PathBuf,
    /// `--exec-root`.
    pub exec_root: PathBuf,
    /// dockerd's log file (only written when cogpack started it).
    pub log: PathBuf,
    /// True when `cogpack engine up` started this daemon; false when it found one already
    /// running with this layout and adopted it.
    pub started_by_cogpack: bool,
    /// Seconds since the Unix epoch when `engine up` started or adopted it.
    pub recorded_at_unix: u64,
    /// Docker version reported by the daemon.
    pub docker_version: Option<String>,
    /// The Debian packages the engine's programs were fetched from: name -> `version (suite)`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub packages: std::collections::BTreeMap<String, String>,
    /// The engine's own bridge and its address (`cogpack0 172.31.213.1/24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
}

impl EngineState {
    /// Reads a state file.
    pub fn load(path: &Path) -> Result<Self, DaemonError> {
        let text = std::fs::read(path).map_err(|source| DaemonError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| DaemonError::BadState {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes a state file atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<(), DaemonError> {
        let io = |source| DaemonError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut text = serde_json::to_string_pretty(self).expect("state serialises");
        text.push('\n');
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = EngineState {
            docker_host: "unix:///x/docker.sock".into(),
            pid: Some(42),
            data_root: "/x/data".into(),
            exec_root: "/x/exec".into(),
            log: "/x/dockerd.log".into(),
            started_by_cogpack: true,
            recorded_at_unix: 1,
            docker_version: Some("20.10.24".into()),
            packages: [("docker.io".to_string(), "26.1.5 (trixie)".to_string())].into(),
            bridge: Some("cogpack0 172.31.213.1/24".into()),
        };
        state.save(&path).unwrap();
        assert_eq!(EngineState::load(&path).unwrap(), state);
        std::fs::write(&path, "{\"nope\":1}").unwrap();
        assert!(matches!(
            EngineState::load(&path),
            Err(DaemonError::BadState { .. })
        ));
    }
}
