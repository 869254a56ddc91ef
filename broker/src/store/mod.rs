//! Storage: the [`Store`] trait and its SQLite and PostgreSQL implementations.
//!
//! Handlers never build SQL; they call the [`Store`] held in the application state.
//! Every write method runs in one transaction, so a rejected request stores nothing.
//! Reads return plain records; the rules of the Pact Broker (selectors, pending,
//! the matrix) are applied above the store, in Rust, so both backends behave the same.
//!
//! Only this module imports `sqlx`.

#[macro_use]
mod sql;
#[macro_use]
pub mod batch;
pub mod drift;
pub mod environments;
#[macro_use]
pub mod events;
pub mod import;
mod names;
#[macro_use]
pub mod ops;
#[macro_use]
pub mod overview;
pub mod pacts;
#[macro_use]
pub mod provider_contracts;
pub mod tokens;
pub mod versions;
#[macro_use]
pub mod webhooks;
// The backends last: they use the macros of the modules above.
mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;

use crate::domain::{BranchName, EnvironmentName, PacticipantName, TagName, VersionNumber};

pub use batch::BatchStore;
pub use drift::DriftStore;
pub use environments::EnvironmentStore;
pub use import::ImportStore;
pub use ops::OpsStore;
pub use overview::OverviewStore;
pub use pacts::PactStore;
pub use postgres::PostgresStore;
pub use provider_contracts::ProviderContractStore;
pub use sqlite::SqliteStore;
pub use tokens::TokenStore;
pub use versions::PacticipantStore;
pub use webhooks::WebhookStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (a name already taken).
    #[error("conflict: {0}")]
    Conflict(#[source] sqlx::Error),
    /// Publishing different content for a consumer version that already has a pact.
    #[error("the pact for this consumer version and provider already has different content")]
    PactConflict(Vec<PactConflict>),
    /// A merge was computed from content another publish has replaced since; nothing
    /// was stored. Merge again with what is published now.
    #[error("the pact changed while the merge was computed")]
    MergeRaced,
    /// The database cannot be reached (down, or the pool timed out).
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database URL names something that is not there (an SQLite file in a missing
    /// directory, a PostgreSQL database that was never created): `fix` says what to do.
    #[error("{fix}")]
    Misconfigured {
        fix: String,
        #[source]
        source: Option<sqlx::Error>,
    },
    /// The database refused the migrations.
    #[error("could not apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database cannot store a character of a value (PostgreSQL keeps no NUL
    /// character in text or JSON). The request validates what it can first; this is
    /// the backstop, answered as the client's mistake.
    #[error("a value holds a character the database cannot store (a NUL character, \\u0000)")]
    Unstorable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(err),
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(err),
            sqlx::Error::Database(db) => {
                // Class 08 is "connection exception", 57P0x "operator intervention"
                // (the server is shutting down): both mean the database is away.
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                if code.starts_with("08") || code.starts_with("57P") {
                    StoreError::Unavailable(err)
                } else if code == "22021" || code == "22P05" {
                    // A byte sequence invalid in the encoding, or a character (NUL)
                    // that cannot be translated into it.
                    StoreError::Unstorable(err)
                } else {
                    StoreError::Database(err)
                }
            }
            _ => StoreError::Database(err),
        }
    }
}

/// One contract whose stored content differs from the published content.
#[derive(Debug, Clone)]
pub struct PactConflict {
    pub provider: String,
    pub existing_content: String,
}

/// The current time, truncated to microseconds so both backends store the same value.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pacticipant {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a pacticipant. `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct PacticipantFields {
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<BranchName>,
}

