//! The monitor: one check probes every planned request and turns the answers into a
//! [`DriftReport`].

use std::collections::BTreeMap;
use std::sync::Arc;

use accord_contract::Contract;
use chrono::Utc;
use futures::StreamExt;
use serde_json::Value;
use tracing::info;

use crate::circuit::CircuitState;
use crate::config::MonitorConfig;
use crate::error::MonitorError;
use crate::metrics::MonitorMetrics;
use crate::probe::{self, Plan, ProbeResponse, Prober, Target};
use crate::report::{DriftReport, Finding, FindingClass, PactRef, ProbeError};
use crate::schema::{self, BodyExpectation, DerivedPact};

/// Probes one provider against the pacts of its consumers.
#[derive(Debug)]
pub struct Monitor {
    provider: String,
    environment: Option<String>,
    base_url: String,
    pacts: Vec<PactRef>,
    plan: Plan,
    prober: Prober,
    metrics: Arc<MonitorMetrics>,
}

impl Monitor {
    /// Derives the expectations of `contracts` and prepares the probes.
    pub fn from_contracts(
        contracts: &[Contract],
        config: MonitorConfig,
    ) -> Result<Self, MonitorError> {
        let pacts: Vec<DerivedPact> = contracts.iter().map(schema::derive_pact).collect();
        Self::new(pacts, config)
    }

    /// Prepares the probes for already derived pacts, which must all name one provider.
    pub fn new(pacts: Vec<DerivedPact>, config: MonitorConfig) -> Result<Self, MonitorError> {
        let Some(first) = pacts.first() else {
            return Err(MonitorError::NoPacts);
        };
        let provider = first.pact.provider.clone();
        if let Some(other) = pacts.iter().find(|p| p.pact.provider != provider) {
            return Err(MonitorError::MixedProviders {
                first: provider,
                other: other.pact.provider.clone(),
                origin: other.pact.origin.clone(),
            });
        }
        let metrics = Arc::new(MonitorMetrics::new(&provider)?);
        let prober = Prober::new(&config, metrics.clone())?;
        let plan = probe::plan(&pacts, &config);
        Ok(Self {
            provider,
            environment: config.environment.clone(),
            base_url: config.base_url.to_string(),
            pacts: pacts.into_iter().map(|p| p.pact).collect(),
            plan,
            prober,
            metrics,
        })
    }

    /// The provider all pacts are for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// How many distinct requests one check sends (at most).
    pub fn planned_probes(&self) -> usize {
        self.plan.probes.len()
    }

    /// The monitor's metrics, updated by every check.
    pub fn metrics(&self) -> &MonitorMetrics {
        &self.metrics
    }

    /// Every probed host's circuit state.
    pub fn circuit_states(&self) -> Vec<(String, CircuitState)> {
        self.prober.circuits().states()
    }

    /// Runs one check: sends every planned probe (within the concurrency, rate and circuit
    /// limits) and checks each answer against the interactions expecting it.
    pub async fn check(&self) -> DriftReport {
        let started_at = Utc::now();
        // The futures are built before they are streamed: a closure producing them inside
        // the stream would make this future's `Send`-ness depend on a higher-ranked
        // lifetime the compiler cannot prove, and the service spawns it.
        let prober = &self.prober;
        let probes: Vec<_> = self
            .plan
            .probes
            .iter()
            .map(|planned| async move { (planned, prober.send(&planned.request).await) })
            .collect();
        let results: Vec<_> = futures::stream::iter(probes)
            .buffer_unordered(self.prober.concurrency.max(1))
            .collect()
            .await;

        let mut findings: Vec<Finding> = Vec::new();
        let mut probe_errors: Vec<ProbeError> = self.plan.invalid.clone();
        let mut interactions_checked = 0;
        for (planned, result) in results {
            match result {
                Ok(response) => {
                    for target in &planned.targets {
                        interactions_checked += 1;
                        findings.extend(evaluate(target, &planned.request.display, &response));
                    }
                }
                Err(failure) => {
                    for target in &planned.targets {
                        probe_errors.push(ProbeError {
                            consumers: vec![target.expectation.consumer.clone()],
                            interaction: target.expectation.description.clone(),
                            request: planned.request.display.clone(),
                            kind: failure.kind,
                            message: failure.message.clone(),
                        });
                    }
                }
            }
        }
        let mut findings = merge_findings(findings);
        findings.sort_by(|a, b| {
            (&a.interaction, &a.pointer, a.class).cmp(&(&b.interaction, &b.pointer, b.class))
        });
        let mut probe_errors = merge_probe_errors(probe_errors);
        probe_errors
            .sort_by(|a, b| (&a.interaction, &a.request).cmp(&(&b.interaction, &b.request)));
        let report = DriftReport {
            provider: self.provider.clone(),
            environment: self.environment.clone(),
            base_url: self.base_url.clone(),
            started_at,
            finished_at: Utc::now(),
            pacts: self.pacts.clone(),
            probes: self.plan.probes.len(),
            interactions_checked,
            findings,
            probe_errors,
            skipped: self.plan.skipped.clone(),
            events: None,
        };
        self.metrics.record(&report, &self.circuit_states());
        info!(
            provider = %report.provider,
            findings = report.findings.len(),
            probe_errors = report.probe_errors.len(),
            skipped = report.skipped.len(),
            "drift check finished"
        );
        report
    }
}

