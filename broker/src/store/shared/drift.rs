//! [`DriftStore`] for both backends: drift runs and findings.

use serde_json::Value;

use super::super::Backend;
use crate::store::*;

#[async_trait::async_trait]
impl DriftStore for Backend {
    #[tracing::instrument(skip_all, fields(provider_id = run.provider_id, findings = run.findings.len()), err)]
    async fn record_drift_run(&self, run: &NewDriftRun) -> Result<RecordedDriftRun, StoreError> {
        let environment_key = run.environment_id.unwrap_or(0);
        let mut tx = self.begin_write().await?;
        // Two runs of one provider must not both decide which findings are new.
        Self::lock_drift_scope(&mut tx, run.provider_id).await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM drift_runs WHERE provider_id = $1 AND COALESCE(environment_id, 0) = $2 \
             AND started_at = $3 AND finished_at = $4",
        )
        .bind(run.provider_id)
        .bind(environment_key)
        .bind(run.started_at)
        .bind(run.finished_at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            tx.rollback().await?;
            let stored = self
                .drift_run(id)
                .await?
                .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
            let scope = match run.environment_id {
                Some(id) => EnvironmentScope::Id(id),
                None => EnvironmentScope::Unnamed,
            };
            let open = self.open_drift_findings(run.provider_id, scope).await?;
            return Ok(RecordedDriftRun {
                run: stored,
                created: false,
                changes: DriftChanges {
                    open,
                    ..DriftChanges::default()
                },
            });
        }
        let latest_finished: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
            "SELECT finished_at FROM drift_runs WHERE provider_id = $1 AND COALESCE(environment_id, 0) = $2 \
             AND applied ORDER BY id DESC LIMIT 1",
        )
        .bind(run.provider_id)
        .bind(environment_key)
        .fetch_optional(&mut *tx)
        .await?;
        let applied = latest_finished.is_none_or(|latest| run.finished_at >= latest);
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO drift_runs (provider_id, environment_id, base_url, started_at, finished_at, probes, \
             interactions_checked, finding_count, probe_error_count, skipped_count, applied, report, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(run.provider_id)
        .bind(run.environment_id)
        .bind(&run.base_url)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.probes)
        .bind(run.interactions_checked)
        .bind(run.findings.len() as i64)
        .bind(run.probe_errors.len() as i64)
        .bind(run.skipped.len() as i64)
        .bind(applied)
        .bind(sqlx::types::Json(&run.report))
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        let mut new_ids = Vec::new();
        let mut resolved_ids = Vec::new();
        let mut unchecked_ids = Vec::new();
        if applied {
            let open: Vec<DriftFinding> = sqlx::query_as(concat!(
                drift_finding_select!(),
                " WHERE f.provider_id = $1 AND COALESCE(f.environment_id, 0) = $2 AND f.resolved_at IS NULL ORDER BY f.id"
            ))
            .bind(run.provider_id)
            .bind(environment_key)
            .fetch_all(&mut *tx)
            .await?;
            let plan = crate::drift::reconcile(&open, run);
            for index in plan.new {
                let f = &run.findings[index];
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO drift_findings (provider_id, environment_id, fingerprint, consumers, interaction, \
                     request, pointer, class, expected, actual, occurrences, hint, first_seen_at, last_seen_at, \
                     last_run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id",
                )
                .bind(run.provider_id)
                .bind(run.environment_id)
                .bind(&f.fingerprint)
                .bind(sqlx::types::Json(&f.consumers))
                .bind(&f.interaction)
                .bind(&f.request)
                .bind(&f.pointer)
                .bind(&f.class)
                .bind(&f.expected)
                .bind(&f.actual)
                .bind(f.occurrences)
                .bind(&f.hint)
                .bind(run.finished_at)
                .bind(run_id)
                .fetch_one(&mut *tx)
                .await?;
                new_ids.push(id);
            }
            // A finding seen again takes the run's rendering of it: the value the
            // provider answers may change while the drift stays the same.
            for (id, index) in plan.seen_again {
                let f = &run.findings[index];
                sqlx::query(
                    "UPDATE drift_findings SET consumers = $2, request = $3, pointer = $4, expected = $5, \
                     actual = $6, occurrences = $7, hint = $8, last_seen_at = $9, last_run_id = $10 WHERE id = $1",
                )
                .bind(id)
                .bind(sqlx::types::Json(&f.consumers))
                .bind(&f.request)
                .bind(&f.pointer)
                .bind(&f.expected)
                .bind(&f.actual)
                .bind(f.occurrences)
                .bind(&f.hint)
                .bind(run.finished_at)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            }
            for id in plan.resolved {
                sqlx::query("UPDATE drift_findings SET resolved_at = $2, resolved_run_id = $3 WHERE id = $1")
                    .bind(id)
                    .bind(run.finished_at)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
                resolved_ids.push(id);
            }
            for (id, reason) in plan.unchecked {
                sqlx::query("UPDATE drift_findings SET unchecked_run_id = $2, unchecked_reason = $3 WHERE id = $1")
                    .bind(id)
                    .bind(run_id)
                    .bind(&reason)
                    .execute(&mut *tx)
                    .await?;
                unchecked_ids.push(id);
            }
        }
        if !new_ids.is_empty() || !resolved_ids.is_empty() {
            let mut event =
                crate::store::events::NewEvent::new(crate::store::events::EventKind::DriftChanged);
            event.provider_id = Some(run.provider_id);
            event.drift_run_id = Some(run_id);
            event.detail.new_findings = new_ids.clone();
            event.detail.resolved_findings = resolved_ids.clone();
            Self::emit_events_tx(&mut tx, &[event]).await?;
        }
        Self::commit(tx).await?;
        let stored = self
            .drift_run(run_id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        let scope = match run.environment_id {
            Some(id) => EnvironmentScope::Id(id),
            None => EnvironmentScope::Unnamed,
        };
        Ok(RecordedDriftRun {
            run: stored,
            created: true,
            changes: DriftChanges {
                new: self.drift_findings_by_ids(&new_ids).await?,
                resolved: self.drift_findings_by_ids(&resolved_ids).await?,
                unchecked: self.drift_findings_by_ids(&unchecked_ids).await?,
                open: self.open_drift_findings(run.provider_id, scope).await?,
            },
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn drift_run(&self, id: i64) -> Result<Option<DriftRun>, StoreError> {
        Ok(
            sqlx::query_as(concat!(drift_run_select!(), " WHERE r.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn drift_run_report(&self, id: i64) -> Result<Option<Value>, StoreError> {
        let found: Option<sqlx::types::Json<Value>> =
            sqlx::query_scalar("SELECT report FROM drift_runs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.map(|json| json.0))
    }

    #[tracing::instrument(skip_all, err)]
    async fn drift_runs(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DriftRun>, StoreError> {
        Ok(sqlx::query_as(concat!(
            drift_run_select!(),
            " WHERE r.provider_id = $1 AND ($2 IS NULL OR COALESCE(r.environment_id, 0) = $2) \
             ORDER BY r.id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(provider_id)
        .bind(environment.key())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn drift_run_count(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM drift_runs WHERE provider_id = $1 \
             AND ($2 IS NULL OR COALESCE(environment_id, 0) = $2)",
        )
        .bind(provider_id)
        .bind(environment.key())
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn latest_drift_runs(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftRun>, StoreError> {
        Ok(sqlx::query_as(concat!(
            drift_run_select!(),
            " WHERE r.id IN (SELECT MAX(id) FROM drift_runs WHERE provider_id = $1 AND applied \
             AND ($2 IS NULL OR COALESCE(environment_id, 0) = $2) GROUP BY environment_id) \
             ORDER BY e.name IS NOT NULL, e.name"
        ))
        .bind(provider_id)
        .bind(environment.key())
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn open_drift_findings(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftFinding>, StoreError> {
        Ok(sqlx::query_as(concat!(
            drift_finding_select!(),
            " WHERE f.provider_id = $1 AND ($2 IS NULL OR COALESCE(f.environment_id, 0) = $2) \
             AND f.resolved_at IS NULL ORDER BY f.id"
        ))
        .bind(provider_id)
        .bind(environment.key())
        .fetch_all(&self.pool)
        .await?)
    }
}
