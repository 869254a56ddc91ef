//! Probing: which interactions are probed, the requests sent for them, and sending them
//! within the timeout, concurrency, rate and circuit limits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use tokio::time::Instant;
use tracing::instrument;
use url::Url;

use crate::circuit::Circuits;
use crate::config::{MonitorConfig, SAFE_METHODS};
use crate::error::MonitorError;
use crate::metrics::MonitorMetrics;
use crate::rate::RateLimiter;
use crate::report::{ProbeError, ProbeErrorKind, Skipped};
use crate::schema::{DerivedPact, InteractionExpectation};

/// A request ready to send.
#[derive(Debug, Clone)]
pub(crate) struct ProbeRequest {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    /// `METHOD /path?query`, for reports.
    pub display: String,
    /// `host:port`, the circuit breaker's key.
    pub host: String,
}

/// One interaction to check against a probe's response.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub expectation: Arc<InteractionExpectation>,
    /// Provider states of the interaction that have no mapping in the config.
    pub unmapped_states: Vec<String>,
}

/// A request and every interaction (of any consumer) that expects an answer to it.
#[derive(Debug, Clone)]
pub(crate) struct PlannedProbe {
    pub request: ProbeRequest,
    pub targets: Vec<Target>,
}

/// What a check will do, decided once when the monitor starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub probes: Vec<PlannedProbe>,
    pub skipped: Vec<Skipped>,
    /// Interactions whose request cannot be built (reported as probe errors every check).
    pub invalid: Vec<ProbeError>,
}

/// Headers that describe the recorded connection rather than the request; the client sets
/// its own.
const CONNECTION_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
];

pub(crate) fn plan(pacts: &[DerivedPact], config: &MonitorConfig) -> Plan {
    let mut plan = Plan::default();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for pact in pacts {
        plan.skipped.extend(pact.skipped.iter().cloned());
        for expectation in &pact.interactions {
            let skip = |reason: String| Skipped {
                consumer: expectation.consumer.clone(),
                interaction: expectation.description.clone(),
                reason,
            };
            let method = expectation.request.method.as_str();
            if !SAFE_METHODS.contains(&method)
                && !config.probe.probe_unsafe.contains(&expectation.description)
            {
                plan.skipped.push(skip(format!(
                    "{method} is not a safe method; list {:?} under [probe] probe_unsafe in the config file to probe it",
                    expectation.description
                )));
                continue;
            }
            if let Some((state, reason)) = expectation.provider_states.iter().find_map(|state| {
                config
                    .states
                    .get(&state.name)
                    .and_then(|mapping| mapping.skip.as_ref())
                    .map(|reason| (state.name.clone(), reason.clone()))
            }) {
                plan.skipped.push(skip(format!(
                    "provider state {state:?} is marked skip: {reason}"
                )));
                continue;
            }
            let mut unmapped_states: Vec<String> = Vec::new();
            for state in &expectation.provider_states {
                if !config.states.contains_key(&state.name)
                    && !unmapped_states.contains(&state.name)
                {
                    unmapped_states.push(state.name.clone());
                }
            }
            let request = match build_request(expectation, config) {
                Ok(request) => request,
                Err(message) => {
                    plan.invalid.push(ProbeError {
                        consumers: vec![expectation.consumer.clone()],
                        interaction: expectation.description.clone(),
                        request: format!("{} {}", method, expectation.request.path),
                        kind: ProbeErrorKind::InvalidRequest,
                        message,
                    });
                    continue;
                }
            };
            let target = Target {
                expectation: Arc::new(expectation.clone()),
                unmapped_states,
            };
            // Identical requests (the same interaction in several consumers' pacts) are
            // sent once and their answer checked against each expectation.
            let key = request_key(&request);
            match index.get(&key) {
                Some(&position) => plan.probes[position].targets.push(target),
                None => {
                    index.insert(key, plan.probes.len());
                    plan.probes.push(PlannedProbe {
                        request,
                        targets: vec![target],
                    });
                }
            }
        }
    }
    plan
}

