//! Providers that answer 500, time out, drop the connection, or are not there at all.

use std::time::Duration;

use accord_verifier::{Outcome, Verifier, VerifyError, VerifyOptions, exit_code};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::write_pact;

fn thing_pact() -> serde_json::Value {
    json!({
        "consumer": {"name": "web"}, "provider": {"name": "things"},
        "interactions": [{
            "description": "a request for the thing",
            "request": {"method": "GET", "path": "/thing"},
            "response": {"status": 200, "body": {"a": 1}}
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

fn options(dir: &tempfile::TempDir) -> VerifyOptions {
    let pact = write_pact(dir.path(), "web-things.json", &thing_pact());
    VerifyOptions::new("things").pact_file(pact)
}

#[tokio::test]
async fn a_server_error_is_a_status_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&provider)
        .await;
    let report = Verifier::new(options(&dir))
        .verify_against(provider.uri().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report.outcome(), Outcome::Failed);
    let status = report.pacts[0].interactions[0]
        .mismatches
        .iter()
        .find(|m| m.kind == "status")
        .expect("a status mismatch");
    assert_eq!(
        (status.expected.as_str(), status.actual.as_str()),
        ("200", "500")
    );
}

#[tokio::test]
async fn a_provider_that_times_out_fails_the_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"a": 1}))
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&provider)
        .await;
    let mut options = options(&dir);
    options.request_timeout = Duration::from_millis(200);
    let report = Verifier::new(options)
        .verify_against(provider.uri().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report.outcome(), Outcome::Failed);
    let error = report.pacts[0].interactions[0]
        .error
        .clone()
        .expect("an error");
    assert!(error.contains("the provider did not answer"), "{error}");
    assert!(error.contains("--request-timeout is 200 ms"), "{error}");
}

#[tokio::test]
async fn a_provider_that_drops_the_connection_fails_the_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Answers the readiness probe (`GET /`), but closes the connection without answering
    // any other request.
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 4096];
            let read = socket.read(&mut buffer).await.unwrap_or(0);
            if buffer[..read].starts_with(b"GET / ") {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
            drop(socket);
        }
    });
    let mut options = options(&dir);
    options.request_timeout = Duration::from_secs(5);
    let report = Verifier::new(options)
        .verify_against(format!("http://{address}").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report.outcome(), Outcome::Failed);
    let error = report.pacts[0].interactions[0]
        .error
        .clone()
        .expect("an error");
    assert!(error.contains("the provider did not answer"), "{error}");
}

#[tokio::test]
async fn a_provider_that_is_not_there_is_reported_after_the_ready_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut options = options(&dir);
    options.provider_ready_timeout = Duration::from_millis(300);
    let url = format!("http://127.0.0.1:{port}");
    let error = Verifier::new(options)
        .verify_against(url.parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, VerifyError::ProviderUnreachable { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), exit_code::PROVIDER_UNREACHABLE);
    let message = error.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("--provider-ready-timeout"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn a_provider_that_is_still_starting_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // A provider still starting: the first two connections are closed unanswered, later
    // ones get the answer the pact expects.
    tokio::spawn(async move {
        let mut connections = 0;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            connections += 1;
            if connections <= 2 {
                drop(socket);
                continue;
            }
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let body = r#"{"a":1}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let mut options = options(&dir);
    options.provider_ready_timeout = Duration::from_secs(30);
    let report = Verifier::new(options)
        .verify_against(format!("http://{address}").parse().unwrap())
        .await
        .unwrap();
    report.assert_passed();
}
