//! Provider contracts (OpenAPI documents published by provider versions): that part of
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
    /// `oas` (OpenAPI).
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
    /// Stores the contract of a provider version (creating the provider, the version,
    /// its branch and tags), replacing the one it had; one transaction.
    async fn publish_provider_contract(
        &self,
        contract: &NewProviderContract,
    ) -> Result<ProviderContract, StoreError>;
    /// The contract of one provider version.
    async fn provider_contract(
        &self,
        provider_version_id: i64,
    ) -> Result<Option<ProviderContract>, StoreError>;
    /// The provider's contracts that new pacts are checked against: the newest on its
    /// main branch (or the newest at all, when it has no main branch), and those of the
    /// versions deployed or released now.
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
