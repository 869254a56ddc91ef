//! Provider contracts (OpenAPI and AsyncAPI documents published by provider versions): that part of
//! the [`Store`](super::Store). What comparing them with pacts finds is stored as
//! verifications, through [`PactStore::record_verification`](super::PactStore).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreError;
use crate::domain::{BranchName, PacticipantName, TagName, VersionNumber};

/// A stored provider contract.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderContract {
    pub id: i64,
    pub provider_id: i64,
    pub provider_name: String,
    pub provider_version_id: i64,
    pub provider_version_number: String,
    /// `oas` (OpenAPI) or `asyncapi`; a document Accord cannot read keeps the kind its
    /// publisher gave.
    pub specification: String,
    pub content_type: String,
    /// The document as published.
    pub content: String,
    pub sha: String,
    /// The provider's own check of the document: `success`, `verifier`,
    /// `verifierVersion`, `format`, `contentType`, `content`.
    #[sqlx(json)]
    pub self_verification: Value,
    pub self_success: bool,
    pub created_at: DateTime<Utc>,
}

/// A provider contract to store, with the provider version it belongs to.
#[derive(Debug, Clone)]
pub struct NewProviderContract {
    pub provider: PacticipantName,
    pub version: VersionNumber,
    pub branch: Option<BranchName>,
    pub tags: Vec<TagName>,
    pub build_url: Option<String>,
    pub specification: String,
    pub content_type: String,
    pub content: String,
    pub sha: String,
    pub self_verification: Value,
    pub self_success: bool,
}

/// The provider contracts part of the [`Store`](super::Store).
#[async_trait]
pub trait ProviderContractStore: Send + Sync {
    /// Stores a contract of a provider version (creating the provider, the version, its
    /// branch and tags), replacing the one of the same kind it had; one transaction.
    async fn publish_provider_contract(
        &self,
        contract: &NewProviderContract,
    ) -> Result<ProviderContract, StoreError>;
    /// The contracts of one provider version, OpenAPI first.
    async fn provider_contracts_at(
        &self,
        provider_version_id: i64,
    ) -> Result<Vec<ProviderContract>, StoreError>;
    /// The provider's contracts that new pacts are checked against: those of the newest
    /// version with contracts on its main branch (or of the newest version with contracts,
    /// when it has no main branch), and those of the versions deployed or released now;
    /// by provider version, OpenAPI first.
    async fn current_provider_contracts(
        &self,
        provider_id: i64,
    ) -> Result<Vec<ProviderContract>, StoreError>;
    /// The provider's contracts, newest first, at most `limit`.
    async fn provider_contracts_of(
        &self,
        provider_id: i64,
        limit: i64,
    ) -> Result<Vec<ProviderContract>, StoreError>;
}
