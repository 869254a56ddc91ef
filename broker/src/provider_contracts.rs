//! Provider contracts (bi-directional contract testing): a provider version publishes
//! its OpenAPI document (its HTTP API) and its AsyncAPI document (the events it sends),
//! one of each at most, instead of running every consumer's pact, and the broker
//! compares them with the pacts.
//!
//! - When a contract is published ([`compare_with_pacts`]), it is compared with every
//!   pact the provider must satisfy: the same selection as for-verification with its
//!   default selectors (each consumer's main branch head, and what is deployed or
//!   released).
//! - When a pact is published ([`check_new_publications`]), it is compared with the
//!   provider's current contracts (its main branch head, and what is deployed or
//!   released; `ProviderContractStore::current_provider_contracts`).
//!
//! A pact is always compared with all the contracts of one provider version at once
//! (HTTP interactions with the OpenAPI document, messages with the AsyncAPI document),
//! and each comparison is stored as a verification of the pact by that provider
//! version, so the matrix and can-i-deploy (Accord's and the official client's) treat it
//! like any result; `verified_by` marks it as coming from the provider contracts (with
//! each document's hash), and `test_results` holds every mismatch. It succeeds only when
//! every interaction fits its document and the provider's own check of each document
//! succeeded. A pact with an interaction no document speaks for (a message, when the
//! version has no AsyncAPI document) gets no result: it still needs a verification.
//!
//! The checking itself is `accord_contract::provider_contract`; parsed documents are
//! kept in a small cache ([`SpecCache`]) keyed by content hash, so publishing many pacts
//! against one contract parses it once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use accord_contract::Contract;
use accord_contract::openapi::{Comparison, SpecError};
use accord_contract::provider_contract::{ProviderDocument, check_with};
use serde_json::{Value, json};

use crate::domain::{PacticipantName, VersionNumber};
use crate::error::ApiError;
use crate::for_verification::{Request, choose, default_selectors, gather};
use crate::startup::AppState;
use crate::store::provider_contracts::ProviderContract;
use crate::store::{
    NewVerification, Pacticipant, Publication, StoreError, Verification, VerificationFilter,
};

/// The implementation name in `verified_by` of a comparison's result.
pub(crate) const IMPLEMENTATION: &str = "Accord provider contract";

/// How many parsed documents a broker keeps.
const CACHED_SPECS: usize = 16;

/// Parsed documents by content hash, most recently used last.
#[derive(Default)]
pub struct SpecCache {
    entries: Mutex<Vec<(String, Arc<ProviderDocument>)>>,
}

impl SpecCache {
    /// The parsed document of a contract (parsed off the async threads on a miss).
    pub(crate) async fn get(
        &self,
        sha: &str,
        content: &str,
    ) -> Result<Arc<ProviderDocument>, SpecError> {
        {
            let mut entries = self.entries.lock().expect("spec cache");
            if let Some(index) = entries.iter().position(|(key, _)| key == sha) {
                let entry = entries.remove(index);
                let spec = Arc::clone(&entry.1);
                entries.push(entry);
                return Ok(spec);
            }
        }
        let content = content.to_string();
        let spec = tokio::task::spawn_blocking(move || ProviderDocument::parse(&content))
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
        let spec = Arc::new(spec);
        let mut entries = self.entries.lock().expect("spec cache");
        entries.retain(|(key, _)| key != sha);
        entries.push((sha.to_string(), Arc::clone(&spec)));
        if entries.len() > CACHED_SPECS {
            entries.remove(0);
        }
        Ok(spec)
    }
}

/// What the broker concluded for one pact content against one contract.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) consumer: String,
    /// The consumer versions that published this content (those selected).
    pub(crate) consumer_versions: Vec<String>,
    pub(crate) comparison: Comparison,
    /// The result recorded; `None` when the pact holds messages, so no result was.
    pub(crate) success: Option<bool>,
    /// What is wrong with the provider's own checks of its documents, if anything.
    pub(crate) self_check: Option<&'static str>,
}

