//! `accord monitor`: probes a running provider for drift from its contracts.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct MonitorArgs {}

pub async fn run(_args: MonitorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord monitor` is not available yet")
}
