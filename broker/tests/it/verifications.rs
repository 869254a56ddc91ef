//! Verification results, environments, deployments and releases.

use serde_json::json;

use crate::{Backend, backend_tests, pact, spawn_app};

backend_tests!(
    publish_and_read_verification,
    environments_deployments_releases,
    a_nul_character_is_refused_wherever_it_would_be_stored
);

async fn publish_and_read_verification(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    let fetched = app
        .get("/pacts/provider/Bar/consumer/Foo/latest")
        .await
        .expect(200);
    let publish_url = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let invalid = app
        .post(&publish_url, json!({ "success": "yes" }))
        .await
        .expect(400);
    assert_eq!(
        invalid.body["errors"]["success"][0],
        "must be a boolean (true or false)"
    );
    assert_eq!(
        invalid.body["errors"]["providerApplicationVersion"][0],
        "is missing"
    );
    let published = app
        .post(
            &publish_url,
            json!({
                "success": true, "providerApplicationVersion": "4.5.6", "buildUrl": "https://ci/9",
                "testResults": [{ "interactionId": "x", "success": true }],
                "verifiedBy": { "implementation": "Pact-Rust", "version": "1.5.0" }
            }),
        )
        .await
        .expect(201);
    assert_eq!(published.body["providerApplicationVersion"], "4.5.6");
    assert_eq!(published.body["verifiedBy"]["implementation"], "Pact-Rust");
    let location = published.header("location").unwrap().to_string();
    assert_eq!(published.body["_links"]["self"]["href"], location);
    let read = app.get(&location).await.expect(200);
    assert_eq!(read.body["success"], true);
    let latest = app
        .get(
            fetched.body["_links"]["pb:latest-verification-results"]["href"]
                .as_str()
                .unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(latest.body["buildUrl"], "https://ci/9");
    // The provider version was created on the way.
    app.get("/pacticipants/Bar/versions/4.5.6")
        .await
        .expect(200);
    let summary = app
        .get("/verification-results/consumer/Foo/version/1/latest")
        .await
        .expect(200);
    assert_eq!(summary.body["success"], true);
    app.post(
        &format!(
            "{}/pacts/provider/Bar/consumer/Foo/pact-version/unknown/verification-results",
            app.base
        ),
        json!({ "success": true, "providerApplicationVersion": "1" }),
    )
    .await
    .expect(404);
}

async fn environments_deployments_releases(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            "/environments",
            json!({ "name": "prod-eu", "production": true }),
        )
        .await
        .expect(201);
    assert_eq!(created.body["displayName"], "Prod Eu");
    let uuid = created.body["uuid"].as_str().unwrap().to_string();
    let duplicate = app
        .post(
            "/environments",
            json!({ "name": "prod-eu", "production": false }),
        )
        .await
        .expect(400);
    assert!(
        duplicate.body["errors"]["name"][0]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let invalid = app
        .post("/environments", json!({ "name": "has space" }))
        .await
        .expect(400);
    assert!(invalid.body["errors"]["name"].is_array());
    assert_eq!(invalid.body["errors"]["production"][0], "is missing");
    let list = app.get("/environments").await.expect(200);
    assert_eq!(list.body["_embedded"]["environments"][0]["uuid"], uuid);

    app.put("/pacticipants/Foo/versions/1", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Foo/versions/2", json!({}))
        .await
        .expect(201);
    let version = app.get("/pacticipants/Foo/versions/1").await.expect(200);
    let record = &version.body["_links"]["pb:record-deployment"][0];
    assert_eq!(record["name"], "prod-eu");
    let deployed = app
        .post(
            record["href"].as_str().unwrap(),
            json!({ "applicationInstance": "blue" }),
        )
        .await
        .expect(201);
    assert_eq!(deployed.body["applicationInstance"], "blue");
    assert_eq!(deployed.body["currentlyDeployed"], true);
    let first_uuid = deployed.body["uuid"].as_str().unwrap().to_string();

    // Deploying version 2 to the same instance ends version 1's deployment.
    let version2 = app.get("/pacticipants/Foo/versions/2").await.expect(200);
    app.post(
        version2.body["_links"]["pb:record-deployment"][0]["href"]
            .as_str()
            .unwrap(),
        json!({ "applicationInstance": "blue" }),
    )
    .await
    .expect(201);
    let first = app
        .get(&format!("/deployed-versions/{first_uuid}"))
        .await
        .expect(200);
    assert_eq!(first.body["currentlyDeployed"], false);
    let current = app
        .get(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed?pacticipant=Foo"
        ))
        .await
        .expect(200);
    let items = current.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["_embedded"]["version"]["number"], "2");
    let self_href = items[0]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let undeployed = app
        .patch(&self_href, json!({ "currentlyDeployed": false }))
        .await
        .expect(200);
    assert_eq!(undeployed.body["currentlyDeployed"], false);
    assert!(undeployed.body["undeployedAt"].is_string());
    let refused = app
        .patch(&self_href, json!({ "currentlyDeployed": true }))
        .await
        .expect(422);
    assert!(
        refused.body["errors"]["currentlyDeployed"][0]
            .as_str()
            .unwrap()
            .contains("cannot be set back")
    );

    let release_href = version.body["_links"]["pb:record-release"][0]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let released = app.post(&release_href, json!({})).await.expect(201);
    app.post(&release_href, json!({})).await.expect(200);
    let supported = app
        .get(&format!(
            "/environments/{uuid}/released-versions/currently-supported"
        ))
        .await
        .expect(200);
    assert_eq!(
        supported.body["_embedded"]["releasedVersions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let ended = app
        .patch(
            released.body["_links"]["self"]["href"].as_str().unwrap(),
            json!({ "currentlySupported": false }),
        )
        .await
        .expect(200);
    assert_eq!(ended.body["currentlySupported"], false);

    app.delete(&format!("/environments/{uuid}"))
        .await
        .expect(204);
    app.get(&format!("/environments/{uuid}")).await.expect(404);
}

/// A NUL character (which PostgreSQL cannot keep in text or JSON) in any value the
/// broker stores is the client's mistake: 400 naming the field, nothing stored.
async fn a_nul_character_is_refused_wherever_it_would_be_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "a"))
        .await
        .expect(200);
    app.post(
        "/environments",
        json!({ "name": "production", "production": true }),
    )
    .await
    .expect(201);
    let fetched = app
        .get("/pacts/provider/Bar/consumer/Foo/latest")
        .await
        .expect(200);
    let results = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let nul = "a\u{0}b";
    let refused = [
        (
            results.as_str(),
            json!({ "success": true, "providerApplicationVersion": "2",
                    "testResults": { "tests": [{ "name": nul }] } }),
            "testResults",
        ),
        (
            results.as_str(),
            json!({ "success": true, "providerApplicationVersion": "2",
                    "verifiedBy": { "implementation": nul } }),
            "verifiedBy",
        ),
        (
            "/environments",
            json!({ "name": "staging", "production": false,
                    "contacts": [{ "name": nul }] }),
            "contacts",
        ),
        (
            "/environments",
            json!({ "name": "staging", "production": false, "displayName": nul }),
            "displayName",
        ),
        (
            "/webhooks",
            json!({ "events": [{ "name": "contract_published" }],
                    "request": { "method": "POST", "url": "https://ci.example.com/hook",
                                 "body": { "text": nul } } }),
            "request",
        ),
        (
            "/drift/provider/Bar?environment=production",
            json!({ "provider": "Bar", "checkedAt": "2026-01-01T00:00:00Z",
                    "findings": [{ "class": nul }] }),
            "findings",
        ),
    ];
    for (url, body, field) in refused {
        let resp = app.post(url, body).await;
        assert_eq!(resp.status.as_u16(), 400, "{url} {field}: {}", resp.text);
        assert!(resp.text.contains("NUL"), "{url} {field}: {}", resp.text);
        if !field.is_empty() {
            assert!(
                resp.body["errors"].get(field).is_some(),
                "{url} names {field}: {}",
                resp.text
            );
        }
    }
    // Nothing was stored.
    let verifications = app
        .get("/pacts/provider/Bar/consumer/Foo/latest/verification-results")
        .await;
    assert!(
        !verifications
            .text
            .contains("\"providerApplicationVersion\":\"2\""),
        "{}",
        verifications.text
    );
    app.get("/environments").await.expect(200);
    let environments = app.get("/environments").await;
    assert!(
        !environments.text.contains("staging"),
        "{}",
        environments.text
    );
    let webhooks = app.get("/webhooks").await.expect(200);
    assert!(
        !webhooks.text.contains("ci.example.com"),
        "{}",
        webhooks.text
    );
}

/// What validation misses, PostgreSQL refuses: the store names that refusal
/// `Unstorable`, which the API answers as the client's mistake (400).
#[tokio::test]
async fn a_value_postgres_cannot_store_is_named_unstorable() {
    use accord_broker::store::{EnvironmentFields, EnvironmentStore, PostgresStore, StoreError};
    if crate::postgres_url().is_none() {
        eprintln!(
            "SKIPPED: a_value_postgres_cannot_store_is_named_unstorable; set ACCORD_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
        );
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let store = PostgresStore::connect(&app.database.url).await.unwrap();
    let refused = store
        .create_environment(&EnvironmentFields {
            name: accord_broker::domain::EnvironmentName::parse("name", "staging").unwrap(),
            display_name: Some("a\u{0}b".into()),
            production: false,
            contacts: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Unstorable(_)), "{refused:?}");
}
