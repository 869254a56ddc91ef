//! Error mapping: 404 names what was looked up, other 4xx carry the broker's message.

use accord_broker_client::{BrokerError, ConsumerVersionSelector, PactsForVerificationRequest};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::broker;

#[tokio::test]
async fn not_found_names_what_was_looked_up() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/Foo/versions/1.2.3"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "not found"})))
        .mount(&server)
        .await;
    let error = client.describe_version("Foo", "1.2.3").await.unwrap_err();
    assert!(matches!(error, BrokerError::NotFound { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("version \"1.2.3\" of pacticipant \"Foo\""),
        "{message}"
    );
    assert!(message.contains("404"), "{message}");
}

#[tokio::test]
async fn a_refused_selector_carries_the_brokers_explanation() {
    let (server, client) = broker().await;
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": {
            "consumerVersionSelectors": ["mainBranch must be true (at index 0)"]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let request = PactsForVerificationRequest {
        consumer_version_selectors: vec![ConsumerVersionSelector {
            main_branch: Some(false),
            ..Default::default()
        }],
        ..Default::default()
    };
    let error = client
        .pacts_for_verification("orders", &request)
        .await
        .unwrap_err();
    match &error {
        BrokerError::Refused {
            status, message, ..
        } => {
            assert_eq!(status.as_u16(), 400);
            assert_eq!(
                message,
                "consumerVersionSelectors: mainBranch must be true (at index 0)"
            );
        }
        other => panic!("expected refused, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_provider_is_not_found() {
    let (server, client) = broker().await;
    Mock::given(method("POST"))
        .and(path("/pacts/provider/nobody/for-verification"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let error = client
        .pacts_for_verification("nobody", &PactsForVerificationRequest::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("provider \"nobody\""), "{error}");
}

#[tokio::test]
async fn a_success_that_is_not_json_is_a_bad_response() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    let error = client.environments().await.unwrap_err();
    assert!(
        matches!(error, BrokerError::BadResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_missing_relation_is_named() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"_links": {}})))
        .mount(&server)
        .await;
    let client = crate::helpers::client_for(&server.uri(), None);
    let error = client.environments().await.unwrap_err();
    assert!(error.to_string().contains("`pb:environments`"), "{error}");
}
