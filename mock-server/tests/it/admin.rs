//! `accord mock`: the standalone mock driven over its admin API.

use std::net::SocketAddr;

use accord_mock_server::admin::{MockApplication, MockConfig};
use accord_mock_server::browser::AllowedOrigins;
use accord_mock_server::{Error, PactFileOptions, PactSpecification};
use accord_net::ServeOptions;
use serde_json::{Value, json};

use crate::support::{client, read_pact};

async fn spawn_mock(dir: &std::path::Path) -> MockApplication {
    spawn_mock_allowing(dir, AllowedOrigins::default()).await
}

async fn spawn_mock_allowing(dir: &std::path::Path, origins: AllowedOrigins) -> MockApplication {
    MockApplication::build(MockConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        consumer: "browser-app".into(),
        provider: "orders".into(),
        pact: PactFileOptions {
            dir: dir.to_path_buf(),
            specification: PactSpecification::V3,
        },
        cors: true,
        allowed_origins: origins,
        serve: ServeOptions::default(),
    })
    .await
    .unwrap()
}

fn order_interaction() -> Value {
    json!({
        "description": "a request for order 1",
        "providerStates": [{"name": "an order exists", "params": {"id": 1}}],
        "request": {"method": "GET", "path": "/orders/1"},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"},
            "body": {"id": {"pact:matcher:type": "integer", "value": 1}, "status": "open"}}
    })
}

