//! Publishing and fetching pacts.

use base64::Engine;
use serde_json::{Value, json};

use crate::{Backend, TestDatabase, backend_tests, pact, spawn_app, spawn_app_with, spawn_on};

backend_tests!(
    publish_and_fetch,
    identical_content_is_shared,
    changed_content_is_refused_and_nothing_is_stored,
    overwrite_when_allowed,
    malformed_pacts_are_refused,
    legacy_put,
    concurrent_publishes_from_two_brokers,
    publishing_on_branches_names_the_main_branch_once,
    concurrent_merges_over_two_brokers_lose_no_interaction,
    a_merge_that_changes_an_interaction_is_a_conflict,
);

async fn publish_and_fetch(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": "1", "branch": "main", "tags": ["dev"],
        "buildUrl": "https://ci/1",
        "contracts": [{
            "consumerName": "Foo", "providerName": "Bar", "specification": "pact",
            "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact("Foo", "Bar", "a").to_string()),
        }]
    });
    let published = app
        .post("/contracts/publish", body.clone())
        .await
        .expect(200);
    let notices = published.body["notices"].as_array().unwrap();
    assert_eq!(
        notices[0]["text"],
        "Created Foo version 1 with branch main and tags dev"
    );
    assert!(notices.iter().any(|n| n["type"] == "success"
        && n["text"] == "Pact successfully published for Foo version 1 and provider Bar."));
    assert_eq!(
        published.body["logs"][0]["deprecationWarning"],
        "Replaced by notices"
    );
    assert_eq!(
        published.body["_embedded"]["version"]["_links"]["self"]["title"],
        "Version"
    );
    assert_eq!(
        published.body["_links"]["pb:contracts"][0]["href"],
        format!("{}/pacts/provider/Bar/consumer/Foo/version/1", app.base)
    );

    let fetched = app
        .get("/pacts/provider/Bar/consumer/Foo/latest")
        .await
        .expect(200);
    assert_eq!(fetched.header("x-pact-consumer-version"), Some("1"));
    assert_eq!(fetched.body["consumer"]["name"], "Foo");
    assert!(fetched.body["interactions"][0]["_id"].is_string());
    let links = &fetched.body["_links"];
    let pact_version = links["pb:pact-version"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pact_version.starts_with(&format!(
        "{}/pacts/provider/Bar/consumer/Foo/pact-version/",
        app.base
    )));
    assert_eq!(
        links["pb:publish-verification-results"]["href"],
        format!("{pact_version}/verification-results")
    );
    assert_eq!(
        links["pb:provider"]["href"],
        format!("{}/pacticipants/Bar", app.base)
    );

    // Republishing the same content is fine and says so.
    let again = app
        .post("/contracts/publish", body.clone())
        .await
        .expect(200);
    assert!(again.text.contains("with no content changes"));

    app.get("/pacts/provider/Bar/consumer/Foo/version/1")
        .await
        .expect(200);
    app.get("/pacts/provider/Bar/consumer/Foo/latest/dev")
        .await
        .expect(200);
    app.get("/pacts/provider/Bar/consumer/Foo/latest/prod")
        .await
        .expect(404);
    app.get("/pacts/provider/Bar/consumer/Foo/branch/main/latest")
        .await
        .expect(200);
    app.get(&pact_version).await.expect(200);
    let version = app.get("/pacticipants/Foo/versions/1").await.expect(200);
    assert_eq!(version.body["buildUrl"], "https://ci/1");

    body["pacticipantVersionNumber"] = json!("2");
    body["contracts"][0]["content"] = json!(
        base64::engine::general_purpose::STANDARD.encode(pact("Foo", "Bar", "b").to_string())
    );
    app.post("/contracts/publish", body).await.expect(200);
    let versions = app
        .get("/pacts/provider/Bar/consumer/Foo/versions")
        .await
        .expect(200);
    assert_eq!(
        versions.body["_embedded"]["pacts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let diff = app
        .get("/pacts/provider/Bar/consumer/Foo/version/2/diff/previous-distinct")
        .await
        .expect(200);
    assert!(
        diff.text.contains("-") && diff.text.contains("things/b"),
        "{}",
        diff.text
    );
    // What changed for the provider comes first.
    assert!(
        diff.text
            .starts_with("For the provider: the new pact asks more.\n")
            && diff
                .text
                .contains("+ interaction added: \"a request for b\": GET /things/b → 200")
            && diff
                .text
                .contains("- interaction removed: \"a request for a\""),
        "{}",
        diff.text
    );
    let latest = app.get("/pacts/provider/Bar/latest").await.expect(200);
    assert_eq!(latest.body["_links"]["pacts"][0]["name"], "Foo");
    assert_eq!(
        latest.body["_links"]["pacts"][0]["href"],
        format!("{}/pacts/provider/Bar/consumer/Foo/version/2", app.base)
    );
    let everywhere = app.get("/pacts/latest").await.expect(200);
    assert_eq!(
        everywhere.body["pacts"][0]["_embedded"]["consumer"]["_embedded"]["version"]["number"],
        "2"
    );

    app.delete("/pacts/provider/Bar/consumer/Foo/version/2")
        .await
        .expect(200);
    app.get("/pacts/provider/Bar/consumer/Foo/version/2")
        .await
        .expect(404);
    let latest = app
        .get("/pacts/provider/Bar/consumer/Foo/latest")
        .await
        .expect(200);
    assert_eq!(latest.header("x-pact-consumer-version"), Some("1"));
}

async fn identical_content_is_shared(backend: Backend) {
    let app = spawn_app(backend).await;
    // Key order and white space differ; the content is the same.
    let a = pact("Foo", "Bar", "a");
    let mut b: Value = serde_json::from_str(&serde_json::to_string_pretty(&a).unwrap()).unwrap();
    b["metadata"]["pact-js"] = json!({ "version": "12" });
    app.publish("Foo", "1", "Bar", None, &a).await.expect(200);
    app.publish("Foo", "2", "Bar", None, &b).await.expect(200);
    let one = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1")
        .await
        .expect(200);
    let two = app
        .get("/pacts/provider/Bar/consumer/Foo/version/2")
        .await
        .expect(200);
    assert_eq!(
        one.body["_links"]["pb:pact-version"]["href"],
        two.body["_links"]["pb:pact-version"]["href"]
    );
}

async fn changed_content_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", None, &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    let body = json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": "1", "tags": ["should-not-exist"],
        "contracts": [{
            "consumerName": "Foo", "providerName": "Bar", "specification": "pact",
            "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact("Foo", "Bar", "changed").to_string()),
        }]
    });
    let refused = app.post("/contracts/publish", body).await.expect(409);
    assert!(
        refused.body["errors"]["contracts"][0]
            .as_str()
            .unwrap()
            .contains("Cannot change the content of the pact for Foo version 1")
    );
    assert_eq!(refused.body["notices"][0]["type"], "error");
    assert!(
        refused.body["notices"][1]["text"]
            .as_str()
            .unwrap()
            .contains("changed")
    );
    // The rejected request stored nothing: not its tag, not its content.
    app.get("/pacticipants/Foo/versions/1/tags/should-not-exist")
        .await
        .expect(404);
    let stored = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1")
        .await
        .expect(200);
    assert_eq!(
        stored.body["interactions"][0]["description"],
        "a request for a"
    );
}

