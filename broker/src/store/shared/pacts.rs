//! [`PactStore`] for both backends: pacts and verification results.

use chrono::{DateTime, Utc};

use super::super::{Backend, Db};
use super::*;
use crate::store::*;

#[async_trait::async_trait]
impl PactStore for Backend {
    #[tracing::instrument(skip_all, fields(consumer = %command.consumer, version = %command.version), err)]
    async fn publish(&self, command: &PublishCommand) -> Result<PublishOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::store::now();
        let mut names: Vec<&str> = command
            .contracts
            .iter()
            .map(|c| c.provider.as_str())
            .collect();
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
            Self::add_branch_version_known_tx(
                &mut tx,
                consumer_id,
                consumer.has_main_branch,
                branch.as_str(),
                version_id,
            )
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
            let mut event = crate::store::events::NewEvent::new(
                crate::store::events::EventKind::ContractPublished,
            );
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
    async fn publications(
        &self,
        filter: PublicationFilter,
    ) -> Result<Vec<Publication>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(publication_select!());
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
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT pp.id, cv.pacticipant_id, pp.provider_id, pp.consumer_version_id, \
                 cv.number, pp.pact_version_id, pv.sha, pp.created_at \
                 FROM pact_publications pp JOIN versions cv ON cv.id = pp.consumer_version_id \
                 JOIN pact_versions pv ON pv.id = pp.pact_version_id WHERE pp.consumer_version_id",
            );
            Self::push_in(&mut query, ids);
            if let Some(provider_id) = provider_id {
                query.push(" AND pp.provider_id = ").push_bind(provider_id);
            }
            rows.extend(
                query
                    .build_query_as::<Row>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        let mut pacticipant_ids: Vec<i64> = rows.iter().flat_map(|r| [r.1, r.2]).collect();
        pacticipant_ids.sort_unstable();
        pacticipant_ids.dedup();
        let (mut names, missing) = self.names.lookup(&pacticipant_ids);
        if !missing.is_empty() {
            let read = crate::store::batch::BatchStore::pacticipants_by_ids(self, &missing).await?;
            self.names
                .remember(read.iter().map(|p| (p.id, p.name.as_str())));
            names.extend(read.into_iter().map(|p| (p.id, p.name)));
        }
        let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
        let mut found: Vec<Publication> = rows
            .into_iter()
            .map(
                |(
                    id,
                    consumer_id,
                    provider_id,
                    consumer_version_id,
                    consumer_version_number,
                    pact_version_id,
                    sha,
                    created_at,
                )| Publication {
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
    async fn latest_publication(
        &self,
        consumer_id: i64,
        provider_id: i64,
    ) -> Result<Option<Publication>, StoreError> {
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
        let mut query = sqlx::QueryBuilder::<Db>::new(
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
    async fn record_verification(
        &self,
        verification: &NewVerification,
    ) -> Result<Verification, StoreError> {
        let mut tx = self.begin_write().await?;
        let (provider_id, _) =
            Self::ensure_pacticipant(&mut tx, verification.provider.as_str()).await?;
        let (version_id, _) =
            Self::ensure_version(&mut tx, provider_id, verification.provider_version.as_str())
                .await?;
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
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        let (consumer_id, pact_provider_id): (i64, i64) =
            sqlx::query_as("SELECT consumer_id, provider_id FROM pact_versions WHERE id = $1")
                .bind(verification.pact_version_id)
                .fetch_one(&mut *tx)
                .await?;
        let mut event = crate::store::events::NewEvent::new(
            crate::store::events::EventKind::VerificationPublished,
        );
        event.consumer_id = Some(consumer_id);
        event.provider_id = Some(pact_provider_id);
        event.pact_version_id = Some(verification.pact_version_id);
        event.provider_version_id = Some(version_id);
        event.verification_id = Some(id);
        event.detail.success = Some(verification.success);
        Self::emit_events_tx(&mut tx, &[event]).await?;
        Self::commit(tx).await?;
        self.verification(id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    #[tracing::instrument(skip_all, err)]
    async fn verification(&self, id: i64) -> Result<Option<Verification>, StoreError> {
        Ok(
            sqlx::query_as(concat!(verification_select!(), " WHERE vr.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn verifications(
        &self,
        filter: VerificationFilter,
    ) -> Result<Vec<Verification>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(verification_select!());
        let mut conditions = crate::store::sql::Conditions::default();
        if let Some(id) = filter.pact_version_id {
            conditions
                .next(&mut query)
                .push("vr.pact_version_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.provider_id {
            conditions
                .next(&mut query)
                .push("pv.provider_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.consumer_id {
            conditions
                .next(&mut query)
                .push("pv.consumer_id = ")
                .push_bind(id);
        }
        if let Some(id) = filter.provider_version_id {
            conditions
                .next(&mut query)
                .push("vr.provider_version_id = ")
                .push_bind(id);
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
}
