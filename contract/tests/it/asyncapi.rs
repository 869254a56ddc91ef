//! Public AsyncAPI documents (`tests/fixtures/asyncapi/`, see its `SOURCES.md`) checked
//! against message pacts that fit them and pacts that break them in each way a message
//! pact can, and a provider's OpenAPI and AsyncAPI documents checked together.

use std::path::{Path, PathBuf};

use accord_contract::Contract;
use accord_contract::asyncapi::EventSpec;
use accord_contract::openapi::{MismatchKind, SpecError};
use accord_contract::provider_contract::{ProviderDocument, check_with};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/asyncapi")
}

fn spec(name: &str) -> EventSpec {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    EventSpec::parse(&text).unwrap_or_else(|err| panic!("{name}: {err}"))
}

#[test]
fn every_case_of_every_document_gets_the_expected_mismatches() {
    let kinds_seen = crate::cases::run(&fixtures(), |name, pact| spec(name).check(pact));
    // Every message kind is exercised by at least one real document.
    assert_eq!(kinds_seen.len(), 6, "{kinds_seen:?}");
}

#[test]
fn a_message_is_matched_to_its_channel_and_message_and_the_rule_is_located() {
    let spec = spec("streetlights-kafka-3.0.yml");
    let pact = Contract::from_file(fixtures().join("streetlights-kafka-3.0-fails.json")).unwrap();
    let comparison = spec.check(&pact);
    let result = comparison
        .interactions
        .iter()
        .find(|i| i.description.contains("sent at a Unix time"))
        .unwrap();
    assert_eq!(
        result.operation.as_deref(),
        Some("turnOnOff on smartylighting.streetlights.1.0.action.{streetlightId}.turn.on")
    );
    let mismatch = &result.mismatches[0];
    assert_eq!(mismatch.expected, "integer 1714557600");
    assert_eq!(mismatch.allowed, "type string");
    // Through the `$ref`s, the rule is where the document keeps it.
    assert_eq!(
        mismatch.spec_pointer.as_deref(),
        Some("#/components/schemas/sentAt/type")
    );
    let passes =
        Contract::from_file(fixtures().join("streetlights-kafka-3.0-passes.json")).unwrap();
    assert!(spec.check(&passes).success());
}

#[test]
fn documents_that_cannot_be_checked_are_refused_with_the_reason() {
    let adeo =
        std::fs::read_to_string(fixtures().join("adeo-kafka-request-reply-3.0.yml")).unwrap();
    let err = EventSpec::parse(&adeo).unwrap_err();
    assert!(
        matches!(err, SpecError::Reference { .. }) && err.to_string().contains("bundle"),
        "{err}"
    );
    let err = EventSpec::parse("asyncapi: 1.2.0\nchannels: {}\n").unwrap_err();
    assert!(err.to_string().contains("AsyncAPI 2.x and 3.0"), "{err}");
    let err = ProviderDocument::parse("some: contract\n").unwrap_err();
    assert!(matches!(err, SpecError::Unrecognised), "{err}");
    assert!(EventSpec::parse("asyncapi: [").is_err());
}

#[test]
fn a_payload_in_a_format_accord_cannot_read_is_skipped_not_passed() {
    let spec = EventSpec::parse(
        r#"
asyncapi: 3.0.0
info: {title: prices, version: "1"}
channels:
  prices:
    address: prices
    messages:
      priceChanged:
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {type: record, name: Price, fields: [{name: sku, type: string}]}
"#,
    )
    .unwrap();
    let pact = Contract::from_json(
        json!({
            "consumer": {"name": "shop"}, "provider": {"name": "prices"},
            "messages": [{"description": "a price change", "contents": {"sku": "A"},
                          "metadata": {"kafka_topic": "prices"}}],
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        }),
        "inline",
    )
    .unwrap();
    let comparison = spec.check(&pact);
    assert!(comparison.interactions.is_empty());
    assert!(!comparison.complete());
    assert!(
        comparison.skipped[0].reason.contains("avro"),
        "{:?}",
        comparison.skipped
    );
}

#[test]
fn http_interactions_and_messages_are_each_checked_against_their_document() {
    let openapi = ProviderDocument::parse(
        r#"
openapi: 3.0.3
info: {title: orders, version: "1"}
paths:
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: an order
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}}}
"#,
    )
    .unwrap();
    let asyncapi = ProviderDocument::parse(
        r#"
asyncapi: 2.6.0
info: {title: orders, version: "1"}
channels:
  orders:
    subscribe:
      message:
        payload: {type: object, properties: {id: {type: integer}}}
"#,
    )
    .unwrap();
    assert_eq!(openapi.specification(), "oas");
    assert_eq!(asyncapi.specification(), "asyncapi");
    let pact = Contract::from_json(
        json!({
            "consumer": {"name": "web"}, "provider": {"name": "orders"},
            "interactions": [
                {"type": "Synchronous/HTTP", "description": "an order",
                 "request": {"method": "GET", "path": "/orders/1"},
                 "response": {"status": 200, "headers": {"Content-Type": ["application/json"]},
                              "body": {"content": {"id": 1}, "contentType": "application/json"}}},
                {"type": "Asynchronous/Messages", "description": "an order event",
                 "contents": {"content": {"id": "one"}, "contentType": "application/json"},
                 "metadata": {"kafka_topic": "orders"}}
            ],
            "metadata": {"pactSpecification": {"version": "4.0"}}
        }),
        "inline",
    )
    .unwrap();
    // One document alone leaves the other kind of interaction unchecked.
    let http_only = check_with(&[&openapi], &pact);
    assert!(http_only.success() && !http_only.complete());
    assert!(
        http_only.skipped[0].reason.contains("no AsyncAPI document"),
        "{:?}",
        http_only.skipped
    );
    let both = check_with(&[&openapi, &asyncapi], &pact);
    assert!(both.complete());
    assert!(!both.success());
    let (interaction, mismatch) = both.mismatches().next().unwrap();
    assert_eq!(interaction.description, "an order event");
    assert_eq!(mismatch.kind, MismatchKind::MessageBodyInvalid);
    assert_eq!(mismatch.pointer, "/contents/id");
}

