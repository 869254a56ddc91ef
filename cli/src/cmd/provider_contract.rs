//! Provider contracts (bi-directional contract testing): `accord publish-provider-contract`
//! publishes a provider version's OpenAPI document to the broker, which compares it with
//! the consumers' pacts; `accord diff-spec` says which consumers a change to the document
//! breaks, before anyone publishes or deploys it.
//!
//! `publish-provider-contract` takes the official client's flags
//! (`pact pactflow publish-provider-contract`), so a pipeline can swap one for the other.
//! `diff-spec` exits 1 when a change breaks a consumer, 0 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accord_broker_client::{ConsumerVersionSelector, PactsForVerificationRequest};
use accord_contract::Contract;
use accord_contract::openapi::{Change, ConsumerPact, SpecDiff};
use accord_contract::provider_contract::{ProviderDocument, diff_documents};
use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::EXIT_FAILURE;
use super::client::{
    BrokerArgs, TextOrJson, broker_failure, non_blank, out, outln, print_notices, usage,
};

#[derive(Debug, Args)]
pub struct PublishProviderContractArgs {
    /// The provider contract, JSON or YAML: an OpenAPI 3.0 or 3.1 document (the HTTP
    /// API) or an AsyncAPI 2.x or 3.0 document (the events the provider sends). A
    /// version can have one of each.
    #[arg(value_name = "CONTRACT_FILE")]
    pub contract_file: PathBuf,

    /// The provider's name.
    #[arg(long, env = "ACCORD_PROVIDER", value_parser = non_blank)]
    pub provider: String,

    /// The provider version the document describes.
    #[arg(short = 'a', long, env = "ACCORD_PROVIDER_APP_VERSION", value_parser = non_blank)]
    pub provider_app_version: String,

    /// The provider version's branch.
    #[arg(long, env = "ACCORD_BRANCH", value_parser = non_blank)]
    pub branch: Option<String>,

    /// A tag for the provider version (repeatable, or comma separated).
    #[arg(short = 't', long = "tag", value_delimiter = ',', value_parser = non_blank)]
    pub tags: Vec<String>,

    /// The document's specification, `oas` or `asyncapi` (default: read from the
    /// document).
    #[arg(long)]
    pub specification: Option<String>,

    /// The document's content type (default: from the file's extension).
    #[arg(long)]
    pub content_type: Option<String>,

    /// The provider's own check that it honours the document succeeded.
    #[arg(long, conflicts_with_all = ["no_verification_success", "verification_exit_code"])]
    pub verification_success: bool,

    /// The provider's own check that it honours the document failed.
    #[arg(long, conflicts_with = "verification_exit_code")]
    pub no_verification_success: bool,

    /// The exit code of the provider's own check (0 is success), instead of the two flags above.
    #[arg(long, value_name = "N")]
    pub verification_exit_code: Option<i32>,

    /// A file with the output of the provider's own check.
    #[arg(long, value_name = "FILE")]
    pub verification_results: Option<PathBuf>,

    /// The content type of that output (`text/plain`, `application/json`, ...).
    #[arg(long)]
    pub verification_results_content_type: Option<String>,

    /// The format of that output (`text`, `junit`, ...).
    #[arg(long)]
    pub verification_results_format: Option<String>,

    /// The tool that checked the provider against the document.
    #[arg(long)]
    pub verifier: Option<String>,

    /// That tool's version.
    #[arg(long)]
    pub verifier_version: Option<String>,

