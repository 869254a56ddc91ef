//! The service's own check that it honours its OpenAPI document (`openapi.yaml`), the
//! provider contract it publishes with `accord publish-provider-contract`: real requests
//! to a running service, each exchange checked against the document.

use accord_contract::Contract;
use accord_contract::openapi::ProviderSpec;
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

async fn spawn(behaviour: Behaviour, format: DateFormat) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(example_provider::serve(
        listener,
        AppState::new(behaviour, format),
    ));
    url
}

/// Sends each request to the service and writes what came back as a pact interaction.
async fn exchanges(url: &str) -> Value {
    let client = reqwest::Client::new();
    let requests = [
        ("one order", "GET", "/orders/1", None),
        ("every order", "GET", "/orders", None),
        ("a missing order", "GET", "/orders/99", None),
        ("a malformed id", "GET", "/orders/abc", None),
        (
            "a new order",
            "POST",
            "/orders",
            Some(
                json!({"customer": "ada@example.com", "items": [{"sku": "BOOK-42", "quantity": 1, "price": 12.5}]}),
            ),
        ),
        (
            "an empty order",
            "POST",
            "/orders",
            Some(json!({"customer": "ada@example.com", "items": []})),
        ),
    ];
    let mut interactions = Vec::new();
    for (description, method, path, body) in requests {
        let mut request = client.request(method.parse().unwrap(), format!("{url}{path}"));
        let mut pact_request = json!({"method": method, "path": path});
        if let Some(body) = &body {
            request = request.json(body);
            pact_request["headers"] = json!({"Content-Type": "application/json"});
            pact_request["body"] = body.clone();
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = response.json().await.unwrap();
        interactions.push(json!({
            "description": description,
            "request": pact_request,
            "response": {"status": status, "headers": {"Content-Type": content_type}, "body": body}
        }));
    }
    json!({
        "consumer": {"name": "self-check"},
        "provider": {"name": "order-service"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

async fn mismatches(behaviour: Behaviour, format: DateFormat) -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let spec = ProviderSpec::parse(&text).unwrap();
    let url = spawn(behaviour, format).await;
    let pact = Contract::from_json(exchanges(&url).await, "exchanges").unwrap();
    // Two requests are invalid on purpose (how the service answers bad input is part of
    // the document too): only what the service answers is its to honour.
    spec.check(&pact)
        .mismatches()
        .filter(|(_, mismatch)| mismatch.pointer.starts_with("/response"))
        .map(|(interaction, mismatch)| format!("{}: {mismatch}", interaction.description))
        .collect()
}

#[tokio::test]
async fn every_answer_fits_the_document() {
    let found = mismatches(Behaviour::Correct, DateFormat::Iso8601).await;
    assert!(found.is_empty(), "{found:#?}");
}

#[tokio::test]
async fn the_breaking_switches_do_not() {
    let renamed = mismatches(Behaviour::Breaking, DateFormat::Iso8601).await;
    assert!(
        renamed
            .iter()
            .any(|m| m.contains("response-field-not-in-spec: /response/body/state")),
        "{renamed:#?}"
    );
    let unix = mismatches(Behaviour::Correct, DateFormat::Unix).await;
    assert!(
        unix.iter()
            .any(|m| m.contains("/response/body/createdAt the pact expects integer")),
        "{unix:#?}"
    );
}
