//! `accord mock`, `accord stub` and `accord record`.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct MockArgs {}
#[derive(Debug, Args)]
pub struct StubArgs {}
#[derive(Debug, Args)]
pub struct RecordArgs {}

pub async fn run_mock(_args: MockArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord mock` is not available yet")
}
pub async fn run_stub(_args: StubArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord stub` is not available yet")
}
pub async fn run_record(_args: RecordArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord record` is not available yet")
}
