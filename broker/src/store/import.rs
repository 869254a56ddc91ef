//! Copying another broker's history in: records that keep the times they were made
//! at elsewhere (`accord import`, through `POST /admin/import`).
//!
//! Every record is keyed by what names it (a pacticipant by name, a version by
//! pacticipant and number, a deployment by its uuid, a verification by its pact
//! content, provider version, outcome and time), and one already present is left as it is:
//! importing the same batch twice stores it once, so an interrupted import is
//! simply run again. A batch is one transaction. Nothing imported triggers webhooks:
//! it happened before, elsewhere.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreError;

/// A pacticipant as the source describes it.
#[derive(Debug, Clone, Default)]
pub struct ImportPacticipant {
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// An environment, under the source's uuid.
#[derive(Debug, Clone)]
pub struct ImportEnvironment {
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
}

/// A tag and when it was put on its version.
#[derive(Debug, Clone)]
pub struct ImportTag {
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A version with its branches and tags. Versions of one pacticipant are imported in
/// the order given, which should be the order they were created in: the latest
/// version of a branch is the one added to it last.
#[derive(Debug, Clone)]
pub struct ImportVersion {
    pub pacticipant: String,
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub branches: Vec<String>,
    pub tags: Vec<ImportTag>,
}

/// The pact a consumer version published for a provider (content already checked
/// and identified as a publication through the API would be).
#[derive(Debug, Clone)]
pub struct ImportPact {
    pub consumer: String,
    pub consumer_version: String,
    pub provider: String,
    pub sha: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// A verification result of the pact a consumer version published.
#[derive(Debug, Clone)]
pub struct ImportVerification {
    pub consumer: String,
    pub consumer_version: String,
    pub provider: String,
    pub provider_version: String,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
    pub created_at: DateTime<Utc>,
}

/// A current deployment (`application_instance` set) or a release still supported.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    /// The environment's name.
    pub environment: String,
    pub application_instance: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One batch of an import, written in one transaction in this order: environments,
/// pacticipants, versions, pacts, verifications, deployments, releases. A record may
/// refer to one in an earlier batch.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub environments: Vec<ImportEnvironment>,
    pub pacticipants: Vec<ImportPacticipant>,
    pub versions: Vec<ImportVersion>,
    pub pacts: Vec<ImportPact>,
    pub verifications: Vec<ImportVerification>,
    pub deployments: Vec<ImportRecord>,
    pub releases: Vec<ImportRecord>,
}

/// The kinds of record an import copies, in the order it copies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImportKind {
    Environment,
    Pacticipant,
    Version,
    Pact,
    Verification,
    Deployment,
    Release,
}

impl ImportKind {
    pub const ALL: [ImportKind; 7] = [
        ImportKind::Environment,
        ImportKind::Pacticipant,
        ImportKind::Version,
        ImportKind::Pact,
        ImportKind::Verification,
        ImportKind::Deployment,
        ImportKind::Release,
    ];

    /// The key of this kind in the API's JSON (plural, camelCase).
    pub fn key(self) -> &'static str {
        match self {
            ImportKind::Environment => "environments",
            ImportKind::Pacticipant => "pacticipants",
            ImportKind::Version => "versions",
            ImportKind::Pact => "pacts",
            ImportKind::Verification => "verifications",
            ImportKind::Deployment => "deployments",
            ImportKind::Release => "releases",
        }
    }
}

/// Why one record of a batch was not stored, while the rest were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSkip {
    pub kind: ImportKind,
    /// Names the record: `web 1.2.0 -> orders`.
    pub record: String,
    pub reason: String,
}

/// What a batch stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// New records per kind, in [`ImportKind::ALL`] order.
    pub created: [u64; 7],
    /// Records that were there already, per kind.
    pub existing: [u64; 7],
    pub skipped: Vec<ImportSkip>,
}

impl ImportOutcome {
    pub fn count(&mut self, kind: ImportKind, created: bool) {
        let slot = kind as usize;
        if created {
            self.created[slot] += 1;
        } else {
            self.existing[slot] += 1;
        }
    }

    pub fn skip(&mut self, kind: ImportKind, record: String, reason: impl Into<String>) {
        self.skipped.push(ImportSkip {
            kind,
            record,
            reason: reason.into(),
        });
    }
}

/// The import part of the [`Store`](super::Store).
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores a batch in one transaction (see the module documentation). A record
    /// that refers to something missing (a pact of an unknown version, a verification
    /// of a version that published no pact) is skipped and reported, not an error.
    async fn import(&self, batch: &ImportBatch) -> Result<ImportOutcome, StoreError>;
}
