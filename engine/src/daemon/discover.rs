//! Which engine to use: the first of `--engine` / `BUILDKIT_HOST`, `DOCKER_HOST`, the engine
//! `cogpack engine up` started, and the system Docker socket.

use std::path::PathBuf;

use serde::Serialize;

use super::layout::unix_url;
use super::{DaemonError, EngineLayout, EngineState};
use crate::buildkit::EngineAddr;

/// Where the chosen engine address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The `--engine` flag.
    Flag,
    /// The `BUILDKIT_HOST` environment variable (a standalone buildkitd).
    BuildkitHost,
    /// The `DOCKER_HOST` environment variable.
    DockerHost,
    /// The private daemon of `cogpack engine up` (its state file or socket).
    CogpackEngine,
    /// The system Docker at `/var/run/docker.sock`.
    SystemDocker,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--engine",
            Origin::BuildkitHost => "BUILDKIT_HOST",
            Origin::DockerHost => "DOCKER_HOST",
            Origin::CogpackEngine => "cogpack engine",
            Origin::SystemDocker => "system docker",
        })
    }
}

/// An engine address and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovered {
    pub addr: EngineAddr,
    pub origin: Origin,
}

/// The files discovery looks at, so tests can point it elsewhere.
#[derive(Debug, Clone)]
pub struct DiscoverPaths {
    /// The private engine's layout (state file and socket).
    pub layout: EngineLayout,
    /// The system Docker socket (`/var/run/docker.sock`).
    pub system_socket: PathBuf,
}

impl Default for DiscoverPaths {
    fn default() -> Self {
        Self {
            layout: EngineLayout::system(),
            system_socket: PathBuf::from("/var/run/docker.sock"),
        }
    }
}

/// Finds the engine to use, reading the process environment and the system paths.
/// See [`discover_with`] for the order.
pub fn discover(flag: Option<&str>) -> Result<Discovered, DaemonError> {
    discover_with(
        flag,
        &|key| std::env::var(key).ok(),
        &DiscoverPaths::default(),
    )
}

/// Finds the engine to use, in this order:
/// 1. `flag` (`--engine`: `unix://`/`tcp://` = buildkitd, `docker-unix://`… = Docker);
/// 2. `BUILDKIT_HOST` (a standalone buildkitd);
/// 3. `DOCKER_HOST` (a Docker daemon);
/// 4. the engine `cogpack engine up` started: its state file names the socket, else the
///    layout's socket if it exists;
/// 5. `/var/run/docker.sock` if it exists.
///
/// `env` reads one variable (empty values count as unset). The socket checks only look for the
/// file; the caller finds out whether something answers when it connects.
pub fn discover_with(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    paths: &DiscoverPaths,
) -> Result<Discovered, DaemonError> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let bad = |source: &'static str| {
        move |source_err| DaemonError::BadAddress {
            source_name: source,
            source: source_err,
        }
    };
    if let Some(flag) = flag.map(str::to_owned).and_then(|f| non_empty(Some(f))) {
        let addr = EngineAddr::parse_engine_flag(flag.trim()).map_err(bad("--engine"))?.with_docker_tls_env(env);
        return Ok(Discovered {
            addr,
            origin: Origin::Flag,
        });
    }
    if let Some(v) = non_empty(env("BUILDKIT_HOST")) {
        let addr = EngineAddr::parse_buildkit(v.trim()).map_err(bad("BUILDKIT_HOST"))?;
        return Ok(Discovered {
            addr,
            origin: Origin::BuildkitHost,
        });
    }
    if let Some(v) = non_empty(env("DOCKER_HOST")) {
        let addr = EngineAddr::parse_docker(v.trim()).map_err(bad("DOCKER_HOST"))?.with_docker_tls_env(env);
        return Ok(Discovered {
            addr,
            origin: Origin::DockerHost,
        });
    }
    if let Some(addr) = cogpack_engine(&paths.layout) {
        return Ok(Discovered {
            addr,
            origin: Origin::CogpackEngine,
        });
    }
    if paths.system_socket.exists() {
        let addr = EngineAddr::DockerUnix {
            path: paths.system_socket.clone(),
        };
        return Ok(Discovered {
            addr,
            origin: Origin::SystemDocker,
        });
    }
    Err(DaemonError::NoEngine {
        looked_at: vec![
            "--engine".to_owned(),
            "BUILDKIT_HOST".to_owned(),
            "DOCKER_HOST".to_owned(),
            paths.layout.state_file().display().to_string(),
            unix_url(&paths.layout.socket()),
            unix_url(&paths.system_socket),
        ],
    })
}

/// The private engine's address, if its state file or socket says it may be running.
fn cogpack_engine(layout: &EngineLayout) -> Option<EngineAddr> {
    let from_state = EngineState::load(&layout.state_file())
        .ok()
        .and_then(|state| EngineAddr::parse_docker(&state.docker_host).ok())
        .filter(|addr| matches!(addr, EngineAddr::DockerUnix { path } if path.exists()));
    if from_state.is_some() {
        return from_state;
    }
    let socket = layout.socket();
    socket
        .exists()
        .then_some(EngineAddr::DockerUnix { path: socket })
}
