//! Webhooks: the API (create, update, list, delete, validation, secrets hidden),
//! delivery through the durable queue (templates, ids, retries with backoff, the
//! dead-letter list and replay, execution logs), the allow-list, and several
//! brokers over one database (each delivery sent once; a delivery a stopped broker
//! held is sent by another; a restart loses nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use accord_broker::Config;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Backend, TestApp, TestDatabase, backend_tests, pact, spawn_app_with, spawn_on};

backend_tests!(
    webhooks_are_created_listed_updated_and_deleted,
    bad_webhooks_are_refused_naming_the_field,
    the_default_allow_list_refuses_loopback_and_private_addresses,
    a_publication_delivers_the_rendered_request_with_its_ids,
    a_failing_receiver_is_retried_then_dead_lettered_and_replayed,
    a_delivery_refused_at_delivery_time_goes_to_the_dead_letter_list,
    verification_and_content_events_trigger_their_webhooks,
    provider_versions_deployed_or_released_are_asked_to_verify,
    a_receiver_that_is_down_does_not_fail_a_publish,
    two_brokers_over_one_database_send_each_delivery_once,
    a_delivery_held_by_a_stopped_broker_is_sent_by_another,
    a_pending_delivery_survives_a_restart,
    the_web_ui_shows_deliveries_and_replays_dead_ones,
    label_scoped_webhooks_fire_for_labelled_pacticipants,
    webhooks_can_be_test_executed_without_queueing_a_delivery,
    deleting_a_webhook_drops_its_queued_deliveries,
    drift_detected_and_resolved_trigger_their_webhooks,
    a_burst_of_events_is_dispatched_as_one_batch_each_once,
    a_receiver_answering_an_endless_body_costs_only_the_kept_prefix,
    secrets_are_masked_in_the_api_the_logs_and_the_ui,
    webhook_secrets_are_encrypted_at_rest_and_sent_as_given,
    without_a_key_a_broker_requiring_credentials_refuses_new_secrets,
    plain_secrets_are_encrypted_when_the_broker_restarts_with_a_key,
    a_wrong_or_missing_key_fails_the_start,
);

/// Fast retries, and loopback allowed for the local receivers.
fn fast(config: &mut Config) {
    let webhooks = &mut config.webhooks;
    webhooks.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    webhooks.poll_interval = Duration::from_millis(20);
    webhooks.retry_base = Duration::from_millis(20);
    webhooks.retry_max_delay = Duration::from_millis(80);
    webhooks.timeout = Duration::from_secs(5);
    webhooks.max_attempts = 3;
}

async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, fast).await
}

