//! The error type of the monitor's public API.

use std::path::PathBuf;

/// What can go wrong while setting up or running the monitor.
///
/// Problems found while probing (timeouts, open circuits, drift) are not errors: they are
/// results, recorded in the [`DriftReport`](crate::DriftReport).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A pact could not be loaded.
    #[error(transparent)]
    Contract(#[from] accord_contract::ContractError),
    /// The broker could not be asked for pacts.
    #[error("could not fetch pacts from the broker: {0}")]
    Broker(#[from] accord_broker_client::BrokerError),
    /// A report could not be posted to the broker.
    #[error("could not post the drift report to the broker: {0}")]
    PublishReport(#[source] accord_broker_client::BrokerError),
    /// A report could not be turned into JSON.
    #[error("could not encode the drift report as JSON: {0}")]
    EncodeReport(#[source] serde_json::Error),
    /// The broker has no pact the monitor should check.
    #[error("the broker has no pact for provider {provider:?}{} ({pending} pending or work-in-progress pacts are not monitored); publish the consumers' pacts, record their deployments, or pass --pact-file", environment.as_ref().map(|e| format!(" in environment {e:?}")).unwrap_or_default())]
    NoPactsInBroker {
        provider: String,
        environment: Option<String>,
        pending: usize,
    },
    /// There is nothing to monitor.
    #[error("no pact to monitor: give at least one pact")]
    NoPacts,
    /// The pacts are for different providers; one monitor probes one provider.
    #[error(
        "the pacts name different providers: {first:?} and {other:?} (in {origin}); run one monitor per provider"
    )]
    MixedProviders {
        first: String,
        other: String,
        origin: String,
    },
    /// A config or secrets file could not be read.
    #[error("could not read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A config or secrets file is not valid TOML or does not have the expected shape.
    #[error("{path} is not a valid {what}: {source}")]
    ParseFile {
        path: PathBuf,
        what: &'static str,
        // Boxed: the TOML error is large and errors travel through every `Result`.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A setting has a value that cannot be used; `setting` names it as written in the file.
    #[error("invalid setting `{setting}`: {problem}")]
    InvalidSetting { setting: String, problem: String },
    /// An environment variable named by the config is not set or not valid Unicode.
    #[error(
        "environment variable {variable} (named by `{setting}`) is not set or not valid Unicode"
    )]
    MissingEnv {
        variable: String,
        setting: String,
        #[source]
        source: std::env::VarError,
    },
    /// A header name or value from the config is not valid HTTP.
    #[error("`{setting}` is not a valid HTTP header: {source}")]
    InvalidHeader {
        setting: String,
        #[source]
        source: http::Error,
    },
    /// The HTTP client could not be built (for instance, no TLS backend).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The metrics listener could not be bound or served.
    #[error("metrics server on {address}: {source}")]
    Metrics {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// A Prometheus metric could not be registered.
    #[error("could not register metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
    /// An alert could not be delivered, even after retries.
    #[error(
        "could not deliver an alert to the webhook at {host} after {attempts} attempt(s): {source}"
    )]
    AlertDelivery {
        host: String,
        attempts: u32,
        #[source]
        source: AlertFailure,
    },
    /// An earlier JSON report could not be read back.
    #[error("{path} is not a drift report written by the monitor: {source}")]
    ReadReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The JSON report could not be written.
    #[error("could not write the report to {path}: {source}")]
    WriteReport {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why the last attempt to deliver an alert failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertFailure {
    #[error("the webhook answered {0}")]
    Status(u16),
    #[error("the request failed: {0}")]
    Transport(#[source] reqwest::Error),
}
