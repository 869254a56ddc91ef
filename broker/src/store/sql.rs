//! The SQL both backends share.
//!
//! SQLite and PostgreSQL agree on the subset of SQL the broker needs (`$n`
//! parameters, `ON CONFLICT ... DO NOTHING`, `RETURNING`, partial unique indexes),
//! so the queries are written once here and expanded for each backend by
//! [`sql_store!`]. This departs from "each store with its own SQL" on purpose: one
//! body keeps the two backends from drifting apart in behaviour, while everything
//! that really differs (connection options, WAL, locking, schema types and
//! migrations) stays in `sqlite.rs` and `postgres.rs`. The macro is expanded with
//! the backend's own types, so every query is still checked against that backend's
//! encoders and decoders; there is no `sqlx::Any`.

/// Column lists shared by several queries (macros so `concat!` can use them).
macro_rules! pacticipant_select {
    () => {
        "SELECT id, name, display_name, repository_url, repository_name, repository_namespace, \
         main_branch, created_at, updated_at FROM pacticipants"
    };
}
macro_rules! version_select {
    () => {
        "SELECT v.id, v.pacticipant_id, p.name AS pacticipant_name, v.number, v.build_url, \
         v.created_at FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id"
    };
}
macro_rules! tag_select {
    () => {
        "SELECT t.version_id, v.number AS version_number, t.name, t.created_at \
         FROM tags t JOIN versions v ON v.id = t.version_id"
    };
}
macro_rules! branch_version_select {
    () => {
        "SELECT bv.id, bv.branch_id, b.name AS branch_name, bv.version_id, v.number AS version_number, \
         bv.created_at, \
         (bv.id = (SELECT bv2.id FROM branch_versions bv2 WHERE bv2.branch_id = bv.branch_id \
          ORDER BY bv2.id DESC LIMIT 1)) AS latest \
         FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id JOIN versions v ON v.id = bv.version_id"
    };
}
/// Whether the tag `t` is on the latest version of its pacticipant that carries a tag
/// of that name: one seek in the (pacticipant_id, name, version_id) index.
macro_rules! tag_is_latest {
    () => {
        "(t.version_id = (SELECT MAX(t2.version_id) FROM tags t2 \
         WHERE t2.pacticipant_id = t.pacticipant_id AND t2.name = t.name))"
    };
}
/// The head of each branch of some pacticipants (`... WHERE b.pacticipant_id` is
/// followed by their ids): the version last added, one index seek each on
/// `(branch_id, id)`; `NULL` for a branch whose versions were all deleted.
macro_rules! branch_heads_select {
    () => {
        "SELECT b.pacticipant_id, b.name, \
         (SELECT bv.version_id FROM branch_versions bv WHERE bv.branch_id = b.id ORDER BY bv.id DESC LIMIT 1) AS version_id \
         FROM branches b WHERE b.pacticipant_id"
    };
}
/// The latest version with each tag of some pacticipants (followed by their ids and
/// `GROUP BY t.pacticipant_id, t.name`): one range of the
/// `(pacticipant_id, name, version_id)` index.
macro_rules! tag_heads_select {
    () => {
        "SELECT t.pacticipant_id, t.name AS tag_name, MAX(t.version_id) AS version_id \
         FROM tags t WHERE t.pacticipant_id"
    };
}
macro_rules! publication_select {
    () => {
        "SELECT pp.id, cv.pacticipant_id AS consumer_id, c.name AS consumer_name, pp.provider_id, \
         pr.name AS provider_name, pp.consumer_version_id, cv.number AS consumer_version_number, \
         pp.pact_version_id, pv.sha, pp.created_at \
         FROM pact_publications pp \
         JOIN versions cv ON cv.id = pp.consumer_version_id \
         JOIN pacticipants c ON c.id = cv.pacticipant_id \
         JOIN pacticipants pr ON pr.id = pp.provider_id \
         JOIN pact_versions pv ON pv.id = pp.pact_version_id"
    };
}
macro_rules! verification_select {
    () => {
        "SELECT vr.id, vr.pact_version_id, pv.sha, pv.consumer_id, c.name AS consumer_name, \
         pv.provider_id, pr.name AS provider_name, vr.provider_version_id, \
         prv.number AS provider_version_number, vr.success, vr.build_url, vr.test_results, \
         vr.verified_by, vr.wip, vr.pending, vr.created_at \
         FROM verifications vr \
         JOIN pact_versions pv ON pv.id = vr.pact_version_id \
         JOIN pacticipants c ON c.id = pv.consumer_id \
         JOIN pacticipants pr ON pr.id = pv.provider_id \
         JOIN versions prv ON prv.id = vr.provider_version_id"
    };
}
macro_rules! environment_select {
    () => {
        "SELECT id, uuid, name, display_name, production, contacts, created_at, updated_at FROM environments"
    };
}
macro_rules! deployed_select {
    () => {
        "SELECT d.id, d.uuid, d.version_id, v.number AS version_number, d.pacticipant_id, \
         p.name AS pacticipant_name, d.environment_id, d.application_instance, d.created_at, \
         d.undeployed_at FROM deployed_versions d JOIN versions v ON v.id = d.version_id \
         JOIN pacticipants p ON p.id = d.pacticipant_id"
    };
}
macro_rules! released_select {
    () => {
        "SELECT r.id, r.uuid, r.version_id, v.number AS version_number, r.pacticipant_id, \
         p.name AS pacticipant_name, r.environment_id, r.created_at, r.support_ended_at \
         FROM released_versions r JOIN versions v ON v.id = r.version_id \
         JOIN pacticipants p ON p.id = r.pacticipant_id"
    };
}

macro_rules! drift_run_select {
    () => {
        "SELECT r.id, r.provider_id, p.name AS provider_name, r.environment_id, e.name AS environment_name, \
         r.base_url, r.started_at, r.finished_at, r.probes, r.interactions_checked, r.finding_count, \
         r.probe_error_count, r.skipped_count, r.applied, r.created_at \
         FROM drift_runs r JOIN pacticipants p ON p.id = r.provider_id \
         LEFT JOIN environments e ON e.id = r.environment_id"
    };
}
macro_rules! drift_finding_select {
    () => {
        "SELECT f.id, f.provider_id, p.name AS provider_name, f.environment_id, e.name AS environment_name, \
         f.fingerprint, f.consumers, f.interaction, f.request, f.pointer, f.class, f.expected, f.actual, \
         f.occurrences, f.hint, f.first_seen_at, f.last_seen_at, f.last_run_id, f.unchecked_run_id, \
         f.unchecked_reason, f.resolved_at, f.resolved_run_id \
         FROM drift_findings f JOIN pacticipants p ON p.id = f.provider_id \
         LEFT JOIN environments e ON e.id = f.environment_id"
    };
}

/// Joins the conditions of a query built at run time: ` WHERE ` before the first,
/// ` AND ` before the others.
#[derive(Default)]
pub(super) struct Conditions {
    started: bool,
}

impl Conditions {
    pub(super) fn next<'q, DB: sqlx::Database>(
        &mut self,
        query: &'q mut sqlx::QueryBuilder<DB>,
    ) -> &'q mut sqlx::QueryBuilder<DB> {
        let separator = if self.started { " AND " } else { " WHERE " };
        self.started = true;
        query.push(separator)
    }
}

