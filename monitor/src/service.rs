//! The monitor as a long-running service: a check every period, alerts on changes, the
//! latest report written to a file, and Prometheus metrics on `/metrics`.
//!
//! ```no_run
//! # async fn example(monitor: accord_monitor::Monitor) -> Result<(), accord_monitor::MonitorError> {
//! use std::time::Duration;
//! use accord_monitor::service::{Application, ServiceConfig};
//!
//! let config = ServiceConfig::new(Duration::from_secs(300), "127.0.0.1:0".parse().unwrap());
//! let app = Application::build(monitor, config).await?;
//! println!("metrics on port {}", app.port());
//! app.run_until_stopped().await
//! # }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::time::MissedTickBehavior;
use tracing::{error, info};

use crate::alert::{AlertTracker, WebhookSender, WebhookSettings};
use crate::error::MonitorError;
use crate::monitor::Monitor;
use crate::publish::BrokerPublisher;
use crate::report::DriftReport;

/// Reports kept for receivers that are a little behind.
const REPORT_BACKLOG: usize = 16;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Time between the starts of two checks (a check that overruns delays the next one
    /// rather than piling up).
    pub every: Duration,
    /// Where `/metrics` is served; port 0 picks a free port.
    pub metrics_address: SocketAddr,
    pub alert_webhook: Option<WebhookSettings>,
    /// Where the latest report is written as JSON after every check.
    pub report_path: Option<PathBuf>,
    /// The report of an earlier run (typically read back from `report_path`): its findings
    /// count as already alerted.
    pub previous_report: Option<DriftReport>,
    /// Where to post every report (the broker the pacts came from).
    pub publisher: Option<BrokerPublisher>,
    /// Connection limits of the metrics endpoint.
    pub serve: accord_net::ServeOptions,
}

impl ServiceConfig {
    pub fn new(every: Duration, metrics_address: SocketAddr) -> Self {
        Self {
            every,
            metrics_address,
            alert_webhook: None,
            report_path: None,
            previous_report: None,
            publisher: None,
            serve: accord_net::ServeOptions::default(),
        }
    }
}

/// A bound, ready-to-run service.
pub struct Application {
    listener: TcpListener,
    port: u16,
    monitor: Arc<Monitor>,
    every: Duration,
    alerts: Option<WebhookSender>,
    report_path: Option<PathBuf>,
    tracker: AlertTracker,
    reports: broadcast::Sender<Arc<DriftReport>>,
    publisher: Option<BrokerPublisher>,
    serve: accord_net::ServeOptions,
}

impl Application {
    /// Binds the metrics listener and prepares alert delivery.
    pub async fn build(monitor: Monitor, config: ServiceConfig) -> Result<Self, MonitorError> {
        let metrics_error = |source| MonitorError::Metrics {
            address: config.metrics_address.to_string(),
            source,
        };
        let listener = TcpListener::bind(config.metrics_address)
            .await
            .map_err(metrics_error)?;
        let port = listener.local_addr().map_err(metrics_error)?.port();
        let alerts = config.alert_webhook.map(WebhookSender::new).transpose()?;
        let (reports, _) = broadcast::channel(REPORT_BACKLOG);
        Ok(Self {
            listener,
            port,
            monitor: Arc::new(monitor),
            every: config.every,
            alerts,
            report_path: config.report_path,
            tracker: config
                .previous_report
                .as_ref()
                .map(AlertTracker::from_report)
                .unwrap_or_default(),
            reports,
            publisher: config.publisher,
            serve: config.serve,
        })
    }

    /// The port `/metrics` is served on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every report, sent after its check's alerts went out, its file was written and it
    /// was posted to the broker. A receiver that falls more than a few reports behind
    /// misses the oldest ones.
    pub fn reports(&self) -> broadcast::Receiver<Arc<DriftReport>> {
        self.reports.subscribe()
    }

