//! Compatibility with the official Pact tools: a pact written by Accord is verified by the
//! official verifier (`pact verifier`) against a real provider.

use std::path::PathBuf;
use std::process::Command;

use accord_mock_server::PactBuilder;
use accord_mock_server::matchers::*;
use serde_json::json;

use crate::support::{Provider, client};

/// The official `pact` command: `$ACCORD_PACT_BIN`, or where `scripts/test` installs it.
fn pact_bin() -> PathBuf {
    let path = match std::env::var_os("ACCORD_PACT_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/accord/tools/venv/bin/pact"),
    };
    assert!(
        path.is_file(),
        "the official pact tools are not installed at {} (set ACCORD_PACT_BIN, or run scripts/test, which installs them)",
        path.display()
    );
    path
}

#[tokio::test]
async fn the_official_verifier_accepts_a_pact_written_by_accord() {
    let dir = tempfile::tempdir().unwrap();
    for v4 in [false, true] {
        let mut builder = PactBuilder::new("accord-consumer", "accord-provider")
            .output_dir(dir.path().join(if v4 { "v4" } else { "v3" }))
            .interaction("a request for order 7", |i| {
                i.given_with_params("an order exists", json!({"id": 7}))
                    .request(|r| r.get(term("^/orders/\\d+$", "/orders/7")))
                    .response(|r| {
                        r.status(200).json_body(json!({
                            "id": integer(7),
                            "status": term("^(pending|shipped)$", "shipped"),
                            "total": decimal(9.99),
                            "lines": each_like(json!({"sku": like("X-1"), "quantity": integer(1)})),
                        }))
                    })
            })
            .interaction("a request to create an order", |i| {
                i.request(|r| {
                    r.post("/orders")
                        .json_body(json!({"sku": "BOOK-42", "quantity": 3}))
                })
                .response(|r| {
                    r.status(201).json_body(
                        json!({"id": integer(1), "sku": like("BOOK-42"), "quantity": integer(3)}),
                    )
                })
            })
            .interaction("a request for a missing order", |i| {
                i.given("no order 404")
                    .request(|r| r.get("/orders/404"))
                    .response(|r| {
                        r.status(404)
                            .json_body(json!({"error": like("no such order")}))
                    })
            });
        if v4 {
            builder = builder.v4();
        }
        let mock = builder.start().await.unwrap();
        let http = client();
        http.get(mock.url_for("/orders/7")).send().await.unwrap();
        http.post(mock.url_for("/orders"))
            .json(&json!({"sku": "BOOK-42", "quantity": 3}))
            .send()
            .await
            .unwrap();
        http.get(mock.url_for("/orders/404")).send().await.unwrap();
        let pact_file = mock.finish().await.unwrap();

        let provider = Provider::start().await;
        let port = provider.port();
        let state_url = format!("{}/_pact/state", provider.url);
        let pact = pact_bin();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(pact)
                .env("PACT_DO_NOT_TRACK", "true")
                .args(["verifier", "--file"])
                .arg(&pact_file)
                .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
                .args(["--state-change-url", &state_url, "--no-colour"])
                .output()
                .expect("run pact verifier")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "the official verifier refused the {} pact:\n{stdout}\n{stderr}",
            if v4 { "V4" } else { "V3" }
        );
        assert!(stdout.contains("a request for order 7"), "{stdout}");
        assert!(!stdout.contains("FAILED"), "{stdout}");
    }
}
