//! Empty credentials and scoped tokens: each scope allows its writes and nothing else,
//! a refusal names the missing scope, the audit log names the token, and the token
//! itself is never stored or shown again.

use accord_broker::{Application, BasicCredentials, Config};
use secrecy::SecretString;
use serde_json::json;

use crate::{Backend, TestApp, TestDatabase, backend_tests, pact, spawn_app_with};

const ADMIN: &str = "Bearer admin-token-for-tests";

async fn spawn_secured(backend: Backend) -> TestApp {
    let mut app = spawn_app_with(backend, |config| {
        config.auth.token = Some(SecretString::from("admin-token-for-tests"));
        config.auth.read_only_token = Some(SecretString::from("read-token-for-tests"));
    })
    .await;
    app.auth = Some(ADMIN.into());
    app
}

fn as_bearer(app: &TestApp, token: &str) -> TestApp {
    app.as_caller(&format!("Bearer {token}"))
}

async fn create_token(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    let created = app
        .post("/tokens", json!({ "name": name, "scopes": scopes }))
        .await
        .expect(201);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    created.body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_broker_refuses_to_start_with_an_empty_credential() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    for adjust in [
        (|c: &mut Config| c.auth.token = Some(SecretString::from(""))) as fn(&mut Config),
        |c| c.auth.read_only_token = Some(SecretString::from("  ")),
        |c| {
            c.auth.basic = Some(BasicCredentials {
                username: "admin".into(),
                password: SecretString::from(""),
            })
        },
        |c| {
            c.auth.basic = Some(BasicCredentials {
                username: "".into(),
                password: SecretString::from("secret"),
            })
        },
    ] {
        let mut config = Config::new(database.url.clone());
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = Application::build(config, listener)
            .await
            .err()
            .expect("an empty credential is refused");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        let text = format!("{err}: {}", cause.unwrap_or_default());
        assert!(text.contains("empty"), "{text}");
    }
}

async fn empty_presented_credentials_are_not_credentials(backend: Backend) {
    let app = spawn_secured(backend).await;
    for header in ["Bearer ", "Bearer", "Basic ", "Basic Og=="] {
        let anonymous = app.as_caller(header);
        anonymous
            .post("/pacticipants", json!({ "name": "Foo" }))
            .await
            .expect(401);
        anonymous.get("/pacticipants").await.expect(401);
    }
}

