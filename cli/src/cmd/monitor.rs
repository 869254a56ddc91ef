//! `accord monitor`: probes a running provider for drift from its contracts.
//!
//! Pacts come from files (`--pact-file`) or from a broker (`--broker-url` and `--provider`,
//! optionally `--environment`). `--once` checks once and exits; `--every 5m` runs as a
//! service with Prometheus metrics on `--metrics-bind` and alerts on `--alert-webhook`.
//!
//! With `--broker-url`, every run's report is posted back to the broker (unless
//! `--no-publish`), which then shows the provider's current drift and lets can-i-deploy
//! take it into account. A report that cannot be posted (after the client's retries) is
//! logged and counted in `accord_monitor_broker_reports_total{outcome="failed"}`, but does
//! not change the exit code: the exit code says whether the provider drifts, not whether
//! the broker was reachable.
//!
//! Exit codes of `--once`: 0 no drift and every probe answered; 1 drift found; 2 no drift
//! but some probes failed (unreachable, timeouts, open circuit), or the broker could not be
//! used to fetch the pacts; 64 bad usage (a pact or config file that is missing or invalid).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use accord_broker_client::{BrokerClient, BrokerClientConfig, RetryPolicy};
use accord_monitor::alert::{AlertTracker, WebhookSender, WebhookSettings};
use accord_monitor::config::MonitorConfig;
use accord_monitor::events::EventContracts;
use accord_monitor::events::EventRun;
use accord_monitor::events::service::{EventService, EventServiceConfig};
use accord_monitor::events::sources::{KafkaSasl, KafkaStart, Limits, Source, sample};
use accord_monitor::publish::BrokerPublisher;
use accord_monitor::service::{Application, ServiceConfig, read_report, write_report};
use accord_monitor::source::{pacts_from_broker, pacts_from_files};
use accord_monitor::{Monitor, MonitorError, Outcome};
use clap::{ArgGroup, Args};
use url::Url;

use super::client::broker_auth;
use super::{EXIT_FAILURE, EXIT_USAGE};

/// Some probes got no usable answer (and nothing drifted), or the broker could not be used.
const EXIT_PROBE_ERRORS: u8 = super::EXIT_RUNTIME;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["pact_files", "broker_url"])))]
#[command(group(ArgGroup::new("mode").required(true).args(["once", "every"])))]
pub struct MonitorArgs {
    /// Pact files to monitor; repeatable (comma-separated in the environment variable).
    #[arg(
        long = "pact-file",
        env = "ACCORD_MONITOR_PACT_FILES",
        value_delimiter = ',',
        value_name = "FILE",
        conflicts_with = "broker_url"
    )]
    pub pact_files: Vec<PathBuf>,

    /// A broker to fetch the provider's pacts from (the consumers' main branches and what is
    /// deployed or released, or with --environment what is deployed or released there).
    #[arg(
        long,
        visible_alias = "broker-base-url",
        env = "PACT_BROKER_BASE_URL",
        hide_env_values = true,
        value_name = "URL",
        requires = "provider"
    )]
    pub broker_url: Option<Url>,

    /// Username for the broker.
    #[arg(long, env = "PACT_BROKER_USERNAME")]
    pub broker_username: Option<String>,

    /// Password for the broker.
    #[arg(long, env = "PACT_BROKER_PASSWORD", hide_env_values = true)]
    pub broker_password: Option<String>,

    /// Bearer token for the broker (used instead of the username and password).
    #[arg(long, env = "PACT_BROKER_TOKEN", hide_env_values = true)]
    pub broker_token: Option<String>,

    /// The provider whose pacts to fetch from the broker.
    #[arg(long, env = "ACCORD_MONITOR_PROVIDER", value_name = "NAME")]
    pub provider: Option<String>,

    /// The environment the provider runs in: selects the pacts deployed or released there
    /// (with --broker-url) and labels reports.
    #[arg(long, env = "ACCORD_MONITOR_ENVIRONMENT", value_name = "NAME")]
    pub environment: Option<String>,

    /// Base URL of the running provider; the pacts' paths are appended to it (HTTP drift;
    /// not needed when sampling events).
    #[arg(
        long,
        env = "ACCORD_MONITOR_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub base_url: Option<Url>,

    #[command(flatten)]
    pub events: EventArgs,

    /// Config file (TOML): probe limits, circuit breaker, auth headers, provider state
    /// mappings. See the accord-monitor crate documentation for its format.
    #[arg(long, env = "ACCORD_MONITOR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Check once and exit: 0 clean, 1 drift, 2 probe errors and no drift.
    #[arg(long, env = "ACCORD_MONITOR_ONCE")]
    pub once: bool,

    /// Run as a service, checking every DURATION (e.g. 5m, 30s).
    #[arg(long, env = "ACCORD_MONITOR_EVERY", value_name = "DURATION", value_parser = parse_period)]
    pub every: Option<Duration>,

    /// Write the report as JSON to FILE (after every check when running as a service). The
    /// next run reads it back to know which findings were already alerted.
    #[arg(long, env = "ACCORD_MONITOR_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Webhook to alert once per new finding and once when it is resolved (a Slack-style
    /// incoming webhook, or anything accepting its JSON). With --once it needs --json.
    #[arg(
        long,
        env = "ACCORD_MONITOR_ALERT_WEBHOOK",
        value_name = "URL",
        hide_env_values = true
    )]
    pub alert_webhook: Option<Url>,

    /// Address of the Prometheus metrics endpoint (`/metrics`) when running as a service.
    #[arg(
        long,
        env = "ACCORD_MONITOR_METRICS_BIND",
        value_name = "ADDR",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_bind: SocketAddr,

    #[command(flatten)]
    pub metrics_serve: super::serve::MetricsServeArgs,

    /// Post each run's report to the broker the pacts came from (the default with
    /// --broker-url), so the broker shows the drift and can-i-deploy takes it into account.
    #[arg(
        long,
        env = "ACCORD_MONITOR_PUBLISH_TO_BROKER",
        requires = "broker_url",
        overrides_with = "no_publish"
    )]
    pub publish_to_broker: bool,

    /// Do not post reports to the broker.
    #[arg(
        long,
        env = "ACCORD_MONITOR_NO_PUBLISH",
        overrides_with = "publish_to_broker"
    )]
    pub no_publish: bool,

    /// How many times to retry broker requests that fail with 5xx or a network error.
    #[arg(
        long,
        env = "PACT_BROKER_HTTP_RETRIES",
        default_value_t = 3,
        value_name = "N"
    )]
    pub broker_retries: u32,
}

