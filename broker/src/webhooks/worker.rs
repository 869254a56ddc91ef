//! The delivery worker: claims due deliveries, sends them, records each attempt.
//!
//! Every attempt of one delivery carries the same `X-Accord-Delivery-Id`, so a
//! receiver can drop duplicates: delivery is at least once (a broker that stops
//! after sending but before recording the answer leaves a lease that runs out, and
//! another broker sends again with the same id). The triggering request's
//! `X-Request-ID` goes along, with a `traceparent` continuing its trace.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::WebhookConfig;
use super::model::{REDACTED, is_public_header, is_secret_header, mask_url};
use super::policy::{GuardedResolver, Refused};
use crate::store::Store;
use crate::store::webhooks::{AttemptRecord, Delivery, NextStep};
use crate::trace::TraceParent;

/// The header carrying a delivery's stable id.
pub const DELIVERY_ID: &str = "x-accord-delivery-id";

/// The longest response body kept in an execution log.
const LOGGED_BODY: usize = 4096;

/// The HTTP client for webhook calls: allow-list checked DNS, no redirects (a
/// redirect could lead anywhere), no proxies from the environment.
pub fn http_client(config: &Arc<WebhookConfig>) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            config: config.clone(),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Accord Broker v", env!("CARGO_PKG_VERSION")))
        .timeout(config.timeout)
        .build()
        .expect("the webhook HTTP client builds")
}

/// What one call of a webhook did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub success: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The refusal or error cannot be helped by retrying (the allow-list, a bad URL).
    pub permanent: bool,
    pub duration: Duration,
    /// The execution log, secrets redacted.
    pub log: String,
    pub response_body: Option<String>,
}

/// The ids a call carries.
#[derive(Debug, Clone, Default)]
pub struct CallIds {
    pub delivery_id: String,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

/// A `traceparent` for the webhook call: a child of the trigger's, or a new trace
/// when the trigger had none.
pub fn child_traceparent(parent: Option<&str>) -> String {
    TraceParent::from_header(parent)
        .map_or_else(TraceParent::fresh, |parent| parent.child())
        .to_string()
}

fn text<'a>(request: &'a Value, key: &str) -> Option<&'a str> {
    request.get(key).and_then(Value::as_str)
}

/// The cause chain of an error, which for a refused host ends in the reason.
fn chain(err: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut text = err.to_string();
    let mut refused = err.is::<Refused>();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        refused |= cause.is::<Refused>();
        source = cause.source();
    }
    (text, refused)
}

/// The first `limit` bytes of a response body as text, noting when the body went
/// on ("(truncated)") or could not be read by `deadline`. The rest is never
/// received: dropping the response closes the connection.
async fn read_prefix(
    mut response: reqwest::Response,
    limit: usize,
    deadline: tokio::time::Instant,
) -> String {
    let mut kept = Vec::with_capacity(limit.min(1024));
    let mut note = None;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => break,
            Ok(Err(err)) => {
                note = Some(format!(
                    "(the body could not be read: {})",
                    err.without_url()
                ));
                break;
            }
            Err(_) => {
                note = Some("(the rest of the body did not arrive in time)".to_string());
                break;
            }
        };
        let room = limit - kept.len();
        if room == 0 {
            // One chunk past the limit (at most one read buffer) tells a body of
            // exactly `limit` bytes from a longer one.
            if !chunk.is_empty() {
                note = Some("(truncated)".to_string());
                break;
            }
            continue;
        }
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() > room {
            note = Some("(truncated)".to_string());
            break;
        }
    }
    drop(response);
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if let Some(note) = note {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&note);
    }
    text
}

