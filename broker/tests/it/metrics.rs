//! `/metrics`: the Prometheus text format, request counts by route template,
//! publication and verification counters, pool gauges; and the `traceparent`
//! every response carries.

use std::collections::HashMap;
use std::time::Duration;

use accord_broker::Config;
use secrecy::SecretString;

use crate::matrix::{publish, verify};
use crate::{Backend, TestApp, backend_tests, pact, spawn_app, spawn_app_with};

backend_tests!(
    metrics_parse_and_count_requests_by_route_template,
    publications_and_verifications_are_counted,
    pool_gauges_are_present,
    webhook_deliveries_and_dead_letters_are_gauged,
    metrics_follow_authentication,
    traceparent_is_continued_and_echoed,
);

/// One sample: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the text exposition format strictly enough to catch a malformed
/// output: every line is a comment or `name{label="value",...} number`, and every
/// sample's family was announced by `# TYPE`.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let family = parts.next().unwrap().to_string();
            let kind = parts.next().unwrap();
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            typed.push(family);
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line {line}");
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let mut labels = HashMap::new();
                // Label values here never contain `",`; split on it.
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                    labels.insert(key.to_string(), value.trim_end_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
            None => (series.to_string(), HashMap::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name {name}"
        );
        assert!(
            typed.iter().any(|family| name.starts_with(family.as_str())),
            "{name} has no # TYPE line"
        );
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.get("/metrics").await.expect(200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        response.header("content-type")
    );
    parse(&response.text)
}

/// The value of the one sample named `name` whose labels include `labels`; 0 if none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn metrics_parse_and_count_requests_by_route_template(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Web", "1.0.0", "Orders").await;
    for version in ["1.0.0", "1.0.0", "2.0.0"] {
        app.get(&format!("/pacticipants/Web/versions/{version}"))
            .await;
    }
    app.get("/no/such/thing").await.expect(404);
    let samples = scrape(&app).await;
    let requests = "accord_broker_http_requests_total";
    // Raw paths never become labels: both versions count under the template.
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/pacticipants/{pacticipant}/versions/{version}"),
                ("method", "GET"),
                ("status", "2xx")
            ]
        ),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/pacticipants/{pacticipant}/versions/{version}"),
                ("status", "4xx")
            ]
        ),
        1.0
    );
    assert!(
        samples
            .iter()
            .all(|s| !s.labels.get("route").is_some_and(|r| r.contains("1.0.0"))),
        "a raw path became a label"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/contracts/publish"),
                ("method", "POST"),
                ("status", "2xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "unmatched"), ("status", "4xx")]
        ),
        1.0
    );
    // The latency histogram counts the same requests.
    assert_eq!(
        value(
            &samples,
            "accord_broker_http_request_duration_seconds_count",
            &[("route", "/pacticipants/{pacticipant}/versions/{version}")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            "accord_broker_http_request_duration_seconds_bucket",
            &[("route", "/contracts/publish"), ("le", "+Inf")]
        ),
        1.0
    );
    // The scrape itself is counted from the next scrape on.
    let again = scrape(&app).await;
    assert_eq!(
        value(
            &again,
            requests,
            &[("route", "/metrics"), ("status", "2xx")]
        ),
        1.0
    );
}

async fn publications_and_verifications_are_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = scrape(&app).await;
    let contracts = "accord_broker_contracts_published_total";
    let results = "accord_broker_verification_results_published_total";
    // Every series exists from the start, at zero.
    assert_eq!(value(&before, contracts, &[("outcome", "created")]), 0.0);
    assert!(
        before
            .iter()
            .any(|s| s.name == results && s.labels["result"] == "failure")
    );
    publish(&app, "Web", "1.0.0", "Orders").await;
    publish(&app, "Web", "1.0.0", "Orders").await;
    publish(&app, "Web", "1.0.1", "Orders").await;
    verify(&app, "Orders", "Web", "1.0.0", "7", true).await;
    verify(&app, "Orders", "Web", "1.0.1", "8", false).await;
    // A rejected publication counts nothing.
    app.post("/contracts/publish", serde_json::json!({}))
        .await
        .expect(400);
    let after = scrape(&app).await;
    assert_eq!(value(&after, contracts, &[("outcome", "created")]), 2.0);
    assert_eq!(value(&after, contracts, &[("outcome", "unchanged")]), 1.0);
    assert_eq!(value(&after, results, &[("result", "success")]), 1.0);
    assert_eq!(value(&after, results, &[("result", "failure")]), 1.0);
}