/// Event drift: where to sample live events from (read-only), and how many.
#[derive(Debug, Args, Default)]
pub struct EventArgs {
    /// A Kafka bootstrap server (HOST:PORT) to sample --topic from, without joining a
    /// consumer group or committing offsets.
    #[arg(
        long,
        env = "ACCORD_MONITOR_KAFKA",
        value_name = "HOST:PORT",
        requires = "topics"
    )]
    pub kafka: Option<String>,

    /// A Kafka topic to sample; repeatable.
    #[arg(long = "topic", value_name = "TOPIC", requires = "kafka")]
    pub topics: Vec<String>,

    /// Read the Kafka topics from the earliest record kept instead of only new events.
    #[arg(long, conflicts_with = "since")]
    pub from_beginning: bool,

    /// Read the Kafka topics from records of the last DURATION (e.g. 10m), by record time.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,

    /// Connect to Kafka over TLS.
    #[arg(long, env = "ACCORD_MONITOR_KAFKA_TLS")]
    pub kafka_tls: bool,

    /// Kafka SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with --kafka-username).
    #[arg(
        long,
        env = "ACCORD_MONITOR_KAFKA_SASL_MECHANISM",
        value_name = "MECHANISM",
        requires = "kafka_username"
    )]
    pub kafka_sasl_mechanism: Option<String>,

    /// Kafka SASL user name.
    #[arg(long, env = "ACCORD_MONITOR_KAFKA_USERNAME", value_name = "NAME")]
    pub kafka_username: Option<String>,

    /// Kafka SASL password (prefer the environment variable; never logged).
    #[arg(
        long,
        env = "ACCORD_MONITOR_KAFKA_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub kafka_password: Option<String>,

    /// A RabbitMQ / AMQP 0-9-1 URL (amqp://user:pass@host:5672/vhost): the monitor binds its
    /// own exclusive, auto-deleted queue to each --exchange.
    #[arg(
        long,
        env = "ACCORD_MONITOR_AMQP_URL",
        hide_env_values = true,
        value_name = "URL",
        requires = "exchanges"
    )]
    pub amqp: Option<String>,

    /// An exchange to tap; repeatable (paired in order with --binding-key).
    #[arg(long = "exchange", value_name = "EXCHANGE", requires = "amqp")]
    pub exchanges: Vec<String>,

    /// The binding key of the tap on the exchange of the same position (`#` when missing).
    #[arg(long = "binding-key", value_name = "KEY")]
    pub binding_keys: Vec<String>,

    /// Run a CloudEvents HTTP sink on ADDR (binary, structured and batch mode).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// A file of newline-delimited structured CloudEvents or {"headers", "value", "topic"}
    /// records (`-` for stdin); repeatable.
    #[arg(long = "events-file", value_name = "FILE")]
    pub events_files: Vec<PathBuf>,

    /// With --once: stop after this many events.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,

    /// With --once: stop after this long (default 30s when sampling a live source).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_wait: Option<Duration>,

    /// Take at most N events per second from each source.
    #[arg(long, value_name = "N")]
    pub sample_rate: Option<u32>,

    /// Check events whose type and channel no contract names (a dead-letter queue, an
    /// unnamed topic) against a message: KEY=DESCRIPTION, KEY a channel (topic, routing key)
    /// or CloudEvents type; repeatable.
    #[arg(long = "event-map", value_name = "KEY=DESCRIPTION", value_parser = parse_mapping)]
    pub event_map: Vec<(String, String)>,

    /// With --once: also print, locally, the first offending value of each finding (for
    /// debugging; never sent to the broker, an alert or the report file).
    #[arg(long)]
    pub show_values: bool,
}

