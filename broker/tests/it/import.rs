//! `POST /admin/import`: another broker's history stored with its own times, once
//! however often it is sent, all or nothing per batch.

use serde_json::{Value, json};

use crate::{Backend, TestApp, backend_tests, pact, spawn_app};

backend_tests!(
    an_imported_history_keeps_its_times_and_answers_as_it_did,
    importing_a_batch_again_stores_nothing_new,
    one_invalid_record_refuses_the_whole_batch,
    records_that_refer_to_missing_ones_are_skipped_and_named,
    a_newer_deployment_replaces_the_one_running,
);

const ENV_UUID: &str = "3f1c2a9e-0000-4000-8000-000000000001";

/// A small history from 2023: web 1.0.0 and 1.1.0 (main) consume orders; orders 5.0.0
/// verified web 1.0.0 and runs in production with web 1.0.0; a release of orders 4.0.0.
fn history() -> Value {
    json!({
        "environments": [{ "uuid": ENV_UUID, "name": "production", "displayName": "Production",
                           "production": true, "createdAt": "2023-01-01T08:00:00Z" }],
        "pacticipants": [
            { "name": "web", "displayName": "Web shop", "mainBranch": "main", "labels": ["team-a"],
              "repositoryUrl": "https://git.example.com/web", "createdAt": "2023-01-02T08:00:00Z" },
            { "name": "orders", "mainBranch": "main", "createdAt": "2023-01-02T09:00:00Z" }
        ],
        "versions": [
            { "pacticipant": "orders", "number": "4.0.0", "createdAt": "2023-01-03T08:00:00Z", "branches": ["main"] },
            { "pacticipant": "web", "number": "1.0.0", "buildUrl": "https://ci.example.com/1",
              "createdAt": "2023-01-04T08:00:00Z", "branches": ["main"],
              "tags": [{ "name": "prod", "createdAt": "2023-01-04T08:30:00Z" }] },
            { "pacticipant": "orders", "number": "5.0.0", "createdAt": "2023-01-05T08:00:00Z", "branches": ["main"] },
            { "pacticipant": "web", "number": "1.1.0", "createdAt": "2023-01-06T08:00:00Z", "branches": ["main"] }
        ],
        "pacts": [
            { "consumer": "web", "consumerVersion": "1.0.0", "provider": "orders",
              "createdAt": "2023-01-04T08:01:00Z", "content": pact("web", "orders", "a") },
            { "consumer": "web", "consumerVersion": "1.1.0", "provider": "orders",
              "createdAt": "2023-01-06T08:01:00Z", "content": pact("web", "orders", "b") }
        ],
        "verifications": [
            { "consumer": "web", "consumerVersion": "1.0.0", "provider": "orders", "providerVersion": "5.0.0",
              "success": true, "buildUrl": "https://ci.example.com/orders/7",
              "testResults": [{ "interactionId": "x", "success": true }], "verifiedAt": "2023-01-05T09:00:00Z" }
        ],
        "deployments": [
            { "uuid": "d-orders-5", "pacticipant": "orders", "version": "5.0.0", "environment": "production",
              "createdAt": "2023-01-05T10:00:00Z" },
            { "uuid": "d-web-1", "pacticipant": "web", "version": "1.0.0", "environment": "production",
              "createdAt": "2023-01-05T11:00:00Z" }
        ],
        "releases": [
            { "uuid": "r-orders-4", "pacticipant": "orders", "version": "4.0.0", "environment": "production",
              "createdAt": "2023-01-03T10:00:00Z" }
        ]
    })
}

async fn import(app: &TestApp, batch: Value) -> Value {
    app.post("/admin/import", batch).await.expect(200).body
}

fn counts(answer: &Value, section: &str) -> Vec<u64> {
    [
        "environments",
        "pacticipants",
        "versions",
        "pacts",
        "verifications",
        "deployments",
        "releases",
    ]
    .iter()
    .map(|key| answer[section][key].as_u64().expect("a count per kind"))
    .collect()
}

async fn an_imported_history_keeps_its_times_and_answers_as_it_did(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = import(&app, history()).await;
    assert_eq!(
        counts(&answer, "created"),
        [1, 2, 4, 2, 1, 2, 1],
        "{answer}"
    );
    assert_eq!(answer["skipped"], json!([]));

    let version = app
        .get("/pacticipants/web/versions/1.0.0")
        .await
        .expect(200);
    assert_eq!(
        version.body["createdAt"],
        json!("2023-01-04T08:00:00+00:00")
    );
    assert_eq!(version.body["buildUrl"], json!("https://ci.example.com/1"));
    let tag = app
        .get("/pacticipants/web/versions/1.0.0/tags/prod")
        .await
        .expect(200);
    assert_eq!(tag.body["createdAt"], json!("2023-01-04T08:30:00+00:00"));
    let web = app.get("/pacticipants/web").await.expect(200);
    assert_eq!(web.body["displayName"], json!("Web shop"));
    assert_eq!(web.body["mainBranch"], json!("main"));
    assert_eq!(web.body["_embedded"]["labels"][0]["name"], json!("team-a"));
    // The head of main is the version added last, and the pact of each version is
    // the one it published, at its own time.
    let head = app
        .get("/pacticipants/web/branches/main/latest-version")
        .await
        .expect(200);
    assert_eq!(head.body["number"], json!("1.1.0"));
    let first = app
        .get("/pacts/provider/orders/consumer/web/version/1.0.0")
        .await
        .expect(200);
    assert_eq!(
        first.body["interactions"][0]["description"],
        json!("a request for a")
    );
    assert_eq!(first.body["createdAt"], json!("2023-01-04T08:01:00+00:00"));
    let environment = app
        .get(&format!("/environments/{ENV_UUID}"))
        .await
        .expect(200);
    assert_eq!(environment.body["name"], json!("production"));

    // Answers as the original did: web 1.0.0 was verified by what runs in production,
    // web 1.1.0 was not.
    let ask = |version: &'static str| {
        let app = &app;
        async move {
            app.get(&format!(
                "/can-i-deploy?pacticipant=web&version={version}&environment=production"
            ))
            .await
            .expect(200)
            .body["summary"]["deployable"]
                .clone()
        }
    };
    assert_eq!(ask("1.0.0").await, json!(true));
    assert_ne!(ask("1.1.0").await, json!(true));
    let deployed = app
        .get(&format!(
            "/environments/{ENV_UUID}/deployed-versions/currently-deployed"
        ))
        .await
        .expect(200);
    let running: Vec<&str> = deployed.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["d-orders-5", "d-web-1"]);
    // The result names the provider version and keeps its details.
    let matrix = app
        .get(
            "/matrix?q[][pacticipant]=web&q[][version]=1.0.0&q[][pacticipant]=orders&latestby=cvpv",
        )
        .await
        .expect(200);
    let row = &matrix.body["matrix"][0];
    assert_eq!(row["provider"]["version"]["number"], json!("5.0.0"));
    assert_eq!(
        row["verificationResult"]["verifiedAt"],
        json!("2023-01-05T09:00:00+00:00")
    );
    let result = app
        .get(
            row["verificationResult"]["_links"]["self"]["href"]
                .as_str()
                .unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(
        result.body["buildUrl"],
        json!("https://ci.example.com/orders/7")
    );
}

