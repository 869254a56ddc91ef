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
    BrokerAuth, BrokerClient, BrokerClientConfig, BrokerError, CanIDeployQuery, ContractToPublish,
    DeployTarget, DriftMode, Matrix, MatrixDrift, NewEnvironment, Notice, OnConflict,
    PublishContracts, RetryPolicy, Version, VersionSelector,
};
use accord_contract::Contract;
use anyhow::Context;
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::{EXIT_FAILURE, EXIT_USAGE};

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

fn usage(message: impl std::fmt::Display) -> ExitCode {
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

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true)]
pub struct CanIDeployArgs {
    /// The pacticipant (application) to check.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT")]
    pub pacticipant: String,

    /// The pacticipant version to check.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION", conflicts_with_all = ["latest", "branch", "main_branch"])]
    pub version: Option<String>,

    /// Check the latest version, or the latest with this tag.
    #[arg(short = 'l', long, num_args = 0..=1, default_missing_value = "", value_name = "TAG", env = "ACCORD_LATEST")]
    pub latest: Option<String>,

    /// Check the latest version on this branch.
    #[arg(long, env = "ACCORD_BRANCH", conflicts_with_all = ["latest", "main_branch"])]
    pub branch: Option<String>,

    /// Check the latest version on the pacticipant's main branch.
    #[arg(long, env = "ACCORD_MAIN_BRANCH", conflicts_with = "latest")]
    pub main_branch: bool,

    /// The environment the version is to be deployed to.
    #[arg(
        long = "to-environment",
        env = "ACCORD_TO_ENVIRONMENT",
        value_name = "ENVIRONMENT",
        conflicts_with = "to"
    )]
    pub to_environment: Option<String>,

    /// The tag of the other applications' versions to check against (legacy, before environments).
    #[arg(long, env = "ACCORD_TO", value_name = "TAG")]
    pub to: Option<String>,

    /// A pacticipant whose results are ignored; repeat or separate with commas.
    #[arg(
        long = "ignore",
        env = "PACT_BROKER_CAN_I_DEPLOY_IGNORE",
        value_delimiter = ',',
        value_name = "PACTICIPANT"
    )]
    pub ignore: Vec<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table, env = "ACCORD_OUTPUT")]
    pub output: TableOrJson,

    /// Ask again this many times while the answer is unknown (verification results
    /// still missing, e.g. the provider build is running).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "TIMES",
        env = "ACCORD_RETRY_WHILE_UNKNOWN"
    )]
    pub retry_while_unknown: u32,

    /// Time between those questions, in seconds (or with a unit: `500ms`, `1m`).
    #[arg(long, default_value = "10", value_parser = parse_seconds, value_name = "SECONDS", env = "ACCORD_RETRY_INTERVAL")]
    pub retry_interval: Duration,

    /// How open drift counts (Accord's broker): when the drift monitor has found a
    /// provider in the target environment drifting from this version's pact, `block`
    /// makes the answer no, `warn` reports it without changing the answer, `ignore`
    /// does not look.
    #[arg(long, value_enum, default_value_t = DriftArg::Block, value_name = "MODE", env = "ACCORD_DRIFT_MODE")]
    pub drift: DriftArg,

    /// Always exit 0, whatever the answer (for setting pipelines up, or to knowingly
    /// deploy a breaking change).
    #[arg(long, env = "PACT_BROKER_CAN_I_DEPLOY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// How can-i-deploy treats open drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriftArg {
    /// Open drift against the version's pacts makes the answer no.
    Block,
    /// Open drift is reported as a warning; the answer is unchanged.
    Warn,
    /// Drift is not looked at.
    Ignore,
}