impl EventArgs {
    fn sources(&self) -> Result<Vec<Source>, String> {
        let mut sources = Vec::new();
        if let Some(bootstrap) = &self.kafka {
            let start = match (self.from_beginning, self.since) {
                (true, _) => KafkaStart::Earliest,
                (false, Some(since)) => {
                    let since = chrono::Duration::from_std(since)
                        .map_err(|_| "--since is too long".to_string())?;
                    KafkaStart::Since(chrono::Utc::now() - since)
                }
                (false, None) => KafkaStart::Latest,
            };
            let sasl = match (&self.kafka_username, &self.kafka_password) {
                (Some(username), Some(password)) => Some(KafkaSasl {
                    mechanism: self
                        .kafka_sasl_mechanism
                        .clone()
                        .unwrap_or_else(|| "PLAIN".into()),
                    username: username.clone(),
                    password: password.clone().into(),
                }),
                (Some(_), None) => {
                    return Err(
                        "--kafka-username needs --kafka-password (or ACCORD_MONITOR_KAFKA_PASSWORD)"
                            .into(),
                    );
                }
                _ => None,
            };
            for topic in &self.topics {
                sources.push(Source::Kafka {
                    bootstrap: bootstrap.clone(),
                    topic: topic.clone(),
                    start: start.clone(),
                    tls: self.kafka_tls,
                    sasl: sasl.clone(),
                });
            }
        }
        if let Some(url) = &self.amqp {
            for (index, exchange) in self.exchanges.iter().enumerate() {
                sources.push(Source::Amqp {
                    url: url.clone(),
                    exchange: exchange.clone(),
                    binding_key: self
                        .binding_keys
                        .get(index)
                        .cloned()
                        .unwrap_or_else(|| "#".into()),
                });
            }
        }
        if let Some(listen) = self.listen {
            sources.push(Source::Http { listen });
        }
        for path in &self.events_files {
            sources.push(Source::File { path: path.clone() });
        }
        Ok(sources)
    }
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, description)) if !key.trim().is_empty() && !description.trim().is_empty() => {
            Ok((key.trim().to_string(), description.trim().to_string()))
        }
        _ => Err(format!(
            "{text:?} is not KEY=DESCRIPTION (e.g. orders.dlq=an order.created event)"
        )),
    }
}

fn parse_period(text: &str) -> Result<Duration, String> {
    let period = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if period < Duration::from_secs(1) {
        return Err("the period must be at least 1s".to_string());
    }
    Ok(period)
}