async fn importing_a_batch_again_stores_nothing_new(backend: Backend) {
    let app = spawn_app(backend).await;
    import(&app, history()).await;
    let again = import(&app, history()).await;
    assert_eq!(counts(&again, "created"), [0; 7], "{again}");
    assert_eq!(counts(&again, "existing"), [1, 2, 4, 2, 1, 2, 1], "{again}");
    let versions = app.get("/pacticipants/web/versions").await.expect(200);
    assert_eq!(
        versions.body["_embedded"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let results = app
        .get("/matrix?q[][pacticipant]=web&q[][pacticipant]=orders")
        .await
        .expect(200);
    let verified = results.body["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| !row["verificationResult"].is_null())
        .count();
    assert_eq!(verified, 1, "{}", results.body);
}

async fn one_invalid_record_refuses_the_whole_batch(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut batch = history();
    batch["pacts"][1]["content"] = json!({ "consumer": { "name": "mobile" }, "provider": { "name": "orders" }, "interactions": [] });
    batch["versions"][0]["createdAt"] = json!("last tuesday");
    batch["versions"][1]["number"] = json!("1.0.0\u{0}");
    let refused = app.post("/admin/import", batch).await.expect(400);
    let text = refused.body.to_string();
    assert!(text.contains("pacts[1].content"), "{text}");
    assert!(text.contains("versions[0].createdAt"), "{text}");
    assert!(
        text.contains("versions[1].number") && text.contains("control characters"),
        "{text}"
    );
    // Nothing of the batch was stored.
    app.get("/pacticipants/web").await.expect(404);
    app.get(&format!("/environments/{ENV_UUID}"))
        .await
        .expect(404);
}

async fn records_that_refer_to_missing_ones_are_skipped_and_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut batch = history();
    // The pact of web 1.1.0 is not sent, but a result for it is.
    batch["pacts"].as_array_mut().unwrap().pop();
    batch["verifications"][0]["consumerVersion"] = json!("1.1.0");
    batch["deployments"][1]["environment"] = json!("staging");
    let answer = import(&app, batch).await;
    let skipped: Vec<(String, String)> = answer["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["record"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "verifications".to_string(),
                "web 1.1.0 verified by orders 5.0.0".to_string()
            ),
            (
                "deployments".to_string(),
                "web 1.0.0 in staging".to_string()
            ),
        ],
        "{answer}"
    );
    assert_eq!(
        counts(&answer, "created"),
        [1, 2, 4, 1, 0, 1, 1],
        "{answer}"
    );
}

async fn a_newer_deployment_replaces_the_one_running(backend: Backend) {
    let app = spawn_app(backend).await;
    import(&app, history()).await;
    let newer = json!({
        "versions": [{ "pacticipant": "web", "number": "1.2.0", "createdAt": "2023-02-01T08:00:00Z" }],
        "deployments": [{ "uuid": "d-web-1-2", "pacticipant": "web", "version": "1.2.0",
                          "environment": "production", "createdAt": "2023-02-02T08:00:00Z" }]
    });
    let answer = import(&app, newer).await;
    assert_eq!(
        counts(&answer, "created"),
        [0, 0, 1, 0, 0, 1, 0],
        "{answer}"
    );
    let deployed = app
        .get(&format!(
            "/environments/{ENV_UUID}/deployed-versions/currently-deployed?pacticipant=web"
        ))
        .await
        .expect(200);
    let running: Vec<&str> = deployed.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_embedded"]["version"]["number"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["1.2.0"]);

    // A deployment older than the one running is history: it does not replace it.
    let older = json!({
        "deployments": [{ "uuid": "d-web-1-1", "pacticipant": "web", "version": "1.1.0",
                          "environment": "production", "createdAt": "2023-01-20T08:00:00Z" }]
    });
    let answer = import(&app, older).await;
    assert_eq!(
        counts(&answer, "created"),
        [0, 0, 0, 0, 0, 1, 0],
        "{answer}"
    );
    let deployed = app
        .get(&format!(
            "/environments/{ENV_UUID}/deployed-versions/currently-deployed?pacticipant=web"
        ))
        .await
        .expect(200);
    let running: Vec<&str> = deployed.body["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_embedded"]["version"]["number"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["1.2.0"]);
}
