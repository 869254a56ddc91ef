//! Broker client commands: publish, can-i-deploy, environments, deployments, releases.
//!
//! Flag names, short flags and environment variables are those of the official
//! `pact-broker-cli` (`pact broker ...`), so a pipeline can swap one for the other.
//!
//! Exit codes: 0 success (for can-i-deploy: deployable); 1 can-i-deploy says no or
//! cannot tell yet; 2 the broker could not be used (unreachable, 401/403, 404, a refused
//! request); 64 bad usage (including no consumer version for `publish`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use accord_broker_client::{
    BrokerAuth, BrokerClient, BrokerClientConfig, BrokerError, ContractToPublish, NewEnvironment,
    Notice, OnConflict, PublishContracts, RetryPolicy, Version,
};
use accord_contract::Contract;
use anyhow::Context;
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::EXIT_USAGE;

/// Prints to stdout. A closed stdout (`accord ... | head`) is not an error worth a panic:
/// what could not be written was not wanted.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub(crate) use {out, outln};

/// The broker could not be used (unreachable, refused credentials, not found, refused
/// request): the shared runtime-error code.
pub(crate) const EXIT_BROKER: u8 = super::EXIT_RUNTIME;

/// How to reach the broker; shared by every client command.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The base URL of the broker.
    #[arg(
        short = 'b',
        long = "broker-base-url",
        env = "PACT_BROKER_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub broker_base_url: Url,

    /// Broker basic auth username.
    #[arg(short = 'u', long, env = "PACT_BROKER_USERNAME")]
    pub broker_username: Option<String>,

    /// Broker basic auth password.
    #[arg(
        short = 'p',
        long,
        env = "PACT_BROKER_PASSWORD",
        hide_env_values = true
    )]
    pub broker_password: Option<String>,

    /// Broker bearer token (used instead of the username and password when both are given).
    #[arg(short = 'k', long, env = "PACT_BROKER_TOKEN", hide_env_values = true)]
    pub broker_token: Option<String>,

    /// How many times to retry a request that failed with a server error (5xx) or a network
    /// error, with exponential backoff and jitter. Client errors (4xx) are never retried.
    #[arg(
        long,
        env = "PACT_BROKER_HTTP_RETRIES",
        default_value_t = 3,
        value_name = "N"
    )]
    pub retries: u32,
}

impl BrokerArgs {
    pub(crate) fn client(&self) -> anyhow::Result<BrokerClient> {
        let config = BrokerClientConfig::new(self.broker_base_url.clone())
            .with_auth(broker_auth(
                self.broker_username.as_deref(),
                self.broker_password.as_deref(),
                self.broker_token.as_deref(),
            ))
            .with_retry(RetryPolicy::with_retries(self.retries));
        BrokerClient::new(config).context("cannot prepare the broker client")
    }
}

/// Credentials from the flags: a token wins over a username and password, as in the
/// official clients.
pub(crate) fn broker_auth(
    username: Option<&str>,
    password: Option<&str>,
    token: Option<&str>,
) -> Option<BrokerAuth> {
    match (
        token.filter(|t| !t.is_empty()),
        username.filter(|u| !u.is_empty()),
    ) {
        (Some(token), _) => Some(BrokerAuth::Bearer(SecretString::from(token.to_string()))),
        (None, Some(username)) => Some(BrokerAuth::Basic {
            username: username.to_string(),
            password: SecretString::from(password.unwrap_or_default().to_string()),
        }),
        (None, None) => None,
    }
}

/// Prints a broker failure as one line (plus the broker's notices, which explain
/// publication conflicts) and gives the broker exit code.
pub(crate) fn broker_failure(error: &BrokerError) -> ExitCode {
    eprintln!(
        "error: {}",
        accord_contract::redact::redact_urls(&error.to_string())
    );
    if let BrokerError::Refused { notices, .. } = error {
        for notice in notices.iter().filter(|notice| notice.kind != "error") {
            eprintln!("{}", notice.text);
        }
    }
    ExitCode::from(EXIT_BROKER)
}