/// Polls `check` until it returns `Some`, for at most 20 seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The deliveries the broker lists, newest first.
async fn deliveries(app: &TestApp, status: Option<&str>) -> Vec<Value> {
    let path = match status {
        Some(status) => format!("/webhooks/deliveries?status={status}&size=1000"),
        None => "/webhooks/deliveries?size=1000".to_string(),
    };
    app.get(&path).await.expect(200).body["_embedded"]["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `count` deliveries are in `status`.
async fn wait_for(app: &TestApp, status: &str, count: usize) -> Vec<Value> {
    eventually(&format!("{count} {status} deliveries"), || async {
        let found = deliveries(app, Some(status)).await;
        (found.len() >= count).then_some(found)
    })
    .await
}

/// A webhook body; no events means the `events` key is left out (the default).
fn hook(url: &str, events: &[&str]) -> Value {
    let mut body = json!({
        "description": "build the provider",
        "events": events.iter().map(|e| json!({"name": e})).collect::<Vec<_>>(),
        "request": {
            "method": "POST",
            "url": url,
            "headers": {"Content-Type": "application/json"},
            "body": {"pact": "${pactbroker.pactUrl}", "consumer": "${pactbroker.consumerName}"}
        }
    });
    if events.is_empty() {
        body.as_object_mut().unwrap().remove("events");
    }
    body
}

async fn pacticipant(app: &TestApp, name: &str) {
    app.post("/pacticipants", json!({"name": name}))
        .await
        .expect(201);
}

async fn webhooks_are_created_listed_updated_and_deleted(backend: Backend) {
    let app = spawn(backend).await;
    pacticipant(&app, "web").await;
    pacticipant(&app, "orders").await;

    let body = json!({
        "description": "trigger orders build",
        "events": [{"name": "contract_requiring_verification_published"}, {"name": "drift_detected"}],
        "request": {
            "method": "POST",
            "url": "https://ci.example.com/build?v=${pactbroker.consumerVersionNumber}",
            "headers": {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "Accept": "text/plain"},
            "body": {"pactUrl": "${pactbroker.pactUrl}"},
            "username": "ci",
            "password": "hunter2"
        },
        "teamUuid": "ignored"
    });
    let created = app
        .post("/webhooks/provider/orders/consumer/web", body.clone())
        .await
        .expect(201);
    let uuid = created.body["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("{}/webhooks/{uuid}", app.base).as_str())
    );
    assert_eq!(created.body["consumer"], json!({"name": "web"}));
    assert_eq!(created.body["provider"], json!({"name": "orders"}));
    assert_eq!(created.body["enabled"], true);
    assert_eq!(
        created.body["request"]["headers"]["Authorization"],
        "**********"
    );
    assert_eq!(
        created.body["request"]["headers"]["X-Api-Key"],
        "**********"
    );
    assert_eq!(created.body["request"]["headers"]["Accept"], "text/plain");
    assert_eq!(created.body["request"]["password"], "**********");
    assert_eq!(created.body["request"]["username"], "ci");
    assert!(!created.text.contains("s3cret") && !created.text.contains("hunter2"));
    assert_eq!(
        created.body["_links"]["pb:pact-webhooks"]["href"],
        format!("{}/webhooks/provider/orders/consumer/web", app.base)
    );

    // A global one, a consumer one by label, and one with a chosen uuid.
    app.post(
        "/webhooks",
        hook("https://ci.example.com/all", &["contract_published"]),
    )
    .await
    .expect(201);
    let mut labelled = hook("https://ci.example.com/l", &["contract_published"]);
    labelled["consumer"] = json!({"label": "mobile"});
    let labelled = app.post("/webhooks", labelled).await.expect(201);
    assert_eq!(labelled.body["consumer"], json!({"label": "mobile"}));
    let chosen = "0123456789abcdef-chosen";
    let first = app
        .put(
            &format!("/webhooks/{chosen}"),
            hook("https://ci.example.com/x", &[]),
        )
        .await
        .expect(201);
    assert_eq!(
        first.body["events"],
        json!([{"name": "contract_content_changed"}])
    );
    let replaced = app
        .put(
            &format!("/webhooks/{chosen}"),
            hook("https://ci.example.com/y", &["contract_published"]),
        )
        .await
        .expect(200);
    assert_eq!(replaced.body["request"]["url"], "https://ci.example.com/y");
    // A missing list defaults to contract_content_changed; an empty one is refused.
    let defaulted = app.get(&format!("/webhooks/{chosen}")).await.expect(200);
    assert_eq!(
        defaulted.body["events"],
        json!([{"name": "contract_published"}])
    );
    let mut empty = hook("https://ci.example.com/y", &[]);
    empty["events"] = json!([]);
    app.put(&format!("/webhooks/{chosen}"), empty)
        .await
        .expect(400);

    let all = app.get("/webhooks").await.expect(200);
    assert_eq!(
        all.body["_links"]["pb:webhooks"].as_array().unwrap().len(),
        4
    );
    assert_eq!(
        all.body["_links"]["pb:create"]["href"],
        format!("{}/webhooks", app.base)
    );
    let scoped = app
        .get("/webhooks/provider/orders/consumer/web")
        .await
        .expect(200);
    assert_eq!(
        scoped.body["_links"]["pb:webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let for_pact = app
        .get("/pacts/provider/orders/consumer/web/webhooks")
        .await
        .expect(200);
    // The scoped and the global webhook apply; the labelled one does not.
    assert_eq!(
        for_pact.body["_links"]["pb:webhooks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Once web carries the label, the labelled webhook applies too.
    app.put("/pacticipants/web/labels/mobile", json!({}))
        .await
        .expect(201);
    let for_pact = app
        .get("/pacts/provider/orders/consumer/web/webhooks")
        .await
        .expect(200);
    assert_eq!(
        for_pact.body["_links"]["pb:webhooks"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let shown = app.get(&format!("/webhooks/{uuid}")).await.expect(200);
    assert_eq!(shown.body["events"][1]["name"], "drift_detected");
    assert!(!shown.text.contains("s3cret"));
    app.delete(&format!("/webhooks/{uuid}")).await.expect(204);
    app.get(&format!("/webhooks/{uuid}")).await.expect(404);
    app.delete(&format!("/webhooks/{uuid}")).await.expect(404);
}

async fn bad_webhooks_are_refused_naming_the_field(backend: Backend) {
    let app = spawn(backend).await;
    pacticipant(&app, "orders").await;
    let check = |resp: crate::Resp, field: &str, words: &str| {
        let resp = resp.expect(400);
        let messages = resp.body["errors"][field]
            .as_array()
            .unwrap_or_else(|| panic!("no error for {field}: {}", resp.text));
        assert!(
            messages.iter().any(|m| m.as_str().unwrap().contains(words)),
            "{field}: {messages:?} should mention {words}"
        );
    };
    let mut body = hook("https://ci.example.com/b", &["contract_published"]);
    body["request"].as_object_mut().unwrap().remove("url");
    check(app.post("/webhooks", body).await, "request.url", "required");
    check(
        app.post("/webhooks", hook("not a url", &["contract_published"]))
            .await,
        "request.url",
        "not a valid URL",
    );
    check(
        app.post(
            "/webhooks",
            hook("ftp://ci.example.com/", &["contract_published"]),
        )
        .await,
        "request.url",
        "scheme 'ftp'",
    );
    check(
        app.post(
            "/webhooks",
            hook("https://ci.example.com/", &["pact_exploded"]),
        )
        .await,
        "events",
        "unknown event 'pact_exploded'",
    );
    check(
        app.post(
            "/webhooks",
            hook(
                "https://ci.example.com/?v=${pactbroker.consumerVersion}",
                &["contract_published"],
            ),
        )
        .await,
        "request.url",
        "${pactbroker.consumerVersion}",
    );
    check(
        app.post(
            "/webhooks",
            hook(
                "https://${pactbroker.consumerName}.example.com/",
                &["contract_published"],
            ),
        )
        .await,
        "request.url",
        "host",
    );
    let mut body = hook("https://ci.example.com/", &["contract_published"]);
    body["request"]["body"] = json!({"v": "${pactbroker.nope}"});
    check(
        app.post("/webhooks", body).await,
        "request.body",
        "${pactbroker.nope}",
    );
    let mut body = hook("https://ci.example.com/", &["contract_published"]);
    body["consumer"] = json!({"name": "nobody"});
    check(app.post("/webhooks", body).await, "consumer.name", "nobody");
    let mut body = hook("https://ci.example.com/", &["contract_published"]);
    body["provider"] = json!({"name": "orders", "label": "x"});
    check(app.post("/webhooks", body).await, "provider", "not both");
    check(
        app.put("/webhooks/short", hook("https://ci.example.com/", &[]))
            .await,
        "uuid",
        "16",
    );
    // Unknown pacticipants in the path are 404.
    app.post(
        "/webhooks/provider/orders/consumer/nobody",
        hook("https://ci.example.com/", &["contract_published"]),
    )
    .await
    .expect(404);
    // Malformed JSON gets the API's error shape; nothing was stored by any of this.
    let resp = app
        .request(reqwest::Method::POST, "/webhooks", None, "")
        .await;
    assert_eq!(resp.status, 400);
    let all = app.get("/webhooks").await.expect(200);
    assert_eq!(all.body["_links"]["pb:webhooks"], json!([]));
}

async fn the_default_allow_list_refuses_loopback_and_private_addresses(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    for url in [
        "http://127.0.0.1:9000/build",
        "http://localhost:9000/build",
        "http://10.0.0.8/build",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://0177.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
        "http://100.64.0.1/",
        "http://[fd12::1]/",
    ] {
        let resp = app
            .post("/webhooks", hook(url, &["contract_published"]))
            .await
            .expect(400);
        let message = resp.body["errors"]["request.url"][0].as_str().unwrap();
        assert!(
            message.contains(url) && message.contains("special-purpose range"),
            "{url}: {message}"
        );
    }
    // Placeholders may not choose the destination, however the URL is spelled.
    for url in [
        "http:${pactbroker.consumerName}",
        "http:/${pactbroker.consumerName}",
        "http:\\\\${pactbroker.consumerName}",
        "http://${pactbroker.consumerName}.example.com",
        "http://user:${pactbroker.consumerName}@ci.example.com/",
    ] {
        let resp = app
            .post("/webhooks", hook(url, &["contract_published"]))
            .await
            .expect(400);
        let message = resp.body["errors"]["request.url"][0].as_str().unwrap();
        assert!(message.contains("placeholder"), "{url}: {message}");
    }
    // Test-executing an unsaved webhook is checked the same way.
    app.post(
        "/webhooks/execute",
        hook("http://127.0.0.1:9/", &["contract_published"]),
    )
    .await
    .expect(400);
    // Allowing the host explicitly opens the way.
    let app = spawn_app_with(backend, |c| {
        c.webhooks.allowed_hosts = vec!["localhost".into()];
    })
    .await;
    app.post(
        "/webhooks",
        hook("http://localhost:9000/build", &["contract_published"]),
    )
    .await
    .expect(201);
}

async fn a_publication_delivers_the_rendered_request_with_its_ids(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/build"))
        .respond_with(ResponseTemplate::new(202).set_body_string("queued"))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    pacticipant(&app, "web").await;
    pacticipant(&app, "orders").await;
    let mut body = hook(
        &format!(
            "{}/build?consumer=${{pactbroker.consumerName}}&v=${{pactbroker.consumerVersionNumber}}",
            receiver.uri()
        ),
        &["contract_content_changed"],
    );
    body["request"]["headers"]["X-Secret-Token"] = json!("t0ken");
    body["request"]["username"] = json!("ci");
    body["request"]["password"] = json!("hunter2");
    body["request"]["body"]["branch"] = json!("${pactbroker.consumerVersionBranch}");
    app.post("/webhooks/provider/orders/consumer/web", body)
        .await
        .expect(201);

    // Publish with a request id and a trace of our own.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let publish = json!({
        "pacticipantName": "web",
        "pacticipantVersionNumber": "1.0.0",
        "branch": "main",
        "contracts": [{
            "consumerName": "web", "providerName": "orders", "specification": "pact",
            "contentType": "application/json",
            "content": base64_pact(&pact("web", "orders", "a")),
        }]
    });
    let resp = app
        .client
        .post(format!("{}/contracts/publish", app.base))
        .header("Content-Type", "application/json")
        .header("X-Request-ID", "publish-req-1")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(publish.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let delivered = wait_for(&app, "succeeded", 1).await;
    let delivery = &delivered[0];
    let uuid = delivery["uuid"].as_str().unwrap();
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("x-accord-delivery-id"), uuid);
    assert_eq!(header("x-request-id"), "publish-req-1");
    let traceparent = header("traceparent");
    assert!(
        traceparent.contains(trace_id),
        "the webhook call continues the publish's trace: {traceparent}"
    );
    assert_eq!(header("x-secret-token"), "t0ken");
    assert!(header("authorization").starts_with("Basic "));
    assert_eq!(
        request.url.query(),
        Some("consumer=web&v=1.0.0"),
        "placeholders are filled in and escaped in the URL"
    );
    let sent: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(sent["consumer"], "web");
    assert_eq!(sent["branch"], "main");
    let pact_url = sent["pact"].as_str().unwrap();
    assert!(pact_url.contains("/pacts/provider/orders/consumer/web/pact-version/"));
    // The pact URL works.
    app.get(pact_url).await.expect(200);

    // The delivery is listed as a triggered webhook of the publication.
    let triggered = app
        .get("/pacts/provider/orders/consumer/web/version/1.0.0/triggered-webhooks")
        .await
        .expect(200);
    let listed = &triggered.body["_embedded"]["triggeredWebhooks"][0];
    assert_eq!(listed["uuid"], uuid);
    assert_eq!(listed["status"], "success");
    assert_eq!(listed["eventName"], "contract_content_changed");
    assert_eq!(listed["attemptsMade"], 1);
    assert_eq!(listed["requestId"], "publish-req-1");
    assert_eq!(listed["request"]["password"], "**********");
    assert_eq!(listed["request"]["headers"]["X-Secret-Token"], "**********");

    // The pact links to the same list, and the integration's status counts it.
    let pact_resp = app
        .get("/pacts/provider/orders/consumer/web/version/1.0.0")
        .await
        .expect(200);
    let linked = app
        .get(
            pact_resp.body["_links"]["pb:triggered-webhooks"]["href"]
                .as_str()
                .unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(
        linked.body["_embedded"]["triggeredWebhooks"][0]["uuid"],
        uuid
    );
    let status = app
        .get("/pacts/provider/orders/consumer/web/webhooks/status")
        .await
        .expect(200);
    assert_eq!(
        status.body["summary"],
        json!({"successful": 1, "failed": 0, "retrying": 0, "notRun": 0})
    );

    // The execution log: readable, secrets hidden.
    let logs = app
        .get(listed["_links"]["pb:logs"]["href"].as_str().unwrap())
        .await
        .expect(200);
    let text = logs.body["logs"].as_str().unwrap();
    assert!(text.contains("Response: 202"), "{text}");
    assert!(text.contains("queued"), "{text}");
    assert!(text.contains(uuid));
    assert!(
        !text.contains("t0ken") && !text.contains("hunter2"),
        "{text}"
    );
    let plain = app
        .client
        .get(format!("{}/triggered-webhooks/{uuid}/logs", app.base))
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(plain.text().await.unwrap().contains("Attempt 1 succeeded"));

    // Re-publishing the same content is not a content change: nothing more is sent.
    app.publish(
        "web",
        "1.0.0",
        "orders",
        Some("main"),
        &pact("web", "orders", "a"),
    )
    .await
    .expect(200);
    app.publish(
        "web",
        "1.0.1",
        "orders",
        Some("main"),
        &pact("web", "orders", "a"),
    )
    .await
    .expect(200);
    app.publish(
        "web",
        "1.0.2",
        "orders",
        Some("main"),
        &pact("web", "orders", "b"),
    )
    .await
    .expect(200);
    wait_for(&app, "succeeded", 2).await;
    let counts = app.get("/webhooks/deliveries?size=1000").await.expect(200);
    assert_eq!(
        counts.body["_embedded"]["deliveries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn base64_pact(pact: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(pact.to_string())
}

async fn a_failing_receiver_is_retried_then_dead_lettered_and_replayed(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("build system down"))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    app.post(
        "/webhooks",
        hook(
            &format!("{}/build", receiver.uri()),
            &["contract_published"],
        ),
    )
    .await
    .expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);

    let dead = eventually("the delivery in the dead-letter list", || async {
        let dead =
            app.get("/webhooks/dead-letter").await.expect(200).body["_embedded"]["deliveries"]
                .as_array()
                .unwrap()
                .clone();
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    let delivery = &dead[0];
    let uuid = delivery["uuid"].as_str().unwrap().to_string();
    assert_eq!(delivery["status"], "failure");
    assert_eq!(delivery["deliveryStatus"], "dead");
    assert_eq!(delivery["attemptsMade"], 3);
    assert_eq!(delivery["attemptsRemaining"], 0);
    assert_eq!(delivery["lastResponseStatus"], 500);
    let logs = app
        .get(&format!("/triggered-webhooks/{uuid}/logs"))
        .await
        .expect(200);
    let attempts = logs.body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a["status"] == 500 && a["success"] == false)
    );
    let text = logs.body["logs"].as_str().unwrap();
    assert!(text.contains("build system down"));
    assert!(text.contains("dead-letter list"));
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.headers["x-accord-delivery-id"].to_str().unwrap() == uuid),
        "every attempt carries the same delivery id"
    );

    // Only dead deliveries can be replayed; unknown ones are 404.
    app.post("/webhooks/dead-letter/no-such-delivery/replay", json!({}))
        .await
        .expect(404);

    // The receiver recovers; the operator replays the delivery.
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let replayed = app
        .post(&format!("/webhooks/dead-letter/{uuid}/replay"), json!({}))
        .await
        .expect(200);
    assert_eq!(replayed.body["deliveryStatus"], "pending");
    assert_eq!(replayed.body["attemptsRemaining"], 3);
    wait_for(&app, "succeeded", 1).await;
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].headers["x-accord-delivery-id"]
            .to_str()
            .unwrap(),
        uuid,
        "a replay keeps the delivery id"
    );
    let dead = app.get("/webhooks/dead-letter").await.expect(200);
    assert_eq!(dead.body["_embedded"]["deliveries"], json!([]));
    app.post(&format!("/webhooks/dead-letter/{uuid}/replay"), json!({}))
        .await
        .expect(409);
}

async fn a_delivery_refused_at_delivery_time_goes_to_the_dead_letter_list(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    // A broker that allowed loopback saved the webhook; the broker delivering it
    // runs with the default allow-list.
    let permissive = spawn(backend).await;
    let database = permissive.database.clone();
    permissive
        .post(
            "/webhooks",
            hook(
                &format!("{}/build", receiver.uri()),
                &["contract_published"],
            ),
        )
        .await
        .expect(201);
    drop(permissive);
    let strict = spawn_on(database, |c| {
        c.webhooks.poll_interval = Duration::from_millis(20);
    })
    .await;
    strict
        .publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let dead = wait_for(&strict, "dead", 1).await;
    assert_eq!(dead[0]["attemptsMade"], 1, "a refusal is not retried");
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("allow-list"),
        "{}",
        dead[0]
    );
    assert!(receiver.received_requests().await.unwrap().is_empty());
}

/// A new pact asks every provider version currently deployed or released to verify it,
/// each delivery saying where that version runs.
async fn provider_versions_deployed_or_released_are_asked_to_verify(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    let mut body = hook(
        &format!("{}/status", receiver.uri()),
        &["contract_requiring_verification_published"],
    );
    body["request"]["body"] = json!({
        "provider": "${pactbroker.providerVersionNumber}",
        "descriptions": "${pactbroker.providerVersionDescriptions}"
    });
    app.post("/webhooks", body).await.expect(201);
    for version in ["p0", "p9"] {
        app.put(
            &format!("/pacticipants/orders/versions/{version}"),
            json!({}),
        )
        .await
        .expect(201);
    }
    let production = crate::matrix::environment(&app, "production").await;
    crate::matrix::deploy(&app, "orders", "p0", &production, None).await;
    let mobile = crate::matrix::environment(&app, "mobile").await;
    app.post(
        &format!("/pacticipants/orders/versions/p9/released-versions/environment/{mobile}"),
        json!({}),
    )
    .await
    .expect(201);

    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    wait_for(&app, "succeeded", 2).await;
    let described: BTreeMap<String, String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            (
                body["provider"].as_str().unwrap().to_string(),
                body["descriptions"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        described,
        BTreeMap::from([
            ("p0".to_string(), "deployed in production".to_string()),
            ("p9".to_string(), "released in mobile".to_string()),
        ])
    );
}

async fn verification_and_content_events_trigger_their_webhooks(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    let mut body = hook(
        &format!("{}/status", receiver.uri()),
        &[
            "provider_verification_published",
            "provider_verification_succeeded",
            "provider_verification_failed",
            "contract_requiring_verification_published",
        ],
    );
    body["request"]["body"] = json!({
        "state": "${pactbroker.githubVerificationStatus}",
        "provider": "${pactbroker.providerVersionNumber}",
        "descriptions": "${pactbroker.providerVersionDescriptions}",
        "event": "${pactbroker.eventName}"
    });
    app.post("/webhooks", body).await.expect(201);

    // The provider's main branch head has not verified the new pact: one
    // contract_requiring_verification_published for it.
    app.put("/pacticipants/orders/branches/main/versions/p1", json!({}))
        .await
        .expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let first = wait_for(&app, "succeeded", 1).await;
    assert_eq!(
        first[0]["eventName"],
        "contract_requiring_verification_published"
    );
    let pact_resp = app
        .get("/pacts/provider/orders/consumer/web/version/1")
        .await
        .expect(200);
    let publish_url = pact_resp.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let verification = app
        .post(
            &publish_url,
            json!({"success": false, "providerApplicationVersion": "p1"}),
        )
        .await
        .expect(201);
    let all = wait_for(&app, "succeeded", 3).await;
    let events: BTreeSet<&str> = all
        .iter()
        .map(|d| d["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        BTreeSet::from([
            "contract_requiring_verification_published",
            "provider_verification_published",
            "provider_verification_failed"
        ])
    );
    let bodies: Vec<Value> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let requiring = bodies
        .iter()
        .find(|b| b["event"] == "contract_requiring_verification_published")
        .unwrap();
    assert_eq!(requiring["provider"], "p1");
    assert_eq!(requiring["descriptions"], "latest from main branch");
    assert_eq!(requiring["state"], "pending");
    let failed = bodies
        .iter()
        .find(|b| b["event"] == "provider_verification_failed")
        .unwrap();
    assert_eq!(failed["state"], "failure");
    assert_eq!(failed["provider"], "p1");
    // The verification's triggered webhooks.
    let triggered = app
        .get(
            verification.body["_links"]["pb:triggered-webhooks"]["href"]
                .as_str()
                .unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(
        triggered.body["_embedded"]["triggeredWebhooks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn a_receiver_that_is_down_does_not_fail_a_publish(backend: Backend) {
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = spawn_app_with(backend, |c| {
        fast(c);
        c.webhooks.retry_base = Duration::from_secs(60);
        c.webhooks.retry_max_delay = Duration::from_secs(60);
    })
    .await;
    for n in 0..10 {
        app.post(
            "/webhooks",
            hook(
                &format!("http://127.0.0.1:{closed}/hook{n}"),
                &["contract_published"],
            ),
        )
        .await
        .expect(201);
    }
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let waiting = eventually("ten failed first attempts", || async {
        let found = deliveries(&app, Some("retrying")).await;
        (found.len() == 10).then_some(found)
    })
    .await;
    // Full jitter draws each retry delay from [0, 60 s], so a delivery may already be
    // on its second attempt: what matters is that each failed and waits to retry.
    assert!(
        waiting
            .iter()
            .all(|d| d["attemptsMade"].as_i64() >= Some(1) && d["lastError"].is_string()),
        "{waiting:?}"
    );
    // Publishing again still answers at once, with ten more deliveries queued.
    app.publish("web", "2", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
}

/// Several consumer versions publish; every delivery reaches the counting
/// receiver, and no delivery id arrives twice.
async fn two_brokers_over_one_database_send_each_delivery_once(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(20)))
        .mount(&receiver)
        .await;
    let database = Arc::new(TestDatabase::create(backend).await);
    let small_batches = |c: &mut Config| {
        fast(c);
        c.webhooks.concurrency = 2;
    };
    let first = spawn_on(database.clone(), small_batches).await;
    let second = spawn_on(database.clone(), small_batches).await;
    for n in 0..3 {
        first
            .post(
                "/webhooks",
                hook(
                    &format!("{}/hook{n}", receiver.uri()),
                    &["contract_published"],
                ),
            )
            .await
            .expect(201);
    }
    let publishes = 8;
    for n in 0..publishes {
        let app = if n % 2 == 0 { &first } else { &second };
        app.publish(
            "web",
            &format!("1.{n}"),
            "orders",
            None,
            &pact("web", "orders", "a"),
        )
        .await
        .expect(200);
    }
    let expected = publishes * 3;
    let done = wait_for(&first, "succeeded", expected).await;
    assert_eq!(done.len(), expected);
    let received = receiver.received_requests().await.unwrap();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for request in &received {
        *by_id
            .entry(
                request.headers["x-accord-delivery-id"]
                    .to_str()
                    .unwrap()
                    .to_string(),
            )
            .or_default() += 1;
    }
    assert_eq!(by_id.len(), expected, "every delivery arrived");
    assert!(
        by_id.values().all(|&count| count == 1),
        "no delivery arrived twice: {by_id:?}"
    );
    assert_eq!(received.len(), expected);
    assert!(done.iter().all(|d| d["attemptsMade"] == 1));
}

/// A broker stops while its attempt waits for a slow receiver; once its lease
/// runs out the other broker sends the delivery again, with the same id.
async fn a_delivery_held_by_a_stopped_broker_is_sent_by_another(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let database = Arc::new(TestDatabase::create(backend).await);
    // The first broker's lease is its timeout plus five seconds.
    let doomed = spawn_on(database.clone(), |c| {
        fast(c);
        c.webhooks.timeout = Duration::from_secs(3);
    })
    .await;
    doomed
        .post(
            "/webhooks",
            hook(
                &format!("{}/build", receiver.uri()),
                &["contract_published"],
            ),
        )
        .await
        .expect(201);
    doomed
        .publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    eventually("the first attempt to reach the receiver", || async {
        let received = receiver.received_requests().await.unwrap();
        (!received.is_empty()).then_some(())
    })
    .await;
    drop(doomed);
    let survivor = spawn_on(database.clone(), fast).await;
    let done = wait_for(&survivor, "succeeded", 1).await;
    let uuid = done[0]["uuid"].as_str().unwrap();
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 2, "sent at least once: twice here");
    assert!(
        received
            .iter()
            .all(|r| r.headers["x-accord-delivery-id"].to_str().unwrap() == uuid),
        "both sends carry the same delivery id, so the receiver can drop the second"
    );
    assert_eq!(
        done[0]["attemptsMade"], 1,
        "only the finished attempt counts"
    );
}

async fn a_pending_delivery_survives_a_restart(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let database = Arc::new(TestDatabase::create(backend).await);
    let before = spawn_on(database.clone(), |c| {
        fast(c);
        c.webhooks.max_attempts = 5;
        c.webhooks.retry_base = Duration::from_secs(1);
        c.webhooks.retry_max_delay = Duration::from_secs(1);
    })
    .await;
    before
        .post(
            "/webhooks",
            hook(
                &format!("{}/build", receiver.uri()),
                &["contract_published"],
            ),
        )
        .await
        .expect(201);
    before
        .publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    wait_for(&before, "retrying", 1).await;
    drop(before);

    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let after = spawn_on(database.clone(), fast).await;
    let done = wait_for(&after, "succeeded", 1).await;
    let uuid = done[0]["uuid"].as_str().unwrap();
    let logs = after
        .get(&format!("/triggered-webhooks/{uuid}/logs"))
        .await
        .expect(200);
    let attempts = logs.body["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2);
    assert_eq!(attempts.last().unwrap()["success"], true);
    let workers: BTreeSet<&str> = attempts
        .iter()
        .map(|a| a["worker"].as_str().unwrap())
        .collect();
    assert_eq!(
        workers.len(),
        2,
        "attempts by the broker before and after the restart"
    );
}

async fn html(app: &TestApp, path: &str) -> String {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    resp.text().await.unwrap()
}

async fn the_web_ui_shows_deliveries_and_replays_dead_ones(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    let mut body = hook(
        &format!("{}/build", receiver.uri()),
        &["contract_published"],
    );
    body["request"]["headers"]["Authorization"] = json!("Bearer s3cret");
    app.post("/webhooks", body).await.expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let dead = wait_for(&app, "dead", 1).await;
    let uuid = dead[0]["uuid"].as_str().unwrap();

    let page = html(&app, "/ui/webhooks").await;
    assert!(page.contains("build the provider"));
    assert!(page.contains(uuid));
    assert!(page.contains("1 in the dead-letter list"));
    assert!(!page.contains("s3cret"));
    let resp = app
        .client
        .get(format!("{}/ui/webhooks/dead-letter", app.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    // The page sets the CSRF cookie its forms' tokens are derived from.
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = resp.text().await.unwrap();
    let action = format!("{}/ui/webhooks/deliveries/{uuid}/replay", app.base);
    assert!(page.contains(&format!("action=\"{action}\"")), "{page}");
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the replay form carries a CSRF token")
        .to_string();

    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    // The replay button: a plain form POST, answered with a redirect. Without the
    // token, with another cookie's, or from another site's page, it is refused.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replay = |cookie: &str, form: String, origin: &str| {
        no_redirects
            .post(&action)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "text/html")
            .header("Cookie", cookie)
            .header("Origin", origin)
            .body(form)
            .send()
    };
    let own = app.base.clone();
    let forged = [
        (cookie.as_str(), String::new(), own.as_str()),
        (cookie.as_str(), "csrf=00".to_string(), own.as_str()),
        ("", format!("csrf={token}"), own.as_str()),
        (
            "accord_csrf=0123456789abcdef0123456789abcdef",
            format!("csrf={token}"),
            own.as_str(),
        ),
        (
            cookie.as_str(),
            format!("csrf={token}"),
            "http://evil.example",
        ),
    ];
    for (cookie, form, origin) in forged {
        let resp = replay(cookie, form.clone(), origin).await.unwrap();
        assert_eq!(resp.status(), 403, "{cookie} {form} {origin}");
    }
    let resp = replay(&cookie, format!("csrf={token}"), &own)
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    wait_for(&app, "succeeded", 1).await;
    let page = html(&app, &format!("/ui/webhooks/deliveries/{uuid}")).await;
    assert!(page.contains("Attempt 4"), "{page}");
    assert!(page.contains("succeeded"));
    assert!(page.contains("Response: 500") && page.contains("Response: 200"));
    assert!(!page.contains("s3cret"));
    let page = html(&app, "/ui/webhooks/dead-letter").await;
    assert!(page.contains("the dead-letter list is empty"));
    // Replaying what is not dead is refused with a page saying why.
    let resp = replay(&cookie, format!("csrf={token}"), &own)
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

async fn label_scoped_webhooks_fire_for_labelled_pacticipants(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    pacticipant(&app, "web").await;
    pacticipant(&app, "mobile").await;
    app.put("/pacticipants/mobile/labels/apps", json!({}))
        .await
        .expect(201);
    let mut body = hook(&format!("{}/apps", receiver.uri()), &["contract_published"]);
    body["consumer"] = json!({"label": "apps"});
    body["request"]["body"] = json!({"labels": "${pactbroker.consumerLabels}"});
    app.post("/webhooks", body).await.expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    app.publish(
        "mobile",
        "1",
        "orders",
        None,
        &pact("mobile", "orders", "a"),
    )
    .await
    .expect(200);
    let done = wait_for(&app, "succeeded", 1).await;
    // Both events are dispatched once the second delivery is done; the first
    // publication (an unlabelled consumer) queued nothing.
    assert_eq!(done.len(), 1);
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let sent: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(sent["labels"], "apps");
    assert_eq!(deliveries(&app, None).await.len(), 1);
}

async fn webhooks_can_be_test_executed_without_queueing_a_delivery(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/build"))
        .respond_with(ResponseTemplate::new(201).set_body_string("build 42 started"))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    app.publish("web", "7.0.0", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    // An event the publication above does not raise, so only the test runs call.
    let mut body = hook(
        &format!("{}/build", receiver.uri()),
        &["provider_verification_published"],
    );
    body["provider"] = json!({"name": "orders"});
    body["request"]["headers"]["Authorization"] = json!("Bearer s3cret");
    body["request"]["body"] = json!({"version": "${pactbroker.consumerVersionNumber}"});
    let created = app.post("/webhooks", body.clone()).await.expect(201);
    let execute = created.body["_links"]["pb:execute"]["href"]
        .as_str()
        .unwrap();
    let result = app.post(execute, json!({})).await.expect(200);
    assert_eq!(result.body["success"], true);
    assert_eq!(result.body["response"]["status"], 201);
    assert_eq!(result.body["response"]["body"], "build 42 started");
    assert_eq!(
        result.body["request"]["headers"]["Authorization"],
        "**********"
    );
    assert!(!result.text.contains("s3cret"));
    // The unsaved variant, with the latest pact's values filled in.
    let result = app.post("/webhooks/execute", body).await.expect(200);
    assert_eq!(result.body["success"], true);
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    let sent: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(sent["version"], "7.0.0");
    // Test runs are not deliveries.
    assert!(deliveries(&app, None).await.is_empty());
}

async fn deleting_a_webhook_drops_its_queued_deliveries(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let app = spawn_app_with(backend, |c| {
        fast(c);
        c.webhooks.max_attempts = 50;
        c.webhooks.retry_base = Duration::from_secs(30);
        c.webhooks.retry_max_delay = Duration::from_secs(30);
    })
    .await;
    let created = app
        .post(
            "/webhooks",
            hook(
                &format!("{}/build", receiver.uri()),
                &["contract_published"],
            ),
        )
        .await
        .expect(201);
    let location = created.body["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    wait_for(&app, "retrying", 1).await;

    let path = location.split_once("/webhooks/").unwrap().1;
    app.delete(&format!("/webhooks/{path}")).await.expect(204);
    eventually("the queued delivery to be dropped", || async {
        deliveries(&app, Some("retrying"))
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(deliveries(&app, Some("pending")).await.is_empty());
}

/// A drift run of `orders` finished at `minute` past ten, with `findings`.
fn drift_run(minute: u32, findings: Vec<Value>) -> Value {
    json!({
        "provider": "orders",
        "environment": "production",
        "baseUrl": "http://orders.internal",
        "startedAt": format!("2024-05-01T10:{minute:02}:00Z"),
        "finishedAt": format!("2024-05-01T10:{minute:02}:01Z"),
        "pacts": [{"consumer": "web", "provider": "orders", "origin": "http://broker/pacts/1", "contentHash": "abc"}],
        "probes": 1,
        "interactionsChecked": 1,
        "findings": findings,
        "probeErrors": [],
        "skipped": []
    })
}

async fn drift_detected_and_resolved_trigger_their_webhooks(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/drift"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    app.post(
        "/environments",
        json!({"name": "production", "production": true}),
    )
    .await
    .expect(201);
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let mut body = hook(
        &format!("{}/drift", receiver.uri()),
        &["drift_detected", "drift_resolved"],
    );
    body["provider"] = json!({"name": "orders"});
    body["request"]["body"] =
        json!({"event": "${pactbroker.eventName}", "provider": "${pactbroker.providerName}"});
    app.post("/webhooks", body).await.expect(201);

    let finding = json!({
        "consumers": ["web"],
        "interaction": "a request for web-1",
        "request": "GET /things/1",
        "pointer": "/body/created",
        "class": "format_changed",
        "expected": "string in date-time format",
        "actual": "1714557600",
        "occurrences": 1
    });
    app.post(
        "/drift/provider/orders",
        drift_run(0, vec![finding.clone()]),
    )
    .await
    .expect(201);
    // The same drift seen again is not new: no second "detected".
    app.post("/drift/provider/orders", drift_run(1, vec![finding]))
        .await
        .expect(201);
    app.post("/drift/provider/orders", drift_run(2, vec![]))
        .await
        .expect(201);

    let sent = wait_for(&app, "succeeded", 2).await;
    let events: BTreeSet<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["provider"], "orders");
            body["event"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        events,
        BTreeSet::from(["drift_detected".to_string(), "drift_resolved".to_string()])
    );
    assert_eq!(
        sent.len(),
        2,
        "one delivery per change, none for the repeat"
    );
}

/// A delivery queued for the event `event_id` of a batch, as the dispatcher makes one.
fn queued_delivery(
    webhook_id: i64,
    event_id: i64,
    url: &str,
) -> accord_broker::store::webhooks::NewDelivery {
    accord_broker::store::webhooks::NewDelivery {
        uuid: uuid::Uuid::new_v4().to_string(),
        webhook_id,
        webhook_uuid: "batch-hook".into(),
        webhook_description: None,
        event_name: "contract_published".into(),
        consumer_id: None,
        provider_id: None,
        consumer_version_id: None,
        verification_id: None,
        request: json!({"method": "POST", "url": format!("{url}/event/{event_id}")}),
        request_id: None,
        traceparent: None,
        max_attempts: 1,
        next_attempt_ms: i64::MAX,
    }
}

/// Publications made while the dispatcher sleeps are dispatched together: one pass
/// marks every event, queues each event's deliveries once, and skips (storing
/// nothing of) an event another broker dispatched first.
async fn a_burst_of_events_is_dispatched_as_one_batch_each_once(backend: Backend) {
    let database = Arc::new(TestDatabase::create(backend).await);
    // The broker's own dispatcher looks once at start, then sleeps through the test.
    let app = spawn_on(database.clone(), |c: &mut Config| {
        fast(c);
        c.webhooks.poll_interval = Duration::from_secs(3600);
    })
    .await;
    // Its look at start (it finds nothing) is over before anything is published.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.post(
        "/webhooks",
        hook("https://hooks.example.com/batch", &["contract_published"]),
    )
    .await
    .expect(201);
    for n in 0..5 {
        app.publish(
            "web",
            &format!("2.{n}"),
            "orders",
            None,
            &pact("web", "orders", &format!("burst {n}")),
        )
        .await
        .expect(200);
    }
    let store = accord_broker::store::connect(&database.url)
        .await
        .expect("the store opens");
    let events = store.undispatched_events(100).await.unwrap();
    assert_eq!(events.len(), 5, "every publication left an event");
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let webhook_id = store.webhooks().await.unwrap()[0].id;

    // Another broker got to the second event first, queueing nothing for it.
    let first = accord_broker::store::webhooks::EventDeliveries {
        event_id: ids[1],
        deliveries: Vec::new(),
    };
    assert_eq!(store.dispatch_events(&[first]).await.unwrap(), vec![true]);

    let batch: Vec<_> = ids
        .iter()
        .map(
            |&event_id| accord_broker::store::webhooks::EventDeliveries {
                event_id,
                deliveries: vec![queued_delivery(
                    webhook_id,
                    event_id,
                    "https://hooks.example.com",
                )],
            },
        )
        .collect();
    assert_eq!(
        store.dispatch_events(&batch).await.unwrap(),
        vec![true, false, true, true, true],
        "each event is dispatched once"
    );
    assert!(store.undispatched_events(100).await.unwrap().is_empty());
    let queued = deliveries(&app, None).await;
    let mut urls: Vec<String> = queued
        .iter()
        .map(|d| d["request"]["url"].as_str().unwrap_or_default().to_string())
        .collect();
    urls.sort();
    let mut expected: Vec<String> = [0, 2, 3, 4]
        .iter()
        .map(|&i| format!("https://hooks.example.com/event/{}", ids[i]))
        .collect();
    expected.sort();
    assert_eq!(urls, expected, "the skipped event queued nothing");

    // A batch of events all dispatched already stores nothing and says so.
    assert_eq!(
        store.dispatch_events(&batch[..2]).await.unwrap(),
        vec![false, false]
    );
    assert_eq!(deliveries(&app, None).await.len(), 4);
}

/// A receiver that answers every request with a 1 GiB body written lazily, 64 KiB
/// at a time, and reports how many body bytes it got out before the connection
/// was closed on it.
async fn endless_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<u64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                // The request is small: one read takes its head (the rest is ignored).
                let mut request = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'a'; 64 * 1024];
                let mut sent = 0u64;
                while sent < 1 << 30 {
                    if socket.write_all(&chunk).await.is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                }
                let _ = tx.send(sent);
            });
        }
    });
    (url, rx)
}

