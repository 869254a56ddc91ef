//! Provider contracts: OpenAPI and AsyncAPI documents published by a provider version,
//! compared with the consumers' pacts, the results in the matrix and can-i-deploy.

use base64::Engine;
use serde_json::{Value, json};

use crate::matrix::{assert_decision, deploy, environment, texts};
use crate::{Backend, TestApp, backend_tests, spawn_app};

backend_tests!(
    a_published_contract_is_compared_with_the_pacts_the_provider_must_satisfy,
    a_new_pact_is_compared_with_the_current_contracts,
    a_document_that_cannot_be_read_is_stored_with_the_reason_and_compared_with_nothing,
    the_older_put_endpoint_stores_a_contract,
    a_breaking_change_report_names_the_consumers_before_anything_is_published,
    an_asyncapi_document_covers_the_messages_and_with_the_openapi_document_a_whole_pact
);

const ORDERS: &str = r##"
openapi: 3.0.3
info: {title: orders, version: "2"}
paths:
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
      required: [id, createdAt]
      properties:
        id: {type: integer}
        createdAt: {type: string, format: date-time}
"##;

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A pact whose consumer reads one order, with `created_at` as its `createdAt`.
fn order_pact(consumer: &str, created_at: Value) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": "orders"},
        "interactions": [{
            "description": "a request for order 1",
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {"id": 1, "createdAt": created_at}
            }
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

async fn publish_contract(
    app: &TestApp,
    version: &str,
    document: &str,
    self_success: bool,
) -> crate::Resp {
    app.post(
        "/provider-contracts/provider/orders/publish",
        json!({
            "pacticipantVersionNumber": version,
            "branch": "main",
            "tags": ["dev"],
            "contract": {
                "content": encode(document),
                "contentType": "application/yaml",
                "specification": "oas",
                "selfVerificationResults": {
                    "success": self_success,
                    "content": encode("42 examples, 0 failures"),
                    "contentType": "text/plain",
                    "format": "text",
                    "verifier": "schemathesis",
                    "verifierVersion": "3.0"
                }
            }
        }),
    )
    .await
}

fn notices(resp: &crate::Resp) -> String {
    resp.body["notices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            format!(
                "[{}] {}",
                n["type"].as_str().unwrap_or(""),
                n["text"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn a_published_contract_is_compared_with_the_pacts_the_provider_must_satisfy(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.publish(
        "dashboard",
        "1",
        "orders",
        Some("main"),
        &order_pact("dashboard", json!("2024-05-01T10:00:00Z")),
    )
    .await
    .expect(200);
    app.publish(
        "billing",
        "7",
        "orders",
        Some("main"),
        &order_pact("billing", json!(1714557600)),
    )
    .await
    .expect(200);
    let published = publish_contract(&app, "2.0.0", ORDERS, true)
        .await
        .expect(200);
    let said = notices(&published);
    assert_eq!(
        published.body["_embedded"]["version"]["number"], "2.0.0",
        "{said}"
    );
    assert!(
        said.contains("[danger] Compared with 2 consumer pact(s): 1 compatible, 1 not compatible."),
        "{said}"
    );
    assert!(
        said.contains("[success] dashboard (1): compatible"),
        "{said}"
    );
    assert!(
        said.contains("[danger] billing (7): not compatible")
            && said.contains("/response/body/createdAt"),
        "{said}"
    );
    assert!(
        published.body["_links"]["pb:branch-version"]["href"]
            .as_str()
            .unwrap()
            .contains("/branches/main/versions/2.0.0")
    );
    // The provider version got its branch and tag.
    let tags = app
        .get("/pacticipants/orders/versions/2.0.0/tags/dev")
        .await;
    tags.expect(200);

    // The contract and each comparison, with the mismatch in full.
    let shown = app
        .get("/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200);
    assert_eq!(shown.body["selfVerification"]["verifier"], "schemathesis");
    assert_eq!(
        shown.body["selfVerification"]["content"],
        "42 examples, 0 failures"
    );
    let comparisons = shown.body["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2, "{comparisons:?}");
    let billing = comparisons
        .iter()
        .find(|c| c["consumer"] == "billing")
        .unwrap();
    assert_eq!(billing["success"], false);
    let mismatch = &billing["interactions"][0]["mismatches"][0];
    assert_eq!(mismatch["kind"], "response-body-invalid");
    assert_eq!(mismatch["pointer"], "/response/body/createdAt");
    assert_eq!(mismatch["expected"], "integer 1714557600");
    assert_eq!(mismatch["allowed"], "type string");

    // The matrix treats the comparisons as verification results.
    let production = environment(&app, "production").await;
    deploy(&app, "orders", "2.0.0", &production, None).await;
    let yes = app
        .get("/can-i-deploy?pacticipant=dashboard&version=1&environment=production")
        .await
        .expect(200);
    assert_decision(&yes, json!(true));
    let no = app
        .get("/can-i-deploy?pacticipant=billing&version=7&environment=production")
        .await
        .expect(200);
    assert_decision(&no, json!(false));
    let reason = texts(&no);
    assert!(
        reason.contains("The provider contract of orders 2.0.0"),
        "{reason}"
    );
    assert!(reason.contains("/response/body/createdAt the pact expects integer 1714557600; the document allows type string"), "{reason}");
    let row = &no.body["matrix"][0];
    assert_eq!(row["verificationResult"]["success"], false);

    // The UI page shows the document, each comparison, and why each mismatch is one.
    let page = app
        .get("/ui/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200);
    for expected in [
        "Provider contracts of orders 2.0.0",
        "schemathesis",
        "data-consumer=\"billing\"",
        "response-body-invalid",
        "<code>/response/body/createdAt</code>",
        "integer 1714557600",
        "The consumer expects a value the document&#39;s schema does not allow",
        "createdAt: {type: string, format: date-time}",
    ] {
        assert!(
            page.text.contains(expected),
            "{expected:?} missing:\n{}",
            page.text
        );
    }
    let listed = app
        .get("/ui/provider-contracts/provider/orders")
        .await
        .expect(200);
    assert!(
        listed
            .text
            .contains("/ui/provider-contracts/provider/orders/version/2.0.0"),
        "{}",
        listed.text
    );

    // Publishing the same document again compares nothing twice.
    publish_contract(&app, "2.0.0", ORDERS, true)
        .await
        .expect(200);
    let shown = app
        .get("/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200);
    assert_eq!(shown.body["comparisons"].as_array().unwrap().len(), 2);
}

async fn a_new_pact_is_compared_with_the_current_contracts(backend: Backend) {
    let app = spawn_app(backend).await;
    let published = publish_contract(&app, "2.0.0", ORDERS, true)
        .await
        .expect(200);
    assert!(notices(&published).contains("No consumer pact to compare it with yet"));
    // A provider version whose own check failed: what is compared with it fails too.
    publish_contract(&app, "3.0.0-rc", ORDERS, false)
        .await
        .expect(200);
    let production = environment(&app, "production").await;
    deploy(&app, "orders", "2.0.0", &production, None).await;
    app.publish(
        "dashboard",
        "1",
        "orders",
        Some("main"),
        &order_pact("dashboard", json!("2024-05-01T10:00:00Z")),
    )
    .await
    .expect(200);
    let yes = app
        .get("/can-i-deploy?pacticipant=dashboard&version=1&environment=production")
        .await
        .expect(200);
    assert_decision(&yes, json!(true));
    let shown = app
        .get("/provider-contracts/provider/orders/version/3.0.0-rc")
        .await
        .expect(200);
    let comparisons = shown.body["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 1, "{comparisons:?}");
    assert_eq!(comparisons[0]["success"], false);
    assert_eq!(comparisons[0]["interactions"][0]["mismatches"], json!([]));
    // A pact with messages gets no result from an OpenAPI document alone.
    let mixed = mixed_pact("shipping", json!(1));
    app.publish("shipping", "1", "orders", Some("main"), &mixed)
        .await
        .expect(200);
    let unknown = app
        .get("/can-i-deploy?pacticipant=shipping&version=1&environment=production")
        .await
        .expect(200);
    assert_ne!(
        unknown.body["summary"]["deployable"],
        json!(true),
        "{}",
        texts(&unknown)
    );
    assert_eq!(
        unknown.body["matrix"][0]["verificationResult"],
        Value::Null,
        "{}",
        unknown.body
    );
}

async fn a_document_that_cannot_be_read_is_stored_with_the_reason_and_compared_with_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    // Stored (as PactFlow does), with the reason, and compared with nothing.
    app.publish(
        "dashboard",
        "1",
        "orders",
        Some("main"),
        &order_pact("dashboard", json!("2024-05-01T10:00:00Z")),
    )
    .await
    .expect(200);
    let stored = publish_contract(&app, "1", "swagger: '2.0'\npaths: {}\n", true)
        .await
        .expect(200);
    let said = notices(&stored);
    assert!(
        said.contains("[danger] Accord cannot compare pacts with this document: not an OpenAPI 3 document: it is a Swagger 2.0 document"),
        "{said}"
    );
    let shown = app
        .get("/provider-contracts/provider/orders/version/1")
        .await
        .expect(200);
    assert_eq!(shown.body["comparisons"], json!([]));
    // A pact published later is not compared with it either (and is still stored).
    app.publish(
        "billing",
        "1",
        "orders",
        Some("main"),
        &order_pact("billing", json!(1)),
    )
    .await
    .expect(200);
    let shown = app
        .get("/provider-contracts/provider/orders/version/1")
        .await
        .expect(200);
    assert_eq!(shown.body["comparisons"], json!([]));
    let matrix = app
        .get("/matrix?q[][pacticipant]=billing&q[][version]=1&latestby=cvp")
        .await
        .expect(200);
    assert_eq!(
        matrix.body["matrix"][0]["consumer"]["name"], "billing",
        "{}",
        matrix.body
    );
    assert_eq!(
        matrix.body["matrix"][0]["verificationResult"],
        Value::Null,
        "{}",
        matrix.body
    );
    // No self-verification result (the official client leaves `--verification-success`
    // out without other details): stored, said, and unproven.
    let unstated = app
        .post(
            "/provider-contracts/provider/orders/publish",
            json!({"pacticipantVersionNumber": "3", "contract": {"content": encode(ORDERS), "specification": "oas"}}),
        )
        .await
        .expect(200);
    let said = notices(&unstated);
    assert!(said.contains("self-verification not stated"), "{said}");
    assert!(
        said.contains("did not say how the provider's own check"),
        "{said}"
    );
    assert!(said.contains("dashboard (1): not compatible"), "{said}");
    let no = app
        .get("/matrix?q[][pacticipant]=dashboard&q[][version]=1&q[][pacticipant]=orders&q[][version]=3&latestby=cvpv")
        .await
        .expect(200);
    assert!(
        texts(&no).contains("did not say how its own check of its contract went"),
        "{}",
        texts(&no)
    );
    // The same document again, with its own check's result: compared again.
    let stated = publish_contract(&app, "3", ORDERS, true).await.expect(200);
    let said = notices(&stated);
    assert!(said.contains("dashboard (1): compatible"), "{said}");
    let wrong = app
        .post(
            "/provider-contracts/provider/orders/publish",
            json!({"pacticipantVersionNumber": "2", "contract": {"content": "%%%", "specification": "raml", "selfVerificationResults": {"success": true}}}),
        )
        .await
        .expect(400);
    assert!(
        wrong.body["errors"]["contract.content"][0]
            .as_str()
            .unwrap()
            .contains("base64"),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body["errors"]["contract.specification"][0]
            .as_str()
            .unwrap()
            .contains("OpenAPI"),
        "{}",
        wrong.body
    );
    // Refused requests store nothing.
    app.get("/pacticipants/orders/versions/2").await.expect(404);
}

async fn the_older_put_endpoint_stores_a_contract(backend: Backend) {
    let app = spawn_app(backend).await;
    let stored = app
        .put(
            "/contracts/provider/Bar/version/1",
            json!({
                "content": encode(ORDERS),
                "contentType": "application/yaml",
                "contractType": "oas",
                "verificationResults": {
                    "content": encode("some results"), "contentType": "text/plain", "format": "text",
                    "success": true, "verifier": "my custom tool", "verifierVersion": "1.0"
                }
            }),
        )
        .await
        .expect(201);
    assert!(
        stored.body["_links"]["pf:ui"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/provider-contracts/provider/Bar/version/1")
    );
    let shown = app
        .get("/provider-contracts/provider/Bar/version/1")
        .await
        .expect(200);
    assert_eq!(shown.body["content"], ORDERS);
    assert_eq!(shown.body["selfVerification"]["success"], true);
    let index = app.get("/").await.expect(200);
    assert!(
        index.body["_links"]["pf:publish-provider-contract"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/provider-contracts/provider/{provider}/publish")
    );
}

async fn a_breaking_change_report_names_the_consumers_before_anything_is_published(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.publish(
        "dashboard",
        "1",
        "orders",
        Some("main"),
        &order_pact("dashboard", json!("2024-05-01T10:00:00Z")),
    )
    .await
    .expect(200);
    let next = ORDERS.replace(
        "createdAt: {type: string, format: date-time}",
        "createdAt: {type: integer}",
    );
    let report = app
        .post(
            "/provider-contracts/provider/orders/diff",
            json!({"old": encode(ORDERS), "new": encode(&next)}),
        )
        .await
        .expect(200);
    assert_eq!(report.body["breaking"], true, "{}", report.body);
    assert_eq!(report.body["pactsWeighed"], 1);
    let change = &report.body["changes"][0];
    assert_eq!(change["kind"], "type-changed");
    assert_eq!(change["pointer"], "/response/body/createdAt");
    assert_eq!(change["usages"][0]["consumer"], "dashboard");
    assert_eq!(change["usages"][0]["version"], "1");
    // Only what runs in an environment, when one is named: nothing runs there yet.
    environment(&app, "production").await;
    let report = app
        .post(
            "/provider-contracts/provider/orders/diff",
            json!({"old": encode(ORDERS), "new": encode(&next), "environment": "production"}),
        )
        .await
        .expect(200);
    assert_eq!(report.body["breaking"], false, "{}", report.body);
    let refused = app
        .post(
            "/provider-contracts/provider/orders/diff",
            json!({"old": encode(ORDERS), "new": "%%"}),
        )
        .await
        .expect(400);
    assert!(
        refused.body["errors"]["new"][0]
            .as_str()
            .unwrap()
            .contains("base64"),
        "{}",
        refused.body
    );
    // It stored nothing.
    let contracts = app
        .get("/ui/provider-contracts/provider/orders")
        .await
        .expect(200);
    assert!(
        contracts
            .text
            .contains("has published no provider contract"),
        "{}",
        contracts.text
    );
}

const ORDER_EVENTS: &str = r##"
asyncapi: 3.0.0
info: {title: order events, version: "2"}
channels:
  orders:
    address: orders
    messages:
      orderCreated:
        payload:
          type: object
          properties:
            id: {type: integer}
            createdAt: {type: string, format: date-time}
operations:
  announceOrders: {action: send, channel: {$ref: "#/channels/orders"}}
"##;

/// A pact with an HTTP interaction and an `orders` message whose `id` is `id`.
fn mixed_pact(consumer: &str, id: Value) -> Value {
    let mut pact = order_pact(consumer, json!("2024-05-01T10:00:00Z"));
    pact["metadata"]["pactSpecification"]["version"] = json!("4.0");
    pact["interactions"][0]["type"] = json!("Synchronous/HTTP");
    pact["interactions"][0]["response"]["body"] =
        json!({"content": {"id": 1}, "contentType": "application/json"});
    pact["interactions"].as_array_mut().unwrap().push(json!({
        "type": "Asynchronous/Messages",
        "description": "an order created event",
        "contents": {"content": {"id": id}, "contentType": "application/json"},
        "metadata": {"kafka_topic": "orders"}
    }));
    pact
}

async fn an_asyncapi_document_covers_the_messages_and_with_the_openapi_document_a_whole_pact(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    publish_contract(&app, "2.0.0", ORDERS, true)
        .await
        .expect(200);
    let production = environment(&app, "production").await;
    deploy(&app, "orders", "2.0.0", &production, None).await;
    app.publish(
        "shipping",
        "1",
        "orders",
        Some("main"),
        &mixed_pact("shipping", json!(1)),
    )
    .await
    .expect(200);
    // The OpenAPI document alone does not speak for the message: no result.
    let unknown = app
        .get("/can-i-deploy?pacticipant=shipping&version=1&environment=production")
        .await
        .expect(200);
    assert_eq!(unknown.body["matrix"][0]["verificationResult"], Value::Null);

    // The same version's AsyncAPI document, published as the official client does
    // (`specification: oas` by default): the document says what it is.
    let published = publish_contract(&app, "2.0.0", ORDER_EVENTS, true)
        .await
        .expect(200);
    let said = notices(&published);
    assert!(
        said.contains("Published the AsyncAPI provider contract"),
        "{said}"
    );
    assert!(said.contains("1 compatible, 0 not compatible"), "{said}");
    let yes = app
        .get("/can-i-deploy?pacticipant=shipping&version=1&environment=production")
        .await
        .expect(200);
    assert_decision(&yes, json!(true));

    // One contract of each kind: the OpenAPI document is shown unless asked for the other.
    let shown = app
        .get("/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200);
    assert_eq!(shown.body["specification"], "oas");
    assert_eq!(shown.body["contracts"].as_array().unwrap().len(), 2);
    let comparisons = shown.body["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 1, "{comparisons:?}");
    assert_eq!(comparisons[0]["interactions"].as_array().unwrap().len(), 2);
    let events = app
        .get("/provider-contracts/provider/orders/version/2.0.0?specification=asyncapi")
        .await
        .expect(200);
    assert_eq!(events.body["specification"], "asyncapi");
    assert!(
        events.body["content"]
            .as_str()
            .unwrap()
            .contains("orderCreated")
    );
    app.get("/provider-contracts/provider/orders/version/2.0.0?specification=raml")
        .await
        .expect(404);

    // A new pact whose message the document does not allow: can-i-deploy says no, and why.
    app.publish(
        "audit",
        "1",
        "orders",
        Some("main"),
        &mixed_pact("audit", json!("one")),
    )
    .await
    .expect(200);
    let no = app
        .get("/can-i-deploy?pacticipant=audit&version=1&environment=production")
        .await
        .expect(200);
    assert_decision(&no, json!(false));
    let reasons = texts(&no);
    assert!(reasons.contains("/contents/id"), "{reasons}");

    // Publishing the OpenAPI document again replaces that one only.
    publish_contract(&app, "2.0.0", ORDERS, true)
        .await
        .expect(200);
    let shown = app
        .get("/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200);
    assert_eq!(shown.body["contracts"].as_array().unwrap().len(), 2);
    let page = app
        .get("/ui/provider-contracts/provider/orders/version/2.0.0")
        .await
        .expect(200)
        .text;
    assert!(
        page.contains("AsyncAPI document") && page.contains("OpenAPI document"),
        "{page}"
    );
    assert!(page.contains("message-body-invalid"), "{page}");

    // The breaking-change report for events: turning `id` into a string breaks the
    // consumers whose messages read it.
    let next = ORDER_EVENTS.replace("id: {type: integer}", "id: {type: string}");
    let report = app
        .post(
            "/provider-contracts/provider/orders/diff",
            json!({"old": encode(ORDER_EVENTS), "new": encode(&next)}),
        )
        .await
        .expect(200);
    assert_eq!(report.body["breaking"], true, "{}", report.body);
    let change = &report.body["changes"][0];
    assert_eq!(
        change["operation"], "orderCreated on orders",
        "{}",
        report.body
    );
    assert_eq!(change["pointer"], "/contents/id");
    let consumers: Vec<&str> = change["usages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["consumer"].as_str().unwrap())
        .collect();
    assert!(consumers.contains(&"shipping"), "{consumers:?}");
    let mixed = app
        .post(
            "/provider-contracts/provider/orders/diff",
            json!({"old": encode(ORDERS), "new": encode(ORDER_EVENTS)}),
        )
        .await
        .expect(400);
    assert!(mixed.text.contains("same document"), "{}", mixed.text);
}
