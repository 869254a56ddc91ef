//! `accord token create|list|revoke`: scoped API tokens of a broker.
//!
//! A token is shown once, by `create`, on stdout alone (so `TOKEN=$(accord token create
//! ...)` works); what it is and what to do with it goes to stderr. Exit codes: 0 done,
//! 2 the broker could not be used or refused (401/403 without the `admin` scope, a
//! taken name, a bad scope), 64 bad usage.

use std::process::ExitCode;
use std::time::Duration;

use accord_broker_client::{ApiToken, NewApiToken};
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::EXIT_USAGE;
use super::client::{BrokerArgs, TextOrJson, broker_failure, outln};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a scoped token and print it (once: the broker keeps only its hash).
    Create(CreateTokenArgs),
    /// List the broker's scoped tokens (names, scopes, expiry; never the tokens).
    List(ListTokensArgs),
    /// Revoke a token: requests with it are refused from then on.
    Revoke(RevokeTokenArgs),
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// A name for the token, unique in the broker (e.g. ci-web). The audit log records
    /// writes made with it as token:NAME.
    #[arg(long)]
    pub name: String,

    /// What the token may do; repeat for several. One of: admin, read, webhooks,
    /// publish:CONSUMER, verify:PROVIDER, deploy:PACTICIPANT[@ENVIRONMENT],
    /// drift:PROVIDER (a name may be *). Every scope also allows reading.
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// The token stops working after this long (e.g. 90d). Without it, it works until
    /// revoked.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub expires_in: Option<Duration>,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct ListTokensArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text, env = "ACCORD_OUTPUT")]
    pub output: TextOrJson,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's name.
    pub name: String,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub async fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Create(args) => create(args).await,
        TokenCommand::List(args) => list(args).await,
        TokenCommand::Revoke(args) => revoke(args).await,
    }
}

async fn create(args: CreateTokenArgs) -> anyhow::Result<ExitCode> {
    let expires_at = match args.expires_in {
        None => None,
        Some(duration) if duration.is_zero() => {
            eprintln!("error: --expires-in must be longer than 0");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        Some(duration) => {
            let Some(at) = chrono::Duration::from_std(duration)
                .ok()
                .and_then(|d| chrono::Utc::now().checked_add_signed(d))
            else {
                eprintln!("error: --expires-in {duration:?} is too far in the future");
                return Ok(ExitCode::from(EXIT_USAGE));
            };
            Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
    };
    let client = args.broker.client()?;
    let request = NewApiToken {
        name: args.name,
        scopes: args.scopes,
        expires_at,
    };
    match client.create_token(&request).await {
        Ok(created) => {
            outln!("{}", created.token.expose_secret());
            eprintln!(
                "Created token {} with scopes {}{}. Store it now: the broker keeps only its hash and cannot show it again.",
                created.info.name,
                created.info.scopes.join(", "),
                created
                    .info
                    .expires_at
                    .as_deref()
                    .map(|at| format!(", expiring {at}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

fn table(tokens: &[ApiToken]) -> String {
    let rows: Vec<[String; 4]> = tokens
        .iter()
        .map(|t| {
            [
                t.name.clone(),
                t.scopes.join(" "),
                t.created_at.clone().unwrap_or_default(),
                t.expires_at.clone().unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let header = ["NAME", "SCOPES", "CREATED", "EXPIRES"].map(str::to_string);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

async fn list(args: ListTokensArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    match client.tokens().await {
        Ok(tokens) => {
            match args.output {
                TextOrJson::Text if tokens.is_empty() => outln!("No tokens."),
                TextOrJson::Text => outln!("{}", table(&tokens).trim_end()),
                TextOrJson::Json => {
                    let items: Vec<serde_json::Value> = tokens
                        .iter()
                        .map(|t| {
                            serde_json::json!({
                                "name": t.name,
                                "scopes": t.scopes,
                                "createdBy": t.created_by,
                                "createdAt": t.created_at,
                                "expiresAt": t.expires_at,
                            })
                        })
                        .collect();
                    outln!("{}", serde_json::to_string_pretty(&items)?);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}

async fn revoke(args: RevokeTokenArgs) -> anyhow::Result<ExitCode> {
    let client = args.broker.client()?;
    match client.revoke_token(&args.name).await {
        Ok(()) => {
            eprintln!("Revoked token {}.", args.name);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(broker_failure(&error)),
    }
}
