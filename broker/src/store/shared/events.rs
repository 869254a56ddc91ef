//! The outbox and audit writes every write method shares, for both backends (the trait and its types are in `store/events.rs`).

use super::super::{Backend, Db};
use crate::store::*;

impl Backend {
    /// Appends `events` to the outbox inside `tx`.
    pub(in crate::store) async fn emit_events_tx(
        tx: &mut sqlx::Transaction<'static, Db>,
        events: &[crate::store::events::NewEvent],
    ) -> Result<(), StoreError> {
        let now = crate::store::now();
        let actor = crate::store::events::current_actor();
        let request_id = actor.as_ref().and_then(|a| a.request_id.clone());
        let traceparent = actor.as_ref().and_then(|a| a.traceparent.clone());
        for event in events {
            sqlx::query(
                "INSERT INTO broker_events (kind, consumer_id, provider_id, consumer_version_id, \
                 pact_version_id, provider_version_id, verification_id, drift_run_id, detail, created_at, \
                 request_id, traceparent) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(event.kind.as_str())
            .bind(event.consumer_id)
            .bind(event.provider_id)
            .bind(event.consumer_version_id)
            .bind(event.pact_version_id)
            .bind(event.provider_version_id)
            .bind(event.verification_id)
            .bind(event.drift_run_id)
            .bind(sqlx::types::Json(&event.detail))
            .bind(now)
            .bind(&request_id)
            .bind(&traceparent)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Commits `tx`, first recording the write in the audit log when it is
    /// made on behalf of an actor (see [`crate::store::events::with_actor`]).
    pub(in crate::store) async fn commit(
        mut tx: sqlx::Transaction<'static, Db>,
    ) -> Result<(), StoreError> {
        if let Some(actor) = crate::store::events::current_actor() {
            sqlx::query(
                "INSERT INTO audit_log (actor, method, path, request_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&actor.name)
            .bind(&actor.method)
            .bind(&actor.path)
            .bind(&actor.request_id)
            .bind(crate::store::now())
            .execute(&mut *tx)
            .await?;
        }
        tracing::Instrument::instrument(tx.commit(), tracing::info_span!("commit")).await?;
        Ok(())
    }
}
