//! Authentication and body limits.

use accord_broker::BasicCredentials;
use secrecy::SecretString;
use serde_json::json;

use crate::{Backend, spawn_app_with};

#[tokio::test]
async fn read_only_and_read_write_credentials() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.auth.basic = Some(BasicCredentials {
            username: "rw".into(),
            password: SecretString::from("rw-secret"),
        });
        config.auth.read_only_basic = Some(BasicCredentials {
            username: "ro".into(),
            password: SecretString::from("ro-secret"),
        });
        config.auth.token = Some(SecretString::from("token-rw"));
    })
    .await;
    let anonymous = app.get("/").await.expect(401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"Restricted area\"")
    );
    app.get("/diagnostic/status/heartbeat").await.expect(200);

    let app = app.with_basic("ro", "ro-secret");
    app.get("/").await.expect(200);
    app.post("/pacts/provider/Nobody/for-verification", json!({}))
        .await
        .expect(404);
    app.post("/pacticipants", json!({ "name": "Foo" }))
        .await
        .expect(403);

    let app = app.with_basic("rw", "rw-secret");
    app.post("/pacticipants", json!({ "name": "Foo" }))
        .await
        .expect(201);
    let app = app.with_basic("rw", "wrong");
    app.get("/").await.expect(401);

    let mut app = app;
    app.auth = Some("Bearer token-rw".into());
    app.post("/pacticipants", json!({ "name": "Bar" }))
        .await
        .expect(201);
}

#[tokio::test]
async fn public_read_lets_anyone_read() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.auth.token = Some(SecretString::from("token-rw"));
        config.auth.public_read = true;
    })
    .await;
    app.get("/pacticipants").await.expect(200);
    app.post("/pacticipants", json!({ "name": "Foo" }))
        .await
        .expect(401);
}

#[tokio::test]
async fn oversized_bodies_get_413_json() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.body_limit_bytes = 1024).await;
    let big = "x".repeat(4096);
    let response = app
        .post("/pacticipants", json!({ "name": big }))
        .await
        .expect(413);
    assert!(response.body["error"].as_str().unwrap().contains("1024"));
    app.get("/pacticipants/x").await.expect(404);
}