pub(crate) fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!(
        "error: {}",
        accord_contract::redact::redact_urls(&message.to_string())
    );
    ExitCode::from(EXIT_USAGE)
}

fn print_notices(notices: &[Notice]) {
    for notice in notices {
        match notice.kind.as_str() {
            "warning" | "error" | "danger" => {
                outln!("{}: {}", notice.kind.to_uppercase(), notice.text)
            }
            _ => outln!("{}", notice.text),
        }
    }
}

/// Output format of commands that print a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// Readable text.
    Text,
    /// The broker's JSON answer.
    Json,
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Pact files, or folders whose `*.json` files are pacts.
    #[arg(
        required = true,
        value_name = "PACT_FILES_OR_DIRS",
        env = "ACCORD_PACT_FILES",
        value_delimiter = ','
    )]
    pub pacts: Vec<PathBuf>,

    /// The consumer application version (default: `git rev-parse HEAD`).
    #[arg(short = 'a', long, env = "ACCORD_CONSUMER_APP_VERSION")]
    pub consumer_app_version: Option<String>,

    /// Repository branch of the consumer version (default: `git rev-parse --abbrev-ref HEAD`).
    #[arg(long, env = "ACCORD_BRANCH")]
    pub branch: Option<String>,

    /// Take the version and branch from git when they are not given, as the official
    /// client's `-r` does (Accord always does; the flag is accepted for its habit).
    #[arg(short = 'r', long)]
    pub auto_detect_version_properties: bool,

    /// Tag for the consumer version; repeat or separate with commas.
    #[arg(short = 't', long = "tag", env = "ACCORD_TAGS", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// The URL of the build that produced the pacts.
    #[arg(long, env = "ACCORD_BUILD_URL")]
    pub build_url: Option<String>,

    /// Merge into the pact already published for this consumer version and provider,
    /// instead of refusing different content.
    #[arg(long, env = "ACCORD_PUBLISH_MERGE")]
    pub merge: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text, env = "ACCORD_OUTPUT")]
    pub output: TextOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Runs a git command in the current folder; `None` when git is missing, the folder is not
/// a repository, or the answer is empty.
fn git(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Pact files named directly, and the `*.json` files of named folders (sorted).
fn pact_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the folder {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file() && file.extension().is_some_and(|ext| ext == "json"))
                .collect();
            if found.is_empty() {
                anyhow::bail!("the folder {} has no pact files (*.json)", path.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub async fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let Some(version) = args
        .consumer_app_version
        .clone()
        .or_else(|| git(&["rev-parse", "HEAD"]))
    else {
        return Ok(usage(
            "no consumer version: pass --consumer-app-version (-a), or run inside a git \
             repository so the commit can be used",
        ));
    };
    let branch = args.branch.clone().or_else(|| {
        // `HEAD` means a detached checkout (common in CI): there is no branch to record.
        git(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|branch| branch != "HEAD")
    });
    if branch.is_none() {
        eprintln!(
            "note: publishing without a branch; pass --branch so that consumer version selectors can find these pacts"
        );
    }

    let files = match pact_files(&args.pacts) {
        Ok(files) => files,
        Err(error) => return Ok(usage(format!("{error:#}"))),
    };
    // Load everything first: a bad file stops the publication before anything is sent.
    let mut by_consumer: BTreeMap<String, Vec<ContractToPublish>> = BTreeMap::new();
    for file in &files {
        let contract = match Contract::from_file(file) {
            Ok(contract) => contract,
            Err(error) => return Ok(usage(error)),
        };
        let mut publication =
            ContractToPublish::pact(contract.consumer(), contract.provider(), contract.json());
        if args.merge {
            publication.on_conflict = Some(OnConflict::Merge);
        }
        by_consumer
            .entry(contract.consumer().to_string())
            .or_default()
            .push(publication);
    }

    let client = args.broker.client()?;
    let mut answers = Vec::new();
    for (consumer, contracts) in by_consumer {
        let request = PublishContracts {
            pacticipant_name: consumer,
            pacticipant_version_number: version.clone(),
            branch: branch.clone(),
            tags: args.tags.clone(),
            build_url: args.build_url.clone(),
            contracts,
        };
        match client.publish_contracts(&request).await {
            Ok(published) => {
                if args.output == TextOrJson::Text {
                    print_notices(&published.notices);
                }
                answers.push(published.body);
            }
            Err(error) => return Ok(broker_failure(&error)),
        }
    }
    if args.output == TextOrJson::Json {
        outln!("{}", serde_json::to_string_pretty(&answers)?);
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------

/// Output format of can-i-deploy and describe-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    /// A readable table.
    Table,
    /// The broker's JSON answer.
    Json,
}

/// A duration given as plain seconds (`10`, `0.5`) or with a unit (`500ms`, `2m`).
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("{text:?} is not a valid number of seconds"));
    }
    humantime::parse_duration(text.trim()).map_err(|error| {
        format!("{text:?} is neither seconds nor a duration like 500ms or 2m: {error}")
    })
}

