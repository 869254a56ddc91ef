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
    /// Pacticipant names by id (see [`super::names`]).
    names: super::names::NameCache,
}

/// A database that does not exist (SQLSTATE 3D000) is a configuration mistake with a
/// known fix; anything else while connecting means the server is unavailable.
fn missing_database(error: sqlx::Error, options: &PgConnectOptions) -> StoreError {
    let missing =
        matches!(&error, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"));
    if !missing {
        return StoreError::Unavailable(error);
    }
    let name = options.get_database().unwrap_or("postgres");
    StoreError::Misconfigured {
        fix: format!(
            "the PostgreSQL database {name:?} does not exist on {host}:{port}: create it \
             (createdb -h {host} -p {port} -U {user} {name}, or CREATE DATABASE \"{name}\" in psql) \
             or point --database-url at one that exists",
            host = options.get_host(),
            port = options.get_port(),
            user = options.get_username(),
        ),
        source: Some(error),
    }
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
            .connect_with(options.clone())
            .await
            .map_err(|error| missing_database(error, &options))?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            names: Default::default(),
        })
    }

    /// Statements with a list of ids keep one text for every length of the list
    /// (`= ANY($n)`), so each is prepared once per connection and its later runs skip
    /// parsing and a round trip.
    const PERSIST_LIST_QUERIES: bool = true;

    /// Appends ` = ANY($n)` binding the values as one array: a membership test of the
    /// column before it. One parameter however long the list, so the statement text
    /// stays short and the same for every length.
    fn push_in<T>(query: &mut sqlx::QueryBuilder<sqlx::Postgres>, values: &[T])
    where
        T: Clone
            + sqlx::postgres::PgHasArrayType
            + for<'t> sqlx::Encode<'t, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        query.push(" = ANY(").push_bind(values.to_vec()).push(")");
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

    /// Locks versions a retention chunk is about to check and delete: a write that
    /// refers to one of them (a deployment, a tag, a publication) waits for the chunk,
    /// or the chunk for it, so the check sees every write it could miss otherwise.
    async fn lock_versions_tx(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        version_ids: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM versions WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(version_ids)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The deliveries due at `now_ms` and not leased to a live worker, locked for
    /// this transaction. `SKIP LOCKED` lets two brokers claiming at once take
    /// different deliveries instead of waiting for each other.
    async fn claimable_delivery_ids_tx(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE status IN ('pending', 'retrying') \
             AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) \
             ORDER BY next_attempt_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// Keeps other brokers from writing webhooks and deliveries (reads go on) until
    /// the transaction ends, so a request rewritten at start is not one another
    /// broker changed meanwhile.
    async fn lock_requests_tx(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<(), StoreError> {
        sqlx::query("LOCK TABLE webhooks, webhook_deliveries IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// The shared SQL of `shared/`, compiled for this backend.
type Backend = PostgresStore;
type Db = sqlx::Postgres;
#[allow(clippy::duplicate_mod)] // deliberately: once per backend, see `shared/mod.rs`
#[path = "shared/mod.rs"]
mod shared;

/// Retention's single-runner rule on PostgreSQL (see [`ops::OpsStore::run_retention`]).
impl PostgresStore {
    /// Retention is serialised across replicas by [`Self::retention_lock`].
    fn retention_guard(&self) -> Option<ops::RetentionGuard> {
        Some(ops::RetentionGuard { _held: None })
    }

    /// Takes the retention advisory lock in a transaction of its own, held for the
    /// whole run (its chunks commit on other connections); `None` when another run (on
    /// any replica) holds it. Dropping the transaction, or losing its connection,
    /// releases it, so a crashed run never blocks the next one.
    async fn retention_lock(
        &self,
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Postgres>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(ops::RETENTION_LOCK_KEY)
            .fetch_one(&mut *tx)
            .await?;
        Ok(locked.then_some(tx))
    }
}
