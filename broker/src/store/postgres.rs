//! The PostgreSQL store, for several broker replicas over one database.
//!
//! Every write is written to stay correct when another broker runs the same write
//! at the same moment: rows are created with `INSERT ... ON CONFLICT DO NOTHING`
//! followed by a read (which, under READ COMMITTED, sees the row the other
//! transaction committed), so two replicas publishing the same consumer version end
//! with one version and one pact, and neither fails.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

/// The [`Store`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(StoreError::Unavailable)?
            .application_name("accord-broker");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(StoreError::Unavailable)?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Serialises drift runs of one provider: both would otherwise read the same open
    /// findings and both insert a new one. `FOR NO KEY UPDATE` leaves rows that refer to
    /// the pacticipant (pacts, versions) free to be written meanwhile.
    async fn lock_drift_scope(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        provider_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM pacticipants WHERE id = $1 FOR NO KEY UPDATE")
            .bind(provider_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

sql_store!(PostgresStore, sqlx::Postgres);
