//! `cogpack engine up|down|status|env`.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{exit, Format, GlobalArgs};
use crate::daemon::{self, DaemonError, DownOutcome, EngineLayout, UpEvent, UpOptions, UpOutcome};

#[derive(Debug, clap::Subcommand)]
pub enum EngineCommand {
    /// Start cogpack's private Docker daemon (does nothing if it already answers)
    Up {
        /// Install host tools the engine needs (iptables) with apt-get when missing. The engine
        /// itself (dockerd, containerd, runc from Debian's packages) is always fetched into
        /// /var/lib/cogpack/dist, never installed on the system
        #[arg(long, env = "COGPACK_ENGINE_INSTALL", value_parser = clap::builder::BoolishValueParser::new())]
        install: bool,
        /// Seconds to wait for the daemon to answer
        #[arg(long, default_value_t = 60, value_name = "SECS")]
        timeout: u64,
    },
    /// Stop the private Docker daemon (SIGTERM, then wait)
    Down {
        /// Seconds to wait for it to exit
        #[arg(long, default_value_t = 60, value_name = "SECS")]
        timeout: u64,
    },
    /// Show which engine cogpack would use and what it runs
    Status {
        /// Engine address (as for `cogpack build --engine`); default: discovered
        #[arg(long, value_name = "ADDR")]
        engine: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print shell exports that point the docker CLI at the private daemon
    Env,
}

pub fn run(cmd: EngineCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let layout = EngineLayout::system();
    match cmd {
        EngineCommand::Up { install, timeout } => {
            let opts = UpOptions {
                install,
                timeout: Duration::from_secs(timeout),
                ..UpOptions::default()
            };
            let bar = spinner();
            let mut on_event = |e: UpEvent| match e {
                UpEvent::Installing { package } => {
                    bar.set_message(format!("installing {package} with apt-get"))
                }
                UpEvent::Fetching(daemon::FetchEvent::Updating { suite }) => {
                    bar.set_message(format!("fetching Debian {suite}'s package lists"))
                }
                UpEvent::Fetching(daemon::FetchEvent::Downloading { packages }) => {
                    bar.set_message(format!("downloading {}", packages.join(", ")))
                }
                UpEvent::Fetching(daemon::FetchEvent::Unpacking { file }) => {
                    bar.set_message(format!("unpacking {file}"))
                }
                UpEvent::Started { pid, log } => bar.set_message(format!(
                    "started dockerd (pid {pid}, log {})",
                    log.display()
                )),
                UpEvent::Waiting { elapsed } => bar.set_message(format!(
                    "waiting for {} to answer ({}s)",
                    layout.docker_host(),
                    elapsed.as_secs()
                )),
            };
            let result = rt.block_on(daemon::up(&layout, &opts, &mut on_event));
            bar.finish_and_clear();
            match result {
                Ok(UpOutcome::AlreadyRunning(state)) => {
                    eprintln!(
                        "engine: already running at {} (Docker {}{})",
                        state.docker_host,
                        state.docker_version.as_deref().unwrap_or("?"),
                        state.pid.map(|p| format!(", pid {p}")).unwrap_or_default()
                    );
                }
                Ok(UpOutcome::Started { state, elapsed }) => {
                    eprintln!(
                        "engine: started at {} in {:.1}s (Docker {}, pid {})",
                        state.docker_host,
                        elapsed.as_secs_f64(),
                        state.docker_version.as_deref().unwrap_or("?"),
                        state
                            .pid
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "?".into())
                    );
                    eprintln!("hint: eval \"$(cogpack engine env)\" to use it with the docker CLI");
                }
                Err(e) => return Ok(engine_error(e)),
            }
            Ok(ExitCode::SUCCESS)
        }
        EngineCommand::Down { timeout } => {
            match rt.block_on(daemon::down(&layout, Duration::from_secs(timeout))) {
                Ok(DownOutcome::NotRunning) => eprintln!("engine: not running"),
                Ok(DownOutcome::Stopped { pid }) => {
                    eprintln!("engine: stopped dockerd (pid {pid})")
                }
                Err(e) => return Ok(engine_error(e)),
            }
            Ok(ExitCode::SUCCESS)
        }
        EngineCommand::Status { engine, format } => {
            let found = match daemon::discover(engine.as_deref()) {
                Ok(found) => found,
                Err(e) => return Ok(engine_error(e)),
            };
            let st = rt.block_on(daemon::status(&found, &layout));
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&st)?),
                Format::Text => {
                    println!("engine:   {} (from {})", st.addr, st.origin);
                    if st.running {
                        println!("running:  yes");
                    } else {
                        println!("running:  no");
                    }
                    if let Some(v) = &st.docker_version {
                        println!(
                            "docker:   {v} (API {}, {})",
                            st.api_version.as_deref().unwrap_or("?"),
                            st.platform.as_deref().unwrap_or("?")
                        );
                    }
                    if st.running {
                        println!(
                            "buildkit: {}",
                            st.buildkit_version.as_deref().unwrap_or("unknown")
                        );
                    }
                    if let Some(bk) = &st.buildkit {
                        println!(
                            "layers:   {}",
                            if bk.independent_layers {
                                "independent (MergeOp + DiffOp)".to_owned()
                            } else {
                                format!(
                                    "chained (no {}{})",
                                    if bk.merge_op { "" } else { "MergeOp" },
                                    match (bk.merge_op, bk.diff_op) {
                                        (false, false) => ", no DiffOp",
                                        (true, false) => "DiffOp",
                                        _ => "",
                                    }
                                )
                            }
                        );
                        println!(
                            "caps:     {} LLB caps; image store: {}",
                            bk.llb_caps.len(),
                            if bk.containerd_image_store { "containerd" } else { "classic" }
                        );
                    }
                    if let Some(state) = &st.engine_state {
                        println!(
                            "managed:  pid {}, {} (data root {})",
                            state
                                .pid
                                .map(|p| p.to_string())
                                .unwrap_or_else(|| "?".into()),
                            if state.started_by_cogpack {
                                "started by cogpack"
                            } else {
                                "adopted"
                            },
                            state.data_root.display()
                        );
                        for (name, version) in &state.packages {
                            println!("  {name} {version}");
                        }
                        if let Some(bridge) = &state.bridge {
                            println!("  bridge {bridge}");
                        }
                    }
                    if let Some(err) = &st.error {
                        println!("error:    {err}");
                    }
                    if st.running {
                        println!("images:   {}", st.images.len());
                        for image in &st.images {
                            println!("  {image}");
                        }
                    }
                }
            }
            Ok(if st.running {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::ENGINE)
            })
        }
        EngineCommand::Env => {
            println!("export DOCKER_HOST={}", layout.docker_host());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} engine: {msg}").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints an engine error and returns the ENGINE exit code.
pub(super) fn engine_error(e: DaemonError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(exit::ENGINE)
}