async fn overwrite_when_allowed(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.allow_contract_overwrite = true).await;
    app.publish("Foo", "1", "Bar", None, &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    let replaced = app
        .publish("Foo", "1", "Bar", None, &pact("Foo", "Bar", "b"))
        .await
        .expect(200);
    assert!(
        replaced
            .text
            .contains("Pact with changed content published over existing content")
    );
    let stored = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1")
        .await
        .expect(200);
    assert_eq!(
        stored.body["interactions"][0]["description"],
        "a request for b"
    );
}

async fn malformed_pacts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut broken = pact("Foo", "Bar", "a");
    broken["interactions"][0]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let refused = app
        .publish("Foo", "1", "Bar", None, &broken)
        .await
        .expect(400);
    let message = refused.body["errors"]["contracts"][0].as_str().unwrap();
    assert!(
        message.contains("/interactions/0/description") && message.contains("(at index 0)"),
        "{message}"
    );

    // A status the pact library would panic on is the client's error, named by pointer,
    // through the publish API and the pact PUT alike (it was a 500).
    for status in [json!("404"), json!(-1), json!(null)] {
        let mut odd = pact("Foo", "Bar", "a");
        let interactions = odd["interactions"].as_array_mut().unwrap();
        let mut third = interactions[0].clone();
        third["description"] = json!("a third request");
        third["response"]["status"] = status;
        interactions.push(interactions[0].clone());
        interactions[1]["description"] = json!("a second request");
        interactions.push(third);
        let refused = app.publish("Foo", "1", "Bar", None, &odd).await.expect(400);
        let message = refused.body["errors"]["contracts"][0].as_str().unwrap();
        assert!(
            message.contains("/interactions/2/response/status"),
            "{message}"
        );
        let refused = app
            .put("/pacts/provider/Bar/consumer/Foo/version/1", odd)
            .await
            .expect(400);
        assert!(
            refused.text.contains("/interactions/2/response/status"),
            "{}",
            refused.text
        );
    }

    let body = json!({
        "pacticipantName": "Foo", "pacticipantVersionNumber": "1",
        "contracts": [{ "consumerName": "Foo", "providerName": "Bar", "specification": "pact",
                        "contentType": "application/json", "content": "not base64!" }]
    });
    let refused = app.post("/contracts/publish", body).await.expect(400);
    assert_eq!(
        refused.body["errors"]["contracts"][0],
        "content is not valid Base64 (at index 0)"
    );
    let refused = app
        .post("/contracts/publish", json!({ "contracts": [] }))
        .await
        .expect(400);
    assert_eq!(refused.body["errors"]["pacticipantName"][0], "is missing");
    assert_eq!(
        refused.body["errors"]["pacticipantVersionNumber"][0],
        "is missing"
    );
    app.get("/pacticipants/Foo").await.expect(404);
}