impl From<DriftArg> for DriftMode {
    fn from(arg: DriftArg) -> Self {
        match arg {
            DriftArg::Block => DriftMode::Block,
            DriftArg::Warn => DriftMode::Warn,
            DriftArg::Ignore => DriftMode::Ignore,
        }
    }
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

pub async fn can_i_deploy(args: CanIDeployArgs) -> anyhow::Result<ExitCode> {
    let version = match (&args.version, &args.latest, &args.branch, args.main_branch) {
        (Some(number), ..) => VersionSelector::Number(number.clone()),
        (None, Some(tag), ..) => VersionSelector::Latest {
            tag: Some(tag.clone()).filter(|tag| !tag.is_empty()),
        },
        (None, None, Some(branch), _) => VersionSelector::LatestOnBranch(branch.clone()),
        (None, None, None, true) => VersionSelector::MainBranch,
        (None, None, None, false) => {
            return Ok(usage(
                "which version? Pass --version (-e), --latest [TAG], --branch or --main-branch",
            ));
        }
    };
    let target = match (&args.to_environment, &args.to) {
        (Some(environment), _) => DeployTarget::Environment(environment.clone()),
        (None, Some(tag)) => DeployTarget::Tag(tag.clone()),
        (None, None) => DeployTarget::Latest,
    };
    let query = CanIDeployQuery {
        pacticipant: args.pacticipant.clone(),
        version,
        target,
        ignore: args.ignore.clone(),
    };
    let client = args.broker.client()?;
    let mut asked = 0;
    let matrix = loop {
        let matrix = match client
            .can_i_deploy_with_drift(&query, Some(args.drift.into()))
            .await
        {
            Ok(matrix) => matrix,
            Err(error) => return Ok(broker_failure(&error)),
        };
        asked += 1;
        if matrix.summary.deployable.is_some() || asked > args.retry_while_unknown {
            break matrix;
        }
        eprintln!(
            "The answer is not known yet ({} missing result(s)); asking again in {} ({} of {}).",
            matrix.summary.unknown,
            humantime::format_duration(args.retry_interval),
            asked,
            args.retry_while_unknown
        );
        tokio::time::sleep(args.retry_interval).await;
    };

    match args.output {
        TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&matrix_json(&matrix))?),
        TableOrJson::Table => out!("{}", matrix_table(&matrix)),
    }
    let deployable = matrix.summary.deployable == Some(true);
    if args.dry_run {
        if !deployable {
            eprintln!("dry run: exiting 0 although the answer is no");
        }
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if deployable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

fn matrix_json(matrix: &Matrix) -> serde_json::Value {
    json!({
        "summary": {
            "deployable": matrix.summary.deployable,
            "reason": matrix.summary.reason,
            "success": matrix.summary.success,
            "failed": matrix.summary.failed,
            "unknown": matrix.summary.unknown,
        },
        "notices": matrix.notices.iter().map(|n| json!({"type": n.kind, "text": n.text})).collect::<Vec<_>>(),
        "matrix": matrix.matrix.iter().map(|row| json!({
            "consumer": {"name": row.consumer.name, "version": row.consumer.version.as_ref().map(|v| &v.number)},
            "provider": {"name": row.provider.name, "version": row.provider.version.as_ref().map(|v| &v.number)},
            "verificationResult": row.verification_result.as_ref().map(|v| json!({"success": v.success, "verifiedAt": v.verified_at})),
        })).collect::<Vec<_>>(),
        "drift": matrix.drift.as_ref().map(|drift| json!({
            "mode": drift.mode,
            "environment": drift.environment,
            "blocking": drift.blocking,
            "findings": drift.findings.iter().map(|f| json!({
                "provider": f.provider,
                "consumer": f.consumer,
                "consumerVersion": f.consumer_version,
                "environment": f.environment,
                "interaction": f.interaction,
                "request": f.request,
                "pointer": f.pointer,
                "class": f.class,
                "expected": f.expected,
                "actual": f.actual,
                "firstSeenAt": f.first_seen_at,
                "lastSeenAt": f.last_seen_at,
                "text": f.text,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The matrix as an aligned table, then the answer and the broker's reasons.
fn matrix_table(matrix: &Matrix) -> String {
    let mut rows = vec![[
        "CONSUMER".to_string(),
        "C.VERSION".to_string(),
        "PROVIDER".to_string(),
        "P.VERSION".to_string(),
        "SUCCESS?".to_string(),
    ]];
    for row in &matrix.matrix {
        let version = |party: &accord_broker_client::MatrixParty| {
            party
                .version
                .as_ref()
                .map_or("???".to_string(), |v| v.number.clone())
        };
        let success = match &row.verification_result {
            Some(result) if row.ignored => format!("{} (ignored)", result.success),
            Some(result) => result.success.to_string(),
            None => "???".to_string(),
        };
        rows.push([
            row.consumer.name.clone(),
            version(&row.consumer),
            row.provider.name.clone(),
            version(&row.provider),
            success,
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if matrix.matrix.is_empty() {
        out.push_str("There are no pacts or verifications to check.\n");
    } else {
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            out.push_str(cells.join(" | ").trim_end());
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(match matrix.summary.deployable {
        Some(true) => "Computer says yes \\o/\n",
        Some(false) => "Computer says no ¯\\_(ツ)_/¯\n",
        None => "Computer says no ¯\\_(ツ)_/¯ (the answer is not known yet: results are missing)\n",
    });
    // Each line once: the reason's lines come back as notices, and drift findings are
    // shown in their own section.
    let drift_lines: Vec<&str> = matrix
        .drift
        .iter()
        .flat_map(|d| d.findings.iter().map(|f| f.text.as_str()))
        .collect();
    let mut printed: Vec<&str> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    for line in matrix
        .summary
        .reason
        .lines()
        .chain(matrix.notices.iter().map(|n| n.text.as_str()))
    {
        if !line.trim().is_empty() && !printed.contains(&line) && !drift_lines.contains(&line) {
            printed.push(line);
            lines.push(line);
        }
    }
    if !lines.is_empty() {
        out.push('\n');
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(drift) = matrix.drift.as_ref().filter(|d| !d.findings.is_empty()) {
        out.push('\n');
        out.push_str(&drift_section(drift));
    }
    out
}

/// Open drift, one block per finding, readable in a terminal.
fn drift_section(drift: &MatrixDrift) -> String {
    let mut out = String::new();
    let heading = if drift.blocking {
        format!(
            "Drift blocks this deployment: the monitor found providers in {} answering differently from the pacts.\n",
            drift.environment
        )
    } else {
        format!(
            "Drift in {} (not blocking, --drift {}):\n",
            drift.environment, drift.mode
        )
    };
    out.push_str(&heading);
    for f in &drift.findings {
        out.push_str(&format!(
            "\n  {} drifts from the pact of {} {}: {} at {}\n",
            f.provider,
            f.consumer,
            f.consumer_version,
            f.class.replace('_', " "),
            if f.pointer.is_empty() {
                "the whole response"
            } else {
                &f.pointer
            }
        ));
        out.push_str(&format!(
            "    interaction: {} ({})\n",
            f.interaction, f.request
        ));
        out.push_str(&format!("    expected:    {}\n", f.expected));
        out.push_str(&format!("    actual:      {}\n", f.actual));
        if let (Some(first), Some(last)) = (&f.first_seen_at, &f.last_seen_at) {
            out.push_str(&format!("    seen:        since {first}, last {last}\n"));
        }
    }
    if drift.blocking {
        out.push_str(
            "\nFix the provider (or deploy a consumer version whose pact tolerates its answer) and let the monitor check again; to deploy anyway, run again with --drift warn.\n",
        );
    }
    out
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
    #[arg(long, alias = "target", env = "ACCORD_APPLICATION_INSTANCE")]
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

    #[test]
    fn each_blocker_line_is_printed_once() {
        let matrix: Matrix = serde_json::from_value(json!({
            "summary": {"deployable": false, "reason": "first blocker\nsecond blocker"},
            "notices": [
                {"type": "error", "text": "first blocker"},
                {"type": "error", "text": "second blocker"},
                {"type": "warning", "text": "a warning"}
            ],
            "matrix": []
        }))
        .unwrap();
        let table = matrix_table(&matrix);
        assert_eq!(table.matches("first blocker").count(), 1, "{table}");
        assert_eq!(table.matches("second blocker").count(), 1, "{table}");
        assert_eq!(table.matches("a warning").count(), 1, "{table}");
    }

    fn drifting(mode: &str, blocking: bool) -> Matrix {
        let line = "orders drifts in production from the pact of web 1: format changed ...";
        serde_json::from_value(json!({
            "summary": {"deployable": !blocking, "reason": if blocking { line } else { "All required verification results are published and successful" }},
            "notices": [{"type": if blocking { "error" } else { "warning" }, "text": line}],
            "matrix": [],
            "drift": {"mode": mode, "environment": "production", "blocking": blocking, "findings": [{
                "provider": "orders", "consumer": "web", "consumerVersion": "1",
                "environment": "production", "interaction": "get order 1", "request": "GET /orders/1",
                "pointer": "/body/created", "class": "format_changed",
                "expected": "string in date-time format", "actual": "integer 1714557600",
                "firstSeenAt": "2024-05-01T10:00:01+00:00", "lastSeenAt": "2024-05-01T10:05:01+00:00",
                "text": line
            }]}
        }))
        .unwrap()
    }

    #[test]
    fn drift_blockers_get_their_own_readable_section() {
        let table = matrix_table(&drifting("block", true));
        assert!(table.contains("Computer says no"), "{table}");
        assert!(table.contains("Drift blocks this deployment"), "{table}");
        assert!(
            table.contains("orders drifts from the pact of web 1: format changed at /body/created"),
            "{table}"
        );
        assert!(
            table.contains("    expected:    string in date-time format"),
            "{table}"
        );
        assert!(
            table.contains("    actual:      integer 1714557600"),
            "{table}"
        );
        assert!(table.contains("--drift warn"), "{table}");
        // The one-line form is not repeated above the section.
        assert!(!table.contains("format changed ..."), "{table}");

        let warned = matrix_table(&drifting("warn", false));
        assert!(warned.contains("Computer says yes"), "{warned}");
        assert!(
            warned.contains("Drift in production (not blocking, --drift warn)"),
            "{warned}"
        );
        let json = matrix_json(&drifting("warn", false));
        assert_eq!(json["drift"]["findings"][0]["pointer"], "/body/created");
    }

    #[test]
    fn drift_mode_defaults_to_block() {
        use clap::Parser;

        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            args: CanIDeployArgs,
        }
        let parse = |extra: &[&str]| {
            let base = [
                "can-i-deploy",
                "-a",
                "web",
                "-e",
                "1",
                "-b",
                "http://broker",
            ];
            Cli::try_parse_from(base.iter().chain(extra.iter())).map(|cli| cli.args.drift)
        };
        // The environment may set ACCORD_DRIFT_MODE; a flag always wins.
        assert_eq!(parse(&["--drift", "block"]).unwrap(), DriftArg::Block);
        assert_eq!(parse(&["--drift", "warn"]).unwrap(), DriftArg::Warn);
        assert_eq!(DriftMode::from(DriftArg::Ignore), DriftMode::Ignore);
        assert!(parse(&["--drift", "loud"]).is_err());
        if std::env::var_os("ACCORD_DRIFT_MODE").is_none() {
            assert_eq!(parse(&[]).unwrap(), DriftArg::Block);
        }
    }

    #[test]
    fn the_matrix_table_aligns_columns_and_gives_the_answer() {
        let matrix: Matrix = serde_json::from_value(json!({
            "summary": {"deployable": false, "reason": "The verification for web 1 and orders 2 failed"},
            "notices": [],
            "matrix": [
                {"consumer": {"name": "web", "version": {"number": "1"}},
                 "provider": {"name": "orders", "version": {"number": "2"}},
                 "verificationResult": {"success": false}},
                {"consumer": {"name": "mobile-app", "version": {"number": "10"}},
                 "provider": {"name": "orders", "version": null},
                 "verificationResult": null}
            ]
        }))
        .unwrap();
        let table = matrix_table(&matrix);
        assert!(
            table.contains("CONSUMER   | C.VERSION | PROVIDER | P.VERSION | SUCCESS?"),
            "{table}"
        );
        assert!(
            table.contains("web        | 1         | orders   | 2         | false"),
            "{table}"
        );
        assert!(
            table.contains("mobile-app | 10        | orders   | ???       | ???"),
            "{table}"
        );
        assert!(table.contains("Computer says no"), "{table}");
        assert!(table.contains("failed"), "{table}");
    }
}
