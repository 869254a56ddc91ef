//! `accord broker`: runs the contract broker.
//!
//! After binding, it prints exactly one line to stdout,
//! `accord broker listening on http://ADDR:PORT`, so scripts (and tests using
//! `--bind 127.0.0.1:0`) can discover the port. Exit codes: 0 after a clean
//! shutdown (SIGTERM or Ctrl-C), 2 when the address cannot be bound or the database
//! cannot be opened, 64 for inconsistent flags.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use accord_broker::{Application, AuthConfig, BasicCredentials, Config};
use anyhow::Context;
use clap::Args;
use secrecy::SecretString;

use super::{EXIT_RUNTIME, EXIT_USAGE};

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Address to listen on. Use 127.0.0.1:0 for any free port.
    #[arg(long, env = "ACCORD_BROKER_BIND", default_value = "127.0.0.1:9292")]
    pub bind: SocketAddr,

    /// Database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    /// Also read from DATABASE_URL. [default: sqlite://accord.db]
    #[arg(long, env = "ACCORD_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Username allowed to read and write (HTTP Basic).
    #[arg(
        long,
        env = "ACCORD_BROKER_BASIC_AUTH_USERNAME",
        requires = "basic_auth_password"
    )]
    pub basic_auth_username: Option<String>,

    /// Password for --basic-auth-username.
    #[arg(
        long,
        env = "ACCORD_BROKER_BASIC_AUTH_PASSWORD",
        hide_env_values = true,
        requires = "basic_auth_username"
    )]
    pub basic_auth_password: Option<String>,

    /// Username allowed to read only (HTTP Basic).
    #[arg(
        long,
        env = "ACCORD_BROKER_BASIC_AUTH_READ_ONLY_USERNAME",
        requires = "basic_auth_read_only_password"
    )]
    pub basic_auth_read_only_username: Option<String>,

    /// Password for --basic-auth-read-only-username.
    #[arg(
        long,
        env = "ACCORD_BROKER_BASIC_AUTH_READ_ONLY_PASSWORD",
        hide_env_values = true,
        requires = "basic_auth_read_only_username"
    )]
    pub basic_auth_read_only_password: Option<String>,

    /// Bearer token allowed to read and write.
    #[arg(long, env = "ACCORD_BROKER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Bearer token allowed to read only.
    #[arg(long, env = "ACCORD_BROKER_READ_ONLY_TOKEN", hide_env_values = true)]
    pub read_only_token: Option<String>,

    /// Let anyone read (including asking which pacts to verify) without credentials.
    #[arg(long, env = "ACCORD_BROKER_PUBLIC_READ")]
    pub public_read: bool,

    /// Let a consumer version replace the content of a pact it already published.
    /// Off by default: changed content under the same version makes can-i-deploy unreliable.
    #[arg(long, env = "ACCORD_BROKER_ALLOW_CONTRACT_OVERWRITE")]
    pub allow_contract_overwrite: bool,

    /// Largest accepted request body in bytes; larger ones get 413.
    #[arg(long, env = "ACCORD_BROKER_BODY_LIMIT", default_value_t = Config::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,

    /// Externally visible base URL used in links (e.g. https://broker.example.com behind a proxy).
    #[arg(long, env = "ACCORD_BROKER_PUBLIC_BASE_URL")]
    pub public_base_url: Option<url::Url>,
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_string())
}

/// Turns the flags into the broker's configuration.
fn config(args: &BrokerArgs) -> anyhow::Result<Config> {
    let database_url = args
        .database_url
        .clone()
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "sqlite://accord.db".to_string());
    let basic = match (&args.basic_auth_username, &args.basic_auth_password) {
        (Some(username), Some(password)) => Some(BasicCredentials {
            username: username.clone(),
            password: secret(password),
        }),
        _ => None,
    };
    let read_only_basic = match (
        &args.basic_auth_read_only_username,
        &args.basic_auth_read_only_password,
    ) {
        (Some(username), Some(password)) => Some(BasicCredentials {
            username: username.clone(),
            password: secret(password),
        }),
        _ => None,
    };
    let auth = AuthConfig {
        basic,
        read_only_basic,
        token: args.token.as_deref().map(secret),
        read_only_token: args.read_only_token.as_deref().map(secret),
        public_read: args.public_read,
    };
    if args.public_read && !auth.is_enabled() {
        anyhow::bail!(
            "--public-read only makes sense with credentials for writing (--basic-auth-username/--token)"
        );
    }
    if args.body_limit == 0 {
        anyhow::bail!("--body-limit must be at least 1 byte");
    }
    let mut config = Config::new(database_url);
    config.auth = auth;
    config.allow_contract_overwrite = args.allow_contract_overwrite;
    config.body_limit_bytes = args.body_limit;
    config.public_base_url = args.public_base_url.clone();
    Ok(config)
}

pub async fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    let config = match config(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(err) => {
            let hint = if err.kind() == std::io::ErrorKind::AddrInUse {
                " (the port is in use: stop the other process or pick another with --bind)"
            } else {
                ""
            };
            eprintln!("error: cannot listen on {}: {err}{hint}", args.bind);
            return Ok(ExitCode::from(EXIT_RUNTIME));
        }
    };
    let auth_enabled = config.auth.is_enabled();
    let database_url = redact(&config.database_url);
    let app = match Application::build(config, listener).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!(
                "error: {:#}",
                anyhow::Error::new(err).context(format!(
                    "cannot start the broker on database {database_url}"
                ))
            );
            return Ok(ExitCode::from(EXIT_RUNTIME));
        }
    };
    if !app.address().ip().is_loopback() && !auth_enabled {
        tracing::warn!(
            address = %app.address(),
            "the broker listens beyond this machine without authentication; anyone who can reach it can change contracts (set --basic-auth-username/--token)"
        );
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "accord broker listening on {}", app.base_url())
        .context("writing to stdout")?;
    stdout.flush().context("writing to stdout")?;
    app.run_until_stopped()
        .await
        .context("the broker stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BrokerArgs,
    }

    #[test]
    fn defaults_and_credentials() {
        let cli = Cli::parse_from([
            "accord",
            "--token",
            "t",
            "--basic-auth-username",
            "u",
            "--basic-auth-password",
            "p",
        ]);
        assert_eq!(cli.args.bind.to_string(), "127.0.0.1:9292");
        let config = config(&cli.args).unwrap();
        assert!(config.auth.is_enabled());
        assert!(
            !format!("{config:?}").contains("\"p\""),
            "secrets stay out of Debug output"
        );
    }

    #[test]
    fn a_username_needs_a_password() {
        assert!(Cli::try_parse_from(["accord", "--basic-auth-username", "u"]).is_err());
    }

    #[test]
    fn passwords_are_redacted_in_messages() {
        assert_eq!(
            redact("postgres://me:secret@db/x"),
            "postgres://me:****@db/x"
        );
    }
}