#[tokio::test]
async fn register_exercise_verify_and_write() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let admin = |path: &str| format!("{}/__accord/{path}", mock.url());

    let registered = http
        .post(admin("interactions"))
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    assert_eq!(
        registered.json::<Value>().await.unwrap(),
        json!({"registered": 1, "total": 1})
    );

    // Not exercised yet: verification fails and names the interaction.
    let verification = http.get(admin("verification")).send().await.unwrap();
    assert_eq!(verification.status(), 422);
    let body: Value = verification.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("a request for order 1"),
        "{body}"
    );
    let refused = http.post(admin("pact")).send().await.unwrap();
    assert_eq!(refused.status(), 422);

    let order: Value = http
        .get(format!("{}/orders/1", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order, json!({"id": 1, "status": "open"}));

    let listed: Value = http
        .get(admin("interactions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["interactions"][0]["requests"], 1);
    assert_eq!(
        listed["interactions"][0]["description"],
        "a request for order 1"
    );

    let verification = http.get(admin("verification")).send().await.unwrap();
    assert_eq!(verification.status(), 200);
    assert_eq!(verification.json::<Value>().await.unwrap()["ok"], true);

    let written: Value = http
        .post(admin("pact"))
        .json(&json!({"specification": "V4"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = std::path::PathBuf::from(written["path"].as_str().unwrap());
    assert_eq!(path, dir.path().join("browser-app-orders.json"));
    let pact = read_pact(&path);
    assert_eq!(pact["metadata"]["pactSpecification"]["version"], "4.0");
    assert_eq!(
        pact["interactions"][0]["response"]["matchingRules"]["body"]["$.id"]["matchers"][0]["match"],
        "integer"
    );

    // Reset forgets everything.
    let reset = http.delete(admin("interactions")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    let listed: Value = http
        .get(admin("interactions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["interactions"], json!([]));
    let gone = http
        .get(format!("{}/orders/1", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 500);
    mock.stop().await;
}

#[tokio::test]
async fn put_replaces_and_lists_accept_pact_shaped_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let url = format!("{}/__accord/interactions", mock.url());
    http.post(&url)
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    let v2_style = json!({"interactions": [
        {"description": "v2 style", "providerState": "anything",
         "request": {"method": "GET", "path": "/a", "query": "x=1"},
         "response": {"status": 200, "body": {"n": 5},
            "matchingRules": {"$.body.n": {"match": "type"}}}},
        {"description": "v4 style", "type": "Synchronous/HTTP",
         "request": {"method": "GET", "path": "/b"},
         "response": {"status": 200, "body": {"content": {"m": 1}, "contentType": "application/json", "encoded": false}}}
    ]});
    let replaced = http.put(&url).json(&v2_style).send().await.unwrap();
    assert_eq!(replaced.status(), 200);
    let listed: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["interactions"].as_array().unwrap().len(), 2);
    let a = http
        .get(format!("{}/a?x=1", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(a.json::<Value>().await.unwrap(), json!({"n": 5}));
    let b = http.get(format!("{}/b", mock.url())).send().await.unwrap();
    assert_eq!(b.json::<Value>().await.unwrap(), json!({"m": 1}));
    mock.stop().await;
}

#[tokio::test]
async fn malformed_interactions_get_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let url = format!("{}/__accord/interactions", mock.url());
    let cases = [
        (
            json!({"request": {"method": "GET", "path": "/"}, "response": {"status": 200}}),
            "/description",
            "is missing",
        ),
        (
            json!({"description": "d", "request": {"method": "GET"}, "response": {"status": 200}}),
            "/request/path",
            "is missing",
        ),
        (
            json!({"description": "d", "request": {"method": "GET", "path": "/"}, "response": {"status": "ok"}}),
            "/response/status",
            "HTTP status code",
        ),
        (
            json!([order_interaction(), {"description": "d", "request": {"method": "GET", "path": "/", "headers": {"X": 1.5e300}}, "response": {"status": 200, "body": {"a": {"pact:matcher:type": "regex", "value": "x"}}}}]),
            "/1/response/body/a",
            "regex",
        ),
        (
            json!({"interactions": [{"description": "d", "providerStates": [{"params": {}}], "request": {"method": "GET", "path": "/"}, "response": {"status": 200}}]}),
            "/interactions/0/providerStates/0/name",
            "is missing",
        ),
        (
            json!({"description": "d", "type": "Asynchronous/Messages", "request": {}, "response": {}}),
            "/type",
            "not supported",
        ),
    ];
    for (body, field, problem) in cases {
        let answer = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
        assert!(
            error["error"].as_str().unwrap().contains(problem),
            "{error}"
        );
    }
    // Nothing was registered by the half-valid batch.
    let listed: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["interactions"], json!([]));

    let not_json = http
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{\"description\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let error: Value = not_json.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("not valid JSON"),
        "{error}"
    );

    let unknown = http
        .get(format!("{}/__accord/nope", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("ADMIN-API.md")
    );
    mock.stop().await;
}

/// A preflight from `origin` for a JSON POST to the admin API.
async fn preflight(mock: &MockApplication, origin: &str) -> reqwest::Response {
    client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/__accord/interactions", mock.url()),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

/// How many interactions the mock holds.
async fn registered(mock: &MockApplication) -> usize {
    let listed: Value = client()
        .get(format!("{}/__accord/interactions", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["interactions"].as_array().unwrap().len()
}

#[tokio::test]
async fn loopback_origins_are_allowed_for_browser_tests() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    for origin in [
        "http://localhost:3000",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
    ] {
        let answer = preflight(&mock, origin).await;
        assert!(answer.status().is_success(), "{origin}");
        assert_eq!(answer.headers()["access-control-allow-origin"], origin);
        assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
    }
    let added = http
        .post(format!("{}/__accord/interactions", mock.url()))
        .header("Origin", "http://localhost:3000")
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let answer = http
        .get(format!("{}/orders/1", mock.url()))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    mock.stop().await;
}

#[tokio::test]
async fn other_web_pages_get_no_cors_and_cannot_change_the_mock() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let answer = preflight(&mock, "https://evil.test").await;
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        answer.headers()
    );
    // A write that needs no preflight (or ignores its answer) is refused too.
    for origin in ["https://evil.test", "null", "http://localhost.evil.test"] {
        let refused = http
            .post(format!("{}/__accord/interactions", mock.url()))
            .header("Origin", origin)
            .json(&order_interaction())
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{origin}");
        let error: Value = refused.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("--cors-origin"),
            "{error}"
        );
    }
    let reset = http
        .post(format!("{}/__accord/pact", mock.url()))
        .header("Origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 403, "no pact written for another page");
    assert_eq!(registered(&mock).await, 0);
    mock.stop().await;
}

#[tokio::test]
async fn an_origin_given_by_flag_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let origins = AllowedOrigins::new(["https://app.test".parse().unwrap()]);
    let mock = spawn_mock_allowing(dir.path(), origins).await;
    let answer = preflight(&mock, "https://app.test").await;
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    let added = client()
        .post(format!("{}/__accord/interactions", mock.url()))
        .header("Origin", "https://app.test")
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let other = preflight(&mock, "https://other.test").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    mock.stop().await;
}

#[tokio::test]
async fn any_origin_is_allowed_without_credentials_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock_allowing(dir.path(), AllowedOrigins::new(["*".parse().unwrap()])).await;
    let answer = preflight(&mock, "https://anywhere.test").await;
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    assert!(
        answer
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    mock.stop().await;
}

#[tokio::test]
async fn admin_writes_must_be_json_but_mocked_endpoints_take_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let url = format!("{}/__accord/interactions", mock.url());
    let body = order_interaction().to_string();
    for (method, content_type) in [
        (reqwest::Method::POST, Some("text/plain")),
        (
            reqwest::Method::POST,
            Some("application/x-www-form-urlencoded"),
        ),
        (
            reqwest::Method::PUT,
            Some("multipart/form-data; boundary=x"),
        ),
        (reqwest::Method::POST, None),
    ] {
        let mut request = http.request(method.clone(), &url).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 415, "{method} {content_type:?}");
        let error: Value = refused.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("Content-Type: application/json"),
            "{error}"
        );
    }
    assert_eq!(registered(&mock).await, 0, "nothing registered");

    // `+json` types are JSON.
    let added = http
        .post(&url)
        .header("Content-Type", "application/vnd.accord+json; charset=utf-8")
        .body(
            json!({
                "description": "a note in plain text",
                "request": {"method": "POST", "path": "/notes",
                    "headers": {"Content-Type": "text/plain"}, "body": "hello"},
                "response": {"status": 201}
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    // The provider being played takes whatever the client under test sends.
    let note = http
        .post(format!("{}/notes", mock.url()))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 201);
    mock.stop().await;
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = MockApplication::build(MockConfig {
        addr,
        consumer: "c".into(),
        provider: "p".into(),
        pact: PactFileOptions::default(),
        cors: false,
        allowed_origins: AllowedOrigins::default(),
        serve: ServeOptions::default(),
    })
    .await
    .err()
    .unwrap();
    let message = err.to_string();
    assert!(matches!(err, Error::Bind { .. }), "{message}");
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(message.contains("choose another with --port"), "{message}");
}

#[tokio::test]
async fn an_unwritable_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where the pact directory should be").unwrap();
    let mock = spawn_mock(&blocker).await;
    let http = client();
    http.post(format!("{}/__accord/interactions", mock.url()))
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    http.get(format!("{}/orders/1", mock.url()))
        .send()
        .await
        .unwrap();
    let answer = http
        .post(format!("{}/__accord/pact", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 500);
    let error: Value = answer.json().await.unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("cannot write pact file"), "{message}");
    assert!(message.contains("not-a-dir"), "{message}");
    mock.stop().await;
}

fn order_event() -> Value {
    json!({
        "description": "an order.created event",
        "providerStates": [{"name": "an order exists", "params": {"id": 1}}],
        "contents": {
            "orderId": {"pact:matcher:type": "integer", "value": 1},
            "eventId": {"pact:matcher:type": "regex", "regex": "^[0-9a-f-]{36}$",
                        "value": "00000000-0000-0000-0000-000000000000", "pact:generator:type": "Uuid"}
        },
        "metadata": {"kafka_topic": "orders"}
    })
}

#[tokio::test]
async fn messages_register_hand_out_their_example_and_are_written_once_handled() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let admin = |path: &str| format!("{}/__accord/{path}", mock.url());

    let registered = http
        .post(admin("messages"))
        .json(&order_event())
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let body: Value = registered.json().await.unwrap();
    let example = &body["messages"][0];
    assert_eq!(example["contents"]["orderId"], 1);
    assert_ne!(
        example["contents"]["eventId"], "00000000-0000-0000-0000-000000000000",
        "generators are applied to the example: {body}"
    );
    assert_eq!(example["metadata"]["kafka_topic"], "orders");
    assert_eq!(example["handled"], false);

    // Not confirmed: nothing is written.
    let refused = http.post(admin("pact")).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("\"an order.created event\""),
        "{error}"
    );
    assert!(!dir.path().join("browser-app-orders.json").exists());

    let handled = http
        .post(admin("messages/handled"))
        .json(&json!({"description": "an order.created event"}))
        .send()
        .await
        .unwrap();
    assert_eq!(handled.status(), 200);
    let unknown = http
        .post(admin("messages/handled"))
        .json(&json!({"description": "an order.deleted event"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let written = http.post(admin("pact")).send().await.unwrap();
    assert_eq!(written.status(), 200, "{:?}", written.text().await);
    let pact = read_pact(&dir.path().join("browser-app-orders.json"));
    let messages = pact["messages"].as_array().expect("a V3 message pact");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["contents"]["orderId"], 1);
    assert_eq!(
        messages[0]["matchingRules"]["body"]["$.orderId"]["matchers"][0]["match"],
        "integer"
    );
}

#[tokio::test]
async fn http_and_messages_together_need_v4() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let http = client();
    let admin = |path: &str| format!("{}/__accord/{path}", mock.url());
    http.post(admin("interactions"))
        .json(&order_interaction())
        .send()
        .await
        .unwrap();
    http.get(format!("{}/orders/1", mock.url()))
        .send()
        .await
        .unwrap();
    http.post(admin("messages"))
        .json(&order_event())
        .send()
        .await
        .unwrap();
    http.post(admin("messages/handled"))
        .json(&json!({"description": "an order.created event"}))
        .send()
        .await
        .unwrap();
    let v3 = http.post(admin("pact")).send().await.unwrap();
    assert_eq!(v3.status(), 400);
    let error: Value = v3.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("V4"), "{error}");
    let v4 = http
        .post(admin("pact"))
        .json(&json!({"specification": "V4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(v4.status(), 200);
    let pact = read_pact(&dir.path().join("browser-app-orders.json"));
    let kinds: Vec<&str> = pact["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Synchronous/HTTP", "Asynchronous/Messages"]);
}

#[tokio::test]
async fn a_malformed_message_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn_mock(dir.path()).await;
    let response = client()
        .post(format!("{}/__accord/messages", mock.url()))
        .json(&json!({"messages": [order_event(), {"description": "x", "metadata": "topic"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "/messages/1/metadata", "{error}");
    let listed: Value = client()
        .get(format!("{}/__accord/messages", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["messages"], json!([]), "all or none");
}
