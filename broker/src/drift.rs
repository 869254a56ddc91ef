//! Drift: what the drift monitor found in a running provider, and what it means for
//! deployments.
//!
//! The monitor (`accord monitor`) probes a provider in an environment and posts one
//! report per run. The broker keeps each run and one record per distinct finding
//! (identified by its fingerprint) while it is open:
//! - [`reconcile`] is the one place that decides, for a new run, which findings are
//!   new, which were seen again, which are resolved (the run no longer has them) and
//!   which could not be checked again (their probe failed or was skipped: a run that
//!   did not look cannot say the drift is gone). Everything that reacts to drift
//!   appearing or going away starts from its answer.
//! - [`assess`] tells can-i-deploy which open findings concern a deployment: a
//!   consumer version going into an environment where one of its providers drifts
//!   from that consumer's pact. A provider version is never held back by drift,
//!   because drift describes the provider version running there, not the candidate.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::http::{enc, enc_query};
use crate::store::{DriftFinding, Environment, EnvironmentScope, NewDriftRun, Store, StoreError};

pub use accord_contract::drift::{DriftMode, fingerprint};

/// One finding of a posted report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFinding {
    pub fingerprint: String,
    pub consumers: Vec<String>,
    pub interaction: String,
    pub request: String,
    pub pointer: String,
    pub class: String,
    pub expected: String,
    pub actual: String,
    pub occurrences: i64,
    pub hint: Option<String>,
}

/// A probe of a posted report that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedProbeError {
    pub consumers: Vec<String>,
    pub interaction: String,
    pub request: String,
    pub kind: String,
    pub message: String,
}

/// An interaction a posted report did not probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSkip {
    pub consumer: String,
    pub interaction: String,
    pub reason: String,
}

/// What a new run changes, as indices into the run's findings and ids of stored findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Findings of the run that are not open yet (indices into `run.findings`).
    pub new: Vec<usize>,
    /// Open findings the run saw again: (finding id, index into `run.findings`).
    pub seen_again: Vec<(i64, usize)>,
    /// Open findings the run checked and no longer saw.
    pub resolved: Vec<i64>,
    /// Open findings the run could not check again, with the reason; they stay open.
    pub unchecked: Vec<(i64, String)>,
}

/// Decides what a run changes in the open findings of its provider and environment.
/// See the module documentation.
pub fn reconcile(open: &[DriftFinding], run: &NewDriftRun) -> Reconciliation {
    let mut result = Reconciliation::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (index, finding) in run.findings.iter().enumerate() {
        if !seen.insert(finding.fingerprint.as_str()) {
            // The monitor merges repeated drift; should a report still repeat one, the
            // first occurrence stands for it.
            continue;
        }
        match open.iter().find(|f| f.fingerprint == finding.fingerprint) {
            Some(existing) => result.seen_again.push((existing.id, index)),
            None => result.new.push(index),
        }
    }
    for finding in open {
        if seen.contains(finding.fingerprint.as_str()) {
            continue;
        }
        match why_unchecked(finding, run) {
            Some(reason) => result.unchecked.push((finding.id, reason)),
            None => result.resolved.push(finding.id),
        }
    }
    result
}

/// Why a run could not check an open finding again, if it could not.
fn why_unchecked(finding: &DriftFinding, run: &NewDriftRun) -> Option<String> {
    let concerns = |consumers: &[String]| {
        consumers.is_empty()
            || finding.consumers.is_empty()
            || consumers.iter().any(|c| finding.consumers.contains(c))
    };
    if let Some(error) = run
        .probe_errors
        .iter()
        .find(|e| e.interaction == finding.interaction && concerns(&e.consumers))
    {
        return Some(format!(
            "the probe {} got no usable answer ({}: {})",
            error.request, error.kind, error.message
        ));
    }
    run.skipped
        .iter()
        .find(|s| {
            s.interaction == finding.interaction && concerns(std::slice::from_ref(&s.consumer))
        })
        .map(|s| format!("the interaction was not probed: {}", s.reason))
}

/// A finding's class in words: `format_changed` -> `format changed`.
pub fn class_label(class: &str) -> String {
    class.replace('_', " ")
}

/// The URL of a provider's drift state, optionally in one environment.
pub fn state_url(base: &str, provider: &str, environment: Option<&str>) -> String {
    let mut url = format!("{base}/drift/provider/{}", enc(provider));
    if let Some(environment) = environment {
        url.push_str("?environment=");
        url.push_str(&enc_query(environment));
    }
    url
}

/// A consumer version whose deployment is in question, with one of its pacts.
#[derive(Debug, Clone)]
pub struct CandidatePact {
    pub consumer: String,
    pub consumer_version: String,
    pub provider_id: i64,
    pub provider: String,
    pub pact_version_id: i64,
}

/// A pacticipant version being deployed that other applications consume.
#[derive(Debug, Clone)]
pub struct CandidateProvider {
    pub pacticipant_id: i64,
    pub name: String,
    pub version: String,
}