async fn a_receiver_answering_an_endless_body_costs_only_the_kept_prefix(backend: Backend) {
    let (url, mut sent) = endless_receiver().await;
    let app = spawn(backend).await;
    app.post(
        "/webhooks",
        hook(&format!("{url}/build"), &["contract_published"]),
    )
    .await
    .expect(201);
    let started = std::time::Instant::now();
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let done = wait_for(&app, "succeeded", 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the delivery finished promptly: {:?}",
        started.elapsed()
    );
    let bytes = tokio::time::timeout(Duration::from_secs(20), sent.recv())
        .await
        .expect("the broker closed the connection")
        .unwrap();
    assert!(
        bytes < 32 * 1024 * 1024,
        "the broker stopped reading after the kept prefix, but the receiver got {bytes} bytes out"
    );
    let uuid = done[0]["uuid"].as_str().unwrap();
    let logs = app
        .get(&format!("/triggered-webhooks/{uuid}/logs"))
        .await
        .expect(200);
    let text = logs.body["logs"].as_str().unwrap();
    assert!(
        text.contains(&"a".repeat(4096)),
        "the kept prefix is logged"
    );
    assert!(!text.contains(&"a".repeat(4097)), "and nothing more");
    assert!(text.contains("(truncated)"), "{}", &text[..200]);
}

