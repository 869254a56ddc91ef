//! Which interactions are probed, the requests sent, and how an unhealthy provider is
//! reported: as probe errors behind an open circuit, never as drift.

use std::time::Duration;

use accord_monitor::config::{AuthHeader, CircuitSettings, StateMapping};
use accord_monitor::{Outcome, ProbeErrorKind};
use http::{HeaderName, HeaderValue};
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn post_interaction() -> serde_json::Value {
    json!({
        "description": "create an order",
        "request": {
            "method": "POST", "path": "/orders",
            "headers": {"Content-Type": "application/json"},
            "body": {"sku": "A1"}
        },
        "response": {"status": 201, "headers": {"Content-Type": "application/json"}, "body": {"id": 1}}
    })
}

#[tokio::test]
async fn unsafe_methods_are_skipped_unless_listed() {
    let server = MockServer::start().await;
    serve_json(&server, "/orders/1", 200, recorded_order()).await;
    let contract = pact(
        "web",
        vec![
            order_interaction("get order 1", "/orders/1"),
            post_interaction(),
        ],
    );

    let report = monitor(std::slice::from_ref(&contract), config_for(&server))
        .check()
        .await;
    assert_eq!(report.outcome(), Outcome::Clean, "{}", report.to_table());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].interaction, "create an order");
    assert!(
        report.skipped[0]
            .reason
            .contains("POST is not a safe method"),
        "{:?}",
        report.skipped
    );
    assert!(report.skipped[0].reason.contains("probe_unsafe"));

    Mock::given(method("POST"))
        .and(path("/orders"))
        .and(body_json(json!({"sku": "A1"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 7})))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config_for(&server);
    config
        .probe
        .probe_unsafe
        .insert("create an order".to_string());
    let report = monitor(&[contract], config).check().await;
    assert_eq!(report.outcome(), Outcome::Clean, "{}", report.to_table());
    assert!(report.skipped.is_empty());
    assert_eq!(report.interactions_checked, 2);
}

#[tokio::test]
async fn state_mappings_reach_production_data_and_skips_are_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders/8841"))
        .and(query_param("tenant", "acme"))
        .and(header("x-tenant", "acme"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_order()))
        .expect(1)
        .mount(&server)
        .await;
    let contract = pact(
        "web",
        vec![
            order_interaction("get order 1", "/orders/1"),
            json!({
                "description": "get a cancelled order",
                "providerStates": [{"name": "a cancelled order"}],
                "request": {"method": "GET", "path": "/orders/2"},
                "response": {"status": 200}
            }),
        ],
    );
    let mut config = config_for(&server);
    config.states.insert(
        "order 1 exists".to_string(),
        StateMapping {
            path_segments: [("1".to_string(), "8841".to_string())].into(),
            query: vec![("tenant".to_string(), "acme".to_string())],
            headers: vec![(
                HeaderName::from_static("x-tenant"),
                HeaderValue::from_static("acme"),
            )],
            ..Default::default()
        },
    );
    config.states.insert(
        "a cancelled order".to_string(),
        StateMapping {
            skip: Some("no cancelled order in production".to_string()),
            ..Default::default()
        },
    );
    let report = monitor(&[contract], config).check().await;
    assert_eq!(report.outcome(), Outcome::Clean, "{}", report.to_table());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(
        report.skipped[0].reason,
        "provider state \"a cancelled order\" is marked skip: no cancelled order in production"
    );
}

#[tokio::test]
async fn auth_headers_are_sent_and_never_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/orders/1"))
        .and(header("authorization", "Bearer top-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_order()))
        .expect(1)
        .mount(&server)
        .await;
    // A base URL with a path prefix: the pact's path goes below it.
    let mut config = accord_monitor::config::MonitorConfig::new(
        Url::parse(&format!("{}/api/", server.uri())).unwrap(),
    );
    config.auth_headers.push(AuthHeader {
        name: HeaderName::from_static("authorization"),
        value: SecretString::from("Bearer top-secret"),
    });
    let monitor = monitor(&[orders_pact()], config);
    let report = monitor.check().await;
    assert_eq!(report.outcome(), Outcome::Clean, "{}", report.to_table());
    let everything = format!(
        "{}{}{monitor:?}",
        report.to_table(),
        serde_json::to_string(&report).unwrap()
    );
    assert!(!everything.contains("top-secret"));
}

/// Five interactions on distinct paths, so each is a probe of its own.
fn five_orders() -> accord_contract::Contract {
    pact(
        "web",
        (1..=5)
            .map(|n| order_interaction(&format!("get order {n}"), &format!("/orders/{n}")))
            .collect(),
    )
}

fn fragile(config: &mut accord_monitor::config::MonitorConfig) {
    config.probe.timeout = Duration::from_millis(200);
    config.probe.concurrency = 1;
    config.circuit = CircuitSettings {
        failure_threshold: 2,
        open_for: Duration::from_secs(600),
    };
}

#[tokio::test]
async fn a_provider_that_times_out_opens_the_circuit_and_is_a_probe_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(recorded_order())
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let mut config = config_for(&server);
    fragile(&mut config);
    let monitor = monitor(&[five_orders()], config);
    let report = monitor.check().await;
    assert_eq!(
        report.outcome(),
        Outcome::ProbeErrors,
        "{}",
        report.to_table()
    );
    assert!(report.findings.is_empty());
    assert_eq!(report.probe_errors.len(), 5);
    let kinds: Vec<ProbeErrorKind> = report.probe_errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ProbeErrorKind::Timeout)
            .count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ProbeErrorKind::CircuitOpen)
            .count(),
        3,
        "{kinds:?}"
    );
    // Only the requests before the circuit opened reached the provider.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(
        monitor.circuit_states()[0].1,
        accord_monitor::circuit::CircuitState::Open
    );
}

/// A provider that accepts connections and closes them without answering.
async fn resetting_provider() -> (Url, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_provider_that_resets_connections_opens_the_circuit_and_is_a_probe_error() {
    let (url, task) = resetting_provider().await;
    let mut config = accord_monitor::config::MonitorConfig::new(url);
    fragile(&mut config);
    let monitor = monitor(&[five_orders()], config);
    let report = monitor.check().await;
    task.abort();
    assert_eq!(
        report.outcome(),
        Outcome::ProbeErrors,
        "{}",
        report.to_table()
    );
    assert!(report.findings.is_empty());
    let kinds: Vec<ProbeErrorKind> = report.probe_errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ProbeErrorKind::Connection)
            .count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ProbeErrorKind::CircuitOpen)
            .count(),
        3,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_unavailable_provider_is_not_drift() {
    let server = MockServer::start().await;
    serve_json(&server, "/orders/1", 503, json!({"error": "maintenance"})).await;
    let report = monitor(&[orders_pact()], config_for(&server)).check().await;
    assert_eq!(
        report.outcome(),
        Outcome::ProbeErrors,
        "{}",
        report.to_table()
    );
    assert_eq!(report.probe_errors[0].kind, ProbeErrorKind::Unavailable);
}

#[tokio::test]
async fn a_refused_connection_is_a_probe_error() {
    // Bind and drop a listener to get a port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = accord_monitor::config::MonitorConfig::new(
        Url::parse(&format!("http://{address}")).unwrap(),
    );
    let report = monitor(&[orders_pact()], config).check().await;
    assert_eq!(
        report.outcome(),
        Outcome::ProbeErrors,
        "{}",
        report.to_table()
    );
    assert_eq!(report.probe_errors[0].kind, ProbeErrorKind::Connect);
}
