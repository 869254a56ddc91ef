//! Helpers of the write methods: finding or creating pacticipants, versions, branches
//! and tags inside a transaction.

use super::super::{Backend, Db};
use super::*;
use crate::store::*;

impl Backend {
    pub(in crate::store) async fn ensure_pacticipant(
        tx: &mut Tx,
        name: &str,
    ) -> Result<(i64, bool), StoreError> {
        // Usually it exists: one read. Otherwise insert, and read again if another
        // transaction inserted it first.
        let find = || {
            sqlx::query_scalar::<_, i64>("SELECT id FROM pacticipants WHERE name = $1").bind(name)
        };
        if let Some(id) = find().fetch_optional(&mut **tx).await? {
            return Ok((id, false));
        }
        let now = crate::store::now();
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
    pub(in crate::store) async fn ensure_pacticipants(
        tx: &mut Tx,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, EnsuredPacticipant>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(
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
            .map(|(id, name, has_main_branch)| {
                (
                    name,
                    EnsuredPacticipant {
                        id,
                        has_main_branch,
                    },
                )
            })
            .collect();
        let mut missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !found.contains_key(*n))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for name in missing {
            let (id, _) = Self::ensure_pacticipant(tx, name).await?;
            found.insert(
                name.to_string(),
                EnsuredPacticipant {
                    id,
                    has_main_branch: false,
                },
            );
        }
        Ok(found)
    }

    pub(in crate::store) async fn ensure_version(
        tx: &mut Tx,
        pacticipant_id: i64,
        number: &str,
    ) -> Result<(i64, bool), StoreError> {
        let now = crate::store::now();
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
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM versions WHERE pacticipant_id = $1 AND number = $2")
                .bind(pacticipant_id)
                .bind(number)
                .fetch_one(&mut **tx)
                .await?;
        Ok((id, false))
    }

    /// Sets the main branch of a pacticipant that has none when `branch` is one of
    /// the conventional names.
    pub(in crate::store) async fn detect_main_branch(
        tx: &mut Tx,
        pacticipant_id: i64,
        branch: &str,
    ) -> Result<(), StoreError> {
        if MAIN_BRANCH_CANDIDATES.contains(&branch) {
            sqlx::query(
                "UPDATE pacticipants SET main_branch = $2 WHERE id = $1 AND main_branch IS NULL",
            )
            .bind(pacticipant_id)
            .bind(branch)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub(in crate::store) async fn add_branch_version_tx(
        tx: &mut Tx,
        pacticipant_id: i64,
        branch: &str,
        version_id: i64,
    ) -> Result<(i64, bool), StoreError> {
        Self::add_branch_version_known_tx(tx, pacticipant_id, false, branch, version_id).await
    }

    /// [`Self::add_branch_version_tx`] for a pacticipant known to have (or not)
    /// a main branch already: when it has one, no detection is tried.
    pub(in crate::store) async fn add_branch_version_known_tx(
        tx: &mut Tx,
        pacticipant_id: i64,
        has_main_branch: bool,
        branch: &str,
        version_id: i64,
    ) -> Result<(i64, bool), StoreError> {
        let now = crate::store::now();
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
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM branches WHERE pacticipant_id = $1 AND name = $2",
            )
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
                let id = sqlx::query_scalar(
                    "SELECT id FROM branch_versions WHERE branch_id = $1 AND version_id = $2",
                )
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
    pub(in crate::store) async fn add_tag_tx(
        tx: &mut Tx,
        pacticipant_id: i64,
        version_id: i64,
        tag: &str,
    ) -> Result<bool, StoreError> {
        let now = crate::store::now();
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
            let branch_count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM branch_versions WHERE version_id = $1")
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
        let environment_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM environments WHERE name = $1")
                .bind(tag)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(environment_id) = environment_id {
            Self::record_deployment_tx(tx, version_id, environment_id, None).await?;
        }
        Ok(true)
    }

    pub(in crate::store) async fn record_deployment_tx(
        tx: &mut Tx,
        version_id: i64,
        environment_id: i64,
        instance: Option<&str>,
    ) -> Result<(i64, bool), StoreError> {
        let now = crate::store::now();
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
        let pacticipant_id: i64 =
            sqlx::query_scalar("SELECT pacticipant_id FROM versions WHERE id = $1")
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
    pub(in crate::store) async fn delete_orphan_pact_versions(
        tx: &mut Tx,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM pact_versions WHERE NOT EXISTS \
             (SELECT 1 FROM pact_publications pp WHERE pp.pact_version_id = pact_versions.id)",
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn deployed_by_id(
        &self,
        id: i64,
    ) -> Result<DeployedVersion, StoreError> {
        Ok(
            sqlx::query_as(concat!(deployed_select!(), " WHERE d.id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn released_by_id(
        &self,
        id: i64,
    ) -> Result<ReleasedVersion, StoreError> {
        Ok(
            sqlx::query_as(concat!(released_select!(), " WHERE r.id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn drift_finding_by_id(
        &self,
        id: i64,
    ) -> Result<DriftFinding, StoreError> {
        Ok(
            sqlx::query_as(concat!(drift_finding_select!(), " WHERE f.id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(in crate::store) async fn drift_findings_by_ids(
        &self,
        ids: &[i64],
    ) -> Result<Vec<DriftFinding>, StoreError> {
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
    pub(in crate::store) fn push_publication_filter(
        query: &mut sqlx::QueryBuilder<Db>,
        filter: &PublicationFilter,
    ) {
        let mut conditions = crate::store::sql::Conditions::default();
        if let Some(id) = filter.consumer_id {
            conditions
                .next(query)
                .push("cv.pacticipant_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.provider_id {
            conditions
                .next(query)
                .push("pp.provider_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.consumer_version_id {
            conditions
                .next(query)
                .push("pp.consumer_version_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.pact_version_id {
            conditions
                .next(query)
                .push("pp.pact_version_id = ")
                .push_bind(id);
        }
    }

    /// As [`Self::push_publication_filter`], for deployed (`d`) or released (`r`)
    /// versions; `current` is the condition that selects the current records.
    pub(in crate::store) fn push_environment_record_filter(
        query: &mut sqlx::QueryBuilder<Db>,
        alias: &str,
        current: &str,
        filter: &EnvironmentRecordFilter,
    ) {
        let mut conditions = crate::store::sql::Conditions::default();
        if let Some(id) = filter.pacticipant_id {
            conditions
                .next(query)
                .push(format_args!("{alias}.pacticipant_id = "))
                .push_bind(id);
        }
        if let Some(id) = filter.environment_id {
            conditions
                .next(query)
                .push(format_args!("{alias}.environment_id = "))
                .push_bind(id);
        }
        if let Some(id) = filter.version_id {
            conditions
                .next(query)
                .push(format_args!("{alias}.version_id = "))
                .push_bind(id);
        }
        if filter.current_only {
            conditions.next(query).push(current);
        }
    }

    pub(in crate::store) async fn branch_version_by_id(
        &self,
        id: i64,
    ) -> Result<BranchVersion, StoreError> {
        Ok(
            sqlx::query_as(concat!(branch_version_select!(), " WHERE bv.id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
