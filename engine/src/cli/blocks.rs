use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum BlocksCommand {
    /// List every known block
    List,
}

pub fn run(_cmd: BlocksCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
