//! Message interactions: asked for at the provider's message endpoint (the official
//! verifiers' convention) or produced in process, mixed with HTTP ones in one run.

use std::sync::{Arc, Mutex};

use accord_verifier::{
    InteractionStatus, MessageProducers, ProducedMessage, Verifier, VerifyOptions,
};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use url::Url;

/// How the test producer writes `createdAt`.
#[derive(Clone, Copy, PartialEq)]
enum Timestamps {
    Iso8601,
    Unix,
}

#[derive(Clone)]
struct Producer {
    timestamps: Timestamps,
    topic: &'static str,
    requests: Arc<Mutex<Vec<Value>>>,
}

fn order_event(timestamps: Timestamps) -> Value {
    let created_at = match timestamps {
        Timestamps::Iso8601 => json!("2026-12-04T10:00:00Z"),
        Timestamps::Unix => json!(1_764_842_400),
    };
    json!({"orderId": 42, "status": "open", "createdAt": created_at})
}

async fn spawn_producer(timestamps: Timestamps, topic: &'static str) -> (Url, Producer) {
    let producer = Producer {
        timestamps,
        topic,
        requests: Arc::default(),
    };
    let app = Router::new()
        .route("/orders/{id}", get(|| async { Json(json!({"id": 1})) }))
        .route(
            "/_pact/messages",
            post(
                |State(producer): State<Producer>, Json(request): Json<Value>| async move {
                    producer.requests.lock().unwrap().push(request.clone());
                    match request["description"].as_str() {
                        Some("an order.created event") => {
                            ProducedMessage::json(&order_event(producer.timestamps))
                                .metadata("kafka_topic", producer.topic)
                                .into_response()
                        }
                        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        )
        .with_state(producer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}").parse().unwrap(), producer)
}

use axum::response::IntoResponse;

/// A V4 pact with one HTTP interaction and one message.
fn mixed_pact(dir: &std::path::Path) -> std::path::PathBuf {
    let pact = json!({
        "consumer": {"name": "shipping"},
        "provider": {"name": "orders"},
        "interactions": [
            {
                "type": "Synchronous/HTTP",
                "description": "a request for order 1",
                "request": {"method": "GET", "path": "/orders/1"},
                "response": {"status": 200, "body": {"content": {"id": 1}, "contentType": "application/json"},
                             "headers": {"Content-Type": ["application/json"]}}
            },
            {
                "type": "Asynchronous/Messages",
                "description": "an order.created event",
                "providerStates": [{"name": "an order exists", "params": {"id": 42}}],
                "contents": {
                    "content": {"orderId": 42, "status": "open", "createdAt": "2026-12-04T10:00:00Z"},
                    "contentType": "application/json",
                    "encoded": false
                },
                "metadata": {"kafka_topic": "orders"},
                "matchingRules": {
                    "body": {
                        "$.orderId": {"combine": "AND", "matchers": [{"match": "integer"}]},
                        "$.createdAt": {"combine": "AND", "matchers": [{"match": "regex",
                            "regex": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$"}]}
                    }
                }
            }
        ],
        "metadata": {"pactSpecification": {"version": "4.0"}}
    });
    let path = dir.join("shipping-orders.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&pact).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn http_and_messages_verify_in_one_run_at_the_messages_path() {
    let dir = tempfile::tempdir().unwrap();
    let pact = mixed_pact(dir.path());
    let (url, producer) = spawn_producer(Timestamps::Iso8601, "orders").await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .messages_path("/_pact/messages");
    let report = Verifier::new(options).verify_against(url).await.unwrap();
    report.assert_passed();
    let interactions = &report.pacts[0].interactions;
    assert_eq!(interactions.len(), 2);
    let requests = producer.requests.lock().unwrap().clone();
    assert_eq!(
        requests,
        [json!({"description": "an order.created event",
                "providerStates": [{"name": "an order exists", "params": {"id": 42}}]})]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unix_timestamp_instead_of_iso_8601_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let pact = mixed_pact(dir.path());
    let (url, _) = spawn_producer(Timestamps::Unix, "orders").await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .messages_path("/_pact/messages");
    let report = Verifier::new(options).verify_against(url).await.unwrap();
    let message = report.pacts[0]
        .interactions
        .iter()
        .find(|i| i.description == "an order.created event")
        .unwrap();
    assert_eq!(message.status, InteractionStatus::Failed);
    assert!(
        message.mismatches.iter().any(|m| m.kind == "body"
            && m.path == "$.createdAt"
            && m.actual.contains("1764842400")),
        "{:#?}",
        message.mismatches
    );
    assert!(
        report.summary().contains("$.createdAt"),
        "{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_is_matched_too() {
    let dir = tempfile::tempdir().unwrap();
    let pact = mixed_pact(dir.path());
    let (url, _) = spawn_producer(Timestamps::Iso8601, "orders-v2").await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .messages_path("/_pact/messages");
    let report = Verifier::new(options).verify_against(url).await.unwrap();
    let message = report.pacts[0]
        .interactions
        .iter()
        .find(|i| i.description == "an order.created event")
        .unwrap();
    assert!(
        message
            .mismatches
            .iter()
            .any(|m| m.kind == "metadata" && m.path == "kafka_topic"),
        "{:#?}",
        message.mismatches
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_with_a_path_is_the_message_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let pact = json!({
        "consumer": {"name": "shipping"}, "provider": {"name": "orders"},
        "messages": [{"description": "an order.created event",
                      "contents": {"orderId": 42}, "metadata": {"kafka_topic": "orders"},
                      "matchingRules": {"body": {"$.orderId": {"matchers": [{"match": "integer"}]}}}}],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    let path = dir.path().join("v3.json");
    std::fs::write(&path, pact.to_string()).unwrap();
    let (url, producer) = spawn_producer(Timestamps::Iso8601, "orders").await;
    let options = VerifyOptions::new("orders").pact_file(&path);
    let report = Verifier::new(options)
        .verify_against(url.join("/_pact/messages").unwrap())
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(producer.requests.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_process_producers_need_no_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let pact = json!({
        "consumer": {"name": "shipping"}, "provider": {"name": "orders"},
        "messages": [
            {"description": "an order.created event", "providerStates": [{"name": "an order exists", "params": {"id": 42}}],
             "contents": {"orderId": 42}, "metadata": {"kafka_topic": "orders"}},
            {"description": "an order.deleted event", "contents": {"orderId": 42}}
        ],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    let path = dir.path().join("v3.json");
    std::fs::write(&path, pact.to_string()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let producers = MessageProducers::new().producer("an order.created event", {
        let seen = seen.clone();
        move |states| {
            seen.lock()
                .unwrap()
                .push((states[0].name.clone(), states[0].params.clone()));
            Ok(ProducedMessage::json(&json!({"orderId": 42})).metadata("kafka_topic", "orders"))
        }
    });
    let report = Verifier::new(VerifyOptions::new("orders").pact_file(&path))
        .with_producers(producers)
        .verify()
        .await
        .unwrap();
    let by_name = |name: &str| {
        report.pacts[0]
            .interactions
            .iter()
            .find(|i| i.description == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_name("an order.created event").status,
        InteractionStatus::Passed
    );
    let deleted = by_name("an order.deleted event");
    assert_eq!(deleted.status, InteractionStatus::Failed);
    assert_eq!(
        deleted.error.as_deref(),
        Some(
            "no producer for message \"an order.deleted event\" (registered: [\"an order.created event\"])"
        ),
        "{deleted:#?}"
    );
    assert!(deleted.mismatches.is_empty());
    assert_eq!(
        seen.lock().unwrap().clone(),
        [(
            "an order exists".to_string(),
            json!({"id": 42}).as_object().unwrap().clone()
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_message_endpoint_is_named_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let pact = mixed_pact(dir.path());
    let (url, _) = spawn_producer(Timestamps::Iso8601, "orders").await;
    // No --messages-path: the message is asked for at `/`, which answers 405.
    let report = Verifier::new(VerifyOptions::new("orders").pact_file(&pact))
        .verify_against(url)
        .await
        .unwrap();
    let message = report.pacts[0]
        .interactions
        .iter()
        .find(|i| i.description == "an order.created event")
        .unwrap();
    assert_eq!(message.status, InteractionStatus::Failed);
    let error = message.error.as_deref().unwrap_or_default();
    assert!(error.contains("--messages-path"), "{message:#?}");
    assert!(
        report.summary().contains("answered without a message"),
        "{}",
        report.summary()
    );
}
