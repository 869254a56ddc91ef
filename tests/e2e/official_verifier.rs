//! A pact written by Accord's mock server is accepted by the official verifier
//! when the provider honours it, and refused when the provider breaks it.

use accord_e2e::{official_command, official_pact_bin, run, spawn_example_provider};
use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::{datetime, decimal, each_like, integer, like, term};
use example_consumer::OrdersClient;
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Runs the example consumer's client against an Accord mock and returns the pact file.
async fn write_pact(dir: &Path) -> PathBuf {
    let mock = PactBuilder::new("order-dashboard", "order-service")
        .output_dir(dir)
        .interaction("a request for order 1", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders/1").header("Accept", "application/json"))
                .response(|r| {
                    r.status(200).json_body(json!({
                        "id": integer(1),
                        "status": term("^(pending|shipped|delivered)$", "shipped"),
                        "items": each_like(json!({"sku": like("BOOK-42"), "quantity": integer(2), "price": decimal(12.5)})),
                        "total": decimal(25.0),
                        "createdAt": datetime("yyyy-MM-dd'T'HH:mm:ss'Z'", "2024-05-01T10:00:00Z"),
                    }))
                })
        })
        .interaction("a request for an order that does not exist", |i| {
            i.given("no orders exist")
                .request(|r| r.get("/orders/42").header("Accept", "application/json"))
                .response(|r| r.status(404))
        })
        .start()
        .await
        .expect("start the mock provider");
    let client = OrdersClient::new(mock.url());
    client.order(1).await.expect("order 1");
    assert!(client.order(42).await.is_err());
    mock.finish().await.expect("the pact is written")
}

fn official_verify(pact: &Path, provider_url: &str) -> std::process::Output {
    let url = reqwest::Url::parse(provider_url).expect("provider URL");
    run(official_command(official_pact_bin())
        .arg("verifier")
        .arg("--file")
        .arg(pact)
        .args(["--hostname", url.host_str().expect("host")])
        .args(["--port", &url.port().expect("port").to_string()])
        .args([
            "--state-change-url",
            &format!("{provider_url}/_pact/provider-states"),
        ]))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_accepts_an_accord_pact_against_the_example_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;

    let provider =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let output = tokio::task::spawn_blocking({
        let pact = pact.clone();
        move || official_verify(&pact, &provider)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "official verifier refused the pact:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("a request for order 1"), "{stdout}");
    assert!(
        stdout.contains("a request for an order that does not exist"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_catches_the_breaking_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;

    let provider =
        spawn_example_provider(AppState::new(Behaviour::Breaking, DateFormat::Iso8601)).await;
    let output = tokio::task::spawn_blocking(move || official_verify(&pact, &provider))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the breaking provider passed:\n{stdout}"
    );
    assert!(stdout.contains("has a matching body"), "{stdout}");
}
