//! The service's own check that it honours its AsyncAPI document (`asyncapi.yaml`), the
//! provider contract for its events: the service produces each event it sends (through
//! the same endpoint `accord verify` asks for messages), and each is checked against the
//! document.

use accord_contract::Contract;
use accord_contract::asyncapi::EventSpec;
use base64::Engine;
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

/// The events the service produces, as a message pact: contents and metadata as sent.
async fn produced(format: DateFormat) -> Value {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(example_provider::serve(
        listener,
        AppState::new(Behaviour::Correct, format),
    ));
    let response = reqwest::Client::new()
        .post(format!("{url}/_pact/messages"))
        .json(&json!({
            "description": "an order.created event",
            "providerStates": [{"name": "an order exists", "params": {"id": 7}}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let metadata: Value = response
        .headers()
        .get("pact-message-metadata")
        .map(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_bytes())
                .unwrap()
        })
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or(json!({}));
    let contents: Value = response.json().await.unwrap();
    json!({
        "consumer": {"name": "self-check"},
        "provider": {"name": "order-service"},
        "messages": [{"description": "an order.created event", "contents": contents, "metadata": metadata}],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

async fn mismatches(format: DateFormat) -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/asyncapi.yaml")).unwrap();
    let spec = EventSpec::parse(&text).unwrap();
    let pact = Contract::from_json(produced(format).await, "produced events").unwrap();
    let comparison = spec.check(&pact);
    assert!(comparison.complete(), "{:?}", comparison.skipped);
    assert_eq!(comparison.interactions.len(), 1);
    comparison
        .mismatches()
        .map(|(interaction, mismatch)| format!("{}: {mismatch}", interaction.description))
        .collect()
}

#[tokio::test]
async fn every_event_fits_the_document() {
    let found = mismatches(DateFormat::Iso8601).await;
    assert!(found.is_empty(), "{found:#?}");
}

#[tokio::test]
async fn the_unix_date_switch_does_not() {
    let unix = mismatches(DateFormat::Unix).await;
    assert!(
        unix.iter()
            .any(|m| m.contains("/contents/data/createdAt the pact expects integer")),
        "{unix:#?}"
    );
}
