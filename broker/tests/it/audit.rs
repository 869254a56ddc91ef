//! The audit log API: every committed write shows up with who, what and when;
//! rejected writes leave nothing; reading it needs read-write credentials.

use accord_broker::BasicCredentials;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{Backend, Resp, TestApp, backend_tests, pact, spawn_app, spawn_app_with};

backend_tests!(
    writes_are_audited_with_actor_method_path_and_request_id,
    audit_log_pages_and_filters,
);

/// Sends a request with the given credentials and `X-Request-ID`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: &str,
    request_id: &str,
    body: Option<Value>,
) -> Resp {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("Accept", "application/hal+json")
        .header("Authorization", auth)
        .header("X-Request-ID", request_id);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

fn publish_body(version: &str, variant: &str) -> Value {
    use base64::Engine;
    json!({
        "pacticipantName": "web",
        "pacticipantVersionNumber": version,
        "contracts": [{
            "consumerName": "web",
            "providerName": "api",
            "specification": "pact",
            "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD
                .encode(pact("web", "api", variant).to_string()),
        }]
    })
}

/// The entries of one audit page.
fn entries(resp: &Resp) -> Vec<Value> {
    resp.body["_embedded"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn writes_are_audited_with_actor_method_path_and_request_id(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.auth.basic = Some(BasicCredentials {
            username: "alice".into(),
            password: SecretString::from("alice-secret"),
        });
        config.auth.read_only_basic = Some(BasicCredentials {
            username: "reader".into(),
            password: SecretString::from("reader-secret"),
        });
        config.auth.token = Some(SecretString::from("ci-token"));
        config.auth.public_read = true;
    })
    .await;
    let alice = basic("alice", "alice-secret");
    let token = "Bearer ci-token";

    send(
        &app,
        Method::POST,
        "/contracts/publish",
        &alice,
        "req-publish",
        Some(publish_body("1.0.0", "a")),
    )
    .await
    .expect(200);
    send(
        &app,
        Method::PUT,
        "/pacticipants/web/versions/1.0.0/tags/prod",
        token,
        "req-tag",
        Some(json!({})),
    )
    .await
    .expect(201);
    send(
        &app,
        Method::PUT,
        "/pacticipants/web/versions/0.9.0",
        &alice,
        "req-version",
        Some(json!({})),
    )
    .await
    .expect(201);
    send(
        &app,
        Method::DELETE,
        "/pacticipants/web/versions/0.9.0",
        &alice,
        "req-delete",
        None,
    )
    .await
    .expect(204);
    // Different content for a version that already has a pact: refused, stores nothing.
    send(
        &app,
        Method::POST,
        "/contracts/publish",
        &alice,
        "req-conflict",
        Some(publish_body("1.0.0", "b")),
    )
    .await
    .expect(409);

    let log = send(&app, Method::GET, "/audit", &alice, "req-read", None)
        .await
        .expect(200);
    let found = entries(&log);
    let by_request = |id: &str| -> Vec<Value> {
        found
            .iter()
            .filter(|e| e["requestId"] == id)
            .cloned()
            .collect()
    };
    let publish = by_request("req-publish");
    assert_eq!(
        publish.len(),
        1,
        "one entry per committed write: {found:#?}"
    );
    assert_eq!(publish[0]["actor"], "alice");
    assert_eq!(publish[0]["method"], "POST");
    assert_eq!(publish[0]["path"], "/contracts/publish");
    assert!(publish[0]["createdAt"].as_str().is_some());
    let tag = by_request("req-tag");
    assert_eq!(tag.len(), 1);
    assert_eq!(tag[0]["actor"], "token");
    assert_eq!(tag[0]["method"], "PUT");
    assert_eq!(tag[0]["path"], "/pacticipants/web/versions/1.0.0/tags/prod");
    let delete = by_request("req-delete");
    assert_eq!(delete.len(), 1);
    assert_eq!(delete[0]["actor"], "alice");
    assert_eq!(delete[0]["method"], "DELETE");
    assert_eq!(delete[0]["path"], "/pacticipants/web/versions/0.9.0");
    assert!(
        by_request("req-conflict").is_empty(),
        "a rejected write is not audited"
    );
    assert!(by_request("req-read").is_empty(), "reads are not audited");
    // Newest first.
    let ids: Vec<i64> = found.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);

    // The filter by request id finds exactly the write.
    let one = send(
        &app,
        Method::GET,
        "/audit?requestId=req-tag",
        &alice,
        "r",
        None,
    )
    .await
    .expect(200);
    assert_eq!(entries(&one).len(), 1);
    assert_eq!(entries(&one)[0]["path"], tag[0]["path"]);

    // Who changed what is sensitive: read-only credentials and public reads are refused.
    let reader = basic("reader", "reader-secret");
    send(&app, Method::GET, "/audit", &reader, "r", None)
        .await
        .expect(403);
    let anonymous = app.get("/audit").await.expect(401);
    assert!(anonymous.header("www-authenticate").is_some());
    // The rest of the API stays publicly readable.
    app.get("/pacticipants").await.expect(200);
    // The index links the log.
    let index = send(&app, Method::GET, "/", token, "r", None)
        .await
        .expect(200);
    assert!(
        index.body["_links"]["accord:audit"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/audit")
    );
}

async fn audit_log_pages_and_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    for name in ["a", "b", "c"] {
        app.post("/pacticipants", json!({ "name": name }))
            .await
            .expect(201);
    }
    app.put("/pacticipants/a/versions/1", json!({}))
        .await
        .expect(201);

    let all = app.get("/audit").await.expect(200);
    assert_eq!(all.body["page"]["totalElements"], 4);
    assert!(
        entries(&all).iter().all(|e| e["actor"] == "anonymous"),
        "without authentication the actor is anonymous"
    );

    let first = app.get("/audit?size=3").await.expect(200);
    assert_eq!(entries(&first).len(), 3);
    assert_eq!(entries(&first)[0]["path"], "/pacticipants/a/versions/1");
    let next = first.body["_links"]["next"]["href"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = app.get(&next).await.expect(200);
    assert_eq!(entries(&second).len(), 1);
    assert_eq!(entries(&second)[0]["path"], "/pacticipants");

    // Filters combine, and the paging links keep them.
    let posts = app
        .get("/audit?method=post&path=/pacticipants&size=2")
        .await
        .expect(200);
    assert_eq!(posts.body["page"]["totalElements"], 3);
    let next = posts.body["_links"]["next"]["href"].as_str().unwrap();
    assert!(next.contains("method=POST"), "{next}");
    let rest = app.get(next).await.expect(200);
    assert_eq!(entries(&rest).len(), 1);
    assert_eq!(entries(&rest)[0]["method"], "POST");
    let by_path = app.get("/audit?path=/pacticipants/a/").await.expect(200);
    assert_eq!(by_path.body["page"]["totalElements"], 1);
    let nobody = app.get("/audit?actor=someone-else").await.expect(200);
    assert_eq!(nobody.body["page"]["totalElements"], 0);

    // Time windows: everything so far is before "until now", nothing since then.
    let later = "2999-01-01T00:00:00Z";
    let window = app
        .get(&format!("/audit?since=2000-01-01T00:00:00Z&until={later}"))
        .await
        .expect(200);
    assert_eq!(window.body["page"]["totalElements"], 4);
    let future = app.get(&format!("/audit?since={later}")).await.expect(200);
    assert_eq!(future.body["page"]["totalElements"], 0);

    // Bad values are refused, naming the field.
    let bad = app.get("/audit?since=yesterday").await.expect(400);
    assert!(
        bad.body["errors"]["since"][0].as_str().is_some(),
        "{}",
        bad.text
    );
    let bad = app.get("/audit?size=0").await.expect(400);
    assert!(
        bad.body["errors"]["size"][0].as_str().is_some(),
        "{}",
        bad.text
    );
    let bad = app.get("/audit?size=5000").await.expect(400);
    assert!(
        bad.body["errors"]["size"][0].as_str().is_some(),
        "{}",
        bad.text
    );
}
