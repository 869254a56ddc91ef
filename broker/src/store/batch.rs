//! Reads of many rows at once, for the answers that gather data about many
//! pacticipants and versions (the matrix and can-i-deploy): each read is one query
//! (or one per `IN_LIST_CHUNK` ids) however many pacticipants or versions it covers,
//! so that an answer costs a fixed handful of round trips.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BranchVersion, DriftFinding, EnvironmentScope, Pacticipant, StoreError, Verification};

/// A tag of a version, with whether that version is the latest of its pacticipant
/// carrying the tag.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagOfVersion {
    pub version_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub latest: bool,
}

/// An environment a version is currently deployed to or released in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct VersionEnvironment {
    pub version_id: i64,
    pub environment_id: i64,
}

/// A current deployment or release of a version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CurrentRecord {
    pub pacticipant_id: i64,
    pub version_id: i64,
    pub version_number: String,
    pub environment_id: i64,
    /// A release (still supported) rather than a deployment (not undeployed).
    pub released: bool,
}

/// A successful verification result that counts (not of a work-in-progress pact):
/// only what deciding whether a pact is pending needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Success {
    pub pact_version_id: i64,
    pub provider_version_id: i64,
    pub created_at: DateTime<Utc>,
}

/// A publication without the names and numbers it refers to: what choosing among many
/// candidates (work-in-progress pacts) needs, read from the publications table alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct PublicationRef {
    pub consumer_version_id: i64,
    pub pact_version_id: i64,
    pub created_at: DateTime<Utc>,
}

/// Whether a head is the latest version of a branch or of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HeadKind {
    Branch,
    Tag,
}

/// A branch or tag head of a consumer that has a publication for a provider, with
/// that publication as a reference: a candidate of the work-in-progress rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRef {
    pub pacticipant_id: i64,
    pub kind: HeadKind,
    pub name: String,
    pub publication: PublicationRef,
}

/// What the pending rule needs of the successful results (not of work-in-progress
/// pacts) for one pact content, read in one grouped query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSuccesses {
    pub pact_version_id: i64,
    /// When the earliest of them was published.
    pub first_success_at: DateTime<Utc>,
    /// How many came from a version on the provider branch asked about (0 when none
    /// was asked about).
    pub from_branch: i64,
    /// When that provider branch got its first version; `None` when no branch was
    /// asked about, or it has no versions.
    pub branch_started_at: Option<DateTime<Utc>>,
}

/// The batch-read part of the [`Store`](super::Store).
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// The pacticipants with these ids (those that exist), in id order.
    async fn pacticipants_by_ids(&self, ids: &[i64]) -> Result<Vec<Pacticipant>, StoreError>;

    /// The current deployments and releases of these pacticipants, in every
    /// environment, deployments first, each in the order recorded.
    async fn current_records_of(
        &self,
        pacticipant_ids: &[i64],
    ) -> Result<Vec<CurrentRecord>, StoreError>;

    /// The heads of every branch and every tag of these consumers that have a
    /// publication for `provider_id`, each with that publication as a reference, ordered
    /// by consumer, then branches before tags, then name. Each head and its publication
    /// are found in one statement (one for branches, one for tags), however many heads.
    async fn head_publication_refs(
        &self,
        provider_id: i64,
        consumer_ids: &[i64],
    ) -> Result<Vec<HeadRef>, StoreError>;

    /// The successful results (not of work-in-progress pacts) for these pact contents,
    /// oldest first.
    async fn successes_of(&self, pact_version_ids: &[i64]) -> Result<Vec<Success>, StoreError>;

    /// For each of these pact contents that has a successful result (not of a
    /// work-in-progress pact): its earliest one and, with `branch`, how many came from
    /// a version of `provider_id` on that branch and when the branch began. Contents
    /// without a success are left out.
    async fn successes_by_content(
        &self,
        provider_id: i64,
        branch: Option<&str>,
        pact_version_ids: &[i64],
    ) -> Result<Vec<ContentSuccesses>, StoreError>;

    /// The branch memberships of these versions, in the order they were added.
    async fn branches_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<BranchVersion>, StoreError>;

    /// The tags of these versions, in the order they were added.
    async fn tags_of_versions(&self, version_ids: &[i64]) -> Result<Vec<TagOfVersion>, StoreError>;

    /// The environments these versions are currently deployed to or released in.
    async fn environments_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<VersionEnvironment>, StoreError>;

    /// The verifications of these pact contents whose provider is one of
    /// `provider_ids`, oldest first.
    async fn verifications_by_providers(
        &self,
        provider_ids: &[i64],
        pact_version_ids: &[i64],
    ) -> Result<Vec<Verification>, StoreError>;

    /// The open drift findings of these providers, oldest first.
    async fn open_drift_findings_of(
        &self,
        provider_ids: &[i64],
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftFinding>, StoreError>;
}

