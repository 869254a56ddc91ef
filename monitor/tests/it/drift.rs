//! Providers that drift in each class are caught on every check; a compliant provider that
//! adds fields and reorders arrays never is.

use accord_monitor::{FindingClass, Outcome};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const CHECKS: usize = 3;

/// Serves `body` for the order and asserts that every one of several checks reports
/// exactly one finding of `class` at `pointer`.
async fn assert_caught(body: Value, pointer: &str, class: FindingClass) {
    let server = MockServer::start().await;
    serve_json(&server, "/orders/1", 200, body).await;
    let monitor = monitor(&[orders_pact()], config_for(&server));
    for _ in 0..CHECKS {
        let report = monitor.check().await;
        assert_eq!(report.outcome(), Outcome::Drift, "{}", report.to_table());
        assert_eq!(
            classes(&report),
            vec![(pointer.to_string(), class)],
            "{}",
            report.to_table()
        );
        let finding = single(&report);
        assert_eq!(finding.consumers, vec!["web".to_string()]);
        assert_eq!(finding.interaction, "get order 1");
        assert_eq!(finding.request, "GET /orders/1");
    }
}

fn order_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = recorded_order();
    change(&mut body);
    body
}

#[tokio::test]
async fn a_compliant_provider_that_adds_fields_and_reorders_arrays_is_never_reported() {
    let server = MockServer::start().await;
    let pact = pact(
        "web",
        vec![json!({
            "description": "get order 1",
            "providerStates": [{"name": "order 1 exists"}],
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {
                    "id": 1,
                    "created": "2024-05-01T10:00:00Z",
                    "items": [{"sku": "A1", "qty": 1}],
                    "links": [{"rel": "self", "href": "/orders/1"}, {"rel": "items", "count": 1}]
                },
                "matchingRules": {"body": {
                    "$.created": {"matchers": [{"match": "timestamp", "timestamp": "yyyy-MM-dd'T'HH:mm:ssX"}]},
                    "$.items": {"matchers": [{"match": "type", "min": 1}]}
                }}
            }
        })],
    );
    let actual = json!({
        "id": 8841,
        "status": "shipped",
        "created": "2025-11-23T08:15:00Z",
        "items": [{"sku": "Z9", "qty": 3, "price": 9.5}, {"sku": "A1", "qty": 1}],
        "links": [{"rel": "items", "count": 2}, {"rel": "self", "href": "/orders/8841"}, {"rel": "customer", "href": "/c/1"}],
        "customer": {"name": "Ada", "vip": true}
    });
    Mock::given(method("GET"))
        .and(path("/orders/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json; charset=utf-8")
                .set_body_json(actual),
        )
        .mount(&server)
        .await;
    let monitor = monitor(&[pact], config_for(&server));
    for _ in 0..CHECKS {
        let report = monitor.check().await;
        assert_eq!(report.outcome(), Outcome::Clean, "{}", report.to_table());
        assert_eq!(report.interactions_checked, 1);
        assert!(report.findings.is_empty());
    }
}

#[tokio::test]
async fn a_missing_field_is_caught() {
    let body = order_with(|b| {
        b["customer"].as_object_mut().unwrap().remove("name");
        b["customer"]["fullName"] = json!("Ada Lovelace");
    });
    assert_caught(body, "/body/customer/name", FindingClass::FieldMissing).await;
}

#[tokio::test]
async fn a_changed_type_is_caught() {
    let body = order_with(|b| b["id"] = json!("1"));
    assert_caught(body, "/body/id", FindingClass::TypeChanged).await;
}

#[tokio::test]
async fn an_iso_timestamp_turned_unix_timestamp_is_a_format_change() {
    let body = order_with(|b| b["created"] = json!(1714557600));
    assert_caught(body, "/body/created", FindingClass::FormatChanged).await;

    let server = MockServer::start().await;
    serve_json(
        &server,
        "/orders/1",
        200,
        order_with(|b| b["created"] = json!(1714557600)),
    )
    .await;
    let report = monitor(&[orders_pact()], config_for(&server)).check().await;
    let finding = single(&report);
    assert_eq!(
        finding.expected,
        "string in date-time format \"yyyy-MM-dd'T'HH:mm:ssX\""
    );
    assert_eq!(finding.actual, "integer 1714557600");
}

#[tokio::test]
async fn a_pattern_mismatch_is_caught() {
    let body = order_with(|b| b["ref"] = json!("order-1"));
    assert_caught(body, "/body/ref", FindingClass::PatternMismatch).await;
}

