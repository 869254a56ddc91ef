//! [`WebhookStore`] for both backends (the trait and its types are in `store/webhooks.rs`).

use super::super::Backend;
use crate::store::*;

#[async_trait::async_trait]
impl crate::store::webhooks::WebhookStore for Backend {
    async fn save_webhook(
        &self,
        uuid: &str,
        fields: &crate::store::webhooks::WebhookFields,
    ) -> Result<(crate::store::webhooks::Webhook, bool), StoreError> {
        let now = crate::store::now();
        let mut tx = self.begin_write().await?;
        let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM webhooks WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await?;
        // One upsert: two replicas saving the same uuid at once both succeed.
        sqlx::query(
            "INSERT INTO webhooks (uuid, description, consumer_id, consumer_label, provider_id, \
             provider_label, enabled, events, request, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (uuid) DO UPDATE SET description = excluded.description, \
             consumer_id = excluded.consumer_id, consumer_label = excluded.consumer_label, \
             provider_id = excluded.provider_id, provider_label = excluded.provider_label, \
             enabled = excluded.enabled, events = excluded.events, request = excluded.request, \
             updated_at = excluded.updated_at",
        )
        .bind(uuid)
        .bind(&fields.description)
        .bind(fields.consumer_id)
        .bind(&fields.consumer_label)
        .bind(fields.provider_id)
        .bind(&fields.provider_label)
        .bind(fields.enabled)
        .bind(sqlx::types::Json(&fields.events))
        .bind(sqlx::types::Json(&fields.request))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let created = existed.is_none();
        Self::commit(tx).await?;
        let webhook = self
            .webhook(uuid)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok((webhook, created))
    }

