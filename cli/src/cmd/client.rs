//! Broker client commands: publish, can-i-deploy, environments, deployments, releases.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PublishArgs {}
#[derive(Debug, Args)]
pub struct CanIDeployArgs {}
#[derive(Debug, Args)]
pub struct CreateEnvironmentArgs {}
#[derive(Debug, Args)]
pub struct RecordDeploymentArgs {}
#[derive(Debug, Args)]
pub struct RecordReleaseArgs {}
#[derive(Debug, Args)]
pub struct DescribeVersionArgs {}

pub async fn publish(_args: PublishArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord publish` is not available yet")
}
pub async fn can_i_deploy(_args: CanIDeployArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord can-i-deploy` is not available yet")
}
pub async fn create_environment(_args: CreateEnvironmentArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord create-environment` is not available yet")
}
pub async fn record_deployment(_args: RecordDeploymentArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord record-deployment` is not available yet")
}
pub async fn record_release(_args: RecordReleaseArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord record-release` is not available yet")
}
pub async fn describe_version(_args: DescribeVersionArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`accord describe-version` is not available yet")
}