#[test]
fn a_channel_parameter_value_the_address_does_not_allow_is_named() {
    let spec = spec("gitter-streaming-3.0.yml");
    let pact = Contract::from_file(fixtures().join("gitter-streaming-3.0-fails.json")).unwrap();
    let comparison = spec.check(&pact);
    let (_, mismatch) = comparison
        .mismatches()
        .find(|(i, _)| i.description.contains("does not have"))
        .unwrap();
    assert_eq!(mismatch.kind, MismatchKind::UnknownChannel);
    assert!(
        mismatch
            .allowed
            .contains("parameter resource = \"users\" is not allowed"),
        "{mismatch}"
    );
}

#[test]
fn an_events_document_change_names_the_consumers_it_breaks() {
    let text = std::fs::read_to_string(fixtures().join("streetlights-kafka-3.0.yml")).unwrap();
    let next = text
        .replace(
            "    sentAt:\n      type: string\n      format: date-time",
            "    sentAt:\n      type: integer\n      format: int64",
        )
        .replace("            - 'off'\n", "");
    assert_ne!(next, text);
    let (old, new) = (
        EventSpec::parse(&text).unwrap(),
        EventSpec::parse(&next).unwrap(),
    );
    let pact = |file: &str| accord_contract::openapi::ConsumerPact {
        consumer: "lamp-controller".into(),
        version: "1".into(),
        context: "deployed to production".into(),
        contract: Contract::from_file(fixtures().join(file)).unwrap(),
    };
    let report = accord_contract::asyncapi::diff_events(
        &old,
        &new,
        &[pact("streetlights-kafka-3.0-passes.json")],
    );
    assert!(report.breaking());
    let changed = |kind: accord_contract::openapi::ChangeKind, operation: &str| {
        report
            .changes
            .iter()
            .find(|c| c.kind == kind && c.operation.starts_with(operation))
            .unwrap_or_else(|| panic!("no {kind:?} on {operation}: {report:#?}"))
    };
    use accord_contract::openapi::ChangeKind;
    // The consumer reads sentAt of turn-on and dim commands: both break.
    let sent_at = changed(
        ChangeKind::TypeChanged,
        "turnOnOff on smartylighting.streetlights.1.0.action.{streetlightId}.turn.on",
    );
    assert_eq!(sent_at.pointer, "/contents/sentAt");
    assert_eq!(sent_at.detail, "string (date-time) → integer (int64)");
    assert_eq!(sent_at.usages[0].interaction, "a command to turn lamp 7 on");
    // It sends "off" on the turn-off channel.
    let off = changed(
        ChangeKind::EnumValueRemoved,
        "turnOnOff on smartylighting.streetlights.1.0.action.{streetlightId}.turn.off",
    );
    assert_eq!(off.usages.len(), 1, "{off:#?}");
    // Nobody reads the light measurement, which the application only receives anyway.
    assert!(
        report
            .changes
            .iter()
            .all(|c| !c.operation.starts_with("lightMeasured"))
    );
    // A channel removed breaks whoever reads from it.
    let gone = text.replace(
        "smartylighting.streetlights.1.0.action.{streetlightId}.dim'",
        "smartylighting.streetlights.2.0.action.{streetlightId}.dim'",
    );
    let report = accord_contract::asyncapi::diff_events(
        &old,
        &EventSpec::parse(&gone).unwrap(),
        &[pact("streetlights-kafka-3.0-passes.json")],
    );
    let removed = report
        .breaking_changes()
        .find(|c| c.kind == ChangeKind::OperationRemoved)
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(
        removed.usages[0].interaction,
        "a command to dim lamp 7 to 40%"
    );
}

#[test]
fn a_2x_channel_parameter_is_checked_against_its_schema() {
    let spec = EventSpec::parse(
        r#"
asyncapi: 2.6.0
info: {title: lamps, version: "1"}
channels:
  lamps.{lampId}.state:
    parameters:
      lampId: {schema: {type: string, pattern: "^[0-9]+$"}}
    subscribe:
      message:
        payload: {type: object, properties: {on: {type: boolean}}}
"#,
    )
    .unwrap();
    let pact = |topic: &str| {
        Contract::from_json(
            json!({
                "consumer": {"name": "panel"}, "provider": {"name": "lamps"},
                "messages": [{"description": "a lamp state", "contents": {"on": true},
                              "metadata": {"kafka_topic": topic}}],
                "metadata": {"pactSpecification": {"version": "3.0.0"}}
            }),
            "inline",
        )
        .unwrap()
    };
    assert!(spec.check(&pact("lamps.7.state")).success());
    let refused = spec.check(&pact("lamps.kitchen.state"));
    let (_, mismatch) = refused.mismatches().next().unwrap();
    assert_eq!(mismatch.kind, MismatchKind::UnknownChannel);
    assert!(
        mismatch
            .allowed
            .contains("parameter lampId = \"kitchen\" is not allowed"),
        "{mismatch}"
    );
}
