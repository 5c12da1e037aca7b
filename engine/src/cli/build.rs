use std::path::PathBuf;
use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Project directory (default: the current directory)
    pub dir: Option<PathBuf>,
}

pub fn run(_args: BuildArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
