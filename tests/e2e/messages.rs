//! Message contracts across Accord and the official Pact tools, both ways:
//! - a message pact Accord writes (the example shipping consumer's) is verified by the
//!   official `pact verifier` against the example orders service's message endpoint, and
//!   the ISO 8601 → Unix timestamp drift fails it;
//! - message pacts pact-python writes (V3 messages, and a V4 pact mixing HTTP and
//!   messages, `tests/fixtures/official/pact-python/generate_messages.py`) are verified by
//!   `accord verify` against a producer endpoint;
//! - a V4 pact Accord writes with HTTP interactions and messages together is verified by
//!   the official verifier, HTTP and messages in one run.

use std::path::{Path, PathBuf};

use accord_e2e::{accord_bin, official_command, official_pact_bin, run, spawn_example_provider};
use accord_mock_server::matchers::{each_like, integer, like, term};
use accord_mock_server::{CloudEvent, MessagePactBuilder, PactBuilder, RFC3339_PATTERN};
use accord_verifier::{MessageProducers, ProducedMessage};
use example_consumer::shipping::{ORDER_CREATED, handle_order_created};
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

/// The example shipping consumer's message pact, written as its test writes it.
pub(crate) async fn shipping_pact(dir: &Path, v4: bool) -> PathBuf {
    let mut builder = MessagePactBuilder::new("shipping-service", "order-service").output_dir(dir);
    if v4 {
        builder = builder.v4();
    }
    builder
        .expects_to_receive("an order.created event", |m| {
            m.given_with_params("an order exists", json!({"id": 1}))
                .cloud_event(CloudEvent::new(ORDER_CREATED, "/orders").data(json!({
                    "orderId": integer(1),
                    "customer": like("ada@example.com"),
                    "items": each_like(json!({"sku": like("BOOK-42"), "quantity": integer(2)})),
                    "createdAt": term(RFC3339_PATTERN, "2024-05-01T10:00:00Z"),
                })))
                .kafka_topic("orders")
        })
        .unwrap()
        .consume(|message| handle_order_created(&message.contents))
        .await
        .unwrap();
    dir.join("shipping-service-order-service.json")
}