    /// The URL of the build that published the document.
    #[arg(long, env = "ACCORD_BUILD_URL")]
    pub build_url: Option<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text, env = "ACCORD_OUTPUT")]
    pub output: TextOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn publish(args: PublishProviderContractArgs) -> anyhow::Result<ExitCode> {
    let success = match (
        args.verification_exit_code,
        args.verification_success,
        args.no_verification_success,
    ) {
        (Some(code), _, _) => code == 0,
        (None, true, _) => true,
        (None, false, true) => false,
        (None, false, false) => {
            return Ok(usage(
                "say how the provider's own check of the document went: --verification-success, --no-verification-success or --verification-exit-code N",
            ));
        }
    };
    let content = match std::fs::read_to_string(&args.contract_file) {
        Ok(content) => content,
        Err(err) => {
            return Ok(usage(format!(
                "cannot read the provider contract {}: {err}",
                args.contract_file.display()
            )));
        }
    };
    // Refused here, with the reason, rather than after the upload.
    let specification = match ProviderDocument::parse(&content) {
        Ok(document) => document.specification(),
        Err(err) => return Ok(usage(format!("{}: {err}", args.contract_file.display()))),
    };
    if let Some(given) = &args.specification
        && !given.eq_ignore_ascii_case(specification)
    {
        return Ok(usage(format!(
            "{} is {specification} but --specification says {given}; leave --specification out to take the document's",
            args.contract_file.display()
        )));
    }
    let results =
        match &args.verification_results {
            Some(path) => Some(std::fs::read(path).with_context(|| {
                format!("cannot read the verification results {}", path.display())
            })?),
            None => None,
        };
    let content_type = args
        .content_type
        .clone()
        .unwrap_or_else(|| content_type_of(&args.contract_file, &content).to_string());
    let mut self_results = json!({
        "success": success,
        "verifier": args.verifier,
        "verifierVersion": args.verifier_version,
        "format": args.verification_results_format,
        "contentType": args.verification_results_content_type,
    });
    if let Some(results) = results {
        self_results["content"] = json!(encode(&results));
    }
    let mut body = json!({
        "pacticipantVersionNumber": args.provider_app_version,
        "tags": args.tags,
        "contract": {
            "content": encode(content.as_bytes()),
            "contentType": content_type,
            "specification": specification,
            "selfVerificationResults": self_results,
        }
    });
    if let Some(branch) = &args.branch {
        body["branch"] = json!(branch);
    }
    if let Some(build_url) = &args.build_url {
        body["buildUrl"] = json!(build_url);
    }
    let client = args.broker.client()?;
    match client
        .publish_provider_contract(&args.provider, &body)
        .await
    {
        Ok(published) => {
            match args.output {
                TextOrJson::Json => {
                    outln!("{}", serde_json::to_string_pretty(&published.body)?)
                }
                TextOrJson::Text => print_notices(&published.notices),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

fn encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn content_type_of(path: &Path, content: &str) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        _ if content.trim_start().starts_with('{') => "application/json",
        _ => "application/yaml",
    }
}

/// Output format of `diff-spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// A readable table.
    Table,
    /// JSON.
    Json,
    /// Markdown, for a pull request comment.
    Markdown,
}

#[derive(Debug, Args)]
pub struct DiffSpecArgs {
    /// The provider's current document (OpenAPI 3.0 or 3.1, or AsyncAPI 2.x or 3.0;
    /// JSON or YAML).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The changed document.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// The provider whose consumers' pacts to weigh the changes against.
    #[arg(long, env = "ACCORD_PROVIDER", value_parser = non_blank)]
    pub provider: String,

    /// The broker to read the pacts from: each consumer's main branch and what is
    /// deployed or released (with --environment, only what runs there).
    #[arg(
        short = 'b',
        long = "broker-base-url",
        env = "PACT_BROKER_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub broker_base_url: Option<url::Url>,

    /// Only the pacts of consumer versions deployed or released to this environment.
    #[arg(long, requires = "broker_base_url", value_parser = non_blank)]
    pub environment: Option<String>,

    /// A pact file to weigh the changes against as well (repeatable).
    #[arg(long = "pact", value_name = "FILE")]
    pub pacts: Vec<PathBuf>,

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

    /// Broker bearer token.
    #[arg(short = 'k', long, env = "PACT_BROKER_TOKEN", hide_env_values = true)]
    pub broker_token: Option<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = DiffFormat::Table, env = "ACCORD_OUTPUT")]
    pub output: DiffFormat,
}

