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
use std::time::Duration;

use accord_broker::{
    Application, AuthConfig, BasicCredentials, Config, RetentionConfig, SecretsKey,
};
use accord_contract::redact::{redact_url, redact_urls};
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
    #[arg(long, env = "ACCORD_DATABASE_URL", hide_env_values = true)]
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
    #[arg(long, env = "ACCORD_BROKER_PUBLIC_BASE_URL", hide_env_values = true)]
    pub public_base_url: Option<url::Url>,

    /// A reverse proxy (CIDR range, e.g. 10.0.0.0/8) whose X-Forwarded-Proto/-Host/
    /// -Prefix and Forwarded headers are believed when building links. Without any,
    /// nobody's are. Repeat or separate with commas.
    #[arg(long, env = "ACCORD_BROKER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxy: Vec<String>,

    /// A host name clients reach the broker by (besides --public-base-url's host,
    /// localhost and IP addresses); requests naming another host in `Host` get 421,
    /// which stops DNS-rebinding pages. Bound to 0.0.0.0 with neither flag, any host
    /// is accepted. Repeat or separate with commas.
    #[arg(long, env = "ACCORD_BROKER_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_host: Vec<String>,

    /// Retention keeps every version younger than this (e.g. 90d). Older versions go
    /// unless deployed, released, among the latest per branch, the latest with a tag
    /// or pact, or a provider version that verified a kept pact.
    #[arg(long, env = "ACCORD_BROKER_RETENTION_MAX_AGE", value_parser = humantime::parse_duration, default_value = "90d")]
    pub retention_max_age: Duration,

    /// Retention keeps the latest this many versions of every branch.
    #[arg(
        long,
        env = "ACCORD_BROKER_RETENTION_KEEP_LATEST_PER_BRANCH",
        default_value_t = 10
    )]
    pub retention_keep_latest_per_branch: u32,

    /// At most this many versions are deleted per retention run; the next run carries on.
    #[arg(
        long,
        env = "ACCORD_BROKER_RETENTION_DELETION_LIMIT",
        default_value_t = 500
    )]
    pub retention_deletion_limit: u32,

    /// Retention deletes audit log entries older than this (e.g. 365d); "off" keeps them.
    #[arg(long, env = "ACCORD_BROKER_AUDIT_MAX_AGE", value_parser = optional_duration, default_value = "365d")]
    pub audit_max_age: OptionalDuration,

    /// Retention deletes drift monitor runs older than this (never the latest of a
    /// provider and environment); "off" keeps them.
    #[arg(long, env = "ACCORD_BROKER_DRIFT_RUN_MAX_AGE", value_parser = optional_duration, default_value = "90d")]
    pub drift_run_max_age: OptionalDuration,

    /// Run retention in the background on this interval (e.g. 1h). Off by default:
    /// then it only runs through POST /admin/retention.
    #[arg(long, env = "ACCORD_BROKER_RETENTION_INTERVAL", value_parser = humantime::parse_duration)]
    pub retention_interval: Option<Duration>,

    /// A host webhooks may call even when it resolves to a private or loopback
    /// address (e.g. localhost, ci.internal, *.ci.internal). Once any is given,
    /// webhooks may call only the listed hosts. Repeat or separate with commas.
    #[arg(long, env = "ACCORD_WEBHOOK_ALLOW_HOSTS", value_delimiter = ',')]
    pub webhook_allow_host: Vec<String>,

    /// A private or loopback range webhooks may reach (e.g. 10.1.0.0/16). Repeat or
    /// separate with commas.
    #[arg(long, env = "ACCORD_WEBHOOK_ALLOW_NETWORKS", value_delimiter = ',')]
    pub webhook_allow_network: Vec<String>,

    /// Let webhooks reach every private, loopback and link-local address. Off by
    /// default, so a webhook cannot be used to call internal services.
    #[arg(long, env = "ACCORD_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// URL schemes webhooks may use.
    #[arg(
        long,
        env = "ACCORD_WEBHOOK_SCHEMES",
        value_delimiter = ',',
        default_value = "https,http"
    )]
    pub webhook_schemes: Vec<String>,

    /// Attempts per webhook delivery before it goes to the dead-letter list.
    #[arg(long, env = "ACCORD_WEBHOOK_MAX_ATTEMPTS", default_value_t = 7)]
    pub webhook_max_attempts: u32,

    /// The first retry of a failed delivery waits up to this long, each later one up
    /// to twice as long (random within that bound).
    #[arg(long, env = "ACCORD_WEBHOOK_RETRY_BASE", value_parser = humantime::parse_duration, default_value = "10s")]
    pub webhook_retry_base: Duration,

    /// The longest wait between two attempts of a delivery.
    #[arg(long, env = "ACCORD_WEBHOOK_RETRY_MAX_DELAY", value_parser = humantime::parse_duration, default_value = "20m")]
    pub webhook_retry_max_delay: Duration,

    /// How long one webhook call may take.
    #[arg(long, env = "ACCORD_WEBHOOK_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub webhook_timeout: Duration,

    #[command(flatten)]
    pub serve: super::serve::BrokerServeArgs,
    /// Key that encrypts webhook secrets (passwords, header values not marked public,
    /// URL passwords) in the database: 32 random bytes in base64 or hex, e.g. from
    /// `openssl rand -base64 32`. Secrets stored in plain text are encrypted at start.
    /// Without it, a broker requiring credentials refuses to store new secrets.
    #[arg(long, env = "ACCORD_BROKER_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
}

