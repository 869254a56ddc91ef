//! Message pacts (V3 `messages`, V4 pacts mixing HTTP interactions and messages) go
//! through the broker like HTTP ones: publish, fetch, interaction ids, content hash,
//! for-verification, verification results, the matrix, can-i-deploy, badges and the UI.

use serde_json::{Value, json};

use crate::{Backend, TestApp, backend_tests, spawn_app};

backend_tests!(
    message_pacts_flow_through_the_broker_like_http_ones,
    a_v4_pact_mixing_http_and_messages_keeps_both,
);

fn order_created(kind_of_time: &str) -> Value {
    json!({
        "description": "an order.created event",
        "providerStates": [{"name": "an order exists", "params": {"id": 1}}],
        "contents": {"specversion": "1.0", "type": "com.example.order.created", "source": "/orders",
                     "id": "e-1", "time": kind_of_time, "datacontenttype": "application/json",
                     "data": {"orderId": 1}},
        "metadata": {"kafka_topic": "orders", "contentType": "application/cloudevents+json"},
        "matchingRules": {"body": {"$.data.orderId": {"combine": "AND", "matchers": [{"match": "integer"}]}}}
    })
}

fn message_pact(time: &str) -> Value {
    json!({
        "consumer": {"name": "shipping"},
        "provider": {"name": "orders"},
        "messages": [order_created(time)],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

async fn verify_latest(app: &TestApp, consumer: &str, version: &str, success: bool) {
    let fetched = app
        .get(&format!(
            "/pacts/provider/orders/consumer/{consumer}/version/{version}"
        ))
        .await
        .expect(200);
    let href = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &href,
        json!({"success": success, "providerApplicationVersion": "p1",
               "testResults": [{"interactionId": fetched.body["messages"][0]["_id"],
                                "interactionDescription": "an order.created event", "success": success}]}),
    )
    .await
    .expect(201);
}

async fn message_pacts_flow_through_the_broker_like_http_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish(
        "shipping",
        "1",
        "orders",
        Some("main"),
        &message_pact("2026-12-04T10:00:00Z"),
    )
    .await
    .expect(200);
    let fetched = app
        .get("/pacts/provider/orders/consumer/shipping/version/1")
        .await
        .expect(200);
    let messages = fetched.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert!(
        fetched.body.get("interactions").is_none(),
        "{}",
        fetched.body
    );
    let id = messages[0]["_id"]
        .as_str()
        .expect("each message gets an id");
    assert_eq!(messages[0]["metadata"]["kafka_topic"], "orders");

    // Identical content is the same pact version; changed content is a new one.
    app.publish(
        "shipping",
        "2",
        "orders",
        Some("main"),
        &message_pact("2026-12-04T10:00:00Z"),
    )
    .await
    .expect(200);
    let same = app
        .get("/pacts/provider/orders/consumer/shipping/version/2")
        .await
        .expect(200);
    assert_eq!(same.body["messages"][0]["_id"], id);

    // Selected for verification like any pact.
    let selected = app
        .post(
            "/pacts/provider/orders/for-verification",
            json!({"consumerVersionSelectors": [{"branch": "main"}]}),
        )
        .await
        .expect(200);
    let pacts = selected.body["_embedded"]["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 1, "{}", selected.body);

    // A failed verification blocks the consumer; a passing one lets it go.
    verify_latest(&app, "shipping", "2", false).await;
    let created = app
        .post(
            "/environments",
            json!({"name": "production", "production": true}),
        )
        .await
        .expect(201);
    let environment = created.body["uuid"].as_str().unwrap().to_string();
    app.post(
        &format!("/pacticipants/orders/versions/p1/deployed-versions/environment/{environment}"),
        json!({}),
    )
    .await
    .expect(201);
    let badge = app
        .get("/pacts/provider/orders/consumer/shipping/latest/badge")
        .await
        .expect(200);
    assert!(badge.text.contains("failed"), "{}", badge.text);
    let decision = app
        .get("/can-i-deploy?pacticipant=shipping&version=2&environment=production")
        .await
        .expect(200);
    assert_eq!(
        decision.body["summary"]["deployable"], false,
        "{}",
        decision.body
    );

    verify_latest(&app, "shipping", "2", true).await;
    let badge = app
        .get("/pacts/provider/orders/consumer/shipping/latest/badge")
        .await
        .expect(200);
    assert!(badge.text.contains("verified"), "{}", badge.text);
    let decision = app
        .get("/can-i-deploy?pacticipant=shipping&version=2&environment=production")
        .await
        .expect(200);
    assert_eq!(
        decision.body["summary"]["deployable"], true,
        "{}",
        decision.body
    );

    // The UI documents the message: description, states, metadata, rules, the CloudEvent.
    let page = app
        .client
        .get(format!(
            "{}/ui/pacts/provider/orders/consumer/shipping/version/2",
            app.base
        ))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "an order.created event",
        "an order exists",
        "kafka_topic",
        "CloudEvent <code>com.example.order.created</code> from <code>/orders</code>, structured mode",
        "body $.data.orderId",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from the page:\n{page}"
        );
    }
}

async fn a_v4_pact_mixing_http_and_messages_keeps_both(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut message = order_created("2026-12-04T10:00:00Z");
    message["type"] = json!("Asynchronous/Messages");
    let contents = message["contents"].take();
    message["contents"] = json!({"content": contents, "contentType": "application/cloudevents+json", "encoded": false});
    let pact = json!({
        "consumer": {"name": "shipping"},
        "provider": {"name": "orders"},
        "interactions": [
            {"type": "Synchronous/HTTP", "description": "a request for order 1",
             "request": {"method": "GET", "path": "/orders/1"},
             "response": {"status": 200}},
            message
        ],
        "metadata": {"pactSpecification": {"version": "4.0"}}
    });
    app.publish("shipping", "1", "orders", None, &pact)
        .await
        .expect(200);
    let fetched = app
        .get("/pacts/provider/orders/consumer/shipping/version/1")
        .await
        .expect(200);
    let interactions = fetched.body["interactions"].as_array().unwrap();
    let kinds: Vec<&str> = interactions
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Synchronous/HTTP", "Asynchronous/Messages"]);
    assert_eq!(interactions[1]["contents"]["content"]["data"]["orderId"], 1);
    assert!(interactions.iter().all(|i| i["_id"].is_string()));
    let page = app
        .client
        .get(format!(
            "{}/ui/pacts/provider/orders/consumer/shipping/version/1",
            app.base
        ))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("GET /orders/1"), "{page}");
    assert!(page.contains("Asynchronous/Messages"), "{page}");
    assert!(page.contains("structured mode"), "{page}");
}