pub async fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    if args.once && args.alert_webhook.is_some() && args.json.is_none() {
        return Ok(usage(
            "--alert-webhook with --once needs --json FILE: the report file remembers which findings were already alerted, so each is alerted once",
        ));
    }
    let mut publisher = None;
    let contracts = match &args.broker_url {
        Some(broker_url) => {
            let provider = args.provider.as_deref().unwrap_or_default();
            let config = BrokerClientConfig::new(broker_url.clone())
                .with_url_flag("--broker-url / PACT_BROKER_BASE_URL")
                .with_auth(broker_auth(
                    args.broker_username.as_deref(),
                    args.broker_password.as_deref(),
                    args.broker_token.as_deref(),
                ))
                .with_retry(RetryPolicy::with_retries(args.broker_retries));
            let fetched = match BrokerClient::new(config) {
                Ok(client) => {
                    let client = Arc::new(client);
                    if !args.no_publish {
                        publisher = Some(BrokerPublisher::new(client.clone()));
                    }
                    pacts_from_broker(&client, provider, args.environment.as_deref()).await
                }
                Err(err) => Err(MonitorError::from(err)),
            };
            match fetched {
                Ok(contracts) => contracts,
                Err(err) => return Ok(failure(&err)),
            }
        }
        None => match pacts_from_files(&args.pact_files) {
            Ok(contracts) => contracts,
            Err(err) => return Ok(failure(&err)),
        },
    };

    let sources = match args.events.sources() {
        Ok(sources) => sources,
        Err(message) => return Ok(usage(&message)),
    };
    if !sources.is_empty() {
        return run_events(&args, &contracts, &sources, publisher).await;
    }
    let Some(base_url) = args.base_url.clone() else {
        return Ok(usage(
            "give the provider's --base-url to probe it over HTTP, or an event source (--kafka, --amqp, --listen, --events-file) to sample its events",
        ));
    };
    let config = match &args.config {
        Some(path) => MonitorConfig::load(base_url.clone(), path),
        None => Ok(MonitorConfig::new(base_url.clone())),
    };
    let mut config = match config {
        Ok(config) => config,
        Err(err) => return Ok(failure(&err)),
    };
    config.environment = args.environment.clone();
    let monitor = match Monitor::from_contracts(&contracts, config) {
        Ok(monitor) => monitor,
        Err(err) => return Ok(failure(&err)),
    };
    let previous = match args.json.as_deref().map(read_report).transpose() {
        Ok(previous) => previous.flatten(),
        Err(err) => return Ok(failure(&err)),
    };

    match args.every {
        Some(every) => run_service(monitor, &args, every, previous, publisher).await,
        None => run_once(monitor, &args, previous, publisher).await,
    }
}

/// Samples events once and checks them against the message contracts: 0 clean (types no
/// contract names alone are clean), 1 drift, 2 a source could not be read and no drift.
async fn run_events(
    args: &MonitorArgs,
    contracts: &[accord_contract::Contract],
    sources: &[Source],
    publisher: Option<BrokerPublisher>,
) -> anyhow::Result<ExitCode> {
    let event_contracts = EventContracts::from_contracts(contracts);
    if event_contracts.is_empty() {
        return Ok(usage(
            "the pacts have no message interactions to check events against (publish the consumers' message pacts first)",
        ));
    }
    let provider = args
        .provider
        .clone()
        .or_else(|| contracts.first().map(|c| c.provider().to_string()))
        .unwrap_or_default();
    if let Some(every) = args.every {
        if args.events.show_values {
            return Ok(usage(
                "--show-values works with --once only: a service never prints payload values",
            ));
        }
        let previous = match args.json.as_deref().map(read_report).transpose() {
            Ok(previous) => previous.flatten(),
            Err(err) => return Ok(failure(&err)),
        };
        let config = EventServiceConfig {
            every,
            sample_rate: args.events.sample_rate,
            mappings: args.events.event_map.clone(),
            metrics_address: args.metrics_bind,
            serve: args.metrics_serve.options(),
            alert_webhook: args.alert_webhook.clone().map(WebhookSettings::new),
            report_path: args.json.clone(),
            previous_report: previous,
            publisher,
        };
        let service = match EventService::build(
            event_contracts,
            provider,
            args.environment.clone(),
            sources.to_vec(),
            config,
        )
        .await
        {
            Ok(service) => service,
            Err(err) => return Ok(failure(&err)),
        };
        eprintln!(
            "Sampling events in windows of {}; metrics on http://{}:{}/metrics",
            humantime::format_duration(every),
            args.metrics_bind.ip(),
            service.port()
        );
        let mut reports = service.reports();
        tokio::spawn(async move {
            while let Ok(report) = reports.recv().await {
                println!("{}", report.to_table());
            }
        });
        return match service.run_until_stopped().await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(err) => Ok(failure(&err)),
        };
    }
    let mut run = EventRun::new(
        event_contracts,
        provider,
        args.environment.clone(),
        sources.iter().map(Source::describe).collect(),
    );
    run = run.with_mappings(args.events.event_map.clone());
    if args.events.show_values {
        run = run.show_values();
    }
    let live = sources
        .iter()
        .any(|source| !matches!(source, Source::File { .. }));
    let limits = Limits {
        max_events: args.events.max_events,
        max_wait: args
            .events
            .max_wait
            .or(live.then_some(Duration::from_secs(30))),
        sample_rate: args.events.sample_rate,
    };
    sample(sources, limits, &mut run).await;
    let report = run.report();
    print!("{}", report.to_table());
    if args.events.show_values {
        let values = run.local_values();
        if !values.is_empty() {
            println!("\nVALUES (local only, --show-values)");
            for value in values {
                println!(
                    "{}  {}  {}  {}",
                    value.interaction, value.pointer, value.location, value.value
                );
            }
        }
    }
    if let Some(publisher) = &publisher {
        let metrics = match accord_monitor::metrics::MonitorMetrics::new(&report.provider) {
            Ok(metrics) => metrics,
            Err(err) => return Ok(failure(&err)),
        };
        post_report(publisher, &report, &metrics).await;
    }
    if let Some(webhook) = &args.alert_webhook {
        let previous = match args.json.as_deref().map(read_report).transpose() {
            Ok(previous) => previous.flatten(),
            Err(err) => return Ok(failure(&err)),
        };
        if let Err(code) = alert_once(webhook, previous.as_ref(), &report).await {
            return Ok(code);
        }
    }
    if let Some(path) = &args.json
        && let Err(err) = write_report(path, &report)
    {
        return Ok(failure(&err));
    }
    Ok(ExitCode::from(exit_code(report.outcome())))
}

