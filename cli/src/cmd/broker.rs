//! `accord broker`: runs the contract broker.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct BrokerArgs {}

pub async fn run(_args: BrokerArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord broker` is not available yet")
}
