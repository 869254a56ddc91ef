//! The SQLite store: the default, a single file with zero set-up.
//!
//! The database runs in WAL mode so readers never wait for the writer, and every
//! write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up
//! front, so two concurrent writers queue on the busy timeout instead of one of
//! them failing when it tries to upgrade a read lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::*;

/// The [`Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Unavailable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // An in-memory database exists per connection, so it must have exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(StoreError::Unavailable)?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Write transactions already run one at a time (`BEGIN IMMEDIATE`), so drift runs
    /// of one provider cannot interleave; nothing more to lock.
    async fn lock_drift_scope(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _provider_id: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

sql_store!(SqliteStore, sqlx::Sqlite);
