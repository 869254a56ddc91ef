//! Alerting: once per new finding and once when it is resolved, never on every check.
//!
//! [`AlertTracker`] remembers which findings are open (by [`Finding::fingerprint`]) and
//! turns each report into events; [`WebhookSender`] posts them to a webhook whose body works
//! with Slack-style incoming webhooks (`{"text": ...}`) and carries structured fields
//! beside the text for other receivers. Delivery is retried with exponential backoff and
//! full jitter.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tracing::{instrument, warn};
use url::Url;

use crate::error::{AlertFailure, MonitorError};
use crate::report::{DriftReport, Finding};

/// Something worth telling a person about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertEvent {
    /// A finding not seen in the previous checks.
    New(Finding),
    /// A finding seen before that this check, which got an answer for its interaction, no
    /// longer shows.
    Resolved(Finding),
}

/// The findings that are open, across checks.
#[derive(Debug, Default)]
pub struct AlertTracker {
    open: BTreeMap<String, Finding>,
}

impl AlertTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that considers the findings of an earlier report open, so that a restarted
    /// service or the next `--once` run does not alert again for them.
    pub fn from_report(report: &DriftReport) -> Self {
        Self {
            open: report
                .findings
                .iter()
                .map(|finding| (finding.fingerprint(), finding.clone()))
                .collect(),
        }
    }

    /// Findings currently open.
    pub fn open(&self) -> impl Iterator<Item = &Finding> {
        self.open.values()
    }

    /// Compares a report with the open findings. A finding whose interaction could not be
    /// probed this time (a probe error) stays open: no answer is not a recovery.
    pub fn observe(&mut self, report: &DriftReport) -> Vec<AlertEvent> {
        let unanswered: BTreeSet<(&str, &str)> = report
            .probe_errors
            .iter()
            .flat_map(|error| {
                error
                    .consumers
                    .iter()
                    .map(|consumer| (consumer.as_str(), error.interaction.as_str()))
            })
            .collect();
        let current: BTreeMap<String, &Finding> = report
            .findings
            .iter()
            .map(|finding| (finding.fingerprint(), finding))
            .collect();

        let mut events = Vec::new();
        let mut still_open = BTreeMap::new();
        for (fingerprint, finding) in std::mem::take(&mut self.open) {
            let unknown = finding.consumers.iter().any(|consumer| {
                unanswered.contains(&(consumer.as_str(), finding.interaction.as_str()))
            });
            if current.contains_key(&fingerprint) || unknown {
                still_open.insert(fingerprint, finding);
            } else {
                events.push(AlertEvent::Resolved(finding));
            }
        }
        for (fingerprint, finding) in current {
            if let std::collections::btree_map::Entry::Vacant(entry) = still_open.entry(fingerprint)
            {
                events.push(AlertEvent::New(finding.clone()));
                entry.insert(finding.clone());
            } else {
                // Keep the latest rendering (actual value, pointer) of an open finding.
                still_open.insert(finding.fingerprint(), finding.clone());
            }
        }
        self.open = still_open;
        events
    }
}

/// The webhook body of an event.
pub fn webhook_payload(event: &AlertEvent, report: &DriftReport) -> Value {
    let place = match &report.environment {
        Some(environment) => format!("{} ({environment})", report.provider),
        None => report.provider.clone(),
    };
    let (kind, finding, text) = match event {
        AlertEvent::New(finding) => (
            "drift_detected",
            finding,
            format!(
                "Drift in {place}: {} at {} in \"{}\" ({}), relied on by {}. Expected {}, got {}.{}",
                finding.class,
                finding.pointer,
                finding.interaction,
                finding.request,
                finding.consumers.join(", "),
                finding.expected,
                finding.actual,
                finding
                    .hint
                    .as_ref()
                    .map(|hint| format!(" Note: {hint}."))
                    .unwrap_or_default()
            ),
        ),
        AlertEvent::Resolved(finding) => (
            "drift_resolved",
            finding,
            format!(
                "Drift resolved in {place}: {} at {} in \"{}\" ({}) answers as {} expect again.",
                finding.class,
                finding.pointer,
                finding.interaction,
                finding.request,
                finding.consumers.join(", ")
            ),
        ),
    };
    json!({
        "text": text,
        "event": kind,
        "provider": report.provider,
        "environment": report.environment,
        "baseUrl": report.base_url,
        "checkedAt": report.finished_at,
        "finding": finding,
    })
}

