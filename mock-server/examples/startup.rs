//! Measures how long an in-process mock provider takes to start and to stop, as a consumer test
//! sees it: `cargo run --release -p accord-mock-server --example startup`.
//!
//! Each round declares one interaction, starts the mock, sends the request, and finishes (which
//! verifies, stops the server and merges the pact file into a temporary directory).

use std::time::{Duration, Instant};

use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::{integer, like};
use serde_json::json;

#[tokio::main]
async fn main() {
    let rounds = 200;
    let dir = tempfile::tempdir().expect("temporary directory");
    let http = reqwest::Client::new();
    let (mut start, mut finish) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let builder = PactBuilder::new("startup-consumer", "startup-provider")
            .output_dir(dir.path())
            .interaction("a request for an order", |i| {
                i.given("an order exists")
                    .request(|r| r.get("/orders/1"))
                    .response(|r| r.json_body(json!({"id": integer(1), "name": like("x")})))
            });
        let began = Instant::now();
        let mock = builder.start().await.expect("start");
        start.push(began.elapsed());
        http.get(mock.url_for("/orders/1"))
            .send()
            .await
            .expect("request");
        let began = Instant::now();
        mock.finish().await.expect("finish");
        finish.push(began.elapsed());
    }
    let report = |name: &str, mut times: Vec<Duration>| {
        times.sort();
        println!(
            "{name:<7} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 99 / 100].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    };
    println!("{rounds} rounds");
    report("start", start);
    report("finish", finish);
}
