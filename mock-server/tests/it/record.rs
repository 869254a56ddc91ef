//! `accord record`: a proxy in front of a real provider writes what it saw into a pact.

use std::net::SocketAddr;

use accord_mock_server::record::{RecordApplication, RecordConfig};
use accord_mock_server::stub::{DEFAULT_STATE_HEADER, StubApplication, StubConfig};
use accord_mock_server::{Error, PactFileOptions, PactSpecification};
use serde_json::{Value, json};

use accord_mock_server::browser::AllowedOrigins;
use accord_net::ServeOptions;

use crate::support::{Provider, client, read_pact};

fn config(target: &str, dir: &std::path::Path, type_matchers: bool) -> RecordConfig {
    RecordConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        target: target.parse().unwrap(),
        consumer: "web".into(),
        provider: "orders".into(),
        pact: PactFileOptions {
            dir: dir.to_path_buf(),
            specification: PactSpecification::V3,
        },
        type_matchers,
        serve: ServeOptions::default(),
    }
}

#[tokio::test]
async fn records_the_traffic_into_a_pact_that_a_stub_can_serve() {
    let provider = Provider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = RecordApplication::build(config(&provider.url, dir.path(), false))
        .await
        .unwrap();
    let http = client();

    let order = http
        .get(format!("{}/orders/7", recorder.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 200);
    let order: Value = order.json().await.unwrap();
    assert_eq!(order["id"], 7);
    let missing = http
        .get(format!("{}/orders/404", recorder.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let created = http
        .post(format!("{}/orders", recorder.url()))
        .json(&json!({"sku": "BOOK-42", "quantity": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // The same request again is recorded once.
    http.get(format!("{}/orders/7", recorder.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(recorder.recorded(), 3);

    let path = recorder.write_pact().await.unwrap();
    let pact = read_pact(&path);
    let interactions = pact["interactions"].as_array().unwrap();
    let descriptions: Vec<&str> = interactions
        .iter()
        .map(|i| i["description"].as_str().unwrap())
        .collect();
    assert!(descriptions.contains(&"GET /orders/7"), "{descriptions:?}");
    assert!(descriptions.contains(&"POST /orders"), "{descriptions:?}");
    let post = interactions
        .iter()
        .find(|i| i["description"] == "POST /orders")
        .unwrap();
    assert_eq!(
        post["request"]["body"],
        json!({"sku": "BOOK-42", "quantity": 3})
    );
    assert_eq!(post["response"]["status"], 201);
    assert_eq!(
        post["response"]["headers"]["Content-Type"],
        "application/json"
    );
    recorder.stop().await;

    // The recorded pact serves the same answers.
    let stub = StubApplication::build(StubConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        pacts: vec![path.display().to_string()],
        state_header: DEFAULT_STATE_HEADER.into(),
        cors: false,
        allowed_origins: AllowedOrigins::default(),
        serve: ServeOptions::default(),
    })
    .await
    .unwrap();
    let replayed: Value = http
        .get(format!("{}/orders/7", stub.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replayed, order);
    stub.stop().await;
}

#[tokio::test]
async fn type_matchers_keep_the_shape_not_the_data() {
    let provider = Provider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = RecordApplication::build(config(&provider.url, dir.path(), true))
        .await
        .unwrap();
    client()
        .get(format!("{}/orders/7", recorder.url()))
        .send()
        .await
        .unwrap();
    let pact = read_pact(&recorder.write_pact().await.unwrap());
    let rules = &pact["interactions"][0]["response"]["matchingRules"]["body"];
    assert_eq!(rules["$.id"]["matchers"][0]["match"], "type");
    assert_eq!(rules["$.lines"]["matchers"][0]["min"], 1);
    assert_eq!(rules["$.lines[*].sku"]["matchers"][0]["match"], "type");
    recorder.stop().await;
}

#[tokio::test]
async fn a_target_that_is_down_is_a_clear_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let target = format!("http://127.0.0.1:{port}");
    let err = RecordApplication::build(config(&target, dir.path(), false))
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(matches!(err, Error::TargetDown { .. }), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("Start the provider first"), "{message}");
}

#[tokio::test]
async fn a_target_that_goes_down_answers_502() {
    let provider = Provider::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A password in the target URL is not shown in the answer.
    let target = provider.url.replacen("http://", "http://u:hunter2@", 1);
    let recorder = RecordApplication::build(config(&target, dir.path(), false))
        .await
        .unwrap();
    drop(provider);
    // The provider's listener is gone once its server task has stopped; retry until then.
    let http = client();
    let mut answered_before_stopping = 0;
    let answer = loop {
        let answer = http
            .get(format!("{}/orders/1", recorder.url()))
            .send()
            .await
            .unwrap();
        if answer.status() != 200 {
            break answer;
        }
        answered_before_stopping += 1;
        tokio::task::yield_now().await;
    };
    assert_eq!(answer.status(), 502);
    let error: Value = answer.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the target"),
        "{error}"
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
    // Only answered requests are recorded (once, as they are all the same request).
    assert_eq!(
        recorder.recorded(),
        usize::from(answered_before_stopping > 0)
    );
    recorder.stop().await;
}
