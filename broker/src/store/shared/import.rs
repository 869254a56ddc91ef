//! [`ImportStore`] for both backends (see `store/import.rs` for the rules).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::super::{Backend, Db};
use crate::store::StoreError;
use crate::store::import::{
    ImportBatch, ImportEnvironment, ImportKind, ImportOutcome, ImportPact, ImportPacticipant,
    ImportRecord, ImportStore, ImportVerification, ImportVersion,
};

type Tx = sqlx::Transaction<'static, Db>;

/// Ids looked up during one batch, so a name is read once per batch.
#[derive(Default)]
struct Ids {
    pacticipants: HashMap<String, i64>,
    versions: HashMap<(i64, String), i64>,
    environments: HashMap<String, i64>,
}

#[async_trait]
impl ImportStore for Backend {
    async fn import(&self, batch: &ImportBatch) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut outcome = ImportOutcome::default();
        let mut ids = Ids::default();
        for environment in &batch.environments {
            let created = import_environment(&mut tx, environment).await?;
            outcome.count(ImportKind::Environment, created);
        }
        for pacticipant in &batch.pacticipants {
            let created = import_pacticipant(&mut tx, &mut ids, pacticipant).await?;
            outcome.count(ImportKind::Pacticipant, created);
        }
        for version in &batch.versions {
            let created = import_version(&mut tx, &mut ids, version).await?;
            outcome.count(ImportKind::Version, created);
        }
        for pact in &batch.pacts {
            import_pact(&mut tx, &mut ids, pact, &mut outcome).await?;
        }
        for verification in &batch.verifications {
            import_verification(&mut tx, &mut ids, verification, &mut outcome).await?;
        }
        for deployment in &batch.deployments {
            import_deployment(&mut tx, &mut ids, deployment, &mut outcome).await?;
        }
        for release in &batch.releases {
            import_release(&mut tx, &mut ids, release, &mut outcome).await?;
        }
        Self::commit(tx).await?;
        Ok(outcome)
    }
}