impl Outcome {
    /// One line for a notice or a log.
    pub(crate) fn summary(&self) -> String {
        let versions = self.consumer_versions.join(", ");
        match self.success {
            Some(true) => format!("{} ({versions}): compatible", self.consumer),
            Some(false) => match self.comparison.mismatches().next() {
                Some((interaction, mismatch)) => format!(
                    "{} ({versions}): not compatible: {} mismatch(es); first, in {:?}: {mismatch}",
                    self.consumer,
                    self.comparison.mismatches().count(),
                    interaction.description
                ),
                None => format!(
                    "{} ({versions}): not compatible: {}",
                    self.consumer,
                    self.self_check.unwrap_or(SELF_CHECK_FAILED)
                ),
            },
            None => format!(
                "{} ({versions}): not checked: {} interaction(s) no contract of this provider version speaks for; first, {:?}: {}. Publish the missing document, or verify the pact with a provider verification",
                self.consumer,
                self.comparison.skipped.len(),
                self.comparison
                    .skipped
                    .first()
                    .map(|s| s.description.as_str())
                    .unwrap_or(""),
                self.comparison
                    .skipped
                    .first()
                    .map(|s| s.reason.as_str())
                    .unwrap_or("")
            ),
        }
    }
}

/// The contracts of a provider's version (OpenAPI first), when the version exists.
pub(crate) async fn find(
    state: &AppState,
    provider: &Pacticipant,
    number: &VersionNumber,
) -> Result<Vec<ProviderContract>, StoreError> {
    match state.store.version(provider.id, number).await? {
        Some(version) => state.store.provider_contracts_at(version.id).await,
        None => Ok(Vec::new()),
    }
}

/// What the provider said of its own check of a document: `true`, `false`, or `null`
/// when the publisher did not say.
fn stated(contract: &ProviderContract) -> Value {
    contract
        .self_verification
        .get("success")
        .cloned()
        .unwrap_or(Value::Bool(contract.self_success))
}

/// The documents a comparison's result came from: each one's hash and what its own
/// check said, sorted.
fn compared(verified_by: Option<&Value>) -> Vec<(String, String)> {
    let Some(by) = verified_by else {
        return Vec::new();
    };
    let one = |c: &Value| {
        Some((
            c.get("sha")?.as_str()?.to_string(),
            c.pointer("/selfVerification/success")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string(),
        ))
    };
    let mut out: Vec<(String, String)> = match by.get("providerContracts").and_then(Value::as_array)
    {
        Some(list) => list.iter().filter_map(one).collect(),
        None => by
            .get("providerContract")
            .and_then(one)
            .into_iter()
            .collect(),
    };
    out.sort();
    out
}

/// Whether a result came from exactly these documents, as they are now (the same
/// content and the same own check).
fn from_documents(verification: &Verification, contracts: &[ProviderContract]) -> bool {
    let mut wanted: Vec<(String, String)> = contracts
        .iter()
        .map(|c| (c.sha.clone(), stated(c).to_string()))
        .collect();
    wanted.sort();
    is_from_contract(verification.verified_by.as_ref())
        && compared(verification.verified_by.as_ref()) == wanted
}

/// A stored comparison of a contract with one pact content.
pub(crate) struct StoredComparison {
    pub(crate) verification: Verification,
    pub(crate) interactions: Vec<accord_contract::openapi::InteractionCheck>,
}

/// The comparisons stored for a provider version's contracts (its results that came
/// from exactly the documents it has now), one per pact content, oldest first.
pub(crate) async fn comparisons(
    state: &AppState,
    contracts: &[ProviderContract],
) -> Result<Vec<StoredComparison>, StoreError> {
    let Some(contract) = contracts.first() else {
        return Ok(Vec::new());
    };
    let verifications = state
        .store
        .verifications(VerificationFilter {
            provider_version_id: Some(contract.provider_version_id),
            ..Default::default()
        })
        .await?;
    let mut out: Vec<StoredComparison> = Vec::new();
    for v in verifications.into_iter().rev() {
        if !from_documents(&v, contracts)
            || out
                .iter()
                .any(|c| c.verification.pact_version_id == v.pact_version_id)
        {
            continue;
        }
        let interactions = v
            .test_results
            .as_ref()
            .and_then(|r| r.get("interactions"))
            .and_then(|i| serde_json::from_value(i.clone()).ok())
            .unwrap_or_default();
        out.push(StoredComparison {
            verification: v,
            interactions,
        });
    }
    out.reverse();
    Ok(out)
}

