//! Provider contracts (bi-directional contract testing): a provider version publishes
//! its OpenAPI document instead of running every consumer's pact, and the broker
//! compares the two.
//!
//! - When a contract is published ([`compare_with_pacts`]), it is compared with every
//!   pact the provider must satisfy: the same selection as for-verification with its
//!   default selectors (each consumer's main branch head, and what is deployed or
//!   released).
//! - When a pact is published ([`check_new_publications`]), it is compared with the
//!   provider's current contracts (its main branch head, and what is deployed or
//!   released; `ProviderContractStore::current_provider_contracts`).
//!
//! Each comparison is stored as a verification of the pact by the contract's provider
//! version, so the matrix and can-i-deploy (Accord's and the official client's) treat it
//! like any result; `verified_by` marks it as coming from the provider contract, and
//! `test_results` holds every mismatch. It succeeds only when every interaction fits the
//! document and the provider's own check of the document succeeded. A pact with message
//! interactions gets no result from a contract (an OpenAPI document cannot speak for
//! messages): it still needs a verification.
//!
//! The checking itself is `accord_contract::openapi`; parsed documents are kept in a
//! small cache ([`SpecCache`]) keyed by content hash, so publishing many pacts against
//! one contract parses it once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use accord_contract::Contract;
use accord_contract::openapi::{Comparison, ProviderSpec, SpecError};
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
    entries: Mutex<Vec<(String, Arc<ProviderSpec>)>>,
}

impl SpecCache {
    /// The parsed document of a contract (parsed off the async threads on a miss).
    pub(crate) async fn get(
        &self,
        sha: &str,
        content: &str,
    ) -> Result<Arc<ProviderSpec>, SpecError> {
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
        let spec = tokio::task::spawn_blocking(move || ProviderSpec::parse(&content))
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
                    "{} ({versions}): not compatible: the provider's own check of its contract failed",
                    self.consumer
                ),
            },
            None => format!(
                "{} ({versions}): not checked: the pact has message interactions, which an OpenAPI document cannot speak for; verify them with a provider verification",
                self.consumer
            ),
        }
    }
}

/// The contract of a provider's version, when the version exists and has one.
pub(crate) async fn find(
    state: &AppState,
    provider: &Pacticipant,
    number: &VersionNumber,
) -> Result<Option<ProviderContract>, StoreError> {
    match state.store.version(provider.id, number).await? {
        Some(version) => state.store.provider_contract(version.id).await,
        None => Ok(None),
    }
}

/// A stored comparison of a contract with one pact content.
pub(crate) struct StoredComparison {
    pub(crate) verification: Verification,
    pub(crate) interactions: Vec<accord_contract::openapi::InteractionCheck>,
}

/// The comparisons stored for a contract (its provider version's results that came
/// from this very document), one per pact content, oldest first.
pub(crate) async fn comparisons(
    state: &AppState,
    contract: &ProviderContract,
) -> Result<Vec<StoredComparison>, StoreError> {
    let verifications = state
        .store
        .verifications(VerificationFilter {
            provider_version_id: Some(contract.provider_version_id),
            ..Default::default()
        })
        .await?;
    let mut out: Vec<StoredComparison> = Vec::new();
    for v in verifications.into_iter().rev() {
        let from_this = is_from_contract(v.verified_by.as_ref())
            && v.verified_by
                .as_ref()
                .and_then(|b| b.pointer("/providerContract/sha"))
                .and_then(Value::as_str)
                == Some(contract.sha.as_str());
        if !from_this
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
        None if results.and_then(|r| r.pointer("/providerContract/selfVerificationSuccess"))
            == Some(&Value::Bool(false)) =>
        {
            "the provider's own check of its contract failed".into()
        }
        None => "see the comparison".into(),
    }
}

fn verified_by(contract: &ProviderContract) -> Value {
    let self_check = &contract.self_verification;
    json!({
        "implementation": IMPLEMENTATION,
        "version": env!("CARGO_PKG_VERSION"),
        "providerContract": {
            "id": contract.id,
            "sha": contract.sha,
            "specification": contract.specification,
            "selfVerification": {
                "success": contract.self_success,
                "verifier": self_check.get("verifier"),
                "verifierVersion": self_check.get("verifierVersion"),
            }
        }
    })
}

fn test_results(contract: &ProviderContract, comparison: &Comparison) -> Value {
    json!({
        "providerContract": {
            "sha": contract.sha,
            "selfVerificationSuccess": contract.self_success,
        },
        "mismatches": comparison.mismatches().count(),
        "interactions": comparison.interactions,
    })
}

/// Compares a just-published contract with every pact its provider must satisfy and
/// records the results; returns them, one per pact content.
pub(crate) async fn compare_with_pacts(
    state: &AppState,
    provider: &Pacticipant,
    contract: &ProviderContract,
) -> Result<Vec<Outcome>, ApiError> {
    let spec = state
        .specs
        .get(&contract.sha, &contract.content)
        .await
        .map_err(|err| ApiError::validation("contract.content", err.to_string()))?;
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
            compare_one(state, &spec, contract, pact_version_id, consumer, versions).await?
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
        let contracts = state.store.current_provider_contracts(provider_id).await?;
        for contract in &contracts {
            let spec = match state.specs.get(&contract.sha, &contract.content).await {
                Ok(spec) => spec,
                // Said when it was published: Accord cannot read it, so compares nothing with it.
                Err(_) => continue,
            };
            let mut seen = HashSet::new();
            for publication in &publications {
                if !seen.insert(publication.pact_version_id) {
                    continue;
                }
                compare_one(
                    state,
                    &spec,
                    contract,
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

/// Compares one pact content with one contract and records the result, unless this
/// very contract content was compared with it before.
async fn compare_one(
    state: &AppState,
    spec: &Arc<ProviderSpec>,
    contract: &ProviderContract,
    pact_version_id: i64,
    consumer: String,
    consumer_versions: Vec<String>,
) -> Result<Option<Outcome>, ApiError> {
    let Some(pact) = state.store.pact_version(pact_version_id).await? else {
        return Ok(None);
    };
    let known = state
        .store
        .verifications(VerificationFilter {
            pact_version_id: Some(pact_version_id),
            provider_version_id: Some(contract.provider_version_id),
            ..Default::default()
        })
        .await?;
    let already = known.iter().rev().find(|v| {
        is_from_contract(v.verified_by.as_ref())
            && v.verified_by
                .as_ref()
                .and_then(|b| b.pointer("/providerContract/sha"))
                .and_then(Value::as_str)
                == Some(contract.sha.as_str())
    });
    let spec = Arc::clone(spec);
    let content = pact.content.clone();
    let comparison = tokio::task::spawn_blocking(move || {
        Contract::from_json_text(&content, "stored pact").map(|contract| spec.check(&contract))
    })
    .await
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
    .map_err(|err| ApiError::Internal(format!("a stored pact cannot be read: {err}").into()))?;
    let success = comparison
        .complete()
        .then(|| contract.self_success && comparison.success());
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
                test_results: Some(test_results(contract, &comparison)),
                verified_by: Some(verified_by(contract)),
                wip: false,
                pending: None,
            })
            .await?;
    }
    Ok(Some(Outcome {
        consumer,
        consumer_versions,
        comparison,
        success,
    }))
}
