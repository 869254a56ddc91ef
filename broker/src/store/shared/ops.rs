//! [`OpsStore`] for both backends (the trait and its types are in `store/ops.rs`).

use super::super::{Backend, Db};
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

/// The drift runs past `$1` a retention run deletes: never the latest run of a
/// provider and environment, nor the latest that changed the drift state (the current
/// drift cites them).
macro_rules! old_drift_runs {
    () => {
        " WHERE created_at < $1 \
         AND id NOT IN (SELECT MAX(id) FROM drift_runs GROUP BY provider_id, environment_id) \
         AND id NOT IN (SELECT MAX(id) FROM drift_runs WHERE applied \
             GROUP BY provider_id, environment_id)"
    };
}
/// A version a retention run deletes, with its pacticipant's name.
macro_rules! retention_version_select {
    () => {
        "SELECT v.id, p.name AS pacticipant_name, v.number, v.created_at \
         FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id"
    };
}
/// The contents (`pv`) that only versions in `retention_plan` publish.
macro_rules! orphaned_by_plan {
    () => {
        " pv.id IN (SELECT pact_version_id FROM pact_publications \
             WHERE consumer_version_id IN (SELECT version_id FROM retention_plan)) \
         AND NOT EXISTS (SELECT 1 FROM pact_publications pp WHERE pp.pact_version_id = pv.id \
             AND pp.consumer_version_id NOT IN (SELECT version_id FROM retention_plan))"
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
        let Some(_lock) = self.retention_lock().await? else {
            return Ok(None);
        };
        let mut outcome = crate::store::ops::RetentionOutcome::default();
        let (plan, planned) = self.plan_retention(rules, dry_run, &mut outcome).await?;
        if dry_run {
            return Ok(Some(outcome));
        }
        // Each chunk is its own short write transaction, so a writer waits for one
        // chunk at most, never for the whole run.
        let mut kept: Vec<i64> = Vec::new();
        for chunk in plan.chunks(RETENTION_CHUNK) {
            self.delete_retention_chunk(chunk, rules, planned, &mut kept, &mut outcome)
                .await?;
        }
        if let Some(before) = rules.delete_audit_before {
            outcome.audit_entries = self
                .delete_in_chunks(
                    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log \
                     WHERE created_at < $1 ORDER BY id LIMIT $2)",
                    before,
                )
                .await?;
        }
        if let Some(before) = rules.delete_drift_runs_before {
            outcome.drift_runs = self
                .delete_in_chunks(
                    concat!(
                        "DELETE FROM drift_runs WHERE id IN (SELECT id FROM drift_runs",
                        old_drift_runs!(),
                        " ORDER BY id LIMIT $2)"
                    ),
                    before,
                )
                .await?;
        }
        // The run's audit entry, written last so that deleting old entries spares it.
        Self::commit(self.begin_write().await?).await?;
        Ok(Some(outcome))
    }
}

/// Versions one retention chunk deletes (with their publications, results and
/// contents): a writer waiting for the write lock waits for one chunk at most.
const RETENTION_CHUNK: usize = 100;
/// Audit entries or drift runs one retention chunk deletes.
const RETENTION_ROWS_CHUNK: i64 = 1000;

impl Backend {
    /// Whether a version `v` is kept by a rule of its own (the verification rule aside):
    /// its pacticipant's latest; currently deployed or released; among the latest N of
    /// one of its branches; the latest with one of its tags; or the latest consumer
    /// version with a pact for one of its integrations. Each rule is a few index seeks
    /// for the version at hand.
    fn push_kept_by_rules(
        query: &mut sqlx::QueryBuilder<Db>,
        rules: &crate::store::ops::RetentionRules,
    ) {
        query
            .push(
                "v.id = (SELECT MAX(latest.id) FROM versions latest \
                     WHERE latest.pacticipant_id = v.pacticipant_id) \
                 OR EXISTS (SELECT 1 FROM deployed_versions d \
                     WHERE d.version_id = v.id AND d.undeployed_at IS NULL) \
                 OR EXISTS (SELECT 1 FROM released_versions r \
                     WHERE r.version_id = v.id AND r.support_ended_at IS NULL) \
                 OR EXISTS (SELECT 1 FROM branch_versions bv WHERE bv.version_id = v.id \
                     AND (SELECT newer.id FROM branch_versions newer \
                         WHERE newer.branch_id = bv.branch_id AND newer.id > bv.id \
                         ORDER BY newer.id LIMIT 1 OFFSET ",
            )
            .push_bind(rules.keep_latest_per_branch.max(1) - 1)
            .push(
                ") IS NULL) \
                 OR EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id \
                     AND NOT EXISTS (SELECT 1 FROM tags newer \
                         WHERE newer.pacticipant_id = t.pacticipant_id AND newer.name = t.name \
                         AND newer.version_id > t.version_id)) \
                 OR EXISTS (SELECT 1 FROM pact_publications pp WHERE pp.consumer_version_id = v.id \
                     AND NOT EXISTS (SELECT 1 FROM versions newer \
                         CROSS JOIN pact_publications later \
                         WHERE newer.pacticipant_id = v.pacticipant_id AND newer.id > v.id \
                         AND later.consumer_version_id = newer.id \
                         AND later.provider_id = pp.provider_id))",
            );
    }

