//! The HTTP edge: JSON media types on writes, cross-origin and DNS-rebinding
//! requests, forwarded headers from trusted proxies only, security headers, and the
//! length limit of every identifier.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Backend, TestApp, backend_tests, pact, spawn_app, spawn_app_with};

backend_tests!(
    bodies_that_are_not_json_are_refused_with_415,
    cross_origin_browser_writes_are_refused,
    identifiers_longer_than_their_limit_are_refused_naming_the_field,
);

/// Sends `body` as is, with `headers`.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn pacticipant_names(app: &TestApp) -> Vec<String> {
    let list = app.get("/pacticipants").await.expect(200);
    list.body["_embedded"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

async fn bodies_that_are_not_json_are_refused_with_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let json_body = json!({"name": "web"}).to_string();
    for (content_type, body) in [
        (Some("application/x-www-form-urlencoded"), "name=web"),
        (Some("text/plain"), json_body.as_str()),
        (
            Some("multipart/form-data; boundary=x"),
            "--x\r\n\r\nweb\r\n--x--",
        ),
        (None, json_body.as_str()),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| vec![("Content-Type", t)])
            .unwrap_or_default();
        let resp = raw(&app, Method::POST, "/pacticipants", &headers, body).await;
        assert_eq!(resp.status(), 415, "{content_type:?}");
        let error: Value = resp.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{error}"
        );
    }
    // A route that ignores its body refuses one that is not JSON as well.
    let resp = raw(
        &app,
        Method::POST,
        "/webhooks/dead-letter/none/replay",
        &[("Content-Type", "text/plain")],
        "{}",
    )
    .await;
    assert_eq!(resp.status(), 415);
    assert!(pacticipant_names(&app).await.is_empty(), "nothing stored");

    // JSON, HAL and merge-patch types are read.
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/hal+json",
    ] {
        let resp = raw(
            &app,
            Method::POST,
            "/pacticipants",
            &[("Content-Type", content_type)],
            &json!({ "name": content_type }).to_string(),
        )
        .await;
        assert_eq!(resp.status(), 201, "{content_type}");
    }
    app.patch(
        "/pacticipants/application%2Fjson",
        json!({"displayName": "Web"}),
    )
    .await
    .expect(200);
    // An empty body with the form type some clients send on PUT is "no body".
    app.post("/pacticipants", json!({"name": "web"}))
        .await
        .expect(201);
    app.put("/pacticipants/web/versions/1", json!({}))
        .await
        .expect(201);
    let resp = raw(
        &app,
        Method::PUT,
        "/pacticipants/web/versions/1/tags/prod",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "",
    )
    .await;
    assert_eq!(resp.status(), 201);
}

async fn cross_origin_browser_writes_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"name": "web"}).to_string();
    let json_type = ("Content-Type", "application/json");
    for header in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
    ] {
        let resp = raw(
            &app,
            Method::POST,
            "/pacticipants",
            &[json_type, header],
            &body,
        )
        .await;
        assert_eq!(resp.status(), 403, "{header:?}");
        let error: Value = resp.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("not this broker")
                || error["error"].as_str().unwrap().contains("another site"),
            "{error}"
        );
    }
    // The same origin passes, and so do clients that send no Origin at all.
    let own = app.base.clone();
    let resp = raw(
        &app,
        Method::POST,
        "/pacticipants",
        &[
            json_type,
            ("Origin", &own),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 201);
    app.post("/pacticipants", json!({"name": "cli"}))
        .await
        .expect(201);
    assert_eq!(pacticipant_names(&app).await, ["cli", "web"]);
    // Reads from other sites are not writes.
    let resp = raw(
        &app,
        Method::GET,
        "/pacticipants",
        &[("Origin", "http://evil.example")],
        "",
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_dns_rebinding_host_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let get = |host: String| {
        let app = &app;
        async move {
            raw(
                app,
                Method::GET,
                "/pacticipants",
                &[("Host", host.as_str())],
                "",
            )
            .await
        }
    };
    // Bound to 127.0.0.1: the address and `localhost` are this broker's names.
    assert_eq!(get(format!("127.0.0.1:{port}")).await.status(), 200);
    assert_eq!(get(format!("localhost:{port}")).await.status(), 200);
    assert_eq!(get("evil.example/x?y".to_string()).await.status(), 400);
    let resp = get(format!("evil.example:{port}")).await;
    assert_eq!(resp.status(), 421);
    let error: Value = resp.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("--allowed-host evil.example"),
        "{error}"
    );

    // The public base URL's host and the listed hosts are names too.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.public_base_url = Some("https://broker.example.com".parse().unwrap());
        c.edge.allowed_hosts = vec!["broker.internal".into()];
    })
    .await;
    for (host, status) in [
        ("broker.example.com", 200),
        ("broker.internal:9292", 200),
        ("127.0.0.1", 200),
        ("evil.example", 421),
    ] {
        let resp = raw(&app, Method::GET, "/pacticipants", &[("Host", host)], "").await;
        assert_eq!(resp.status(), status, "{host}");
    }

    // A trusted proxy may name the broker by its upstream name.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.public_base_url = Some("https://broker.example.com".parse().unwrap());
        c.edge.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let resp = raw(
        &app,
        Method::GET,
        "/pacticipants",
        &[("Host", "broker-upstream:9292")],
        "",
    )
    .await;
    assert_eq!(resp.status(), 200);
}

