//! `cogpack images build|list|push|pull`.

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::registry::RegistryArgs;
use super::{exit, Format, GlobalArgs};
use crate::daemon;
use crate::images::{self, BuildEvent, BuildOptions, BuildStep, Presence};

#[derive(Debug, clap::Subcommand)]
pub enum ImagesCommand {
    /// Build base images with debootstrap and load them into the engine
    Build {
        /// Image to build (e.g. cogpack/base:py3.11-bookworm, or just py3.11-bookworm);
        /// default: all
        name: Option<String>,
        /// Rebuild even if the image is present and current
        #[arg(long)]
        force: bool,
        /// Engine address (default: discovered)
        #[arg(long, value_name = "ADDR")]
        engine: Option<String>,
    },
    /// Publish the locally built base images to the mirror registry, so a team builds them once
    /// (`cogpack build` on another machine pulls them from there instead of building)
    #[command(after_help = "Example:\n  cogpack images push --mirror registry.example.com:5000/cogpack\n\n\
        The mirror can also be set once in cogpack's config.toml ([registry] mirror = ...).")]
    Push {
        /// Image to publish (default: every local base image the engine has)
        name: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
        /// Engine address (default: discovered)
        #[arg(long, value_name = "ADDR")]
        engine: Option<String>,
    },
    /// Pull a base image through the mirror registry (what `cogpack build` does when one is
    /// missing)
    Pull {
        /// Base image (a row of compat/base-images.toml, e.g. cogpack/base:py3.11-bookworm)
        name: String,
        #[command(flatten)]
        registry: RegistryArgs,
        /// Engine address (default: discovered)
        #[arg(long, value_name = "ADDR")]
        engine: Option<String>,
    },
    /// List the base image recipes and whether each is in the engine
    List {
        /// Engine address (default: discovered)
        #[arg(long, value_name = "ADDR")]
        engine: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Serialize)]
struct ListRow {
    name: String,
    suite: String,
    packages: Vec<String>,
    mirror: String,
    #[serde(flatten)]
    presence: Presence,
}

pub fn run(cmd: ImagesCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    match cmd {
        ImagesCommand::Build {
            name,
            force,
            engine,
        } => rt.block_on(build(name, force, engine)),
        ImagesCommand::List { engine, format } => rt.block_on(list(engine, format)),
        ImagesCommand::Push { name, registry, engine } => rt.block_on(push(name, registry, engine)),
        ImagesCommand::Pull { name, registry, engine } => rt.block_on(pull(name, registry, engine)),
    }
}

async fn docker(engine: Option<&str>) -> Result<bollard::Docker, ExitCode> {
    Ok(docker_at(engine).await?.0)
}

/// The engine's Docker API and its address.
pub(super) async fn docker_at(engine: Option<&str>) -> Result<(bollard::Docker, crate::buildkit::EngineAddr), ExitCode> {
    let found = daemon::discover(engine).map_err(super::engine::engine_error)?;
    let docker = daemon::connect(&found.addr).await.map_err(super::engine::engine_error)?;
    Ok((docker, found.addr))
}

