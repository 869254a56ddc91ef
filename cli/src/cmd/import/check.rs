//! The closing check of an import: for a sample of pacticipants, both brokers are
//! asked the questions a pipeline asks (can the latest version go to each
//! environment; which pacts must the provider verify, and which are pending), and
//! every answer that differs is listed.

use std::collections::{BTreeMap, BTreeSet};

use accord_broker_client::{
    BrokerClient, BrokerError, CanIDeployQuery, ConsumerVersionSelector, DeployTarget,
    PactsForVerificationRequest, VersionSelector,
};

use super::history::History;

#[derive(Debug, Default)]
pub struct Outcome {
    /// The pacticipants compared.
    pub compared: Vec<String>,
    /// How many questions were asked of both, in words ("6 questions").
    pub questions: String,
    /// One line per answer that differs.
    pub differences: Vec<String>,
}

/// The pacticipants taking part in the most integrations, busiest first.
fn sample(from: &History, size: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (consumer, provider) in from.integrations.keys() {
        *counts.entry(consumer).or_default() += 1;
        *counts.entry(provider).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = from
        .pacticipants
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                counts.get(p.name.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(size)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// What for-verification answers, as comparable text: each pact's name and whether
/// it is pending (the URLs differ between brokers, the names do not).
async fn pacts_to_verify(
    client: &BrokerClient,
    provider: &str,
) -> Result<BTreeSet<String>, BrokerError> {
    let request = PactsForVerificationRequest {
        consumer_version_selectors: vec![
            ConsumerVersionSelector {
                main_branch: Some(true),
                ..ConsumerVersionSelector::default()
            },
            ConsumerVersionSelector {
                deployed_or_released: Some(true),
                ..ConsumerVersionSelector::default()
            },
        ],
        include_pending_status: true,
        ..PactsForVerificationRequest::default()
    };
    let pacts = client.pacts_for_verification(provider, &request).await?;
    Ok(pacts
        .iter()
        .map(|p| {
            let name = p
                .name
                .clone()
                .unwrap_or_else(|| p.short_description.clone());
            format!("{name}{}", if p.pending { " (pending)" } else { "" })
        })
        .collect())
}

pub async fn compare(
    source: &BrokerClient,
    target: &BrokerClient,
    from: &History,
    size: usize,
) -> Result<Outcome, BrokerError> {
    let mut outcome = Outcome {
        compared: sample(from, size),
        ..Outcome::default()
    };
    let providers: BTreeSet<&str> = from.integrations.keys().map(|(_, p)| p.as_str()).collect();
    let mut asked = 0;
    for name in outcome.compared.clone() {
        if providers.contains(name.as_str()) {
            // A source that cannot answer (an old broker) is not compared.
            if let Ok(expected) = pacts_to_verify(source, &name).await {
                asked += 1;
                let found = pacts_to_verify(target, &name).await?;
                if found != expected {
                    let missing: Vec<&String> = expected.difference(&found).collect();
                    let extra: Vec<&String> = found.difference(&expected).collect();
                    outcome.differences.push(format!(
                        "pacts for verification of {name}: missing here {missing:?}, only here {extra:?}"
                    ));
                }
            }
        }
        let Some(latest) = from.pacticipant(&name).and_then(|p| p.versions.last()) else {
            continue;
        };
        for environment in &from.environments {
            let query = CanIDeployQuery {
                pacticipant: name.clone(),
                version: VersionSelector::Number(latest.number.clone()),
                target: DeployTarget::Environment(environment.name.clone()),
                ignore: Vec::new(),
            };
            let Ok(expected) = source.can_i_deploy(&query).await else {
                continue;
            };
            asked += 1;
            let found = target.can_i_deploy(&query).await?;
            if found.summary.deployable != expected.summary.deployable {
                let word = |answer: Option<bool>| match answer {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "cannot tell",
                };
                outcome.differences.push(format!(
                    "can-i-deploy {name} {} to {}: the source says {} ({}), this broker says {} ({})",
                    latest.number,
                    environment.name,
                    word(expected.summary.deployable),
                    expected.summary.reason,
                    word(found.summary.deployable),
                    found.summary.reason,
                ));
            }
        }
    }
    outcome.questions = format!("{asked} question{}", if asked == 1 { "" } else { "s" });
    Ok(outcome)
}