/// The link to the pacticipants in the index, asked with `headers`.
async fn index_link(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let resp = raw(app, Method::GET, "/", headers, "").await;
    let body: Value = resp.json().await.unwrap();
    body["_links"]["pb:pacticipants"]["href"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let hostile = [
        ("X-Forwarded-Proto", "javascript"),
        ("X-Forwarded-Host", "evil.example"),
    ];
    let valid = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "broker.example.com"),
    ];
    // Nobody is trusted by default: links stay the broker's own.
    let app = spawn_app(Backend::Sqlite).await;
    let own = format!("{}/pacticipants", app.base);
    assert_eq!(index_link(&app, &hostile).await, own);
    assert_eq!(index_link(&app, &valid).await, own);
    let resp = raw(
        &app,
        Method::GET,
        "/ui",
        &[("Accept", "text/html"), hostile[0], hostile[1]],
        "",
    )
    .await;
    let page = resp.text().await.unwrap();
    assert!(!page.contains("javascript:") && !page.contains("evil.example"));

    // From a trusted proxy, valid values build the links; invalid ones are ignored.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(
        index_link(&app, &valid).await,
        "https://broker.example.com/pacticipants"
    );
    assert_eq!(
        index_link(
            &app,
            &[("Forwarded", "for=10.1.1.1;proto=https;host=b.example:8443")]
        )
        .await,
        "https://b.example:8443/pacticipants"
    );
    let host = app.base.trim_start_matches("http://").to_string();
    assert_eq!(
        index_link(
            &app,
            &[
                ("X-Forwarded-Proto", "javascript"),
                ("X-Forwarded-Host", "evil.example/x?y"),
            ]
        )
        .await,
        format!("http://{host}/pacticipants")
    );
}

