//! `accord create-environment`, `record-deployment` and `record-release`: what runs
//! where, as the official client records it.

use std::process::ExitCode;

use accord_broker_client::NewEnvironment;
use clap::{Args, ValueEnum};
use serde_json::json;

use super::client::{BrokerArgs, TextOrJson, broker_failure, non_blank, outln};

/// Output format of create-environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvironmentOutput {
    /// Readable text.
    Text,
    /// The broker's JSON answer.
    Json,
    /// Only the new environment's UUID.
    Id,
}

#[derive(Debug, Args)]
pub struct CreateEnvironmentArgs {
    /// The environment's unique name, as deployment scripts use it (no spaces).
    #[arg(long, env = "ACCORD_ENVIRONMENT_NAME", value_parser = non_blank)]
    pub name: String,

    /// The name people read (default: derived from the name by the broker).
    #[arg(long, env = "ACCORD_ENVIRONMENT_DISPLAY_NAME")]
    pub display_name: Option<String>,

    /// Whether this is a production environment.
    #[arg(long, env = "ACCORD_ENVIRONMENT_PRODUCTION")]
    pub production: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = EnvironmentOutput::Text, env = "ACCORD_OUTPUT")]
    pub output: EnvironmentOutput,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn create_environment(args: CreateEnvironmentArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    let request = NewEnvironment {
        name: args.name.clone(),
        display_name: args.display_name.clone(),
        production: args.production,
    };
    match client.create_environment(&request).await {
        Ok(environment) => {
            match args.output {
                EnvironmentOutput::Text => outln!(
                    "Created {} environment in the broker with UUID {}",
                    environment.name,
                    environment.uuid
                ),
                EnvironmentOutput::Id => outln!("{}", environment.uuid),
                EnvironmentOutput::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "uuid": environment.uuid,
                        "name": environment.name,
                        "displayName": environment.display_name,
                        "production": environment.production,
                        "createdAt": environment.created_at,
                    }))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true)]
pub struct RecordDeploymentArgs {
    /// The name of the pacticipant that was deployed.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT", value_parser = non_blank)]
    pub pacticipant: String,

    /// The pacticipant version that was deployed.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION", value_parser = non_blank)]
    pub version: String,

    /// The environment it was deployed to.
    #[arg(long, env = "ACCORD_ENVIRONMENT", value_parser = non_blank)]
    pub environment: String,

    /// The application instance deployed to, when several instances of the application
    /// run in the environment (formerly called target).
    #[arg(long, visible_alias = "target", env = "ACCORD_APPLICATION_INSTANCE")]
    pub application_instance: Option<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text, env = "ACCORD_OUTPUT")]
    pub output: TextOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn record_deployment(args: RecordDeploymentArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    let result = client
        .record_deployment(
            &args.pacticipant,
            &args.version,
            &args.environment,
            args.application_instance.as_deref(),
        )
        .await;
    match result {
        Ok(deployed) => {
            match args.output {
                TextOrJson::Text => {
                    let instance = args
                        .application_instance
                        .as_ref()
                        .map(|instance| format!(" (application instance {instance})"))
                        .unwrap_or_default();
                    outln!(
                        "Recorded deployment of {} version {} to {} environment{instance} in the broker.",
                        args.pacticipant,
                        args.version,
                        args.environment
                    );
                }
                TextOrJson::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "uuid": deployed.uuid,
                        "currentlyDeployed": deployed.currently_deployed,
                        "applicationInstance": deployed.application_instance,
                        "createdAt": deployed.created_at,
                    }))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true)]
pub struct RecordReleaseArgs {
    /// The name of the pacticipant that was released.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT", value_parser = non_blank)]
    pub pacticipant: String,

    /// The pacticipant version that was released.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION", value_parser = non_blank)]
    pub version: String,

    /// The environment it was released to.
    #[arg(long, env = "ACCORD_ENVIRONMENT", value_parser = non_blank)]
    pub environment: String,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text, env = "ACCORD_OUTPUT")]
    pub output: TextOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn record_release(args: RecordReleaseArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    match client
        .record_release(&args.pacticipant, &args.version, &args.environment)
        .await
    {
        Ok(released) => {
            match args.output {
                TextOrJson::Text => outln!(
                    "Recorded release of {} version {} to {} environment in the broker.",
                    args.pacticipant,
                    args.version,
                    args.environment
                ),
                TextOrJson::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "uuid": released.uuid,
                        "currentlySupported": released.currently_supported,
                        "createdAt": released.created_at,
                    }))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}
