//! Retention: deleting what the broker no longer needs, while keeping what matters.
//!
//! [`RetentionConfig`] says what to keep; [`run`] turns it into absolute
//! [`RetentionRules`] and asks the store to delete the rest, planned with reads and
//! deleted in small chunks (see [`OpsStore::run_retention`] for the rules). Runs come from the API
//! (`POST /admin/retention`, which also answers dry runs) or from the [`Schedule`]
//! when `interval` is set. Only one run happens at a time, across replicas too: a
//! second one is refused (409 from the API, a log line from the schedule).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::store::events::{Actor, with_actor};
use crate::store::ops::{RetentionOutcome, RetentionRules};
use crate::store::{Store, StoreError};

/// What retention keeps, and how often it runs on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Versions younger than this are always kept.
    pub max_age: Duration,
    /// The latest this many versions of every branch are kept (the head at least).
    pub keep_latest_per_branch: u32,
    /// At most this many versions are deleted by one run; the next run carries on.
    pub deletion_limit: u32,
    /// Audit entries older than this are deleted by a run; `None` keeps them all.
    pub audit_max_age: Option<Duration>,
    /// Drift runs older than this are deleted by a run (never the latest of a
    /// provider and environment); `None` keeps them all.
    pub drift_run_max_age: Option<Duration>,
    /// Run on this interval in the background; `None` (the default) only runs when
    /// asked through the API.
    pub interval: Option<Duration>,
}

const DAY: u64 = 24 * 60 * 60;

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(90 * DAY),
            keep_latest_per_branch: 10,
            deletion_limit: 500,
            audit_max_age: Some(Duration::from_secs(365 * DAY)),
            drift_run_max_age: Some(Duration::from_secs(90 * DAY)),
            interval: None,
        }
    }
}

impl RetentionConfig {
    /// The rules of a run starting now.
    pub fn rules(&self) -> RetentionRules {
        let now = crate::store::now();
        let before = |age: Duration| {
            // An age too large for a date means "keep everything".
            chrono::Duration::from_std(age)
                .ok()
                .and_then(|age| now.checked_sub_signed(age))
                .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
        };
        RetentionRules {
            keep_versions_since: before(self.max_age),
            keep_latest_per_branch: i64::from(self.keep_latest_per_branch.max(1)),
            deletion_limit: i64::from(self.deletion_limit.max(1)),
            delete_audit_before: self.audit_max_age.map(before),
            delete_drift_runs_before: self.drift_run_max_age.map(before),
        }
    }
}

/// Runs retention once with `config`; `None` when another run is in progress.
pub async fn run(
    store: &dyn Store,
    config: &RetentionConfig,
    dry_run: bool,
) -> Result<Option<RetentionOutcome>, StoreError> {
    let outcome = store.run_retention(&config.rules(), dry_run).await?;
    if let Some(outcome) = &outcome {
        tracing::info!(
            dry_run,
            versions = outcome.versions.len(),
            more_remaining = outcome.more_remaining,
            pact_publications = outcome.pact_publications,
            pact_versions = outcome.pact_versions,
            verifications = outcome.verifications,
            audit_entries = outcome.audit_entries,
            drift_runs = outcome.drift_runs,
            "retention run finished"
        );
    }
    Ok(outcome)
}

/// The background schedule, started with the server when an interval is set.
pub struct Schedule {
    store: Arc<dyn Store>,
    config: RetentionConfig,
}

/// A started [`Schedule`].
pub struct RunningSchedule {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Schedule {
    pub fn new(store: Arc<dyn Store>, config: RetentionConfig) -> Self {
        Self { store, config }
    }

    /// Starts the schedule (nothing when no interval is configured). The first run
    /// comes one interval after the start, not at once.
    pub fn start(self) -> RunningSchedule {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = self.config.interval.map(|interval| {
            tokio::spawn(async move {
                let start = tokio::time::Instant::now() + interval;
                let mut ticks = tokio::time::interval_at(start, interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stopped.changed() => break,
                        _ = ticks.tick() => {}
                    }
                    // Scheduled runs are audited like the API's, under their own name.
                    let actor = Actor {
                        name: "retention-schedule".into(),
                        method: "POST".into(),
                        path: "/admin/retention".into(),
                        request_id: None,
                        traceparent: None,
                    };
                    let run = run(self.store.as_ref(), &self.config, false);
                    tokio::select! {
                        _ = stopped.changed() => break,
                        result = with_actor(actor, run) => match result {
                            Ok(Some(_)) => {}
                            Ok(None) => tracing::info!("retention skipped: another run is in progress"),
                            Err(err) => tracing::warn!(error = %err, "retention run failed; retrying at the next interval"),
                        },
                    }
                }
            })
        });
        RunningSchedule { stop, task }
    }
}

impl RunningSchedule {
    /// Stops the schedule; a run in progress is abandoned (its transaction rolls back).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