/// Checks one answer against one interaction.
fn evaluate(target: &Target, request: &str, response: &ProbeResponse) -> Vec<Finding> {
    let expectation = &target.expectation;
    let finding =
        |pointer: String, class: FindingClass, expected: String, actual: String| Finding {
            consumers: vec![expectation.consumer.clone()],
            interaction: expectation.description.clone(),
            request: request.to_string(),
            pointer,
            class,
            expected,
            actual,
            occurrences: 1,
            hint: None,
        };

    if !expectation.response.status.accepts(response.status) {
        let mut status = finding(
            "/status".to_string(),
            FindingClass::StatusCodeChanged,
            expectation.response.status.describe(),
            format!("status {}", response.status),
        );
        if !target.unmapped_states.is_empty() {
            // The recorded request may name test data that production does not have; the
            // operator should map the state before reading this as drift.
            let states = target
                .unmapped_states
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            status.hint = Some(format!(
                "the request was sent as recorded because provider state {states} has no mapping: add a mapping for state {states} in the config file"
            ));
        }
        // The body of an unexpected status is another document; checking it would only
        // repeat the same drift many times.
        return vec![status];
    }

    let mut findings = Vec::new();
    if let Some(expected) = &expectation.response.content_type
        && response.content_type.as_deref() != Some(expected.as_str())
    {
        findings.push(finding(
            "/headers/content-type".to_string(),
            FindingClass::ContentTypeChanged,
            expected.clone(),
            response
                .content_type
                .clone()
                .unwrap_or_else(|| "absent".to_string()),
        ));
    }

    match &expectation.response.body {
        None => {}
        Some(_) if response.body.is_empty() => findings.push(finding(
            "/body".to_string(),
            FindingClass::FieldMissing,
            "a body".to_string(),
            "empty body".to_string(),
        )),
        Some(BodyExpectation::Other) => {}
        Some(BodyExpectation::Json(schema)) => {
            match serde_json::from_slice::<Value>(&response.body) {
                Err(_) => findings.push(finding(
                    "/body".to_string(),
                    FindingClass::TypeChanged,
                    "a JSON document".to_string(),
                    format!("a body of {} bytes that is not JSON", response.body.len()),
                )),
                Ok(body) => {
                    // Drift repeated across array items is one finding with a count.
                    let mut grouped: BTreeMap<(String, FindingClass), Finding> = BTreeMap::new();
                    for drift in schema.check(&body) {
                        let pointer = format!("/body{}", drift.pointer);
                        let probe = finding(pointer, drift.class, drift.expected, drift.actual);
                        let key = (probe.fingerprint(), drift.class);
                        grouped
                            .entry(key)
                            .and_modify(|existing| existing.occurrences += 1)
                            .or_insert(probe);
                    }
                    findings.extend(grouped.into_values());
                }
            }
        }
    }
    findings
}

/// The same finding reached through several consumers' pacts becomes one, naming them all.
fn merge_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::new();
    for finding in findings {
        match merged.iter_mut().find(|existing| {
            existing.interaction == finding.interaction
                && existing.request == finding.request
                && existing.pointer == finding.pointer
                && existing.class == finding.class
                && existing.expected == finding.expected
        }) {
            Some(existing) => {
                for consumer in finding.consumers {
                    if !existing.consumers.contains(&consumer) {
                        existing.consumers.push(consumer);
                    }
                }
                existing.consumers.sort();
            }
            None => merged.push(finding),
        }
    }
    merged
}

fn merge_probe_errors(errors: Vec<ProbeError>) -> Vec<ProbeError> {
    let mut merged: Vec<ProbeError> = Vec::new();
    for error in errors {
        match merged.iter_mut().find(|existing| {
            existing.interaction == error.interaction && existing.request == error.request
        }) {
            Some(existing) => {
                for consumer in error.consumers {
                    if !existing.consumers.contains(&consumer) {
                        existing.consumers.push(consumer);
                    }
                }
                existing.consumers.sort();
            }
            None => merged.push(error),
        }
    }
    merged
}