    /// Decides which versions a retention run deletes, reading only: the old versions
    /// no rule keeps, oldest first, up to the run's limit. They are gathered in a
    /// temporary table of a read transaction (SQLite writes it to the connection's own
    /// temporary database, not the broker's file, so no writer waits for it) and the
    /// transaction is rolled back. For a dry run, `outcome` is filled with what the run
    /// would delete. Also returns the newest publication and result ids when the plan
    /// began: what comes after them was written since.
    async fn plan_retention(
        &self,
        rules: &crate::store::ops::RetentionRules,
        dry_run: bool,
        outcome: &mut crate::store::ops::RetentionOutcome,
    ) -> Result<(Vec<i64>, (i64, i64)), StoreError> {
        let mut tx = self.pool.begin().await?;
        let planned: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM pact_publications), \
             (SELECT COALESCE(MAX(id), 0) FROM verifications)",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS retention_plan (version_id BIGINT PRIMARY KEY)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM retention_plan")
            .execute(&mut *tx)
            .await?;
        // Every old version no rule keeps (the verification rule comes next), each
        // version checked by index seeks: no list of kept versions is built, which on
        // PostgreSQL turned `NOT IN` over millions of rows into a quadratic scan.
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO retention_plan (version_id) SELECT v.id FROM versions v WHERE v.created_at < ",
        );
        insert
            .push_bind(rules.keep_versions_since)
            .push(" AND NOT (");
        Self::push_kept_by_rules(&mut insert, rules);
        insert.push(")");
        insert.build().persistent(false).execute(&mut *tx).await?;
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
                "DELETE FROM retention_plan WHERE version_id IN \
                 (SELECT vr.provider_version_id FROM verifications vr \
                  WHERE vr.provider_version_id IN (SELECT version_id FROM retention_plan) \
                  AND EXISTS (SELECT 1 FROM pact_publications pp \
                      WHERE pp.pact_version_id = vr.pact_version_id \
                      AND NOT EXISTS (SELECT 1 FROM retention_plan kept \
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
        let candidates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retention_plan")
            .fetch_one(&mut *tx)
            .await?;
        if candidates > limit {
            outcome.more_remaining = true;
            sqlx::query(
                "DELETE FROM retention_plan WHERE version_id > \
                 (SELECT MAX(first.version_id) FROM (SELECT version_id FROM retention_plan \
                  ORDER BY version_id LIMIT $1) first)",
            )
            .bind(limit)
            .execute(&mut *tx)
            .await?;
        }
        let plan: Vec<i64> =
            sqlx::query_scalar("SELECT version_id FROM retention_plan ORDER BY version_id")
                .fetch_all(&mut *tx)
                .await?;
        if dry_run {
            // What the chunks would delete, counted the way they delete it: the
            // contents no version outside the plan publishes go, with their results.
            outcome.versions = sqlx::query_as(concat!(
                retention_version_select!(),
                " WHERE v.id IN (SELECT version_id FROM retention_plan) ORDER BY v.id"
            ))
            .fetch_all(&mut *tx)
            .await?;
            let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
            outcome.pact_publications = count(
                "SELECT COUNT(*) FROM pact_publications \
                 WHERE consumer_version_id IN (SELECT version_id FROM retention_plan)",
            )
            .fetch_one(&mut *tx)
            .await? as u64;
            outcome.pact_versions = count(concat!(
                "SELECT COUNT(*) FROM pact_versions pv WHERE",
                orphaned_by_plan!()
            ))
            .fetch_one(&mut *tx)
            .await? as u64;
            outcome.verifications = count(concat!(
                "SELECT COUNT(*) FROM verifications vr \
                 WHERE vr.provider_version_id IN (SELECT version_id FROM retention_plan) \
                 OR vr.pact_version_id IN (SELECT pv.id FROM pact_versions pv WHERE",
                orphaned_by_plan!(),
                ")"
            ))
            .fetch_one(&mut *tx)
            .await? as u64;
            if let Some(before) = rules.delete_audit_before {
                outcome.audit_entries = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM audit_log WHERE created_at < $1",
                )
                .bind(before)
                .fetch_one(&mut *tx)
                .await? as u64;
            }
            if let Some(before) = rules.delete_drift_runs_before {
                outcome.drift_runs = sqlx::query_scalar::<_, i64>(concat!(
                    "SELECT COUNT(*) FROM drift_runs",
                    old_drift_runs!()
                ))
                .bind(before)
                .fetch_one(&mut *tx)
                .await? as u64;
            }
        }
        // The temporary table goes with the transaction.
        tx.rollback().await?;
        Ok((plan, planned))
    }

    /// Deletes one chunk of a retention plan in its own write transaction, after
    /// checking again, against what was written since the plan was made, the rules
    /// a concurrent write can change: a version deployed, released, tagged, added to a
    /// branch or given a pact since is kept, as is one that verified a pact published
    /// since (or by a version kept so far in this run). Kept versions are added to
    /// `kept`, for the chunks after.
    async fn delete_retention_chunk(
        &self,
        chunk: &[i64],
        rules: &crate::store::ops::RetentionRules,
        (last_publication, last_verification): (i64, i64),
        kept: &mut Vec<i64>,
        outcome: &mut crate::store::ops::RetentionOutcome,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::lock_versions_tx(&mut tx, chunk).await?;
        // Keeping a version keeps the versions that verified its pacts, in this chunk
        // too: check again until nothing more is kept.
        let mut still_kept: Vec<i64> = Vec::new();
        loop {
            // Each statement is planned for its own ids, not prepared once for any list.
            let mut check = sqlx::QueryBuilder::<Db>::new("SELECT v.id FROM versions v WHERE v.id");
            Self::push_in(&mut check, chunk);
            check.push(" AND (");
            Self::push_kept_by_rules(&mut check, rules);
            check
                .push(
                    // What was written since the plan is told by ids, not times: the
                    // newest rows are one short range of the primary key, where a time
                    // (not indexed) made PostgreSQL scan every publication.
                    " OR EXISTS (SELECT 1 FROM verifications vr \
                     WHERE vr.provider_version_id = v.id AND vr.id > ",
                )
                .push_bind(last_verification)
                .push(
                    ") OR EXISTS (SELECT 1 FROM verifications vr \
                         JOIN pact_publications pp ON pp.pact_version_id = vr.pact_version_id \
                         WHERE vr.provider_version_id = v.id AND (pp.id > ",
                )
                .push_bind(last_publication);
            if !kept.is_empty() {
                check.push(" OR pp.consumer_version_id");
                Self::push_in(&mut check, kept);
            }
            check.push(")))");
            let found: Vec<i64> = check
                .build_query_scalar()
                .persistent(false)
                .fetch_all(&mut *tx)
                .await?;
            let new: Vec<i64> = found
                .into_iter()
                .filter(|id| !still_kept.contains(id))
                .collect();
            if new.is_empty() {
                break;
            }
            kept.extend(&new);
            still_kept.extend(new);
        }
        let ids: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|id| !still_kept.contains(id))
            .collect();
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        let mut versions =
            sqlx::QueryBuilder::<Db>::new(concat!(retention_version_select!(), " WHERE v.id"));
        Self::push_in(&mut versions, &ids);
        versions.push(" ORDER BY v.id");
        outcome.versions.extend(
            versions
                .build_query_as()
                .persistent(false)
                .fetch_all(&mut *tx)
                .await?,
        );
        // The contents these versions publish: the ones nothing else publishes go.
        let mut published = sqlx::QueryBuilder::<Db>::new(
            "SELECT DISTINCT pact_version_id FROM pact_publications WHERE consumer_version_id",
        );
        Self::push_in(&mut published, &ids);
        let contents: Vec<i64> = published
            .build_query_scalar()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await?;
        let mut delete = sqlx::QueryBuilder::<Db>::new(
            "DELETE FROM pact_publications WHERE consumer_version_id",
        );
        Self::push_in(&mut delete, &ids);
        outcome.pact_publications += delete
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let mut delete =
            sqlx::QueryBuilder::<Db>::new("DELETE FROM verifications WHERE provider_version_id");
        Self::push_in(&mut delete, &ids);
        if !contents.is_empty() {
            delete.push(" OR (pact_version_id");
            Self::push_in(&mut delete, &contents);
            delete.push(
                " AND NOT EXISTS (SELECT 1 FROM pact_publications pp \
                 WHERE pp.pact_version_id = verifications.pact_version_id))",
            );
        }
        outcome.verifications += delete
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if !contents.is_empty() {
            let mut delete = sqlx::QueryBuilder::<Db>::new("DELETE FROM pact_versions WHERE id");
            Self::push_in(&mut delete, &contents);
            delete.push(
                " AND NOT EXISTS (SELECT 1 FROM pact_publications pp \
                 WHERE pp.pact_version_id = pact_versions.id)",
            );
            outcome.pact_versions += delete
                .build()
                .persistent(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        let mut delete = sqlx::QueryBuilder::<Db>::new("DELETE FROM versions WHERE id");
        Self::push_in(&mut delete, &ids);
        delete.build().persistent(false).execute(&mut *tx).await?;
        // The run's audit entry comes with its last transaction, not with every chunk.
        tx.commit().await?;
        Ok(())
    }

    /// Runs `sql` (a `DELETE` of at most `$2` rows older than `$1`) in transactions of
    /// one chunk each until it deletes fewer than a chunk; the rows deleted.
    async fn delete_in_chunks(
        &self,
        sql: &'static str,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(sql)
                .bind(before)
                .bind(RETENTION_ROWS_CHUNK)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            deleted += rows;
            if rows < RETENTION_ROWS_CHUNK as u64 {
                return Ok(deleted);
            }
        }
    }
}
