//! The SQLite store: the default, a single file with zero set-up.
//!
//! The database runs in WAL mode so readers never wait for the writer, and every
//! write transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up
//! front, so two concurrent writers queue on the busy timeout instead of one of
//! them failing when it tries to upgrade a read lock.
//!
//! SQLite has one writer at a time, so the broker's own writes queue for one pooled
//! write connection: a waiting write starts the moment the one before commits. (On
//! SQLite's busy timeout alone, a write that found the lock taken polls it with
//! sleeps of 1, 2, 5, 10 ms and more: a request arriving just after a webhook
//! dispatch or another publish waited tens of milliseconds.) The busy timeout
//! remains for another process writing the same file.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::*;

/// The [`Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection write transactions use, so they queue in the order they
    /// asked (the same pool as `pool` for an in-memory database).
    writer: SqlitePool,
    /// When the last write began, for the checkpointer.
    writes: std::sync::Arc<WriteClock>,
    /// Pacticipant names by id (see [`super::names`]).
    names: super::names::NameCache,
    /// Held while this process runs retention (see [`OpsStore::run_retention`]).
    retention: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Copies the write-ahead log into the database file in the background; stops when
    /// the last clone of the store is dropped. `None` for an in-memory database.
    _checkpointer: Option<std::sync::Arc<Checkpointer>>,
}

/// The background task that checkpoints the write-ahead log, so that no request pays
/// for copying the log into the database file (SQLite's own automatic checkpoint runs
/// inside the commit that crosses its threshold, adding tens of milliseconds to that
/// one write). `PASSIVE` checkpoints never wait for readers or writers, but a commit
/// made while one runs waits for the disk behind the checkpoint's writes (its `fsync`
/// queues behind theirs): so the task checkpoints once the writes have paused for
/// [`CHECKPOINT_QUIET`], and during a long run of writes only every
/// [`CHECKPOINT_MAX_INTERVAL`], which bounds the log.
#[derive(Debug)]
struct Checkpointer(tokio::task::AbortHandle);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the checkpointer looks whether a checkpoint is due.
const CHECKPOINT_TICK: Duration = Duration::from_millis(100);

/// How long no write must have begun for the log to be checkpointed.
const CHECKPOINT_QUIET: Duration = Duration::from_millis(200);

/// The longest the log goes unchecked while writes keep coming.
const CHECKPOINT_MAX_INTERVAL: Duration = Duration::from_secs(5);

/// Whether a checkpoint is due, given how long ago the last write began (`None`: none
/// since the last checkpoint) and how long ago the last checkpoint ran.
fn checkpoint_due(since_write: Option<Duration>, since_checkpoint: Duration) -> bool {
    match since_write {
        None => false,
        Some(since_write) => {
            since_write >= CHECKPOINT_QUIET || since_checkpoint >= CHECKPOINT_MAX_INTERVAL
        }
    }
}

/// When the last write transaction began, in milliseconds since the store opened
/// (`u64::MAX`: none since the last checkpoint began).
#[derive(Debug)]
struct WriteClock {
    opened: std::time::Instant,
    last_write_ms: std::sync::atomic::AtomicU64,
}

impl WriteClock {
    const NONE: u64 = u64::MAX;

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn wrote(&self) {
        self.last_write_ms
            .store(self.now_ms(), std::sync::atomic::Ordering::Relaxed);
    }

    /// The last write (as read) and how long ago it began.
    fn last(&self) -> (u64, Option<Duration>) {
        let last = self
            .last_write_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let ago =
            (last != Self::NONE).then(|| Duration::from_millis(self.now_ms().saturating_sub(last)));
        (last, ago)
    }

