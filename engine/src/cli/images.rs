use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum ImagesCommand {
    /// Not implemented yet
    Status,
}

pub fn run(_cmd: ImagesCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