/// An open finding that concerns a consumer version being deployed.
#[derive(Debug, Clone)]
pub struct DriftConcern {
    pub consumer: String,
    pub consumer_version: String,
    pub environment: String,
    pub finding: DriftFinding,
    /// One line: the finding and what to do about it.
    pub text: String,
}

/// What open drift means for a deployment.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Open findings against the pacts of the consumer versions being deployed.
    pub concerns: Vec<DriftConcern>,
    /// Information that does not concern the answer (drift of a provider being
    /// deployed; drift of an interaction the candidate's pact no longer has).
    pub notes: Vec<String>,
}

/// Looks up the open drift that concerns deploying `pacts` (the pacts of consumer
/// versions) and `providers` into `environment`. Providers that are themselves being
/// deployed (`providers`) do not hold their consumers back: their drift is noted.
pub async fn assess(
    store: &dyn Store,
    base: &str,
    env: &Environment,
    mode: DriftMode,
    pacts: &[CandidatePact],
    providers: &[CandidateProvider],
) -> Result<Assessment, StoreError> {
    let mut assessment = Assessment::default();
    let scope = EnvironmentScope::Id(env.id);
    let being_deployed: BTreeSet<i64> = providers.iter().map(|p| p.pacticipant_id).collect();
    // The open findings of every provider concerned, in one read.
    let mut ids: Vec<i64> = pacts
        .iter()
        .map(|p| p.provider_id)
        .filter(|id| !being_deployed.contains(id))
        .chain(being_deployed.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut open: BTreeMap<i64, Vec<DriftFinding>> = BTreeMap::new();
    if !ids.is_empty() {
        for finding in store.open_drift_findings_of(&ids, scope).await? {
            open.entry(finding.provider_id).or_default().push(finding);
        }
    }
    let none: Vec<DriftFinding> = Vec::new();
    for pact in pacts {
        if being_deployed.contains(&pact.provider_id) {
            continue;
        }
        let findings = open.get(&pact.provider_id).unwrap_or(&none);
        let concerning: Vec<DriftFinding> = findings
            .iter()
            .filter(|f| f.consumers.contains(&pact.consumer))
            .cloned()
            .collect();
        if concerning.is_empty() {
            continue;
        }
        let descriptions = match store.pact_version(pact.pact_version_id).await? {
            Some(content) => interaction_descriptions(&content.content),
            None => BTreeSet::new(),
        };
        for finding in &concerning {
            if descriptions.contains(&finding.interaction) {
                assessment.concerns.push(DriftConcern {
                    consumer: pact.consumer.clone(),
                    consumer_version: pact.consumer_version.clone(),
                    environment: env.name.clone(),
                    text: concern_text(base, &env.name, mode, pact, finding),
                    finding: finding.clone(),
                });
            } else {
                assessment.notes.push(format!(
                    "{} drifts in {} from the interaction \"{}\" of {}'s pact ({} at {}), but the pact of {} {} no longer has that interaction, so this drift does not concern it.",
                    pact.provider,
                    env.name,
                    finding.interaction,
                    pact.consumer,
                    class_label(&finding.class),
                    display_pointer(&finding.pointer),
                    pact.consumer,
                    pact.consumer_version
                ));
            }
        }
    }
    for provider in providers {
        let findings = open.get(&provider.pacticipant_id).unwrap_or(&none);
        if findings.is_empty() {
            continue;
        }
        let consumers: BTreeSet<&str> = findings
            .iter()
            .flat_map(|f| f.consumers.iter().map(String::as_str))
            .collect();
        assessment.notes.push(format!(
            "{} currently drifts in {} from the pacts of {} ({} open finding(s), {}). Drift describes the version of {} running in {}, not {} {}, so it does not block deploying it; the monitor's next run after the deployment shows whether the drift is gone.",
            provider.name,
            env.name,
            consumers.into_iter().collect::<Vec<_>>().join(", "),
            findings.len(),
            state_url(base, &provider.name, Some(&env.name)),
            provider.name,
            env.name,
            provider.name,
            provider.version
        ));
    }
    Ok(assessment)
}

/// The descriptions of a pact's interactions (and messages).
fn interaction_descriptions(content: &str) -> BTreeSet<String> {
    let Ok(json) = serde_json::from_str::<Value>(content) else {
        return BTreeSet::new();
    };
    ["interactions", "messages"]
        .iter()
        .filter_map(|key| json.get(key).and_then(Value::as_array))
        .flatten()
        .filter_map(|i| i.get("description").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// `/` for the whole response is clearer as `(the whole response)`.
fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "the whole response".to_string()
    } else {
        pointer.to_string()
    }
}

/// Text from a report on one line, so a blocker stays one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn concern_text(
    base: &str,
    environment: &str,
    mode: DriftMode,
    pact: &CandidatePact,
    finding: &DriftFinding,
) -> String {
    let advice = match mode {
        DriftMode::Block => format!(
            "Fix {provider} in {environment} (or change the pact and deploy a version of {consumer} that tolerates the answer), then let the monitor check again; to deploy anyway, ask with --drift warn.",
            provider = pact.provider,
            consumer = pact.consumer,
        ),
        DriftMode::Warn | DriftMode::Ignore => format!(
            "Not blocking (drift=warn): {consumer} {version} may fail against {provider} in {environment}.",
            provider = pact.provider,
            consumer = pact.consumer,
            version = pact.consumer_version,
        ),
    };
    format!(
        "{provider} drifts in {environment} from the pact of {consumer} {version}: {class} at {pointer} in \"{interaction}\" ({request}): expected {expected}, got {actual} (seen since {first}, last {last}). {advice} Details: {url}",
        provider = pact.provider,
        consumer = pact.consumer,
        version = pact.consumer_version,
        class = class_label(&finding.class),
        pointer = display_pointer(&finding.pointer),
        interaction = one_line(&finding.interaction),
        request = one_line(&finding.request),
        expected = one_line(&finding.expected),
        actual = one_line(&finding.actual),
        first = crate::repr::time(&finding.first_seen_at),
        last = crate::repr::time(&finding.last_seen_at),
        url = state_url(base, &pact.provider, Some(environment)),
    )
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    fn observed(interaction: &str, pointer: &str, class: &str) -> ObservedFinding {
        let consumers = vec!["web".to_string()];
        ObservedFinding {
            fingerprint: fingerprint(&consumers, interaction, pointer, class),
            consumers,
            interaction: interaction.into(),
            request: "GET /orders/1".into(),
            pointer: pointer.into(),
            class: class.into(),
            expected: "integer".into(),
            actual: "\"1\"".into(),
            occurrences: 1,
            hint: None,
        }
    }

    fn stored(id: i64, finding: &ObservedFinding) -> DriftFinding {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
        DriftFinding {
            id,
            provider_id: 1,
            provider_name: "orders".into(),
            environment_id: None,
            environment_name: None,
            fingerprint: finding.fingerprint.clone(),
            consumers: finding.consumers.clone(),
            interaction: finding.interaction.clone(),
            request: finding.request.clone(),
            pointer: finding.pointer.clone(),
            class: finding.class.clone(),
            expected: finding.expected.clone(),
            actual: finding.actual.clone(),
            occurrences: finding.occurrences,
            hint: None,
            first_seen_at: at,
            last_seen_at: at,
            last_run_id: Some(1),
            unchecked_run_id: None,
            unchecked_reason: None,
            resolved_at: None,
            resolved_run_id: None,
        }
    }

    fn run(findings: Vec<ObservedFinding>) -> NewDriftRun {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 11, 0, 0).unwrap();
        NewDriftRun {
            provider_id: 1,
            environment_id: None,
            base_url: "http://orders".into(),
            started_at: at,
            finished_at: at,
            probes: 2,
            interactions_checked: 2,
            findings,
            probe_errors: vec![],
            skipped: vec![],
            report: json!({}),
        }
    }

    #[test]
    fn a_run_sorts_open_findings_into_seen_resolved_and_unchecked() {
        let id = observed("get order", "/body/id", "type_changed");
        let date = observed("get order", "/body/created", "format_changed");
        let list = observed("list orders", "/body", "type_changed");
        let open = vec![stored(10, &id), stored(11, &date), stored(12, &list)];
        let mut next = run(vec![
            id.clone(),
            observed("get order", "/body/ref", "pattern_mismatch"),
        ]);
        next.probe_errors.push(ObservedProbeError {
            consumers: vec!["web".into()],
            interaction: "list orders".into(),
            request: "GET /orders".into(),
            kind: "timeout".into(),
            message: "no answer within 5s".into(),
        });
        let plan = reconcile(&open, &next);
        assert_eq!(plan.new, vec![1]);
        assert_eq!(plan.seen_again, vec![(10, 0)]);
        assert_eq!(plan.resolved, vec![11]);
        assert_eq!(plan.unchecked.len(), 1);
        assert_eq!(plan.unchecked[0].0, 12);
        assert!(
            plan.unchecked[0].1.contains("timeout"),
            "{:?}",
            plan.unchecked
        );
    }

    #[test]
    fn a_skipped_interaction_does_not_resolve_its_findings() {
        let list = observed("list orders", "/body", "type_changed");
        let mut next = run(vec![]);
        next.skipped.push(ObservedSkip {
            consumer: "web".into(),
            interaction: "list orders".into(),
            reason: "state \"no orders\" is marked skip".into(),
        });
        let plan = reconcile(&[stored(12, &list)], &next);
        assert!(plan.resolved.is_empty());
        assert!(plan.unchecked[0].1.contains("marked skip"));
    }
}