/// How [`Store::save_pacticipant`] treats fields that were not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Fields not given are cleared (PUT).
    Replace,
    /// Fields not given are kept (PATCH).
    Merge,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Version {
    pub id: i64,
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A request to create or update a version.
#[derive(Debug, Clone)]
pub struct SaveVersion {
    pub pacticipant: PacticipantName,
    pub number: VersionNumber,
    /// `Some` replaces the build URL (with `Some(None)` clearing it).
    pub build_url: Option<Option<String>>,
    /// `Some` replaces the version's tags.
    pub tags: Option<Vec<TagName>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tag {
    pub version_id: i64,
    pub version_number: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A tag of one version, with whether that version is the latest carrying the tag.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionTag {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub latest: bool,
}

/// A consumer and a provider joined by at least one pact.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Integration {
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_id: i64,
    pub provider_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Branch {
    pub id: i64,
    pub pacticipant_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A version's membership of a branch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BranchVersion {
    pub id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub version_id: i64,
    pub version_number: String,
    pub created_at: DateTime<Utc>,
    /// Whether this version is the branch head (the one added most recently).
    pub latest: bool,
}

/// The head of a branch: the version most recently added to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BranchHead {
    pub pacticipant_id: i64,
    pub branch_name: String,
    pub version_id: i64,
}

/// The latest version of a pacticipant carrying a tag (the highest version id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagHead {
    pub pacticipant_id: i64,
    pub tag_name: String,
    pub version_id: i64,
}

/// A consumer version's pact with one provider.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Publication {
    pub id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub consumer_version_id: i64,
    pub consumer_version_number: String,
    pub pact_version_id: i64,
    pub sha: String,
    pub created_at: DateTime<Utc>,
}

/// Stored pact content, shared by every publication with the same hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PactVersion {
    pub id: i64,
    pub consumer_id: i64,
    pub provider_id: i64,
    pub sha: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// Which publications to list. Unset fields do not filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicationFilter {
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub pact_version_id: Option<i64>,
}

/// A publication of several contracts by one consumer version.
#[derive(Debug, Clone)]
pub struct PublishCommand {
    pub consumer: PacticipantName,
    pub version: VersionNumber,
    pub branch: Option<BranchName>,
    pub tags: Vec<TagName>,
    pub build_url: Option<String>,
    pub contracts: Vec<ContractToStore>,
}

#[derive(Debug, Clone)]
pub struct ContractToStore {
    pub provider: PacticipantName,
    pub sha: String,
    pub content: String,
    /// Whether this content may replace different content the consumer version
    /// already published for this provider.
    pub overwrite: bool,
    /// For a merge: the content it was merged from (the pact version id, or `None` when
    /// there was no pact yet). The write goes through only if that is still what is
    /// published, so two merges at once cannot lose each other's interactions; else
    /// the publish fails with [`StoreError::MergeRaced`] and the caller merges again.
    pub merged_from: Option<Option<i64>>,
}

/// What happened to one contract of a publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractOutcome {
    Created,
    Unchanged,
    Overwritten,
}