    /// Runs until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> Result<(), MonitorError> {
        self.run_until(shutdown_signal()).await
    }

    /// Runs until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), MonitorError> {
        let address = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let router = Router::new()
            .route("/metrics", get(metrics))
            .with_state(self.monitor.clone());
        let server = accord_net::serve(self.listener, router, self.serve, shutdown);
        let checks = Arc::new(Checks {
            monitor: self.monitor,
            tracker: tokio::sync::Mutex::new(self.tracker),
            alerts: self.alerts,
            report_path: self.report_path,
            reports: self.reports,
            publisher: self.publisher,
        });
        let every = self.every;
        info!(%address, ?every, "drift monitor running");
        tokio::select! {
            served = server => served.map_err(|source| MonitorError::Metrics { address, source }),
            never = schedule(every, move || {
                // One check at a time: the loop awaits each before the next tick.
                let checks = checks.clone();
                async move { checks.run_once().await }
            }) => match never {},
        }
    }
}

/// The state carried from one check to the next.
struct Checks {
    monitor: Arc<Monitor>,
    tracker: tokio::sync::Mutex<AlertTracker>,
    alerts: Option<WebhookSender>,
    report_path: Option<PathBuf>,
    reports: broadcast::Sender<Arc<DriftReport>>,
    publisher: Option<BrokerPublisher>,
}

impl Checks {
    async fn run_once(&self) {
        {
            let report = self.monitor.check().await;
            let events = self.tracker.lock().await.observe(&report);
            if let Some(sender) = &self.alerts {
                // A failed alert is logged, not fatal: the metrics still show the drift.
                for err in sender.deliver(&events, &report).await {
                    error!(error = %err, "alert not delivered");
                }
            }
            if let Some(path) = &self.report_path
                && let Err(err) = write_report(path, &report)
            {
                error!(error = %err, "report not written");
            }
            // A broker that cannot be reached is logged and counted; the check stands.
            if let Some(publisher) = &self.publisher
                && let Err(err) = publisher.publish(&report, self.monitor.metrics()).await
            {
                error!(error = %err, "report not posted to the broker");
            }
            // Nobody listening is fine: the service runs without an audience too.
            let _ = self.reports.send(Arc::new(report));
        }
    }
}

/// Calls `tick` now and then once every `every`, never overlapping: a tick that overruns
/// delays the next one.
pub(crate) async fn schedule<F, Fut>(every: Duration, mut tick: F) -> std::convert::Infallible
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        tick().await;
    }
}

/// Reads a report written by [`write_report`]; `None` when the file does not exist yet.
pub fn read_report(path: &std::path::Path) -> Result<Option<DriftReport>, MonitorError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(MonitorError::ReadFile {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| MonitorError::ReadReport {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes the report as pretty JSON, through a temporary file so that a reader never sees
/// half a report.
pub fn write_report(path: &std::path::Path, report: &DriftReport) -> Result<(), MonitorError> {
    let error = |source| MonitorError::WriteReport {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(report).map_err(|err| error(err.into()))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

async fn metrics(State(monitor): State<Arc<Monitor>>) -> impl IntoResponse {
    monitor.metrics().update_circuits(&monitor.circuit_states());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        monitor.metrics().render(),
    )
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn checks_run_now_and_then_once_per_period() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let task = tokio::spawn(schedule(Duration::from_secs(300), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {}
        }));
        tokio::task::yield_now().await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(299)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        assert_eq!(count.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_secs(600)).await;
        tokio::task::yield_now().await;
        assert_eq!(count.load(Ordering::SeqCst), 4);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_check_delays_the_next_instead_of_piling_up() {
        let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = starts.clone();
        let origin = tokio::time::Instant::now();
        let task = tokio::spawn(schedule(Duration::from_secs(60), move || {
            recorded.lock().unwrap().push(origin.elapsed().as_secs());
            // Each check takes 90 s, longer than the period.
            tokio::time::sleep(Duration::from_secs(90))
        }));
        tokio::time::sleep(Duration::from_secs(300)).await;
        task.abort();
        let starts = starts.lock().unwrap().clone();
        assert_eq!(starts, vec![0, 90, 180, 270]);
    }
}
