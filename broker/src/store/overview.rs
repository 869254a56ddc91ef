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

/// Implements [`OverviewStore`] for `$store` (expanded in `sqlite.rs` and `postgres.rs`; new areas use `shared/` instead).
macro_rules! overview_sql_store {
    ($store:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl super::overview::OverviewStore for $store {
            #[tracing::instrument(skip_all, fields(offset = offset, limit = limit), err)]
            async fn pacticipant_page(
                &self,
                offset: i64,
                limit: i64,
            ) -> Result<super::overview::PacticipantPage, StoreError> {
                // One read transaction, so the four queries see the same data.
                let mut tx = self.pool.begin().await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pacticipants")
                    .fetch_one(&mut *tx)
                    .await?;
                let rows: Vec<super::overview::PageRow> = sqlx::query_as(
                    "SELECT p.id, p.name, p.display_name, p.repository_url, p.repository_name, \
                     p.repository_namespace, p.main_branch, p.created_at, p.updated_at, \
                     (SELECT v.number FROM versions v WHERE v.pacticipant_id = p.id \
                      ORDER BY v.id DESC LIMIT 1) AS latest_version \
                     FROM pacticipants p ORDER BY p.name LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *tx)
                .await?;
                // A consumer version publishes at most one pact per provider, so the
                // latest pact of a pair is the one of its highest consumer version id.
                let pacts: Vec<super::overview::LatestPact> = sqlx::query_as(concat!(
                    overview_page_cte!(),
                    ", latest AS (SELECT cv.pacticipant_id AS consumer_id, pp.provider_id, \
                     MAX(pp.consumer_version_id) AS consumer_version_id \
                     FROM pact_publications pp JOIN versions cv ON cv.id = pp.consumer_version_id \
                     WHERE cv.pacticipant_id IN (SELECT id FROM page) \
                     GROUP BY cv.pacticipant_id, pp.provider_id) \
                     SELECT l.consumer_id, c.name AS consumer_name, pr.name AS provider_name, \
                     cv.number AS consumer_version_number, pp.created_at, \
                     (SELECT vr.success FROM verifications vr \
                      WHERE vr.pact_version_id = pp.pact_version_id \
                      ORDER BY vr.id DESC LIMIT 1) AS success \
                     FROM latest l \
                     JOIN pact_publications pp ON pp.consumer_version_id = l.consumer_version_id \
                      AND pp.provider_id = l.provider_id \
                     JOIN versions cv ON cv.id = pp.consumer_version_id \
                     JOIN pacticipants c ON c.id = l.consumer_id \
                     JOIN pacticipants pr ON pr.id = pp.provider_id \
                     ORDER BY c.name, pr.name"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *tx)
                .await?;
                let consumers: Vec<super::overview::ConsumerRow> = sqlx::query_as(concat!(
                    overview_page_cte!(),
                    "SELECT DISTINCT pv.provider_id, c.name AS consumer_name \
                     FROM pact_versions pv JOIN pacticipants c ON c.id = pv.consumer_id \
                     WHERE pv.provider_id IN (SELECT id FROM page) \
                     ORDER BY c.name"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(super::overview::assemble(total, rows, pacts, consumers))
            }

            #[tracing::instrument(skip_all, err)]
            async fn network_edges(
                &self,
                focus: Option<i64>,
            ) -> Result<Vec<super::overview::Edge>, StoreError> {
                let edges = match focus {
                    Some(id) => {
                        sqlx::query_as(
                            "SELECT DISTINCT c.name AS consumer_name, pr.name AS provider_name \
                             FROM pact_versions pv \
                             JOIN pacticipants c ON c.id = pv.consumer_id \
                             JOIN pacticipants pr ON pr.id = pv.provider_id \
                             WHERE pv.consumer_id = $1 OR pv.provider_id = $1 \
                             ORDER BY consumer_name, provider_name",
                        )
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?
                    }
                    None => {
                        sqlx::query_as(
                            "SELECT DISTINCT c.name AS consumer_name, pr.name AS provider_name \
                             FROM pact_versions pv \
                             JOIN pacticipants c ON c.id = pv.consumer_id \
                             JOIN pacticipants pr ON pr.id = pv.provider_id \
                             ORDER BY consumer_name, provider_name",
                        )
                        .fetch_all(&self.pool)
                        .await?
                    }
                };
                Ok(edges)
            }

            fn pool_state(&self) -> super::overview::PoolState {
                super::overview::PoolState {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.pool.options().get_max_connections(),
                }
            }
        }
    };
}
