//! Public OpenAPI documents (`tests/fixtures/openapi/`, see its `SOURCES.md`) checked
//! against pacts that fit them and pacts that break them in each way a pact can.

use std::path::{Path, PathBuf};

use accord_contract::Contract;
use accord_contract::openapi::{MismatchKind, ProviderSpec};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi")
}

fn spec(name: &str) -> ProviderSpec {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    ProviderSpec::parse(&text).unwrap_or_else(|err| panic!("{name}: {err}"))
}

#[test]
fn every_case_of_every_document_gets_the_expected_mismatches() {
    let kinds_seen = crate::cases::run(&fixtures(), |name, pact| spec(name).check(pact));
    // Every class is exercised by at least one real document.
    assert_eq!(kinds_seen.len(), 11, "{kinds_seen:?}");
}

#[test]
fn a_mismatch_says_what_the_pact_expects_and_what_the_document_allows() {
    let spec = spec("petstore-expanded.yaml");
    let pact = Contract::from_file(fixtures().join("petstore-expanded-fails.json")).unwrap();
    let comparison = spec.check(&pact);
    assert!(!comparison.success());
    let (interaction, mismatch) = comparison
        .mismatches()
        .find(|(_, m)| m.kind == MismatchKind::ResponseBodyInvalid)
        .expect("a response body mismatch");
    assert!(!interaction.description.is_empty());
    assert!(mismatch.pointer.starts_with("/response/body"), "{mismatch}");
    assert!(
        !mismatch.expected.is_empty() && !mismatch.allowed.is_empty(),
        "{mismatch}"
    );
    assert!(
        // Through the `$ref`, the rule is where the document keeps it.
        mismatch.spec_pointer.as_deref()
            == Some("#/components/schemas/Pet/allOf/1/properties/id/type"),
        "{mismatch}"
    );
}

#[test]
fn documents_that_cannot_be_checked_are_refused_with_the_reason() {
    let err = ProviderSpec::parse("swagger: '2.0'\npaths: {}\n").unwrap_err();
    assert!(err.to_string().contains("Swagger 2.0"), "{err}");
    let err = ProviderSpec::parse(
        "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: 'other.yaml#/x'\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("outside the document"), "{err}");
    let err = ProviderSpec::parse(
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Missing'\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not resolve"), "{err}");
    assert!(ProviderSpec::parse("{not json").is_err());
    assert!(ProviderSpec::parse("openapi: [").is_err());
}

const ORDERS_V1: &str = r##"
openapi: 3.1.0
info: {title: orders, version: "1"}
paths:
  /orders:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer}}]
      responses:
        "200":
          description: orders
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Order"}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [item]
              properties: {item: {type: string}, note: {type: string}}
      responses:
        "201": {description: created}
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: an order
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Order"}
        "404": {description: no such order}
components:
  schemas:
    Order:
      type: object
      required: [id, createdAt, status]
      properties:
        id: {type: integer}
        createdAt: {type: string, format: date-time}
        status: {type: string, enum: [open, shipped, cancelled]}
        total: {type: number}
"##;