/// Sends a rendered webhook request once.
pub async fn call(
    client: &reqwest::Client,
    config: &WebhookConfig,
    request: &Value,
    ids: &CallIds,
) -> Outcome {
    let started = Instant::now();
    let mut log = String::new();
    let method = text(request, "method").unwrap_or("POST").to_string();
    let url = text(request, "url").unwrap_or_default().to_string();
    let _ = writeln!(log, "Delivery {}", ids.delivery_id);
    let _ = writeln!(log, "Request: {method} {}", mask_url(&url));
    let fail = |log: String, error: String, permanent: bool| Outcome {
        success: false,
        status: None,
        error: Some(error.clone()),
        permanent,
        duration: started.elapsed(),
        log: format!("{log}Error: {error}\n"),
        response_body: None,
    };
    let request = &match super::secrets::open_request(config.secrets_key.as_ref(), request) {
        Ok(request) => request,
        Err(err) => return fail(log, err.to_string(), true),
    };
    let url = text(request, "url").unwrap_or_default().to_string();
    let parsed = match url::Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(err) => {
            return fail(
                log,
                format!("'{}' is not a valid URL: {err}", mask_url(&url)),
                true,
            );
        }
    };
    if let Err(reason) = config.check_url(&parsed) {
        return fail(log, format!("refused by the allow-list: {reason}"), true);
    }
    let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return fail(log, format!("'{method}' is not an HTTP method"), true);
    };

    let mut headers = HeaderMap::new();
    let mut shown = Vec::new();
    if let Some(map) = request.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            let value = value.as_str().unwrap_or_default();
            let (Ok(header), Ok(header_value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return fail(log, format!("header '{name}' is not valid"), true);
            };
            headers.append(header, header_value);
            let logged = if is_public_header(request, name) {
                value
            } else {
                REDACTED
            };
            shown.push(format!("{name}: {logged}"));
        }
    }
    let traceparent = child_traceparent(ids.traceparent.as_deref());
    let mut fixed = vec![
        (DELIVERY_ID, ids.delivery_id.clone()),
        ("traceparent", traceparent),
    ];
    if let Some(request_id) = &ids.request_id {
        fixed.push(("x-request-id", request_id.clone()));
    }
    for (name, value) in fixed {
        if let Ok(value) = HeaderValue::from_str(&value) {
            shown.push(format!("{name}: {}", value.to_str().unwrap_or_default()));
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let mut builder = client.request(method, parsed);
    if let Some(username) = text(request, "username") {
        builder = builder.basic_auth(username, text(request, "password"));
        shown.push(format!("Authorization: {REDACTED}"));
    }
    match request.get("body") {
        None | Some(Value::Null) => {}
        Some(Value::String(body)) => {
            builder = builder.body(body.clone());
        }
        Some(body) => {
            if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                shown.push("Content-Type: application/json".into());
            }
            builder = builder.body(body.to_string());
        }
    }
    for line in &shown {
        let _ = writeln!(log, "  {line}");
    }
    if let Some(body) = request.get("body").filter(|b| !b.is_null()) {
        let body = body
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| body.to_string());
        let _ = writeln!(log, "  (body, {} bytes)", body.len());
    }
    let response = match builder.headers(headers).send().await {
        Ok(response) => response,
        Err(err) => {
            // The error's text would carry the URL, with its password and query.
            let err = err.without_url();
            let (text, refused) = chain(&err);
            let message = if refused {
                format!("refused by the allow-list: {text}")
            } else if err.is_timeout() {
                format!("no answer within {} ms: {text}", config.timeout.as_millis())
            } else {
                text
            };
            return fail(log, message, refused);
        }
    };
    let status = response.status();
    let _ = writeln!(log, "Response: {}", status);
    for (name, value) in response.headers() {
        let value = if is_secret_header(name.as_str()) {
            REDACTED
        } else {
            value.to_str().unwrap_or("(binary)")
        };
        let _ = writeln!(log, "  {name}: {value}");
    }
    // Only the kept prefix is read (a receiver answering gigabytes costs a few KiB),
    // within the attempt's deadline, so one trickling bytes cannot hold the worker.
    let deadline = tokio::time::Instant::from_std(started + config.timeout);
    let logged = read_prefix(response, LOGGED_BODY, deadline).await;
    if !logged.is_empty() {
        let _ = writeln!(log, "{logged}");
    }
    let success = status.is_success();
    Outcome {
        success,
        status: Some(status.as_u16()),
        error: (!success).then(|| format!("the receiver answered {status}")),
        permanent: false,
        duration: started.elapsed(),
        log,
        response_body: Some(logged),
    }
}

