//! The index, health, request ids and the error shape.

use crate::{Backend, backend_tests, spawn_app, spawn_app_with};

backend_tests!(
    index_lists_relations,
    heartbeat_answers,
    unknown_paths_get_json_404
);

async fn index_lists_relations(backend: Backend) {
    let app = spawn_app(backend).await;
    let index = app.get("/").await.expect(200);
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("application/hal+json")
    );
    let links = &index.body["_links"];
    assert_eq!(
        links["pb:publish-contracts"]["href"],
        format!("{}/contracts/publish", app.base)
    );
    assert_eq!(
        links["pb:provider-pacts-for-verification"]["href"],
        format!("{}/pacts/provider/{{provider}}/for-verification", app.base)
    );
    assert_eq!(
        links["pb:provider-pacts-for-verification"]["templated"],
        true
    );
    assert_eq!(links["pb:tagged-pact-versions"].get("templated"), None);
    assert_eq!(
        links["pb:pacticipant-branch-version"]["href"],
        format!(
            "{}/pacticipants/{{pacticipant}}/branches/{{branch}}/versions/{{version}}",
            app.base
        )
    );
    assert_eq!(links["curies"][0]["name"], "pb");
    assert_eq!(
        index.header("x-pact-broker-version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

async fn heartbeat_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/diagnostic/status/heartbeat").await.expect(200);
    assert_eq!(response.body["ok"], true);
    assert!(
        response.header("x-request-id").is_some(),
        "a request id is generated"
    );
    let deps = app.get("/diagnostic/status/dependencies").await.expect(200);
    assert_eq!(deps.body["database"]["ok"], true);
}

async fn unknown_paths_get_json_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/no/such/thing").await.expect(404);
    assert!(
        response.body["error"]
            .as_str()
            .unwrap()
            .contains("/no/such/thing")
    );
    // Errors share the API's media type, as the Pact Broker's do.
    assert_eq!(
        response.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
}

#[tokio::test]
async fn request_ids_are_echoed() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .get(format!("{}/diagnostic/status/heartbeat", app.base))
        .header("X-Request-ID", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn links_follow_forwarded_headers_of_a_trusted_proxy() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let response = app
        .client
        .get(format!("{}/", app.base))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "broker.example.com")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["_links"]["pb:pacticipants"]["href"],
        "https://broker.example.com/pacticipants"
    );
}
