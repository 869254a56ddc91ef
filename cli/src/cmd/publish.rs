//! `accord publish`: publishes pact files for a consumer version, as the official
//! client's `publish` does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use accord_broker_client::{ContractToPublish, OnConflict, PublishContracts};
use accord_contract::Contract;
use anyhow::Context;
use clap::Args;

use super::client::TextOrJson;
use super::client::{BrokerArgs, broker_failure, non_blank, outln, print_notices, usage};

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
    #[arg(short = 'a', long, env = "ACCORD_CONSUMER_APP_VERSION", value_parser = non_blank)]
    pub consumer_app_version: Option<String>,

    /// Repository branch of the consumer version (default: `git rev-parse --abbrev-ref HEAD`).
    #[arg(long, env = "ACCORD_BRANCH", value_parser = non_blank)]
    pub branch: Option<String>,

    /// Take the version and branch from git when they are not given, as the official
    /// client's `-r` does (Accord always does; the flag is accepted for its habit).
    #[arg(short = 'r', long)]
    pub auto_detect_version_properties: bool,

    /// Tag for the consumer version; repeat or separate with commas.
    #[arg(short = 't', long = "tag", env = "ACCORD_TAGS", value_delimiter = ',', value_parser = non_blank)]
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
