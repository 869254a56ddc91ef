//! A consumer message test timed from the builder to the pact on disk: declare an
//! `order.created` CloudEvent with matchers and generators, hand the example to a handler
//! that parses it, and write the pact (a fresh file each run, fsynced, as in a test suite's
//! first test of a pair).

use std::time::Instant;

use accord_mock_server::matchers::{each_like, integer, like, term, uuid};
use accord_mock_server::{CloudEvent, MessagePactBuilder, RFC3339_PATTERN};
use serde_json::json;

use crate::stats::Summary;

pub async fn run(runs: usize) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        MessagePactBuilder::new("shipping", "orders")
            .output_dir(dir.path())
            .expects_to_receive("an order.created event", |m| {
                m.given_with_params("an order exists", json!({"id": 1}))
                    .cloud_event(
                        CloudEvent::new("com.example.order.created", "/orders").data(json!({
                            "orderId": integer(1),
                            "reference": uuid("9f8b2c1e-0d7a-4c3b-8e6f-5a4d3c2b1a09"),
                            "customer": like("ada@example.com"),
                            "items": each_like(json!({"sku": like("BOOK-42"), "quantity": integer(2)})),
                            "createdAt": term(RFC3339_PATTERN, "2024-05-01T10:00:00Z"),
                        })),
                    )
                    .kafka_topic("orders")
            })?
            .consume(|message| {
                let event = message.json().map_err(|err| err.to_string())?;
                event["data"]["orderId"]
                    .as_i64()
                    .ok_or_else(|| "no order id".to_string())
            })
            .await?;
        times.push(started.elapsed());
    }
    if let Some(summary) = Summary::of(&times) {
        println!(
            "{}",
            summary.line("consumer message test, builder to pact written")
        );
    }
    Ok(())
}
