//! What several end-to-end tests share.

use std::path::{Path, PathBuf};

use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::{datetime, decimal, each_like, integer, like, term};
use example_consumer::OrdersClient;
use serde_json::json;

/// Runs the example consumer's client against an Accord mock and returns the pact file.
pub async fn write_pact(dir: &Path) -> PathBuf {
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