async fn build(
    name: Option<String>,
    force: bool,
    engine: Option<String>,
) -> anyhow::Result<ExitCode> {
    let recipes = match name {
        Some(n) => vec![images::builtin_recipe(&n)?],
        None => images::builtin_recipes(),
    };
    let docker = match docker(engine.as_deref()).await {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    for recipe in recipes {
        let presence = images::presence(&docker, &recipe).await?;
        if let (Presence::Current { id }, false) = (&presence, force) {
            eprintln!(
                "{}: present ({}), nothing to do (--force rebuilds)",
                recipe.name,
                short(&id.0)
            );
            continue;
        }
        if let Presence::Stale { .. } = presence {
            eprintln!(
                "{}: present but built from another recipe, rebuilding",
                recipe.name
            );
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .expect("template"),
        );
        bar.set_prefix(recipe.name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let current = Mutex::new(String::new());
        let on_event = |e: BuildEvent| match e {
            BuildEvent::Step { step, .. } => {
                let label = match step {
                    BuildStep::InstallDebootstrap => "installing debootstrap",
                    BuildStep::Debootstrap => "debootstrap",
                    BuildStep::Normalize => "normalising the root filesystem",
                    BuildStep::Layer => "writing the layer",
                    BuildStep::Load => "loading into the engine",
                };
                *current.lock().expect("not poisoned") = label.to_owned();
                bar.set_message(label);
            }
            BuildEvent::Line(line) => {
                let label = current.lock().expect("not poisoned").clone();
                let line = line.trim_start_matches("I: ").to_owned();
                bar.set_message(format!("{label}: {line}"));
            }
            BuildEvent::Entries(n) => {
                let label = current.lock().expect("not poisoned").clone();
                bar.set_message(format!("{label}: {n} entries"));
            }
        };
        let result = images::build(&docker, &recipe, &BuildOptions::default(), &on_event).await;
        bar.finish_and_clear();
        let built = result?;
        eprintln!(
            "{}: built {} in {:.0}s (layer {} MB{})",
            built.name,
            short(&built.id.0),
            built.elapsed.as_secs_f64(),
            built.layer_size / 1_000_000,
            built
                .python
                .as_deref()
                .map(|p| format!(", python3 {p}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(engine: Option<String>, format: Format) -> anyhow::Result<ExitCode> {
    let docker = match docker(engine.as_deref()).await {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let mut rows = Vec::new();
    for recipe in images::builtin_recipes() {
        let presence = images::presence(&docker, &recipe).await?;
        rows.push(ListRow {
            mirror: recipe.mirror_url().to_owned(),
            name: recipe.name,
            suite: recipe.suite,
            packages: recipe.packages,
            presence,
        });
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Text => {
            for row in &rows {
                let state = match &row.presence {
                    Presence::Absent => "absent".to_owned(),
                    Presence::Current { id } => format!("present {}", short(&id.0)),
                    Presence::Stale { id, .. } => format!("stale {} (other recipe)", short(&id.0)),
                };
                println!(
                    "{:<32} {:<9} {:<28} {}",
                    row.name,
                    row.suite,
                    state,
                    row.packages.join(",")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The mirror of `registry` (flag or config file) and Docker's credentials, or the exit code.
fn mirror_and_auth(registry: &RegistryArgs) -> Result<(crate::registry::Mirror, crate::registry::DockerConfig), ExitCode> {
    let mirror = match registry.mirror() {
        Ok(Some(m)) => m,
        Ok(None) => {
            eprintln!(
                "error: no mirror registry given\nhelp: pass --mirror HOST[:PORT][/PREFIX], or set `mirror` under \
                 [registry] in {}",
                crate::registry::CogpackConfig::default_path().map(|p| p.display().to_string()).unwrap_or_else(|| "config.toml".into())
            );
            return Err(ExitCode::from(exit::USAGE));
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(exit::USAGE));
        }
    };
    match crate::registry::DockerConfig::load() {
        Ok(auth) => Ok((mirror, auth)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(exit::FAILURE))
        }
    }
}

async fn push(name: Option<String>, registry: RegistryArgs, engine: Option<String>) -> anyhow::Result<ExitCode> {
    let (mirror, auth) = match mirror_and_auth(&registry) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let recipes = match name {
        Some(n) => vec![images::builtin_recipe(&n)?],
        None => images::builtin_recipes(),
    };
    let (docker, addr) = match docker_at(engine.as_deref()).await {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let mut pushed = 0;
    for recipe in recipes {
        match images::presence(&docker, &recipe).await? {
            Presence::Current { .. } => {}
            _ => {
                eprintln!("{}: not built in this engine (or stale), skipped; `cogpack images build {}` makes it", recipe.name, recipe.name);
                continue;
            }
        }
        let target = mirror.image(&recipe.name);
        match crate::registry::push(&docker, &addr, &auth, &recipe.name, &target).await {
            Ok(r) => {
                pushed += 1;
                eprintln!("{}: {}", recipe.name, super::build::push_line(&r));
                // The mirror's name was only needed for the push.
                let _ = docker.remove_image(&target, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(exit::BUILD));
            }
        }
    }
    if pushed == 0 {
        eprintln!("error: no base image to publish\nhelp: build them first with `cogpack images build`");
        return Ok(ExitCode::from(exit::BUILD));
    }
    Ok(ExitCode::SUCCESS)
}

async fn pull(name: String, registry: RegistryArgs, engine: Option<String>) -> anyhow::Result<ExitCode> {
    let (mirror, auth) = match mirror_and_auth(&registry) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let Some(row) = crate::compat::CompatTables::builtin().base_images().iter().find(|r| r.name == name || r.name.rsplit(':').next() == Some(name.as_str())) else {
        eprintln!("error: `{name}` is not a base image of compat/base-images.toml\nhelp: `cogpack images list` shows the local ones");
        return Ok(ExitCode::from(exit::USAGE));
    };
    let docker = match docker(engine.as_deref()).await {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let note = |n: crate::build::BuildNote| {
        if let crate::build::BuildNote::BaseImagePulled { name, from } = n {
            eprintln!("{name}: pulled from {from}");
        }
    };
    match crate::build::pull_base(&docker, &mirror, &auth, &row.name, &note).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// `sha256:0123456789ab` → `0123456789ab`.
fn short(id: &str) -> &str {
    let hex = id.trim_start_matches("sha256:");
    &hex[..hex.len().min(12)]
}
