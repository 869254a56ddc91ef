//! What the broker client commands share: how to reach the broker (`BrokerArgs`), how
//! its failures are printed, output formats, and the stdout macros. Each command lives in
//! its own module: `publish`, `can_i_deploy`, `deployments` (create-environment,
//! record-deployment, record-release), `describe_version`.
//!
//! Flag names, short flags and environment variables are those of the official
//! `pact-broker-cli` (`pact broker ...`), so a pipeline can swap one for the other.
//!
//! Exit codes: 0 success (for can-i-deploy: deployable); 1 can-i-deploy says no or
//! cannot tell yet; 2 the broker could not be used (unreachable, 401/403, 404, a refused
//! request); 64 bad usage or configuration (including no consumer version for `publish`).

use std::process::ExitCode;
use std::time::Duration;

use accord_broker_client::{
    BrokerAuth, BrokerClient, BrokerClientConfig, BrokerError, Notice, RetryPolicy,
};
use anyhow::Context;
use clap::{Args, ValueEnum};
use secrecy::SecretString;
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

pub(crate) fn print_notices(notices: &[Notice]) {
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

/// Output format of can-i-deploy and describe-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    /// A readable table.
    Table,
    /// The broker's JSON answer.
    Json,
}

/// A name or version given on the command line: blank is a mistake (often an unset
/// variable, `--version "$GIT_SHA"`), refused before the broker is asked.
pub(crate) fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("is blank (an unset variable?): give a value".to_string())
    } else {
        Ok(text.to_string())
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