/// Whether a verification's `verified_by` says it came from a provider contract.
pub(crate) fn is_from_contract(verified_by: Option<&Value>) -> bool {
    verified_by
        .and_then(|v| v.get("implementation"))
        .and_then(Value::as_str)
        == Some(IMPLEMENTATION)
}

/// The first reason a comparison's result failed, in words, from its stored results.
pub(crate) fn first_problem(verification: &crate::store::Verification) -> String {
    let results = verification.test_results.as_ref();
    let first = results
        .and_then(|r| r.get("interactions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|interaction| {
            let mismatch = interaction.get("mismatches")?.as_array()?.first()?;
            let mismatch: accord_contract::openapi::Mismatch =
                serde_json::from_value(mismatch.clone()).ok()?;
            Some(format!(
                "in {:?}, {mismatch}",
                interaction
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ))
        });
    match first {
        Some(first) => first,
        None => {
            let stated = results
                .and_then(|r| r.get("providerContracts"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(results.and_then(|r| r.get("providerContract")))
                .filter_map(|c| c.get("selfVerificationSuccess"));
            self_check_problem(stated)
                .unwrap_or("see the comparison")
                .into()
        }
    }
}

const SELF_CHECK_FAILED: &str = "the provider's own check of its contract failed";

/// What is wrong with what the provider said of its own checks (`true`, `false`, or
/// `null` when it did not say): a failure first, then a result not stated.
fn self_check_problem<'a>(stated: impl Iterator<Item = &'a Value>) -> Option<&'static str> {
    let mut not_stated = false;
    for value in stated {
        match value {
            Value::Bool(false) => return Some(SELF_CHECK_FAILED),
            Value::Null => not_stated = true,
            _ => {}
        }
    }
    not_stated.then_some(
        "the provider did not say how its own check of its contract went; publish the contract again with the result",
    )
}

/// `verified_by` of a comparison's result: every document it came from
/// (`providerContracts`), the first also as `providerContract`, the one field readers of
/// single-document results know.
fn verified_by(contracts: &[ProviderContract]) -> Value {
    let described: Vec<Value> = contracts
        .iter()
        .map(|contract| {
            let self_check = &contract.self_verification;
            json!({
                "id": contract.id,
                "sha": contract.sha,
                "specification": contract.specification,
                "selfVerification": {
                    "success": stated(contract),
                    "verifier": self_check.get("verifier"),
                    "verifierVersion": self_check.get("verifierVersion"),
                }
            })
        })
        .collect();
    json!({
        "implementation": IMPLEMENTATION,
        "version": env!("CARGO_PKG_VERSION"),
        "providerContract": described.first(),
        "providerContracts": described,
    })
}

fn test_results(contracts: &[ProviderContract], comparison: &Comparison) -> Value {
    let described: Vec<Value> = contracts
        .iter()
        .map(|c| {
            json!({
                "sha": c.sha,
                "specification": c.specification,
                // `null` when the publisher did not say.
                "selfVerificationSuccess": stated(c),
            })
        })
        .collect();
    json!({
        "providerContract": described.first(),
        "providerContracts": described,
        "mismatches": comparison.mismatches().count(),
        "interactions": comparison.interactions,
    })
}

/// A provider version's contracts that Accord can read, parsed.
pub(crate) struct Documents {
    pub(crate) contracts: Vec<ProviderContract>,
    parsed: Vec<Arc<ProviderDocument>>,
}

impl Documents {
    /// Parses (or takes from the cache) each contract; one Accord cannot read is left
    /// out (publishing it said why).
    pub(crate) async fn load(state: &AppState, contracts: Vec<ProviderContract>) -> Self {
        let mut out = Documents {
            contracts: Vec::new(),
            parsed: Vec::new(),
        };
        for contract in contracts {
            if let Ok(parsed) = state.specs.get(&contract.sha, &contract.content).await {
                out.contracts.push(contract);
                out.parsed.push(parsed);
            }
        }
        out
    }

