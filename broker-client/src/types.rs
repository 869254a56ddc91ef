//! Request and response types of the broker API, serialised with the reference's JSON keys.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A message from the broker: `{"type": "success" | "info" | "warning" | "error" | ..., "text": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
}

// ---------------------------------------------------------------------------------------
// Publishing contracts (`POST /contracts/publish`).

/// Body of `POST /contracts/publish`: one consumer version and its pacts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishContracts {
    pub pacticipant_name: String,
    pub pacticipant_version_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    pub contracts: Vec<ContractToPublish>,
}

/// One pact inside [`PublishContracts`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractToPublish {
    pub consumer_name: String,
    pub provider_name: String,
    /// Always `"pact"`.
    pub specification: String,
    /// Always `"application/json"`.
    pub content_type: String,
    /// The pact JSON, Base64-encoded.
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_conflict: Option<OnConflict>,
}

impl ContractToPublish {
    /// A pact document ready to publish (the JSON is encoded as the API wants it).
    pub fn pact(consumer: &str, provider: &str, pact: &Value) -> Self {
        Self {
            consumer_name: consumer.to_string(),
            provider_name: provider.to_string(),
            specification: "pact".to_string(),
            content_type: "application/json".to_string(),
            content: base64::engine::general_purpose::STANDARD.encode(pact.to_string()),
            on_conflict: None,
        }
    }
}

/// What the broker does when the consumer version already has a different pact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    Overwrite,
    Merge,
}

/// What the broker answered to a publication.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedContracts {
    /// The broker's notices, in order (success, warnings, next steps).
    pub notices: Vec<Notice>,
    /// URLs of the published pacts (`pb:contracts`).
    pub contract_urls: Vec<String>,
    /// The whole response body.
    pub body: Value,
}

// ---------------------------------------------------------------------------------------
// Pacts for verification.

/// A consumer version selector (<https://docs.pact.io/selectors>). Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerVersionSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_branch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching_branch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_or_released: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
}

impl ConsumerVersionSelector {
    /// `{"mainBranch": true}`: the head of each consumer's main branch.
    pub fn main_branch() -> Self {
        Self {
            main_branch: Some(true),
            ..Self::default()
        }
    }

    /// `{"deployedOrReleased": true}`: every consumer version deployed or released.
    pub fn deployed_or_released() -> Self {
        Self {
            deployed_or_released: Some(true),
            ..Self::default()
        }
    }

    /// `{"matchingBranch": true}`: the consumer branch named like the provider branch.
    pub fn matching_branch() -> Self {
        Self {
            matching_branch: Some(true),
            ..Self::default()
        }
    }

    /// `{"branch": name}`: the head of a consumer branch.
    pub fn branch(name: impl Into<String>) -> Self {
        Self {
            branch: Some(name.into()),
            ..Self::default()
        }
    }

    /// `{"deployed": true, "environment": name}`: versions currently deployed there.
    pub fn deployed_to(environment: impl Into<String>) -> Self {
        Self {
            deployed: Some(true),
            environment: Some(environment.into()),
            ..Self::default()
        }
    }

    /// The same selector restricted to one consumer.
    pub fn for_consumer(mut self, consumer: impl Into<String>) -> Self {
        self.consumer = Some(consumer.into());
        self
    }
}

/// Body of `POST /pacts/provider/{provider}/for-verification`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PactsForVerificationRequest {
    pub consumer_version_selectors: Vec<ConsumerVersionSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_version_branch: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provider_version_tags: Vec<String>,
    /// Always sent: the official broker defaults a missing key to `true`.
    pub include_pending_status: bool,
    /// A date (`2024-01-31` or an ISO-8601 time) after which WIP pacts are included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_wip_pacts_since: Option<String>,
}

/// One pact the broker asks the provider to verify.
#[derive(Debug, Clone, PartialEq)]
pub struct PactForVerification {
    /// The pact's URL (`_links.self.href`), to fetch it with [`crate::BrokerClient::fetch_pact`].
    pub href: String,
    /// The link's name, e.g. "Pact between web (abc123) and orders".
    pub name: Option<String>,
    /// Why it was selected, e.g. "latest from branch main, deployed to production".
    pub short_description: String,
    /// Failures of a pending pact are reported but must not fail the build.
    pub pending: bool,
    /// A work-in-progress pact (always pending too).
    pub wip: bool,
    /// The broker's explanations (`when`: `before_verification`, `after_verification:...`).
    pub notices: Vec<VerificationNotice>,
}

/// A notice attached to a pact for verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationNotice {
    #[serde(default)]
    pub when: String,
    #[serde(default)]
    pub text: String,
}

/// A pact fetched from the broker (or any URL): the document with its `_links`.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPact {
    /// Where it was fetched from.
    pub url: String,
    /// The pact JSON as served (broker links included; pact parsers ignore them).
    pub json: Value,
}

