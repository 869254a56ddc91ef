//! Loading the pacts to verify from files, folders, URLs and brokers.

use std::panic::RefUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord_broker_client::{
    BrokerClient, BrokerClientConfig, BrokerError, FetchedPact, PactsForVerificationRequest,
    VerificationNotice,
};
use accord_contract::Contract;
use futures::future::try_join_all;
use pact_models::pact::Pact;
use tracing::{debug, warn};
use url::Url;

use crate::error::VerifyError;
use crate::options::{BrokerSource, PactSource, VerifyOptions};

/// A pact ready to verify, with what is known about why and where from.
pub(crate) struct LoadedPact {
    pub consumer: String,
    pub provider: String,
    /// A file path or URL, for the report.
    pub source: String,
    pub pact: Box<dyn Pact + Send + Sync + RefUnwindSafe>,
    /// Set when the pact came from a broker that accepts results for it.
    pub broker: Option<BrokerPact>,
    pub pending: bool,
    pub wip: bool,
    /// Why the broker selected it ("latest from main branch, deployed to production").
    pub selection: Option<String>,
    pub notices: Vec<VerificationNotice>,
}

/// What is needed to publish results for a pact fetched from a broker.
pub(crate) struct BrokerPact {
    pub client: Arc<BrokerClient>,
    pub fetched: FetchedPact,
}

/// Loads every source, in order. The first failure stops the run: verifying only part of
/// what was asked for would give CI an answer it cannot trust.
pub(crate) async fn load_all(options: &VerifyOptions) -> Result<Vec<LoadedPact>, VerifyError> {
    let mut pacts = Vec::new();
    for source in &options.sources {
        match source {
            PactSource::File(path) => pacts.push(from_file(path)?),
            PactSource::Dir(path) => pacts.extend(from_dir(path, &options.provider)?),
            PactSource::Url { url, auth } => {
                let config = BrokerClientConfig::new(origin_of(url))
                    .with_auth(auth.clone())
                    .with_url_flag("--pact-url");
                let client = Arc::new(client(config)?);
                pacts.push(from_url(&client, url.as_str(), None).await?);
            }
            PactSource::Broker(broker) => pacts.extend(from_broker(broker, options).await?),
        }
    }
    if !options.filter.consumers.is_empty() {
        pacts.retain(|pact| options.filter.consumers.contains(&pact.consumer));
    }
    if pacts.is_empty() && !options.ignore_no_pacts {
        return Err(VerifyError::NoPacts {
            provider: options.provider.clone(),
            sources: describe_sources(options),
        });
    }
    Ok(pacts)
}

fn from_contract(contract: Contract, source: String) -> LoadedPact {
    let consumer = contract.consumer().to_string();
    let provider = contract.provider().to_string();
    LoadedPact {
        consumer,
        provider,
        source,
        pact: contract.into_pact(),
        broker: None,
        pending: false,
        wip: false,
        selection: None,
        notices: Vec::new(),
    }
}

fn from_file(path: &Path) -> Result<LoadedPact, VerifyError> {
    let contract = Contract::from_file(path)?;
    Ok(from_contract(contract, path.display().to_string()))
}

fn from_dir(dir: &Path, provider: &str) -> Result<Vec<LoadedPact>, VerifyError> {
    let mut files = Vec::new();
    collect_json_files(dir, &mut files)?;
    files.sort();
    let mut pacts = Vec::new();
    for file in files {
        let pact = from_file(&file)?;
        if pact.provider == provider {
            pacts.push(pact);
        } else {
            debug!(file = %file.display(), pact_provider = %pact.provider, "skipping a pact for another provider");
        }
    }
    Ok(pacts)
}

fn collect_json_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), VerifyError> {
    let read_error = |source| VerifyError::PactDir {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            collect_json_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    Ok(())
}

async fn from_url(
    client: &Arc<BrokerClient>,
    href: &str,
    selected: Option<&accord_broker_client::PactForVerification>,
) -> Result<LoadedPact, VerifyError> {
    let fetched = client
        .fetch_pact(href)
        .await
        .map_err(|source| VerifyError::Broker {
            action: format!("fetching the pact {href}"),
            source,
        })?;
    let contract = Contract::from_json(fetched.json.clone(), &fetched.url)?;
    let mut pact = from_contract(contract, fetched.url.clone());
    if let Some(selected) = selected {
        pact.pending = selected.pending;
        pact.wip = selected.wip;
        pact.selection = Some(selected.short_description.clone());
        pact.notices = selected.notices.clone();
    }
    if fetched.can_publish_results() {
        pact.broker = Some(BrokerPact {
            client: Arc::clone(client),
            fetched,
        });
    }
    Ok(pact)
}

async fn from_broker(
    broker: &BrokerSource,
    options: &VerifyOptions,
) -> Result<Vec<LoadedPact>, VerifyError> {
    let client = Arc::new(client(broker.client.clone())?);
    let request = PactsForVerificationRequest {
        consumer_version_selectors: broker.selectors.clone(),
        provider_version_branch: options.provider_branch.clone(),
        provider_version_tags: options.provider_tags.clone(),
        include_pending_status: broker.enable_pending,
        include_wip_pacts_since: broker.include_wip_pacts_since.clone(),
    };
    if request.include_wip_pacts_since.is_some()
        && request.provider_version_branch.is_none()
        && request.provider_version_tags.is_empty()
    {
        warn!("--include-wip-pacts-since has no effect without --provider-branch");
    }
    let selected = client
        .pacts_for_verification(&options.provider, &request)
        .await
        .map_err(|source| VerifyError::Broker {
            action: format!(
                "asking the broker at {} which pacts {:?} must verify",
                without_password(&broker.client.base_url),
                options.provider
            ),
            source,
        })?;
    debug!(
        count = selected.len(),
        "the broker selected pacts to verify"
    );
    try_join_all(
        selected
            .iter()
            .map(|item| from_url(&client, &item.href, Some(item))),
    )
    .await
}

fn client(config: BrokerClientConfig) -> Result<BrokerClient, VerifyError> {
    let url = without_password(&config.base_url);
    BrokerClient::new(config).map_err(|source: BrokerError| VerifyError::Broker {
        action: format!("preparing a client for {url}"),
        source,
    })
}

/// The scheme, host and port of a URL: the broker a pact URL belongs to.
fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

fn describe_sources(options: &VerifyOptions) -> String {
    options
        .sources
        .iter()
        .map(|source| match source {
            PactSource::File(path) => path.display().to_string(),
            PactSource::Dir(path) => format!("folder {}", path.display()),
            PactSource::Url { url, .. } => without_password(url),
            PactSource::Broker(broker) => format!(
                "the broker at {}",
                without_password(&broker.client.base_url)
            ),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A URL as it may be shown: credentials written into it are hidden.
fn without_password(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only URLs that cannot hold credentials refuse this, and they have none.
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        let url = Url::parse("https://ci:s3cret@broker.example/pacts").unwrap();
        assert_eq!(
            without_password(&url),
            "https://ci:***@broker.example/pacts"
        );
    }
}