async fn legacy_put(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .put(
            "/pacts/provider/Bar/consumer/Foo/version/1",
            pact("Foo", "Bar", "a"),
        )
        .await
        .expect(201);
    assert!(created.body["_links"]["pb:publish-verification-results"].is_object());
    // The answer is built in the publishing transaction: it is what a read returns.
    let read = app
        .get("/pacts/provider/Bar/consumer/Foo/version/1")
        .await
        .expect(200);
    assert_eq!(created.body, read.body);
    let again = app
        .put(
            "/pacts/provider/Bar/consumer/Foo/version/1",
            pact("Foo", "Bar", "a"),
        )
        .await
        .expect(200);
    assert_eq!(
        again.body, read.body,
        "an unchanged republish answers the same"
    );
    let conflict = app
        .put(
            "/pacts/provider/Bar/consumer/Foo/version/1",
            pact("Foo", "Bar", "b"),
        )
        .await
        .expect(409);
    assert!(
        conflict.body["error"]
            .as_str()
            .unwrap()
            .contains("Cannot change the content")
    );
    let mismatch = app
        .put(
            "/pacts/provider/Bar/consumer/Other/version/1",
            pact("Foo", "Bar", "a"),
        )
        .await
        .expect(400);
    assert_eq!(
        mismatch.body["errors"]["consumer.name"][0],
        "name in pact 'Foo' does not match name in URL path 'Other'."
    );
}