impl FetchedPact {
    /// Whether verification results can be published for this pact (it came from a
    /// broker, which says where with `pb:publish-verification-results`).
    pub fn can_publish_results(&self) -> bool {
        !crate::hal::links_in(&self.json, "pb:publish-verification-results").is_empty()
    }
}

// ---------------------------------------------------------------------------------------
// Verification results.

/// Body of a verification result (`POST` to `pb:publish-verification-results`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationResults {
    pub success: bool,
    pub provider_application_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
    pub test_results: Vec<InteractionResult>,
    pub verified_by: VerifiedBy,
}

/// One interaction's result inside [`VerificationResults`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    pub interaction_description: String,
    pub success: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<ResultMismatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ResultException>,
}

/// A mismatch as the broker stores it: `{attribute, identifier?, description}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultMismatch {
    pub attribute: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    pub description: String,
}

/// An error that stopped an interaction from being checked: `{message}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultException {
    pub message: String,
}

/// Which tool produced the results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedBy {
    pub implementation: String,
    pub version: String,
}

/// The provider version the results belong to; its branch and tags are recorded in the
/// broker before the results, as the official verifier does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderVersion {
    pub number: String,
    pub branch: Option<String>,
    pub tags: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// Matrix and can-i-deploy.

/// Which version of a pacticipant a can-i-deploy question is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    /// An exact version number.
    Number(String),
    /// The latest version (optionally the latest with a tag).
    Latest { tag: Option<String> },
    /// The latest version on a branch.
    LatestOnBranch(String),
    /// The latest version on the pacticipant's main branch.
    MainBranch,
}

/// One pacticipant version of a can-i-deploy question about several at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub pacticipant: String,
    pub version: VersionSelector,
}

/// Where the pacticipant version is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployTarget {
    /// An environment known to the broker.
    Environment(String),
    /// The latest versions of the other pacticipants carrying a tag (legacy).
    Tag(String),
    /// The latest versions of the other pacticipants.
    Latest,
}

/// A can-i-deploy question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanIDeployQuery {
    pub pacticipant: String,
    pub version: VersionSelector,
    pub target: DeployTarget,
    /// Pacticipants whose results are ignored.
    pub ignore: Vec<String>,
}

/// How can-i-deploy treats open drift of the providers in the target environment
/// (Accord's broker only; other brokers ignore the parameter). The broker reads the same
/// type.
pub use accord_contract::drift::DriftMode;

/// The broker's answer to a matrix / can-i-deploy query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Matrix {
    pub summary: MatrixSummary,
    #[serde(default)]
    pub notices: Vec<Notice>,
    #[serde(default)]
    pub matrix: Vec<MatrixRow>,
    /// Open drift in the target environment that concerns the answer (Accord's broker,
    /// when the question names an environment).
    #[serde(default)]
    pub drift: Option<MatrixDrift>,
}

/// The `drift` section of a can-i-deploy answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MatrixDrift {
    /// `block`, `warn` or `ignore`: how the broker counted the drift.
    pub mode: String,
    pub environment: String,
    /// Whether the drift made the answer no.
    #[serde(default)]
    pub blocking: bool,
    #[serde(default)]
    pub findings: Vec<MatrixDriftFinding>,
}

/// An open finding that concerns a consumer version being deployed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixDriftFinding {
    pub provider: String,
    pub consumer: String,
    pub consumer_version: String,
    pub environment: String,
    pub interaction: String,
    #[serde(default)]
    pub request: String,
    pub pointer: String,
    pub class: String,
    pub expected: String,
    pub actual: String,
    #[serde(default)]
    pub first_seen_at: Option<String>,
    #[serde(default)]
    pub last_seen_at: Option<String>,
    /// The same finding as one line, as in the reason or notices.
    #[serde(default)]
    pub text: String,
}

/// `summary` of a matrix answer. `deployable` is `None` when the answer is unknown
/// (results missing).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatrixSummary {
    pub deployable: Option<bool>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub success: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub unknown: u64,
}

/// One row of the matrix: a pact and (maybe) its verification.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixRow {
    pub consumer: MatrixParty,
    pub provider: MatrixParty,
    #[serde(default)]
    pub verification_result: Option<MatrixVerification>,
    #[serde(default)]
    pub ignored: bool,
}

/// A pacticipant in a matrix row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatrixParty {
    pub name: String,
    #[serde(default)]
    pub version: Option<MatrixVersion>,
}

/// A version in a matrix row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatrixVersion {
    pub number: String,
}

/// A verification in a matrix row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixVerification {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub verified_at: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Environments, deployments, releases, versions.

/// Body of `POST` to `pb:environments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEnvironment {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub production: bool,
}