async fn run_once(
    monitor: Monitor,
    args: &MonitorArgs,
    previous: Option<accord_monitor::DriftReport>,
    publisher: Option<BrokerPublisher>,
) -> anyhow::Result<ExitCode> {
    let report = monitor.check().await;
    print!("{}", report.to_table());
    if let Some(publisher) = &publisher {
        // The exit code stays about the provider: a broker that is away is only reported.
        post_report(publisher, &report, monitor.metrics()).await;
    }
    if let Some(webhook) = &args.alert_webhook
        && let Err(code) = alert_once(webhook, previous.as_ref(), &report).await
    {
        return Ok(code);
    }
    if let Some(path) = &args.json
        && let Err(err) = write_report(path, &report)
    {
        return Ok(failure(&err));
    }
    Ok(ExitCode::from(exit_code(report.outcome())))
}

/// Posts a report to the broker and says so; a broker that is away is a warning (the exit
/// code stays about the provider).
async fn post_report(
    publisher: &BrokerPublisher,
    report: &accord_monitor::DriftReport,
    metrics: &accord_monitor::metrics::MonitorMetrics,
) {
    match publisher.publish(report, metrics).await {
        Ok(run) => eprintln!(
            "Report posted to the broker as run {} ({} new, {} resolved, {} open finding(s)).",
            run.id,
            run.new.len(),
            run.resolved.len(),
            run.open.len()
        ),
        Err(err) => eprintln!(
            "warning: {}",
            accord_contract::redact::redact_urls(&err.to_string())
        ),
    }
}

/// Alerts the findings of `report` that `previous` (the last report file) did not have, and
/// those it had that are gone; a webhook that fails is a warning.
async fn alert_once(
    webhook: &Url,
    previous: Option<&accord_monitor::DriftReport>,
    report: &accord_monitor::DriftReport,
) -> Result<(), ExitCode> {
    let mut tracker = previous.map(AlertTracker::from_report).unwrap_or_default();
    let events = tracker.observe(report);
    let sender =
        WebhookSender::new(WebhookSettings::new(webhook.clone())).map_err(|err| failure(&err))?;
    for err in sender.deliver(&events, report).await {
        eprintln!(
            "warning: {}",
            accord_contract::redact::redact_urls(&err.to_string())
        );
    }
    Ok(())
}

async fn run_service(
    monitor: Monitor,
    args: &MonitorArgs,
    every: Duration,
    previous: Option<accord_monitor::DriftReport>,
    publisher: Option<BrokerPublisher>,
) -> anyhow::Result<ExitCode> {
    let mut config = ServiceConfig::new(every, args.metrics_bind);
    config.publisher = publisher;
    config.alert_webhook = args.alert_webhook.clone().map(WebhookSettings::new);
    config.report_path = args.json.clone();
    config.previous_report = previous;
    config.serve = args.metrics_serve.options();
    let app = match Application::build(monitor, config).await {
        Ok(app) => app,
        Err(err) => return Ok(failure(&err)),
    };
    eprintln!(
        "Monitoring every {}; metrics on http://{}:{}/metrics",
        humantime::format_duration(every),
        args.metrics_bind.ip(),
        app.port()
    );
    let mut reports = app.reports();
    tokio::spawn(async move {
        while let Ok(report) = reports.recv().await {
            println!("{}", report.to_table());
        }
    });
    match app.run_until_stopped().await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => Ok(failure(&err)),
    }
}

