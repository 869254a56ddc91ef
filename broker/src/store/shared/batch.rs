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
    async fn head_publication_refs(
        &self,
        provider_id: i64,
        consumer_ids: &[i64],
    ) -> Result<Vec<crate::store::batch::HeadRef>, StoreError> {
        use crate::store::batch::{HeadKind, HeadRef, PublicationRef};
        type Row = (i64, String, i64, i64, chrono::DateTime<chrono::Utc>);
        // Each head is one index seek (as in `branch_heads` and `tag_heads`), and
        // its publication one more, in the same statement: reading the heads first
        // and their publications after, by id, took a round trip and a longer
        // probe per head.
        let heads = |kind: HeadKind, ids: &[i64]| {
            let mut query = sqlx::QueryBuilder::<Db>::new(match kind {
                HeadKind::Branch => concat!(
                    "SELECT h.pacticipant_id, h.name, pp.consumer_version_id, pp.pact_version_id, pp.created_at FROM (",
                    branch_heads_select!()
                ),
                HeadKind::Tag => concat!(
                    "SELECT h.pacticipant_id, h.tag_name, pp.consumer_version_id, pp.pact_version_id, pp.created_at FROM (",
                    tag_heads_select!()
                ),
            });
            Self::push_in(&mut query, ids);
            if kind == HeadKind::Tag {
                query.push(" GROUP BY t.pacticipant_id, t.name");
            }
            query
                .push(") h JOIN pact_publications pp ON pp.consumer_version_id = h.version_id AND pp.provider_id = ")
                .push_bind(provider_id);
            query
        };
        let mut found: Vec<HeadRef> = Vec::new();
        for ids in consumer_ids.chunks(IN_LIST_CHUNK) {
            let mut branches = heads(HeadKind::Branch, ids);
            let mut tags = heads(HeadKind::Tag, ids);
            let (branch_rows, tag_rows): (Vec<Row>, Vec<Row>) = tokio::try_join!(
                branches
                    .build_query_as()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool),
                tags.build_query_as()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool),
            )?;
            let rows = branch_rows
                .into_iter()
                .map(|row| (HeadKind::Branch, row))
                .chain(tag_rows.into_iter().map(|row| (HeadKind::Tag, row)));
            found.extend(rows.map(
                |(
                    kind,
                    (pacticipant_id, name, consumer_version_id, pact_version_id, created_at),
                )| HeadRef {
                    pacticipant_id,
                    kind,
                    name,
                    publication: PublicationRef {
                        consumer_version_id,
                        pact_version_id,
                        created_at,
                    },
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
