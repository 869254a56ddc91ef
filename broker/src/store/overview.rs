//! Read models for the web UI: whole pages of data in a few queries, so that a
//! page costs the same handful of round trips with ten pacticipants or ten
//! thousand; and the state of the connection pool, for `/metrics`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Pacticipant, StoreError};

/// One page of the home page: pacticipants in name order, with the total count.
#[derive(Debug, Clone)]
pub struct PacticipantPage {
    /// How many pacticipants there are in all.
    pub total: i64,
    pub rows: Vec<PacticipantOverview>,
}

/// A pacticipant as the home page shows it.
#[derive(Debug, Clone)]
pub struct PacticipantOverview {
    pub pacticipant: Pacticipant,
    /// The number of its latest version, if it has any.
    pub latest_version: Option<String>,
    /// Its latest pact with each provider (as consumer), by provider name.
    pub latest_pacts: Vec<LatestPact>,
    /// The consumers that have published a pact with it as provider, by name.
    pub consumers: Vec<String>,
}

/// The latest pact of a consumer with one provider, and the latest verification
/// result of its content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatestPact {
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_name: String,
    pub consumer_version_number: String,
    pub created_at: DateTime<Utc>,
    /// `None` when the content has never been verified.
    pub success: Option<bool>,
}

/// A consumer depending on a provider (at least one pact between them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct Edge {
    pub consumer_name: String,
    pub provider_name: String,
}

/// The state of the database connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open, idle or in use.
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// The overview part of the [`Store`](super::Store).
#[async_trait]
pub trait OverviewStore: Send + Sync {
    /// Pacticipants `offset..offset + limit` in name order, each with its latest
    /// version, its latest pacts (with their verification status) and its
    /// consumers, and the total count. Four queries whatever the page size.
    async fn pacticipant_page(
        &self,
        offset: i64,
        limit: i64,
    ) -> Result<PacticipantPage, StoreError>;

    /// Every consumer-provider pair joined by a pact, or only those of `focus`
    /// (as consumer or provider); ordered by consumer and provider name.
    async fn network_edges(&self, focus: Option<i64>) -> Result<Vec<Edge>, StoreError>;

    /// The connection pool, read without touching the database.
    fn pool_state(&self) -> PoolState;
}

/// A row of the page query: the pacticipant and its latest version number.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PageRow {
    #[sqlx(flatten)]
    pub pacticipant: Pacticipant,
    pub latest_version: Option<String>,
}

/// A consumer of a provider on the page.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ConsumerRow {
    pub provider_id: i64,
    pub consumer_name: String,
}

/// Puts the rows of the three per-page queries together, keeping the page order.
pub(super) fn assemble(
    total: i64,
    rows: Vec<PageRow>,
    pacts: Vec<LatestPact>,
    consumers: Vec<ConsumerRow>,
) -> PacticipantPage {
    use std::collections::HashMap;
    let mut pacts_of: HashMap<i64, Vec<LatestPact>> = HashMap::new();
    for pact in pacts {
        pacts_of.entry(pact.consumer_id).or_default().push(pact);
    }
    let mut consumers_of: HashMap<i64, Vec<String>> = HashMap::new();
    for row in consumers {
        consumers_of
            .entry(row.provider_id)
            .or_default()
            .push(row.consumer_name);
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            let id = row.pacticipant.id;
            PacticipantOverview {
                latest_pacts: pacts_of.remove(&id).unwrap_or_default(),
                consumers: consumers_of.remove(&id).unwrap_or_default(),
                pacticipant: row.pacticipant,
                latest_version: row.latest_version,
            }
        })
        .collect();
    PacticipantPage { total, rows }
}

/// The page of pacticipants, as a common table expression the per-page queries
/// start with; `$1` is the limit and `$2` the offset. Each query selects the page
/// again rather than passing a list of ids, which the two backends bind differently;
/// the name index makes it cheap.
macro_rules! overview_page_cte {
    () => {
        "WITH page AS (SELECT id FROM pacticipants ORDER BY name LIMIT $1 OFFSET $2) "
    };
}
