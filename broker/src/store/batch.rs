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

/// How the provider judges whether a pact content is still pending (work-in-progress
/// pacts need one of the two; see `for_verification::PendingRule` for the rule itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingBy {
    /// Verified by a success from a version on this branch of the provider, or by any
    /// success from before the branch began.
    Branch(String),
    /// Verified when, for every tag, a success came from a provider version with that
    /// tag or from before the tag was first used.
    Tags(Vec<String>),
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

    /// The work-in-progress candidates among these consumers' pacts for `provider_id`:
    /// the heads of their branches and tags whose publication for the provider came
    /// after `since` and whose content is still pending by `pending`, each with that
    /// publication as a reference, ordered by consumer, then branches before tags, then
    /// name. The pending contents are found first, in SQL, and only their publications
    /// are read: the work follows what is pending, not the branches and tags of the
    /// whole history.
    async fn pending_heads(
        &self,
        provider_id: i64,
        consumer_ids: &[i64],
        since: DateTime<Utc>,
        pending: &PendingBy,
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
