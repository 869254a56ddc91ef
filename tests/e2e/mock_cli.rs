//! The consumer-side commands as a user runs them: `accord mock` driven over its
//! admin API, `accord stub` serving a pact written by an official client, and
//! `accord record` writing a pact from real traffic; plus their bad-input exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use accord_e2e::{Running, accord_bin, run, spawn_example_provider};
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

fn start(args: &[&str]) -> Running {
    let mut command = Command::new(accord_bin());
    command.args(args);
    Running::start(command, Duration::from_secs(20))
}

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/official")
        .join(relative)
}

#[tokio::test]
async fn accord_mock_is_driven_over_its_admin_api_and_writes_the_pact() {
    let dir = tempfile::tempdir().unwrap();
    let pact_dir = dir.path().to_str().unwrap();
    let mock = start(&[
        "mock",
        "--port",
        "0",
        "--consumer",
        "web",
        "--provider",
        "orders",
        "--pact-dir",
        pact_dir,
    ]);
    let http = reqwest::Client::new();

    let registered = http
        .post(format!("{}/__accord/interactions", mock.url))
        .json(&json!({
            "description": "a request for order 1",
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {"status": 200, "body": {"id": {"pact:matcher:type": "integer", "value": 1}}}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    // A malformed interaction is refused with the field named, and nothing is registered.
    let malformed = http
        .post(format!("{}/__accord/interactions", mock.url))
        .json(
            &json!({"description": "x", "request": {"method": "GET"}, "response": {"status": 200}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["field"], "/request/path", "{error}");

    // Before the client calls, verification says what is missing.
    let early = http
        .get(format!("{}/__accord/verification", mock.url))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 422);

    let order: Value = http
        .get(format!("{}/orders/1", mock.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["id"], 1);
    let unexpected = http
        .get(format!("{}/orders/2", mock.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unexpected.status(),
        500,
        "an undeclared request is a mismatch"
    );
    let refused = http
        .post(format!("{}/__accord/pact", mock.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        422,
        "no pact while a request went unmatched"
    );

    http.delete(format!("{}/__accord/interactions", mock.url))
        .send()
        .await
        .unwrap();
    http.post(format!("{}/__accord/interactions", mock.url))
        .json(&json!({
            "description": "a request for order 1",
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {"status": 200, "body": {"id": {"pact:matcher:type": "integer", "value": 1}}}
        }))
        .send()
        .await
        .unwrap();
    http.get(format!("{}/orders/1", mock.url))
        .send()
        .await
        .unwrap();
    let written = http
        .post(format!("{}/__accord/pact", mock.url))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    let pact = accord_contract::Contract::from_file(dir.path().join("web-orders.json"))
        .expect("a valid pact");
    assert_eq!(pact.pact().interactions().len(), 1);
}

#[tokio::test]
async fn accord_stub_serves_a_pact_written_by_pact_js() {
    let file = fixture("pact-js/pacts/pactjs-v3-consumer-pactjs-v3-provider.json");
    let stub = start(&["stub", file.to_str().unwrap(), "--port", "0"]);
    let order: Value = reqwest::Client::new()
        .get(format!("{}/orders/1", stub.url))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["id"], 1);
    assert_eq!(order["status"], "shipped");
    let missing = reqwest::get(format!("{}/orders/404", stub.url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), "order 404 not found");
}

#[tokio::test]
async fn accord_record_writes_what_it_saw_with_type_matchers() {
    let provider =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let dir = tempfile::tempdir().unwrap();
    let pact_dir = dir.path().to_str().unwrap();
    let proxy = start(&[
        "record",
        "--target",
        &provider,
        "--port",
        "0",
        "--consumer",
        "web",
        "--provider",
        "orders",
        "--pact-dir",
        pact_dir,
        "--type-matchers",
    ]);
    let order: Value = reqwest::get(format!("{}/orders/1", proxy.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        order["status"], "shipped",
        "the proxy passes the real answer through"
    );
    let written = reqwest::Client::new()
        .post(format!("{}/__accord/pact", proxy.url))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);

    let pact: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("web-orders.json")).unwrap())
            .unwrap();
    let interaction = &pact["interactions"][0];
    assert_eq!(interaction["request"]["path"], "/orders/1");
    assert_eq!(
        interaction["response"]["body"]["customer"],
        "ada@example.com"
    );
    let rules = interaction["response"]["matchingRules"].to_string();
    assert!(
        rules.contains("\"type\""),
        "type matchers were asked for: {rules}"
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\"consumer\": {\"name\": \"web\"},\n \"provider\": ",
    )
    .unwrap();
    let output = run(Command::new(accord_bin())
        .arg("stub")
        .arg(&broken)
        .args(["--port", "0"]));
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("line 2"),
        "{stderr}"
    );

    // A response status that is not an integer made the pact library panic: now it is a
    // usage error naming the field, from stub, verify and monitor alike.
    let string_status = dir.path().join("string-status.json");
    std::fs::write(
        &string_status,
        serde_json::json!({
            "consumer": {"name": "web"}, "provider": {"name": "orders"},
            "interactions": [
                {"description": "a", "request": {"method": "GET", "path": "/a"}, "response": {"status": 200}},
                {"description": "b", "request": {"method": "GET", "path": "/b"}, "response": {"status": 200}},
                {"description": "c", "request": {"method": "GET", "path": "/c"}, "response": {"status": "404"}}
            ],
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        })
        .to_string(),
    )
    .unwrap();
    let file = string_status.to_str().unwrap();
    for (args, code) in [
        (vec!["stub", file, "--port", "0"], 64),
        (
            vec![
                "verify",
                "--provider",
                "orders",
                "--file",
                file,
                "--provider-base-url",
                "http://127.0.0.1:9",
            ],
            64,
        ),
        (
            vec![
                "monitor",
                "--pact-file",
                file,
                "--base-url",
                "http://127.0.0.1:9",
                "--once",
            ],
            64,
        ),
    ] {
        let output = run(Command::new(accord_bin()).args(&args));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/interactions/2/response/status") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run(Command::new(accord_bin()).args(["mock", "--port", &port]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&port), "{stderr}");
}
