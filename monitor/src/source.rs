//! Where pacts come from: files, or a broker (the pacts a provider must satisfy).

use std::path::Path;

use accord_broker_client::{BrokerClient, ConsumerVersionSelector, PactsForVerificationRequest};
use accord_contract::Contract;
use tracing::info;

use crate::error::MonitorError;

/// Loads pact files.
pub fn pacts_from_files(paths: &[impl AsRef<Path>]) -> Result<Vec<Contract>, MonitorError> {
    paths
        .iter()
        .map(|path| Contract::from_file(path).map_err(MonitorError::from))
        .collect()
}

/// The consumer version selectors the monitor asks the broker for: what is deployed or
/// released in `environment`, or else the consumers' main branches and everything deployed
/// or released anywhere.
pub fn selectors(environment: Option<&str>) -> Vec<ConsumerVersionSelector> {
    match environment {
        Some(environment) => vec![ConsumerVersionSelector {
            environment: Some(environment.to_string()),
            ..ConsumerVersionSelector::default()
        }],
        None => vec![
            ConsumerVersionSelector::main_branch(),
            ConsumerVersionSelector::deployed_or_released(),
        ],
    }
}

/// Fetches the pacts `provider` must satisfy from a broker ("pacts for verification").
/// Pending and work-in-progress pacts are left out: no consumer relies on them in
/// production yet.
pub async fn pacts_from_broker(
    client: &BrokerClient,
    provider: &str,
    environment: Option<&str>,
) -> Result<Vec<Contract>, MonitorError> {
    let request = PactsForVerificationRequest {
        consumer_version_selectors: selectors(environment),
        include_pending_status: true,
        ..PactsForVerificationRequest::default()
    };
    let listed = client.pacts_for_verification(provider, &request).await?;
    let mut contracts: Vec<Contract> = Vec::new();
    for pact in listed.iter().filter(|pact| !pact.pending && !pact.wip) {
        let fetched = client.fetch_pact(&pact.href).await?;
        let contract = Contract::from_json(fetched.json, &fetched.url)?;
        if !contracts
            .iter()
            .any(|known| known.content_hash() == contract.content_hash())
        {
            contracts.push(contract);
        }
    }
    info!(
        provider,
        listed = listed.len(),
        monitored = contracts.len(),
        "pacts fetched from the broker"
    );
    if contracts.is_empty() {
        return Err(MonitorError::NoPactsInBroker {
            provider: provider.to_string(),
            environment: environment.map(str::to_string),
            pending: listed.len(),
        });
    }
    Ok(contracts)
}