/// An environment known to the broker.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub uuid: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub production: bool,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A recorded deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedVersion {
    pub uuid: String,
    #[serde(default)]
    pub currently_deployed: bool,
    #[serde(default)]
    pub application_instance: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A recorded release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedVersion {
    pub uuid: String,
    #[serde(default)]
    pub currently_supported: bool,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A pacticipant version as the broker describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: Option<String>,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    /// Names of the environments it is currently deployed to.
    pub deployed_to: Vec<String>,
    /// Names of the environments it is released to and still supported in.
    pub released_to: Vec<String>,
    /// The whole resource.
    pub body: Value,
}

impl Version {
    pub(crate) fn from_body(body: Value) -> Option<Self> {
        let number = body.get("number")?.as_str()?.to_string();
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let names = |pointer: &str| -> Vec<String> {
            body.pointer(pointer)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut branches = names("/_embedded/branchVersions");
        if branches.is_empty() {
            branches = names("/_embedded/branches");
        }
        let environments = |relation: &str, flag: &str| -> Vec<String> {
            crate::hal::links_in(&body, relation)
                .into_iter()
                .zip(
                    body.pointer(&format!("/_links/{relation}"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                )
                .filter(|(_, raw)| raw.get(flag).and_then(Value::as_bool).unwrap_or(true))
                .filter_map(|(link, _)| link.name)
                .collect()
        };
        Some(Self {
            number,
            build_url: text("buildUrl"),
            created_at: text("createdAt"),
            branches,
            tags: names("/_embedded/tags"),
            deployed_to: environments("pb:deployed-environments", "currently_deployed"),
            released_to: environments("pb:released-environments", "currently_supported"),
            body,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Drift (Accord's broker only).

/// The broker's answer to a posted drift report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedDriftRun {
    /// The run's id in the broker.
    pub id: i64,
    pub provider: String,
    #[serde(default)]
    pub environment: Option<String>,
    /// False when a run that finished later was already stored: this one is kept but
    /// does not change the drift state.
    #[serde(default = "yes")]
    pub applied: bool,
    /// True when the broker had this run already (a retried post).
    #[serde(default)]
    pub duplicate: bool,
    /// Findings this run opened.
    #[serde(default)]
    pub new: Vec<DriftFindingState>,
    /// Findings this run no longer saw.
    #[serde(default)]
    pub resolved: Vec<DriftFindingState>,
    /// Open findings this run could not check again (probe failed or skipped).
    #[serde(default)]
    pub not_rechecked: Vec<DriftFindingState>,
    /// Every finding open after this run.
    #[serde(default)]
    pub open: Vec<DriftFindingState>,
    #[serde(default)]
    pub notices: Vec<Notice>,
}

fn yes() -> bool {
    true
}

/// The current drift of a provider (`GET` on `accord:drift`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftState {
    pub provider: String,
    /// The environment asked for, if one was.
    #[serde(default)]
    pub environment: Option<String>,
    /// Whether any finding is open.
    pub drifting: bool,
    pub open_findings: u64,
    /// One entry per environment with a run (`environment: None` for runs without one).
    #[serde(default)]
    pub environments: Vec<EnvironmentDrift>,
}

/// The drift of a provider in one environment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentDrift {
    #[serde(default)]
    pub environment: Option<String>,
    pub drifting: bool,
    /// Open findings the latest run could not check again.
    #[serde(default)]
    pub not_rechecked: u64,
    pub latest_run: DriftRunSummary,
    /// The probe errors of the latest run, as the monitor reported them.
    #[serde(default)]
    pub probe_errors: Vec<Value>,
    /// The open findings, oldest first.
    #[serde(default)]
    pub findings: Vec<DriftFindingState>,
}

/// A stored run of the drift monitor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftRunSummary {
    pub id: i64,
    pub started_at: String,
    pub finished_at: String,
    #[serde(default)]
    pub received_at: Option<String>,
    pub probes: u64,
    pub interactions_checked: u64,
    /// How many findings, probe errors and skipped interactions the run had.
    pub findings: u64,
    pub probe_errors: u64,
    pub skipped: u64,
}

/// A finding as the broker keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftFindingState {
    /// The SHA-256 (hex) of the monitor's fingerprint of the finding.
    pub fingerprint: String,
    /// `open` or `resolved`.
    pub status: String,
    pub consumers: Vec<String>,
    pub interaction: String,
    pub request: String,
    pub pointer: String,
    pub class: String,
    pub expected: String,
    pub actual: String,
    #[serde(default)]
    pub occurrences: u64,
    #[serde(default)]
    pub hint: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// For open findings: whether the run the answer is about checked it again.
    #[serde(default)]
    pub rechecked_by_latest_run: Option<bool>,
    #[serde(default)]
    pub not_rechecked_because: Option<String>,
}

/// A scoped token to create (Accord's `/tokens`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApiToken {
    pub name: String,
    /// Scope strings such as `publish:web` or `deploy:web@production`.
    pub scopes: Vec<String>,
    /// RFC 3339; none for a token that does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A scoped token as the broker lists it (never with its value).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A token just created: the one answer that carries its value.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// The token itself (its `Debug` shows no value).
    pub token: secrecy::SecretString,
}
