//! `accord describe-version`: one pacticipant version as the broker knows it.

use std::process::ExitCode;

use accord_broker_client::Version;
use clap::Args;

use super::client::TableOrJson;
use super::client::{BrokerArgs, broker_failure, non_blank, out, outln};

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true)]
pub struct DescribeVersionArgs {
    /// The pacticipant the version belongs to.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT", value_parser = non_blank)]
    pub pacticipant: String,

    /// The version number (default: the latest version).
    #[arg(
        short = 'e',
        long,
        env = "ACCORD_PACTICIPANT_VERSION",
        conflicts_with = "latest",
        value_parser = non_blank
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
