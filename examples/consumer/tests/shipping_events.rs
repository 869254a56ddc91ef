//! The shipping service's message contract with the orders service.
//!
//! The test declares the `order.created` event the shipping handler relies on (a structured
//! CloudEvent: its type and source, the attributes every CloudEvent has, and the fields of
//! `data` the handler reads), hands the example event to the real handler, and writes the
//! expectation into `shipping-service-order-service.json` in `$PACT_DIR` (default
//! `target/pacts`) only if the handler accepts it. The orders service is then verified
//! against that pact: `accord verify --messages-path /_pact/messages`.

use accord_mock_server::matchers::{each_like, integer, like, term};
use accord_mock_server::{CloudEvent, MessagePactBuilder, RFC3339_PATTERN};
use example_consumer::shipping::{ORDER_CREATED, handle_order_created};
use serde_json::json;

const CONSUMER: &str = "shipping-service";
const PROVIDER: &str = "order-service";

#[tokio::test]
async fn plans_a_shipment_for_each_new_order() {
    let shipment = MessagePactBuilder::new(CONSUMER, PROVIDER)
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
        .expect("a well-formed expectation")
        .consume(|message| handle_order_created(&message.contents))
        .await
        .expect("the shipping handler accepts the event");
    assert_eq!(shipment.order_id, 1);
    assert_eq!(shipment.lines, [("BOOK-42".to_string(), 2)]);
    assert_eq!(
        shipment.ordered_at.to_rfc3339(),
        "2024-05-01T10:00:00+00:00"
    );
}

#[test]
fn an_event_with_a_unix_timestamp_is_refused() {
    let event = json!({
        "specversion": "1.0", "type": ORDER_CREATED, "source": "/orders", "id": "e-1",
        "time": 1_714_557_600, "datacontenttype": "application/json",
        "data": {"orderId": 1, "customer": "ada", "items": [{"sku": "A", "quantity": 1}],
                 "createdAt": 1_714_557_600}
    });
    let err = handle_order_created(event.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a CloudEvent this handler reads"),
        "{err}"
    );
}
