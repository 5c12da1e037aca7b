//! `engine up` and `engine down`: starting and stopping the private dockerd.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::dist::{EngineDist, FetchEvent, DEFAULT_MIRROR};
use super::probe::{ping, version};
use super::{bridge, DaemonError, EngineLayout, EngineState};
use crate::apt::{apt_get, AptOptions};
use crate::buildkit::EngineAddr;

/// How `up` behaves.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Install the host tools the engine needs (`iptables`) with apt-get when missing.
    pub install: bool,
    /// The Debian mirror the engine's packages are fetched from.
    pub mirror: String,
    /// How long to wait for `/_ping` after starting dockerd.
    pub timeout: Duration,
    /// A command prefix dockerd runs under, e.g. `["unshare", "--net"]` for a daemon in its own
    /// network namespace (the tests start a second daemon that way, so it cannot touch the
    /// first one's `docker0`). The prefix must exec dockerd in place so the pidfile names it.
    pub wrapper: Vec<String>,
    /// Extra dockerd arguments after cogpack's own (e.g. `-H tcp://127.0.0.1:2376 --tlsverify
    /// --tlscacert … --tlscert … --tlskey …` for a second listener with mutual TLS).
    pub extra_args: Vec<String>,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            install: false,
            mirror: std::env::var("COGPACK_DEBIAN_MIRROR")
                .ok()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| DEFAULT_MIRROR.to_owned()),
            timeout: Duration::from_secs(60),
            wrapper: Vec::new(),
            extra_args: Vec::new(),
        }
    }
}

/// Progress of `up`, for the CLI to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpEvent {
    /// apt-get is installing a host tool (`iptables`).
    Installing { package: String },
    /// The engine's packages are being fetched from Debian.
    Fetching(FetchEvent),
    /// dockerd was spawned.
    Started { pid: u32, log: PathBuf },
    /// Still waiting for `/_ping` (sent about twice a second).
    Waiting { elapsed: Duration },
}

/// What `up` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    /// A daemon already answered on the socket; nothing was started.
    AlreadyRunning(EngineState),
    /// dockerd was started and answers.
    Started {
        state: EngineState,
        elapsed: Duration,
    },
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownOutcome {
    /// No daemon of this layout was running.
    NotRunning,
    /// The daemon with this pid was stopped.
    Stopped { pid: u32 },
}