    /// A checkpoint begins: forgets the write read as `last`, unless another has
    /// begun since (that one may commit after the checkpoint, so it stays due).
    fn checkpointing(&self, last: u64) {
        let _ = self.last_write_ms.compare_exchange(
            last,
            Self::NONE,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// The log size (in pages) at which a commit checkpoints by itself: only reached if
/// the background checkpoints fall behind, so the log stays bounded whatever happens.
const AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// How much of the database file reads may map (64 GiB, so all of any database this
/// broker serves); beyond it, each connection would read pages with a system call into
/// its own small page cache. SQLite caps the map at `SQLITE_MAX_MMAP_SIZE`, 2 GB unless
/// the build raises it: `.cargo/config.toml` sets it to 1 TiB.
const MMAP_SIZE: u64 = 64 * 1024 * 1024 * 1024;

/// Creates the database file readable by its owner only (0600; SQLite gives its
/// `-wal` and `-shm` files the same mode), as it holds webhook credentials and the
/// audit log. An existing file is left as the operator set it, with a warning when
/// others may read it: a backup job may read it on purpose.
fn owner_only(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        // Already there: checked below. Any other failure is SQLite's to report.
        if created.is_ok() {
            return;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = std::path::PathBuf::from(file);
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %file.display(),
                    mode = format!("{:o}", meta.permissions().mode() & 0o777),
                    "the database file may be read by other users of this machine; it holds \
                     webhook credentials: restrict it with `chmod 600` unless that is intended"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Unavailable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: each commit is on disk before the broker answers, so nothing it
            // acknowledged is lost to a power cut or an operating system crash (with
            // NORMAL, WAL mode may roll the last commits back after one).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads map the database file instead of copying each page through a
            // system call into every connection's own page cache: a pool of
            // connections then shares one (the operating system's) cache.
            .pragma("mmap_size", MMAP_SIZE.to_string())
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES.to_string());
        // An in-memory database exists per connection, so it must have exactly one.
        let in_memory = url.contains(":memory:");
        if !in_memory {
            // SQLite creates the file, not its directory; its own error ("unable to open
            // database file", code 14) names neither.
            let file = options.get_filename();
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
                && !dir.is_dir()
            {
                return Err(StoreError::Misconfigured {
                    fix: format!(
                        "the directory {} of the SQLite database {} does not exist: create it (mkdir -p {}) or give another path",
                        dir.display(),
                        file.display(),
                        dir.display()
                    ),
                    source: None,
                });
            }
            owner_only(file);
        }
        let max = if in_memory { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let writer = if in_memory {
            pool.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(StoreError::Unavailable)?
        };
        // A database just opened may hold a log from before (a crash, a bulk load):
        // it counts as written, so the first quiet moment checkpoints it.
        let writes = std::sync::Arc::new(WriteClock {
            opened: std::time::Instant::now(),
            last_write_ms: std::sync::atomic::AtomicU64::new(0),
        });
        let checkpointer = (!in_memory).then(|| {
            let pool = pool.clone();
            let writes = writes.clone();
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(CHECKPOINT_TICK);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut last_checkpoint = std::time::Instant::now();
                loop {
                    tick.tick().await;
                    if pool.is_closed() {
                        break;
                    }
                    let (last, since_write) = writes.last();
                    if !checkpoint_due(since_write, last_checkpoint.elapsed()) {
                        continue;
                    }
                    writes.checkpointing(last);
                    last_checkpoint = std::time::Instant::now();
                    if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                        .execute(&pool)
                        .await
                    {
                        writes.wrote();
                        tracing::warn!(error = %err, "checkpointing the SQLite write-ahead log failed; the next commit past {AUTOCHECKPOINT_PAGES} pages does it instead");
                    }
                }
            });
            std::sync::Arc::new(Checkpointer(task.abort_handle()))
        });
        Ok(Self {
            pool,
            writer,
            writes,
            names: Default::default(),
            retention: Default::default(),
            _checkpointer: checkpointer,
        })
    }

    /// Statements with a list of ids have one text per length of the list
    /// (`IN (?, ?, ...)`): kept out of the connection's statement cache, where they would
    /// push out the statements that repeat.
    const PERSIST_LIST_QUERIES: bool = false;

    /// Appends ` IN (?, ?, ...)` binding each value: a membership test of the column
    /// before it (`values` is never empty).
    fn push_in<T>(query: &mut sqlx::QueryBuilder<sqlx::Sqlite>, values: &[T])
    where
        T: Clone + for<'t> sqlx::Encode<'t, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    {
        query.push(" IN (");
        let mut list = query.separated(", ");
        for value in values {
            list.push_bind(value.clone());
        }
        list.push_unseparated(")");
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.writes.wrote();
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Write transactions already run one at a time (`BEGIN IMMEDIATE`), so drift runs
    /// of one provider cannot interleave; nothing more to lock.
    async fn lock_drift_scope(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _provider_id: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to lock: the caller's `BEGIN IMMEDIATE` transaction already excludes
    /// every other writer.
    async fn lock_versions_tx(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _version_ids: &[i64],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The deliveries due at `now_ms` and not leased to a live worker. The caller's
    /// `BEGIN IMMEDIATE` transaction already excludes every other writer, so no
    /// row locks are needed for two brokers to claim different deliveries.
    async fn claimable_delivery_ids_tx(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE status IN ('pending', 'retrying') \
             AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) \
             ORDER BY next_attempt_ms, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// Nothing to lock: the caller's `BEGIN IMMEDIATE` transaction already excludes
    /// every other writer.
    async fn lock_requests_tx(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The shared SQL of `shared/`, compiled for this backend.
type Backend = SqliteStore;
type Db = sqlx::Sqlite;
#[allow(clippy::duplicate_mod)] // deliberately: once per backend, see `shared/mod.rs`
#[path = "shared/mod.rs"]
mod shared;

/// Retention's single-runner rule on SQLite (see [`ops::OpsStore::run_retention`]).
impl SqliteStore {
    /// One retention run at a time in this process; a second is refused rather than
    /// left waiting on the write lock. (Replicas on one SQLite file are not supported.)
    fn retention_guard(&self) -> Option<ops::RetentionGuard> {
        let guard = self.retention.clone().try_lock_owned().ok()?;
        Some(ops::RetentionGuard { _held: Some(guard) })
    }

    /// Nothing more to hold: the guard above keeps a second run of this process out,
    /// and each chunk of a run is its own `BEGIN IMMEDIATE` transaction.
    async fn retention_lock(&self) -> Result<Option<()>, StoreError> {
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {

    #[tokio::test]
    async fn a_missing_directory_is_named_with_the_fix() {
        let Err(err) = SqliteStore::connect("sqlite:///no-such-accord-dir/sub/accord.db").await
        else {
            panic!("the directory is missing, yet the store opened");
        };
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert!(
            text.contains("the directory /no-such-accord-dir/sub of the SQLite database"),
            "{text}"
        );
        assert!(text.contains("mkdir -p /no-such-accord-dir/sub"), "{text}");
    }

    use super::*;

    /// The log is checkpointed once writes pause, or after the longest interval while
    /// they keep coming, and never when nothing was written since the last checkpoint.
    #[test]
    fn checkpoints_wait_for_a_pause_in_the_writes() {
        let ms = Duration::from_millis;
        assert!(
            !checkpoint_due(None, Duration::from_secs(3600)),
            "nothing written"
        );
        assert!(!checkpoint_due(Some(ms(10)), ms(300)), "writes are coming");
        assert!(
            checkpoint_due(Some(CHECKPOINT_QUIET), ms(300)),
            "writes paused"
        );
        assert!(
            checkpoint_due(Some(ms(10)), CHECKPOINT_MAX_INTERVAL),
            "writes kept coming for the longest interval"
        );
    }

    /// A write that begins while a checkpoint starts is not forgotten by it.
    #[test]
    fn a_write_racing_a_checkpoint_stays_due() {
        let clock = WriteClock {
            opened: std::time::Instant::now() - Duration::from_secs(5),
            last_write_ms: std::sync::atomic::AtomicU64::new(0),
        };
        let (seen, ago) = clock.last();
        assert!(ago.unwrap() >= Duration::from_secs(5));
        clock.checkpointing(seen);
        assert_eq!(clock.last().1, None, "the write seen is checkpointed");
        clock.wrote();
        let (seen, _) = clock.last();
        clock
            .last_write_ms
            .store(seen + 1, std::sync::atomic::Ordering::Relaxed);
        clock.checkpointing(seen);
        assert!(clock.last().1.is_some(), "the newer write stays due");
    }

    /// Once writes pause, the log is copied into the database file in the background.
    #[tokio::test]
    async fn the_log_is_checkpointed_after_writes_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        tokio::time::sleep(CHECKPOINT_QUIET + 3 * CHECKPOINT_TICK).await;
        let before = std::fs::metadata(&path).unwrap().len();
        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO pacticipants (name, display_name, created_at, updated_at) VALUES ('a', $1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
            .bind("x".repeat(1 << 20))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            before,
            "the commit went to the log"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        // Most of the 1 MB lands in new pages (a few may reuse free ones).
        while std::fs::metadata(&path).unwrap().len() < before + (1 << 19) {
            assert!(
                std::time::Instant::now() < deadline,
                "the log was not checkpointed"
            );
            tokio::time::sleep(CHECKPOINT_TICK).await;
        }
    }

    /// Every pooled connection commits with `synchronous = FULL` (2): a commit the
    /// broker has answered for is on disk.
    #[tokio::test]
    async fn every_connection_commits_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("broker.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let mut held = Vec::new();
        for pool in [&store.pool, &store.pool, &store.pool, &store.writer] {
            let mut connection = pool.acquire().await.unwrap();
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            assert_eq!(level, 2, "synchronous is not FULL");
            held.push(connection);
        }
    }

    /// Reads map the whole database file: the map is not capped at SQLite's 2 GB
    /// default (the bundled SQLite is built with a higher cap, `.cargo/config.toml`).
    #[tokio::test]
    async fn reads_map_the_whole_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("broker.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        for pool in [&store.pool, &store.writer] {
            let mut connection = pool.acquire().await.unwrap();
            let size: i64 = sqlx::query_scalar("PRAGMA mmap_size")
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            assert_eq!(
                size as u64, MMAP_SIZE,
                "the map is capped below MMAP_SIZE: is LIBSQLITE3_FLAGS set?"
            );
        }
    }

    /// A write transaction asked for while another is open waits for it in the
    /// broker (it is not started against SQLite's lock), then starts and commits.
    #[tokio::test]
    async fn writes_queue_for_the_write_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("broker.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let first = store.begin_write().await.unwrap();
        assert_eq!(
            store.writer.num_idle(),
            0,
            "the open write holds the write connection"
        );
        let second = tokio::spawn({
            let store = store.clone();
            async move {
                let mut tx = store.begin_write().await.unwrap();
                sqlx::query("INSERT INTO pacticipants (name, created_at, updated_at) VALUES ('b', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second write did not wait");
        assert_eq!(store.writer.size(), 1, "writes share one connection");
        first.commit().await.unwrap();
        second.await.unwrap();
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM pacticipants")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(names, ["b"]);
    }
}