async fn each_scope_allows_its_writes_and_names_what_is_missing(backend: Backend) {
    let admin = spawn_secured(backend).await;
    let production = crate::matrix::environment(&admin, "production").await;
    let test_env = crate::matrix::environment(&admin, "test").await;
    admin
        .publish(
            "orders-ui",
            "1",
            "orders",
            None,
            &pact("orders-ui", "orders", "a"),
        )
        .await
        .expect(200);

    let token = create_token(&admin, "ci-web", &["publish:web", "deploy:web@production"]).await;
    assert!(token.starts_with("accord_"), "{token}");
    let ci = as_bearer(&admin, &token);

    // Its own consumer: publish, tag, deploy to production.
    ci.publish(
        "web",
        "1",
        "orders",
        Some("main"),
        &pact("web", "orders", "a"),
    )
    .await
    .expect(200);
    ci.put("/pacticipants/web/versions/1/tags/prod", json!({}))
        .await
        .expect(201);
    ci.post(
        &format!("/pacticipants/web/versions/1/deployed-versions/environment/{production}"),
        json!({}),
    )
    .await
    .expect(201);
    // Reads are allowed to every token.
    ci.get("/pacticipants/web").await.expect(200);
    ci.post("/pacts/provider/orders/for-verification", json!({}))
        .await
        .expect(200);

    // Everything else is refused, naming the scope.
    let missing = |resp: crate::Resp| resp.expect(403).body["missingScope"].clone();
    assert_eq!(
        missing(
            ci.publish(
                "mobile",
                "1",
                "orders",
                None,
                &pact("mobile", "orders", "a")
            )
            .await
        ),
        json!("publish:mobile")
    );
    assert_eq!(
        missing(
            ci.post(
                &format!("/pacticipants/web/versions/1/deployed-versions/environment/{test_env}"),
                json!({}),
            )
            .await
        ),
        json!("deploy:web@test")
    );
    let fetched = ci
        .get("/pacts/provider/orders/consumer/orders-ui/version/1")
        .await
        .expect(200);
    let results = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        missing(
            ci.post(
                &results,
                json!({ "success": true, "providerApplicationVersion": "9" }),
            )
            .await
        ),
        json!("verify:orders")
    );
    assert_eq!(
        missing(
            ci.put("/pacticipants/orders-ui/versions/1/tags/prod", json!({}))
                .await
        ),
        json!("publish:orders-ui, verify:orders-ui or deploy:orders-ui")
    );
    assert_eq!(
        missing(
            ci.post(
                "/webhooks",
                json!({ "events": [{ "name": "contract_published" }], "request": { "method": "POST", "url": "https://ci.example.com/build" } }),
            )
            .await
        ),
        json!("webhooks")
    );
    for (path, body) in [
        (
            "/environments",
            json!({ "name": "staging", "production": false }),
        ),
        ("/pacticipants", json!({ "name": "new" })),
        (
            "/tokens",
            json!({ "name": "escalate", "scopes": ["admin"] }),
        ),
        ("/admin/retention", json!({ "dryRun": true })),
    ] {
        assert_eq!(missing(ci.post(path, body).await), json!("admin"), "{path}");
    }
    assert_eq!(missing(ci.get("/audit").await), json!("admin"));
    assert_eq!(missing(ci.get("/tokens").await), json!("admin"));
    ci.delete("/pacticipants/web").await.expect(403);

    // A provider's token verifies its own pacts only.
    let verifier = as_bearer(
        &admin,
        &create_token(&admin, "ci-orders", &["verify:orders"]).await,
    );
    verifier
        .post(
            &results,
            json!({ "success": true, "providerApplicationVersion": "9" }),
        )
        .await
        .expect(201);
    verifier
        .publish(
            "orders",
            "9",
            "billing",
            None,
            &pact("orders", "billing", "a"),
        )
        .await
        .expect(403);

    // A webhooks token manages webhooks only.
    let hooks = as_bearer(&admin, &create_token(&admin, "hooks", &["webhooks"]).await);
    hooks
        .post(
            "/webhooks",
            json!({ "events": [{ "name": "contract_published" }], "request": { "method": "POST", "url": "https://ci.example.com/build" } }),
        )
        .await
        .expect(201);
    hooks
        .put("/pacticipants/web/versions/1/tags/x", json!({}))
        .await
        .expect(403);

    // The audit log names the token that made each write.
    let audit = admin.get("/audit?actor=token:ci-web").await.expect(200);
    let paths: Vec<&str> = audit.body["_embedded"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/contracts/publish"), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("/tags/prod")), "{paths:?}");
    let creations = admin
        .get("/audit?path=/tokens&actor=token")
        .await
        .expect(200);
    assert_eq!(
        creations.body["_embedded"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "creating a token is audited under its creator: {}",
        creations.text
    );
}

async fn tokens_are_shown_once_stored_hashed_and_revocable(backend: Backend) {
    let admin = spawn_secured(backend).await;
    let token = create_token(&admin, "ci-web", &["publish:web", "publish:web"]).await;

    let listed = admin.get("/tokens").await.expect(200);
    let items = listed.body["_embedded"]["tokens"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], json!("ci-web"));
    assert_eq!(items[0]["scopes"], json!(["publish:web"]));
    assert_eq!(items[0]["createdBy"], json!("token"));
    assert!(items[0].get("token").is_none());
    assert!(!listed.text.contains(&token));
    let shown = admin.get("/tokens/ci-web").await.expect(200);
    assert!(!shown.text.contains(&token));

    // Only the hash is in the database.
    let stored = raw_token_rows(&admin).await;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token), "the token itself is stored");
    assert_eq!(stored[0].len(), 64, "a hex SHA-256");

    // A taken name, a bad scope, no scopes, an expiry in the past: refused, stored nothing.
    let conflict = admin
        .post("/tokens", json!({ "name": "ci-web", "scopes": ["read"] }))
        .await
        .expect(409);
    assert!(conflict.text.contains("ci-web"), "{}", conflict.text);
    let bad = admin
        .post(
            "/tokens",
            json!({ "name": "x", "scopes": ["read", "write:all"] }),
        )
        .await
        .expect(400);
    assert!(bad.body["errors"]["scopes.1"].is_array(), "{}", bad.text);
    admin
        .post("/tokens", json!({ "name": "x", "scopes": [] }))
        .await
        .expect(400);
    let past = admin
        .post(
            "/tokens",
            json!({ "name": "x", "scopes": ["read"], "expiresAt": "2020-01-01T00:00:00Z" }),
        )
        .await
        .expect(400);
    assert!(past.body["errors"]["expiresAt"].is_array(), "{}", past.text);
    assert_eq!(raw_token_rows(&admin).await.len(), 1);

    // The read-only token may not manage tokens.
    let reader = as_bearer(&admin, "read-token-for-tests");
    reader
        .post("/tokens", json!({ "name": "y", "scopes": ["read"] }))
        .await
        .expect(403);
    reader.get("/tokens").await.expect(403);

    // Revoked: refused from then on.
    let ci = as_bearer(&admin, &token);
    ci.get("/pacticipants").await.expect(200);
    admin.delete("/tokens/ci-web").await.expect(204);
    ci.get("/pacticipants").await.expect(401);
    admin.delete("/tokens/ci-web").await.expect(404);
    // A token-shaped guess is not a credential.
    as_bearer(&admin, &format!("{token}x"))
        .get("/pacticipants")
        .await
        .expect(401);
}

/// The `token_hash` column of every stored token, read past the API.
async fn raw_token_rows(app: &TestApp) -> Vec<String> {
    use sqlx::Connection;
    let url = &app.database.url;
    let query = "SELECT token_hash FROM api_tokens";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_all(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_all(&mut conn)
            .await
            .unwrap()
    }
}

async fn public_read_does_not_open_admin_reads(backend: Backend) {
    let admin = spawn_app_with(backend, |config| {
        config.auth.token = Some(SecretString::from("admin-token-for-tests"));
        config.auth.public_read = true;
    })
    .await;
    admin.get("/pacticipants").await.expect(200);
    admin.get("/tokens").await.expect(401);
    admin.get("/audit").await.expect(401);
}

backend_tests!(
    empty_presented_credentials_are_not_credentials,
    each_scope_allows_its_writes_and_names_what_is_missing,
    tokens_are_shown_once_stored_hashed_and_revocable,
    public_read_does_not_open_admin_reads,
);
