//! Derivation of schemas from pacts, one matcher kind at a time. Each test loads a real pact
//! document through `accord_contract`, derives the schema, and checks bodies that comply and
//! bodies that drift.

use serde_json::{Value, json};

use super::*;
use crate::report::FindingClass;

/// A V3 pact with one GET interaction answering `body` with the given body matching rules.
fn v3_pact(body: Value, body_rules: Value) -> Contract {
    let pact = json!({
        "consumer": {"name": "web"},
        "provider": {"name": "orders"},
        "interactions": [{
            "description": "get order",
            "providerStates": [{"name": "order 1 exists", "params": {"id": 1}}],
            "request": {"method": "GET", "path": "/orders/1", "query": {"expand": ["items"]}},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json; charset=utf-8"},
                "body": body,
                "matchingRules": {"body": body_rules}
            }
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    Contract::from_json(pact, "test.json").unwrap()
}

fn only(contract: &Contract) -> InteractionExpectation {
    let derived = derive_pact(contract);
    assert!(derived.skipped.is_empty(), "{:?}", derived.skipped);
    assert_eq!(derived.interactions.len(), 1);
    derived.interactions.into_iter().next().unwrap()
}

fn json_schema(expectation: &InteractionExpectation) -> &JsonBodySchema {
    match &expectation.response.body {
        Some(BodyExpectation::Json(schema)) => schema,
        other => panic!("expected a JSON body schema, got {other:?}"),
    }
}

/// Derives and checks `actual`, returning `(pointer, class)` for each drift.
fn drift(body: Value, rules: Value, actual: Value) -> Vec<(String, FindingClass)> {
    let expectation = only(&v3_pact(body, rules));
    json_schema(&expectation)
        .check(&actual)
        .into_iter()
        .map(|d| (d.pointer, d.class))
        .collect()
}

fn one(pointer: &str, class: FindingClass) -> Vec<(String, FindingClass)> {
    vec![(pointer.to_string(), class)]
}

#[test]
fn request_status_and_content_type_come_from_the_pact() {
    let expectation = only(&v3_pact(json!({"id": 1}), json!({})));
    assert_eq!(expectation.consumer, "web");
    assert_eq!(expectation.description, "get order");
    assert_eq!(expectation.provider_states[0].name, "order 1 exists");
    assert_eq!(expectation.request.method, "GET");
    assert_eq!(expectation.request.path, "/orders/1");
    assert_eq!(
        expectation.request.query,
        vec![("expand".to_string(), Some("items".to_string()))]
    );
    assert_eq!(expectation.response.status, StatusExpectation::Exact(200));
    assert_eq!(
        expectation.response.content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(
        json_schema(&expectation).schema()["$schema"],
        json!(DRAFT_2020_12)
    );
}

#[test]
fn literal_values_are_checked_by_type_only() {
    let body = json!({"id": 1, "name": "Ada", "paid": true, "note": null});
    assert!(
        drift(
            body.clone(),
            json!({}),
            json!({"id": 2, "name": "Bob", "paid": false, "note": null})
        )
        .is_empty()
    );
    assert_eq!(
        drift(
            body.clone(),
            json!({}),
            json!({"id": "2", "name": "Bob", "paid": false, "note": null})
        ),
        one("/id", FindingClass::TypeChanged)
    );
    assert_eq!(
        drift(
            body,
            json!({}),
            json!({"id": 2, "paid": false, "note": null})
        ),
        one("/name", FindingClass::FieldMissing)
    );
}

#[test]
fn fields_the_pact_does_not_mention_stay_allowed() {
    let body = json!({"id": 1, "customer": {"name": "Ada"}});
    let actual = json!({"id": 1, "extra": [1, 2], "customer": {"name": "Ada", "vip": true}});
    assert!(drift(body, json!({}), actual).is_empty());
}

#[test]
fn type_matchers_give_types() {
    let rules = json!({"$.total": {"matchers": [{"match": "type"}]}});
    let body = json!({"total": 10});
    assert!(drift(body.clone(), rules.clone(), json!({"total": 12.5})).is_empty());
    assert_eq!(
        drift(body, rules, json!({"total": "12.50"})),
        one("/total", FindingClass::TypeChanged)
    );
}

#[test]
fn v2_body_paths_are_read_through_pact_models() {
    let pact = json!({
        "consumer": {"name": "web"},
        "provider": {"name": "orders"},
        "interactions": [{
            "description": "get order",
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {"ref": "ORD-0001", "items": [{"sku": "A1"}]},
                "matchingRules": {
                    "$.body.ref": {"match": "regex", "regex": "^ORD-\\d{4}$"},
                    "$.body.items": {"min": 1, "match": "type"}
                }
            }
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    let expectation = only(&Contract::from_json(pact, "v2.json").unwrap());
    let schema = json_schema(&expectation);
    assert!(
        schema
            .check(&json!({"ref": "ORD-1234", "items": [{"sku": "B"}]}))
            .is_empty()
    );
    let drifts: Vec<_> = schema
        .check(&json!({"ref": "1234", "items": []}))
        .into_iter()
        .map(|d| (d.pointer, d.class))
        .collect();
    assert!(
        drifts.contains(&("/ref".to_string(), FindingClass::PatternMismatch)),
        "{drifts:?}"
    );
    assert!(
        drifts.contains(&("/items".to_string(), FindingClass::ArrayEmpty)),
        "{drifts:?}"
    );
}

#[test]
fn regex_matchers_give_patterns_and_keep_the_type() {
    let rules = json!({"$.status": {"matchers": [{"match": "regex", "regex": "^(open|closed)$"}]}});
    let body = json!({"status": "open"});
    assert!(drift(body.clone(), rules.clone(), json!({"status": "closed"})).is_empty());
    assert_eq!(
        drift(body.clone(), rules.clone(), json!({"status": "OPEN"})),
        one("/status", FindingClass::PatternMismatch)
    );
    assert_eq!(
        drift(body, rules, json!({"status": 1})),
        one("/status", FindingClass::TypeChanged)
    );
}

#[test]
fn timestamps_that_become_unix_times_are_a_format_change() {
    let rules = json!({"$.created": {"matchers": [{"match": "timestamp", "timestamp": "yyyy-MM-dd'T'HH:mm:ssX"}]}});
    let body = json!({"created": "2024-05-01T10:00:00Z"});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"created": "2025-01-31T23:59:59Z"})
        )
        .is_empty()
    );
    assert_eq!(
        drift(body.clone(), rules.clone(), json!({"created": 1714557600})),
        one("/created", FindingClass::FormatChanged)
    );
    assert_eq!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"created": "01/05/2024 10:00"})
        ),
        one("/created", FindingClass::FormatChanged)
    );
    let expectation = only(&v3_pact(body, rules));
    let drifts = json_schema(&expectation).check(&json!({"created": 1714557600}));
    assert_eq!(
        drifts[0].expected,
        "string in date-time format \"yyyy-MM-dd'T'HH:mm:ssX\""
    );
    assert_eq!(drifts[0].actual, "integer 1714557600");
}

