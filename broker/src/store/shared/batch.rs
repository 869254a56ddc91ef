//! [`BatchStore`] for both backends (the trait and its types are in `store/batch.rs`).

use super::super::{Backend, Db};
use super::*;
use crate::store::*;

#[async_trait::async_trait]
impl crate::store::batch::BatchStore for Backend {
    #[tracing::instrument(skip_all, fields(pacticipants = ids.len()), err)]
    async fn pacticipants_by_ids(&self, ids: &[i64]) -> Result<Vec<Pacticipant>, StoreError> {
        let mut found: Vec<Pacticipant> = Vec::new();
        for ids in ids.chunks(IN_LIST_CHUNK) {
            let mut query =
                sqlx::QueryBuilder::<Db>::new(concat!(pacticipant_select!(), " WHERE id"));
            Self::push_in(&mut query, ids);
            found.extend(
                query
                    .build_query_as::<Pacticipant>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        found.sort_by_key(|p| p.id);
        found.dedup_by_key(|p| p.id);
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
    async fn current_records_of(
        &self,
        pacticipant_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::CurrentRecord>, StoreError> {
        let mut found: Vec<(i64, crate::store::batch::CurrentRecord)> = Vec::new();
        for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT d.id, d.pacticipant_id, d.version_id, v.number, d.environment_id, FALSE AS released \
                 FROM deployed_versions d JOIN versions v ON v.id = d.version_id \
                 WHERE d.undeployed_at IS NULL AND d.pacticipant_id",
            );
            Self::push_in(&mut query, ids);
            query.push(
                " UNION ALL SELECT r.id, r.pacticipant_id, r.version_id, v.number, r.environment_id, TRUE AS released \
                 FROM released_versions r JOIN versions v ON v.id = r.version_id \
                 WHERE r.support_ended_at IS NULL AND r.pacticipant_id",
            );
            Self::push_in(&mut query, ids);
            let rows: Vec<(i64, i64, i64, String, i64, bool)> = query
                .build_query_as()
                .persistent(Self::PERSIST_LIST_QUERIES)
                .fetch_all(&self.pool)
                .await?;
            found.extend(rows.into_iter().map(
                |(id, pacticipant_id, version_id, version_number, environment_id, released)| {
                    (
                        id,
                        crate::store::batch::CurrentRecord {
                            pacticipant_id,
                            version_id,
                            version_number,
                            environment_id,
                            released,
                        },
                    )
                },
            ));
        }
        found.sort_by_key(|(id, record)| (record.released, *id));
        Ok(found.into_iter().map(|(_, record)| record).collect())
    }

    #[tracing::instrument(skip_all, fields(consumers = consumer_ids.len()), err)]
    async fn pending_heads(
        &self,
        provider_id: i64,
        consumer_ids: &[i64],
        since: chrono::DateTime<chrono::Utc>,
        pending: &crate::store::batch::PendingBy,
    ) -> Result<Vec<crate::store::batch::HeadRef>, StoreError> {
        use crate::store::batch::{HeadKind, HeadRef, PendingBy, PublicationRef};
        type Time = chrono::DateTime<chrono::Utc>;
        // What the rule compares results with: when the provider branch began, or
        // when each provider tag was first used (`None`: any success verifies).
        // Each rule: its start, the provider versions that count (ending with the
        // provider's id and the name's column), and the name.
        type Rule = (Option<Time>, &'static str, &'static str, String);
        let verified_by: Vec<Rule> = match pending {
            PendingBy::Branch(branch) => {
                let started: Option<Time> = sqlx::query_scalar(
                    "SELECT MIN(bv.created_at) FROM branch_versions bv \
                     JOIN branches b ON b.id = bv.branch_id \
                     WHERE b.pacticipant_id = $1 AND b.name = $2",
                )
                .bind(provider_id)
                .bind(branch)
                .fetch_one(&self.pool)
                .await?;
                vec![(
                    started,
                    "SELECT bv.version_id FROM branch_versions bv JOIN branches b \
                     ON b.id = bv.branch_id WHERE b.pacticipant_id = ",
                    " AND b.name = ",
                    branch.clone(),
                )]
            }
            PendingBy::Tags(tags) => {
                let mut rules = Vec::with_capacity(tags.len());
                for tag in tags {
                    let first_used: Option<Time> = sqlx::query_scalar(
                        "SELECT MIN(created_at) FROM tags WHERE pacticipant_id = $1 AND name = $2",
                    )
                    .bind(provider_id)
                    .bind(tag)
                    .fetch_one(&self.pool)
                    .await?;
                    rules.push((
                        first_used,
                        "SELECT t.version_id FROM tags t WHERE t.pacticipant_id = ",
                        " AND t.name = ",
                        tag.clone(),
                    ));
                }
                rules
            }
        };
        let mut found: Vec<HeadRef> = Vec::new();
        for ids in consumer_ids.chunks(IN_LIST_CHUNK) {
            // The provider's contents of these consumers that are still pending: for a
            // branch, no success from it nor from before it began; for tags, some tag
            // without a success from a version carrying it or from before its first use.
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "WITH pending AS MATERIALIZED (SELECT pv.id FROM pact_versions pv WHERE pv.provider_id = ",
            );
            query.push_bind(provider_id).push(" AND pv.consumer_id");
            Self::push_in(&mut query, ids);
            query.push(" AND NOT (TRUE");
            for (start, versions_of, name_column, name) in &verified_by {
                query.push(
                    " AND EXISTS (SELECT 1 FROM verifications vr WHERE vr.pact_version_id = pv.id \
                     AND vr.success AND NOT vr.wip",
                );
                if let Some(start) = start {
                    query
                        .push(" AND (vr.created_at < ")
                        .push_bind(*start)
                        .push(" OR vr.provider_version_id IN (")
                        .push(*versions_of)
                        .push_bind(provider_id)
                        .push(*name_column)
                        .push_bind(name.clone())
                        .push("))");
                }
                query.push(")");
            }
            // Their publications after the date, then which of those are heads.
            query
                .push(
                    ")), published AS MATERIALIZED (SELECT pp.consumer_version_id, \
                     pp.pact_version_id, pp.created_at FROM pact_publications pp \
                     WHERE pp.pact_version_id IN (SELECT id FROM pending) AND pp.created_at > ",
                )
                .push_bind(since)
                .push(
                    // CROSS JOIN keeps SQLite's join order: from the few publications to
                    // their branches and tags (left to itself, it scanned every tag).
                    ") SELECT 'branch' AS kind, b.pacticipant_id, b.name, pb.consumer_version_id, \
                     pb.pact_version_id, pb.created_at FROM published pb \
                     CROSS JOIN branch_versions bv CROSS JOIN branches b \
                     WHERE bv.version_id = pb.consumer_version_id AND b.id = bv.branch_id \
                     AND NOT EXISTS (SELECT 1 FROM branch_versions newer \
                         WHERE newer.branch_id = bv.branch_id AND newer.id > bv.id) \
                     UNION ALL SELECT 'tag' AS kind, t.pacticipant_id, t.name, pb.consumer_version_id, \
                     pb.pact_version_id, pb.created_at FROM published pb CROSS JOIN tags t \
                     WHERE t.version_id = pb.consumer_version_id \
                     AND NOT EXISTS (SELECT 1 FROM tags newer \
                         WHERE newer.pacticipant_id = t.pacticipant_id AND newer.name = t.name \
                         AND newer.version_id > t.version_id)",
                );
            let rows: Vec<(String, i64, String, i64, i64, Time)> = query
                .build_query_as()
                .persistent(Self::PERSIST_LIST_QUERIES)
                .fetch_all(&self.pool)
                .await?;
            found.extend(rows.into_iter().map(
                |(kind, pacticipant_id, name, consumer_version_id, pact_version_id, created_at)| {
                    HeadRef {
                        pacticipant_id,
                        kind: if kind == "tag" {
                            HeadKind::Tag
                        } else {
                            HeadKind::Branch
                        },
                        name,
                        publication: PublicationRef {
                            consumer_version_id,
                            pact_version_id,
                            created_at,
                        },
                    }
                },
            ));
        }
        found.sort_by(|a, b| {
            (a.pacticipant_id, a.kind, &a.name).cmp(&(b.pacticipant_id, b.kind, &b.name))
        });
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(contents = pact_version_ids.len()), err)]
    async fn successes_of(
        &self,
        pact_version_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::Success>, StoreError> {
        let mut found: Vec<(i64, crate::store::batch::Success)> = Vec::new();
        for ids in pact_version_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT id, pact_version_id, provider_version_id, created_at FROM verifications \
                 WHERE success AND NOT wip AND pact_version_id",
            );
            Self::push_in(&mut query, ids);
            let rows: Vec<(i64, i64, i64, chrono::DateTime<chrono::Utc>)> = query
                .build_query_as()
                .persistent(Self::PERSIST_LIST_QUERIES)
                .fetch_all(&self.pool)
                .await?;
            found.extend(rows.into_iter().map(
                |(id, pact_version_id, provider_version_id, created_at)| {
                    (
                        id,
                        crate::store::batch::Success {
                            pact_version_id,
                            provider_version_id,
                            created_at,
                        },
                    )
                },
            ));
        }
        found.sort_by_key(|(id, _)| *id);
        Ok(found.into_iter().map(|(_, success)| success).collect())
    }

    #[tracing::instrument(skip_all, fields(contents = pact_version_ids.len()), err)]
    async fn successes_by_content(
        &self,
        provider_id: i64,
        branch: Option<&str>,
        pact_version_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::ContentSuccesses>, StoreError> {
        let mut found: Vec<crate::store::batch::ContentSuccesses> = Vec::new();
        for ids in pact_version_ids.chunks(IN_LIST_CHUNK) {
            let mut query =
                sqlx::QueryBuilder::<Db>::new("SELECT v.pact_version_id, MIN(v.created_at)");
            if let Some(branch) = branch {
                // One statement: the branch is found by name in both subqueries, so
                // the answer needs no earlier lookup of the branch. The branch's
                // versions are one range of the (branch_id, version_id) index, hashed
                // once; joined to each result instead, PostgreSQL read every one of
                // them from the table.
                query
                    .push(
                        ", SUM(CASE WHEN v.provider_version_id IN (SELECT bv.version_id FROM branch_versions bv \
                         WHERE bv.branch_id = (SELECT b.id FROM branches b WHERE b.pacticipant_id = ",
                    )
                    .push_bind(provider_id)
                    .push(" AND b.name = ")
                    .push_bind(branch.to_string())
                    .push(
                        ")) THEN 1 ELSE 0 END), (SELECT MIN(sbv.created_at) FROM branch_versions sbv \
                         JOIN branches sb ON sb.id = sbv.branch_id WHERE sb.pacticipant_id = ",
                    )
                    .push_bind(provider_id)
                    .push(" AND sb.name = ")
                    .push_bind(branch.to_string())
                    .push(") FROM verifications v");
            } else {
                query.push(" FROM verifications v");
            }
            query.push(" WHERE v.success AND NOT v.wip AND v.pact_version_id");
            Self::push_in(&mut query, ids);
            query.push(" GROUP BY v.pact_version_id");
            if branch.is_some() {
                let rows: Vec<(
                    i64,
                    chrono::DateTime<chrono::Utc>,
                    i64,
                    Option<chrono::DateTime<chrono::Utc>>,
                )> = query
                    .build_query_as()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?;
                found.extend(rows.into_iter().map(
                    |(pact_version_id, first_success_at, from_branch, branch_started_at)| {
                        crate::store::batch::ContentSuccesses {
                            pact_version_id,
                            first_success_at,
                            from_branch,
                            branch_started_at,
                        }
                    },
                ));
            } else {
                let rows: Vec<(i64, chrono::DateTime<chrono::Utc>)> = query
                    .build_query_as()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?;
                found.extend(rows.into_iter().map(|(pact_version_id, first_success_at)| {
                    crate::store::batch::ContentSuccesses {
                        pact_version_id,
                        first_success_at,
                        from_branch: 0,
                        branch_started_at: None,
                    }
                }));
            }
        }
        found.sort_by_key(|c| c.pact_version_id);
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
    async fn branches_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<BranchVersion>, StoreError> {
        let mut found: Vec<BranchVersion> = Vec::new();
        for ids in version_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(concat!(
                branch_version_select!(),
                " WHERE bv.version_id"
            ));
            Self::push_in(&mut query, ids);
            found.extend(
                query
                    .build_query_as::<BranchVersion>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        found.sort_by_key(|bv| bv.id);
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
    async fn tags_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::TagOfVersion>, StoreError> {
        let mut found: Vec<(i64, crate::store::batch::TagOfVersion)> = Vec::new();
        for ids in version_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(concat!(
                "SELECT t.id, t.version_id, t.name, t.created_at, ",
                tag_is_latest!(),
                " AS latest FROM tags t JOIN versions v ON v.id = t.version_id WHERE t.version_id"
            ));
            Self::push_in(&mut query, ids);
            let rows: Vec<(i64, i64, String, chrono::DateTime<chrono::Utc>, bool)> = query
                .build_query_as()
                .persistent(Self::PERSIST_LIST_QUERIES)
                .fetch_all(&self.pool)
                .await?;
            found.extend(
                rows.into_iter()
                    .map(|(id, version_id, name, created_at, latest)| {
                        (
                            id,
                            crate::store::batch::TagOfVersion {
                                version_id,
                                name,
                                created_at,
                                latest,
                            },
                        )
                    }),
            );
        }
        found.sort_by_key(|(id, _)| *id);
        Ok(found.into_iter().map(|(_, tag)| tag).collect())
    }

    #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
    async fn environments_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::VersionEnvironment>, StoreError> {
        let mut found: Vec<crate::store::batch::VersionEnvironment> = Vec::new();
        for ids in version_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT version_id, environment_id FROM deployed_versions \
                 WHERE undeployed_at IS NULL AND version_id",
            );
            Self::push_in(&mut query, ids);
            query.push(
                " UNION SELECT version_id, environment_id FROM released_versions \
                 WHERE support_ended_at IS NULL AND version_id",
            );
            Self::push_in(&mut query, ids);
            found.extend(
                query
                    .build_query_as::<crate::store::batch::VersionEnvironment>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        found.sort_by_key(|e| (e.version_id, e.environment_id));
        found.dedup();
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(providers = provider_ids.len(), contents = pact_version_ids.len()), err)]
    async fn verifications_by_providers(
        &self,
        provider_ids: &[i64],
        pact_version_ids: &[i64],
    ) -> Result<Vec<Verification>, StoreError> {
        // A content names its provider, so the ids select the rows; the providers
        // only narrow them, in memory (they are few, and need no second list).
        let wanted: std::collections::HashSet<i64> = provider_ids.iter().copied().collect();
        let mut found: Vec<Verification> = Vec::new();
        for ids in pact_version_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(verification_select!());
            query.push(" WHERE vr.pact_version_id");
            Self::push_in(&mut query, ids);
            found.extend(
                query
                    .build_query_as::<Verification>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        found.retain(|v| wanted.contains(&v.provider_id));
        found.sort_by_key(|v| v.id);
        found.dedup_by_key(|v| v.id);
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(providers = provider_ids.len()), err)]
    async fn open_drift_findings_of(
        &self,
        provider_ids: &[i64],
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftFinding>, StoreError> {
        let mut found: Vec<DriftFinding> = Vec::new();
        for ids in provider_ids.chunks(IN_LIST_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(concat!(
                drift_finding_select!(),
                " WHERE f.resolved_at IS NULL AND f.provider_id"
            ));
            Self::push_in(&mut query, ids);
            if let Some(key) = environment.key() {
                query
                    .push(" AND COALESCE(f.environment_id, 0) = ")
                    .push_bind(key);
            }
            found.extend(
                query
                    .build_query_as::<DriftFinding>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        found.sort_by_key(|f| f.id);
        Ok(found)
    }
}
