//! Posting reports to the broker the pacts came from, so the broker shows the current
//! drift and can-i-deploy takes it into account.

use std::sync::Arc;

use accord_broker_client::{BrokerClient, PublishedDriftRun};
use tracing::{info, instrument, warn};

use crate::error::MonitorError;
use crate::metrics::MonitorMetrics;
use crate::report::DriftReport;

/// Posts each report to a broker (Accord's broker: `accord:drift`).
///
/// A post that fails is counted in `accord_monitor_broker_reports_total{outcome="failed"}`
/// and returned as an error for the caller to log; it says nothing about the provider,
/// so it never changes a check's outcome.
#[derive(Debug, Clone)]
pub struct BrokerPublisher {
    client: Arc<BrokerClient>,
}

impl BrokerPublisher {
    /// Posts through `client`, with its retry policy. The broker recognises a report
    /// posted twice, so retries are safe.
    pub fn new(client: Arc<BrokerClient>) -> Self {
        Self { client }
    }

    /// Posts one report and counts the outcome.
    #[instrument(skip_all, fields(provider = %report.provider), err(level = "debug"))]
    pub async fn publish(
        &self,
        report: &DriftReport,
        metrics: &MonitorMetrics,
    ) -> Result<PublishedDriftRun, MonitorError> {
        let result = match serde_json::to_value(report) {
            Ok(json) => self
                .client
                .publish_drift_report(&json)
                .await
                .map_err(MonitorError::PublishReport),
            Err(err) => Err(MonitorError::EncodeReport(err)),
        };
        metrics.record_broker_report(result.is_ok());
        match &result {
            Ok(run) => info!(
                run = run.id,
                new = run.new.len(),
                resolved = run.resolved.len(),
                open = run.open.len(),
                "report posted to the broker"
            ),
            Err(err) => warn!(error = %err, "report not posted to the broker"),
        }
        result
    }
}
