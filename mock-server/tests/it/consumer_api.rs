//! The in-process Rust API, as a consumer test uses it.

use accord_mock_server::matchers::*;
use accord_mock_server::{Error, PactBuilder, PactSpecification};
use serde_json::{Value, json};

use crate::support::{client, read_pact};

fn order_pact(dir: &std::path::Path) -> PactBuilder {
    PactBuilder::new("order-dashboard", "orders")
        .output_dir(dir)
        .interaction("a request for order 1", |i| {
            i.given_with_params("an order exists", json!({"id": 1}))
                .request(|r| r.get("/orders/1").header("Accept", "application/json"))
                .response(|r| {
                    r.status(200).json_body(json!({
                        "id": integer(1),
                        "status": term("^(open|shipped)$", "open"),
                        "lines": each_like(json!({"sku": like("A-1"), "quantity": integer(2)})),
                    }))
                })
        })
}

#[tokio::test]
async fn a_passing_test_writes_a_v3_pact_with_its_matchers() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).start().await.unwrap();

    let response = client()
        .get(mock.url_for("/orders/1"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": 1, "status": "open", "lines": [{"sku": "A-1", "quantity": 2}]})
    );

    let path = mock.finish().await.unwrap();
    assert_eq!(path, dir.path().join("order-dashboard-orders.json"));
    let pact = read_pact(&path);
    assert_eq!(pact["metadata"]["pactSpecification"]["version"], "3.0.0");
    let interaction = &pact["interactions"][0];
    assert_eq!(interaction["providerStates"][0]["params"]["id"], 1);
    let rules = &interaction["response"]["matchingRules"]["body"];
    assert_eq!(rules["$.id"]["matchers"][0]["match"], "integer");
    assert_eq!(
        rules["$.status"]["matchers"][0]["regex"],
        "^(open|shipped)$"
    );
    assert_eq!(rules["$.lines"]["matchers"][0]["min"], 1);
    assert_eq!(rules["$.lines[*].sku"]["matchers"][0]["match"], "type");
    accord_contract::Contract::from_file(&path).expect("the written pact loads");
}

#[tokio::test]
async fn v4_pacts_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).v4().start().await.unwrap();
    client()
        .get(mock.url_for("/orders/1"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let pact = read_pact(&mock.finish().await.unwrap());
    assert_eq!(pact["metadata"]["pactSpecification"]["version"], "4.0");
    assert_eq!(pact["interactions"][0]["type"], "Synchronous/HTTP");
    let contract =
        accord_contract::Contract::from_file(dir.path().join("order-dashboard-orders.json"))
            .unwrap();
    assert_eq!(contract.specification(), PactSpecification::V4);
}

#[tokio::test]
async fn an_interaction_never_requested_fails_the_test_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).start().await.unwrap();
    let err = mock.finish().await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Verification(_)), "{message}");
    assert!(
        message.contains("expected but never requested (1)"),
        "{message}"
    );
    assert!(
        message.contains("\"a request for order 1\": GET /orders/1"),
        "{message}"
    );
    assert!(message.contains("given an order exists"), "{message}");
    assert!(!dir.path().join("order-dashboard-orders.json").exists());
}

