//! Pacts, providers and monitors shared by the tests.

use accord_contract::Contract;
use accord_monitor::config::MonitorConfig;
use accord_monitor::{DriftReport, Finding, FindingClass, Monitor};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The body the pact below records for `GET /orders/1`.
pub fn recorded_order() -> Value {
    json!({
        "id": 1,
        "ref": "ORD-0001",
        "created": "2024-05-01T10:00:00Z",
        "items": [{"sku": "A1", "qty": 1}],
        "customer": {"name": "Ada"}
    })
}

/// A V3 interaction `GET /orders/1` in state "order 1 exists".
pub fn order_interaction(description: &str, request_path: &str) -> Value {
    json!({
        "description": description,
        "providerStates": [{"name": "order 1 exists"}],
        "request": {"method": "GET", "path": request_path},
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": recorded_order(),
            "matchingRules": {"body": {
                "$.id": {"matchers": [{"match": "integer"}]},
                "$.ref": {"matchers": [{"match": "regex", "regex": "^ORD-\\d{4}$"}]},
                "$.created": {"matchers": [{"match": "timestamp", "timestamp": "yyyy-MM-dd'T'HH:mm:ssX"}]},
                "$.items": {"matchers": [{"match": "type", "min": 1}]},
                "$.customer.name": {"matchers": [{"match": "type"}]}
            }}
        }
    })
}

/// A pact of `consumer` with `orders` holding `interactions`.
pub fn pact(consumer: &str, interactions: Vec<Value>) -> Contract {
    Contract::from_json(
        json!({
            "consumer": {"name": consumer},
            "provider": {"name": "orders"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        }),
        &format!("{consumer}-orders.json"),
    )
    .expect("the test pact is valid")
}

/// The "web" consumer's pact: one interaction, `GET /orders/1`.
pub fn orders_pact() -> Contract {
    pact("web", vec![order_interaction("get order 1", "/orders/1")])
}

pub fn config_for(server: &MockServer) -> MonitorConfig {
    MonitorConfig::new(Url::parse(&server.uri()).unwrap())
}

pub fn monitor(contracts: &[Contract], config: MonitorConfig) -> Monitor {
    Monitor::from_contracts(contracts, config).expect("the monitor starts")
}

/// Makes `server` answer `GET request_path` with `status` and a JSON body.
pub async fn serve_json(server: &MockServer, request_path: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(request_path))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// `(pointer, class)` of each finding.
pub fn classes(report: &DriftReport) -> Vec<(String, FindingClass)> {
    report
        .findings
        .iter()
        .map(|f| (f.pointer.clone(), f.class))
        .collect()
}

pub fn single(report: &DriftReport) -> &Finding {
    assert_eq!(report.findings.len(), 1, "{}", report.to_table());
    &report.findings[0]
}
