//! What several end-to-end tests share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use accord_e2e::{accord_bin, run};

use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::{datetime, decimal, each_like, integer, like, term};
use example_consumer::OrdersClient;
use serde_json::json;

/// Runs the example consumer's client against an Accord mock and returns the pact file.
pub async fn write_pact(dir: &Path) -> PathBuf {
    write_dashboard_pact(dir, Some("status")).await
}

/// [`write_pact`] for a dashboard release that reads the order's status under this field
/// name (`None`: one that does not read it at all).
pub async fn write_dashboard_pact(dir: &Path, status_field: Option<&str>) -> PathBuf {
    let mut order = json!({
        "id": integer(1),
        "items": each_like(json!({"sku": like("BOOK-42"), "quantity": integer(2), "price": decimal(12.5)})),
        "total": decimal(25.0),
        "createdAt": datetime("yyyy-MM-dd'T'HH:mm:ss'Z'", "2024-05-01T10:00:00Z"),
    });
    if let Some(field) = status_field {
        order[field] = term("^(pending|shipped|delivered)$", "shipped");
    }
    let mock = PactBuilder::new("order-dashboard", "order-service")
        .output_dir(dir)
        .interaction("a request for order 1", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders/1").header("Accept", "application/json"))
                .response(|r| r.status(200).json_body(order))
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
    // The mock answers with the release's own body; the client of today reads `status`,
    // so a release that does not is asked with a plain request.
    let answer = reqwest::Client::new()
        .get(format!("{}/orders/1", mock.url()))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("order 1");
    assert_eq!(answer.status(), 200);
    assert!(client.order(42).await.is_err());
    mock.finish().await.expect("the pact is written")
}

/// Runs the `accord` binary against this broker (`PACT_BROKER_BASE_URL`), with no token
/// from the test run's environment.
pub fn accord(broker: &str, args: &[&str]) -> Output {
    run(Command::new(accord_bin())
        .args(args)
        .env("PACT_BROKER_BASE_URL", broker)
        .env_remove("PACT_BROKER_TOKEN"))
}

/// A command's exit code and output, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