fn request_key(request: &ProbeRequest) -> String {
    let mut key = format!("{} {}", request.method, request.url);
    for (name, value) in &request.headers {
        key.push('\n');
        key.push_str(name.as_str());
        key.push(':');
        key.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    if let Some(body) = &request.body {
        key.push_str("\n\n");
        key.push_str(&String::from_utf8_lossy(body));
    }
    key
}

/// The request of an interaction, changed by the mappings of its provider states.
pub(crate) fn build_request(
    expectation: &InteractionExpectation,
    config: &MonitorConfig,
) -> Result<ProbeRequest, String> {
    let recorded = &expectation.request;
    let mut path = recorded.path.clone();
    let mut query = recorded.query.clone();
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (name, value) in &recorded.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|err| format!("recorded header {name:?} is not valid: {err}"))?;
        if CONNECTION_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|err| format!("recorded header {name} has an invalid value: {err}"))?;
        headers.push((name, value));
    }
    for state in &expectation.provider_states {
        let Some(mapping) = config.states.get(&state.name) else {
            continue;
        };
        if let Some(replacement) = mapping.paths.get(&path) {
            path = replacement.clone();
        }
        if !mapping.path_segments.is_empty() {
            path = path
                .split('/')
                .map(|segment| {
                    mapping
                        .path_segments
                        .get(segment)
                        .map(String::as_str)
                        .unwrap_or(segment)
                })
                .collect::<Vec<_>>()
                .join("/");
        }
        for (name, value) in &mapping.query {
            query.retain(|(existing, _)| existing != name);
            query.push((name.clone(), Some(value.clone())));
        }
        for (name, value) in &mapping.headers {
            headers.retain(|(existing, _)| existing != name);
            headers.push((name.clone(), value.clone()));
        }
    }

    let mut url = config.base_url.clone();
    let base_path = url.path().trim_end_matches('/').to_string();
    let joined = if path.starts_with('/') {
        format!("{base_path}{path}")
    } else {
        format!("{base_path}/{path}")
    };
    url.set_path(&joined);
    url.set_query(None);
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &query {
            match value {
                Some(value) => pairs.append_pair(name, value),
                None => pairs.append_key_only(name),
            };
        }
    }
    let method = reqwest::Method::from_bytes(recorded.method.as_bytes())
        .map_err(|err| format!("{:?} is not an HTTP method: {err}", recorded.method))?;
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    );
    let display = match url.query() {
        Some(q) => format!("{} {}?{}", method, url.path(), q),
        None => format!("{} {}", method, url.path()),
    };
    Ok(ProbeRequest {
        method,
        url,
        headers,
        body: recorded.body.clone(),
        display,
        host,
    })
}

/// An answer that can be checked.
#[derive(Debug, Clone)]
pub(crate) struct ProbeResponse {
    pub status: u16,
    /// `type/subtype`, lower case, without parameters.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a probe got no usable answer.
#[derive(Debug, Clone)]
pub(crate) struct ProbeFailure {
    pub kind: ProbeErrorKind,
    pub message: String,
}

/// Sends probes within the configured limits.
#[derive(Debug)]
pub(crate) struct Prober {
    client: reqwest::Client,
    limiter: Option<RateLimiter>,
    circuits: Circuits,
    auth: Vec<(HeaderName, HeaderValue)>,
    pub concurrency: usize,
    metrics: Arc<MonitorMetrics>,
}

impl Prober {
    pub(crate) fn new(
        config: &MonitorConfig,
        metrics: Arc<MonitorMetrics>,
    ) -> Result<Self, MonitorError> {
        let client = reqwest::Client::builder()
            .timeout(config.probe.timeout)
            // The status a consumer sees is the provider's own, not a redirect target's.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("accord-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(MonitorError::HttpClient)?;
        let auth = config
            .auth_headers
            .iter()
            .map(|header| Ok((header.name.clone(), header.header_value()?)))
            .collect::<Result<Vec<_>, MonitorError>>()?;
        Ok(Self {
            client,
            limiter: config.probe.rate_limit.map(RateLimiter::new),
            circuits: Circuits::new(config.circuit),
            auth,
            concurrency: config.probe.concurrency,
            metrics,
        })
    }

    pub(crate) fn circuits(&self) -> &Circuits {
        &self.circuits
    }

    /// Sends one probe. Transport failures and 502/503/504 count against the host's
    /// circuit; any other answer, whatever its status, shows the host is up.
    // A failed probe is a result, reported in the drift report, so it is logged at debug only.
    #[instrument(skip_all, fields(request = %request.display, host = %request.host), err(level = "debug", Display))]
    pub(crate) async fn send(&self, request: &ProbeRequest) -> Result<ProbeResponse, ProbeFailure> {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let breaker = self.circuits.for_host(&request.host);
        if breaker.try_acquire().is_err() {
            return Err(ProbeFailure {
                kind: ProbeErrorKind::CircuitOpen,
                message: format!(
                    "the circuit for {} is open after repeated failures; the request was not sent",
                    request.host
                ),
            });
        }
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone());
        for (name, value) in request.headers.iter().chain(&self.auth) {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let result = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(media_type);
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(ProbeResponse {
                status,
                content_type,
                body,
            })
        }
        .await;
        self.metrics
            .observe_probe(&request.host, elapsed_seconds(started));
        match result {
            Ok(response) if matches!(response.status, 502..=504) => {
                breaker.record_failure();
                Err(ProbeFailure {
                    kind: ProbeErrorKind::Unavailable,
                    message: format!(
                        "the provider answered {}: it is unavailable",
                        response.status
                    ),
                })
            }
            Ok(response) => {
                breaker.record_success();
                Ok(response)
            }
            Err(err) => {
                breaker.record_failure();
                let kind = if err.is_timeout() {
                    ProbeErrorKind::Timeout
                } else if err.is_connect() {
                    ProbeErrorKind::Connect
                } else {
                    ProbeErrorKind::Connection
                };
                Err(ProbeFailure {
                    kind,
                    message: error_chain(&err),
                })
            }
        }
    }
}

fn elapsed_seconds(started: Instant) -> f64 {
    let elapsed: Duration = Instant::now() - started;
    elapsed.as_secs_f64()
}

/// `type/subtype` of a Content-Type header value, lower case.
pub(crate) fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// An error and its causes on one line; reqwest's own message alone rarely says what
/// happened on the wire.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}
