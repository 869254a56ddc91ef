use accord_contract::Contract;
use serde_json::{Value, json};

use super::*;

const RFC3339: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$";

/// The shipping service's pact: a structured `order.created` CloudEvent, and a binary-mode
/// `order.cancelled` one, both on the `orders` topic.
fn contracts() -> EventContracts {
    let pact = json!({
        "consumer": {"name": "shipping"},
        "provider": {"name": "orders"},
        "messages": [
            {
                "description": "an order.created event",
                "contents": {"specversion": "1.0", "type": "com.example.order.created", "source": "/orders",
                             "id": "e-1", "time": "2024-05-01T10:00:00Z", "datacontenttype": "application/json",
                             "data": {"orderId": 1, "createdAt": "2024-05-01T10:00:00Z", "items": [{"sku": "A"}]}},
                "metadata": {"contentType": "application/cloudevents+json", "kafka_topic": "orders"},
                "matchingRules": {"body": {
                    "$.id": {"matchers": [{"match": "regex", "regex": "^\\S.*$"}]},
                    "$.time": {"matchers": [{"match": "regex", "regex": RFC3339}]},
                    "$.data.orderId": {"matchers": [{"match": "integer"}]},
                    "$.data.createdAt": {"matchers": [{"match": "regex", "regex": RFC3339}]},
                    "$.data.items": {"matchers": [{"match": "type", "min": 1}]}
                }}
            },
            {
                "description": "an order.cancelled event",
                "contents": {"orderId": 1, "reason": "out of stock"},
                "metadata": {"contentType": "application/json", "kafka_topic": "orders",
                             "ce_type": "com.example.order.cancelled", "ce_source": "/orders",
                             "ce_specversion": "1.0"},
                "matchingRules": {"body": {"$.orderId": {"matchers": [{"match": "integer"}]},
                                           "$.reason": {"matchers": [{"match": "type"}]}}}
            }
        ],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    let contract = Contract::from_json(pact, "shipping.json").unwrap();
    EventContracts::from_contracts(&[contract])
}

fn created(created_at: Value) -> SampledEvent {
    SampledEvent {
        source: String::new(),
        location: "kafka topic orders partition 0 offset 7".into(),
        channel: Some("orders".into()),
        headers: BTreeMap::new(),
        payload: json!({"specversion": "1.0", "type": "com.example.order.created", "source": "/orders",
                        "id": "order-1-created", "time": "2026-12-04T10:00:00Z",
                        "datacontenttype": "application/json", "traceparent": "00-abc",
                        "data": {"orderId": 1, "createdAt": created_at, "items": [{"sku": "B", "qty": 2}],
                                 "customer": "ada@example.com"}})
        .to_string()
        .into_bytes(),
    }
}

fn run() -> EventRun {
    EventRun::new(
        contracts(),
        "orders",
        Some("production".into()),
        vec!["kafka orders".into()],
    )
}

#[test]
fn compliant_events_with_extra_fields_are_clean() {
    let contracts = contracts();
    assert_eq!(contracts.expectations().len(), 2);
    let mut run = run();
    for _ in 0..3 {
        run.observe(&created(json!("2026-12-04T10:00:00Z")));
    }
    let report = run.report();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.probes, 3);
    let events = report.events.unwrap();
    assert_eq!(events.per_type["com.example.order.created"].sampled, 3);
    assert_eq!(events.per_type["com.example.order.created"].broken, 0);
}

#[test]
fn a_unix_timestamp_is_a_format_change_named_without_its_value() {
    let mut run = run();
    run.observe(&created(json!("2026-12-04T10:00:00Z")));
    for _ in 0..4 {
        run.observe(&created(json!(1_764_842_400)));
    }
    let report = run.report();
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.pointer, "/data/createdAt");
    assert_eq!(finding.consumers, ["shipping"]);
    assert_eq!(finding.occurrences, 4);
    assert_eq!(finding.actual, "an integer");
    let hint = finding.hint.as_deref().unwrap();
    assert!(
        hint.starts_with("4 of 5 sampled com.example.order.created"),
        "{hint}"
    );
    assert!(hint.contains("partition 0 offset 7"), "{hint}");
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains("1764842400"),
        "a payload value leaked: {json}"
    );
    assert!(
        !json.contains("ada@example.com"),
        "a payload value leaked: {json}"
    );
    assert_eq!(report.outcome(), crate::Outcome::Drift);
}

