//! Event drift as a service: sources are sampled in back-to-back windows of `every`; each
//! window's report is counted in `/metrics` (per event type and source), alerted once per
//! new finding and once on recovery, written to the report file and posted to the broker,
//! as the HTTP monitor's checks are.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tracing::{error, info};

use super::sources::{Limits, Source, sample};
use super::{EventContracts, EventRun};
use crate::alert::{AlertTracker, WebhookSender, WebhookSettings};
use crate::error::MonitorError;
use crate::metrics::MonitorMetrics;
use crate::publish::BrokerPublisher;
use crate::report::DriftReport;
use crate::service::write_report;

/// How the event service runs.
pub struct EventServiceConfig {
    /// The length of one sampling window (one report each).
    pub every: Duration,
    /// Keep at most this many events per second per source.
    pub sample_rate: Option<u32>,
    /// Explicit channel or type to message description mappings (see
    /// [`EventRun::with_mappings`]).
    pub mappings: Vec<(String, String)>,
    pub metrics_address: SocketAddr,
    pub serve: accord_net::ServeOptions,
    pub alert_webhook: Option<WebhookSettings>,
    pub report_path: Option<PathBuf>,
    pub previous_report: Option<DriftReport>,
    pub publisher: Option<BrokerPublisher>,
}

/// The running event drift service.
pub struct EventService {
    listener: TcpListener,
    port: u16,
    metrics: Arc<MonitorMetrics>,
    contracts: EventContracts,
    provider: String,
    environment: Option<String>,
    sources: Vec<Source>,
    config: EventServiceConfig,
    reports: broadcast::Sender<Arc<DriftReport>>,
}

impl EventService {
    /// Binds the metrics listener.
    pub async fn build(
        contracts: EventContracts,
        provider: String,
        environment: Option<String>,
        sources: Vec<Source>,
        config: EventServiceConfig,
    ) -> Result<Self, MonitorError> {
        let metrics_error = |source| MonitorError::Metrics {
            address: config.metrics_address.to_string(),
            source,
        };
        let listener = TcpListener::bind(config.metrics_address)
            .await
            .map_err(metrics_error)?;
        let port = listener.local_addr().map_err(metrics_error)?.port();
        let metrics = Arc::new(MonitorMetrics::new(&provider)?);
        let (reports, _) = broadcast::channel(16);
        Ok(EventService {
            listener,
            port,
            metrics,
            contracts,
            provider,
            environment,
            sources,
            config,
            reports,
        })
    }

    /// The port `/metrics` is served on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every window's report, once it was alerted, written and posted.
    pub fn reports(&self) -> broadcast::Receiver<Arc<DriftReport>> {
        self.reports.subscribe()
    }

    /// Samples window after window until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> Result<(), MonitorError> {
        let address = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let router = Router::new()
            .route(
                "/metrics",
                get(|State(metrics): State<Arc<MonitorMetrics>>| async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        metrics.render(),
                    )
                        .into_response()
                }),
            )
            .with_state(self.metrics.clone());
        let server = accord_net::serve(
            self.listener,
            router,
            self.config.serve,
            crate::service::shutdown_signal(),
        );
        let alerts = self
            .config
            .alert_webhook
            .clone()
            .map(WebhookSender::new)
            .transpose()?;
        let mut tracker = self
            .config
            .previous_report
            .as_ref()
            .map(AlertTracker::from_report)
            .unwrap_or_default();
        let names: Vec<String> = self.sources.iter().map(Source::describe).collect();
        let windows = async {
            info!(every = ?self.config.every, sources = names.len(), "event drift monitor running");
            loop {
                let mut run = EventRun::new(
                    self.contracts.clone(),
                    self.provider.clone(),
                    self.environment.clone(),
                    names.clone(),
                )
                .with_mappings(self.config.mappings.clone());
                let limits = Limits {
                    max_events: None,
                    max_wait: Some(self.config.every),
                    sample_rate: self.config.sample_rate,
                };
                sample(&self.sources, limits, &mut run).await;
                let report = run.report();
                self.metrics.record(&report, &[]);
                self.metrics.record_events(&report);
                let events = tracker.observe(&report);
                if let Some(sender) = &alerts {
                    for err in sender.deliver(&events, &report).await {
                        error!(error = %err, "alert not delivered");
                    }
                }
                if let Some(path) = &self.config.report_path
                    && let Err(err) = write_report(path, &report)
                {
                    error!(error = %err, "report not written");
                }
                if let Some(publisher) = &self.config.publisher
                    && let Err(err) = publisher.publish(&report, &self.metrics).await
                {
                    error!(error = %err, "report not posted to the broker");
                }
                let _ = self.reports.send(Arc::new(report));
            }
        };
        tokio::select! {
            served = server => served.map_err(|source| MonitorError::Metrics { address, source }),
            never = windows => never,
        }
    }
}