/// Where and how alerts are delivered.
#[derive(Clone)]
pub struct WebhookSettings {
    /// The webhook URL. Incoming-webhook URLs are credentials, so only the host is ever
    /// logged or shown in errors.
    pub url: Url,
    /// Attempts per alert, the first included.
    pub attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Timeout of one delivery attempt.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("host", &self.url.host_str())
            .field("attempts", &self.attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl WebhookSettings {
    /// Five attempts over about half a minute at most.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        }
    }

    /// The wait before attempt `retry + 1` (`retry` counts from 1): a uniformly random
    /// share of `base * 2^(retry-1)`, capped ("full jitter"), so that many monitors that
    /// failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let ceiling = exponential.min(self.max_delay);
        let millis = ceiling.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Posts alert payloads.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl WebhookSender {
    pub fn new(settings: WebhookSettings) -> Result<Self, MonitorError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(MonitorError::HttpClient)?;
        Ok(Self { client, settings })
    }

    fn host(&self) -> String {
        self.settings.url.host_str().unwrap_or_default().to_string()
    }

    /// Posts `payload`, retrying transport errors, 429 and 5xx answers.
    #[instrument(skip_all, fields(host = %self.host()), err)]
    pub async fn send(&self, payload: &Value) -> Result<(), MonitorError> {
        let attempts = self.settings.attempts.max(1);
        let mut attempt = 1;
        loop {
            let failure = match self
                .client
                .post(self.settings.url.clone())
                .json(payload)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    let failure = AlertFailure::Status(status.as_u16());
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(self.failed(attempt, failure));
                    }
                    failure
                }
                Err(err) => AlertFailure::Transport(err.without_url()),
            };
            if attempt >= attempts {
                return Err(self.failed(attempt, failure));
            }
            let wait = self.settings.backoff(attempt);
            warn!(attempt, ?wait, error = %failure, "alert delivery failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Delivers the alert of each event, in order. Every event is tried even when one fails;
    /// the failures come back together.
    pub async fn deliver(&self, events: &[AlertEvent], report: &DriftReport) -> Vec<MonitorError> {
        let mut failures = Vec::new();
        for event in events {
            if let Err(err) = self.send(&webhook_payload(event, report)).await {
                failures.push(err);
            }
        }
        failures
    }

    fn failed(&self, attempts: u32, failure: AlertFailure) -> MonitorError {
        MonitorError::AlertDelivery {
            host: self.host(),
            attempts,
            source: failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::report::{FindingClass, ProbeError, ProbeErrorKind};

    fn finding(interaction: &str, pointer: &str) -> Finding {
        Finding {
            consumers: vec!["web".to_string()],
            interaction: interaction.to_string(),
            request: "GET /orders/1".to_string(),
            pointer: pointer.to_string(),
            class: FindingClass::FormatChanged,
            expected: "a date".to_string(),
            actual: "integer 1".to_string(),
            occurrences: 1,
            hint: None,
        }
    }

    fn report(findings: Vec<Finding>, probe_errors: Vec<ProbeError>) -> DriftReport {
        DriftReport {
            provider: "orders".to_string(),
            environment: Some("production".to_string()),
            base_url: "http://orders/".to_string(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            pacts: Vec::new(),
            probes: 1,
            interactions_checked: 1,
            findings,
            probe_errors,
            skipped: Vec::new(),
            events: None,
        }
    }

    #[test]
    fn alerts_once_per_new_finding_and_once_on_recovery() {
        let mut tracker = AlertTracker::new();
        let drift = report(vec![finding("get order", "/body/created")], vec![]);
        assert_eq!(
            tracker.observe(&drift),
            vec![AlertEvent::New(finding("get order", "/body/created"))]
        );
        assert_eq!(tracker.observe(&drift), vec![]);
        assert_eq!(tracker.observe(&drift), vec![]);
        let clean = report(vec![], vec![]);
        assert_eq!(
            tracker.observe(&clean),
            vec![AlertEvent::Resolved(finding("get order", "/body/created"))]
        );
        assert_eq!(tracker.observe(&clean), vec![]);
    }

    #[test]
    fn an_earlier_report_seeds_the_open_findings() {
        let drift = report(vec![finding("get order", "/body/created")], vec![]);
        let mut tracker = AlertTracker::from_report(&drift);
        assert_eq!(tracker.observe(&drift), vec![]);
        assert_eq!(tracker.observe(&report(vec![], vec![])).len(), 1);
    }

    #[test]
    fn the_same_drift_on_another_array_item_is_not_new() {
        let mut tracker = AlertTracker::new();
        tracker.observe(&report(vec![finding("list", "/body/items/3/sku")], vec![]));
        assert_eq!(
            tracker.observe(&report(vec![finding("list", "/body/items/0/sku")], vec![])),
            vec![]
        );
    }

    #[test]
    fn no_answer_is_not_a_recovery() {
        let mut tracker = AlertTracker::new();
        tracker.observe(&report(vec![finding("get order", "/body/created")], vec![]));
        let unreachable = report(
            vec![],
            vec![ProbeError {
                consumers: vec!["web".to_string()],
                interaction: "get order".to_string(),
                request: "GET /orders/1".to_string(),
                kind: ProbeErrorKind::Timeout,
                message: "timed out".to_string(),
            }],
        );
        assert_eq!(tracker.observe(&unreachable), vec![]);
        assert_eq!(tracker.open().count(), 1);
    }

    #[test]
    fn payloads_work_with_slack_style_webhooks() {
        let drift = report(vec![finding("get order", "/body/created")], vec![]);
        let payload = webhook_payload(
            &AlertEvent::New(finding("get order", "/body/created")),
            &drift,
        );
        let text = payload["text"].as_str().unwrap();
        assert!(
            text.starts_with("Drift in orders (production): format changed at /body/created"),
            "{text}"
        );
        assert_eq!(payload["event"], "drift_detected");
        assert_eq!(payload["finding"]["class"], "format_changed");
        let resolved = webhook_payload(
            &AlertEvent::Resolved(finding("get order", "/body/created")),
            &drift,
        );
        assert_eq!(resolved["event"], "drift_resolved");
        assert!(
            resolved["text"]
                .as_str()
                .unwrap()
                .starts_with("Drift resolved in orders")
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_the_cap() {
        let settings = WebhookSettings {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..WebhookSettings::new(Url::parse("http://hooks.example/x").unwrap())
        };
        for _ in 0..100 {
            assert!(settings.backoff(1) <= Duration::from_millis(100));
            assert!(settings.backoff(3) <= Duration::from_millis(400));
            assert!(settings.backoff(10) <= Duration::from_millis(1000));
        }
        // Jitter: the waits are not all the same.
        let waits: BTreeSet<Duration> = (0..50).map(|_| settings.backoff(4)).collect();
        assert!(waits.len() > 1);
    }
}