async fn import_environment(tx: &mut Tx, e: &ImportEnvironment) -> Result<bool, StoreError> {
    // A name or uuid taken already means the environment is there.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO environments (uuid, name, display_name, production, contacts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&e.uuid)
    .bind(&e.name)
    .bind(&e.display_name)
    .bind(e.production)
    .bind(e.contacts.as_ref().map(sqlx::types::Json))
    .bind(e.created_at)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

async fn import_pacticipant(
    tx: &mut Tx,
    ids: &mut Ids,
    p: &ImportPacticipant,
) -> Result<bool, StoreError> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO pacticipants (name, display_name, repository_url, repository_name, \
         repository_namespace, main_branch, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(&p.name)
    .bind(&p.display_name)
    .bind(&p.repository_url)
    .bind(&p.repository_name)
    .bind(&p.repository_namespace)
    .bind(&p.main_branch)
    .bind(p.created_at)
    .fetch_optional(&mut **tx)
    .await?;
    let id = match inserted {
        Some(id) => id,
        // There already: fill in only what it lacks, never overwrite.
        None => {
            sqlx::query_scalar(
                "UPDATE pacticipants SET display_name = COALESCE(display_name, $2), \
                 repository_url = COALESCE(repository_url, $3), \
                 repository_name = COALESCE(repository_name, $4), \
                 repository_namespace = COALESCE(repository_namespace, $5), \
                 main_branch = COALESCE(main_branch, $6) WHERE name = $1 RETURNING id",
            )
            .bind(&p.name)
            .bind(&p.display_name)
            .bind(&p.repository_url)
            .bind(&p.repository_name)
            .bind(&p.repository_namespace)
            .bind(&p.main_branch)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    ids.pacticipants.insert(p.name.clone(), id);
    for label in &p.labels {
        sqlx::query(
            "INSERT INTO pacticipant_labels (pacticipant_id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (pacticipant_id, name) DO NOTHING",
        )
        .bind(id)
        .bind(label)
        .bind(p.created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(inserted.is_some())
}

/// The id of a pacticipant, created (at `at`) when missing.
async fn pacticipant_id(
    tx: &mut Tx,
    ids: &mut Ids,
    name: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    if let Some(id) = known_pacticipant_id(tx, ids, name).await? {
        return Ok(id);
    }
    sqlx::query(
        "INSERT INTO pacticipants (name, created_at, updated_at) VALUES ($1, $2, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let id = known_pacticipant_id(tx, ids, name).await?;
    id.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// The id of a pacticipant, when it exists.
async fn known_pacticipant_id(
    tx: &mut Tx,
    ids: &mut Ids,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    if let Some(id) = ids.pacticipants.get(name) {
        return Ok(Some(*id));
    }
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM pacticipants WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(id) = found {
        ids.pacticipants.insert(name.to_string(), id);
    }
    Ok(found)
}

/// The id of a version, when it exists.
async fn version_id(
    tx: &mut Tx,
    ids: &mut Ids,
    pacticipant: &str,
    number: &str,
) -> Result<Option<i64>, StoreError> {
    let Some(pacticipant_id) = known_pacticipant_id(tx, ids, pacticipant).await? else {
        return Ok(None);
    };
    let key = (pacticipant_id, number.to_string());
    if let Some(id) = ids.versions.get(&key) {
        return Ok(Some(*id));
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM versions WHERE pacticipant_id = $1 AND number = $2")
            .bind(pacticipant_id)
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = found {
        ids.versions.insert(key, id);
    }
    Ok(found)
}

async fn import_version(tx: &mut Tx, ids: &mut Ids, v: &ImportVersion) -> Result<bool, StoreError> {
    let pacticipant_id = pacticipant_id(tx, ids, &v.pacticipant, v.created_at).await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO versions (pacticipant_id, number, build_url, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (pacticipant_id, number) DO NOTHING RETURNING id",
    )
    .bind(pacticipant_id)
    .bind(&v.number)
    .bind(&v.build_url)
    .bind(v.created_at)
    .fetch_optional(&mut **tx)
    .await?;
    let version_id = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM versions WHERE pacticipant_id = $1 AND number = $2")
                .bind(pacticipant_id)
                .bind(&v.number)
                .fetch_one(&mut **tx)
                .await?
        }
    };
    ids.versions
        .insert((pacticipant_id, v.number.clone()), version_id);
    for branch in &v.branches {
        sqlx::query(
            "INSERT INTO branches (pacticipant_id, name, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (pacticipant_id, name) DO NOTHING",
        )
        .bind(pacticipant_id)
        .bind(branch)
        .bind(v.created_at)
        .execute(&mut **tx)
        .await?;
        let branch_id: i64 =
            sqlx::query_scalar("SELECT id FROM branches WHERE pacticipant_id = $1 AND name = $2")
                .bind(pacticipant_id)
                .bind(branch)
                .fetch_one(&mut **tx)
                .await?;
        let added = sqlx::query(
            "INSERT INTO branch_versions (branch_id, version_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (branch_id, version_id) DO NOTHING",
        )
        .bind(branch_id)
        .bind(version_id)
        .bind(v.created_at)
        .execute(&mut **tx)
        .await?;
        if added.rows_affected() > 0 {
            sqlx::query("UPDATE branches SET updated_at = $2 WHERE id = $1 AND updated_at < $2")
                .bind(branch_id)
                .bind(v.created_at)
                .execute(&mut **tx)
                .await?;
        }
    }
    for tag in &v.tags {
        sqlx::query(
            "INSERT INTO tags (version_id, name, created_at, pacticipant_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (version_id, name) DO NOTHING",
        )
        .bind(version_id)
        .bind(&tag.name)
        .bind(tag.created_at)
        .bind(pacticipant_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(inserted.is_some())
}

/// The pact content a consumer version published for a provider.
async fn published_content(
    tx: &mut Tx,
    consumer_version_id: i64,
    provider: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT pp.pact_version_id FROM pact_publications pp \
         JOIN pacticipants pr ON pr.id = pp.provider_id \
         WHERE pp.consumer_version_id = $1 AND pr.name = $2",
    )
    .bind(consumer_version_id)
    .bind(provider)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn import_pact(
    tx: &mut Tx,
    ids: &mut Ids,
    pact: &ImportPact,
    outcome: &mut ImportOutcome,
) -> Result<(), StoreError> {
    let record = || {
        format!(
            "{} {} -> {}",
            pact.consumer, pact.consumer_version, pact.provider
        )
    };
    let Some(consumer_version_id) =
        version_id(tx, ids, &pact.consumer, &pact.consumer_version).await?
    else {
        outcome.skip(
            ImportKind::Pact,
            record(),
            "the consumer version was not imported",
        );
        return Ok(());
    };
    let consumer_id = ids.pacticipants[&pact.consumer];
    let provider_id = pacticipant_id(tx, ids, &pact.provider, pact.created_at).await?;
    sqlx::query(
        "INSERT INTO pact_versions (consumer_id, provider_id, sha, content, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer_id, provider_id, sha) DO NOTHING",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(&pact.sha)
    .bind(&pact.content)
    .bind(pact.created_at)
    .execute(&mut **tx)
    .await?;
    // The content was first published by the earliest publication that has it.
    let pact_version_id: i64 = sqlx::query_scalar(
        "UPDATE pact_versions SET created_at = CASE WHEN created_at > $4 THEN $4 ELSE created_at END \
         WHERE consumer_id = $1 AND provider_id = $2 AND sha = $3 RETURNING id",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(&pact.sha)
    .bind(pact.created_at)
    .fetch_one(&mut **tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO pact_publications (consumer_version_id, provider_id, pact_version_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (consumer_version_id, provider_id) DO NOTHING",
    )
    .bind(consumer_version_id)
    .bind(provider_id)
    .bind(pact_version_id)
    .bind(pact.created_at)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() > 0 {
        outcome.count(ImportKind::Pact, true);
        return Ok(());
    }
    if published_content(tx, consumer_version_id, &pact.provider).await? == Some(pact_version_id) {
        outcome.count(ImportKind::Pact, false);
    } else {
        // Kept as it is here: an import never overwrites.
        outcome.skip(
            ImportKind::Pact,
            record(),
            "this broker has different content for it already; left as it is",
        );
    }
    Ok(())
}

async fn import_verification(
    tx: &mut Tx,
    ids: &mut Ids,
    v: &ImportVerification,
    outcome: &mut ImportOutcome,
) -> Result<(), StoreError> {
    let record = || {
        format!(
            "{} {} verified by {} {}",
            v.consumer, v.consumer_version, v.provider, v.provider_version
        )
    };
    let pact_version_id = match version_id(tx, ids, &v.consumer, &v.consumer_version).await? {
        Some(consumer_version_id) => {
            published_content(tx, consumer_version_id, &v.provider).await?
        }
        None => None,
    };
    let Some(pact_version_id) = pact_version_id else {
        outcome.skip(
            ImportKind::Verification,
            record(),
            "the pact it verified was not imported",
        );
        return Ok(());
    };
    let provider_version_id = match version_id(tx, ids, &v.provider, &v.provider_version).await? {
        Some(id) => id,
        None => {
            let provider_id = pacticipant_id(tx, ids, &v.provider, v.created_at).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO versions (pacticipant_id, number, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3) RETURNING id",
            )
            .bind(provider_id)
            .bind(&v.provider_version)
            .bind(v.created_at)
            .fetch_one(&mut **tx)
            .await?;
            ids.versions
                .insert((provider_id, v.provider_version.clone()), id);
            id
        }
    };
    // Two imports at once (or a retried batch still running) must not both insert the
    // result: on PostgreSQL this row lock makes the second wait for the first (SQLite
    // runs one write transaction at a time anyway).
    sqlx::query("UPDATE pact_versions SET sha = sha WHERE id = $1")
        .bind(pact_version_id)
        .execute(&mut **tx)
        .await?;
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM verifications WHERE pact_version_id = $1 AND provider_version_id = $2 \
         AND created_at = $3 AND success = $4",
    )
    .bind(pact_version_id)
    .bind(provider_version_id)
    .bind(v.created_at)
    .bind(v.success)
    .fetch_optional(&mut **tx)
    .await?;
    if existing.is_none() {
        sqlx::query(
            "INSERT INTO verifications (pact_version_id, provider_version_id, success, build_url, \
             test_results, verified_by, wip, pending, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
        )
        .bind(pact_version_id)
        .bind(provider_version_id)
        .bind(v.success)
        .bind(&v.build_url)
        .bind(v.test_results.as_ref().map(sqlx::types::Json))
        .bind(v.verified_by.as_ref().map(sqlx::types::Json))
        .bind(false)
        .bind(v.created_at)
        .execute(&mut **tx)
        .await?;
    }
    outcome.count(ImportKind::Verification, existing.is_none());
    Ok(())
}

async fn environment_id(tx: &mut Tx, ids: &mut Ids, name: &str) -> Result<Option<i64>, StoreError> {
    if let Some(id) = ids.environments.get(name) {
        return Ok(Some(*id));
    }
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM environments WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(id) = found {
        ids.environments.insert(name.to_string(), id);
    }
    Ok(found)
}

/// The version, pacticipant and environment ids a deployment or release refers to;
/// `None` (with the record skipped) when one is missing.
async fn record_ids(
    tx: &mut Tx,
    ids: &mut Ids,
    r: &ImportRecord,
    kind: ImportKind,
    outcome: &mut ImportOutcome,
) -> Result<Option<(i64, i64, i64)>, StoreError> {
    let record = format!("{} {} in {}", r.pacticipant, r.version, r.environment);
    let Some(version_id) = version_id(tx, ids, &r.pacticipant, &r.version).await? else {
        outcome.skip(kind, record, "the version was not imported");
        return Ok(None);
    };
    let Some(environment_id) = environment_id(tx, ids, &r.environment).await? else {
        outcome.skip(kind, record, "the environment was not imported");
        return Ok(None);
    };
    Ok(Some((
        version_id,
        ids.pacticipants[&r.pacticipant],
        environment_id,
    )))
}

async fn import_deployment(
    tx: &mut Tx,
    ids: &mut Ids,
    d: &ImportRecord,
    outcome: &mut ImportOutcome,
) -> Result<(), StoreError> {
    let kind = ImportKind::Deployment;
    let known: Option<i64> = sqlx::query_scalar("SELECT id FROM deployed_versions WHERE uuid = $1")
        .bind(&d.uuid)
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_some() {
        outcome.count(kind, false);
        return Ok(());
    }
    let Some((version_id, pacticipant_id, environment_id)) =
        record_ids(tx, ids, d, kind, outcome).await?
    else {
        return Ok(());
    };
    let current: Option<(i64, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, version_id, created_at FROM deployed_versions WHERE pacticipant_id = $1 \
         AND environment_id = $2 AND COALESCE(application_instance, '') = COALESCE($3, '') \
         AND undeployed_at IS NULL",
    )
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(&d.application_instance)
    .fetch_optional(&mut **tx)
    .await?;
    // When a deployment recorded here is newer, the imported one is history: it is
    // stored as replaced by it.
    let mut undeployed_at: Option<DateTime<Utc>> = None;
    match current {
        Some((_, current_version, _)) if current_version == version_id => {
            outcome.count(kind, false);
            return Ok(());
        }
        Some((_, _, current_since)) if current_since > d.created_at => {
            undeployed_at = Some(current_since);
        }
        // The source has moved on since: what ran here is replaced, as a new
        // deployment replaces it.
        Some((id, _, _)) => {
            sqlx::query("UPDATE deployed_versions SET undeployed_at = $2 WHERE id = $1")
                .bind(id)
                .bind(d.created_at)
                .execute(&mut **tx)
                .await?;
        }
        None => {}
    }
    sqlx::query(
        "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, environment_id, \
         application_instance, created_at, undeployed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&d.uuid)
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(&d.application_instance)
    .bind(d.created_at)
    .bind(undeployed_at)
    .execute(&mut **tx)
    .await?;
    outcome.count(kind, true);
    Ok(())
}

async fn import_release(
    tx: &mut Tx,
    ids: &mut Ids,
    r: &ImportRecord,
    outcome: &mut ImportOutcome,
) -> Result<(), StoreError> {
    let kind = ImportKind::Release;
    let Some((version_id, pacticipant_id, environment_id)) =
        record_ids(tx, ids, r, kind, outcome).await?
    else {
        return Ok(());
    };
    let inserted = sqlx::query(
        "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&r.uuid)
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(r.created_at)
    .execute(&mut **tx)
    .await?;
    outcome.count(kind, inserted.rows_affected() > 0);
    Ok(())
}
