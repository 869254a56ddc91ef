//! Credentials: Basic and Bearer headers, credentials in the URL, 401/403 messages.

use accord_broker_client::{BrokerAuth, BrokerError, SecretString};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{client_for, hal, index_body};

async fn index_requiring(server: &MockServer, authorization: &str) {
    Mock::given(method("GET"))
        .and(path("/"))
        .and(header("authorization", authorization))
        .respond_with(hal(index_body(&server.uri())))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn sends_basic_credentials() {
    let server = MockServer::start().await;
    // "ci:s3cret" in Base64.
    index_requiring(&server, "Basic Y2k6czNjcmV0").await;
    let auth = BrokerAuth::Basic {
        username: "ci".into(),
        password: SecretString::from("s3cret"),
    };
    client_for(&server.uri(), Some(auth)).index().await.unwrap();
}

#[tokio::test]
async fn sends_bearer_tokens() {
    let server = MockServer::start().await;
    index_requiring(&server, "Bearer tok-123").await;
    let auth = BrokerAuth::Bearer(SecretString::from("tok-123"));
    client_for(&server.uri(), Some(auth)).index().await.unwrap();
}

#[tokio::test]
async fn credentials_in_the_url_become_basic_auth_and_leave_the_url() {
    let server = MockServer::start().await;
    index_requiring(&server, "Basic Y2k6czNjcmV0").await;
    let url = server.uri().replace("http://", "http://ci:s3cret@");
    let client = client_for(&url, None);
    assert!(!client.base_url().as_str().contains("s3cret"));
    client.index().await.unwrap();
}

#[tokio::test]
async fn unauthorized_says_which_credentials_to_check_and_never_shows_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"Restricted area\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    let auth = BrokerAuth::Bearer(SecretString::from("tok-very-secret"));
    let error = client_for(&server.uri(), Some(auth))
        .index()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BrokerError::Unauthorized { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("PACT_BROKER_TOKEN"), "{message}");
    assert!(message.contains("PACT_BROKER_USERNAME"), "{message}");
    assert!(
        !message.contains("tok-very-secret") && !format!("{error:?}").contains("tok-very-secret")
    );
}

#[tokio::test]
async fn forbidden_mentions_read_only_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let error = client_for(&server.uri(), None).index().await.unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");
}

#[tokio::test]
async fn forbidden_shows_the_brokers_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": "This token lacks the scope deploy:web@production, which this request needs."
        })))
        .mount(&server)
        .await;
    let error = client_for(&server.uri(), None).index().await.unwrap_err();
    assert!(
        error.to_string().contains("deploy:web@production"),
        "{error}"
    );
}
