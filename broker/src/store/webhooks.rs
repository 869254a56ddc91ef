//! Storage of webhooks, their delivery queue and execution logs.
//!
//! The queue is a table (`webhook_deliveries`), so a pending delivery survives a
//! restart. [`WebhookStore::dispatch_events`] turns a batch of outbox events into
//! deliveries and marks them dispatched in one transaction; only the first broker to
//! do so for an event inserts anything. [`WebhookStore::claim_deliveries`] hands due
//! deliveries to one worker under a lease (row locks with `SKIP LOCKED` on
//! PostgreSQL, the single writer on SQLite); a lease that runs out (its broker
//! stopped) makes the delivery claimable again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreError;
use super::events::StoredEvent;

/// A stored webhook. The consumer and provider are either a pacticipant (id and
/// name), a label, or neither (any).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    pub id: i64,
    pub uuid: String,
    pub description: Option<String>,
    pub consumer_id: Option<i64>,
    pub consumer_name: Option<String>,
    pub consumer_label: Option<String>,
    pub provider_id: Option<i64>,
    pub provider_name: Option<String>,
    pub provider_label: Option<String>,
    pub enabled: bool,
    #[sqlx(json)]
    pub events: Vec<String>,
    /// The request template: `method`, `url`, `headers`, `body`, `username`, `password`.
    #[sqlx(json)]
    pub request: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a webhook is made of, as validated by the API.
#[derive(Debug, Clone)]
pub struct WebhookFields {
    pub description: Option<String>,
    pub consumer_id: Option<i64>,
    pub consumer_label: Option<String>,
    pub provider_id: Option<i64>,
    pub provider_label: Option<String>,
    pub enabled: bool,
    pub events: Vec<String>,
    pub request: Value,
}

/// The state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    /// The receiver answered 2xx.
    Succeeded,
    /// Every attempt failed: the dead-letter list.
    Dead,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(value: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub uuid: String,
    pub webhook_id: i64,
    pub webhook_uuid: String,
    pub webhook_description: Option<String>,
    pub event_name: String,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub verification_id: Option<i64>,
    /// The rendered request (`method`, `url`, `headers`, `body`, `username`, `password`).
    pub request: Value,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    pub max_attempts: i64,
    pub next_attempt_ms: i64,
}

/// A queued (or finished) delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub uuid: String,
    pub webhook_id: Option<i64>,
    pub webhook_uuid: String,
    pub webhook_description: Option<String>,
    pub event_id: Option<i64>,
    pub event_name: String,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub verification_id: Option<i64>,
    #[sqlx(json)]
    pub request: Value,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_ms: i64,
    pub claimed_by: Option<String>,
    pub claimed_until_ms: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    pub fn status(&self) -> DeliveryStatus {
        DeliveryStatus::parse(&self.status).unwrap_or(DeliveryStatus::Pending)
    }
}

/// Which deliveries to list. Unset fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub webhook_uuid: Option<String>,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub verification_id: Option<i64>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    /// Try again at this time (epoch milliseconds).
    RetryAt(i64),
    Dead,
}

/// One finished attempt, with its execution log.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub worker: String,
    pub success: bool,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The execution log, with secrets already redacted.
    pub log: String,
    pub next: NextStep,
}

/// A stored attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub attempt: i64,
    pub worker: String,
    pub success: bool,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub log: String,
    pub created_at: DateTime<Utc>,
}

/// How many deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub retrying: i64,
    pub succeeded: i64,
    pub dead: i64,
}

/// The webhook part of the [`Store`](super::Store).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates a webhook, or replaces the one with this uuid; returns it and whether
    /// it was created.
    async fn save_webhook(
        &self,
        uuid: &str,
        fields: &WebhookFields,
    ) -> Result<(Webhook, bool), StoreError>;
    async fn webhook(&self, uuid: &str) -> Result<Option<Webhook>, StoreError>;
    /// Every webhook, oldest first.
    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError>;
    async fn delete_webhook(&self, uuid: &str) -> Result<bool, StoreError>;

    /// Outbox events not turned into deliveries yet, oldest first.
    async fn undispatched_events(&self, limit: i64) -> Result<Vec<StoredEvent>, StoreError>;
    /// Marks a batch of events dispatched and queues their deliveries, all in one
    /// transaction (one commit, however many events: a burst of publications costs
    /// the writer one flush to disk, not one per event). Returns, per event in the
    /// order given, whether this broker dispatched it: `false` (and nothing of it
    /// stored) when another broker dispatched it first.
    async fn dispatch_events(&self, batch: &[EventDeliveries]) -> Result<Vec<bool>, StoreError>;

    /// Claims up to `limit` deliveries due at `now_ms` for `worker` until `lease_until_ms`.
    async fn claim_deliveries(
        &self,
        worker: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Records an attempt of a delivery `worker` holds and moves the delivery on.
    /// Returns false when the worker no longer held it (its lease ran out and another
    /// worker claimed it); the attempt is logged all the same.
    async fn finish_attempt(
        &self,
        delivery_id: i64,
        record: &AttemptRecord,
    ) -> Result<bool, StoreError>;
    /// Deliveries matching the filter, newest first.
    async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn delivery(&self, uuid: &str) -> Result<Option<Delivery>, StoreError>;
    /// The attempts of a delivery, oldest first.
    async fn delivery_attempts(&self, delivery_id: i64)
    -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// Queues a dead delivery again with `extra_attempts` more attempts, due at
    /// `now_ms`. `None` when there is no such delivery; unchanged when it is not dead.
    async fn replay_delivery(
        &self,
        uuid: &str,
        now_ms: i64,
        extra_attempts: i64,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Deliveries by status (including the dead-letter list).
    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError>;
    /// Passes every stored request (webhook templates and delivery requests) to
    /// `rewrite` and stores the ones it returns, in one transaction that no other
    /// broker writes these tables during. Returns how many were replaced.
    async fn rewrite_requests(
        &self,
        rewrite: &(dyn for<'v> Fn(&'v Value) -> Option<Value> + Send + Sync),
    ) -> Result<u64, StoreError>;
}

/// An outbox event and the deliveries it queues.
#[derive(Debug, Clone)]
pub struct EventDeliveries {
    pub event_id: i64,
    pub deliveries: Vec<NewDelivery>,
}

macro_rules! webhook_select {
    () => {
        "SELECT w.id, w.uuid, w.description, w.consumer_id, c.name AS consumer_name, w.consumer_label, \
         w.provider_id, p.name AS provider_name, w.provider_label, w.enabled, w.events, w.request, \
         w.created_at, w.updated_at \
         FROM webhooks w LEFT JOIN pacticipants c ON c.id = w.consumer_id \
         LEFT JOIN pacticipants p ON p.id = w.provider_id"
    };
}

macro_rules! delivery_select {
    () => {
        "SELECT id, uuid, webhook_id, webhook_uuid, webhook_description, event_id, event_name, \
         consumer_id, provider_id, consumer_version_id, verification_id, request, request_id, \
         traceparent, status, attempts, max_attempts, next_attempt_ms, claimed_by, claimed_until_ms, \
         last_status, last_error, created_at, updated_at FROM webhook_deliveries"
    };
}
