//! The command line: parses arguments, calls the engine, renders what it returns.
//! One file per command; this file only wires them together.

mod blocks;
mod build;
mod engine;
mod images;
mod plan;
pub mod package_index;
mod predict;
pub mod progress;
mod push;
mod registry;
mod stacks;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::diagnostics::exit;

/// Package Cog model projects (cog.yaml + predict.py) into OCI images with BuildKit.
///
/// A project is inspected by stacks and blocks (TOML manifests in blocks.d/ and stacks.d/),
/// versions are resolved against the compat tables, and the resulting plan is lowered to
/// BuildKit LLB and solved by a real BuildKit.
#[derive(Debug, Parser)]
#[command(name = "cogpack", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command understands.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Extra directory of block/stack manifests (`*.toml`, or `blocks.d/` and `stacks.d/`
    /// inside it). Repeatable; later directories override earlier ones. Also read from
    /// COGPACK_BLOCKS_PATH (colon-separated), which comes before these.
    #[arg(long = "blocks", value_name = "DIR", global = true)]
    pub blocks: Vec<PathBuf>,
    #[command(flatten)]
    pub index: package_index::IndexArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the build plan the winning stack makes for a project
    Plan(plan::PlanArgs),
    /// List and explain blocks
    #[command(subcommand)]
    Blocks(blocks::BlocksCommand),
    /// List and explain stacks
    #[command(subcommand)]
    Stacks(stacks::StacksCommand),
    /// Build a project into an image with BuildKit
    Build(build::BuildArgs),
    /// Push a model image to a registry (building the project first)
    Push(push::PushArgs),
    /// Run a prediction against an image (or build a project first)
    Predict(predict::PredictArgs),
    /// Manage the BuildKit engine cogpack uses (a private Docker daemon)
    #[command(subcommand)]
    Engine(engine::EngineCommand),
    /// Build the Cogpack base images locally, offline, from Debian packages
    #[command(subcommand)]
    Images(images::ImagesCommand),
}

/// Output format for commands that machines may read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text
    #[default]
    Text,
    /// Stable, deterministic JSON
    Json,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => plan::run(args, &cli.global),
        Command::Blocks(cmd) => blocks::run(cmd, &cli.global),
        Command::Stacks(cmd) => stacks::run(cmd, &cli.global),
        Command::Build(args) => build::run(args, &cli.global),
        Command::Predict(args) => predict::run(args, &cli.global),
        Command::Push(args) => push::run(args, &cli.global),
        Command::Engine(cmd) => engine::run(cmd, &cli.global),
        Command::Images(cmd) => images::run(cmd, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