#[test]
fn binary_events_are_matched_by_their_header_and_their_metadata_checked() {
    let mut run = run();
    let mut event = SampledEvent {
        location: "amqp exchange orders routing key order.cancelled".into(),
        channel: Some("order.cancelled".into()),
        payload: json!({"orderId": 1, "reason": "customer request"})
            .to_string()
            .into_bytes(),
        ..SampledEvent::default()
    };
    event
        .headers
        .insert("ce-type".into(), "com.example.order.cancelled".into());
    event.headers.insert("ce-source".into(), "/orders".into());
    event.headers.insert("ce-specversion".into(), "1.0".into());
    run.observe(&event);
    assert!(
        run.report().findings.is_empty(),
        "{:#?}",
        run.report().findings
    );

    event.headers.remove("ce-source");
    event.headers.insert("ce-specversion".into(), "2.0".into());
    run.observe(&event);
    let report = run.report();
    let classes: Vec<(FindingClass, &str)> = report
        .findings
        .iter()
        .map(|f| (f.class, f.pointer.as_str()))
        .collect();
    assert!(
        classes.contains(&(FindingClass::MetadataMissing, "/metadata/ce_source")),
        "{classes:?}"
    );
    assert!(
        classes.contains(&(FindingClass::MetadataChanged, "/metadata/ce_specversion")),
        "{classes:?}"
    );
}

#[test]
fn undecodable_payloads_and_uncontracted_types_are_told_apart() {
    let mut run = run();
    let mut event = SampledEvent {
        location: "file events.ndjson line 3".into(),
        payload: b"\x00\x01 not json".to_vec(),
        ..SampledEvent::default()
    };
    event
        .headers
        .insert("ce_type".into(), "com.example.order.created".into());
    run.observe(&event);
    let mut unknown = created(json!("2026-12-04T10:00:00Z"));
    unknown.payload = json!({"specversion": "1.0", "type": "com.example.invoice.sent", "data": {}})
        .to_string()
        .into_bytes();
    run.observe(&unknown);
    run.observe(&unknown);
    let report = run.report();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].class, FindingClass::Undecodable);
    let events = report.events.clone().unwrap();
    assert_eq!(
        events.uncontracted,
        [Uncontracted {
            event_type: "com.example.invoice.sent".into(),
            count: 2
        }]
    );
    assert!(report.to_table().contains("com.example.invoice.sent"));
}

#[test]
fn values_are_kept_only_when_asked_and_never_in_the_report() {
    let mut plain = run();
    plain.observe(&created(json!(1_764_842_400)));
    assert!(plain.local_values().is_empty());

    let mut shown = run().show_values();
    shown.observe(&created(json!(1_764_842_400)));
    let values = shown.local_values();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].pointer, "/data/createdAt");
    assert_eq!(values[0].value, "1764842400");
    let json = serde_json::to_string(&shown.report()).unwrap();
    assert!(!json.contains("1764842400"), "{json}");
}

#[test]
fn an_explicit_mapping_routes_a_dead_letter_queue_to_its_contract() {
    let dead_letter = |reason: Value| SampledEvent {
        location: "exchange orders.dlq routing key orders.dlq".into(),
        channel: Some("orders.dlq".into()),
        payload: json!({"orderId": 1, "reason": reason})
            .to_string()
            .into_bytes(),
        ..SampledEvent::default()
    };
    let mut unmapped = run();
    unmapped.observe(&dead_letter(json!("x")));
    assert!(unmapped.report().findings.is_empty());
    assert_eq!(
        unmapped.report().events.unwrap().uncontracted[0].event_type,
        "orders.dlq"
    );

    let mut mapped = run().with_mappings(vec![(
        "orders.dlq".to_string(),
        "an order.cancelled event".to_string(),
    )]);
    mapped.observe(&dead_letter(json!(42)));
    let report = mapped.report();
    let pointers: Vec<&str> = report.findings.iter().map(|f| f.pointer.as_str()).collect();
    assert!(pointers.contains(&"/reason"), "{pointers:?}");
    // The dead-lettered events lack the CloudEvents headers the contract names, too.
    assert!(pointers.contains(&"/metadata/ce_type"), "{pointers:?}");
}