pub async fn diff_spec(args: DiffSpecArgs) -> anyhow::Result<ExitCode> {
    let mut specs = Vec::new();
    for path in [&args.old, &args.new] {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => return Ok(usage(format!("cannot read {}: {err}", path.display()))),
        };
        match ProviderDocument::parse(&text) {
            Ok(spec) => specs.push(spec),
            Err(err) => return Ok(usage(format!("{}: {err}", path.display()))),
        }
    }
    let mut pacts = Vec::new();
    for path in &args.pacts {
        let contract = match Contract::from_file(path) {
            Ok(contract) => contract,
            Err(err) => return Ok(usage(err)),
        };
        pacts.push(ConsumerPact {
            consumer: contract.consumer().to_string(),
            version: "-".into(),
            context: path.display().to_string(),
            contract,
        });
    }
    if let Some(base) = &args.broker_base_url {
        let broker = BrokerArgs {
            broker_base_url: base.clone(),
            broker_username: args.broker_username.clone(),
            broker_password: args.broker_password.clone(),
            broker_token: args.broker_token.clone(),
            retries: 3,
        };
        let client = broker.client()?;
        let selectors = match &args.environment {
            Some(environment) => vec![
                ConsumerVersionSelector {
                    deployed: Some(true),
                    environment: Some(environment.clone()),
                    ..Default::default()
                },
                ConsumerVersionSelector {
                    released: Some(true),
                    environment: Some(environment.clone()),
                    ..Default::default()
                },
            ],
            None => vec![
                ConsumerVersionSelector {
                    main_branch: Some(true),
                    ..Default::default()
                },
                ConsumerVersionSelector {
                    deployed_or_released: Some(true),
                    ..Default::default()
                },
            ],
        };
        let request = PactsForVerificationRequest {
            consumer_version_selectors: selectors,
            provider_version_branch: None,
            provider_version_tags: vec![],
            include_pending_status: false,
            include_wip_pacts_since: None,
        };
        let listed = match client
            .pacts_for_verification(&args.provider, &request)
            .await
        {
            Ok(listed) => listed,
            Err(error) => return Ok(broker_failure(&error)),
        };
        for entry in listed {
            let fetched = match client.fetch_pact(&entry.href).await {
                Ok(fetched) => fetched,
                Err(error) => return Ok(broker_failure(&error)),
            };
            let version = fetched
                .json
                .pointer("/_links/pb:consumer-version/name")
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string();
            let contract = Contract::from_json(fetched.json, &fetched.url).with_context(|| {
                format!(
                    "the broker served a pact Accord cannot read ({})",
                    entry.href
                )
            })?;
            pacts.push(ConsumerPact {
                consumer: contract.consumer().to_string(),
                version,
                context: entry.short_description,
                contract,
            });
        }
    }
    let diff = match diff_documents(&specs[0], &specs[1], &pacts) {
        Ok(diff) => diff,
        Err(problem) => return Ok(usage(problem)),
    };
    match args.output {
        DiffFormat::Json => outln!("{}", serde_json::to_string_pretty(&diff)?),
        DiffFormat::Table => out!("{}", table(&diff, &args.provider, pacts.len())),
        DiffFormat::Markdown => out!("{}", markdown(&diff, &args.provider, pacts.len())),
    }
    Ok(if diff.breaking() {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

fn who(change: &Change) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for usage in &change.usages {
        let context = if usage.context.is_empty() {
            String::new()
        } else {
            format!(", {}", usage.context)
        };
        let name = format!(
            "{} {}{context}: {:?}",
            usage.consumer, usage.version, usage.interaction
        );
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn where_(change: &Change) -> String {
    match &change.status {
        Some(status) => format!("{} → {status} {}", change.operation, change.pointer),
        None => format!("{} {}", change.operation, change.pointer),
    }
}

/// One change as a line of the table: `  type changed at GET /orders → 200 …: detail`.
fn change_line(change: &Change) -> String {
    format!(
        "  {} at {}: {}\n",
        change.kind.as_str(),
        where_(change),
        change.detail
    )
}

/// Text fit for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn table(diff: &SpecDiff, provider: &str, pacts: usize) -> String {
    let mut text = String::new();
    let breaking: Vec<&Change> = diff.breaking_changes().collect();
    let safe: Vec<&Change> = diff.safe_changes().collect();
    if diff.changes.is_empty() {
        text.push_str(&format!(
            "No change a consumer of {provider} could notice ({pacts} pact(s) weighed).\n"
        ));
        return text;
    }
    if breaking.is_empty() {
        text.push_str(&format!(
            "No consumer of {provider} relies on what changed ({pacts} pact(s) weighed).\n"
        ));
    } else {
        text.push_str(&format!(
            "BREAKING: {} change(s) break consumers of {provider} ({pacts} pact(s) weighed):\n\n",
            breaking.len()
        ));
        for change in &breaking {
            text.push_str(&change_line(change));
            for name in who(change) {
                text.push_str(&format!("      breaks {name}\n"));
            }
        }
    }
    if !safe.is_empty() {
        text.push_str(&format!(
            "\nSafe: {} change(s) no consumer relies on:\n",
            safe.len()
        ));
        for change in &safe {
            text.push_str(&change_line(change));
        }
    }
    text
}

fn markdown(diff: &SpecDiff, provider: &str, pacts: usize) -> String {
    let mut text = format!("### Contract changes for `{provider}`\n\n");
    if diff.breaking() {
        text.push_str(&format!(
            "**{} change(s) break consumers** ({pacts} pact(s) weighed).\n\n",
            diff.breaking_changes().count()
        ));
    } else {
        text.push_str(&format!(
            "No consumer relies on what changed ({pacts} pact(s) weighed).\n\n"
        ));
    }
    if diff.changes.is_empty() {
        return text;
    }
    text.push_str(
        "| | change | where | detail | consumers that rely on it |\n|---|---|---|---|---|\n",
    );
    for change in &diff.changes {
        let mark = if change.usages.is_empty() {
            "✅"
        } else {
            "❌"
        };
        let consumers = who(change);
        text.push_str(&format!(
            "| {mark} | {} | `{}` | {} | {} |\n",
            change.kind.as_str(),
            cell(&where_(change)),
            cell(&change.detail),
            if consumers.is_empty() {
                "none".to_string()
            } else {
                cell(&consumers.join("; "))
            }
        ));
    }
    text
}

#[derive(Debug, Args)]
pub struct DiffPactArgs {
    /// The earlier version of the pact (a file).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The later version of the pact (a file).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = DiffFormat::Table, env = "ACCORD_OUTPUT")]
    pub output: DiffFormat,
}

/// `accord diff-pact`: what changed between two versions of a consumer's pact, from the
/// provider's side. Exit 1 when the new pact asks more of the provider, 0 otherwise.
pub async fn diff_pact(args: DiffPactArgs) -> anyhow::Result<ExitCode> {
    let mut pacts = Vec::new();
    for path in [&args.old, &args.new] {
        match Contract::from_file(path) {
            Ok(contract) => pacts.push(contract),
            Err(err) => return Ok(usage(err)),
        }
    }
    let diff = accord_contract::pact_diff::diff_pacts(&pacts[0], &pacts[1]);
    let rows: Vec<[String; 4]> = diff
        .changes
        .iter()
        .map(|c| {
            [
                c.kind.as_str().to_string(),
                c.interaction.clone(),
                c.pointer.clone(),
                c.detail.clone(),
            ]
        })
        .collect();
    match args.output {
        DiffFormat::Json => outln!("{}", serde_json::to_string_pretty(&diff)?),
        DiffFormat::Table => {
            if diff.changes.is_empty() {
                outln!("The two pacts ask the same of the provider.");
            } else if diff.asks_more() {
                outln!("The new pact asks more of the provider:");
            } else {
                outln!("The new pact asks less of the provider:");
            }
            for (change, row) in diff.changes.iter().zip(&rows) {
                let mark = if change.kind.asks_more() { "+" } else { "-" };
                let at = if row[2].is_empty() {
                    String::new()
                } else {
                    format!(" {}", row[2])
                };
                outln!("  {mark} {}: {:?}{at}: {}", row[0], row[1], row[3]);
            }
        }
        DiffFormat::Markdown => {
            outln!("| | change | interaction | where | detail |\n|---|---|---|---|---|");
            for (change, row) in diff.changes.iter().zip(&rows) {
                let mark = if change.kind.asks_more() {
                    "➕"
                } else {
                    "➖"
                };
                outln!(
                    "| {mark} | {} | {} | `{}` | {} |",
                    row[0],
                    cell(&row[1]),
                    cell(&row[2]),
                    cell(&row[3])
                );
            }
        }
    }
    Ok(if diff.asks_more() {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}