// ---------------------------------------------------------------------------------------

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
    #[arg(long, env = "ACCORD_ENVIRONMENT_NAME")]
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
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT")]
    pub pacticipant: String,

    /// The pacticipant version that was deployed.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION")]
    pub version: String,

    /// The environment it was deployed to.
    #[arg(long, env = "ACCORD_ENVIRONMENT")]
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
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT")]
    pub pacticipant: String,

    /// The pacticipant version that was released.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION")]
    pub version: String,

    /// The environment it was released to.
    #[arg(long, env = "ACCORD_ENVIRONMENT")]
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

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true)]
pub struct DescribeVersionArgs {
    /// The pacticipant the version belongs to.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT")]
    pub pacticipant: String,

    /// The version number (default: the latest version).
    #[arg(
        short = 'e',
        long,
        env = "ACCORD_PACTICIPANT_VERSION",
        conflicts_with = "latest"
    )]
    pub version: Option<String>,

    /// Describe the latest version, or the latest with this tag.
    #[arg(short = 'l', long, num_args = 0..=1, default_missing_value = "", value_name = "TAG", env = "ACCORD_LATEST")]
    pub latest: Option<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table, env = "ACCORD_OUTPUT")]
    pub output: TableOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn describe_version(args: DescribeVersionArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    let result = match (&args.version, &args.latest) {
        (Some(version), _) => client.describe_version(&args.pacticipant, version).await,
        (None, tag) => {
            let tag = tag.as_deref().filter(|tag| !tag.is_empty());
            client.latest_version(&args.pacticipant, tag).await
        }
    };
    match result {
        Ok(version) => {
            match args.output {
                TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&version.body)?),
                TableOrJson::Table => out!("{}", version_table(&args.pacticipant, &version)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

fn version_table(pacticipant: &str, version: &Version) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let rows = [
        ("Pacticipant", pacticipant.to_string()),
        ("Version", version.number.clone()),
        ("Branches", list(&version.branches)),
        ("Tags", list(&version.tags)),
        ("Deployed to", list(&version.deployed_to)),
        ("Released to", list(&version.released_to)),
        (
            "Build URL",
            version.build_url.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "Created at",
            version.created_at.clone().unwrap_or_else(|| "-".into()),
        ),
    ];
    rows.iter()
        .map(|(label, value)| format!("{label:<12} {value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_wins_over_basic_credentials() {
        assert!(matches!(
            broker_auth(Some("u"), Some("p"), Some("t")),
            Some(BrokerAuth::Bearer(_))
        ));
        assert!(matches!(
            broker_auth(Some("u"), None, None),
            Some(BrokerAuth::Basic { .. })
        ));
        assert!(broker_auth(None, Some("p"), Some("")).is_none());
    }

    #[test]
    fn seconds_parse_plain_or_with_units() {
        assert_eq!(parse_seconds("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_seconds("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_seconds("soon").unwrap_err().contains("soon"));
    }
}