#[test]
fn date_and_time_matchers_use_their_formats() {
    let rules = json!({
        "$.day": {"matchers": [{"match": "date", "date": "dd/MM/yyyy"}]},
        "$.at": {"matchers": [{"match": "time", "time": "HH:mm"}]}
    });
    let body = json!({"day": "01/05/2024", "at": "10:00"});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"day": "31/12/2025", "at": "23:59"})
        )
        .is_empty()
    );
    let drifts = drift(body, rules, json!({"day": "2024-05-01", "at": "10:00:00"}));
    assert_eq!(drifts.len(), 2, "{drifts:?}");
    assert!(
        drifts
            .iter()
            .all(|(_, class)| *class == FindingClass::FormatChanged)
    );
}

#[test]
fn each_like_gives_an_array_with_a_minimum_compared_by_items_not_order() {
    let rules = json!({
        "$.items": {"matchers": [{"match": "type", "min": 1}]},
        "$.items[*].sku": {"matchers": [{"match": "regex", "regex": "^[A-Z]\\d+$"}]}
    });
    let body = json!({"items": [{"sku": "A1", "qty": 1}]});
    let reordered =
        json!({"items": [{"sku": "B2", "qty": 5, "extra": 1}, {"sku": "A1", "qty": 1}]});
    assert!(drift(body.clone(), rules.clone(), reordered).is_empty());
    assert_eq!(
        drift(body.clone(), rules.clone(), json!({"items": []})),
        one("/items", FindingClass::ArrayEmpty)
    );
    assert_eq!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"items": [{"sku": "A1", "qty": 1}, {"qty": 2}]})
        ),
        one("/items/1/sku", FindingClass::FieldMissing)
    );
    assert_eq!(
        drift(body, rules, json!({"items": [{"sku": "a1", "qty": 1}]})),
        one("/items/0/sku", FindingClass::PatternMismatch)
    );
}

