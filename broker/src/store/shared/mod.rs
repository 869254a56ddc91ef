//! Shared SQL written as plain, formatted Rust, compiled once for each backend.
//!
//! `sqlite.rs` and `postgres.rs` each name their store `Backend` and their sqlx
//! database `Db`, then declare this directory as a module with `#[path]`. Each file
//! here implements one store trait for `Backend` (`versions.rs`, `pacts.rs`,
//! `environments.rs`, `drift.rs`, `import.rs`, and [`Store`] itself below), so every
//! query is checked against both backends' encoders and decoders.
//!
//! What each backend supplies, in its own file:
//! - a `pool` field (`sqlx::Pool<Db>`) for reads;
//! - `begin_write()`, a write transaction opened the way the backend needs (SQLite:
//!   `BEGIN IMMEDIATE` on its one write connection; PostgreSQL: a pooled transaction);
//! - `push_in(query, values)`, an `IN` list in the backend's form (SQLite: `IN (?, …)`;
//!   PostgreSQL: `= ANY($1)`);
//! - `lock_drift_scope(tx, provider_id)`, which serialises drift runs of one provider,
//!   and `lock_versions_tx(tx, ids)`, which holds writes to a retention chunk's versions
//!   back while the chunk checks and deletes them;
//! - `names`, the cache of pacticipant names (see `store/names.rs`);
//! - the webhook worker's locks: `claimable_delivery_ids_tx` and `lock_requests_tx`
//!   (PostgreSQL: `FOR UPDATE SKIP LOCKED`), and `retention_lock` (one retention run
//!   across replicas).
//!
//! `helpers.rs` holds what the write methods share (finding or creating pacticipants,
//! versions, branches and tags inside a transaction) and `events.rs` how every write
//! commits: `commit(tx)` with its audit row, `emit_events_tx` into the outbox. Each
//! trait and its record types stay in `store/<area>.rs`; column lists used by several
//! queries are macros in `store/sql.rs` and in the area's file.

mod batch;
mod drift;
mod environments;
mod events;
mod helpers;
mod import;
mod ops;
mod overview;
mod pacts;
mod provider_contracts;
mod tokens;
mod versions;
mod webhooks;

use super::{Backend, Db};
use crate::store::{Store, StoreError};

pub(in crate::store) type Tx = sqlx::Transaction<'static, Db>;

/// The most values one `IN (...)` list binds; longer lists take several queries.
pub(in crate::store) const IN_LIST_CHUNK: usize = 500;

/// A pacticipant a write found or created.
pub(in crate::store) struct EnsuredPacticipant {
    pub(in crate::store) id: i64,
    /// Whether it has a main branch already (then none is detected).
    pub(in crate::store) has_main_branch: bool,
}

/// Branch names that become a pacticipant's main branch when none is configured.
pub(in crate::store) const MAIN_BRANCH_CANDIDATES: [&str; 3] = ["develop", "main", "master"];

/// How long after its creation a version's first tag also becomes its branch.
pub(in crate::store) const FIRST_TAG_AS_BRANCH_WINDOW: chrono::Duration =
    chrono::Duration::seconds(10);

#[async_trait::async_trait]
impl Store for Backend {
    #[tracing::instrument(skip_all, err)]
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
