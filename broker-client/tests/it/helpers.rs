use std::time::Duration;

use accord_broker_client::{BrokerAuth, BrokerClient, BrokerClientConfig, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Retries that do not slow the tests down.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    }
}

pub fn client_for(base: &str, auth: Option<BrokerAuth>) -> BrokerClient {
    let config = BrokerClientConfig::new(base.parse().unwrap())
        .with_auth(auth)
        .with_retry(fast_retry(3))
        .with_timeout(Duration::from_secs(5));
    BrokerClient::new(config).unwrap()
}

/// The index resource of a broker at `base`, with the relations the client uses.
pub fn index_body(base: &str) -> Value {
    json!({"_links": {
        "self": {"href": base},
        "pb:publish-contracts": {"href": format!("{base}/contracts/publish")},
        "pb:provider-pacts-for-verification": {"href": format!("{base}/pacts/provider/{{provider}}/for-verification"), "templated": true},
        "pb:environments": {"href": format!("{base}/environments")},
        "pb:pacticipant-version": {"href": format!("{base}/pacticipants/{{pacticipant}}/versions/{{version}}"), "templated": true},
        "pb:latest-version": {"href": format!("{base}/pacticipants/{{pacticipant}}/latest-version"), "templated": true},
        "pb:latest-tagged-version": {"href": format!("{base}/pacticipants/{{pacticipant}}/latest-version/{{tag}}"), "templated": true}
    }})
}

pub fn hal(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/hal+json;charset=utf-8")
}

/// A wiremock broker serving the index at `/`, and a client for it.
pub async fn broker() -> (MockServer, BrokerClient) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(hal(index_body(&server.uri())))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), None);
    (server, client)
}
