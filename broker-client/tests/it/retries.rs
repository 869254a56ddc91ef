//! Retries: 5xx and network errors are retried with backoff, 4xx never.

use std::time::Duration;

use accord_broker_client::{BrokerClient, BrokerClientConfig, BrokerError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{broker, client_for, fast_retry, hal};

#[tokio::test]
async fn server_errors_are_retried_until_the_broker_recovers() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(hal(json!({"_embedded": {"environments": [
            {"uuid": "u1", "name": "test", "production": false}
        ]}})))
        .expect(1)
        .mount(&server)
        .await;

    let environments = client.environments().await.unwrap();
    assert_eq!(environments.len(), 1);
    assert_eq!(environments[0].name, "test");
}

#[tokio::test]
async fn server_errors_give_up_after_the_configured_attempts() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(
                json!({"error": {"message": "database is down", "reference": "x1"}}),
            ),
        )
        .expect(3)
        .mount(&server)
        .await;

    let error = client.environments().await.unwrap_err();
    match &error {
        BrokerError::Server {
            attempts,
            status,
            message,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(status.as_u16(), 500);
            assert_eq!(message, "database is down");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert!(error.to_string().contains("after 3 attempt(s)"), "{error}");
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let (server, client) = broker().await;
    for status in [400u16, 401, 404, 409, 422] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/"))
            .respond_with(hal(crate::helpers::index_body(&server.uri())))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/environments"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        // A fresh client, because the index is cached per client.
        let client = client_for(&server.uri(), None);
        assert!(client.environments().await.is_err(), "status {status}");
        server.verify().await;
    }
    drop(client);
}

#[tokio::test]
async fn network_errors_are_retried_then_reported_as_unreachable() {
    // A port that was just free: nothing listens there any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = client_for(&url, None);
    let error = client.environments().await.unwrap_err();
    match &error {
        BrokerError::Unreachable { attempts, .. } => assert_eq!(*attempts, 3),
        other => panic!("expected unreachable, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("PACT_BROKER_BASE_URL"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn timeouts_count_as_network_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(2)
        .mount(&server)
        .await;
    let config = BrokerClientConfig::new(server.uri().parse().unwrap())
        .with_retry(fast_retry(2))
        .with_timeout(Duration::from_millis(100));
    let client = BrokerClient::new(config).unwrap();
    let error = client.index().await.unwrap_err();
    assert!(
        matches!(error, BrokerError::Unreachable { attempts: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("timed out"), "{error}");
}
