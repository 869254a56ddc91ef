//! `accord verify`: verifies a provider against its contracts.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct VerifyArgs {}

pub async fn run(_args: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord verify` is not available yet")
}
