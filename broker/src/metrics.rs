//! Prometheus metrics of a running broker, served at `GET /metrics` in the text
//! exposition format.
//!
//! Each broker holds its own [`Metrics`] registry in the application state (there
//! is no global registry: tests run many brokers in one process). The [`track`]
//! middleware counts every request and times it by *route template* (`/pacts/
//! provider/{provider}/...`, never the raw path, so the number of series stays
//! bounded) and status class; handlers count the contracts and verification
//! results published; the state of the database pool and the webhook deliveries
//! by status (the dead ones are the dead-letter depth) are read when the metrics
//! are scraped.
//!
//! `/metrics` follows authentication like any other read: with credentials
//! configured, a scraper presents the read-only token or Basic credentials.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{ContractOutcome, PublishOutcome};

/// The route label of requests no route matched (404s): one series for all of them.
const UNMATCHED: &str = "unmatched";

/// The broker's metrics, all prefixed `accord_broker_`.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    contracts_published: IntCounterVec,
    verifications_published: IntCounterVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    webhook_deliveries: IntGaugeVec,
    webhook_dead_letters: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        // The definitions below are constant and their names distinct, so building
        // and registering them cannot fail at run time; a failure is a bug here.
        Self::try_new().expect("the broker's metric definitions are valid")
    }

    fn try_new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("accord_broker".to_string()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template, method and status class.",
            ),
            &["route", "method", "status"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from receiving a request to having its response ready, by route template and method.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method"],
        )?;
        let contracts_published = IntCounterVec::new(
            Opts::new(
                "contracts_published_total",
                "Contracts published, by outcome (created, unchanged, overwritten).",
            ),
            &["outcome"],
        )?;
        let verifications_published = IntCounterVec::new(
            Opts::new(
                "verification_results_published_total",
                "Verification results published, by result (success, failure).",
            ),
            &["result"],
        )?;
        let pool_connections = IntGauge::new(
            "database_pool_connections",
            "Open database connections, idle or in use.",
        )?;
        let pool_idle = IntGauge::new(
            "database_pool_idle_connections",
            "Open database connections waiting for work.",
        )?;
        let pool_max = IntGauge::new(
            "database_pool_max_connections",
            "The most database connections the pool opens.",
        )?;
        let webhook_deliveries = IntGaugeVec::new(
            Opts::new(
                "webhook_deliveries",
                "Webhook deliveries stored, by status (pending, retrying, succeeded, dead).",
            ),
            &["status"],
        )?;
        let webhook_dead_letters = IntGauge::new(
            "webhook_dead_letter_depth",
            "Webhook deliveries that gave up after their last retry and wait for a person.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(contracts_published.clone()))?;
        registry.register(Box::new(verifications_published.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(webhook_dead_letters.clone()))?;
        // Every outcome starts at zero, so a rate over a quiet period is 0, not absent.
        for outcome in [
            ContractOutcome::Created,
            ContractOutcome::Unchanged,
            ContractOutcome::Overwritten,
        ] {
            contracts_published.with_label_values(&[outcome.as_str()]);
        }
        for result in ["success", "failure"] {
            verifications_published.with_label_values(&[result]);
        }
        Ok(Self {
            registry,
            requests,
            request_duration,
            contracts_published,
            verifications_published,
            pool_connections,
            pool_idle,
            pool_max,
            webhook_deliveries,
            webhook_dead_letters,
        })
    }

    /// Counts the contracts of a successful publication.
    pub fn contracts_published(&self, outcome: &PublishOutcome) {
        for (result, _) in &outcome.contracts {
            self.contracts_published
                .with_label_values(&[result.as_str()])
                .inc();
        }
    }

    /// Counts one verification result stored.
    pub fn verification_published(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.verifications_published
            .with_label_values(&[result])
            .inc();
    }

    fn observe(&self, route: &str, method: &Method, status: StatusCode, seconds: f64) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[route, method, status_class(status)])
            .inc();
        self.request_duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// The text exposition of every metric, with the pool and webhook gauges read now.
    async fn render(&self, state: &AppState) -> Result<String, prometheus::Error> {
        let pool = state.store.pool_state();
        self.pool_connections.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        match state.store.delivery_counts().await {
            Ok(counts) => {
                for (status, count) in [
                    ("pending", counts.pending),
                    ("retrying", counts.retrying),
                    ("succeeded", counts.succeeded),
                    ("dead", counts.dead),
                ] {
                    self.webhook_deliveries
                        .with_label_values(&[status])
                        .set(count);
                }
                self.webhook_dead_letters.set(counts.dead);
            }
            Err(err) => {
                // The rest of the metrics (the pool among them) matter most when the
                // database is away: answer them, without stale webhook figures.
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "could not count webhook deliveries for /metrics"
                );
                self.webhook_deliveries.reset();
                self.webhook_dead_letters.set(0);
            }
        }
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// Methods outside the standard set share one label value, so a client sending
/// made-up methods cannot grow the number of series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The middleware: counts and times each request under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        route.as_deref().unwrap_or(UNMATCHED),
        &method,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `GET /metrics`: the text exposition format, version 0.0.4.
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state
        .metrics
        .render(&state)
        .await
        .map_err(|err| ApiError::Internal(Box::new(err)))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus::TEXT_FORMAT),
        )],
        body,
    )
        .into_response())
}