impl ContractOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractOutcome::Created => "created",
            ContractOutcome::Unchanged => "unchanged",
            ContractOutcome::Overwritten => "overwritten",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublishOutcome {
    pub version: Version,
    pub version_created: bool,
    pub contracts: Vec<(ContractOutcome, Publication)>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Verification {
    pub id: i64,
    pub pact_version_id: i64,
    pub sha: String,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub provider_version_id: i64,
    pub provider_version_number: String,
    pub success: bool,
    pub build_url: Option<String>,
    #[sqlx(json(nullable))]
    pub test_results: Option<Value>,
    #[sqlx(json(nullable))]
    pub verified_by: Option<Value>,
    pub wip: bool,
    pub pending: Option<bool>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewVerification {
    pub pact_version_id: i64,
    pub provider: PacticipantName,
    pub provider_version: VersionNumber,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
    pub wip: bool,
    pub pending: Option<bool>,
}

/// Which verifications to list. Unset fields do not filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerificationFilter {
    pub pact_version_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_id: Option<i64>,
    pub provider_version_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Environment {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    #[sqlx(json(nullable))]
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct EnvironmentFields {
    pub name: EnvironmentName,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeployedVersion {
    pub id: i64,
    pub uuid: String,
    pub version_id: i64,
    pub version_number: String,
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub environment_id: i64,
    pub application_instance: Option<String>,
    pub created_at: DateTime<Utc>,
    pub undeployed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReleasedVersion {
    pub id: i64,
    pub uuid: String,
    pub version_id: i64,
    pub version_number: String,
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub environment_id: i64,
    pub created_at: DateTime<Utc>,
    pub support_ended_at: Option<DateTime<Utc>>,
}

/// Which deployed or released versions to list. Unset fields do not filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentRecordFilter {
    pub environment_id: Option<i64>,
    pub pacticipant_id: Option<i64>,
    pub version_id: Option<i64>,
    /// Only currently deployed / currently supported records.
    pub current_only: bool,
}

/// Which environment drift records belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentScope {
    /// Every environment, and runs posted without one.
    Any,
    /// Only runs posted without an environment.
    Unnamed,
    /// One environment.
    Id(i64),
}

impl EnvironmentScope {
    /// The value of the `COALESCE(environment_id, 0) = $n` filter; `None` for any.
    /// Ids start at 1, so 0 stands for "no environment".
    fn key(self) -> Option<i64> {
        match self {
            EnvironmentScope::Any => None,
            EnvironmentScope::Unnamed => Some(0),
            EnvironmentScope::Id(id) => Some(id),
        }
    }
}

/// A drift report to store: one run of the monitor against a provider.
#[derive(Debug, Clone)]
pub struct NewDriftRun {
    pub provider_id: i64,
    pub environment_id: Option<i64>,
    pub base_url: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub probes: i64,
    pub interactions_checked: i64,
    pub findings: Vec<crate::drift::ObservedFinding>,
    pub probe_errors: Vec<crate::drift::ObservedProbeError>,
    pub skipped: Vec<crate::drift::ObservedSkip>,
    /// The report as posted, kept whole.
    pub report: Value,
}

/// A stored run of the drift monitor (without its report).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DriftRun {
    pub id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub environment_id: Option<i64>,
    pub environment_name: Option<String>,
    pub base_url: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub probes: i64,
    pub interactions_checked: i64,
    pub finding_count: i64,
    pub probe_error_count: i64,
    pub skipped_count: i64,
    /// Whether the run changed the drift state (false for a run that arrived after a
    /// run that finished later).
    pub applied: bool,
    pub created_at: DateTime<Utc>,
}

/// A finding of the drift monitor, open or resolved.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DriftFinding {
    pub id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub environment_id: Option<i64>,
    pub environment_name: Option<String>,
    pub fingerprint: String,
    #[sqlx(json)]
    pub consumers: Vec<String>,
    pub interaction: String,
    pub request: String,
    pub pointer: String,
    pub class: String,
    pub expected: String,
    pub actual: String,
    pub occurrences: i64,
    pub hint: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The latest run that saw it.
    pub last_run_id: Option<i64>,
    /// The latest run that could not check it again, and why.
    pub unchecked_run_id: Option<i64>,
    pub unchecked_reason: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_run_id: Option<i64>,
}

/// What storing a run changed in the drift state of its provider and environment.
#[derive(Debug, Clone, Default)]
pub struct DriftChanges {
    /// Findings that were not open before this run.
    pub new: Vec<DriftFinding>,
    /// Findings this run checked and no longer saw.
    pub resolved: Vec<DriftFinding>,
    /// Findings this run could not check again (they stay open).
    pub unchecked: Vec<DriftFinding>,
    /// Every finding open after this run, oldest first.
    pub open: Vec<DriftFinding>,
}

/// The outcome of [`Store::record_drift_run`].
#[derive(Debug, Clone)]
pub struct RecordedDriftRun {
    pub run: DriftRun,
    /// False when the same run (same provider, environment, start and end) was stored
    /// before: a retried post. Nothing changes then.
    pub created: bool,
    pub changes: DriftChanges,
}

/// The broker's storage. See the module documentation. Each area has a trait of its own,
/// in its own file: [`PacticipantStore`] (pacticipants, versions, tags, branches),
/// [`PactStore`] (pacts and verification results), [`EnvironmentStore`] (environments,
/// deployments, releases), [`DriftStore`], [`WebhookStore`], [`OpsStore`] (audit,
/// retention, labels), [`OverviewStore`] (the UI's pages), [`BatchStore`] (reads of many
/// rows at once), [`TokenStore`], [`ImportStore`] and [`ProviderContractStore`]. Their SQL, shared by both backends,
/// is in `shared/` (one plain module per area, compiled for each backend); what each
/// backend supplies to it is listed in `shared/mod.rs`.
#[async_trait]
pub trait Store:
    PacticipantStore
    + PactStore
    + EnvironmentStore
    + DriftStore
    + WebhookStore
    + OpsStore
    + OverviewStore
    + BatchStore
    + TokenStore
    + ImportStore
    + ProviderContractStore
    + Send
    + Sync
    + 'static
{
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the store named by a database URL (`sqlite://path`, `sqlite::memory:`,
/// `postgres://...`) and applies the migrations.
pub async fn connect(database_url: &str) -> Result<std::sync::Arc<dyn Store>, crate::BrokerError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStore::connect(database_url).await?,
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(database_url).await?,
        ))
    } else {
        Err(crate::BrokerError::UnsupportedDatabaseUrl(
            accord_contract::redact::redact_url(database_url),
        ))
    }
}
