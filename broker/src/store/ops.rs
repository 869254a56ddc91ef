//! Storage for operating the broker: the audit log, pacticipant labels and retention.
//!
//! Retention deletes, in one transaction, the versions no rule keeps (see
//! [`OpsStore::run_retention`]), with what hangs off them, plus old audit rows and
//! old drift runs. Only one run happens at a time: on PostgreSQL the transaction
//! takes an advisory lock (shared by every replica), on SQLite the store holds an
//! in-process guard and the write lock (`BEGIN IMMEDIATE`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::events::AuditEntry;
use super::{Pacticipant, StoreError};

/// Which audit entries to read. Unset fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exactly this actor (`token`, a Basic user name, `anonymous`, ...).
    pub actor: Option<String>,
    /// Exactly this HTTP method.
    pub method: Option<String>,
    /// Paths starting with this.
    pub path_prefix: Option<String>,
    /// Exactly this `X-Request-ID`.
    pub request_id: Option<String>,
    /// Written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Written before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A label of a pacticipant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Label {
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// What one retention run keeps, as absolute values (the schedule turns the
/// configured ages into times).
#[derive(Debug, Clone)]
pub struct RetentionRules {
    /// Versions created at or after this are kept.
    pub keep_versions_since: DateTime<Utc>,
    /// The latest this many versions of every branch are kept (at least 1: the head).
    pub keep_latest_per_branch: i64,
    /// At most this many versions are deleted by one run (oldest first); the next run
    /// carries on. Keeps each run's transaction short.
    pub deletion_limit: i64,
    /// Audit entries written before this are deleted; `None` keeps them all.
    pub delete_audit_before: Option<DateTime<Utc>>,
    /// Drift runs stored before this are deleted (except the latest of each provider
    /// and environment); `None` keeps them all.
    pub delete_drift_runs_before: Option<DateTime<Utc>>,
}

/// A version a retention run deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetiredVersion {
    pub id: i64,
    pub pacticipant_name: String,
    pub number: String,
    pub created_at: DateTime<Utc>,
}

/// What a retention run deleted, or in a dry run would delete.
#[derive(Debug, Clone, Default)]
pub struct RetentionOutcome {
    /// Oldest first.
    pub versions: Vec<RetiredVersion>,
    /// More versions could go than [`RetentionRules::deletion_limit`] allowed.
    pub more_remaining: bool,
    pub pact_publications: u64,
    /// Pact contents no remaining publication uses.
    pub pact_versions: u64,
    pub verifications: u64,
    pub audit_entries: u64,
    pub drift_runs: u64,
}

/// The PostgreSQL advisory lock key retention runs hold (ASCII "accordre"), unlikely
/// to clash with locks other programs sharing the database take.
pub const RETENTION_LOCK_KEY: i64 = 0x6163_636f_7264_7265;

/// Proof that this process runs retention; dropped when the run ends.
#[derive(Debug)]
pub struct RetentionGuard {
    pub(super) _held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// The operations part of the [`Store`](super::Store).
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// The audit log, newest first.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// How many audit entries match `filter`.
    async fn audit_count(&self, filter: &AuditFilter) -> Result<i64, StoreError>;

    /// The labels of a pacticipant, by name.
    async fn labels(&self, pacticipant_id: i64) -> Result<Vec<Label>, StoreError>;
    async fn label(&self, pacticipant_id: i64, name: &str) -> Result<Option<Label>, StoreError>;
    /// Labels a pacticipant; returns the label and whether it is new.
    async fn add_label(&self, pacticipant_id: i64, name: &str)
    -> Result<(Label, bool), StoreError>;
    async fn delete_label(&self, pacticipant_id: i64, name: &str) -> Result<bool, StoreError>;
    /// Pacticipants carrying a label, by name.
    async fn pacticipants_with_label(&self, name: &str) -> Result<Vec<Pacticipant>, StoreError>;

    /// Deletes what `rules` do not keep and says what went; with `dry_run` nothing is
    /// deleted and the answer is what a real run at that moment would delete. `None`
    /// when another run (on any replica) is in progress.
    ///
    /// The versions to delete are planned with reads only, then deleted oldest first in
    /// chunks of their own short write transactions, each checking its versions again
    /// against what was written since the plan: a writer waits for one chunk at most.
    ///
    /// A version is kept when it is younger than the cut-off, the latest of its
    /// pacticipant, currently deployed, currently released (support not ended), among
    /// the latest N of one of its branches, the latest carrying one of its tags, the
    /// latest consumer version with a pact for one of its integrations, or a provider
    /// version that verified a pact a kept version published. Deleting a version
    /// deletes its publications, tags, branch memberships, ended deployments and
    /// releases, its verifications, and pact contents nothing publishes any more.
    async fn run_retention(
        &self,
        rules: &RetentionRules,
        dry_run: bool,
    ) -> Result<Option<RetentionOutcome>, StoreError>;
}
