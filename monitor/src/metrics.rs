//! Prometheus metrics of a running monitor: checks, open findings by class, probe errors,
//! probe latency and circuit state. One registry per monitor (no global state), rendered
//! in the text exposition format by [`MonitorMetrics::render`].

use std::collections::HashMap;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::circuit::CircuitState;
use crate::error::MonitorError;
use crate::report::{DriftReport, FindingClass, Outcome, ProbeErrorKind};

/// The monitor's metrics, all prefixed `accord_monitor_` and labelled with the provider.
#[derive(Debug, Clone)]
pub struct MonitorMetrics {
    registry: Registry,
    checks: IntCounterVec,
    findings: IntGaugeVec,
    probe_errors: IntGaugeVec,
    probe_duration: HistogramVec,
    circuit_state: IntGaugeVec,
    last_check: Gauge,
    broker_reports: IntCounterVec,
    events_sampled: IntCounterVec,
    events_broken: IntCounterVec,
    events_by_source: IntCounterVec,
    events_uncontracted: prometheus::IntCounter,
    sampler_lag: IntGaugeVec,
}

impl MonitorMetrics {
    pub fn new(provider: &str) -> Result<Self, MonitorError> {
        let labels = HashMap::from([("provider".to_string(), provider.to_string())]);
        let registry = Registry::new_custom(Some("accord_monitor".to_string()), Some(labels))?;
        let checks = IntCounterVec::new(
            Opts::new(
                "checks_total",
                "Checks run, by outcome (clean, drift, probe_errors).",
            ),
            &["outcome"],
        )?;
        let findings = IntGaugeVec::new(
            Opts::new("findings", "Findings of the latest check, by class."),
            &["class"],
        )?;
        let probe_errors = IntGaugeVec::new(
            Opts::new("probe_errors", "Probe errors of the latest check, by kind."),
            &["kind"],
        )?;
        let probe_duration = HistogramVec::new(
            HistogramOpts::new(
                "probe_duration_seconds",
                "Time from sending a probe to reading its whole response.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["host"],
        )?;
        let circuit_state = IntGaugeVec::new(
            Opts::new(
                "circuit_state",
                "Circuit breaker state per host: 0 closed, 1 half-open, 2 open.",
            ),
            &["host"],
        )?;
        let last_check = Gauge::new(
            "last_check_timestamp_seconds",
            "When the latest check finished, in seconds since the Unix epoch.",
        )?;
        registry.register(Box::new(checks.clone()))?;
        registry.register(Box::new(findings.clone()))?;
        registry.register(Box::new(probe_errors.clone()))?;
        registry.register(Box::new(probe_duration.clone()))?;
        registry.register(Box::new(circuit_state.clone()))?;
        let broker_reports = IntCounterVec::new(
            Opts::new(
                "broker_reports_total",
                "Reports posted to the broker, by outcome (posted, failed).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(last_check.clone()))?;
        registry.register(Box::new(broker_reports.clone()))?;
        let events_sampled = IntCounterVec::new(
            Opts::new(
                "events_sampled_total",
                "Events sampled that some message contract describes, by event type.",
            ),
            &["event_type"],
        )?;
        let events_broken = IntCounterVec::new(
            Opts::new(
                "events_broken_total",
                "Sampled events that break a message contract, by event type.",
            ),
            &["event_type"],
        )?;
        let events_by_source = IntCounterVec::new(
            Opts::new("events_read_total", "Events sampled, by source."),
            &["source"],
        )?;
        let events_uncontracted = prometheus::IntCounter::new(
            "events_uncontracted_total",
            "Sampled events of a type no message contract names.",
        )?;
        registry.register(Box::new(events_sampled.clone()))?;
        registry.register(Box::new(events_broken.clone()))?;
        registry.register(Box::new(events_by_source.clone()))?;
        registry.register(Box::new(events_uncontracted.clone()))?;
        let sampler_lag = IntGaugeVec::new(
            Opts::new(
                "events_sampler_lag",
                "Records a Kafka partition holds beyond the sampler's position at its last fetch.",
            ),
            &["partition"],
        )?;
        registry.register(Box::new(sampler_lag.clone()))?;
        // Every class is exported from the start, so a dashboard shows zeros rather than
        // missing series before the first drift.
        for class in FindingClass::ALL {
            findings.with_label_values(&[class.as_str()]).set(0);
        }
        for outcome in ["clean", "drift", "probe_errors"] {
            checks.with_label_values(&[outcome]);
        }
        for outcome in ["posted", "failed"] {
            broker_reports.with_label_values(&[outcome]);
        }
        Ok(Self {
            registry,
            checks,
            findings,
            probe_errors,
            probe_duration,
            circuit_state,
            last_check,
            broker_reports,
            events_sampled,
            events_broken,
            events_by_source,
            events_uncontracted,
            sampler_lag,
        })
    }

    /// Adds an event sampling run's counts (per event type, per source, uncontracted).
    /// Event types are the contracts' own (a bounded set); uncontracted types are counted
    /// without a label, so a producer cannot grow the series.
    pub fn record_events(&self, report: &DriftReport) {
        let Some(events) = &report.events else {
            return;
        };
        for (event_type, counts) in &events.per_type {
            self.events_sampled
                .with_label_values(&[event_type.as_str()])
                .inc_by(counts.sampled);
            self.events_broken
                .with_label_values(&[event_type.as_str()])
                .inc_by(counts.broken);
        }
        for (source, count) in &events.per_source {
            self.events_by_source
                .with_label_values(&[source.as_str()])
                .inc_by(*count);
        }
        self.events_uncontracted
            .inc_by(events.uncontracted.iter().map(|u| u.count).sum());
        for (partition, lag) in &events.lag {
            self.sampler_lag
                .with_label_values(&[partition.as_str()])
                .set(*lag);
        }
    }

    pub(crate) fn observe_probe(&self, host: &str, seconds: f64) {
        self.probe_duration
            .with_label_values(&[host])
            .observe(seconds);
    }

    /// Records a finished check and the circuits' states after it.
    pub fn record(&self, report: &DriftReport, circuits: &[(String, CircuitState)]) {
        let outcome = match report.outcome() {
            Outcome::Clean => "clean",
            Outcome::Drift => "drift",
            Outcome::ProbeErrors => "probe_errors",
        };
        self.checks.with_label_values(&[outcome]).inc();
        for class in FindingClass::ALL {
            let count = report.findings.iter().filter(|f| f.class == class).count();
            self.findings
                .with_label_values(&[class.as_str()])
                .set(count as i64);
        }
        self.probe_errors.reset();
        let mut errors: HashMap<ProbeErrorKind, i64> = HashMap::new();
        for error in &report.probe_errors {
            *errors.entry(error.kind).or_default() += 1;
        }
        for (kind, count) in errors {
            self.probe_errors
                .with_label_values(&[kind.as_str()])
                .set(count);
        }
        self.update_circuits(circuits);
        self.last_check
            .set(report.finished_at.timestamp_millis() as f64 / 1000.0);
    }

    /// Counts a report posted to the broker, or a post that failed.
    pub fn record_broker_report(&self, posted: bool) {
        let outcome = if posted { "posted" } else { "failed" };
        self.broker_reports.with_label_values(&[outcome]).inc();
    }

    pub(crate) fn update_circuits(&self, circuits: &[(String, CircuitState)]) {
        for (host, state) in circuits {
            self.circuit_state
                .with_label_values(&[host.as_str()])
                .set(state.gauge_value());
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec only fails on metric families the registry would have refused.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}