/// Implements [`Store`](super::Store) for `$store`, whose `pool` field is a
/// `sqlx::Pool<$db>` and which has an inherent `begin_write` method opening a write
/// transaction in the way its backend needs.
macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        type Tx = sqlx::Transaction<'static, $db>;

        /// The most values one `IN (...)` list binds; longer lists take several queries.
        const IN_LIST_CHUNK: usize = 500;

        /// A pacticipant a write found or created.
        struct EnsuredPacticipant {
            id: i64,
            /// Whether it has a main branch already (then none is detected).
            has_main_branch: bool,
        }

        /// Branch names that become a pacticipant's main branch when none is configured.
        const MAIN_BRANCH_CANDIDATES: [&str; 3] = ["develop", "main", "master"];

        /// How long after its creation a version's first tag also becomes its branch.
        const FIRST_TAG_AS_BRANCH_WINDOW: chrono::Duration = chrono::Duration::seconds(10);

        impl $store {
            async fn ensure_pacticipant(tx: &mut Tx, name: &str) -> Result<(i64, bool), StoreError> {
                // Usually it exists: one read. Otherwise insert, and read again if another
                // transaction inserted it first.
                let find = || sqlx::query_scalar::<_, i64>("SELECT id FROM pacticipants WHERE name = $1").bind(name);
                if let Some(id) = find().fetch_optional(&mut **tx).await? {
                    return Ok((id, false));
                }
                let now = super::now();
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO pacticipants (name, created_at, updated_at) VALUES ($1, $2, $2) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                )
                .bind(name)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                match inserted {
                    Some(id) => Ok((id, true)),
                    None => Ok((find().fetch_one(&mut **tx).await?, false)),
                }
            }

            /// Finds (creating the missing ones) the pacticipants named `names`: their ids
            /// and whether each has a main branch already. One read when all exist; the
            /// missing ones are inserted in name order, so two writers creating the same
            /// pacticipants at once take their locks in the same order.
            async fn ensure_pacticipants(
                tx: &mut Tx,
                names: &[&str],
            ) -> Result<std::collections::HashMap<String, EnsuredPacticipant>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, name, main_branch IS NOT NULL FROM pacticipants WHERE name IN (",
                );
                let mut list = query.separated(", ");
                for name in names {
                    list.push_bind(*name);
                }
                query.push(")");
                let rows: Vec<(i64, String, bool)> = query.build_query_as().fetch_all(&mut **tx).await?;
                let mut found: std::collections::HashMap<String, EnsuredPacticipant> = rows
                    .into_iter()
                    .map(|(id, name, has_main_branch)| (name, EnsuredPacticipant { id, has_main_branch }))
                    .collect();
                let mut missing: Vec<&str> = names.iter().copied().filter(|n| !found.contains_key(*n)).collect();
                missing.sort_unstable();
                missing.dedup();
                for name in missing {
                    let (id, _) = Self::ensure_pacticipant(tx, name).await?;
                    found.insert(name.to_string(), EnsuredPacticipant { id, has_main_branch: false });
                }
                Ok(found)
            }

            async fn ensure_version(tx: &mut Tx, pacticipant_id: i64, number: &str) -> Result<(i64, bool), StoreError> {
                let now = super::now();
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO versions (pacticipant_id, number, created_at, updated_at) \
                     VALUES ($1, $2, $3, $3) ON CONFLICT (pacticipant_id, number) DO NOTHING RETURNING id",
                )
                .bind(pacticipant_id)
                .bind(number)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(id) = inserted {
                    return Ok((id, true));
                }
                let id: i64 = sqlx::query_scalar("SELECT id FROM versions WHERE pacticipant_id = $1 AND number = $2")
                    .bind(pacticipant_id)
                    .bind(number)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok((id, false))
            }

            /// Sets the main branch of a pacticipant that has none when `branch` is one of
            /// the conventional names.
            async fn detect_main_branch(tx: &mut Tx, pacticipant_id: i64, branch: &str) -> Result<(), StoreError> {
                if MAIN_BRANCH_CANDIDATES.contains(&branch) {
                    sqlx::query("UPDATE pacticipants SET main_branch = $2 WHERE id = $1 AND main_branch IS NULL")
                        .bind(pacticipant_id)
                        .bind(branch)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            async fn add_branch_version_tx(
                tx: &mut Tx,
                pacticipant_id: i64,
                branch: &str,
                version_id: i64,
            ) -> Result<(i64, bool), StoreError> {
                Self::add_branch_version_known_tx(tx, pacticipant_id, false, branch, version_id).await
            }

            /// [`Self::add_branch_version_tx`] for a pacticipant known to have (or not)
            /// a main branch already: when it has one, no detection is tried.
            async fn add_branch_version_known_tx(
                tx: &mut Tx,
                pacticipant_id: i64,
                has_main_branch: bool,
                branch: &str,
                version_id: i64,
            ) -> Result<(i64, bool), StoreError> {
                let now = super::now();
                // Usually the branch exists and the version is new to it: one statement
                // finds the branch and adds the version.
                let added: Option<(i64, i64)> = sqlx::query_as(
                    "INSERT INTO branch_versions (branch_id, version_id, created_at) \
                     SELECT id, $3, $4 FROM branches WHERE pacticipant_id = $1 AND name = $2 \
                     ON CONFLICT (branch_id, version_id) DO NOTHING RETURNING id, branch_id",
                )
                .bind(pacticipant_id)
                .bind(branch)
                .bind(version_id)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some((id, branch_id)) = added {
                    if !has_main_branch {
                        Self::detect_main_branch(tx, pacticipant_id, branch).await?;
                    }
                    sqlx::query("UPDATE branches SET updated_at = $2 WHERE id = $1")
                        .bind(branch_id)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    return Ok((id, true));
                }
                // Usually the branch exists: one read. Otherwise insert, and read again
                // if another transaction inserted it first.
                let find = || {
                    sqlx::query_scalar::<_, i64>("SELECT id FROM branches WHERE pacticipant_id = $1 AND name = $2")
                        .bind(pacticipant_id)
                        .bind(branch)
                };
                let branch_id = match find().fetch_optional(&mut **tx).await? {
                    Some(id) => id,
                    None => {
                        let inserted: Option<i64> = sqlx::query_scalar(
                            "INSERT INTO branches (pacticipant_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                             ON CONFLICT (pacticipant_id, name) DO NOTHING RETURNING id",
                        )
                        .bind(pacticipant_id)
                        .bind(branch)
                        .bind(now)
                        .fetch_optional(&mut **tx)
                        .await?;
                        match inserted {
                            Some(id) => id,
                            None => find().fetch_one(&mut **tx).await?,
                        }
                    }
                };
                let added: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO branch_versions (branch_id, version_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (branch_id, version_id) DO NOTHING RETURNING id",
                )
                .bind(branch_id)
                .bind(version_id)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                if !has_main_branch {
                    Self::detect_main_branch(tx, pacticipant_id, branch).await?;
                }
                match added {
                    Some(id) => {
                        sqlx::query("UPDATE branches SET updated_at = $2 WHERE id = $1")
                            .bind(branch_id)
                            .bind(now)
                            .execute(&mut **tx)
                            .await?;
                        Ok((id, true))
                    }
                    None => {
                        let id = sqlx::query_scalar("SELECT id FROM branch_versions WHERE branch_id = $1 AND version_id = $2")
                            .bind(branch_id)
                            .bind(version_id)
                            .fetch_one(&mut **tx)
                            .await?;
                        Ok((id, false))
                    }
                }
            }

            /// Tags a version, with the side effects the reference describes: the first
            /// tag of a new version without a branch also becomes its branch, the main
            /// branch is detected, and a tag named like an environment records a deployment.
            async fn add_tag_tx(
                tx: &mut Tx,
                pacticipant_id: i64,
                version_id: i64,
                tag: &str,
            ) -> Result<bool, StoreError> {
                let now = super::now();
                let tag_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE version_id = $1")
                    .bind(version_id)
                    .fetch_one(&mut **tx)
                    .await?;
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO tags (version_id, name, created_at, pacticipant_id) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (version_id, name) DO NOTHING RETURNING id",
                )
                .bind(version_id)
                .bind(tag)
                .bind(now)
                .bind(pacticipant_id)
                .fetch_optional(&mut **tx)
                .await?;
                if inserted.is_none() {
                    return Ok(false);
                }
                if tag_count == 0 {
                    let branch_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM branch_versions WHERE version_id = $1")
                        .bind(version_id)
                        .fetch_one(&mut **tx)
                        .await?;
                    let created_at: chrono::DateTime<chrono::Utc> =
                        sqlx::query_scalar("SELECT created_at FROM versions WHERE id = $1")
                            .bind(version_id)
                            .fetch_one(&mut **tx)
                            .await?;
                    if branch_count == 0 && now - created_at <= FIRST_TAG_AS_BRANCH_WINDOW {
                        Self::add_branch_version_tx(tx, pacticipant_id, tag, version_id).await?;
                    }
                }
                Self::detect_main_branch(tx, pacticipant_id, tag).await?;
                let environment_id: Option<i64> = sqlx::query_scalar("SELECT id FROM environments WHERE name = $1")
                    .bind(tag)
                    .fetch_optional(&mut **tx)
                    .await?;
                if let Some(environment_id) = environment_id {
                    Self::record_deployment_tx(tx, version_id, environment_id, None).await?;
                }
                Ok(true)
            }

            async fn record_deployment_tx(
                tx: &mut Tx,
                version_id: i64,
                environment_id: i64,
                instance: Option<&str>,
            ) -> Result<(i64, bool), StoreError> {
                let now = super::now();
                let existing: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM deployed_versions WHERE version_id = $1 AND environment_id = $2 \
                     AND COALESCE(application_instance, '') = COALESCE($3, '') AND undeployed_at IS NULL",
                )
                .bind(version_id)
                .bind(environment_id)
                .bind(instance)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(id) = existing {
                    return Ok((id, false));
                }
                let pacticipant_id: i64 = sqlx::query_scalar("SELECT pacticipant_id FROM versions WHERE id = $1")
                    .bind(version_id)
                    .fetch_one(&mut **tx)
                    .await?;
                sqlx::query(
                    "UPDATE deployed_versions SET undeployed_at = $4 WHERE pacticipant_id = $1 \
                     AND environment_id = $2 AND COALESCE(application_instance, '') = COALESCE($3, '') \
                     AND undeployed_at IS NULL",
                )
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(instance)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, environment_id, \
                     application_instance, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(version_id)
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(instance)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?;
                Ok((id, true))
            }

            /// Removes pact content that no publication refers to any more.
            async fn delete_orphan_pact_versions(tx: &mut Tx) -> Result<(), StoreError> {
                sqlx::query(
                    "DELETE FROM pact_versions WHERE NOT EXISTS \
                     (SELECT 1 FROM pact_publications pp WHERE pp.pact_version_id = pact_versions.id)",
                )
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn deployed_by_id(&self, id: i64) -> Result<DeployedVersion, StoreError> {
                Ok(sqlx::query_as(concat!(deployed_select!(), " WHERE d.id = $1"))
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn released_by_id(&self, id: i64) -> Result<ReleasedVersion, StoreError> {
                Ok(sqlx::query_as(concat!(released_select!(), " WHERE r.id = $1"))
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn drift_finding_by_id(&self, id: i64) -> Result<DriftFinding, StoreError> {
                Ok(sqlx::query_as(concat!(drift_finding_select!(), " WHERE f.id = $1"))
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn drift_findings_by_ids(&self, ids: &[i64]) -> Result<Vec<DriftFinding>, StoreError> {
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    found.push(self.drift_finding_by_id(*id).await?);
                }
                Ok(found)
            }

            /// Appends ` WHERE ...` with one condition per set field of a publication
            /// filter (nothing when none is set). Each shape of filter is its own statement,
            /// so the database plans it with the indexes that fit; a single statement with
            /// `($1 IS NULL OR col = $1)` for every field makes SQLite scan the table.
            fn push_publication_filter(query: &mut sqlx::QueryBuilder<$db>, filter: &PublicationFilter) {
                let mut conditions = crate::store::sql::Conditions::default();
                if let Some(id) = filter.consumer_id {
                    conditions.next(query).push("cv.pacticipant_id = ").push_bind(id);
                }
                if let Some(id) = filter.provider_id {
                    conditions.next(query).push("pp.provider_id = ").push_bind(id);
                }
                if let Some(id) = filter.consumer_version_id {
                    conditions.next(query).push("pp.consumer_version_id = ").push_bind(id);
                }
                if let Some(id) = filter.pact_version_id {
                    conditions.next(query).push("pp.pact_version_id = ").push_bind(id);
                }
            }

            /// As [`Self::push_publication_filter`], for deployed (`d`) or released (`r`)
            /// versions; `current` is the condition that selects the current records.
            fn push_environment_record_filter(
                query: &mut sqlx::QueryBuilder<$db>,
                alias: &str,
                current: &str,
                filter: &EnvironmentRecordFilter,
            ) {
                let mut conditions = crate::store::sql::Conditions::default();
                if let Some(id) = filter.pacticipant_id {
                    conditions.next(query).push(format_args!("{alias}.pacticipant_id = ")).push_bind(id);
                }
                if let Some(id) = filter.environment_id {
                    conditions.next(query).push(format_args!("{alias}.environment_id = ")).push_bind(id);
                }
                if let Some(id) = filter.version_id {
                    conditions.next(query).push(format_args!("{alias}.version_id = ")).push_bind(id);
                }
                if filter.current_only {
                    conditions.next(query).push(current);
                }
            }

            async fn branch_version_by_id(&self, id: i64) -> Result<BranchVersion, StoreError> {
                Ok(sqlx::query_as(concat!(branch_version_select!(), " WHERE bv.id = $1"))
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?)
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            #[tracing::instrument(skip_all, err)]
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
            async fn pacticipant(&self, name: &PacticipantName) -> Result<Option<Pacticipant>, StoreError> {
                Ok(sqlx::query_as(concat!(pacticipant_select!(), " WHERE name = $1"))
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn pacticipant_by_id(&self, id: i64) -> Result<Option<Pacticipant>, StoreError> {
                Ok(sqlx::query_as(concat!(pacticipant_select!(), " WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn pacticipants(&self) -> Result<Vec<Pacticipant>, StoreError> {
                Ok(sqlx::query_as(concat!(pacticipant_select!(), " ORDER BY name"))
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
            async fn create_pacticipant(
                &self,
                name: &PacticipantName,
                fields: &PacticipantFields,
            ) -> Result<Pacticipant, StoreError> {
                let mut tx = self.begin_write().await?;
                let now = super::now();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO pacticipants (name, display_name, repository_url, repository_name, \
                     repository_namespace, main_branch, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                )
                .bind(name.as_str())
                .bind(&fields.display_name)
                .bind(&fields.repository_url)
                .bind(&fields.repository_name)
                .bind(&fields.repository_namespace)
                .bind(fields.main_branch.as_ref().map(|b| b.as_str()))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                Self::commit(tx).await?;
                self.pacticipant_by_id(id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
            async fn save_pacticipant(
                &self,
                name: &PacticipantName,
                fields: &PacticipantFields,
                mode: SaveMode,
            ) -> Result<(Pacticipant, bool), StoreError> {
                let mut tx = self.begin_write().await?;
                let (id, created) = Self::ensure_pacticipant(&mut tx, name.as_str()).await?;
                let sql = match mode {
                    SaveMode::Replace => {
                        "UPDATE pacticipants SET display_name = $2, repository_url = $3, repository_name = $4, \
                         repository_namespace = $5, main_branch = $6, updated_at = $7 WHERE id = $1"
                    }
                    SaveMode::Merge => {
                        "UPDATE pacticipants SET display_name = COALESCE($2, display_name), \
                         repository_url = COALESCE($3, repository_url), \
                         repository_name = COALESCE($4, repository_name), \
                         repository_namespace = COALESCE($5, repository_namespace), \
                         main_branch = COALESCE($6, main_branch), updated_at = $7 WHERE id = $1"
                    }
                };
                // A newly created pacticipant keeps updated_at equal to created_at, so the
                // representation can tell that it was never updated.
                let updated_at: chrono::DateTime<chrono::Utc> = if created {
                    sqlx::query_scalar("SELECT created_at FROM pacticipants WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?
                } else {
                    super::now()
                };
                sqlx::query(sql)
                    .bind(id)
                    .bind(&fields.display_name)
                    .bind(&fields.repository_url)
                    .bind(&fields.repository_name)
                    .bind(&fields.repository_namespace)
                    .bind(fields.main_branch.as_ref().map(|b| b.as_str()))
                    .bind(updated_at)
                    .execute(&mut *tx)
                    .await?;
                Self::commit(tx).await?;
                let pacticipant = self.pacticipant_by_id(id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                Ok((pacticipant, created))
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_pacticipant(&self, id: i64) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                // Pact content belongs to the consumer and provider; delete it first so the
                // cascade does not have to walk two paths to the same rows.
                sqlx::query("DELETE FROM pact_versions WHERE consumer_id = $1 OR provider_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let deleted = sqlx::query("DELETE FROM pacticipants WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::delete_orphan_pact_versions(&mut tx).await?;
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, fields(version = %number), err)]
            async fn version(&self, pacticipant_id: i64, number: &VersionNumber) -> Result<Option<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(version_select!(), " WHERE v.pacticipant_id = $1 AND v.number = $2"))
                    .bind(pacticipant_id)
                    .bind(number.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn version_by_id(&self, id: i64) -> Result<Option<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(version_select!(), " WHERE v.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn versions(&self, pacticipant_id: i64) -> Result<Vec<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(version_select!(), " WHERE v.pacticipant_id = $1 ORDER BY v.id DESC"))
                    .bind(pacticipant_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn latest_version(&self, pacticipant_id: i64) -> Result<Option<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(
                    version_select!(),
                    " WHERE v.pacticipant_id = $1 ORDER BY v.id DESC LIMIT 1"
                ))
                .bind(pacticipant_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(tag = %tag), err)]
            async fn latest_version_with_tag(&self, pacticipant_id: i64, tag: &TagName) -> Result<Option<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(
                    version_select!(),
                    " WHERE v.pacticipant_id = $1 AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = $2) \
                     ORDER BY v.id DESC LIMIT 1"
                ))
                .bind(pacticipant_id)
                .bind(tag.as_str())
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(tag = %tag), err)]
            async fn versions_with_tag(&self, pacticipant_id: i64, tag: &TagName) -> Result<Vec<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(
                    version_select!(),
                    " WHERE v.pacticipant_id = $1 AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = $2) \
                     ORDER BY v.id DESC"
                ))
                .bind(pacticipant_id)
                .bind(tag.as_str())
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(branch = %branch), err)]
            async fn branch_head(&self, pacticipant_id: i64, branch: &BranchName) -> Result<Option<Version>, StoreError> {
                Ok(sqlx::query_as(concat!(
                    version_select!(),
                    " JOIN branch_versions bv ON bv.version_id = v.id JOIN branches b ON b.id = bv.branch_id \
                     WHERE b.pacticipant_id = $1 AND b.name = $2 ORDER BY bv.id DESC LIMIT 1"
                ))
                .bind(pacticipant_id)
                .bind(branch.as_str())
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %request.pacticipant, version = %request.number), err)]
            async fn save_version(&self, request: &SaveVersion) -> Result<(Version, bool), StoreError> {
                let mut tx = self.begin_write().await?;
                let (pacticipant_id, _) = Self::ensure_pacticipant(&mut tx, request.pacticipant.as_str()).await?;
                let (version_id, created) = Self::ensure_version(&mut tx, pacticipant_id, request.number.as_str()).await?;
                if let Some(build_url) = &request.build_url {
                    sqlx::query("UPDATE versions SET build_url = $2, updated_at = $3 WHERE id = $1")
                        .bind(version_id)
                        .bind(build_url)
                        .bind(super::now())
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(tags) = &request.tags {
                    let existing: Vec<String> = sqlx::query_scalar("SELECT name FROM tags WHERE version_id = $1")
                        .bind(version_id)
                        .fetch_all(&mut *tx)
                        .await?;
                    for name in existing.iter().filter(|name| !tags.iter().any(|t| t.as_str() == name.as_str())) {
                        sqlx::query("DELETE FROM tags WHERE version_id = $1 AND name = $2")
                            .bind(version_id)
                            .bind(name)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for tag in tags {
                        Self::add_tag_tx(&mut tx, pacticipant_id, version_id, tag.as_str()).await?;
                    }
                }
                Self::commit(tx).await?;
                let version = self.version_by_id(version_id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                Ok((version, created))
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_version(&self, id: i64) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM versions WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::delete_orphan_pact_versions(&mut tx).await?;
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, err)]
            async fn tags_of_version(&self, version_id: i64) -> Result<Vec<Tag>, StoreError> {
                Ok(sqlx::query_as(concat!(tag_select!(), " WHERE t.version_id = $1 ORDER BY t.id"))
                    .bind(version_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn tags_of_pacticipant(&self, pacticipant_id: i64) -> Result<Vec<Tag>, StoreError> {
                Ok(sqlx::query_as(concat!(tag_select!(), " WHERE v.pacticipant_id = $1 ORDER BY t.id"))
                    .bind(pacticipant_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
            async fn tag_heads(
                &self,
                pacticipant_ids: &[i64],
                names: Option<&[String]>,
            ) -> Result<Vec<TagHead>, StoreError> {
                if names.is_some_and(|names| names.is_empty()) {
                    return Ok(vec![]);
                }
                let mut found = Vec::new();
                for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
                    // One range of the (pacticipant_id, name, version_id) index.
                    let mut query = sqlx::QueryBuilder::<$db>::new(tag_heads_select!());
                    Self::push_in(&mut query, ids);
                    if let Some(names) = names {
                        query.push(" AND t.name");
                        Self::push_in(&mut query, names);
                    }
                    query.push(" GROUP BY t.pacticipant_id, t.name ORDER BY t.pacticipant_id, t.name");
                    found.extend(query.build_query_as::<TagHead>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
                }
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(tag = %name), err)]
            async fn tag(&self, version_id: i64, name: &TagName) -> Result<Option<Tag>, StoreError> {
                Ok(sqlx::query_as(concat!(tag_select!(), " WHERE t.version_id = $1 AND t.name = $2"))
                    .bind(version_id)
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %pacticipant, version = %version, tag = %tag), err)]
            async fn add_tag(
                &self,
                pacticipant: &PacticipantName,
                version: &VersionNumber,
                tag: &TagName,
            ) -> Result<(Tag, bool), StoreError> {
                let mut tx = self.begin_write().await?;
                let (pacticipant_id, _) = Self::ensure_pacticipant(&mut tx, pacticipant.as_str()).await?;
                let (version_id, _) = Self::ensure_version(&mut tx, pacticipant_id, version.as_str()).await?;
                let created = Self::add_tag_tx(&mut tx, pacticipant_id, version_id, tag.as_str()).await?;
                Self::commit(tx).await?;
                let tag = self.tag(version_id, tag).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                Ok((tag, created))
            }

            #[tracing::instrument(skip_all, fields(tag = %name), err)]
            async fn delete_tag(&self, version_id: i64, name: &TagName) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM tags WHERE version_id = $1 AND name = $2")
                    .bind(version_id)
                    .bind(name.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, err)]
            async fn version_tags(&self, version_id: i64) -> Result<Vec<VersionTag>, StoreError> {
                Ok(sqlx::query_as(concat!(
                    "SELECT t.name, t.created_at, ",
                    tag_is_latest!(),
                    " AS latest FROM tags t JOIN versions v ON v.id = t.version_id WHERE t.version_id = $1 ORDER BY t.id",
                ))
                .bind(version_id)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(branch = %name), err)]
            async fn branch(&self, pacticipant_id: i64, name: &BranchName) -> Result<Option<Branch>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, pacticipant_id, name, created_at, updated_at FROM branches \
                     WHERE pacticipant_id = $1 AND name = $2",
                )
                .bind(pacticipant_id)
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn branches(&self, pacticipant_id: i64) -> Result<Vec<Branch>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, pacticipant_id, name, created_at, updated_at FROM branches \
                     WHERE pacticipant_id = $1 ORDER BY updated_at DESC, id DESC",
                )
                .bind(pacticipant_id)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn branches_of_version(&self, version_id: i64) -> Result<Vec<BranchVersion>, StoreError> {
                Ok(sqlx::query_as(concat!(branch_version_select!(), " WHERE bv.version_id = $1 ORDER BY bv.id"))
                    .bind(version_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn branch_versions_of_pacticipant(&self, pacticipant_id: i64) -> Result<Vec<BranchVersion>, StoreError> {
                Ok(sqlx::query_as(concat!(branch_version_select!(), " WHERE b.pacticipant_id = $1 ORDER BY bv.id"))
                    .bind(pacticipant_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn branch_versions(&self, branch_id: i64) -> Result<Vec<BranchVersion>, StoreError> {
                Ok(sqlx::query_as(concat!(branch_version_select!(), " WHERE bv.branch_id = $1 ORDER BY bv.id DESC"))
                    .bind(branch_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
            async fn branch_heads(
                &self,
                pacticipant_ids: &[i64],
                names: Option<&[String]>,
            ) -> Result<Vec<BranchHead>, StoreError> {
                if names.is_some_and(|names| names.is_empty()) {
                    return Ok(vec![]);
                }
                let mut found = Vec::new();
                for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
                    // With the index on (branch_id, id), each head is one index seek, whose
                    // row gives the version (no second lookup of the head by its id). A
                    // branch whose versions were all deleted has no head (NULL, left out
                    // here: filtered in SQL, PostgreSQL would run the subquery twice).
                    let mut query = sqlx::QueryBuilder::<$db>::new(branch_heads_select!());
                    Self::push_in(&mut query, ids);
                    if let Some(names) = names {
                        query.push(" AND b.name");
                        Self::push_in(&mut query, names);
                    }
                    query.push(" ORDER BY b.pacticipant_id, b.name");
                    let rows: Vec<(i64, String, Option<i64>)> =
                        query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                    found.extend(rows.into_iter().filter_map(|(pacticipant_id, branch_name, version_id)| {
                        Some(BranchHead { pacticipant_id, branch_name, version_id: version_id? })
                    }));
                }
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(pacticipant = %pacticipant, branch = %branch, version = %version), err)]
            async fn add_branch_version(
                &self,
                pacticipant: &PacticipantName,
                branch: &BranchName,
                version: &VersionNumber,
            ) -> Result<(BranchVersion, bool), StoreError> {
                let mut tx = self.begin_write().await?;
                let (pacticipant_id, _) = Self::ensure_pacticipant(&mut tx, pacticipant.as_str()).await?;
                let (version_id, _) = Self::ensure_version(&mut tx, pacticipant_id, version.as_str()).await?;
                let (id, created) = Self::add_branch_version_tx(&mut tx, pacticipant_id, branch.as_str(), version_id).await?;
                Self::commit(tx).await?;
                Ok((self.branch_version_by_id(id).await?, created))
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_branch(&self, branch_id: i64) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM branches WHERE id = $1")
                    .bind(branch_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_branch_version(&self, branch_id: i64, version_id: i64) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM branch_versions WHERE branch_id = $1 AND version_id = $2")
                    .bind(branch_id)
                    .bind(version_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, fields(consumer = %command.consumer, version = %command.version), err)]
            async fn publish(&self, command: &PublishCommand) -> Result<PublishOutcome, StoreError> {
                let mut tx = self.begin_write().await?;
                let now = super::now();
                let mut names: Vec<&str> = command.contracts.iter().map(|c| c.provider.as_str()).collect();
                names.push(command.consumer.as_str());
                let pacticipants = Self::ensure_pacticipants(&mut tx, &names).await?;
                let consumer = &pacticipants[command.consumer.as_str()];
                let consumer_id = consumer.id;
                // The answer is built from what this transaction writes and reads: no
                // reads after the commit.
                let inserted: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
                    "INSERT INTO versions (pacticipant_id, number, build_url, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (pacticipant_id, number) DO NOTHING RETURNING id, created_at",
                )
                .bind(consumer_id)
                .bind(command.version.as_str())
                .bind(&command.build_url)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let version_created = inserted.is_some();
                let (version_id, version_created_at, build_url) = match inserted {
                    Some((id, created_at)) => (id, created_at, command.build_url.clone()),
                    None => match &command.build_url {
                        Some(build_url) => sqlx::query_as::<_, (i64, DateTime<Utc>, Option<String>)>(
                            "UPDATE versions SET build_url = $3, updated_at = $4 \
                             WHERE pacticipant_id = $1 AND number = $2 RETURNING id, created_at, build_url",
                        )
                        .bind(consumer_id)
                        .bind(command.version.as_str())
                        .bind(build_url)
                        .bind(now),
                        None => sqlx::query_as(
                            "SELECT id, created_at, build_url FROM versions WHERE pacticipant_id = $1 AND number = $2",
                        )
                        .bind(consumer_id)
                        .bind(command.version.as_str()),
                    }
                    .fetch_one(&mut *tx)
                    .await?,
                };
                if let Some(branch) = &command.branch {
                    Self::add_branch_version_known_tx(&mut tx, consumer_id, consumer.has_main_branch, branch.as_str(), version_id)
                        .await?;
                }
                // A fixed order of writes keeps two brokers publishing at once from
                // waiting on each other's locks in opposite orders.
                let mut tags: Vec<&TagName> = command.tags.iter().collect();
                tags.sort();
                tags.dedup();
                for tag in tags {
                    Self::add_tag_tx(&mut tx, consumer_id, version_id, tag.as_str()).await?;
                }
                let mut contracts: Vec<&ContractToStore> = command.contracts.iter().collect();
                contracts.sort_by(|a, b| a.provider.cmp(&b.provider));
                let mut outcomes = Vec::new();
                let mut conflicts = Vec::new();
                let mut events = Vec::new();
                for contract in contracts {
                    let provider_id = pacticipants[contract.provider.as_str()].id;
                    let inserted: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO pact_versions (consumer_id, provider_id, sha, content, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer_id, provider_id, sha) DO NOTHING RETURNING id",
                    )
                    .bind(consumer_id)
                    .bind(provider_id)
                    .bind(&contract.sha)
                    .bind(&contract.content)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let content_is_new = inserted.is_some();
                    let pact_version_id: i64 = match inserted {
                        Some(id) => id,
                        None => {
                            sqlx::query_scalar(
                                "SELECT id FROM pact_versions WHERE consumer_id = $1 AND provider_id = $2 AND sha = $3",
                            )
                            .bind(consumer_id)
                            .bind(provider_id)
                            .bind(&contract.sha)
                            .fetch_one(&mut *tx)
                            .await?
                        }
                    };
                    let published: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO pact_publications (consumer_version_id, provider_id, pact_version_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (consumer_version_id, provider_id) DO NOTHING RETURNING id",
                    )
                    .bind(version_id)
                    .bind(provider_id)
                    .bind(pact_version_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let (publication_id, publication_created_at, outcome) = if let Some(id) = published {
                        if matches!(contract.merged_from, Some(Some(_))) {
                            // Merged from a pact that has been deleted since.
                            tx.rollback().await?;
                            return Err(StoreError::MergeRaced);
                        }
                        (id, now, ContractOutcome::Created)
                    } else {
                        let (publication_id, publication_created_at, existing_id, existing_content): (i64, DateTime<Utc>, i64, String) = sqlx::query_as(
                            "SELECT pp.id, pp.created_at, pv.id, pv.content FROM pact_publications pp JOIN pact_versions pv ON pv.id = pp.pact_version_id \
                             WHERE pp.consumer_version_id = $1 AND pp.provider_id = $2",
                        )
                        .bind(version_id)
                        .bind(provider_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let outcome = if existing_id == pact_version_id {
                            ContractOutcome::Unchanged
                        } else if let Some(merged_from) = contract.merged_from {
                            // Compare and swap: the row is replaced only if it still holds
                            // the content the merge was computed from. On PostgreSQL the
                            // UPDATE waits for a concurrent writer of the row and then
                            // checks the condition again against what that writer committed.
                            let swapped = match merged_from {
                                Some(base) => sqlx::query(
                                    "UPDATE pact_publications SET pact_version_id = $3, updated_at = $4 \
                                     WHERE consumer_version_id = $1 AND provider_id = $2 AND pact_version_id = $5",
                                )
                                .bind(version_id)
                                .bind(provider_id)
                                .bind(pact_version_id)
                                .bind(now)
                                .bind(base)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected(),
                                None => 0,
                            };
                            if swapped != 1 {
                                tx.rollback().await?;
                                return Err(StoreError::MergeRaced);
                            }
                            ContractOutcome::Overwritten
                        } else if contract.overwrite {
                            sqlx::query(
                                "UPDATE pact_publications SET pact_version_id = $3, updated_at = $4 \
                                 WHERE consumer_version_id = $1 AND provider_id = $2",
                            )
                            .bind(version_id)
                            .bind(provider_id)
                            .bind(pact_version_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            ContractOutcome::Overwritten
                        } else {
                            conflicts.push(PactConflict {
                                provider: contract.provider.to_string(),
                                existing_content,
                            });
                            continue;
                        };
                        (publication_id, publication_created_at, outcome)
                    };
                    // CROSS JOIN keeps SQLite walking the consumer's versions newest first
                    // (rather than sorting every publication for the provider).
                    let previous_pact_version_id: Option<i64> = sqlx::query_scalar(
                        "SELECT pp.pact_version_id FROM versions cv CROSS JOIN pact_publications pp \
                         WHERE cv.pacticipant_id = $1 AND pp.consumer_version_id = cv.id AND pp.provider_id = $2 \
                         AND cv.id <> $3 ORDER BY cv.id DESC LIMIT 1",
                    )
                    .bind(consumer_id)
                    .bind(provider_id)
                    .bind(version_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let mut event = super::events::NewEvent::new(super::events::EventKind::ContractPublished);
                    event.consumer_id = Some(consumer_id);
                    event.provider_id = Some(provider_id);
                    event.consumer_version_id = Some(version_id);
                    event.pact_version_id = Some(pact_version_id);
                    event.detail.outcome = Some(outcome.as_str().to_string());
                    event.detail.content_is_new = Some(content_is_new);
                    event.detail.previous_pact_version_id = previous_pact_version_id;
                    events.push(event);
                    outcomes.push((
                        outcome,
                        Publication {
                            id: publication_id,
                            consumer_id,
                            consumer_name: command.consumer.to_string(),
                            provider_id,
                            provider_name: contract.provider.to_string(),
                            consumer_version_id: version_id,
                            consumer_version_number: command.version.to_string(),
                            pact_version_id,
                            sha: contract.sha.clone(),
                            created_at: publication_created_at,
                        },
                    ));
                }
                if !conflicts.is_empty() {
                    tx.rollback().await?;
                    return Err(StoreError::PactConflict(conflicts));
                }
                Self::emit_events_tx(&mut tx, &events).await?;
                Self::commit(tx).await?;
                Ok(PublishOutcome {
                    version: Version {
                        id: version_id,
                        pacticipant_id: consumer_id,
                        pacticipant_name: command.consumer.to_string(),
                        number: command.version.to_string(),
                        build_url,
                        created_at: version_created_at,
                    },
                    version_created,
                    contracts: outcomes,
                })
            }

            #[tracing::instrument(skip_all, err)]
            async fn publications(&self, filter: PublicationFilter) -> Result<Vec<Publication>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(publication_select!());
                Self::push_publication_filter(&mut query, &filter);
                query.push(" ORDER BY pp.consumer_version_id, pp.id");
                Ok(query.build_query_as().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all, fields(versions = consumer_version_ids.len()), err)]
            async fn publications_of_versions(
                &self,
                provider_id: Option<i64>,
                consumer_version_ids: &[i64],
            ) -> Result<Vec<Publication>, StoreError> {
                // The pacticipants' names come from the cache, or are read apart: joined
                // in, PostgreSQL underestimates the rows of one provider among hundreds
                // of versions (the provider and the version are correlated) and scans
                // every pacticipant once per row.
                type Row = (i64, i64, i64, i64, String, i64, String, DateTime<Utc>);
                let mut rows: Vec<Row> = Vec::new();
                for ids in consumer_version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT pp.id, cv.pacticipant_id, pp.provider_id, pp.consumer_version_id, \
                         cv.number, pp.pact_version_id, pv.sha, pp.created_at \
                         FROM pact_publications pp JOIN versions cv ON cv.id = pp.consumer_version_id \
                         JOIN pact_versions pv ON pv.id = pp.pact_version_id WHERE pp.consumer_version_id",
                    );
                    Self::push_in(&mut query, ids);
                    if let Some(provider_id) = provider_id {
                        query.push(" AND pp.provider_id = ").push_bind(provider_id);
                    }
                    rows.extend(query.build_query_as::<Row>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
                }
                let mut pacticipant_ids: Vec<i64> = rows.iter().flat_map(|r| [r.1, r.2]).collect();
                pacticipant_ids.sort_unstable();
                pacticipant_ids.dedup();
                let (mut names, missing) = self.names.lookup(&pacticipant_ids);
                if !missing.is_empty() {
                    let read = super::batch::BatchStore::pacticipants_by_ids(self, &missing).await?;
                    self.names.remember(read.iter().map(|p| (p.id, p.name.as_str())));
                    names.extend(read.into_iter().map(|p| (p.id, p.name)));
                }
                let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
                let mut found: Vec<Publication> = rows
                    .into_iter()
                    .map(
                        |(id, consumer_id, provider_id, consumer_version_id, consumer_version_number, pact_version_id, sha, created_at)| Publication {
                            id,
                            consumer_id,
                            consumer_name: name(consumer_id),
                            provider_id,
                            provider_name: name(provider_id),
                            consumer_version_id,
                            consumer_version_number,
                            pact_version_id,
                            sha,
                            created_at,
                        },
                    )
                    .collect();
                found.sort_by_key(|pp| (pp.consumer_version_id, pp.id));
                found.dedup_by_key(|pp| pp.id);
                Ok(found)
            }

            #[tracing::instrument(skip_all, err)]
            async fn latest_publication(&self, consumer_id: i64, provider_id: i64) -> Result<Option<Publication>, StoreError> {
                // The consumer's versions newest first, each probing the unique index of
                // publications, then that one publication.
                let latest: Option<i64> = sqlx::query_scalar(
                    "SELECT cv.id FROM versions cv CROSS JOIN pact_publications pp \
                     WHERE cv.pacticipant_id = $1 AND pp.consumer_version_id = cv.id AND pp.provider_id = $2 \
                     ORDER BY cv.id DESC LIMIT 1",
                )
                .bind(consumer_id)
                .bind(provider_id)
                .fetch_optional(&self.pool)
                .await?;
                let Some(version_id) = latest else {
                    return Ok(None);
                };
                Ok(sqlx::query_as(concat!(
                    publication_select!(),
                    " WHERE pp.consumer_version_id = $1 AND pp.provider_id = $2"
                ))
                .bind(version_id)
                .bind(provider_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn consumers_of(&self, provider_id: i64) -> Result<Vec<Pacticipant>, StoreError> {
                // Content without any publication (left by an overwrite) does not count.
                Ok(sqlx::query_as(concat!(
                    pacticipant_select!(),
                    " WHERE EXISTS (SELECT 1 FROM pact_versions pv WHERE pv.consumer_id = pacticipants.id \
                     AND pv.provider_id = $1 \
                     AND EXISTS (SELECT 1 FROM pact_publications pp WHERE pp.pact_version_id = pv.id)) ORDER BY id"
                ))
                .bind(provider_id)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn pact_version(&self, id: i64) -> Result<Option<PactVersion>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, consumer_id, provider_id, sha, content, created_at FROM pact_versions WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, fields(sha = %sha), err)]
            async fn pact_version_by_sha(
                &self,
                consumer_id: i64,
                provider_id: i64,
                sha: &str,
            ) -> Result<Option<PactVersion>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, consumer_id, provider_id, sha, content, created_at FROM pact_versions \
                     WHERE consumer_id = $1 AND provider_id = $2 AND sha = $3",
                )
                .bind(consumer_id)
                .bind(provider_id)
                .bind(sha)
                .fetch_optional(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn integrations_of(&self, pacticipant_id: i64) -> Result<Vec<Integration>, StoreError> {
                // One index probe per pacticipant at the other end, however much content
                // the pair has.
                Ok(sqlx::query_as(
                    "SELECT c.id AS consumer_id, c.name AS consumer_name, pr.id AS provider_id, \
                     pr.name AS provider_name FROM pacticipants c CROSS JOIN pacticipants pr \
                     WHERE c.id = $1 \
                     AND EXISTS (SELECT 1 FROM pact_versions pv WHERE pv.consumer_id = c.id AND pv.provider_id = pr.id) \
                     UNION SELECT c.id, c.name, pr.id, pr.name FROM pacticipants pr CROSS JOIN pacticipants c \
                     WHERE pr.id = $1 \
                     AND EXISTS (SELECT 1 FROM pact_versions pv WHERE pv.consumer_id = c.id AND pv.provider_id = pr.id) \
                     ORDER BY consumer_name, provider_name",
                )
                .bind(pacticipant_id)
                .fetch_all(&self.pool)
                .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_publications(&self, filter: PublicationFilter) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "DELETE FROM pact_publications WHERE id IN (SELECT pp.id FROM pact_publications pp \
                     JOIN versions cv ON cv.id = pp.consumer_version_id",
                );
                Self::push_publication_filter(&mut query, &filter);
                query.push(")");
                let deleted = query.build().execute(&mut *tx).await?.rows_affected();
                Self::delete_orphan_pact_versions(&mut tx).await?;
                Self::commit(tx).await?;
                Ok(deleted)
            }

            #[tracing::instrument(skip_all, fields(provider = %verification.provider, version = %verification.provider_version), err)]
            async fn record_verification(&self, verification: &NewVerification) -> Result<Verification, StoreError> {
                let mut tx = self.begin_write().await?;
                let (provider_id, _) = Self::ensure_pacticipant(&mut tx, verification.provider.as_str()).await?;
                let (version_id, _) =
                    Self::ensure_version(&mut tx, provider_id, verification.provider_version.as_str()).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO verifications (pact_version_id, provider_version_id, success, build_url, \
                     test_results, verified_by, wip, pending, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(verification.pact_version_id)
                .bind(version_id)
                .bind(verification.success)
                .bind(&verification.build_url)
                .bind(verification.test_results.as_ref().map(sqlx::types::Json))
                .bind(verification.verified_by.as_ref().map(sqlx::types::Json))
                .bind(verification.wip)
                .bind(verification.pending)
                .bind(super::now())
                .fetch_one(&mut *tx)
                .await?;
                let (consumer_id, pact_provider_id): (i64, i64) =
                    sqlx::query_as("SELECT consumer_id, provider_id FROM pact_versions WHERE id = $1")
                        .bind(verification.pact_version_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let mut event = super::events::NewEvent::new(super::events::EventKind::VerificationPublished);
                event.consumer_id = Some(consumer_id);
                event.provider_id = Some(pact_provider_id);
                event.pact_version_id = Some(verification.pact_version_id);
                event.provider_version_id = Some(version_id);
                event.verification_id = Some(id);
                event.detail.success = Some(verification.success);
                Self::emit_events_tx(&mut tx, &[event]).await?;
                Self::commit(tx).await?;
                self.verification(id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
            }

            #[tracing::instrument(skip_all, err)]
            async fn verification(&self, id: i64) -> Result<Option<Verification>, StoreError> {
                Ok(sqlx::query_as(concat!(verification_select!(), " WHERE vr.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn verifications(&self, filter: VerificationFilter) -> Result<Vec<Verification>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(verification_select!());
                let mut conditions = crate::store::sql::Conditions::default();
                if let Some(id) = filter.pact_version_id {
                    conditions.next(&mut query).push("vr.pact_version_id = ").push_bind(id);
                }
                if let Some(id) = filter.provider_id {
                    conditions.next(&mut query).push("pv.provider_id = ").push_bind(id);
                }
                if let Some(id) = filter.consumer_id {
                    conditions.next(&mut query).push("pv.consumer_id = ").push_bind(id);
                }
                if let Some(id) = filter.provider_version_id {
                    conditions.next(&mut query).push("vr.provider_version_id = ").push_bind(id);
                }
                query.push(" ORDER BY vr.id");
                Ok(query.build_query_as().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn delete_verification(&self, id: i64) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM verifications WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, fields(environment = %fields.name), err)]
            async fn create_environment(&self, fields: &EnvironmentFields) -> Result<Environment, StoreError> {
                let mut tx = self.begin_write().await?;
                let uuid = uuid::Uuid::new_v4().to_string();
                sqlx::query(
                    "INSERT INTO environments (uuid, name, display_name, production, contacts, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&uuid)
                .bind(fields.name.as_str())
                .bind(&fields.display_name)
                .bind(fields.production)
                .bind(fields.contacts.as_ref().map(sqlx::types::Json))
                .bind(super::now())
                .execute(&mut *tx)
                .await?;
                Self::commit(tx).await?;
                self.environment(&uuid).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
            }

            #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
            async fn replace_environment(&self, uuid: &str, fields: &EnvironmentFields) -> Result<Option<Environment>, StoreError> {
                let mut tx = self.begin_write().await?;
                let updated = sqlx::query(
                    "UPDATE environments SET name = $2, display_name = $3, production = $4, contacts = $5, updated_at = $6 \
                     WHERE uuid = $1",
                )
                .bind(uuid)
                .bind(fields.name.as_str())
                .bind(&fields.display_name)
                .bind(fields.production)
                .bind(fields.contacts.as_ref().map(sqlx::types::Json))
                .bind(super::now())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                Self::commit(tx).await?;
                if updated == 0 {
                    return Ok(None);
                }
                self.environment(uuid).await
            }

            #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
            async fn environment(&self, uuid: &str) -> Result<Option<Environment>, StoreError> {
                Ok(sqlx::query_as(concat!(environment_select!(), " WHERE uuid = $1"))
                    .bind(uuid)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn environment_by_id(&self, id: i64) -> Result<Option<Environment>, StoreError> {
                Ok(sqlx::query_as(concat!(environment_select!(), " WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(environment = %name), err)]
            async fn environment_by_name(&self, name: &EnvironmentName) -> Result<Option<Environment>, StoreError> {
                Ok(sqlx::query_as(concat!(environment_select!(), " WHERE name = $1"))
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn environments(&self) -> Result<Vec<Environment>, StoreError> {
                Ok(sqlx::query_as(concat!(environment_select!(), " ORDER BY COALESCE(display_name, name), id"))
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
            async fn delete_environment(&self, uuid: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM environments WHERE uuid = $1")
                    .bind(uuid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                Self::commit(tx).await?;
                Ok(deleted > 0)
            }

            #[tracing::instrument(skip_all, err)]
            async fn record_deployment(
                &self,
                version_id: i64,
                environment_id: i64,
                application_instance: Option<&str>,
            ) -> Result<(DeployedVersion, bool), StoreError> {
                // Another broker may record a deployment to the same place at the same
                // moment; the partial unique index refuses the second one, and a retry
                // then sees the first and ends it (or finds it is this very version).
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let result = async {
                        let mut tx = self.begin_write().await?;
                        let outcome =
                            Self::record_deployment_tx(&mut tx, version_id, environment_id, application_instance).await?;
                        Self::commit(tx).await?;
                        Ok::<_, StoreError>(outcome)
                    }
                    .await;
                    match result {
                        Ok((id, created)) => return Ok((self.deployed_by_id(id).await?, created)),
                        Err(StoreError::Conflict(_)) if attempt < 3 => continue,
                        Err(err) => return Err(err),
                    }
                }
            }

            #[tracing::instrument(skip_all, fields(deployed_version = %uuid), err)]
            async fn deployed_version(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError> {
                Ok(sqlx::query_as(concat!(deployed_select!(), " WHERE d.uuid = $1"))
                    .bind(uuid)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn deployed_versions(&self, filter: EnvironmentRecordFilter) -> Result<Vec<DeployedVersion>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(deployed_select!());
                Self::push_environment_record_filter(&mut query, "d", "d.undeployed_at IS NULL", &filter);
                query.push(" ORDER BY d.id");
                Ok(query.build_query_as().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all, fields(deployed_version = %uuid), err)]
            async fn undeploy(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE deployed_versions SET undeployed_at = $2 WHERE uuid = $1 AND undeployed_at IS NULL")
                    .bind(uuid)
                    .bind(super::now())
                    .execute(&mut *tx)
                    .await?;
                Self::commit(tx).await?;
                self.deployed_version(uuid).await
            }

            #[tracing::instrument(skip_all, err)]
            async fn record_release(&self, version_id: i64, environment_id: i64) -> Result<(ReleasedVersion, bool), StoreError> {
                let mut tx = self.begin_write().await?;
                let pacticipant_id: i64 = sqlx::query_scalar("SELECT pacticipant_id FROM versions WHERE id = $1")
                    .bind(version_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version_id, environment_id) DO NOTHING RETURNING id",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(version_id)
                .bind(pacticipant_id)
                .bind(environment_id)
                .bind(super::now())
                .fetch_optional(&mut *tx)
                .await?;
                let (id, created) = match inserted {
                    Some(id) => (id, true),
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "UPDATE released_versions SET support_ended_at = NULL \
                             WHERE version_id = $1 AND environment_id = $2 RETURNING id",
                        )
                        .bind(version_id)
                        .bind(environment_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, false)
                    }
                };
                Self::commit(tx).await?;
                Ok((self.released_by_id(id).await?, created))
            }

            #[tracing::instrument(skip_all, fields(released_version = %uuid), err)]
            async fn released_version(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError> {
                Ok(sqlx::query_as(concat!(released_select!(), " WHERE r.uuid = $1"))
                    .bind(uuid)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(skip_all, err)]
            async fn released_versions(&self, filter: EnvironmentRecordFilter) -> Result<Vec<ReleasedVersion>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new(released_select!());
                Self::push_environment_record_filter(&mut query, "r", "r.support_ended_at IS NULL", &filter);
                query.push(" ORDER BY r.id");
                Ok(query.build_query_as().fetch_all(&self.pool).await?)
            }

            #[tracing::instrument(skip_all, fields(released_version = %uuid), err)]
            async fn end_support(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE released_versions SET support_ended_at = $2 WHERE uuid = $1 AND support_ended_at IS NULL")
                    .bind(uuid)
                    .bind(super::now())
                    .execute(&mut *tx)
                    .await?;
                Self::commit(tx).await?;
                self.released_version(uuid).await
            }

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
                    let stored = self.drift_run(id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                    let scope = match run.environment_id {
                        Some(id) => EnvironmentScope::Id(id),
                        None => EnvironmentScope::Unnamed,
                    };
                    let open = self.open_drift_findings(run.provider_id, scope).await?;
                    return Ok(RecordedDriftRun {
                        run: stored,
                        created: false,
                        changes: DriftChanges { open, ..DriftChanges::default() },
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
                .bind(super::now())
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
                    let mut event = super::events::NewEvent::new(super::events::EventKind::DriftChanged);
                    event.provider_id = Some(run.provider_id);
                    event.drift_run_id = Some(run_id);
                    event.detail.new_findings = new_ids.clone();
                    event.detail.resolved_findings = resolved_ids.clone();
                    Self::emit_events_tx(&mut tx, &[event]).await?;
                }
                Self::commit(tx).await?;
                let stored = self.drift_run(run_id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
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
                Ok(sqlx::query_as(concat!(drift_run_select!(), " WHERE r.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
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
            async fn drift_run_count(&self, provider_id: i64, environment: EnvironmentScope) -> Result<i64, StoreError> {
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
            async fn latest_drift_runs(&self, provider_id: i64, environment: EnvironmentScope) -> Result<Vec<DriftRun>, StoreError> {
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
            async fn open_drift_findings(&self, provider_id: i64, environment: EnvironmentScope) -> Result<Vec<DriftFinding>, StoreError> {
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
    };
}