#[tokio::test]
async fn a_mismatch_answers_500_listing_each_difference() {
    let dir = tempfile::tempdir().unwrap();
    let mock = PactBuilder::new("web", "orders")
        .output_dir(dir.path())
        .interaction("create an order", |i| {
            i.request(|r| {
                r.post("/orders").json_body(json!({
                    "sku": term("^[A-Z]-\\d+$", "A-1"),
                    "quantity": integer(1),
                    "note": like("gift"),
                }))
            })
            .response(|r| r.status(201))
        })
        .start()
        .await
        .unwrap();

    let response = client()
        .post(mock.url_for("/orders"))
        .json(&json!({"sku": "nope", "quantity": 1.5, "note": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("POST /orders"),
        "{body}"
    );
    let mismatches = body["mismatches"].as_array().unwrap();
    let sku = mismatches
        .iter()
        .find(|m| m["path"] == "$.sku")
        .expect("sku mismatch");
    assert_eq!(sku["kind"], "body");
    assert_eq!(sku["expected"], "A-1");
    assert_eq!(sku["actual"], "nope");
    assert_eq!(sku["interaction"], "create an order");
    assert!(
        mismatches.iter().any(|m| m["path"] == "$.quantity"),
        "{body}"
    );

    // A matching request still works, but the test fails because of the earlier one.
    let ok = client()
        .post(mock.url_for("/orders"))
        .json(&json!({"sku": "B-22", "quantity": 7, "note": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let message = mock.finish().await.unwrap_err().to_string();
    assert!(
        message.contains("requests that matched no interaction (1 in all)"),
        "{message}"
    );
    assert!(message.contains("body $.sku"), "{message}");
}

#[tokio::test]
async fn unexpected_requests_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).start().await.unwrap();
    let response = client()
        .delete(mock.url_for("/orders/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"],
        "unexpected request DELETE /orders/1: no interaction has this method and path"
    );
    let report = mock.report();
    assert_eq!(report.unmatched_requests, 1);
    assert!(!report.is_ok());
    assert!(mock.verify().is_err());
    assert!(mock.finish().await.is_err());
}

#[tokio::test]
async fn query_headers_text_and_form_bodies_are_matched() {
    let dir = tempfile::tempdir().unwrap();
    let mock = PactBuilder::new("web", "search")
        .output_dir(dir.path())
        .interaction("search", |i| {
            i.request(|r| {
                r.get("/search")
                    .query_param("q", term("^\\w+$", "shoes"))
                    .query_param("page", "1")
                    .header("X-Request-Id", regex("^[0-9a-f]{8}$", "0123abcd"))
            })
            .response(|r| r.body("found").header("X-Total", "3"))
        })
        .interaction("login", |i| {
            i.request(|r| {
                r.post("/login")
                    .form_body(json!({"user": like("ann"), "remember": "yes"}))
            })
            .response(|r| r.status(204))
        })
        .interaction("echo text", |i| {
            i.request(|r| r.put("/notes/1").body("hello"))
                .response(|r| r.status(200))
        })
        .start()
        .await
        .unwrap();
    let http = client();

    let found = http
        .get(mock.url_for("/search?q=boots&page=1"))
        .header("X-Request-Id", "deadbeef")
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    assert_eq!(found.headers()["x-total"], "3");
    assert_eq!(found.text().await.unwrap(), "found");

    let wrong_query = http
        .get(mock.url_for("/search?q=two%20words&page=1"))
        .header("X-Request-Id", "deadbeef")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_query.status(), 500);
    let body: Value = wrong_query.json().await.unwrap();
    assert!(
        body["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "query" && m["path"] == "q"),
        "{body}"
    );

    let login = http
        .post(mock.url_for("/login"))
        .form(&[("user", "bob"), ("remember", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 204);

    let note = http
        .put(mock.url_for("/notes/1"))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 200);

    let message = mock.finish().await.unwrap_err().to_string();
    assert!(message.contains("(1 in all)"), "{message}");
}

#[tokio::test]
async fn every_matcher_accepts_conforming_values_and_rejects_others() {
    let expected = json!({
        "type": like("text"),
        "min": each_like_min(json!({"n": integer(1)}), 2),
        "max": each_like_max("x", 2),
        "regex": term("^a+$", "aa"),
        "integer": integer(1),
        "decimal": decimal(1.5),
        "number": number(1),
        "boolean": boolean(true),
        "null": (null()),
        "datetime": datetime("yyyy-MM-dd'T'HH:mm:ss", "2024-01-02T03:04:05"),
        "date": date("yyyy-MM-dd", "2024-01-02"),
        "time": time("HH:mm:ss", "03:04:05"),
        "include": includes("needle"),
        "equality": equal_to("exact"),
        "values": values(json!({"a": 1})),
        "values_like": values_like(json!({"a": 1})),
        "contains": array_containing(vec![json!({"kind": "gift", "id": integer(1)})]),
        "semver": semver("1.2.3"),
        "keys": each_key("^[a-z]+$", json!({"abc": 1})),
    });
    let good = json!({
        "type": "other", "min": [{"n": 5}, {"n": 6}, {"n": 7}], "max": ["y"], "regex": "aaaa",
        "integer": 42, "decimal": 0.25, "number": 3, "boolean": false, "null": null,
        "datetime": "1999-12-31T23:59:59", "date": "1999-12-31", "time": "23:59:59",
        "include": "a needle here", "equality": "exact", "values": {"x": 1, "y": 1},
        "values_like": {"x": 2, "y": 3},
        "contains": [{"kind": "plain", "id": 3}, {"kind": "gift", "id": 9}], "semver": "10.0.1",
        "keys": {"xyz": 2},
    });
    let bad_fields: Vec<(&str, Value)> = vec![
        ("type", json!(1)),
        ("min", json!([{"n": 5}])),
        ("max", json!(["a", "b", "c"])),
        ("regex", json!("b")),
        ("integer", json!(1.5)),
        ("decimal", json!(2)),
        ("number", json!("3")),
        ("boolean", json!("true!")),
        ("null", json!(0)),
        ("datetime", json!("yesterday")),
        ("date", json!("2024-13-45")),
        ("time", json!("25:00:00")),
        ("include", json!("haystack")),
        ("equality", json!("Exact")),
        ("values", json!({"x": 2})),
        ("values_like", json!({"x": "two"})),
        ("contains", json!([{"kind": "plain", "id": 3}])),
        ("semver", json!("one.two")),
        ("keys", json!({"ABC": 1})),
    ];

    let dir = tempfile::tempdir().unwrap();
    let mock = PactBuilder::new("web", "matchers")
        .output_dir(dir.path())
        .interaction("rich body", |i| {
            i.request(|r| r.post("/rich").json_body(expected))
                .response(|r| r.status(204))
        })
        .start()
        .await
        .unwrap();
    let http = client();
    let answer = http
        .post(mock.url_for("/rich"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204, "{}", answer.text().await.unwrap());

    for (field, value) in &bad_fields {
        let mut body = good.clone();
        body[*field] = value.clone();
        let answer = http
            .post(mock.url_for("/rich"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{field} = {value} was accepted");
        let report: Value = answer.json().await.unwrap();
        let paths: Vec<&str> = report["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["path"].as_str())
            .collect();
        assert!(
            paths.iter().any(|p| p.starts_with(&format!("$.{field}"))),
            "{field}: mismatch paths {paths:?}"
        );
    }
    let report = mock.report();
    assert_eq!(report.unmatched_requests, bad_fields.len() as u64);
    assert!(mock.finish().await.is_err());
}

#[tokio::test]
async fn response_generators_produce_fresh_values() {
    let dir = tempfile::tempdir().unwrap();
    let mock = PactBuilder::new("web", "gen")
        .output_dir(dir.path())
        .interaction("generated", |i| {
            i.request(|r| r.get("/gen")).response(|r| {
                r.json_body(json!({
                    "n": random_integer(1, 9, 100),
                    "id": uuid("00000000-0000-0000-0000-000000000000"),
                    "at": datetime_now("yyyy-MM-dd", "2000-01-01"),
                    "self": mock_server_url("/gen$", "http://example.test/gen"),
                }))
            })
        })
        .start()
        .await
        .unwrap();
    let body: Value = client()
        .get(mock.url_for("/gen"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = body["n"].as_i64().unwrap();
    assert!((1..=9).contains(&n), "{body}");
    assert_ne!(body["id"], "00000000-0000-0000-0000-000000000000");
    assert_ne!(body["at"], "2000-01-01");
    assert_eq!(body["self"], mock.url_for("/gen"));
    let pact = read_pact(&mock.finish().await.unwrap());
    assert_eq!(pact["interactions"][0]["response"]["body"]["n"], 100);
    assert_eq!(
        pact["interactions"][0]["response"]["generators"]["body"]["$.n"]["type"],
        "RandomInt"
    );
}

#[tokio::test]
async fn same_request_in_two_states_uses_each_interaction_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let mock = PactBuilder::new("web", "orders")
        .output_dir(dir.path())
        .interaction("list when empty", |i| {
            i.given("no orders")
                .request(|r| r.get("/orders"))
                .response(|r| r.json_body(json!([])))
        })
        .interaction("list with one order", |i| {
            i.given("one order")
                .request(|r| r.get("/orders"))
                .response(|r| r.json_body(json!([{"id": 1}])))
        })
        .start()
        .await
        .unwrap();
    let http = client();
    let first: Value = http
        .get(mock.url_for("/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second: Value = http
        .get(mock.url_for("/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first, json!([]));
    assert_eq!(second, json!([{"id": 1}]));
    let pact = read_pact(&mock.finish().await.unwrap());
    assert_eq!(pact["interactions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn tests_of_one_pair_merge_into_one_file_and_conflicts_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let first = order_pact(dir.path()).start().await.unwrap();
    let second = PactBuilder::new("order-dashboard", "orders")
        .output_dir(dir.path())
        .interaction("a request for order 2", |i| {
            i.request(|r| r.get("/orders/2"))
                .response(|r| r.status(404))
        })
        .start()
        .await
        .unwrap();
    let http = client();
    http.get(first.url_for("/orders/1"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    http.get(second.url_for("/orders/2")).send().await.unwrap();
    let (a, b) = tokio::join!(first.finish(), second.finish());
    assert_eq!(a.unwrap(), b.unwrap());
    let pact = read_pact(&dir.path().join("order-dashboard-orders.json"));
    assert_eq!(pact["interactions"].as_array().unwrap().len(), 2);

    let conflicting = PactBuilder::new("order-dashboard", "orders")
        .output_dir(dir.path())
        .interaction("a request for order 2", |i| {
            i.request(|r| r.get("/orders/2"))
                .response(|r| r.status(410))
        })
        .start()
        .await
        .unwrap();
    http.get(conflicting.url_for("/orders/2"))
        .send()
        .await
        .unwrap();
    let err = conflicting.finish().await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Conflict { .. }), "{message}");
    assert!(message.contains("\"a request for order 2\""), "{message}");
    assert!(
        message.contains("/response/status: 404 vs 410"),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_interactions_are_refused_at_start_naming_the_field() {
    let err = PactBuilder::new("web", "orders")
        .interaction("bad matcher", |i| {
            i.request(|r| r.get("/x")).response(|r| {
                r.json_body(json!({"items": [{"pact:matcher:type": "sometimes", "value": 1}]}))
            })
        })
        .start()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("interaction \"bad matcher\""), "{message}");
    assert!(
        message.contains("/response/body/items/0/pact:matcher:type"),
        "{message}"
    );
    assert!(
        message.contains("unknown matcher type \"sometimes\""),
        "{message}"
    );
}

#[tokio::test]
async fn dropping_a_failing_mock_without_finish_panics_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).start().await.unwrap();
    let outcome = tokio::spawn(async move { drop(mock) }).await;
    let panic = outcome.unwrap_err().into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("expected but never requested"),
        "{message}"
    );
}

#[tokio::test]
async fn dropping_a_passing_mock_writes_the_pact() {
    let dir = tempfile::tempdir().unwrap();
    let mock = order_pact(dir.path()).start().await.unwrap();
    client()
        .get(mock.url_for("/orders/1"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    drop(mock);
    assert!(dir.path().join("order-dashboard-orders.json").exists());
}