/// Implements [`BatchStore`] for `$store` (expanded in `sqlite.rs` and `postgres.rs`; new areas use `shared/` instead); uses
/// the `IN_LIST_CHUNK` of `shared/mod.rs` and each backend's `push_in`.
macro_rules! batch_sql_store {
    ($store:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl super::batch::BatchStore for $store {
            #[tracing::instrument(skip_all, fields(pacticipants = ids.len()), err)]
            async fn pacticipants_by_ids(&self, ids: &[i64]) -> Result<Vec<Pacticipant>, StoreError> {
                let mut found: Vec<Pacticipant> = Vec::new();
                for ids in ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(concat!(pacticipant_select!(), " WHERE id"));
                    Self::push_in(&mut query, ids);
                    found.extend(query.build_query_as::<Pacticipant>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
                }
                found.sort_by_key(|p| p.id);
                found.dedup_by_key(|p| p.id);
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
            async fn current_records_of(
                &self,
                pacticipant_ids: &[i64],
            ) -> Result<Vec<super::batch::CurrentRecord>, StoreError> {
                let mut found: Vec<(i64, super::batch::CurrentRecord)> = Vec::new();
                for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
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
                    let rows: Vec<(i64, i64, i64, String, i64, bool)> =
                        query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                    found.extend(rows.into_iter().map(
                        |(id, pacticipant_id, version_id, version_number, environment_id, released)| {
                            (
                                id,
                                super::batch::CurrentRecord {
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
            ) -> Result<Vec<super::batch::HeadRef>, StoreError> {
                use super::batch::{HeadKind, HeadRef, PublicationRef};
                type Row = (i64, String, i64, i64, chrono::DateTime<chrono::Utc>);
                // Each head is one index seek (as in `branch_heads` and `tag_heads`), and
                // its publication one more, in the same statement: reading the heads first
                // and their publications after, by id, took a round trip and a longer
                // probe per head.
                let heads = |kind: HeadKind, ids: &[i64]| {
                    let mut query = sqlx::QueryBuilder::<$db>::new(match kind {
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
                        branches.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool),
                        tags.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool),
                    )?;
                    let rows = branch_rows
                        .into_iter()
                        .map(|row| (HeadKind::Branch, row))
                        .chain(tag_rows.into_iter().map(|row| (HeadKind::Tag, row)));
                    found.extend(rows.map(
                        |(kind, (pacticipant_id, name, consumer_version_id, pact_version_id, created_at))| HeadRef {
                            pacticipant_id,
                            kind,
                            name,
                            publication: PublicationRef { consumer_version_id, pact_version_id, created_at },
                        },
                    ));
                }
                found.sort_by(|a, b| (a.pacticipant_id, a.kind, &a.name).cmp(&(b.pacticipant_id, b.kind, &b.name)));
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(contents = pact_version_ids.len()), err)]
            async fn successes_of(&self, pact_version_ids: &[i64]) -> Result<Vec<super::batch::Success>, StoreError> {
                let mut found: Vec<(i64, super::batch::Success)> = Vec::new();
                for ids in pact_version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, pact_version_id, provider_version_id, created_at FROM verifications \
                         WHERE success AND NOT wip AND pact_version_id",
                    );
                    Self::push_in(&mut query, ids);
                    let rows: Vec<(i64, i64, i64, chrono::DateTime<chrono::Utc>)> =
                        query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                    found.extend(rows.into_iter().map(|(id, pact_version_id, provider_version_id, created_at)| {
                        (id, super::batch::Success { pact_version_id, provider_version_id, created_at })
                    }));
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
            ) -> Result<Vec<super::batch::ContentSuccesses>, StoreError> {
                let mut found: Vec<super::batch::ContentSuccesses> = Vec::new();
                for ids in pact_version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new("SELECT v.pact_version_id, MIN(v.created_at)");
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
                        let rows: Vec<(i64, chrono::DateTime<chrono::Utc>, i64, Option<chrono::DateTime<chrono::Utc>>)> =
                            query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                        found.extend(rows.into_iter().map(|(pact_version_id, first_success_at, from_branch, branch_started_at)| {
                            super::batch::ContentSuccesses { pact_version_id, first_success_at, from_branch, branch_started_at }
                        }));
                    } else {
                        let rows: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
                            query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                        found.extend(rows.into_iter().map(|(pact_version_id, first_success_at)| {
                            super::batch::ContentSuccesses { pact_version_id, first_success_at, from_branch: 0, branch_started_at: None }
                        }));
                    }
                }
                found.sort_by_key(|c| c.pact_version_id);
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
            async fn branches_of_versions(&self, version_ids: &[i64]) -> Result<Vec<BranchVersion>, StoreError> {
                let mut found: Vec<BranchVersion> = Vec::new();
                for ids in version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(concat!(branch_version_select!(), " WHERE bv.version_id"));
                    Self::push_in(&mut query, ids);
                    found.extend(query.build_query_as::<BranchVersion>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
                }
                found.sort_by_key(|bv| bv.id);
                Ok(found)
            }

            #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
            async fn tags_of_versions(&self, version_ids: &[i64]) -> Result<Vec<super::batch::TagOfVersion>, StoreError> {
                let mut found: Vec<(i64, super::batch::TagOfVersion)> = Vec::new();
                for ids in version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT t.id, t.version_id, t.name, t.created_at, ",
                        tag_is_latest!(),
                        " AS latest FROM tags t JOIN versions v ON v.id = t.version_id WHERE t.version_id"
                    ));
                    Self::push_in(&mut query, ids);
                    let rows: Vec<(i64, i64, String, chrono::DateTime<chrono::Utc>, bool)> =
                        query.build_query_as().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?;
                    found.extend(rows.into_iter().map(|(id, version_id, name, created_at, latest)| {
                        (id, super::batch::TagOfVersion { version_id, name, created_at, latest })
                    }));
                }
                found.sort_by_key(|(id, _)| *id);
                Ok(found.into_iter().map(|(_, tag)| tag).collect())
            }

            #[tracing::instrument(skip_all, fields(versions = version_ids.len()), err)]
            async fn environments_of_versions(
                &self,
                version_ids: &[i64],
            ) -> Result<Vec<super::batch::VersionEnvironment>, StoreError> {
                let mut found: Vec<super::batch::VersionEnvironment> = Vec::new();
                for ids in version_ids.chunks(IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
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
                            .build_query_as::<super::batch::VersionEnvironment>()
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
                    let mut query = sqlx::QueryBuilder::<$db>::new(verification_select!());
                    query.push(" WHERE vr.pact_version_id");
                    Self::push_in(&mut query, ids);
                    found.extend(query.build_query_as::<Verification>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
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
                    let mut query = sqlx::QueryBuilder::<$db>::new(concat!(
                        drift_finding_select!(),
                        " WHERE f.resolved_at IS NULL AND f.provider_id"
                    ));
                    Self::push_in(&mut query, ids);
                    if let Some(key) = environment.key() {
                        query.push(" AND COALESCE(f.environment_id, 0) = ").push_bind(key);
                    }
                    found.extend(query.build_query_as::<DriftFinding>().persistent(Self::PERSIST_LIST_QUERIES).fetch_all(&self.pool).await?);
                }
                found.sort_by_key(|f| f.id);
                Ok(found)
            }
        }
    };
}
