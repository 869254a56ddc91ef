//! The order dashboard's contract with the orders service.
//!
//! Each test declares what the dashboard's client needs from one endpoint, runs the
//! real client against an Accord mock provider, and finishes the mock: that fails
//! the test if the client did not make exactly the declared requests, and otherwise
//! merges the interactions into `order-dashboard-order-service.json` in `$PACT_DIR`
//! (default `target/pacts`). That pact file is what the provider is verified against.

use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::{datetime, decimal, each_like, integer, like, term};
use example_consumer::{ClientError, Item, OrdersClient};
use serde_json::{Value, json};

const CONSUMER: &str = "order-dashboard";
const PROVIDER: &str = "order-service";

/// What the dashboard reads from an order: the fields, their types, and the date
/// format (ISO 8601). Fields it ignores are not part of the contract.
fn order_body(id: i64) -> Value {
    let mut body = json!({
        "id": integer(id),
        "items": each_like(json!({
            "sku": like("BOOK-42"),
            "quantity": integer(2),
            "price": decimal(12.5),
        })),
        "total": decimal(25.0),
        "createdAt": datetime("yyyy-MM-dd'T'HH:mm:ss'Z'", "2024-05-01T10:00:00Z"),
    });
    reads_status(&mut body, "shipped");
    body
}

/// The status, which the dashboard reads until its next release (the `next` feature).
fn reads_status(body: &mut Value, example: &str) {
    if cfg!(not(feature = "next")) {
        body["status"] = term("^(pending|shipped|delivered)$", example);
    }
}

#[tokio::test]
async fn fetches_an_order() {
    let mock = PactBuilder::new(CONSUMER, PROVIDER)
        .interaction("a request for order 1", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders/1").header("Accept", "application/json"))
                .response(|r| {
                    r.status(200)
                        .header("Content-Type", "application/json")
                        .json_body(order_body(1))
                })
        })
        .start()
        .await
        .expect("start the mock provider");

    let order = OrdersClient::new(mock.url())
        .order(1)
        .await
        .expect("fetch order 1");
    assert_eq!(order.id, 1);
    #[cfg(not(feature = "next"))]
    assert_eq!(order.status, "shipped");
    assert_eq!(order.items[0].sku, "BOOK-42");
    assert_eq!(order.created_at.to_rfc3339(), "2024-05-01T10:00:00+00:00");

    mock.finish()
        .await
        .expect("the client made exactly the declared requests");
}

#[tokio::test]
async fn reports_a_missing_order() {
    let mock = PactBuilder::new(CONSUMER, PROVIDER)
        .interaction("a request for an order that does not exist", |i| {
            i.given("no orders exist")
                .request(|r| r.get("/orders/42").header("Accept", "application/json"))
                .response(|r| r.status(404))
        })
        .start()
        .await
        .expect("start the mock provider");

    let result = OrdersClient::new(mock.url()).order(42).await;
    assert!(
        matches!(result, Err(ClientError::NotFound(42))),
        "{result:?}"
    );

    mock.finish()
        .await
        .expect("the client made exactly the declared requests");
}

#[tokio::test]
async fn lists_orders() {
    let mock = PactBuilder::new(CONSUMER, PROVIDER)
        .interaction("a request for all orders", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders").header("Accept", "application/json"))
                .response(|r| {
                    r.status(200)
                        .header("Content-Type", "application/json")
                        .json_body(json!({ "orders": each_like(order_body(1)) }))
                })
        })
        .start()
        .await
        .expect("start the mock provider");

    let orders = OrdersClient::new(mock.url())
        .orders()
        .await
        .expect("list orders");
    assert_eq!(orders.len(), 1);

    mock.finish()
        .await
        .expect("the client made exactly the declared requests");
}

#[tokio::test]
async fn places_an_order() {
    let mock = PactBuilder::new(CONSUMER, PROVIDER)
        .interaction("a request to place an order", |i| {
            i.request(|r| {
                r.post("/orders").json_body(json!({
                    "customer": like("ada@example.com"),
                    "items": each_like(json!({
                        "sku": like("BOOK-42"),
                        "quantity": integer(1),
                        "price": decimal(12.5),
                    })),
                }))
            })
            .response(|r| {
                let mut body = json!({
                    "id": integer(2),
                    "items": each_like(json!({
                        "sku": like("BOOK-42"),
                        "quantity": integer(1),
                        "price": decimal(12.5),
                    })),
                    "total": decimal(12.5),
                    "createdAt": datetime("yyyy-MM-dd'T'HH:mm:ss'Z'", "2024-05-02T09:30:00Z"),
                });
                reads_status(&mut body, "pending");
                r.status(201)
                    .header("Content-Type", "application/json")
                    .json_body(body)
            })
        })
        .start()
        .await
        .expect("start the mock provider");

    let item = Item {
        sku: "BOOK-42".into(),
        quantity: 1,
        price: 12.5,
    };
    let order = OrdersClient::new(mock.url())
        .place_order("ada@example.com", &[item])
        .await
        .expect("place an order");
    assert_eq!(order.id, 2);
    #[cfg(not(feature = "next"))]
    assert_eq!(order.status, "pending");

    mock.finish()
        .await
        .expect("the client made exactly the declared requests");
}

/// The mock refuses what was not declared, so a client that drifts from its own
/// contract fails here, in the consumer's build, not in production.
#[tokio::test]
async fn an_undeclared_request_fails_the_test() {
    let mock = PactBuilder::new(CONSUMER, PROVIDER)
        .output_dir(std::env::temp_dir().join("accord-example-unused"))
        .interaction("a request for order 1", |i| {
            i.request(|r| r.get("/orders/1"))
                .response(|r| r.status(200).json_body(order_body(1)))
        })
        .start()
        .await
        .expect("start the mock provider");

    let result = OrdersClient::new(mock.url()).order(2).await;
    assert!(
        result.is_err(),
        "the mock answers an undeclared request with an error"
    );

    let report = mock
        .finish()
        .await
        .expect_err("finishing reports the problems");
    let message = report.to_string();
    assert!(message.contains("/orders/2"), "{message}");
    assert!(message.contains("a request for order 1"), "{message}");
}