/// Two brokers over one database publishing the same consumer version at the same
/// moment end with one version and one pact, and neither request fails.
async fn concurrent_publishes_from_two_brokers(backend: Backend) {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    let first = spawn_on(database.clone(), |_| {}).await;
    let second = spawn_on(database.clone(), |_| {}).await;
    for round in 0..5 {
        let version = format!("v{round}");
        let content = pact("Foo", "Bar", &format!("round-{round}"));
        let (a, b) = tokio::join!(
            first.publish("Foo", &version, "Bar", Some("main"), &content),
            second.publish("Foo", &version, "Bar", Some("main"), &content),
        );
        a.expect(200);
        b.expect(200);
    }
    let versions = first.get("/pacticipants/Foo/versions").await.expect(200);
    assert_eq!(
        versions.body["_embedded"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let pacts = second
        .get("/pacts/provider/Bar/consumer/Foo/versions")
        .await
        .expect(200);
    assert_eq!(
        pacts.body["_embedded"]["pacts"].as_array().unwrap().len(),
        5
    );
    let branch = first
        .get("/pacticipants/Foo/branches/main/versions")
        .await
        .expect(200);
    assert_eq!(
        branch.body["_embedded"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

/// SQLite: what a publish writes reaches the database file itself (not only the
/// write-ahead log) shortly after, without waiting for the log to grow to the size at
/// which a commit would copy it; that copying is done in the background, off every
/// request's path.
#[tokio::test]
async fn sqlite_checkpoints_the_write_ahead_log_in_the_background() {
    let app = spawn_app(Backend::Sqlite).await;
    let marker = "checkpointed-marker-7f3a";
    app.publish("Foo", "1", "Bar", None, &pact("Foo", "Bar", marker))
        .await
        .expect(200);
    let path = app
        .database
        .url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let bytes = std::fs::read(&path).expect("the database file");
        if bytes
            .windows(marker.len())
            .any(|window| window == marker.as_bytes())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the published pact is still only in the write-ahead log after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The first conventional branch a consumer publishes on becomes its main branch and
/// stays so; publishing again on a branch finds it; one publish to two providers
/// creates the one that is new.
async fn publishing_on_branches_names_the_main_branch_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let main_branch = |body: &Value| body["mainBranch"].clone();
    app.publish(
        "web",
        "1.0",
        "orders",
        Some("feat-x"),
        &pact("web", "orders", "a"),
    )
    .await
    .expect(200);
    let web = app.get("/pacticipants/web").await.expect(200);
    assert_eq!(
        main_branch(&web.body),
        Value::Null,
        "feat-x is no main branch"
    );

    app.publish(
        "web",
        "1.1",
        "orders",
        Some("develop"),
        &pact("web", "orders", "b"),
    )
    .await
    .expect(200);
    let web = app.get("/pacticipants/web").await.expect(200);
    assert_eq!(main_branch(&web.body), "develop");

    app.publish(
        "web",
        "1.2",
        "orders",
        Some("main"),
        &pact("web", "orders", "c"),
    )
    .await
    .expect(200);
    // The same version again on the same branch: found, not added twice.
    app.publish(
        "web",
        "1.2",
        "orders",
        Some("main"),
        &pact("web", "orders", "c"),
    )
    .await
    .expect(200);
    let web = app.get("/pacticipants/web").await.expect(200);
    assert_eq!(main_branch(&web.body), "develop", "the main branch stays");

    let contracts: Vec<Value> = ["orders", "billing"]
        .iter()
        .map(|provider| {
            json!({
                "consumerName": "web",
                "providerName": provider,
                "specification": "pact",
                "contentType": "application/json",
                "content": base64::engine::general_purpose::STANDARD
                    .encode(pact("web", provider, "d").to_string()),
            })
        })
        .collect();
    let two_providers = json!({
        "pacticipantName": "web",
        "pacticipantVersionNumber": "1.3",
        "branch": "main",
        "contracts": contracts,
    });
    app.post("/contracts/publish", two_providers)
        .await
        .expect(200);
    app.get("/pacticipants/billing").await.expect(200);
    let versions = app
        .get("/pacticipants/web/branches/main/versions")
        .await
        .expect(200);
    let numbers: Vec<&str> = versions.body["_embedded"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1.3", "1.2"]);
    let head = app
        .get("/pacticipants/web/branches/main/latest-version")
        .await
        .expect(200);
    assert_eq!(head.body["number"], "1.3");
    for provider in ["orders", "billing"] {
        app.get(&format!(
            "/pacts/provider/{provider}/consumer/web/branch/main/latest"
        ))
        .await
        .expect(200);
    }
}

/// A merge publish of one consumer version and provider.
fn merge_body(consumer: &str, version: &str, provider: &str, pact: &Value) -> Value {
    json!({
        "pacticipantName": consumer,
        "pacticipantVersionNumber": version,
        "contracts": [{
            "consumerName": consumer,
            "providerName": provider,
            "specification": "pact",
            "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string()),
            "onConflict": "merge",
        }]
    })
}

/// The monorepo case: the modules of one consumer version publish their part of its
/// pact at the same moment, through two brokers sharing the database. Every merge that
/// was answered 200 is in the pact (20 of them used to leave 1 or 2).
async fn concurrent_merges_over_two_brokers_lose_no_interaction(backend: Backend) {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    let first = spawn_on(database.clone(), |_| {}).await;
    let second = spawn_on(database.clone(), |_| {}).await;
    let modules = 20;
    let requests = (0..modules).map(|module| {
        let broker = if module % 2 == 0 { &first } else { &second };
        let body = merge_body(
            "web",
            "1",
            "orders",
            &pact("web", "orders", &format!("module-{module}")),
        );
        async move { broker.post("/contracts/publish", body).await }
    });
    for answer in futures::future::join_all(requests).await {
        answer.expect(200);
    }
    let stored = first
        .get("/pacts/provider/orders/consumer/web/version/1")
        .await
        .expect(200);
    let mut descriptions: Vec<String> = stored.body["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["description"].as_str().unwrap().to_string())
        .collect();
    descriptions.sort();
    let mut expected: Vec<String> = (0..modules)
        .map(|module| format!("a request for module-{module}"))
        .collect();
    expected.sort();
    assert_eq!(descriptions, expected);
}

async fn a_merge_that_changes_an_interaction_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let original = pact("web", "orders", "a");
    app.post(
        "/contracts/publish",
        merge_body("web", "1", "orders", &original),
    )
    .await
    .expect(200);
    // The same interaction again: nothing changes.
    app.post(
        "/contracts/publish",
        merge_body("web", "1", "orders", &original),
    )
    .await
    .expect(200);
    let mut changed = original.clone();
    changed["interactions"][0]["response"]["status"] = json!(404);
    let refused = app
        .post(
            "/contracts/publish",
            merge_body("web", "1", "orders", &changed),
        )
        .await
        .expect(409);
    assert!(refused.text.contains("a request for a"), "{}", refused.text);
    let stored = app
        .get("/pacts/provider/orders/consumer/web/version/1")
        .await
        .expect(200);
    assert_eq!(stored.body["interactions"].as_array().unwrap().len(), 1);
    assert_eq!(
        stored.body["interactions"][0]["response"]["status"],
        json!(200)
    );
}
