//! HAL navigation: relations from the index, templated links, re-targeted hrefs.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::helpers::{broker, client_for, hal};

#[tokio::test]
async fn the_index_is_fetched_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(hal(crate::helpers::index_body(&server.uri())))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(hal(json!({"_embedded": {"environments": []}})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), None);
    client.environments().await.unwrap();
    client.environments().await.unwrap();
}

#[tokio::test]
async fn templated_links_are_expanded_with_encoded_values() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/Foo%20Bar%2Fweb/versions/1.0%2Bb1"))
        .respond_with(hal(json!({"number": "1.0+b1"})))
        .expect(1)
        .mount(&server)
        .await;
    let version = client
        .describe_version("Foo Bar/web", "1.0+b1")
        .await
        .unwrap();
    assert_eq!(version.number, "1.0+b1");
}

#[tokio::test]
async fn hrefs_naming_another_host_are_retargeted_at_the_configured_broker() {
    let server = MockServer::start().await;
    // The broker believes it lives at an internal address the client cannot reach.
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(hal(crate::helpers::index_body(
            "http://broker.internal:9292",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(hal(json!({"_embedded": {"environments": []}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), None);
    assert!(client.environments().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_context_path_in_the_base_url_is_kept() {
    let server = MockServer::start().await;
    let base = format!("{}/pact", server.uri());
    // The broker's links lack the context path, as when a proxy adds it.
    Mock::given(method("GET"))
        .and(path("/pact"))
        .respond_with(hal(crate::helpers::index_body(&server.uri())))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pact/environments"))
        .respond_with(hal(json!({"_embedded": {"environments": []}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&base, None);
    client.environments().await.unwrap();
    assert_eq!(client.resolve("/pact/x").unwrap().path(), "/pact/x");
    assert_eq!(
        client.resolve("http://other/y?a=1").unwrap().as_str(),
        format!("{base}/y?a=1")
    );
}

#[tokio::test]
async fn the_generic_get_returns_a_hal_document() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/integrations"))
        .respond_with(hal(json!({
            "_links": {"self": {"href": "/integrations"}},
            "_embedded": {"integrations": [{"consumer": {"name": "web"}}]}
        })))
        .mount(&server)
        .await;
    let document = client.get("/integrations").await.unwrap();
    assert_eq!(document.embedded("integrations").len(), 1);
    assert_eq!(document.link("self").unwrap().href, "/integrations");
}