#[tokio::test]
async fn an_empty_array_is_caught() {
    let body = order_with(|b| b["items"] = json!([]));
    assert_caught(body, "/body/items", FindingClass::ArrayEmpty).await;
}

#[tokio::test]
async fn a_changed_status_code_is_caught() {
    let server = MockServer::start().await;
    serve_json(&server, "/orders/1", 404, json!({"error": "not found"})).await;
    let mut config = config_for(&server);
    // The state is mapped (to the same data), so the finding carries no mapping hint.
    config
        .states
        .insert("order 1 exists".to_string(), Default::default());
    let monitor = monitor(&[orders_pact()], config);
    for _ in 0..CHECKS {
        let report = monitor.check().await;
        let finding = single(&report);
        assert_eq!(finding.class, FindingClass::StatusCodeChanged);
        assert_eq!(finding.pointer, "/status");
        assert_eq!(finding.expected, "status 200");
        assert_eq!(finding.actual, "status 404");
        assert_eq!(finding.hint, None);
    }
}

#[tokio::test]
async fn a_status_mismatch_in_an_unmapped_state_asks_for_a_mapping() {
    let server = MockServer::start().await;
    serve_json(&server, "/orders/1", 404, json!({"error": "not found"})).await;
    let report = monitor(&[orders_pact()], config_for(&server)).check().await;
    let finding = single(&report);
    assert_eq!(finding.class, FindingClass::StatusCodeChanged);
    let hint = finding.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("add a mapping for state \"order 1 exists\""),
        "{hint}"
    );
    assert!(
        report.to_table().contains("add a mapping"),
        "{}",
        report.to_table()
    );
}

#[tokio::test]
async fn a_changed_content_type_is_caught() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            recorded_order().to_string(),
            "application/vnd.orders.v2+json",
        ))
        .mount(&server)
        .await;
    let monitor = monitor(&[orders_pact()], config_for(&server));
    for _ in 0..CHECKS {
        let report = monitor.check().await;
        let finding = single(&report);
        assert_eq!(finding.class, FindingClass::ContentTypeChanged);
        assert_eq!(finding.pointer, "/headers/content-type");
        assert_eq!(finding.expected, "application/json");
        assert_eq!(finding.actual, "application/vnd.orders.v2+json");
    }
}

#[tokio::test]
async fn drift_in_every_item_of_an_array_is_one_finding_with_a_count() {
    let server = MockServer::start().await;
    let body = order_with(|b| b["items"] = json!([{"qty": 1}, {"qty": 2}, {"sku": "B", "qty": 3}]));
    serve_json(&server, "/orders/1", 200, body).await;
    let report = monitor(&[orders_pact()], config_for(&server)).check().await;
    let finding = single(&report);
    assert_eq!(finding.class, FindingClass::FieldMissing);
    assert_eq!(finding.pointer, "/body/items/0/sku");
    assert_eq!(finding.occurrences, 2);
}

#[tokio::test]
async fn an_interaction_shared_by_two_consumers_is_probed_once_and_names_both() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders/1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(order_with(|b| b["id"] = json!("1"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let web = pact("web", vec![order_interaction("get order 1", "/orders/1")]);
    let mobile = pact(
        "mobile",
        vec![order_interaction("get order 1", "/orders/1")],
    );
    let report = monitor(&[web, mobile], config_for(&server)).check().await;
    assert_eq!(report.probes, 1);
    assert_eq!(report.interactions_checked, 2);
    let finding = single(&report);
    assert_eq!(
        finding.consumers,
        vec!["mobile".to_string(), "web".to_string()]
    );
}

#[tokio::test]
async fn the_json_report_round_trips() {
    let server = MockServer::start().await;
    serve_json(
        &server,
        "/orders/1",
        200,
        order_with(|b| b["created"] = json!(1714557600)),
    )
    .await;
    let mut config = config_for(&server);
    config.environment = Some("production".to_string());
    let report = monitor(&[orders_pact()], config).check().await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["provider"], "orders");
    assert_eq!(json["environment"], "production");
    assert_eq!(json["findings"][0]["class"], "format_changed");
    assert_eq!(json["findings"][0]["pointer"], "/body/created");
    assert_eq!(json["findings"][0]["consumers"], json!(["web"]));
    assert_eq!(json["pacts"][0]["consumer"], "web");
    assert!(json["startedAt"].is_string());
    assert!(json["baseUrl"].is_string());
    let back: accord_monitor::DriftReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}