/// The secrets of the webhook in [`secrets_are_masked_in_the_api_the_logs_and_the_ui`].
const SECRETS: [&str; 4] = ["url-pa55", "qu3ry-s3cret", "hdr-s3cret", "basic-s3cret"];

fn assert_no_secret(surface: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{surface} shows {secret}: {text}");
    }
}

/// A webhook carrying a secret in each place one can hide: the URL's user info and
/// query, a custom header, and the basic-auth password.
fn secret_hook(address: &str) -> Value {
    let mut body = hook(
        &format!(
            "http://ci:url-pa55@{address}/build?token=qu3ry-s3cret&v=${{pactbroker.consumerVersionNumber}}"
        ),
        &["contract_published"],
    );
    body["request"]["headers"]["X-Custom-Auth"] = json!("hdr-s3cret");
    body["request"]["headers"]["X-Build"] = json!("public-value");
    body["request"]["publicHeaders"] = json!(["X-Build"]);
    body["request"]["username"] = json!("ci");
    body["request"]["password"] = json!("basic-s3cret");
    body
}

async fn secrets_are_masked_in_the_api_the_logs_and_the_ui(backend: Backend) {
    let logs = crate::outage::captured_logs();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn(backend).await;
    let created = app
        .post("/webhooks", secret_hook(&receiver.address().to_string()))
        .await
        .expect(201);
    assert_no_secret("the created webhook", &created.text);
    let request = &created.body["request"];
    assert!(
        request["url"]
            .as_str()
            .unwrap()
            .starts_with("http://ci:****@"),
        "{request}"
    );
    assert!(
        request["url"]
            .as_str()
            .unwrap()
            .ends_with("/build?token=****&v=****")
    );
    assert_eq!(request["headers"]["X-Custom-Auth"], "**********");
    assert_eq!(request["headers"]["X-Build"], "public-value");
    assert_eq!(request["headers"]["Content-Type"], "application/json");
    assert_eq!(request["publicHeaders"], json!(["X-Build"]));
    let uuid = created.body["uuid"].as_str().unwrap();
    assert_no_secret(
        "GET /webhooks/{uuid}",
        &app.get(&format!("/webhooks/{uuid}")).await.expect(200).text,
    );
    assert_no_secret(
        "GET /webhooks",
        &app.get("/webhooks").await.expect(200).text,
    );
    // A second webhook to a port nobody listens on: its errors are logged.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_address = closed.local_addr().unwrap().to_string();
    drop(closed);
    app.post("/webhooks", secret_hook(&closed_address))
        .await
        .expect(201);

    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    let done = wait_for(&app, "succeeded", 1).await;
    let dead = wait_for(&app, "dead", 1).await;
    // The receiver got the secrets all the same.
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received[0].headers["x-custom-auth"], "hdr-s3cret");
    assert_eq!(received[0].url.query(), Some("token=qu3ry-s3cret&v=1"));

    let listed = app.get("/webhooks/deliveries?size=100").await.expect(200);
    assert_no_secret("/webhooks/deliveries", &listed.text);
    for delivery in [&done[0], &dead[0]] {
        let uuid = delivery["uuid"].as_str().unwrap();
        let shown = app
            .get(&format!("/triggered-webhooks/{uuid}"))
            .await
            .expect(200);
        assert_no_secret("a triggered webhook", &shown.text);
        let text = app
            .client
            .get(format!("{}/triggered-webhooks/{uuid}/logs", app.base))
            .header("Accept", "text/plain")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_no_secret("the execution log", &text);
        assert!(text.contains("X-Custom-Auth: **********"), "{text}");
        assert!(text.contains("X-Build: public-value"), "{text}");
        assert!(text.contains("http://ci:****@"), "{text}");
        let json_logs = app
            .get(&format!("/triggered-webhooks/{uuid}/logs"))
            .await
            .expect(200);
        assert_no_secret("the execution log (JSON)", &json_logs.text);
        assert_no_secret(
            "the UI's delivery page",
            &html(&app, &format!("/ui/webhooks/deliveries/{uuid}")).await,
        );
    }
    let page = html(&app, "/ui/webhooks").await;
    assert!(page.contains("ci:****@"), "{page}");
    assert_no_secret("the UI's webhooks page", &page);
    assert_no_secret(
        "the dead-letter page",
        &html(&app, "/ui/webhooks/dead-letter").await,
    );
    // A test run answers with the request it sent, masked.
    let executed = app
        .post(
            "/webhooks/execute",
            secret_hook(&receiver.address().to_string()),
        )
        .await
        .expect(200);
    assert_eq!(executed.body["success"], true, "{}", executed.text);
    assert_no_secret("a test run", &executed.text);

    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let ours: String = logged
        .lines()
        .filter(|line| line.contains(dead[0]["uuid"].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        ours.contains("webhook attempt"),
        "the broker logged the failed attempts: {logged}"
    );
    assert_no_secret("the broker's log", &logged);
}