fn consumer(name: &str, interactions: serde_json::Value) -> accord_contract::openapi::ConsumerPact {
    let pact = serde_json::json!({
        "consumer": {"name": name}, "provider": {"name": "orders"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    });
    accord_contract::openapi::ConsumerPact {
        consumer: name.into(),
        version: "1".into(),
        context: "deployed to production".into(),
        contract: Contract::from_json(pact, name).unwrap(),
    }
}

#[test]
fn a_spec_change_names_the_consumers_it_breaks_and_the_changes_nobody_relies_on() {
    use accord_contract::openapi::{ChangeKind, diff_specs};
    let old = ProviderSpec::parse(ORDERS_V1).unwrap();
    let new_text = ORDERS_V1
        .replace("createdAt: {type: string, format: date-time}", "createdAt: {type: integer}")
        .replace("total: {type: number}\n", "")
        .replace("status: {type: string, enum: [open, shipped, cancelled]}", "status: {type: string, enum: [open, shipped]}")
        .replace("        \"404\": {description: no such order}\n", "")
        .replace("required: [item]", "required: [item, note]")
        .replace(
            "parameters: [{name: limit, in: query, schema: {type: integer}}]",
            "parameters: [{name: limit, in: query, schema: {type: integer}}, {name: X-Tenant, in: header, required: true, schema: {type: string}}]",
        );
    let new = ProviderSpec::parse(&new_text).unwrap();
    let pacts = vec![
        consumer(
            "dashboard",
            serde_json::json!([{
                "description": "an order",
                "request": {"method": "GET", "path": "/orders/1"},
                "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                             "body": {"id": 1, "createdAt": "2024-05-01T10:00:00Z", "status": "open"}}
            }, {
                "description": "a missing order",
                "request": {"method": "GET", "path": "/orders/2"},
                "response": {"status": 404}
            }]),
        ),
        consumer(
            "billing",
            serde_json::json!([{
                "description": "every order's id",
                "request": {"method": "GET", "path": "/orders", "headers": {"X-Tenant": "a"}},
                "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                             "body": [{"id": 1, "status": "cancelled"}]}
            }, {
                "description": "a new order",
                "request": {"method": "POST", "path": "/orders", "headers": {"Content-Type": "application/json"}, "body": {"item": "book"}},
                "response": {"status": 201}
            }]),
        ),
    ];
    let diff = diff_specs(&old, &new, &pacts);
    assert!(diff.breaking());
    let find = |kind: ChangeKind, operation: &str, pointer: &str| {
        diff.changes
            .iter()
            .find(|c| c.kind == kind && c.operation == operation && c.pointer == pointer)
            .unwrap_or_else(|| panic!("no {kind:?} at {operation} {pointer}: {:#?}", diff.changes))
    };
    let who = |c: &accord_contract::openapi::Change| {
        c.usages
            .iter()
            .map(|u| format!("{}: {}", u.consumer, u.interaction))
            .collect::<Vec<_>>()
    };
    let created = find(
        ChangeKind::TypeChanged,
        "GET /orders/{id}",
        "/response/body/createdAt",
    );
    assert_eq!(created.detail, "string (date-time) → integer");
    assert_eq!(who(created), vec!["dashboard: an order"]);
    assert_eq!(created.usages[0].context, "deployed to production");
    // billing reads the list without createdAt: that change is safe for the list.
    assert!(
        find(
            ChangeKind::TypeChanged,
            "GET /orders",
            "/response/body/*/createdAt"
        )
        .usages
        .is_empty()
    );
    assert_eq!(
        who(find(
            ChangeKind::StatusRemoved,
            "GET /orders/{id}",
            "/response/status"
        )),
        vec!["dashboard: a missing order"]
    );
    assert!(
        find(
            ChangeKind::FieldRemoved,
            "GET /orders/{id}",
            "/response/body/total"
        )
        .usages
        .is_empty()
    );
    assert_eq!(
        who(find(
            ChangeKind::EnumValueRemoved,
            "GET /orders",
            "/response/body/*/status"
        )),
        vec!["billing: every order's id"]
    );
    assert!(
        find(
            ChangeKind::EnumValueRemoved,
            "GET /orders/{id}",
            "/response/body/status"
        )
        .usages
        .is_empty()
    );
    assert_eq!(
        who(find(
            ChangeKind::NewRequiredField,
            "POST /orders",
            "/request/body/note"
        )),
        vec!["billing: a new order"]
    );
    // billing sends the new header already.
    assert!(
        find(
            ChangeKind::NewRequiredParameter,
            "GET /orders",
            "/request/headers/x-tenant"
        )
        .usages
        .is_empty()
    );
    // Breaking changes come first.
    let first_safe = diff
        .changes
        .iter()
        .position(|c| c.usages.is_empty())
        .unwrap();
    assert!(
        diff.changes[..first_safe]
            .iter()
            .all(|c| !c.usages.is_empty())
    );
    assert!(
        diff.changes[first_safe..]
            .iter()
            .all(|c| c.usages.is_empty())
    );
    // The same document twice changes nothing.
    assert!(diff_specs(&old, &old, &pacts).changes.is_empty());
}

#[test]
fn response_headers_must_be_declared_with_values_their_schema_allows() {
    let spec = ProviderSpec::parse(
        r##"
openapi: 3.1.0
info: {title: pages, version: "1"}
paths:
  /pages:
    get:
      responses:
        "200":
          description: a page
          headers:
            X-Total-Count: {schema: {type: integer, minimum: 0}}
          content:
            application/json:
              schema: {type: array}
"##,
    )
    .unwrap();
    let pact = |headers: serde_json::Value| {
        Contract::from_json(
            serde_json::json!({
                "consumer": {"name": "web"}, "provider": {"name": "pages"},
                "interactions": [{"description": "a page",
                    "request": {"method": "GET", "path": "/pages"},
                    "response": {"status": 200, "headers": headers, "body": []}}],
                "metadata": {"pactSpecification": {"version": "3.0.0"}}
            }),
            "inline",
        )
        .unwrap()
    };
    let fits = spec.check(&pact(serde_json::json!({
        "Content-Type": "application/json", "Date": "Sat, 05 Dec 2026 10:00:00 GMT", "x-total-count": "12"
    })));
    assert!(
        fits.success(),
        "{:?}",
        fits.mismatches().collect::<Vec<_>>()
    );
    let negative = spec.check(&pact(serde_json::json!({"X-Total-Count": "-1"})));
    let (_, mismatch) = negative.mismatches().next().unwrap();
    assert_eq!(mismatch.kind, MismatchKind::ResponseHeaderInvalid);
    assert_eq!(mismatch.pointer, "/response/headers/x-total-count");
    assert_eq!(mismatch.allowed, "a number >= 0");
}