/// A duration, or none for "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalDuration(pub Option<Duration>);

fn optional_duration(value: &str) -> Result<OptionalDuration, humantime::DurationError> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(OptionalDuration(None));
    }
    humantime::parse_duration(value).map(|d| OptionalDuration(Some(d)))
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_string())
}

/// Refuses a credential flag given an empty value: `--token "$WRITE_TOKEN"` with the
/// variable unset must not start a broker that takes an empty token for a credential.
fn refuse_empty(value: &Option<String>, flag: &str, variable: &str) -> anyhow::Result<()> {
    if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
        anyhow::bail!(
            "{flag} is empty (given on the command line or as {variable}): give it a value, or leave it out"
        );
    }
    Ok(())
}

/// Turns the flags into the broker's configuration.
fn config(args: &BrokerArgs) -> anyhow::Result<Config> {
    for (value, flag, variable) in [
        (&args.token, "--token", "ACCORD_BROKER_TOKEN"),
        (
            &args.read_only_token,
            "--read-only-token",
            "ACCORD_BROKER_READ_ONLY_TOKEN",
        ),
        (
            &args.basic_auth_username,
            "--basic-auth-username",
            "ACCORD_BROKER_BASIC_AUTH_USERNAME",
        ),
        (
            &args.basic_auth_password,
            "--basic-auth-password",
            "ACCORD_BROKER_BASIC_AUTH_PASSWORD",
        ),
        (
            &args.basic_auth_read_only_username,
            "--basic-auth-read-only-username",
            "ACCORD_BROKER_BASIC_AUTH_READ_ONLY_USERNAME",
        ),
        (
            &args.basic_auth_read_only_password,
            "--basic-auth-read-only-password",
            "ACCORD_BROKER_BASIC_AUTH_READ_ONLY_PASSWORD",
        ),
    ] {
        refuse_empty(value, flag, variable)?;
    }
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
    config.edge.trusted_proxies = args
        .trusted_proxy
        .iter()
        .map(|proxy| {
            let proxy = proxy.trim();
            proxy
                .parse::<ipnet::IpNet>()
                .or_else(|_| proxy.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| {
                    format!(
                        "--trusted-proxy {proxy:?} is not an IP address or CIDR range such as 10.0.0.0/8"
                    )
                })
        })
        .collect::<anyhow::Result<_>>()?;
    config.edge.allowed_hosts = args
        .allowed_host
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    if args.retention_keep_latest_per_branch == 0 || args.retention_deletion_limit == 0 {
        anyhow::bail!(
            "--retention-keep-latest-per-branch and --retention-deletion-limit must be at least 1"
        );
    }
    if args.retention_interval.is_some_and(|i| i.is_zero()) {
        anyhow::bail!(
            "--retention-interval must be longer than 0 (leave it out to turn the schedule off)"
        );
    }
    config.retention = RetentionConfig {
        max_age: args.retention_max_age,
        keep_latest_per_branch: args.retention_keep_latest_per_branch,
        deletion_limit: args.retention_deletion_limit,
        audit_max_age: args.audit_max_age.0,
        drift_run_max_age: args.drift_run_max_age.0,
        interval: args.retention_interval,
    };
    let webhooks = &mut config.webhooks;
    webhooks.allowed_hosts = args.webhook_allow_host.clone();
    webhooks.allowed_networks = args
        .webhook_allow_network
        .iter()
        .map(|network| {
            network.trim().parse().with_context(|| {
                format!(
                    "--webhook-allow-network {network:?} is not a CIDR range such as 10.1.0.0/16"
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    webhooks.allow_private = args.webhook_allow_private;
    webhooks.allowed_schemes = args
        .webhook_schemes
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    if args.webhook_max_attempts == 0 || args.webhook_timeout.is_zero() {
        anyhow::bail!("--webhook-max-attempts and --webhook-timeout must be at least 1");
    }
    webhooks.max_attempts = args.webhook_max_attempts;
    webhooks.retry_base = args.webhook_retry_base;
    webhooks.retry_max_delay = args.webhook_retry_max_delay;
    webhooks.timeout = args.webhook_timeout;
    config.serve = args.serve.options();
    webhooks.secrets_key = args
        .secrets_key
        .as_deref()
        .map(SecretsKey::parse)
        .transpose()
        .context("--secrets-key (ACCORD_BROKER_SECRETS_KEY)")?;
    // Replicas given one secrets key also share the UI's CSRF key (derived from it), so
    // a form loaded from one broker is accepted by another.
    config.edge.csrf_key = args.secrets_key.as_deref().map(secret);
    Ok(config)
}

pub async fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    let config = match config(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {}", redact_urls(&format!("{err:#}")));
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
    let database_url = redact_url(&config.database_url);
    let app = match Application::build(config, listener).await {
        Ok(app) => app,
        Err(err) => {
            // The chain of causes, each once: a database driver's error often repeats
            // its cause in its own text.
            let mut parts = vec![format!(
                "cannot start the broker on database {database_url}"
            )];
            let mut current: Option<&dyn std::error::Error> = Some(&err);
            while let Some(cause) = current {
                let text = cause.to_string();
                if !parts.last().is_some_and(|last| last.contains(&text)) {
                    parts.push(text);
                }
                // A misconfiguration's fix says it all; the driver's text below it
                // only repeats it.
                if matches!(
                    cause.downcast_ref::<accord_broker::store::StoreError>(),
                    Some(accord_broker::store::StoreError::Misconfigured { .. })
                ) {
                    break;
                }
                current = cause.source();
            }
            let message = parts.join(": ");
            eprintln!("error: {}", redact_urls(&message));
            // A database that is not there is the configuration's mistake, not a
            // failure of the moment.
            let misconfigured = matches!(
                err,
                accord_broker::BrokerError::UnsupportedDatabaseUrl(_)
                    | accord_broker::BrokerError::Store(
                        accord_broker::store::StoreError::Misconfigured { .. }
                    )
            );
            return Ok(ExitCode::from(if misconfigured {
                EXIT_USAGE
            } else {
                EXIT_RUNTIME
            }));
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
    fn empty_credentials_are_refused_naming_the_flag() {
        for (flag, variable) in [
            ("--token", "ACCORD_BROKER_TOKEN"),
            ("--read-only-token", "ACCORD_BROKER_READ_ONLY_TOKEN"),
        ] {
            let cli = Cli::parse_from(["accord", flag, ""]);
            let err = config(&cli.args).unwrap_err().to_string();
            assert!(err.contains(flag) && err.contains(variable), "{err}");
        }
        let cli = Cli::parse_from([
            "accord",
            "--basic-auth-username",
            "admin",
            "--basic-auth-password",
            " ",
        ]);
        let err = config(&cli.args).unwrap_err().to_string();
        assert!(err.contains("--basic-auth-password"), "{err}");
    }

    #[test]
    fn the_secrets_key_is_checked_and_never_shown() {
        let key = "q83vEjRWeJq8vN7/EjRWeJq8vN7/EjRWeJq8vN7/Ejs=";
        let cli = Cli::parse_from(["accord", "--secrets-key", key]);
        let config = config(&cli.args).unwrap();
        assert!(config.webhooks.secrets_key.is_some());
        assert!(!format!("{config:?}").contains(key));
        let cli = Cli::parse_from(["accord", "--secrets-key", "too-short-s3cret"]);
        let err = format!("{:#}", config_error(&cli.args));
        assert!(
            err.contains("--secrets-key") && err.contains("32 random bytes"),
            "{err}"
        );
        assert!(!err.contains("too-short-s3cret"), "{err}");
    }

    fn config_error(args: &BrokerArgs) -> anyhow::Error {
        match config(args) {
            Ok(_) => panic!("the configuration should be refused"),
            Err(err) => err,
        }
    }

    #[test]
    fn a_username_needs_a_password() {
        assert!(Cli::try_parse_from(["accord", "--basic-auth-username", "u"]).is_err());
    }

    #[test]
    fn passwords_are_redacted_in_messages() {
        assert_eq!(
            redact_url("postgres://me:secret@db/x"),
            "postgres://me:****@db/x"
        );
    }
}
