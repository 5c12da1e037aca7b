//! `cogpack build [DIR]`: plan the project, then build it with BuildKit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use tokio::sync::mpsc;

use super::progress::{self, ProgressMode};
use super::{Format, GlobalArgs};
use super::registry::{CacheArgs, RegistryArgs};
use crate::build::{self, BuildNote, BuildOptions, BuildOutcome, OutputSpec, SecretSpec};
use crate::compose::plan_dir;

/// Build a Cog project into an image.
///
/// The plan (`cogpack plan DIR`) is lowered to BuildKit LLB and solved by a real BuildKit:
/// Docker's embedded one (found through --engine, BUILDKIT_HOST, DOCKER_HOST, the engine
/// `cogpack engine up` started, or /var/run/docker.sock) or a standalone buildkitd. Missing
/// local base images are built first from Debian packages. Dependency layers come before the
/// source layer, so editing code rebuilds in seconds.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    cogpack build fixtures/string-project -t my-model\n  \
    cogpack build . --secret id=hf,src=$HOME/.hf-token --progress plain\n  \
    cogpack build . --output type=oci,dest=model.tar --dump-llb llb.json\n  \
    cogpack build . --push -t registry.example.com/team/model:v1\n  \
    cogpack build . --cache-from registry.example.com/team/cache:model \\\n      \
    --cache-to type=registry,ref=registry.example.com/team/cache:model,mode=max\n\n\
Registry credentials come from Docker's config ($DOCKER_CONFIG/config.json or\n\
~/.docker/config.json: `auths`, `credHelpers`, `credsStore`), as `docker login` leaves them.")]
pub struct BuildArgs {
    /// Project directory (default: the current directory)
    pub dir: Option<PathBuf>,
    /// Name the image in the engine's image store (repeatable; default `cogpack-<dir>:latest`)
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Also write the image as a tarball: `type=docker,dest=FILE` or `type=oci,dest=FILE`
    #[arg(short = 'o', long = "output", value_name = "SPEC", value_parser = OutputSpec::parse)]
    pub outputs: Vec<OutputSpec>,
    /// Secret for a `run` step's secret mount: `id=ID,src=FILE` or `id=ID,env=VAR` (repeatable);
    /// never stored in the image, the plan, the LLB or the logs
    #[arg(long = "secret", value_name = "SPEC", value_parser = SecretSpec::parse)]
    pub secrets: Vec<SecretSpec>,
    /// CA bundle (PEM) mounted into steps that reach package indexes, for that step only
    /// [default: $SSL_CERT_FILE, then /etc/ssl/certs/ca-certificates.crt]
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Engine to build with: `docker-unix:///var/run/docker.sock`, `unix:///run/buildkit/buildkitd.sock`, ...
    #[arg(long, value_name = "ADDR")]
    pub engine: Option<String>,
    /// How to show progress
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Write the decoded LLB graph to FILE as JSON
    #[arg(long, value_name = "FILE")]
    pub dump_llb: Option<PathBuf>,
    /// How stages become layers. auto: a stage that needs less than everything below it
    /// (dependencies, weights, source) is built on what it needs and merged as an independent
    /// layer, when the engine has MergeOp and DiffOp, so changing system_packages does not
    /// re-run the Python installs; chained: every stage on the one before, as on engines
    /// without them
    #[arg(long, value_enum, default_value_t = Layers::Auto)]
    pub layers: Layers,
    /// Push every -t name to its registry after building (BuildKit's image exporter; layers
    /// the registry already has are not sent again)
    #[arg(long)]
    pub push: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print the result as text (stderr) or JSON (stdout)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: BuildArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if args.push && args.tags.is_empty() {
        // The default name (`cogpack-<dir>:latest`) would go to Docker Hub.
        eprintln!("error: {}", build::BuildError::PushWithoutTag);
        return Ok(ExitCode::from(super::exit::USAGE));
    }
    let tags = if args.tags.is_empty() && args.outputs.is_empty() {
        vec![default_tag(&dir)]
    } else {
        args.tags.clone()
    };
    let options = BuildOptions {
        tags,
        outputs: args.outputs.clone(),
        secrets: args.secrets.clone(),
        ca_cert: args.ca_cert.clone(),
        engine: args.engine.clone(),
        dump_llb: args.dump_llb.clone(),
        chained_layers: args.layers == Layers::Chained,
        push: args.push,
        insecure_registry: args.registry.insecure_registry,
        cache_to: args.cache.cache_to.clone(),
        cache_from: args.cache.cache_from.clone(),
        mirror: match args.registry.mirror() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(super::exit::USAGE));
            }
        },
    };
    build_and_report(&dir, &options, args.progress, args.format, global)
}

/// The name `cogpack build` gives an image when no `-t` is given: `cogpack-<dir>:latest`.
pub fn default_tag(dir: &Path) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into());
    let clean: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    format!("cogpack-{}:latest", clean.trim_matches(|c| c == '-' || c == '.'))
}

/// [`build_dir`], then the outcome as JSON on stdout when asked: what `build` and `push` (of
/// a project) end with.
pub fn build_and_report(
    dir: &Path,
    options: &BuildOptions,
    mode: ProgressMode,
    format: Format,
    global: &GlobalArgs,
) -> anyhow::Result<ExitCode> {
    Ok(match build_dir(dir, options, mode, global)? {
        Ok(outcome) => {
            if format == Format::Json {
                println!("{}", outcome_json(&outcome));
            }
            ExitCode::SUCCESS
        }
        Err(code) => ExitCode::from(code),
    })
}

