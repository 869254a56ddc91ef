//! Reading a broker's history through the Pact Broker's public HAL API, the same way
//! from the source (any Pact Broker, PactFlow or Accord) and from the Accord broker
//! being imported into (to learn what it has already).
//!
//! Only relations and fields the Ruby broker serves are used: the index's
//! `pb:pacticipants`, `pb:environments` and `pb:latest-pact-versions`; each
//! pacticipant's `pb:versions` (followed page by page through `next`); each
//! integration's `/pacts/provider/P/consumer/C/versions`; the matrix of each
//! integration for its verification results; each environment's currently deployed
//! and supported versions; and `/webhooks`.

use std::collections::{BTreeMap, BTreeSet};

use accord_broker_client::{BrokerClient, BrokerError, HalDocument, links_in};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

/// The most pages one collection is followed through (a broker whose `next` link
/// never ends is not followed forever).
const MAX_PAGES: usize = 100_000;

/// Versions asked for per page.
const VERSIONS_PAGE: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Pacticipant {
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub labels: Vec<String>,
    pub created_at: Option<String>,
    /// Oldest first.
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: Option<String>,
    pub branches: BTreeSet<String>,
    pub tags: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
    pub created_at: Option<String>,
    pub deployed: Vec<Record>,
    pub released: Vec<Record>,
}

/// A current deployment or a supported release.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub uuid: String,
    pub pacticipant: String,
    pub version: String,
    pub application_instance: Option<String>,
    pub created_at: Option<String>,
}

/// A pact a consumer version published for a provider, not yet fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct PactListing {
    pub consumer_version: String,
    pub created_at: Option<String>,
    pub href: String,
}

/// A verification result of an integration, as the matrix shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRow {
    pub consumer_version: String,
    pub provider_version: String,
    pub success: bool,
    pub verified_at: String,
    pub href: String,
}

impl VerificationRow {
    /// What identifies a result across brokers: the consumer version whose pact it
    /// verified, its provider version, outcome and time (to the second, as brokers show
    /// it).
    pub fn key(&self) -> ResultKey {
        (
            self.consumer_version.clone(),
            self.provider_version.clone(),
            self.success,
            parse_time(&self.verified_at).map(|t| t.timestamp()),
        )
    }

    /// The result's number in its broker (`.../verification-results/N`), which orders
    /// results made in the same second.
    pub fn number(&self) -> u64 {
        self.href
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// What identifies a result across brokers (see [`VerificationRow::key`]).
pub type ResultKey = (String, String, bool, Option<i64>);

/// The pacts and results of one consumer and provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Integration {
    pub pacts: Vec<PactListing>,
    /// Each result once, with the first consumer version the matrix shows it for.
    pub verifications: Vec<VerificationRow>,
    /// The key of every row with a result: a result shared by several consumer
    /// versions (same content) is there once per version.
    pub result_keys: BTreeSet<ResultKey>,
}

/// Everything read from one broker, but the pact contents and the details of each
/// result, which are fetched only for what is copied.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub environments: Vec<Environment>,
    pub pacticipants: Vec<Pacticipant>,
    /// By (consumer, provider).
    pub integrations: BTreeMap<(String, String), Integration>,
}

impl History {
    pub fn pacticipant(&self, name: &str) -> Option<&Pacticipant> {
        self.pacticipants.iter().find(|p| p.name == name)
    }
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Names in `_embedded.<key>` of an item (`[{"name": ...}]`).
fn embedded_names(item: &Value, key: &str) -> Vec<String> {
    item.pointer(&format!("/_embedded/{key}"))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| text(i, "name")).collect())
        .unwrap_or_default()
}

/// Every item of a collection, following its `next` links.
pub async fn all_pages(
    client: &BrokerClient,
    href: &str,
    key: &str,
) -> Result<Vec<Value>, BrokerError> {
    let mut items = Vec::new();
    let mut next = Some(href.to_string());
    let mut seen = BTreeSet::new();
    while let Some(href) = next.take() {
        if !seen.insert(href.clone()) || seen.len() > MAX_PAGES {
            break;
        }
        let page = client.get(&href).await?;
        let found = page.embedded(key);
        let empty = found.is_empty();
        items.extend(found);
        if !empty {
            next = page.link("next").map(|link| link.href);
        }
    }
    Ok(items)
}