#[test]
fn min_and_max_give_array_lengths() {
    let rules = json!({"$.tags": {"matchers": [{"match": "type", "min": 2, "max": 3}]}});
    let body = json!({"tags": ["a", "b"]});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"tags": ["x", "y", "z"]})
        )
        .is_empty()
    );
    assert_eq!(
        drift(body.clone(), rules.clone(), json!({"tags": ["x"]})),
        one("/tags", FindingClass::ArrayLength)
    );
    assert_eq!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"tags": ["a", "b", "c", "d"]})
        ),
        one("/tags", FindingClass::ArrayLength)
    );
    assert_eq!(
        drift(body, rules, json!({"tags": [1, 2]})),
        vec![
            ("/tags/0".to_string(), FindingClass::TypeChanged),
            ("/tags/1".to_string(), FindingClass::TypeChanged)
        ]
    );
}

#[test]
fn literal_arrays_accept_their_items_in_any_order() {
    let body = json!({"links": [{"rel": "self", "href": "/o/1"}, {"rel": "items", "count": 2}]});
    let actual = json!({"links": [{"rel": "items", "count": 3}, {"rel": "self", "href": "/o/2"}]});
    assert!(drift(body.clone(), json!({}), actual).is_empty());
    // An item that fits neither example shape is reported against the closest one.
    let drifts = drift(body, json!({}), json!({"links": [{"rel": "self"}]}));
    assert_eq!(drifts, one("/links/0/href", FindingClass::FieldMissing));
}

#[test]
fn integer_decimal_number_boolean_and_null_matchers() {
    let rules = json!({
        "$.count": {"matchers": [{"match": "integer"}]},
        "$.price": {"matchers": [{"match": "decimal"}]},
        "$.score": {"matchers": [{"match": "number"}]},
        "$.paid": {"matchers": [{"match": "boolean"}]},
        "$.deleted": {"matchers": [{"match": "null"}]}
    });
    let body = json!({"count": 1, "price": 9.99, "score": 3, "paid": true, "deleted": null});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"count": 7, "price": 1.5, "score": 2.5, "paid": "false", "deleted": null})
        )
        .is_empty()
    );
    let drifts = drift(
        body,
        rules,
        json!({"count": 1.5, "price": 10, "score": "3", "paid": 1, "deleted": "no"}),
    );
    let expected = vec![
        ("/count".to_string(), FindingClass::TypeChanged),
        ("/deleted".to_string(), FindingClass::TypeChanged),
        ("/paid".to_string(), FindingClass::TypeChanged),
        ("/price".to_string(), FindingClass::FormatChanged),
        ("/score".to_string(), FindingClass::TypeChanged),
    ];
    let mut sorted = drifts;
    sorted.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn include_matchers_check_the_text() {
    let rules = json!({"$.href": {"matchers": [{"match": "include", "value": "/orders/"}]}});
    let body = json!({"href": "https://api/orders/1"});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"href": "http://x/orders/9"})
        )
        .is_empty()
    );
    assert_eq!(
        drift(body, rules, json!({"href": "http://x/o/9"})),
        one("/href", FindingClass::PatternMismatch)
    );
}

#[test]
fn equality_only_where_the_pact_asks() {
    let rules = json!({"$.currency": {"matchers": [{"match": "equality"}]}});
    let body = json!({"currency": "EUR", "amount": 10});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"currency": "EUR", "amount": 99})
        )
        .is_empty()
    );
    assert_eq!(
        drift(body, rules, json!({"currency": "USD", "amount": 10})),
        one("/currency", FindingClass::ValueChanged)
    );
}

#[test]
fn values_matchers_free_the_keys() {
    let rules = json!({"$.stock": {"matchers": [{"match": "values"}]}});
    let body = json!({"stock": {"A1": {"qty": 1}}});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"stock": {"B2": {"qty": 4}, "C3": {"qty": 0}}})
        )
        .is_empty()
    );
    assert_eq!(
        drift(body, rules, json!({"stock": {"B2": {"qty": "4"}}})),
        one("/stock/B2/qty", FindingClass::TypeChanged)
    );
}

