//! Drift runs and findings: that part of the [`Store`](super::Store).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait DriftStore: Send + Sync {
    /// Stores a run of the drift monitor and, in the same transaction, updates the open
    /// findings of its provider and environment as [`crate::drift::reconcile`] decides.
    /// Runs of one provider are stored one at a time.
    async fn record_drift_run(&self, run: &NewDriftRun) -> Result<RecordedDriftRun, StoreError>;
    async fn drift_run(&self, id: i64) -> Result<Option<DriftRun>, StoreError>;
    /// The report of a run, as posted.
    async fn drift_run_report(&self, id: i64) -> Result<Option<Value>, StoreError>;
    /// Runs of a provider, newest first, `limit` of them after skipping `offset`.
    async fn drift_runs(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DriftRun>, StoreError>;
    async fn drift_run_count(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<i64, StoreError>;
    /// The latest applied run of a provider in each environment (and without one).
    async fn latest_drift_runs(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftRun>, StoreError>;
    /// The open findings of a provider, oldest first.
    async fn open_drift_findings(
        &self,
        provider_id: i64,
        environment: EnvironmentScope,
    ) -> Result<Vec<DriftFinding>, StoreError>;
}
