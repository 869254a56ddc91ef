//! The outbox of broker events and the audit log, as the store writes them.
//!
//! Both are written inside the transaction of the change they describe:
//! - every publish, verification and drift run appends [`NewEvent`]s to
//!   `broker_events`; webhooks are expanded from that table after the commit, so a
//!   committed change always has its event and a rolled-back one never does;
//! - every committed write made on behalf of a request appends one `audit_log` row
//!   naming the [`Actor`] the request runs as (set by the HTTP layer with
//!   [`with_actor`]). Writes made outside a request (background work) are not
//!   audited unless the work sets an actor itself.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who a write is made for, and through which request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user name of Basic credentials, `token` / `read-only token`, or `anonymous`.
    pub name: String,
    pub method: String,
    pub path: String,
    pub request_id: Option<String>,
    /// The W3C `traceparent` the request came with, if any.
    pub traceparent: Option<String>,
}

tokio::task_local! {
    static ACTOR: Actor;
}

/// Runs `future` with `actor` as the author of every write it commits.
pub async fn with_actor<F: Future>(actor: Actor, future: F) -> F::Output {
    ACTOR.scope(actor, future).await
}

/// The actor of the current task, if a request (or a job) set one.
pub fn current_actor() -> Option<Actor> {
    ACTOR.try_with(Actor::clone).ok()
}

/// One row of the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub method: String,
    pub path: String,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What kind of change an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A consumer version published a pact with a provider (new, same or overwritten).
    ContractPublished,
    /// A provider version published a verification result for a pact.
    VerificationPublished,
    /// A drift run opened or resolved findings.
    DriftChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ContractPublished => "contract_published",
            EventKind::VerificationPublished => "verification_published",
            EventKind::DriftChanged => "drift_changed",
        }
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        match value {
            "contract_published" => Some(EventKind::ContractPublished),
            "verification_published" => Some(EventKind::VerificationPublished),
            "drift_changed" => Some(EventKind::DriftChanged),
            _ => None,
        }
    }
}

/// The facts of an event that its ids do not carry, decided inside the write's
/// transaction so they do not depend on what happens later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventDetail {
    /// Contract: `created`, `unchanged` or `overwritten` (see `ContractOutcome`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Contract: the content had never been published for this consumer and provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_is_new: Option<bool>,
    /// Contract: the pact version of the integration's latest earlier publication
    /// (by another consumer version), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_pact_version_id: Option<i64>,
    /// Verification: whether it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Drift: findings the run opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_findings: Vec<i64>,
    /// Drift: findings the run resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_findings: Vec<i64>,
}

/// An event to append to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub pact_version_id: Option<i64>,
    pub provider_version_id: Option<i64>,
    pub verification_id: Option<i64>,
    pub drift_run_id: Option<i64>,
    pub detail: EventDetail,
}

impl NewEvent {
    pub fn new(kind: EventKind) -> NewEvent {
        NewEvent {
            kind,
            consumer_id: None,
            provider_id: None,
            consumer_version_id: None,
            pact_version_id: None,
            provider_version_id: None,
            verification_id: None,
            drift_run_id: None,
            detail: EventDetail::default(),
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: StoredEventKind,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub pact_version_id: Option<i64>,
    pub provider_version_id: Option<i64>,
    pub verification_id: Option<i64>,
    pub drift_run_id: Option<i64>,
    /// The `X-Request-ID` and `traceparent` of the request that caused the event.
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    #[sqlx(json)]
    pub detail: EventDetail,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
}

/// An [`EventKind`] read back from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEventKind(pub EventKind);

impl TryFrom<String> for StoredEventKind {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        EventKind::parse(&value)
            .map(StoredEventKind)
            .ok_or_else(|| format!("unknown event kind '{value}' in broker_events"))
    }
}
