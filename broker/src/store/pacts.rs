//! Pacts and verification results: that part of the [`Store`](super::Store).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait PactStore: Send + Sync {
    /// Publishes contracts for one consumer version in one transaction. If any contract
    /// conflicts with stored content (and overwriting is not allowed), nothing is stored
    /// and [`StoreError::PactConflict`] lists the conflicts.
    async fn publish(&self, command: &PublishCommand) -> Result<PublishOutcome, StoreError>;
    /// Publications matching the filter, ordered by consumer version (oldest first).
    async fn publications(&self, filter: PublicationFilter)
    -> Result<Vec<Publication>, StoreError>;
    /// The publications by the given consumer versions (for one provider when it is
    /// given), ordered by consumer version.
    async fn publications_of_versions(
        &self,
        provider_id: Option<i64>,
        consumer_version_ids: &[i64],
    ) -> Result<Vec<Publication>, StoreError>;
    /// The publication for a provider by the consumer's latest version that has one.
    async fn latest_publication(
        &self,
        consumer_id: i64,
        provider_id: i64,
    ) -> Result<Option<Publication>, StoreError>;
    /// The pacticipants with at least one publication for a provider, ordered by id.
    async fn consumers_of(&self, provider_id: i64) -> Result<Vec<Pacticipant>, StoreError>;
    async fn pact_version(&self, id: i64) -> Result<Option<PactVersion>, StoreError>;
    async fn pact_version_by_sha(
        &self,
        consumer_id: i64,
        provider_id: i64,
        sha: &str,
    ) -> Result<Option<PactVersion>, StoreError>;
    /// The integrations a pacticipant takes part in, as consumer or as provider,
    /// ordered by consumer and provider name.
    async fn integrations_of(&self, pacticipant_id: i64) -> Result<Vec<Integration>, StoreError>;
    /// Deletes publications (and content no publication uses any more).
    async fn delete_publications(&self, filter: PublicationFilter) -> Result<u64, StoreError>;

    async fn record_verification(
        &self,
        verification: &NewVerification,
    ) -> Result<Verification, StoreError>;
    async fn verification(&self, id: i64) -> Result<Option<Verification>, StoreError>;
    /// Verifications matching the filter, oldest first.
    async fn verifications(
        &self,
        filter: VerificationFilter,
    ) -> Result<Vec<Verification>, StoreError>;
    async fn delete_verification(&self, id: i64) -> Result<bool, StoreError>;
}