    fn check(&self, pact: &Contract) -> Comparison {
        let documents: Vec<&ProviderDocument> = self.parsed.iter().map(|d| d.as_ref()).collect();
        check_with(&documents, pact)
    }
}

/// Compares a just-published contract's provider version (all its contracts) with
/// every pact its provider must satisfy and records the results; returns them, one per
/// pact content.
pub(crate) async fn compare_with_pacts(
    state: &AppState,
    provider: &Pacticipant,
    contract: &ProviderContract,
) -> Result<Vec<Outcome>, ApiError> {
    let contracts = state
        .store
        .provider_contracts_at(contract.provider_version_id)
        .await?;
    let documents = Arc::new(Documents::load(state, contracts).await);
    if documents.contracts.is_empty() {
        return Ok(Vec::new());
    }
    let request = Request {
        selectors: default_selectors(),
        ..Default::default()
    };
    let (environments, pacticipants) = tokio::try_join!(
        state.store.environments(),
        state.store.consumers_of(provider.id)
    )?;
    let environments: HashMap<String, i64> =
        environments.into_iter().map(|e| (e.name, e.id)).collect();
    let consumers = gather::load_consumers(state, provider, pacticipants, &request, true).await?;
    let choice = choose(&request, true, &consumers, &environments);
    let mut picks: BTreeMap<i64, (String, Vec<String>)> = BTreeMap::new();
    for ((consumer, pact_version_id), selected) in &choice.groups {
        let entry = picks
            .entry(*pact_version_id)
            .or_insert_with(|| (consumer.clone(), Vec::new()));
        for s in selected {
            if !entry.1.contains(&s.publication.consumer_version_number) {
                entry.1.push(s.publication.consumer_version_number.clone());
            }
        }
    }
    let mut outcomes = Vec::new();
    for (pact_version_id, (consumer, versions)) in picks {
        if let Some(outcome) =
            compare_one(state, &documents, pact_version_id, consumer, versions).await?
        {
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

/// The pacts a provider's consumers rely on, for a breaking-change report: each
/// consumer's main branch head and what is deployed or released (with `environment`,
/// only what is deployed or released there), with where each version runs.
pub(crate) async fn consumer_pacts(
    state: &AppState,
    provider: &Pacticipant,
    environment: Option<&str>,
) -> Result<Vec<accord_contract::openapi::ConsumerPact>, ApiError> {
    use crate::for_verification::Selector;
    let (environments, pacticipants) = tokio::try_join!(
        state.store.environments(),
        state.store.consumers_of(provider.id)
    )?;
    let environments: HashMap<String, i64> =
        environments.into_iter().map(|e| (e.name, e.id)).collect();
    let selectors = match environment {
        Some(name) => {
            if !environments.contains_key(name) {
                return Err(ApiError::validation(
                    "environment",
                    format!("environment '{name}' does not exist"),
                ));
            }
            vec![
                Selector {
                    deployed: true,
                    environment: Some(name.to_string()),
                    ..Default::default()
                },
                Selector {
                    released: true,
                    environment: Some(name.to_string()),
                    ..Default::default()
                },
            ]
        }
        None => default_selectors(),
    };
    let defaults = environment.is_none();
    let request = Request {
        selectors,
        ..Default::default()
    };
    let consumers =
        gather::load_consumers(state, provider, pacticipants, &request, defaults).await?;
    let choice = choose(&request, defaults, &consumers, &environments);
    let mut out = Vec::new();
    for ((consumer, pact_version_id), selected) in &choice.groups {
        let Some(pact) = state.store.pact_version(*pact_version_id).await? else {
            continue;
        };
        let contract = Contract::from_json_text(&pact.content, "stored pact").map_err(|err| {
            ApiError::Internal(format!("a stored pact cannot be read: {err}").into())
        })?;
        let mut versions: Vec<&str> = Vec::new();
        let mut labels: Vec<&str> = Vec::new();
        for s in selected {
            if !versions.contains(&s.publication.consumer_version_number.as_str()) {
                versions.push(&s.publication.consumer_version_number);
            }
            if !labels.contains(&s.label.as_str()) {
                labels.push(&s.label);
            }
        }
        out.push(accord_contract::openapi::ConsumerPact {
            consumer: consumer.clone(),
            version: versions.join(", "),
            context: labels.join(", "),
            contract,
        });
    }
    Ok(out)
}

/// Compares newly published pacts with their providers' current contracts. The pacts
/// are stored already, so a failure here is logged, not returned: the results can be
/// had again by publishing the contract again.
pub(crate) async fn check_new_publications(state: &AppState, publications: &[Publication]) {
    if let Err(err) = check_publications(state, publications).await {
        tracing::warn!(error = %err, "comparing new pacts with provider contracts failed");
    }
}

async fn check_publications(
    state: &AppState,
    publications: &[Publication],
) -> Result<(), ApiError> {
    let mut by_provider: BTreeMap<i64, Vec<&Publication>> = BTreeMap::new();
    for publication in publications {
        by_provider
            .entry(publication.provider_id)
            .or_default()
            .push(publication);
    }
    for (provider_id, publications) in by_provider {
        let mut by_version: BTreeMap<i64, Vec<ProviderContract>> = BTreeMap::new();
        for contract in state.store.current_provider_contracts(provider_id).await? {
            by_version
                .entry(contract.provider_version_id)
                .or_default()
                .push(contract);
        }
        for contracts in by_version.into_values() {
            let documents = Arc::new(Documents::load(state, contracts).await);
            if documents.contracts.is_empty() {
                continue;
            }
            let mut seen = HashSet::new();
            for publication in &publications {
                if !seen.insert(publication.pact_version_id) {
                    continue;
                }
                compare_one(
                    state,
                    &documents,
                    publication.pact_version_id,
                    publication.consumer_name.clone(),
                    vec![publication.consumer_version_number.clone()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Compares one pact content with a provider version's contracts and records the
/// result, unless these very documents were compared with it before.
async fn compare_one(
    state: &AppState,
    documents: &Arc<Documents>,
    pact_version_id: i64,
    consumer: String,
    consumer_versions: Vec<String>,
) -> Result<Option<Outcome>, ApiError> {
    let Some(pact) = state.store.pact_version(pact_version_id).await? else {
        return Ok(None);
    };
    let contracts = &documents.contracts;
    let contract = &contracts[0];
    let known = state
        .store
        .verifications(VerificationFilter {
            pact_version_id: Some(pact_version_id),
            provider_version_id: Some(contract.provider_version_id),
            ..Default::default()
        })
        .await?;
    let already = known.iter().rev().find(|v| from_documents(v, contracts));
    let checker = Arc::clone(documents);
    let content = pact.content.clone();
    let comparison = tokio::task::spawn_blocking(move || {
        Contract::from_json_text(&content, "stored pact").map(|pact| checker.check(&pact))
    })
    .await
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
    .map_err(|err| ApiError::Internal(format!("a stored pact cannot be read: {err}").into()))?;
    let success = comparison
        .complete()
        .then(|| contracts.iter().all(|c| c.self_success) && comparison.success());
    if let (Some(success), None) = (success, already) {
        state
            .store
            .record_verification(&NewVerification {
                pact_version_id,
                provider: PacticipantName::parse("provider", &contract.provider_name)?,
                provider_version: VersionNumber::parse(
                    "version",
                    &contract.provider_version_number,
                )?,
                success,
                build_url: None,
                test_results: Some(test_results(contracts, &comparison)),
                verified_by: Some(verified_by(contracts)),
                wip: false,
                pending: None,
            })
            .await?;
    }
    let stated: Vec<Value> = contracts.iter().map(stated).collect();
    Ok(Some(Outcome {
        consumer,
        consumer_versions,
        comparison,
        success,
        self_check: self_check_problem(stated.iter()),
    }))
}
