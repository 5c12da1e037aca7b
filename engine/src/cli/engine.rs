use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum EngineCommand {
    /// Not implemented yet
    Status,
}

pub fn run(_cmd: EngineCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