#[test]
fn each_key_and_each_value_matchers() {
    let rules = json!({
        "$.prices": {"matchers": [
            {"match": "eachKey", "rules": [{"match": "regex", "regex": "^[A-Z]{3}$"}], "value": "EUR"},
            {"match": "eachValue", "rules": [{"match": "decimal"}], "value": "1.5"}
        ], "combine": "AND"}
    });
    let body = json!({"prices": {"EUR": 1.5}});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"prices": {"USD": 2.5, "GBP": 1.25}})
        )
        .is_empty()
    );
    let drifts = drift(body, rules, json!({"prices": {"usd": 2.5, "GBP": 2}}));
    assert!(
        drifts.contains(&("/prices".to_string(), FindingClass::PatternMismatch)),
        "{drifts:?}"
    );
    assert!(
        drifts.contains(&("/prices/GBP".to_string(), FindingClass::FormatChanged)),
        "{drifts:?}"
    );
}

#[test]
fn not_empty_and_semver_matchers() {
    let rules = json!({
        "$.name": {"matchers": [{"match": "notEmpty"}]},
        "$.version": {"matchers": [{"match": "semver"}]}
    });
    let body = json!({"name": "Ada", "version": "1.0.0"});
    assert!(
        drift(
            body.clone(),
            rules.clone(),
            json!({"name": "B", "version": "2.1.0"})
        )
        .is_empty()
    );
    let mut drifts = drift(body, rules, json!({"name": "", "version": "2.1"}));
    drifts.sort();
    assert_eq!(
        drifts,
        vec![
            ("/name".to_string(), FindingClass::ValueChanged),
            ("/version".to_string(), FindingClass::PatternMismatch)
        ]
    );
}

#[test]
fn or_combined_rules_accept_either() {
    let rules = json!({"$.id": {"combine": "OR", "matchers": [
        {"match": "integer"},
        {"match": "regex", "regex": "^[0-9a-f]{8}$"}
    ]}});
    let body = json!({"id": 1});
    assert!(drift(body.clone(), rules.clone(), json!({"id": 42})).is_empty());
    assert!(drift(body.clone(), rules.clone(), json!({"id": "deadbeef"})).is_empty());
    assert_eq!(drift(body, rules, json!({"id": true})).len(), 1);
}

#[test]
fn v4_array_contains_and_status_matchers() {
    let pact = json!({
        "consumer": {"name": "web"},
        "provider": {"name": "orders"},
        "interactions": [{
            "type": "Synchronous/HTTP",
            "description": "list links",
            "request": {"method": "GET", "path": "/links"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": ["application/json"]},
                "body": {"content": {"links": [{"rel": "self"}, {"rel": "next"}]}, "contentType": "application/json", "encoded": false},
                "matchingRules": {
                    "status": {"$": {"combine": "AND", "matchers": [{"match": "statusCode", "status": "success"}]}},
                    "body": {"$.links": {"combine": "AND", "matchers": [{"match": "arrayContains", "variants": [
                        {"index": 0, "rules": {"$.rel": {"combine": "AND", "matchers": [{"match": "equality"}]}}}
                    ]}]}}
                }
            }
        }],
        "metadata": {"pactSpecification": {"version": "4.0"}}
    });
    let expectation = only(&Contract::from_json(pact, "v4.json").unwrap());
    assert!(expectation.response.status.accepts(204));
    assert!(!expectation.response.status.accepts(404));
    let schema = json_schema(&expectation);
    assert!(
        schema
            .check(&json!({"links": [{"rel": "prev"}, {"rel": "self"}]}))
            .is_empty()
    );
    let drifts = schema.check(&json!({"links": [{"rel": "prev"}]}));
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert_eq!(drifts[0].class, FindingClass::ItemMissing);
}

#[test]
fn message_interactions_are_skipped_with_a_reason() {
    let pact = json!({
        "consumer": {"name": "web"},
        "provider": {"name": "orders"},
        "messages": [{"description": "order created", "contents": {"id": 1}}],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    let derived = derive_pact(&Contract::from_json(pact, "m.json").unwrap());
    assert!(derived.interactions.is_empty());
    assert_eq!(derived.skipped.len(), 1);
    assert!(
        derived.skipped[0].reason.contains("message"),
        "{:?}",
        derived.skipped
    );
}
