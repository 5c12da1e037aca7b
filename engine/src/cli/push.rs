//! `cogpack push [DIR|IMAGE] REF`: build a project and push it, or push an image the engine has.

use std::path::PathBuf;
use std::process::ExitCode;

use super::build::build_and_report;
use super::progress::ProgressMode;
use super::registry::{CacheArgs, RegistryArgs};
use super::{Format, GlobalArgs};
use crate::build::BuildOptions;
use crate::registry::{self, DockerConfig, Reference};

/// Push a model image to an OCI registry.
///
/// With a project directory (default: the current directory), builds it and pushes the
/// result with BuildKit's image exporter: only layers the registry lacks are sent, so
/// pushing again after a source edit sends the source layer and the manifest. With the name
/// of an image in the engine's store, tags it REF and pushes it through the engine.
/// Credentials come from Docker's config ($DOCKER_CONFIG/config.json or
/// ~/.docker/config.json: `auths`, `credHelpers`, `credsStore`). A push that fails leaves no
/// tag in the registry: a registry writes the tag with the manifest, after every layer.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    cogpack push registry.example.com/team/model:v1            # build . and push\n  \
    cogpack push fixtures/string-project 127.0.0.1:5000/string:1\n  \
    cogpack push cogpack-string-project:latest registry.example.com/team/string:1\n\n\
A registry with a private CA: put the CA at /etc/docker/certs.d/HOST:PORT/ca.crt on the\n\
engine's machine. Plain HTTP: only to loopback, or with --insecure-registry.\n\
--cache-to/--cache-from apply when what is pushed is a project directory (it is built).")]
pub struct PushArgs {
    /// `[DIR|IMAGE] REF`: what to push (a project directory, or an image in the engine's
    /// store; default `.`), then where: REGISTRY/REPOSITORY[:TAG]
    #[arg(value_name = "[DIR|IMAGE] REF", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Engine address (default: discovered)
    #[arg(long, value_name = "ADDR")]
    pub engine: Option<String>,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// How to show build progress
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Print the result as text (stderr) or JSON (stdout)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: PushArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let (source, reference) = match args.args.as_slice() {
        [reference] => (None, reference.clone()),
        [source, reference] => (Some(source.clone()), reference.clone()),
        _ => {
            eprintln!("error: expected [DIR|IMAGE] REF");
            return Ok(ExitCode::from(super::exit::USAGE));
        }
    };
    let args = PushArgs { args: Vec::new(), ..args };
    if let Err(e) = Reference::parse(&reference) {
        eprintln!("error: {e}\nhelp: write REGISTRY/REPOSITORY[:TAG], e.g. registry.example.com/team/model:v1");
        return Ok(ExitCode::from(super::exit::USAGE));
    }
    let source = source.clone().unwrap_or_else(|| ".".into());
    let dir = PathBuf::from(&source);
    if dir.is_dir() {
        let mirror = match args.registry.mirror() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(super::exit::USAGE));
            }
        };
        let options = BuildOptions {
            tags: vec![reference.clone()],
            engine: args.engine.clone(),
            push: true,
            insecure_registry: args.registry.insecure_registry,
            cache_to: args.cache.cache_to.clone(),
            cache_from: args.cache.cache_from.clone(),
            mirror,
            ..Default::default()
        };
        return build_and_report(&dir, &options, args.progress, args.format, global);
    }
    if !args.cache.cache_to.is_empty() || !args.cache.cache_from.is_empty() {
        eprintln!("error: --cache-to/--cache-from apply to projects; `{source}` is not a directory");
        return Ok(ExitCode::from(super::exit::USAGE));
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (docker, addr) = match super::images::docker_at(args.engine.as_deref()).await {
            Ok(d) => d,
            Err(code) => return Ok(code),
        };
        if docker.inspect_image(&source).await.is_err() {
            eprintln!(
                "error: `{source}` is neither a project directory nor an image in the engine's store\n\
                 help: build it first (`cogpack build DIR -t {source}`), or pass a project directory"
            );
            return Ok(ExitCode::from(super::exit::USAGE));
        }
        let auth = match DockerConfig::load() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(super::exit::FAILURE));
            }
        };
        match registry::push(&docker, &addr, &auth, &source, &reference).await {
            Ok(report) => {
                match args.format {
                    Format::Json => println!("{}", serde_json::json!({ "pushed": [report] })),
                    Format::Text => eprintln!("{}", super::build::push_line(&report)),
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(super::exit::BUILD))
            }
        }
    })
}