    async fn webhook(
        &self,
        uuid: &str,
    ) -> Result<Option<crate::store::webhooks::Webhook>, StoreError> {
        Ok(
            sqlx::query_as(concat!(webhook_select!(), " WHERE w.uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn webhooks(&self) -> Result<Vec<crate::store::webhooks::Webhook>, StoreError> {
        Ok(sqlx::query_as(concat!(webhook_select!(), " ORDER BY w.id"))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn delete_webhook(&self, uuid: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Deliveries still queued for it go with it: nobody wants the call any
        // more. One a worker holds right now finishes (its lease says so) and
        // keeps its log.
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status IN ('pending', 'retrying') \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < $2) \
             AND webhook_id = (SELECT id FROM webhooks WHERE uuid = $1)",
        )
        .bind(uuid)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    async fn undispatched_events(
        &self,
        limit: i64,
    ) -> Result<Vec<crate::store::events::StoredEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, consumer_id, provider_id, consumer_version_id, pact_version_id, \
             provider_version_id, verification_id, drift_run_id, request_id, traceparent, detail, \
             created_at, dispatched_at FROM broker_events WHERE dispatched_at IS NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn dispatch_events(
        &self,
        batch: &[crate::store::webhooks::EventDeliveries],
    ) -> Result<Vec<bool>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let now = crate::store::now();
        let mut tx = self.begin_write().await?;
        // Events are marked in the order of their ids (as they were read), so two
        // brokers dispatching at once take the row locks in the same order: the
        // second waits here, then sees each event dispatched and inserts nothing.
        let mut dispatched = Vec::with_capacity(batch.len());
        for event in batch {
            let marked = sqlx::query(
                "UPDATE broker_events SET dispatched_at = $2 WHERE id = $1 AND dispatched_at IS NULL",
            )
            .bind(event.event_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            dispatched.push(marked);
            if !marked {
                continue;
            }
            for d in &event.deliveries {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (uuid, webhook_id, webhook_uuid, webhook_description, \
                     event_id, event_name, consumer_id, provider_id, consumer_version_id, verification_id, \
                     request, request_id, traceparent, status, attempts, max_attempts, next_attempt_ms, \
                     created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', 0, $14, $15, $16, $16)",
                )
                .bind(&d.uuid)
                .bind(d.webhook_id)
                .bind(&d.webhook_uuid)
                .bind(&d.webhook_description)
                .bind(event.event_id)
                .bind(&d.event_name)
                .bind(d.consumer_id)
                .bind(d.provider_id)
                .bind(d.consumer_version_id)
                .bind(d.verification_id)
                .bind(sqlx::types::Json(&d.request))
                .bind(&d.request_id)
                .bind(&d.traceparent)
                .bind(d.max_attempts)
                .bind(d.next_attempt_ms)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        if dispatched.iter().any(|marked| *marked) {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(dispatched)
    }

    async fn claim_deliveries(
        &self,
        worker: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<crate::store::webhooks::Delivery>, StoreError> {
        // A cheap read first: most polls find nothing due, and need no write lock.
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE status IN ('pending', 'retrying') \
             AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let ids = Self::claimable_delivery_ids_tx(&mut tx, now_ms, limit).await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let delivery: crate::store::webhooks::Delivery = sqlx::query_as(
                "UPDATE webhook_deliveries SET claimed_by = $2, claimed_until_ms = $3 WHERE id = $1 \
                 RETURNING id, uuid, webhook_id, webhook_uuid, webhook_description, event_id, event_name, \
                 consumer_id, provider_id, consumer_version_id, verification_id, request, request_id, \
                 traceparent, status, attempts, max_attempts, next_attempt_ms, claimed_by, claimed_until_ms, \
                 last_status, last_error, created_at, updated_at"
            )
            .bind(id)
            .bind(worker)
            .bind(lease_until_ms)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(delivery);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_attempt(
        &self,
        delivery_id: i64,
        record: &crate::store::webhooks::AttemptRecord,
    ) -> Result<bool, StoreError> {
        use crate::store::webhooks::{DeliveryStatus, NextStep};
        let now = crate::store::now();
        let mut tx = self.begin_write().await?;
        let (status, next_ms) = match record.next {
            NextStep::Succeeded => (DeliveryStatus::Succeeded, None),
            NextStep::RetryAt(at) => (DeliveryStatus::Retrying, Some(at)),
            NextStep::Dead => (DeliveryStatus::Dead, None),
        };
        let attempt: Option<i64> = sqlx::query_scalar(
            // A delivery whose webhook was deleted while an attempt was in flight
            // is not retried: it ends in the dead-letter list, from where it can
            // still be replayed.
            "UPDATE webhook_deliveries SET status = CASE WHEN webhook_id IS NULL AND $3 = 'retrying' \
             THEN 'dead' ELSE $3 END, attempts = attempts + 1, \
             next_attempt_ms = COALESCE($4, next_attempt_ms), claimed_by = NULL, claimed_until_ms = NULL, \
             last_status = $5, last_error = $6, updated_at = $7 \
             WHERE id = $1 AND claimed_by = $2 RETURNING attempts",
        )
        .bind(delivery_id)
        .bind(&record.worker)
        .bind(status.as_str())
        .bind(next_ms)
        .bind(record.status)
        .bind(&record.error)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let held = attempt.is_some();
        let number = match attempt {
            Some(number) => number,
            None => {
                let done: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = $1",
                )
                .bind(delivery_id)
                .fetch_one(&mut *tx)
                .await?;
                done + 1
            }
        };
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, worker, success, status, error, \
             duration_ms, log, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(delivery_id)
        .bind(number)
        .bind(&record.worker)
        .bind(record.success)
        .bind(record.status)
        .bind(&record.error)
        .bind(record.duration_ms)
        .bind(&record.log)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held)
    }

    async fn deliveries(
        &self,
        filter: &crate::store::webhooks::DeliveryFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<crate::store::webhooks::Delivery>, StoreError> {
        Ok(sqlx::query_as(concat!(
            delivery_select!(),
            " WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR webhook_uuid = $2) \
             AND ($3 IS NULL OR consumer_id = $3) AND ($4 IS NULL OR provider_id = $4) \
             AND ($5 IS NULL OR consumer_version_id = $5) AND ($6 IS NULL OR verification_id = $6) \
             ORDER BY id DESC LIMIT $7 OFFSET $8"
        ))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(&filter.webhook_uuid)
        .bind(filter.consumer_id)
        .bind(filter.provider_id)
        .bind(filter.consumer_version_id)
        .bind(filter.verification_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn delivery(
        &self,
        uuid: &str,
    ) -> Result<Option<crate::store::webhooks::Delivery>, StoreError> {
        Ok(
            sqlx::query_as(concat!(delivery_select!(), " WHERE uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn delivery_attempts(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<crate::store::webhooks::DeliveryAttempt>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, delivery_id, attempt, worker, success, status, error, duration_ms, log, created_at \
             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn replay_delivery(
        &self,
        uuid: &str,
        now_ms: i64,
        extra_attempts: i64,
    ) -> Result<Option<crate::store::webhooks::Delivery>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', max_attempts = attempts + $2, \
             next_attempt_ms = $3, claimed_by = NULL, claimed_until_ms = NULL, updated_at = $4 \
             WHERE uuid = $1 AND status = 'dead'",
        )
        .bind(uuid)
        .bind(extra_attempts)
        .bind(now_ms)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        self.delivery(uuid).await
    }

    async fn delivery_counts(&self) -> Result<crate::store::webhooks::DeliveryCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut counts = crate::store::webhooks::DeliveryCounts::default();
        for (status, count) in rows {
            match status.as_str() {
                "pending" => counts.pending = count,
                "retrying" => counts.retrying = count,
                "succeeded" => counts.succeeded = count,
                "dead" => counts.dead = count,
                _ => {}
            }
        }
        Ok(counts)
    }

    async fn rewrite_requests(
        &self,
        rewrite: &(
             dyn for<'v> Fn(&'v serde_json::Value) -> Option<serde_json::Value> + Send + Sync
         ),
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        Self::lock_requests_tx(&mut tx).await?;
        let mut replaced = 0;
        let templates: Vec<(i64, sqlx::types::Json<serde_json::Value>)> =
            sqlx::query_as("SELECT id, request FROM webhooks ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        for (id, request) in templates {
            if let Some(new) = rewrite(&request.0) {
                sqlx::query("UPDATE webhooks SET request = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sqlx::types::Json(&new))
                    .execute(&mut *tx)
                    .await?;
                replaced += 1;
            }
        }
        let requests: Vec<(i64, sqlx::types::Json<serde_json::Value>)> =
            sqlx::query_as("SELECT id, request FROM webhook_deliveries ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        for (id, request) in requests {
            if let Some(new) = rewrite(&request.0) {
                sqlx::query("UPDATE webhook_deliveries SET request = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sqlx::types::Json(&new))
                    .execute(&mut *tx)
                    .await?;
                replaced += 1;
            }
        }
        Self::commit(tx).await?;
        Ok(replaced)
    }
}
