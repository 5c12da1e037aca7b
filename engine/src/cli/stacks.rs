use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum StacksCommand {
    /// List every known stack
    List,
}

pub fn run(_cmd: StacksCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