/// Plans and builds `dir`, rendering progress and notes on stderr. `Err(code)` means the
/// failure was already reported.
pub fn build_dir(
    dir: &Path,
    options: &BuildOptions,
    mode: ProgressMode,
    global: &GlobalArgs,
) -> anyhow::Result<Result<BuildOutcome, u8>> {
    let started = Instant::now();
    let indexes = match global.index.indexes() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Err(crate::diagnostics::exit::USAGE));
        }
    };
    let composition = match plan_dir(dir, &global.blocks, &indexes) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.render(super::plan::stderr_color()));
            return Ok(Err(e.exit_code()));
        }
    };
    if mode != ProgressMode::Quiet {
        eprint!("{}", super::plan::render_warnings(&composition.warnings));
    }
    let plan = composition.plan;
    let quiet = mode == ProgressMode::Quiet;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let (tx, rx) = mpsc::channel(1024);
        let renderer = tokio::spawn(progress::render(mode, rx));
        let note = move |n: BuildNote| {
            if !quiet {
                eprintln!("{}", render_note(&n));
            }
        };
        let mut build = Box::pin(build::build_plan(&plan, dir, options, tx, &note));
        let outcome = tokio::select! {
            r = &mut build => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        // Dropping the build cancels it (closing the session ends the solve, so nothing is
        // exported or tagged) and drops the progress sender, which ends the renderer.
        drop(build);
        let _ = renderer.await;
        outcome
    });
    match result {
        None => {
            eprintln!("interrupted: the build was cancelled and no image was tagged");
            Ok(Err(130))
        }
        Some(Err(err)) => {
            eprintln!("error: {err}");
            Ok(Err(err.exit_code()))
        }
        Some(Ok(outcome)) => {
            if !quiet {
                let s = outcome.status.summary();
                let name = outcome.tags.first().cloned().unwrap_or_else(|| "(untagged)".into());
                eprintln!(
                    "built {name}{} in {:.1}s: {} steps, {} cached",
                    outcome.image_id.as_deref().map(|id| format!(" ({})", short_id(id))).unwrap_or_default(),
                    started.elapsed().as_secs_f64(),
                    s.total,
                    s.cached
                );
                for path in &outcome.outputs {
                    eprintln!("wrote {}", path.display());
                }
            }
            Ok(Ok(outcome))
        }
    }
}

/// Builds a project for `cogpack predict DIR` and returns the image name.
pub fn build_for_predict(dir: &Path, engine: Option<String>, global: &GlobalArgs) -> anyhow::Result<Result<String, u8>> {
    let tag = default_tag(dir);
    let options = BuildOptions { tags: vec![tag.clone()], engine, ..Default::default() };
    Ok(build_dir(dir, &options, ProgressMode::Auto, global)?.map(|_| tag))
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

fn render_note(note: &BuildNote) -> String {
    match note {
        BuildNote::Engine { addr, version, .. } => format!("engine: {addr} ({version})"),
        BuildNote::BaseImageBuilding { name } => format!(
            "base image {name} is not in the engine yet: building it locally from Debian packages (about a minute, once)"
        ),
        BuildNote::BaseImageProgress { name, line } => format!("  [{name}] {line}"),
        BuildNote::BaseImageReady { name, id } => format!("base image {name} ready ({})", short_id(id)),
        BuildNote::LlbDumped { path, ops } => format!("wrote the LLB graph ({ops} ops) to {}", path.display()),
        BuildNote::OutputWritten { path, bytes } => {
            format!("wrote {} ({:.1} MB)", path.display(), *bytes as f64 / 1e6)
        }
        BuildNote::BaseImagePulled { name, from } => format!("base image {name} pulled from {from}"),
        BuildNote::CacheMissing { reference, error } => format!(
            "note: no build cache at {reference} yet ({}); building without it",
            error.rsplit(": ").next().unwrap_or(error)
        ),
        BuildNote::CacheExported { reference } => format!("exported the build cache to {reference}"),
        BuildNote::Pushed(p) => push_line(p),
    }
}

/// `pushed REF (sha256:…): 1 layer sent (1.2 kB), 4 already in the registry`.
pub fn push_line(p: &crate::registry::TransferReport) -> String {
    format!(
        "pushed {}{}: {} layer{} sent ({}), {} already in the registry",
        p.reference,
        p.digest.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        p.layers_transferred,
        if p.layers_transferred == 1 { "" } else { "s" },
        human_bytes(p.bytes_sent),
        p.layers_present
    )
}

/// `1234567` -> `1.2 MB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} GB", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

pub fn outcome_json(outcome: &BuildOutcome) -> String {
    let s = outcome.status.summary();
    serde_json::to_string_pretty(&serde_json::json!({
        "image_id": outcome.image_id,
        "tags": outcome.tags,
        "outputs": outcome.outputs,
        "steps": { "total": s.total, "cached": s.cached },
        "pushed": outcome.pushed,
    }))
    .unwrap_or_default()
}

/// `--layers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layers {
    /// Independent layers where the engine allows them
    Auto,
    /// Every stage on the one before it
    Chained,
}