fn official_verify(pact: &Path, provider_url: &str, extra: &[&str]) -> (bool, String) {
    let url = reqwest::Url::parse(provider_url).unwrap();
    let output = run(official_command(official_pact_bin())
        .arg("verifier")
        .arg("--file")
        .arg(pact)
        .args(["--hostname", url.host_str().unwrap()])
        .args(["--port", &url.port().unwrap().to_string()])
        .args(extra));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_accepts_an_accord_message_pact_and_catches_unix_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path(), false).await;
    let written: Value = serde_json::from_slice(&std::fs::read(&pact).unwrap()).unwrap();
    assert!(
        written["messages"].is_array(),
        "a V3 message pact: {written:#}"
    );

    let good = spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let (passed, text) = tokio::task::spawn_blocking({
        let pact = pact.clone();
        move || official_verify(&pact, &good, &["--base-path", "/_pact/messages"])
    })
    .await
    .unwrap();
    assert!(
        passed,
        "the official verifier refused Accord's message pact:\n{text}"
    );
    assert!(text.contains("an order.created event"), "{text}");

    let drifted = spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Unix)).await;
    let (passed, text) = tokio::task::spawn_blocking(move || {
        official_verify(&pact, &drifted, &["--base-path", "/_pact/messages"])
    })
    .await
    .unwrap();
    assert!(!passed, "Unix timestamps passed:\n{text}");
    assert!(text.contains("$.data.createdAt"), "{text}");
    assert!(text.contains("$.time"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_runs_a_v4_accord_pact_mixing_http_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    // The HTTP part: the same pair, through the mock provider.
    let mock = PactBuilder::new("shipping-service", "order-service")
        .v4()
        .output_dir(dir.path())
        .interaction("a request for order 1", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders/1"))
                .response(|r| {
                    r.status(200)
                        .json_body(json!({"id": integer(1), "status": like("shipped")}))
                })
        })
        .start()
        .await
        .unwrap();
    reqwest::get(mock.url_for("/orders/1")).await.unwrap();
    mock.finish().await.unwrap();
    let pact = shipping_pact(dir.path(), true).await;
    let written: Value = serde_json::from_slice(&std::fs::read(&pact).unwrap()).unwrap();
    let kinds: Vec<&str> = written["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Synchronous/HTTP", "Asynchronous/Messages"],
        "{written:#}"
    );

    let provider =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let port = reqwest::Url::parse(&provider).unwrap().port().unwrap();
    let state_change = format!("{provider}/_pact/provider-states");
    let transports = format!("message:{port}/_pact/messages");
    let (passed, text) = tokio::task::spawn_blocking({
        let pact = pact.clone();
        let provider = provider.clone();
        move || {
            official_verify(
                &pact,
                &provider,
                &[
                    "--transports",
                    &transports,
                    "--state-change-url",
                    &state_change,
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(
        passed,
        "the official verifier refused the mixed pact:\n{text}"
    );
    assert!(text.contains("a request for order 1"), "{text}");
    assert!(text.contains("an order.created event"), "{text}");

    // And Accord's verifier, HTTP and messages in one run, through the CLI.
    let output = run(std::process::Command::new(accord_bin())
        .args([
            "verify",
            "--provider",
            "order-service",
            "--provider-base-url",
            &provider,
        ])
        .args(["--messages-path", "/_pact/messages"])
        .args([
            "--state-change-url",
            &format!("{provider}/_pact/provider-states"),
        ])
        .arg("--pact-file")
        .arg(&pact));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("2 passed"), "{stdout}");
}

/// A producer honouring pact-python's fixtures: `/orders/42` over HTTP and the two order
/// events at `/_pact/messages` (the endpoint convention, served by `MessageProducers`).
async fn spawn_fixture_provider(unix_timestamps: bool) -> String {
    let created_at = if unix_timestamps {
        json!(1_764_842_400)
    } else {
        json!("2026-12-04T10:00:00Z")
    };
    let producers = MessageProducers::new()
        .producer("an order.created event", move |states| {
            let id = states
                .iter()
                .find(|s| s.name == "an order exists")
                .and_then(|s| s.params.get("id"))
                .cloned()
                .ok_or("the provider state \"an order exists\" with an id is missing")?;
            Ok(ProducedMessage::json(&json!({
                "orderId": id, "status": "shipped", "createdAt": created_at,
                "items": [{"sku": "MUG-7", "quantity": 3}], "total": 27.0
            }))
            .metadata("kafka_topic", "orders"))
        })
        .producer("an order.cancelled event", |_| {
            Ok(
                ProducedMessage::json(&json!({"orderId": 42, "reason": "out of stock"}))
                    .metadata("kafka_topic", "orders"),
            )
        });
    let app = axum::Router::new()
        .route(
            "/orders/42",
            axum::routing::get(|| async { axum::Json(json!({"id": 42, "status": "open"})) }),
        )
        .nest("/_pact/messages", producers.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/official/pact-python/pacts")
        .join(name)
}

fn accord_verify(pact: &Path, provider: &str, provider_name: &str) -> (bool, String) {
    let output = run(std::process::Command::new(accord_bin())
        .args([
            "verify",
            "--provider",
            provider_name,
            "--provider-base-url",
            provider,
        ])
        .args(["--messages-path", "/_pact/messages"])
        .arg("--pact-file")
        .arg(pact));
    (
        output.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn accord_verifies_message_pacts_written_by_pact_python() {
    let pact = fixture("pactpython-messages-consumer-pactpython-messages-provider.json");
    let written: Value = serde_json::from_slice(&std::fs::read(&pact).unwrap()).unwrap();
    assert_eq!(written["messages"].as_array().unwrap().len(), 2);

    let good = spawn_fixture_provider(false).await;
    let (passed, text) = accord_verify(&pact, &good, "pactpython-messages-provider");
    assert!(passed, "{text}");
    assert!(text.contains("2 passed"), "{text}");

    let drifted = spawn_fixture_provider(true).await;
    let (passed, text) = accord_verify(&pact, &drifted, "pactpython-messages-provider");
    assert!(!passed, "{text}");
    assert!(text.contains("body $.createdAt"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn accord_verifies_a_v4_pact_python_pact_mixing_http_and_messages() {
    let pact = fixture("pactpython-mixed-consumer-pactpython-mixed-provider.json");
    let provider = spawn_fixture_provider(false).await;
    let (passed, text) = accord_verify(&pact, &provider, "pactpython-mixed-provider");
    assert!(passed, "{text}");
    assert!(text.contains("a request for order 42"), "{text}");
    assert!(text.contains("an order.created event"), "{text}");
    assert!(text.contains("2 passed"), "{text}");
}