const KEY_A: &str = "q83vEjRWeJq8vN7/EjRWeJq8vN7/EjRWeJq8vN7/Ejs=";
const KEY_B: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn with_key(key: &'static str) -> impl FnOnce(&mut Config) {
    move |config| {
        fast(config);
        config.webhooks.secrets_key = Some(accord_broker::SecretsKey::parse(key).unwrap());
    }
}

/// Every stored request (webhook templates and queued deliveries), as the database
/// holds them, read with sqlx directly.
async fn raw_requests(database: &TestDatabase) -> String {
    const SQL: [&str; 2] = [
        "SELECT CAST(request AS TEXT) FROM webhooks",
        "SELECT CAST(request AS TEXT) FROM webhook_deliveries",
    ];
    let mut rows: Vec<String> = Vec::new();
    if database.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&database.url).await.unwrap();
        for sql in SQL {
            rows.extend(
                sqlx::query_scalar::<_, String>(sql)
                    .fetch_all(&pool)
                    .await
                    .unwrap(),
            );
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
        for sql in SQL {
            rows.extend(
                sqlx::query_scalar::<_, String>(sql)
                    .fetch_all(&pool)
                    .await
                    .unwrap(),
            );
        }
        pool.close().await;
    }
    rows.join("\n")
}

/// A webhook with a basic-auth password, a secret header and a password in its URL.
fn hook_with_secrets(receiver: &MockServer) -> Value {
    let address = receiver.address();
    let mut body = hook(
        &format!("http://ci:url-s3cret@{address}/build"),
        &["contract_published"],
    );
    body["request"]["headers"]["X-Api-Key"] = json!("hdr-s3cret");
    body
}

