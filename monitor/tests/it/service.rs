//! The monitor as a service: alerts once per new finding and once on recovery, the JSON
//! report rewritten after each check, and Prometheus metrics.

use std::sync::Arc;
use std::time::Duration;

use accord_monitor::DriftReport;
use accord_monitor::alert::WebhookSettings;
use accord_monitor::service::{Application, ServiceConfig};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A service checking `GET /orders/1` on `provider` every few milliseconds.
async fn spawn_service(
    provider: &MockServer,
    webhook: Option<&MockServer>,
    report_path: Option<std::path::PathBuf>,
) -> (
    u16,
    broadcast::Receiver<Arc<DriftReport>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let monitor = monitor(&[orders_pact()], config_for(provider));
    let mut config = ServiceConfig::new(Duration::from_millis(20), "127.0.0.1:0".parse().unwrap());
    config.report_path = report_path;
    config.alert_webhook = webhook.map(|server| WebhookSettings {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..WebhookSettings::new(Url::parse(&format!("{}/hooks/T0/B0/secret", server.uri())).unwrap())
    });
    let app = Application::build(monitor, config).await.unwrap();
    let port = app.port();
    let reports = app.reports();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (port, reports, stop)
}

/// Reads the next `count` reports and returns the last one.
async fn wait_for_checks(
    reports: &mut broadcast::Receiver<Arc<DriftReport>>,
    count: usize,
) -> Arc<DriftReport> {
    let mut last = None;
    for _ in 0..count {
        last = Some(reports.recv().await.expect("the service is running"));
    }
    last.expect("count is at least 1")
}

fn drifting_order() -> Value {
    let mut body = recorded_order();
    body["created"] = json!(1714557600);
    body
}

async fn webhook_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn alerts_once_per_new_finding_and_once_on_recovery() {
    let provider = MockServer::start().await;
    // Three drifting answers, then compliant ones for good.
    Mock::given(method("GET"))
        .and(path("/orders/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(drifting_order()))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&provider)
        .await;
    serve_json(&provider, "/orders/1", 200, recorded_order()).await;
    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/T0/B0/secret"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&webhook)
        .await;

    let (_, mut reports, stop) = spawn_service(&provider, Some(&webhook), None).await;
    // The provider answers by request count, so report n is the answer to request n.
    let report = wait_for_checks(&mut reports, 2).await;
    assert_eq!(report.findings.len(), 1);
    let bodies = webhook_bodies(&webhook).await;
    assert_eq!(bodies[0]["event"], "drift_detected");
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap()
            .contains("format changed at /body/created")
    );
    assert_eq!(bodies[0]["finding"]["class"], "format_changed");

    let report = wait_for_checks(&mut reports, 4).await;
    assert!(report.findings.is_empty(), "{}", report.to_table());
    // Six checks: three drifting, three clean; one alert each way.
    let bodies = webhook_bodies(&webhook).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["event"], "drift_resolved");
    let _ = stop.send(());
}

#[tokio::test]
async fn alert_delivery_is_retried() {
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, drifting_order()).await;
    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&webhook)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&webhook)
        .await;
    let (_, mut reports, stop) = spawn_service(&provider, Some(&webhook), None).await;
    wait_for_checks(&mut reports, 3).await;
    // Two refusals and the delivery; later checks find nothing new.
    assert_eq!(webhook.received_requests().await.unwrap().len(), 3);
    let _ = stop.send(());
}

#[tokio::test]
async fn metrics_show_checks_findings_latency_and_circuits() {
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, drifting_order()).await;
    let (port, mut reports, stop) = spawn_service(&provider, None, None).await;
    wait_for_checks(&mut reports, 1).await;
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let provider_host = format!("127.0.0.1:{}", provider.address().port());
    for expected in [
        "# TYPE accord_monitor_checks_total counter".to_string(),
        "accord_monitor_checks_total{outcome=\"drift\",provider=\"orders\"}".to_string(),
        "accord_monitor_findings{class=\"format_changed\",provider=\"orders\"} 1".to_string(),
        "accord_monitor_findings{class=\"field_missing\",provider=\"orders\"} 0".to_string(),
        format!(
            "accord_monitor_probe_duration_seconds_count{{host=\"{provider_host}\",provider=\"orders\"}}"
        ),
        format!("accord_monitor_circuit_state{{host=\"{provider_host}\",provider=\"orders\"}} 0"),
        "accord_monitor_last_check_timestamp_seconds".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    let _ = stop.send(());
}

#[tokio::test]
async fn the_json_report_is_rewritten_after_each_check() {
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, drifting_order()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drift.json");
    let (_, mut reports, stop) = spawn_service(&provider, None, Some(file.clone())).await;
    let latest = wait_for_checks(&mut reports, 2).await;
    let written: DriftReport = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(written.finished_at <= latest.finished_at);
    assert_eq!(
        written.findings[0].class,
        accord_monitor::FindingClass::FormatChanged
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn the_metrics_endpoint_sheds_slow_clients() {
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_order()))
        .mount(&provider)
        .await;
    let monitor = monitor(&[orders_pact()], config_for(&provider));
    let mut config = ServiceConfig::new(Duration::from_secs(3600), "127.0.0.1:0".parse().unwrap());
    config.serve = accord_net::ServeOptions {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(60),
        max_connections: 1024,
    };
    let app = Application::build(monitor, config).await.unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], app.port()));
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    accord_net::test_util::slow_clients_are_shed(addr, "/metrics", 100, Duration::from_millis(300))
        .await;
}