async fn pool_gauges_are_present(backend: Backend) {
    let app = spawn_app(backend).await;
    // A read opens at least one connection.
    app.get("/pacticipants").await.expect(200);
    let samples = scrape(&app).await;
    let open = value(&samples, "accord_broker_database_pool_connections", &[]);
    let idle = value(
        &samples,
        "accord_broker_database_pool_idle_connections",
        &[],
    );
    let max = value(&samples, "accord_broker_database_pool_max_connections", &[]);
    assert!(open >= 1.0, "open connections: {open}");
    assert!(idle <= open, "idle {idle} > open {open}");
    assert!(max >= open, "max {max} < open {open}");
}

async fn metrics_follow_authentication(backend: Backend) {
    let app = spawn_app_with(backend, |config: &mut Config| {
        config.auth.token = Some(SecretString::from("write-token"));
        config.auth.read_only_token = Some(SecretString::from("scrape-token"));
    })
    .await;
    let anonymous = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let scraper = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("scrape-token")
        .send()
        .await
        .unwrap();
    assert_eq!(scraper.status().as_u16(), 200);
    let text = scraper.text().await.unwrap();
    let samples = parse(&text);
    // The refused request was counted under its route like any other.
    assert_eq!(
        value(
            &samples,
            "accord_broker_http_requests_total",
            &[("route", "/metrics"), ("status", "4xx")]
        ),
        1.0
    );
}

async fn traceparent_is_continued_and_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = app
        .client
        .get(format!("{}/pacticipants", app.base))
        .header("traceparent", incoming)
        .send()
        .await
        .unwrap();
    let echoed = response.headers()["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = echoed.split('-').collect();
    // Same trace and flags; the broker's own span id.
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(parts[2], "00f067aa0ba902b7");
    assert_eq!(parts[2].len(), 16);
    assert_eq!(parts[3], "01");
    // Without one (or with an invalid one) the broker starts a trace.
    for sent in [None, Some("not-a-traceparent")] {
        let mut request = app.client.get(format!("{}/pacticipants", app.base));
        if let Some(value) = sent {
            request = request.header("traceparent", value);
        }
        let response = request.send().await.unwrap();
        let started = response.headers()["traceparent"].to_str().unwrap();
        let parts: Vec<&str> = started.split('-').collect();
        assert_eq!(parts.len(), 4, "{started}");
        assert_eq!(parts[1].len(), 32);
        assert_ne!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}

async fn webhook_deliveries_and_dead_letters_are_gauged(backend: Backend) {
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let app = spawn_app_with(backend, |config: &mut Config| {
        let webhooks = &mut config.webhooks;
        webhooks.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
        webhooks.poll_interval = Duration::from_millis(20);
        webhooks.retry_base = Duration::from_millis(20);
        webhooks.retry_max_delay = Duration::from_millis(40);
        webhooks.max_attempts = 2;
    })
    .await;
    let quiet = scrape(&app).await;
    for status in ["pending", "retrying", "succeeded", "dead"] {
        assert!(
            quiet
                .iter()
                .any(|s| s.name == "accord_broker_webhook_deliveries"
                    && s.labels["status"] == status
                    && s.value == 0.0),
            "no zero {status} gauge"
        );
    }
    assert_eq!(
        value(&quiet, "accord_broker_webhook_dead_letter_depth", &[]),
        0.0
    );
    app.post(
        "/webhooks",
        serde_json::json!({
            "events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": format!("{}/build", receiver.uri())}
        }),
    )
    .await
    .expect(201);
    app.publish("Web", "1", "Orders", None, &pact("Web", "Orders", "a"))
        .await
        .expect(200);
    // The receiver fails every attempt, so the delivery ends in the dead-letter list.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let samples = scrape(&app).await;
        if value(&samples, "accord_broker_webhook_dead_letter_depth", &[]) == 1.0 {
            assert_eq!(
                value(
                    &samples,
                    "accord_broker_webhook_deliveries",
                    &[("status", "dead")]
                ),
                1.0
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead-letter depth never reached 1"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
