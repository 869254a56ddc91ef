//! Accord's drift extension: posting monitor reports, reading drift state, and
//! can-i-deploy with a drift mode.

use accord_broker_client::{
    BrokerError, CanIDeployQuery, DeployTarget, DriftMode, VersionSelector,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A wiremock broker whose index has the `accord:drift` relation.
async fn accord_broker() -> (MockServer, accord_broker_client::BrokerClient) {
    let server = MockServer::start().await;
    let base = server.uri();
    let mut index = index_body(&base);
    index["_links"]["accord:drift"] = json!({
        "href": format!("{base}/drift/provider/{{provider}}"),
        "templated": true
    });
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(hal(index))
        .mount(&server)
        .await;
    let client = client_for(&base, None);
    (server, client)
}

fn report() -> Value {
    json!({
        "provider": "order service",
        "environment": "production",
        "baseUrl": "http://orders",
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": "2024-05-01T10:00:01Z",
        "pacts": [],
        "probes": 1,
        "interactionsChecked": 1,
        "findings": [{"consumers": ["web"], "interaction": "get order", "request": "GET /orders/1",
                      "pointer": "/body/created", "class": "format_changed",
                      "expected": "date-time", "actual": "1714557600", "occurrences": 1}],
        "probeErrors": [],
        "skipped": []
    })
}

fn finding_state() -> Value {
    json!({
        "fingerprint": "f".repeat(64),
        "status": "open",
        "consumers": ["web"],
        "interaction": "get order",
        "request": "GET /orders/1",
        "pointer": "/body/created",
        "class": "format_changed",
        "expected": "date-time",
        "actual": "1714557600",
        "occurrences": 1,
        "firstSeenAt": "2024-05-01T10:00:01+00:00",
        "lastSeenAt": "2024-05-01T10:00:01+00:00",
        "recheckedByLatestRun": true
    })
}

#[tokio::test]
async fn a_report_is_posted_to_its_provider_through_the_drift_relation() {
    let (server, client) = accord_broker().await;
    Mock::given(method("POST"))
        .and(path("/drift/provider/order%20service"))
        .and(body_json(report()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 7,
            "provider": "order service",
            "environment": "production",
            "applied": true,
            "new": [finding_state()],
            "resolved": [],
            "notRechecked": [],
            "open": [finding_state()],
            "notices": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let published = client.publish_drift_report(&report()).await.unwrap();
    assert_eq!(published.id, 7);
    assert!(published.applied && !published.duplicate);
    assert_eq!(published.new[0].pointer, "/body/created");
    assert_eq!(published.open.len(), 1);
}

#[tokio::test]
async fn a_report_is_posted_again_after_a_server_error() {
    let (server, client) = accord_broker().await;
    Mock::given(method("POST"))
        .and(path("/drift/provider/order%20service"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": "database away"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/drift/provider/order%20service"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 7, "provider": "order service", "duplicate": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let published = client.publish_drift_report(&report()).await.unwrap();
    assert!(published.duplicate);
}

#[tokio::test]
async fn a_broker_without_drift_support_is_named_as_such() {
    let (server, client) = broker().await;
    let err = client.publish_drift_report(&report()).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::DriftNotSupported { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("accord broker"), "{err}");
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test]
async fn a_report_without_a_provider_is_not_sent() {
    let (server, client) = accord_broker().await;
    let mut report = report();
    report.as_object_mut().unwrap().remove("provider");
    let err = client.publish_drift_report(&report).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::InvalidDriftReport { .. }),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn refused_reports_carry_the_brokers_field_errors() {
    let (server, client) = accord_broker().await;
    Mock::given(method("POST"))
        .and(path("/drift/provider/order%20service"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": {"findings[0].class": ["must be a snake_case class such as format_changed"]}
        })))
        .mount(&server)
        .await;
    let err = client.publish_drift_report(&report()).await.unwrap_err();
    assert!(err.to_string().contains("findings[0].class"), "{err}");
}

#[tokio::test]
async fn drift_state_of_a_provider_in_an_environment() {
    let (server, client) = accord_broker().await;
    Mock::given(method("GET"))
        .and(path("/drift/provider/orders"))
        .and(query_param("environment", "production"))
        .respond_with(hal(json!({
            "provider": "orders",
            "environment": "production",
            "drifting": true,
            "openFindings": 1,
            "environments": [{
                "environment": "production",
                "drifting": true,
                "openFindings": 1,
                "notRechecked": 0,
                "latestRun": {"id": 3, "startedAt": "2024-05-01T10:00:00+00:00",
                              "finishedAt": "2024-05-01T10:00:01+00:00", "receivedAt": "2024-05-01T10:00:02+00:00",
                              "probes": 1, "interactionsChecked": 1, "findings": 1, "probeErrors": 0, "skipped": 0},
                "probeErrors": [],
                "findings": [finding_state()]
            }],
            "_links": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/drift/provider/orders"))
        .and(query_param_is_missing("environment"))
        .respond_with(hal(json!({
            "provider": "orders", "drifting": false, "openFindings": 0, "environments": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let state = client
        .drift_state("orders", Some("production"))
        .await
        .unwrap();
    assert!(state.drifting);
    let production = &state.environments[0];
    assert_eq!(production.environment.as_deref(), Some("production"));
    assert_eq!(production.latest_run.id, 3);
    assert_eq!(production.findings[0].class, "format_changed");
    assert_eq!(production.findings[0].rechecked_by_latest_run, Some(true));
    let everywhere = client.drift_state("orders", None).await.unwrap();
    assert!(!everywhere.drifting && everywhere.environments.is_empty());
}

#[tokio::test]
async fn can_i_deploy_passes_the_drift_mode_and_reads_the_drift_section() {
    let (server, client) = accord_broker().await;
    Mock::given(method("GET"))
        .and(path("/matrix"))
        .and(query_param("environment", "production"))
        .and(query_param("drift", "warn"))
        .respond_with(hal(json!({
            "summary": {"deployable": true, "reason": "ok"},
            "notices": [{"type": "warning", "text": "orders drifts in production ..."}],
            "matrix": [],
            "drift": {"mode": "warn", "environment": "production", "blocking": false, "findings": [{
                "provider": "orders", "consumer": "web", "consumerVersion": "1", "environment": "production",
                "fingerprint": "f", "interaction": "get order", "request": "GET /orders/1",
                "pointer": "/body/created", "class": "format_changed", "expected": "date-time",
                "actual": "1714557600", "firstSeenAt": "2024-05-01T10:00:01+00:00",
                "lastSeenAt": "2024-05-01T10:00:01+00:00", "text": "orders drifts in production ..."
            }]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/matrix"))
        .and(query_param_is_missing("drift"))
        .respond_with(hal(
            json!({"summary": {"deployable": true, "reason": "ok"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let query = CanIDeployQuery {
        pacticipant: "web".into(),
        version: VersionSelector::Number("1".into()),
        target: DeployTarget::Environment("production".into()),
        ignore: vec![],
    };
    let matrix = client
        .can_i_deploy_with_drift(&query, Some(DriftMode::Warn))
        .await
        .unwrap();
    let drift = matrix.drift.unwrap();
    assert_eq!(drift.mode, "warn");
    assert!(!drift.blocking);
    assert_eq!(drift.findings[0].consumer_version, "1");
    // Without a mode, the parameter is left out and the broker decides.
    let plain = client.can_i_deploy(&query).await.unwrap();
    assert!(plain.drift.is_none());
}
