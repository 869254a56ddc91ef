//! [`OverviewStore`] for both backends (the trait and its types are in `store/overview.rs`).

use super::super::Backend;
use crate::store::*;

#[async_trait::async_trait]
impl crate::store::overview::OverviewStore for Backend {
    #[tracing::instrument(skip_all, fields(offset = offset, limit = limit), err)]
    async fn pacticipant_page(
        &self,
        offset: i64,
        limit: i64,
    ) -> Result<crate::store::overview::PacticipantPage, StoreError> {
        // One read transaction, so the four queries see the same data.
        let mut tx = self.pool.begin().await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pacticipants")
            .fetch_one(&mut *tx)
            .await?;
        let rows: Vec<crate::store::overview::PageRow> = sqlx::query_as(
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
        let pacts: Vec<crate::store::overview::LatestPact> = sqlx::query_as(concat!(
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
        let consumers: Vec<crate::store::overview::ConsumerRow> = sqlx::query_as(concat!(
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
        Ok(crate::store::overview::assemble(
            total, rows, pacts, consumers,
        ))
    }

    #[tracing::instrument(skip_all, err)]
    async fn network_edges(
        &self,
        focus: Option<i64>,
    ) -> Result<Vec<crate::store::overview::Edge>, StoreError> {
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

    fn pool_state(&self) -> crate::store::overview::PoolState {
        crate::store::overview::PoolState {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}