#[tokio::test]
async fn every_answer_carries_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, accept) in [
        ("/", "application/hal+json"),
        ("/no-such-thing", "application/json"),
        ("/ui", "text/html"),
        ("/ui/webhooks/dead-letter", "text/html"),
    ] {
        let resp = raw(&app, Method::GET, path, &[("Accept", accept)], "").await;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .unwrap_or_else(|| panic!("{path} has no {name}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("referrer-policy"), "no-referrer");
        let policy = header("content-security-policy");
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        if accept == "text/html" {
            assert!(policy.contains("style-src 'sha256-"), "{policy}");
            assert!(!policy.contains("script-src"), "{policy}");
            assert!(!policy.contains("unsafe-inline"), "{policy}");
        }
    }
}

/// What each identifier is limited to, tried on every kind of route.
async fn identifiers_longer_than_their_limit_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = "n".repeat(3 * 1024 * 1024);
    let name = |n: usize| "n".repeat(n);
    let url = |n: usize| format!("https://ci.example/{}", "u".repeat(n - 19));

    // A 3 MB name is refused and stores nothing; 255 characters are accepted.
    let resp = app
        .post("/pacticipants", json!({"name": huge}))
        .await
        .expect(400);
    assert!(
        resp.body["errors"]["name"][0]
            .as_str()
            .unwrap()
            .contains("255")
    );
    let resp = app
        .publish(&huge, "1", "orders", None, &pact("web", "orders", "a"))
        .await;
    resp.expect(400).body["errors"]["pacticipantName"]
        .as_array()
        .expect("the field is named");
    assert!(pacticipant_names(&app).await.is_empty(), "nothing stored");
    app.post("/pacticipants", json!({"name": name(255)}))
        .await
        .expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    app.post(
        "/environments",
        json!({"name": "test", "production": false}),
    )
    .await
    .expect(201);
    let environments = app.get("/environments").await.expect(200);
    let environment = environments.body["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();

    let too_long = name(256);
    let publish = |field: &str, value: Value| {
        let mut body = json!({
            "pacticipantName": "web",
            "pacticipantVersionNumber": "2",
            "contracts": [],
        });
        body[field] = value;
        body
    };
    let drift = |finding_field: &str, value: Value| {
        let mut finding = json!({
            "consumers": ["web"], "interaction": "a request for a", "request": "GET /things/a",
            "pointer": "/id", "class": "type_changed", "expected": "string", "actual": "integer 1"
        });
        finding[finding_field] = value;
        json!({
            "provider": "orders", "baseUrl": "http://orders.internal",
            "startedAt": "2024-05-01T10:00:00Z", "finishedAt": "2024-05-01T10:00:01Z",
            "pacts": [], "probes": 1, "interactionsChecked": 1,
            "findings": [finding], "probeErrors": [], "skipped": []
        })
    };
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::PUT,
            format!("/pacticipants/web/versions/{too_long}"),
            Some(json!({})),
            "version",
        ),
        (
            Method::PUT,
            format!("/pacticipants/web/versions/1/tags/{too_long}"),
            Some(json!({})),
            "tag",
        ),
        (
            Method::PUT,
            format!("/pacticipants/web/labels/{too_long}"),
            None,
            "label",
        ),
        (
            Method::POST,
            "/contracts/publish".into(),
            Some(publish("pacticipantVersionNumber", json!(too_long))),
            "pacticipantVersionNumber",
        ),
        (
            Method::POST,
            "/contracts/publish".into(),
            Some(publish("branch", json!(too_long))),
            "branch",
        ),
        (
            Method::POST,
            "/contracts/publish".into(),
            Some(publish("buildUrl", json!(url(2049)))),
            "buildUrl",
        ),
        (
            Method::PATCH,
            "/pacticipants/web".into(),
            Some(json!({"displayName": too_long})),
            "displayName",
        ),
        (
            Method::PATCH,
            "/pacticipants/web".into(),
            Some(json!({"repositoryUrl": url(2049)})),
            "repositoryUrl",
        ),
        (
            Method::PATCH,
            "/pacticipants/web".into(),
            Some(json!({"mainBranch": too_long})),
            "mainBranch",
        ),
        (
            Method::POST,
            "/environments".into(),
            Some(json!({"name": too_long, "production": false})),
            "name",
        ),
        (
            Method::POST,
            "/environments".into(),
            Some(json!({"name": "prod", "displayName": too_long, "production": true})),
            "displayName",
        ),
        (
            Method::POST,
            format!("/pacticipants/web/versions/1/deployed-versions/environment/{environment}"),
            Some(json!({"applicationInstance": too_long})),
            "applicationInstance",
        ),
        (
            Method::POST,
            "/webhooks".into(),
            Some(json!({
                "description": name(4097),
                "events": [{"name": "contract_published"}],
                "request": {"method": "POST", "url": "https://ci.example/build"}
            })),
            "description",
        ),
        (
            Method::POST,
            "/drift/provider/orders".into(),
            Some(drift("class", json!(too_long))),
            "findings[0].class",
        ),
        (
            Method::POST,
            "/drift/provider/orders".into(),
            Some(drift("actual", json!(name(4097)))),
            "findings[0].actual",
        ),
        (
            Method::POST,
            "/drift/provider/orders".into(),
            Some(drift("consumers", json!([too_long]))),
            "findings[0].consumers",
        ),
    ];
    for (method, path, body, field) in cases {
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let resp = app.request(method.clone(), &path, body, content_type).await;
        assert_eq!(resp.status, 400, "{method} {path}: {}", resp.text);
        assert!(
            resp.body["errors"][field].is_array(),
            "{method} {path} names {field}: {}",
            resp.text
        );
    }
    // At the limit, each is accepted.
    app.put(
        &format!("/pacticipants/web/versions/{}", name(255)),
        json!({}),
    )
    .await
    .expect(201);
    app.request(
        Method::PUT,
        &format!("/pacticipants/web/labels/{}", name(255)),
        None,
        "",
    )
    .await
    .expect(201);
}