/// A worker of one broker.
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub config: Arc<WebhookConfig>,
    pub client: reqwest::Client,
    /// This broker's name in leases and logs.
    pub id: String,
}

impl Worker {
    /// Claims up to `limit` due deliveries for this worker.
    async fn claim(&self, limit: usize) -> Result<Vec<Delivery>, crate::store::StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        // The lease outlasts an attempt that runs into its timeout, so a live
        // worker always records its attempt before anyone else may claim.
        let lease = now + self.config.timeout.as_millis() as i64 + 5_000;
        self.store
            .claim_deliveries(&self.id, now, lease, limit as i64)
            .await
    }

    async fn deliver(&self, delivery: Delivery) {
        let ids = CallIds {
            delivery_id: delivery.uuid.clone(),
            request_id: delivery.request_id.clone(),
            traceparent: delivery.traceparent.clone(),
        };
        let attempt = delivery.attempts + 1;
        let mut outcome = call(&self.client, &self.config, &delivery.request, &ids).await;
        let next = if outcome.success {
            NextStep::Succeeded
        } else if outcome.permanent || attempt >= delivery.max_attempts {
            NextStep::Dead
        } else {
            let delay = self.config.retry_delay(attempt as u32);
            NextStep::RetryAt(chrono::Utc::now().timestamp_millis() + delay.as_millis() as i64)
        };
        let _ = match next {
            NextStep::Succeeded => writeln!(outcome.log, "Attempt {attempt} succeeded."),
            NextStep::RetryAt(at) => writeln!(
                outcome.log,
                "Attempt {attempt} of {} failed; next attempt at {}.",
                delivery.max_attempts,
                chrono::DateTime::from_timestamp_millis(at)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            ),
            NextStep::Dead => writeln!(
                outcome.log,
                "Attempt {attempt} failed; no attempts left: the delivery is in the dead-letter list."
            ),
        };
        let status = outcome.status.map(i64::from);
        tracing::info!(
            delivery_id = %delivery.uuid,
            webhook = %delivery.webhook_uuid,
            event = %delivery.event_name,
            request_id = delivery.request_id.as_deref().unwrap_or_default(),
            attempt,
            status,
            success = outcome.success,
            error = outcome.error.as_deref().unwrap_or_default(),
            "webhook attempt"
        );
        let record = AttemptRecord {
            worker: self.id.clone(),
            success: outcome.success,
            status,
            error: outcome.error,
            duration_ms: outcome.duration.as_millis() as i64,
            log: outcome.log,
            next,
        };
        match self.store.finish_attempt(delivery.id, &record).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery_id = %delivery.uuid,
                "the lease of this delivery ran out before its attempt was recorded; another broker owns it now"
            ),
            Err(err) => tracing::error!(
                delivery_id = %delivery.uuid,
                error = %err,
                "could not record a webhook attempt; the delivery will be tried again when its lease runs out"
            ),
        }
    }

    /// Runs until `stop` is cancelled, keeping up to `concurrency` attempts in
    /// flight: a slot freed by a fast receiver is refilled at once, so a slow one
    /// holds only its own slot. Attempts in flight when `stop` is cancelled are
    /// abandoned; their leases run out and a broker (this one after a restart, or
    /// another replica) sends them again with the same delivery id.
    pub async fn run(self, stop: CancellationToken) {
        let worker = Arc::new(self);
        let slots = worker.config.concurrency.max(1);
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let free = slots - in_flight.len();
            let mut filled = false;
            if free > 0 {
                match worker.claim(free).await {
                    Ok(claimed) => {
                        filled = claimed.len() == free;
                        for delivery in claimed {
                            let worker = worker.clone();
                            in_flight.spawn(async move { worker.deliver(delivery).await });
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "could not claim webhook deliveries")
                    }
                }
            }
            if filled && in_flight.len() < slots {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => {
                    in_flight.abort_all();
                    return;
                }
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = tokio::time::sleep(worker.config.poll_interval) => {}
            }
        }
    }
}