fn hook_with_password(receiver: &MockServer) -> Value {
    let mut body = hook(
        &format!("{}/basic", receiver.uri()),
        &["contract_published"],
    );
    body["request"]["username"] = json!("ci");
    body["request"]["password"] = json!("basic-s3cret");
    body
}

const AT_REST: [&str; 3] = ["url-s3cret", "hdr-s3cret", "basic-s3cret"];

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Checks that the receiver got every secret as it was given.
async fn assert_sent_as_given(receiver: &MockServer, at_least: usize) {
    let received = receiver.received_requests().await.unwrap();
    let header = |path: &str, name: &str| -> Vec<String> {
        received
            .iter()
            .filter(|r| r.url.path() == path)
            .map(|r| {
                r.headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    let basic_calls = header("/basic", "authorization");
    assert!(basic_calls.len() >= at_least, "{received:?}");
    assert!(
        basic_calls
            .iter()
            .all(|v| *v == basic("ci", "basic-s3cret")),
        "{basic_calls:?}"
    );
    let url_calls = header("/build", "authorization");
    assert!(url_calls.len() >= at_least);
    assert!(
        url_calls.iter().all(|v| *v == basic("ci", "url-s3cret")),
        "{url_calls:?}"
    );
    assert!(
        header("/build", "x-api-key")
            .iter()
            .all(|v| v == "hdr-s3cret")
    );
}

async fn receiver_ok() -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    receiver
}

async fn webhook_secrets_are_encrypted_at_rest_and_sent_as_given(backend: Backend) {
    let receiver = receiver_ok().await;
    let app = spawn_app_with(backend, with_key(KEY_A)).await;
    app.post("/webhooks", hook_with_secrets(&receiver))
        .await
        .expect(201);
    app.post("/webhooks", hook_with_password(&receiver))
        .await
        .expect(201);
    let raw = raw_requests(&app.database).await;
    assert!(raw.contains("enc:v1:"), "{raw}");
    for secret in AT_REST {
        assert!(!raw.contains(secret), "the database holds {secret}: {raw}");
    }
    app.publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    wait_for(&app, "succeeded", 2).await;
    assert_sent_as_given(&receiver, 1).await;
    // The queued deliveries hold the secrets encrypted as well.
    let raw = raw_requests(&app.database).await;
    for secret in AT_REST {
        assert!(!raw.contains(secret), "the database holds {secret}: {raw}");
    }
    // A test run opens them too.
    let webhooks = app.get("/webhooks").await.expect(200);
    let first = webhooks.body["_links"]["pb:webhooks"][0]["href"]
        .as_str()
        .unwrap();
    let executed = app
        .post(&format!("{first}/execute"), json!({}))
        .await
        .expect(200);
    assert_eq!(executed.body["success"], true, "{}", executed.text);
    assert_sent_as_given(&receiver, 1).await;
}

async fn without_a_key_a_broker_requiring_credentials_refuses_new_secrets(backend: Backend) {
    let mut app = spawn_app_with(backend, |config| {
        fast(config);
        config.auth.token = Some(secrecy::SecretString::from("token-rw"));
    })
    .await;
    app.auth = Some("Bearer token-rw".into());
    let receiver = receiver_ok().await;
    for (body, field) in [
        (hook_with_password(&receiver), "request.password"),
        (hook_with_secrets(&receiver), "request.headers.X-Api-Key"),
        (hook_with_secrets(&receiver), "request.url"),
    ] {
        let refused = app.post("/webhooks", body).await.expect(400);
        let message = refused.body["errors"][field][0]
            .as_str()
            .unwrap_or_else(|| panic!("no error for {field}: {}", refused.text));
        assert!(message.contains("--secrets-key"), "{message}");
    }
    // Headers that are no secret are fine, by default or when marked public.
    let mut body = hook(&format!("{}/b", receiver.uri()), &["contract_published"]);
    body["request"]["headers"]["X-Build"] = json!("7");
    body["request"]["publicHeaders"] = json!(["X-Build"]);
    app.post("/webhooks", body).await.expect(201);
    assert!(!raw_requests(&app.database).await.contains("s3cret"));
}

async fn plain_secrets_are_encrypted_when_the_broker_restarts_with_a_key(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let database = Arc::new(TestDatabase::create(backend).await);
    let before = spawn_on(database.clone(), |config| {
        fast(config);
        config.webhooks.max_attempts = 10;
        config.webhooks.timeout = Duration::from_secs(1);
        config.webhooks.retry_base = Duration::from_secs(2);
        config.webhooks.retry_max_delay = Duration::from_secs(2);
    })
    .await;
    before
        .post("/webhooks", hook_with_secrets(&receiver))
        .await
        .expect(201);
    before
        .post("/webhooks", hook_with_password(&receiver))
        .await
        .expect(201);
    before
        .publish("web", "1", "orders", None, &pact("web", "orders", "a"))
        .await
        .expect(200);
    wait_for(&before, "retrying", 2).await;
    drop(before);
    let raw = raw_requests(&database).await;
    for secret in AT_REST {
        assert!(
            raw.contains(secret),
            "stored in plain text without a key: {secret}"
        );
    }

    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let after = spawn_on(database.clone(), with_key(KEY_A)).await;
    let raw = raw_requests(&database).await;
    for secret in AT_REST {
        assert!(
            !raw.contains(secret),
            "the database still holds {secret}: {raw}"
        );
    }
    // The retries queued before the restart go out with the right credentials,
    // and so do new deliveries.
    wait_for(&after, "succeeded", 2).await;
    assert_sent_as_given(&receiver, 1).await;
    after
        .publish("web", "2", "orders", None, &pact("web", "orders", "b"))
        .await
        .expect(200);
    wait_for(&after, "succeeded", 4).await;
    assert_sent_as_given(&receiver, 2).await;
    // Restarting with the key again finds nothing left to encrypt, and still works.
    drop(after);
    let again = spawn_on(database.clone(), with_key(KEY_A)).await;
    again.get("/webhooks").await.expect(200);
}

async fn a_wrong_or_missing_key_fails_the_start(backend: Backend) {
    let receiver = receiver_ok().await;
    let database = Arc::new(TestDatabase::create(backend).await);
    let app = spawn_on(database.clone(), with_key(KEY_A)).await;
    app.post("/webhooks", hook_with_password(&receiver))
        .await
        .expect(201);
    drop(app);
    for (key, words) in [
        (Some(KEY_B), "cannot be decrypted"),
        (None, "has no secrets key"),
    ] {
        let mut config = Config::new(database.url.clone());
        config.webhooks.secrets_key = key.map(|k| accord_broker::SecretsKey::parse(k).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = match accord_broker::Application::build(config, listener).await {
            Ok(_) => panic!("a broker with the key {key:?} must not start"),
            Err(err) => err.to_string(),
        };
        assert!(
            err.contains(words) && err.contains("--secrets-key"),
            "{err}"
        );
    }
    // The right key still starts.
    spawn_on(database.clone(), with_key(KEY_A)).await;
}

/// The SQLite database and its write-ahead log are created for their owner only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    pacticipant(&app, "web").await;
    let path = app.database.url.trim_start_matches("sqlite://").to_string();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|err| panic!("{file}: {err}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
}
