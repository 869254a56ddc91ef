//! [`OpsStore`] for both backends (the trait and its types are in `store/ops.rs`).

use super::super::Backend;
use crate::store::*;

macro_rules! audit_filter {
    () => {
        " WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR method = $2) \
         AND ($3 IS NULL OR substr(path, 1, length($3)) = $3) \
         AND ($4 IS NULL OR request_id = $4) \
         AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6)"
    };
}
macro_rules! label_select {
    () => {
        "SELECT l.pacticipant_id, p.name AS pacticipant_name, l.name, l.created_at \
         FROM pacticipant_labels l JOIN pacticipants p ON p.id = l.pacticipant_id"
    };
}

#[async_trait::async_trait]
impl crate::store::ops::OpsStore for Backend {
    #[tracing::instrument(skip_all, err)]
    async fn audit_entries(
        &self,
        filter: &crate::store::ops::AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<crate::store::events::AuditEntry>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT id, actor, method, path, request_id, created_at FROM audit_log",
            audit_filter!(),
            " ORDER BY id DESC LIMIT $7 OFFSET $8"
        ))
        .bind(&filter.actor)
        .bind(&filter.method)
        .bind(&filter.path_prefix)
        .bind(&filter.request_id)
        .bind(filter.since)
        .bind(filter.until)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn audit_count(
        &self,
        filter: &crate::store::ops::AuditFilter,
    ) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar(concat!("SELECT COUNT(*) FROM audit_log", audit_filter!()))
                .bind(&filter.actor)
                .bind(&filter.method)
                .bind(&filter.path_prefix)
                .bind(&filter.request_id)
                .bind(filter.since)
                .bind(filter.until)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn labels(
        &self,
        pacticipant_id: i64,
    ) -> Result<Vec<crate::store::ops::Label>, StoreError> {
        Ok(sqlx::query_as(concat!(
            label_select!(),
            " WHERE l.pacticipant_id = $1 ORDER BY l.name"
        ))
        .bind(pacticipant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(label = %name), err)]
    async fn label(
        &self,
        pacticipant_id: i64,
        name: &str,
    ) -> Result<Option<crate::store::ops::Label>, StoreError> {
        Ok(sqlx::query_as(concat!(
            label_select!(),
            " WHERE l.pacticipant_id = $1 AND l.name = $2"
        ))
        .bind(pacticipant_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(label = %name), err)]
    async fn add_label(
        &self,
        pacticipant_id: i64,
        name: &str,
    ) -> Result<(crate::store::ops::Label, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO pacticipant_labels (pacticipant_id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (pacticipant_id, name) DO NOTHING RETURNING id",
        )
        .bind(pacticipant_id)
        .bind(name)
        .bind(crate::store::now())
        .fetch_optional(&mut *tx)
        .await?;
        let label: crate::store::ops::Label = sqlx::query_as(concat!(
            label_select!(),
            " WHERE l.pacticipant_id = $1 AND l.name = $2"
        ))
        .bind(pacticipant_id)
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        Ok((label, inserted.is_some()))
    }

    #[tracing::instrument(skip_all, fields(label = %name), err)]
    async fn delete_label(&self, pacticipant_id: i64, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM pacticipant_labels WHERE pacticipant_id = $1 AND name = $2")
                .bind(pacticipant_id)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if deleted == 0 {
            // Nothing changed: nothing to audit.
            tx.rollback().await?;
            return Ok(false);
        }
        Self::commit(tx).await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(label = %name), err)]
    async fn pacticipants_with_label(&self, name: &str) -> Result<Vec<Pacticipant>, StoreError> {
        Ok(sqlx::query_as(concat!(
            pacticipant_select!(),
            " WHERE EXISTS (SELECT 1 FROM pacticipant_labels l \
             WHERE l.pacticipant_id = pacticipants.id AND l.name = $1) ORDER BY name"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(dry_run = dry_run), err)]
    async fn run_retention(
        &self,
        rules: &crate::store::ops::RetentionRules,
        dry_run: bool,
    ) -> Result<Option<crate::store::ops::RetentionOutcome>, StoreError> {
        let Some(_guard) = self.retention_guard() else {
            return Ok(None);
        };
        let mut tx = self.begin_write().await?;
        if !Self::lock_retention(&mut tx).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut outcome = crate::store::ops::RetentionOutcome::default();
        // A run that failed half-way never commits, but be sure the scratch
        // table starts empty.
        sqlx::query("DELETE FROM retention_candidates")
            .execute(&mut *tx)
            .await?;
        // Every old version no rule keeps (the verification rule comes next).
        sqlx::query(
            "INSERT INTO retention_candidates (version_id) \
             SELECT v.id FROM versions v WHERE v.created_at < $1 \
             AND v.id NOT IN (SELECT MAX(id) FROM versions GROUP BY pacticipant_id) \
             AND NOT EXISTS (SELECT 1 FROM deployed_versions d \
                 WHERE d.version_id = v.id AND d.undeployed_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM released_versions r \
                 WHERE r.version_id = v.id AND r.support_ended_at IS NULL) \
             AND v.id NOT IN (SELECT ranked.version_id FROM (SELECT bv.version_id, \
                 ROW_NUMBER() OVER (PARTITION BY bv.branch_id ORDER BY bv.id DESC) AS position \
                 FROM branch_versions bv) ranked WHERE ranked.position <= $2) \
             AND v.id NOT IN (SELECT MAX(t.version_id) FROM tags t \
                 JOIN versions tv ON tv.id = t.version_id GROUP BY tv.pacticipant_id, t.name) \
             AND v.id NOT IN (SELECT MAX(pp.consumer_version_id) FROM pact_publications pp \
                 JOIN versions cv ON cv.id = pp.consumer_version_id \
                 GROUP BY cv.pacticipant_id, pp.provider_id)",
        )
        .bind(rules.keep_versions_since)
        .bind(rules.keep_latest_per_branch.max(1))
        .execute(&mut *tx)
        .await?;
        // Keep provider versions that verified a pact a kept version published.
        // Keeping one may keep the pacts it published as a consumer, and so the
        // versions that verified those: repeat until nothing changes.
        loop {
            let rescued = sqlx::query(
                // Starts from the candidates' verifications and stops at the first
                // publication by a kept version: far cheaper than scanning every
                // publication for kept ones. NOT EXISTS rather than NOT IN: PostgreSQL
                // turns it into an anti-join, where NOT IN over a large table is
                // quadratic once it no longer fits in memory.
                "DELETE FROM retention_candidates WHERE version_id IN \
                 (SELECT vr.provider_version_id FROM verifications vr \
                  WHERE vr.provider_version_id IN (SELECT version_id FROM retention_candidates) \
                  AND EXISTS (SELECT 1 FROM pact_publications pp \
                      WHERE pp.pact_version_id = vr.pact_version_id \
                      AND NOT EXISTS (SELECT 1 FROM retention_candidates kept \
                          WHERE kept.version_id = pp.consumer_version_id)))",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if rescued == 0 {
                break;
            }
        }
        // This run takes the oldest candidates up to the limit.
        let limit = rules.deletion_limit.max(1);
        let candidates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retention_candidates")
            .fetch_one(&mut *tx)
            .await?;
        if candidates > limit {
            outcome.more_remaining = true;
            sqlx::query(
                "DELETE FROM retention_candidates WHERE version_id > \
                 (SELECT MAX(first.version_id) FROM (SELECT version_id FROM retention_candidates \
                  ORDER BY version_id LIMIT $1) first)",
            )
            .bind(limit)
            .execute(&mut *tx)
            .await?;
        }
        outcome.versions = sqlx::query_as(
            "SELECT v.id, p.name AS pacticipant_name, v.number, v.created_at \
             FROM retention_candidates c JOIN versions v ON v.id = c.version_id \
             JOIN pacticipants p ON p.id = v.pacticipant_id ORDER BY v.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        outcome.pact_publications = sqlx::query(
            "DELETE FROM pact_publications WHERE consumer_version_id IN \
             (SELECT version_id FROM retention_candidates)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        outcome.verifications = sqlx::query(
            "DELETE FROM verifications WHERE provider_version_id IN \
             (SELECT version_id FROM retention_candidates) \
             OR NOT EXISTS (SELECT 1 FROM pact_publications pp \
                 WHERE pp.pact_version_id = verifications.pact_version_id)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        outcome.pact_versions = sqlx::query(
            "DELETE FROM pact_versions WHERE NOT EXISTS \
             (SELECT 1 FROM pact_publications pp WHERE pp.pact_version_id = pact_versions.id)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM versions WHERE id IN (SELECT version_id FROM retention_candidates)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM retention_candidates")
            .execute(&mut *tx)
            .await?;
        if let Some(before) = rules.delete_audit_before {
            outcome.audit_entries = sqlx::query("DELETE FROM audit_log WHERE created_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        if let Some(before) = rules.delete_drift_runs_before {
            // The latest run of each provider and environment (and the latest
            // that changed the drift state) stays: the current drift cites it.
            outcome.drift_runs = sqlx::query(
                "DELETE FROM drift_runs WHERE created_at < $1 \
                 AND id NOT IN (SELECT MAX(id) FROM drift_runs GROUP BY provider_id, environment_id) \
                 AND id NOT IN (SELECT MAX(id) FROM drift_runs WHERE applied \
                     GROUP BY provider_id, environment_id)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            Self::commit(tx).await?;
        }
        Ok(Some(outcome))
    }
}