/// Makes sure the private engine of `layout` runs: recognises one that already answers
/// (recording it in the state file), otherwise starts `dockerd` detached and waits for it.
pub async fn up(
    layout: &EngineLayout,
    opts: &UpOptions,
    progress: &mut dyn FnMut(UpEvent),
) -> Result<UpOutcome, DaemonError> {
    let addr = EngineAddr::DockerUnix {
        path: layout.socket(),
    };
    if ping(&addr, Duration::from_secs(3)).await.is_ok() {
        let state = record(layout, &addr, false).await?;
        return Ok(UpOutcome::AlreadyRunning(state));
    }
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        return Err(DaemonError::NotRoot { action: "up", uid });
    }
    // The engine's programs: fetched from Debian's packages into a private root, once.
    let dist = EngineDist::new(&layout.dist_root());
    let versions = dist
        .ensure(&opts.mirror, &mut |e| progress(UpEvent::Fetching(e)))
        .await?;
    if find_program("iptables").is_none() {
        if !opts.install {
            return Err(DaemonError::NotInstalled {
                program: "iptables".into(),
                package: "iptables".into(),
            });
        }
        progress(UpEvent::Installing {
            package: "iptables".into(),
        });
        install_packages(&["iptables"]).await?;
        if find_program("iptables").is_none() {
            return Err(DaemonError::NotInstalled {
                program: "iptables".into(),
                package: "iptables".into(),
            });
        }
    }
    let dockerd = dist.dockerd();
    let bridge_cidr = bridge::ensure(&layout.bridge(), layout.bridge_cidr_seed(), &opts.wrapper).await?;

    for dir in [
        &layout.state_dir,
        &layout.run_dir,
        &layout.data_root(),
        &layout.exec_root(),
    ] {
        std::fs::create_dir_all(dir).map_err(|source| DaemonError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    // The containerd image store: MergeOp and DiffOp exist only with it.
    let config = layout.config_file();
    std::fs::write(&config, "{\"features\": {\"containerd-snapshotter\": true}}\n")
        .map_err(|source| DaemonError::Io {
            path: config.clone(),
            source,
        })?;
    let log_path = layout.log();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|source| DaemonError::Io {
            path: log_path.clone(),
            source,
        })?;
    let log_err = log.try_clone().map_err(|source| DaemonError::Io {
        path: log_path.clone(),
        source,
    })?;

    let mut argv: Vec<String> = opts.wrapper.clone();
    argv.push(dockerd.display().to_string());
    argv.extend(layout.dockerd_args().into_iter().skip(1));
    argv.extend(opts.extra_args.iter().cloned());
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("PATH", dist_path(&dist))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: Ctrl-C in the terminal that ran `engine up` must not stop it.
        .process_group(0)
        .spawn()
        .map_err(|source| DaemonError::Io {
            path: dockerd.clone(),
            source,
        })?;
    progress(UpEvent::Started {
        pid: child.id(),
        log: log_path.clone(),
    });

    let start = Instant::now();
    loop {
        if ping(&addr, Duration::from_secs(2)).await.is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let _ = bridge::remove(&layout.bridge()).await;
            return Err(start_failed(
                layout,
                format!("dockerd exited with {status}"),
            ));
        }
        if start.elapsed() > opts.timeout {
            // Stop it: a retry must start from a clean slate, not find a half-started daemon.
            let _ = child.kill();
            let _ = child.wait();
            let _ = bridge::remove(&layout.bridge()).await;
            return Err(start_failed(
                layout,
                format!(
                    "no answer on {} within {}s (dockerd, pid {}, was stopped)",
                    layout.docker_host(),
                    opts.timeout.as_secs(),
                    child.id()
                ),
            ));
        }
        progress(UpEvent::Waiting {
            elapsed: start.elapsed(),
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Reap it when it exits, so a long-lived caller (a test, a server) keeps no zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    let mut state = record(layout, &addr, true).await?;
    state.packages = versions.packages;
    state.bridge = Some(format!("{} {bridge_cidr}", layout.bridge()));
    state.save(&layout.state_file())?;
    Ok(UpOutcome::Started {
        state,
        elapsed: start.elapsed(),
    })
}

/// Stops the private engine of `layout` (SIGTERM, then waits up to `timeout`).
pub async fn down(layout: &EngineLayout, timeout: Duration) -> Result<DownOutcome, DaemonError> {
    let pidfile = layout.pidfile();
    let pid = match read_pid(&pidfile) {
        Some(pid) if alive(pid) => pid,
        _ => {
            remove_state(layout)?;
            return Ok(DownOutcome::NotRunning);
        }
    };
    if !is_our_dockerd(pid, layout) {
        return Err(DaemonError::ForeignPid { pid, pidfile });
    }
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        return Err(DaemonError::NotRoot {
            action: "down",
            uid,
        });
    }
    // SAFETY: plain syscall on a pid we checked is our dockerd.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > timeout {
            return Err(DaemonError::StopTimeout {
                pid,
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    remove_state(layout)?;
    bridge::remove(&layout.bridge()).await?;
    Ok(DownOutcome::Stopped { pid })
}

/// Writes the state file for the daemon answering at `addr`. Running `up` again against the
/// same daemon leaves the file as it was.
async fn record(
    layout: &EngineLayout,
    addr: &EngineAddr,
    started: bool,
) -> Result<EngineState, DaemonError> {
    let pid = read_pid(&layout.pidfile());
    let previous = EngineState::load(&layout.state_file())
        .ok()
        .filter(|p| !started && p.pid == pid && p.docker_host == layout.docker_host());
    let docker_version = version(addr, Duration::from_secs(5))
        .await
        .ok()
        .map(|v| v.version);
    let state = EngineState {
        docker_host: layout.docker_host(),
        pid,
        data_root: layout.data_root(),
        exec_root: layout.exec_root(),
        log: layout.log(),
        // A daemon we started earlier stays "started by cogpack" when `up` runs again.
        started_by_cogpack: started || previous.as_ref().is_some_and(|p| p.started_by_cogpack),
        recorded_at_unix: previous
            .as_ref()
            .map(|p| p.recorded_at_unix)
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            }),
        docker_version,
        packages: previous.as_ref().map(|p| p.packages.clone()).unwrap_or_default(),
        bridge: previous.as_ref().and_then(|p| p.bridge.clone()),
    };
    if previous.as_ref() != Some(&state) {
        state.save(&layout.state_file())?;
    }
    Ok(state)
}

fn remove_state(layout: &EngineLayout) -> Result<(), DaemonError> {
    let path = layout.state_file();
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DaemonError::Io { path, source }),
    }
}

fn start_failed(layout: &EngineLayout, reason: String) -> DaemonError {
    DaemonError::StartFailed {
        reason,
        log: layout.log(),
        log_tail: tail(&layout.log(), 20),
    }
}

/// The last `n` lines of a text file ("" if unreadable).
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// The process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}

/// `pid` runs dockerd with this layout's socket (guards against a reused pid).
fn is_our_dockerd(pid: u32, layout: &EngineLayout) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let is_dockerd = args
        .first()
        .is_some_and(|a| a.rsplit('/').next() == Some("dockerd"));
    is_dockerd
        && args
            .iter()
            .any(|a| a.contains(&layout.socket().display().to_string()))
}

/// PATH with the sbin directories dockerd, containerd, runc and iptables live in.
fn sbin_path() -> String {
    let mut dirs: Vec<String> = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !dirs.iter().any(|x| x == d) {
            dirs.push(d.to_owned());
        }
    }
    dirs.join(":")
}

/// A program on [`sbin_path`].
fn find_program(name: &str) -> Option<PathBuf> {
    sbin_path()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `PATH` with the fetched engine's programs first, then the host's sbin directories.
fn dist_path(dist: &EngineDist) -> String {
    let mut dirs: Vec<String> = dist.bin_dirs().iter().map(|d| d.display().to_string()).collect();
    dirs.push(sbin_path());
    dirs.join(":")
}

/// `apt-get update && apt-get install -y PACKAGES` (host tools only; never the engine).
async fn install_packages(packages: &[&str]) -> Result<(), DaemonError> {
    let path = sbin_path();
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    for args in [&["update"][..], &install[..]] {
        apt_get(
            args,
            AptOptions {
                path: Some(&path),
                tail_lines: 15,
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_and_not_dockerd() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(!is_our_dockerd(me, &EngineLayout::system()));
        assert!(!alive(u32::MAX - 1));
    }

    #[tokio::test]
    async fn down_on_an_empty_layout_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let layout = EngineLayout::at(dir.path().join("state"), dir.path().join("run"));
        assert_eq!(
            down(&layout, Duration::from_secs(1)).await.unwrap(),
            DownOutcome::NotRunning
        );
    }
}