/// The `--once` exit code of an outcome.
fn exit_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Clean => 0,
        Outcome::Drift => EXIT_FAILURE,
        Outcome::ProbeErrors => EXIT_PROBE_ERRORS,
    }
}

/// Prints an error and picks its exit code: problems with what the user gave (files,
/// settings) are usage errors; a broker or network that fails is a runtime error.
fn failure(error: &MonitorError) -> ExitCode {
    eprintln!(
        "error: {}",
        accord_contract::redact::redact_urls(&error.to_string())
    );
    let code = match error {
        MonitorError::Broker(_)
        | MonitorError::NoPactsInBroker { .. }
        | MonitorError::HttpClient(_)
        | MonitorError::Metrics { .. }
        | MonitorError::AlertDelivery { .. }
        | MonitorError::WriteReport { .. }
        | MonitorError::PublishReport(_)
        | MonitorError::EncodeReport(_) => EXIT_PROBE_ERRORS,
        _ => EXIT_USAGE,
    };
    ExitCode::from(code)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {}", accord_contract::redact::redact_urls(message));
    ExitCode::from(EXIT_USAGE)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: MonitorArgs,
    }

    fn parse(args: &[&str]) -> Result<MonitorArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("monitor").chain(args.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn outcomes_map_to_the_documented_exit_codes() {
        assert_eq!(exit_code(Outcome::Clean), 0);
        assert_eq!(exit_code(Outcome::Drift), 1);
        assert_eq!(exit_code(Outcome::ProbeErrors), 2);
    }

    #[test]
    fn pact_files_and_a_mode_are_enough() {
        let args = parse(&[
            "--pact-file",
            "a.json",
            "--pact-file",
            "b.json",
            "--base-url",
            "http://127.0.0.1:8080",
            "--every",
            "5m",
        ])
        .unwrap();
        assert_eq!(args.pact_files.len(), 2);
        assert_eq!(args.every, Some(Duration::from_secs(300)));
        assert!(!args.once);
    }

    #[test]
    fn a_source_and_a_mode_are_required_and_exclusive() {
        let base = ["--base-url", "http://127.0.0.1:8080"];
        let without_source: Vec<&str> = base.iter().copied().chain(["--once"]).collect();
        assert!(parse(&without_source).is_err());
        let without_mode: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--pact-file", "a.json"])
            .collect();
        assert!(parse(&without_mode).is_err());
        let both_modes: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--pact-file", "a.json", "--once", "--every", "5m"])
            .collect();
        assert!(parse(&both_modes).is_err());
        let broker_without_provider: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--broker-url", "http://broker", "--once"])
            .collect();
        assert!(parse(&broker_without_provider).is_err());
        let broker: Vec<&str> = base
            .iter()
            .copied()
            .chain([
                "--broker-url",
                "http://broker",
                "--provider",
                "orders",
                "--environment",
                "production",
                "--once",
            ])
            .collect();
        let args = parse(&broker).unwrap();
        assert_eq!(args.provider.as_deref(), Some("orders"));
    }

    #[test]
    fn reports_go_to_the_broker_unless_turned_off() {
        let base = [
            "--base-url",
            "http://127.0.0.1:8080",
            "--once",
            "--broker-url",
            "http://broker",
            "--provider",
            "orders",
        ];
        let default = parse(&base).unwrap();
        assert!(!default.no_publish);
        let off: Vec<&str> = base.iter().copied().chain(["--no-publish"]).collect();
        assert!(parse(&off).unwrap().no_publish);
        let on_again: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--no-publish", "--publish-to-broker"])
            .collect();
        assert!(!parse(&on_again).unwrap().no_publish);
        let without_broker = parse(&[
            "--base-url",
            "http://127.0.0.1:8080",
            "--once",
            "--pact-file",
            "a.json",
            "--publish-to-broker",
        ]);
        assert!(without_broker.is_err());
    }

    #[test]
    fn periods_below_a_second_are_refused() {
        assert!(parse_period("500ms").is_err());
        assert_eq!(parse_period("30s"), Ok(Duration::from_secs(30)));
    }
}