/// `href` with a query parameter added.
fn with_query(href: &str, query: &str) -> String {
    let separator = if href.contains('?') { '&' } else { '?' };
    format!("{href}{separator}{query}")
}

/// Reads a broker's history: environments (with what runs in them), pacticipants with
/// their versions, and each integration's pacts and results. The integrations are
/// `pairs` when given (an integration this broker lacks reads as empty), else every
/// one the broker lists. `concurrency` bounds the requests in flight; `progress` is
/// told each step.
pub async fn read(
    client: &BrokerClient,
    concurrency: usize,
    pairs: Option<&BTreeSet<(String, String)>>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<History, BrokerError> {
    let index = client.index().await?.clone();
    progress("environments");
    let environments = read_environments(client, &index).await?;
    progress("pacticipants and versions");
    let listed = all_pages(
        client,
        &index.require_link("pb:pacticipants")?.href,
        "pacticipants",
    )
    .await?;
    let pacticipants: Vec<Pacticipant> = futures::stream::iter(listed)
        .map(|item| read_pacticipant(client, item))
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    progress("pacts and verification results");
    let pairs = match pairs {
        Some(pairs) => pairs.clone(),
        None => integrations(client, &index).await?,
    };
    let integrations: Vec<((String, String), Integration)> = futures::stream::iter(pairs)
        .map(|(consumer, provider)| async move {
            let integration = read_integration(client, &consumer, &provider).await?;
            Ok::<_, BrokerError>(((consumer, provider), integration))
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(History {
        environments,
        pacticipants,
        integrations: integrations.into_iter().collect(),
    })
}

async fn read_environments(
    client: &BrokerClient,
    index: &HalDocument,
) -> Result<Vec<Environment>, BrokerError> {
    let Some(link) = index.link("pb:environments") else {
        // A broker from before environments existed.
        return Ok(Vec::new());
    };
    let mut environments = Vec::new();
    for item in all_pages(client, &link.href, "environments").await? {
        let (Some(uuid), Some(name)) = (text(&item, "uuid"), text(&item, "name")) else {
            continue;
        };
        let relation = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|name| links_in(&item, name).into_iter().next())
        };
        let deployed = match relation([
            "pb:currently-deployed-deployed-versions",
            "pb:currently-deployed-versions",
        ]) {
            Some(link) => all_pages(client, &link.href, "deployedVersions").await?,
            None => Vec::new(),
        };
        let released = match relation([
            "pb:currently-supported-released-versions",
            "pb:currently-supported-versions",
        ]) {
            Some(link) => all_pages(client, &link.href, "releasedVersions").await?,
            None => Vec::new(),
        };
        environments.push(Environment {
            uuid,
            name,
            display_name: text(&item, "displayName"),
            production: item
                .get("production")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            contacts: item.get("contacts").filter(|c| !c.is_null()).cloned(),
            created_at: text(&item, "createdAt"),
            deployed: deployed.iter().filter_map(record).collect(),
            released: released.iter().filter_map(record).collect(),
        });
    }
    Ok(environments)
}

fn record(item: &Value) -> Option<Record> {
    Some(Record {
        uuid: text(item, "uuid")?,
        pacticipant: item
            .pointer("/_embedded/pacticipant/name")
            .and_then(Value::as_str)?
            .to_string(),
        version: item
            .pointer("/_embedded/version/number")
            .and_then(Value::as_str)?
            .to_string(),
        application_instance: text(item, "applicationInstance").or_else(|| text(item, "target")),
        created_at: text(item, "createdAt"),
    })
}

async fn read_pacticipant(client: &BrokerClient, item: Value) -> Result<Pacticipant, BrokerError> {
    let name = text(&item, "name").unwrap_or_default();
    let mut versions = Vec::new();
    if let Some(link) = links_in(&item, "pb:versions").into_iter().next() {
        let first = with_query(
            &link.href,
            &format!("pageNumber=1&pageSize={VERSIONS_PAGE}"),
        );
        for version in all_pages(client, &first, "versions").await? {
            let Some(number) = text(&version, "number") else {
                continue;
            };
            let mut branches = embedded_names(&version, "branchVersions");
            if branches.is_empty() {
                branches = embedded_names(&version, "branches");
            }
            versions.push(Version {
                number,
                build_url: text(&version, "buildUrl"),
                created_at: text(&version, "createdAt"),
                branches: branches.into_iter().collect(),
                tags: embedded_names(&version, "tags").into_iter().collect(),
            });
        }
    }
    // Brokers list versions newest first; they are copied oldest first, so that the
    // latest version of each branch is the one added to it last.
    versions.reverse();
    versions.sort_by_key(|v| v.created_at.as_deref().and_then(parse_time));
    Ok(Pacticipant {
        display_name: text(&item, "displayName"),
        repository_url: text(&item, "repositoryUrl"),
        repository_name: text(&item, "repositoryName"),
        repository_namespace: text(&item, "repositoryNamespace"),
        main_branch: text(&item, "mainBranch"),
        labels: embedded_names(&item, "labels"),
        created_at: text(&item, "createdAt"),
        name,
        versions,
    })
}

/// Every (consumer, provider) pair with a pact, from the latest pact of each.
async fn integrations(
    client: &BrokerClient,
    index: &HalDocument,
) -> Result<BTreeSet<(String, String)>, BrokerError> {
    let href = index
        .link("pb:latest-pact-versions")
        .map_or_else(|| "/pacts/latest".to_string(), |link| link.href);
    let document = client.get(&href).await?;
    let items = match document.body().get("pacts") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    Ok(items
        .iter()
        .filter_map(|pact| {
            let consumer = pact.pointer("/_embedded/consumer/name")?.as_str()?;
            let provider = pact.pointer("/_embedded/provider/name")?.as_str()?;
            Some((consumer.to_string(), provider.to_string()))
        })
        .collect())
}

async fn read_integration(
    client: &BrokerClient,
    consumer: &str,
    provider: &str,
) -> Result<Integration, BrokerError> {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let listing = format!(
        "/pacts/provider/{}/consumer/{}/versions",
        enc(provider),
        enc(consumer)
    );
    let listed = match all_pages(client, &listing, "pacts").await {
        Ok(listed) => listed,
        // A broker that does not know the pair (yet) has nothing of it.
        Err(BrokerError::NotFound { .. }) => return Ok(Integration::default()),
        Err(error) => return Err(error),
    };
    let pacts = listed
        .iter()
        .filter_map(|item| {
            let consumer_version = item
                .pointer("/_embedded/consumerVersion/number")
                .and_then(Value::as_str)?
                .to_string();
            let href = links_in(item, "self").into_iter().next()?.href;
            Some(PactListing {
                consumer_version,
                created_at: text(item, "createdAt"),
                href,
            })
        })
        .collect();
    // Every row of the pair (no `latestby`), as many as the broker will give.
    let matrix = format!(
        "/matrix?q%5B%5D%5Bpacticipant%5D={}&q%5B%5D%5Bpacticipant%5D={}&limit=1000000",
        enc(consumer),
        enc(provider)
    );
    let rows = match client.get(&matrix).await?.body().get("matrix") {
        Some(Value::Array(rows)) => rows.clone(),
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut result_keys = BTreeSet::new();
    let verifications = rows
        .iter()
        .filter_map(|row| {
            let result = row.get("verificationResult").filter(|v| v.is_object())?;
            let href = links_in(result, "self").into_iter().next()?.href;
            if row.pointer("/consumer/name").and_then(Value::as_str) != Some(consumer) {
                return None;
            }
            Some(VerificationRow {
                consumer_version: row
                    .pointer("/consumer/version/number")?
                    .as_str()?
                    .to_string(),
                provider_version: row
                    .pointer("/provider/version/number")?
                    .as_str()?
                    .to_string(),
                success: result.get("success")?.as_bool()?,
                verified_at: text(result, "verifiedAt")?,
                href,
            })
        })
        // A result verifies content that several consumer versions may share: keep it
        // once, with the first consumer version showing it.
        .filter(|row: &VerificationRow| {
            result_keys.insert(row.key());
            seen.insert(row.href.clone())
        })
        .collect();
    Ok(Integration {
        pacts,
        verifications,
        result_keys,
    })
}

/// Every webhook, as the broker shows it (secrets masked).
pub async fn webhooks(client: &BrokerClient) -> Result<Vec<Value>, BrokerError> {
    let index = client.get("/webhooks").await?;
    let mut links = index.links("pb:webhooks");
    if links.is_empty() {
        links = index.links("webhooks");
    }
    let mut found = Vec::new();
    for link in links {
        found.push(client.get(&link.href).await?.into_body());
    }
    Ok(found)
}
