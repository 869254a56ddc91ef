//! Drift reports from the monitor: storing runs, the current drift state, the run
//! history, and can-i-deploy taking open drift into account.

use serde_json::{Value, json};

use crate::matrix::{assert_decision, deploy, environment, has_notice, publish, texts, verify};
use crate::{Backend, TestApp, backend_tests, spawn_app};

backend_tests!(
    runs_open_update_and_resolve_findings,
    probe_errors_and_skips_keep_findings_open,
    runs_are_listed_newest_first_in_pages,
    reports_are_validated_field_by_field,
    can_i_deploy_blocks_a_consumer_on_open_drift,
    drift_in_warn_and_ignore_modes,
    drift_does_not_block_a_provider_or_a_pact_without_the_interaction,
);

/// A finding as the monitor writes it.
fn finding(consumer: &str, interaction: &str, pointer: &str, class: &str, actual: &str) -> Value {
    json!({
        "consumers": [consumer],
        "interaction": interaction,
        "request": "GET /things/1",
        "pointer": pointer,
        "class": class,
        "expected": "string in date-time format \"yyyy-MM-dd'T'HH:mm:ssX\"",
        "actual": actual,
        "occurrences": 1
    })
}

/// A report of the provider `orders` finished at `minute` past ten.
fn report(environment: Option<&str>, minute: u32, findings: Vec<Value>) -> Value {
    let mut body = json!({
        "provider": "orders",
        "baseUrl": "http://orders.internal",
        "startedAt": format!("2024-05-01T10:{minute:02}:00Z"),
        "finishedAt": format!("2024-05-01T10:{minute:02}:01.250Z"),
        "pacts": [{"consumer": "web", "provider": "orders", "origin": "http://broker/pacts/1", "contentHash": "abc"}],
        "probes": 2,
        "interactionsChecked": 2,
        "findings": findings,
        "probeErrors": [],
        "skipped": []
    });
    if let Some(environment) = environment {
        body["environment"] = json!(environment);
    }
    body
}

async fn post(app: &TestApp, body: Value) -> crate::Resp {
    app.post("/drift/provider/orders", body).await
}

fn interactions(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["pointer"].as_str().unwrap().to_string())
        .collect()
}

async fn runs_open_update_and_resolve_findings(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "production").await;
    publish(&app, "web", "1", "orders").await;

    let index = app.get("/").await.expect(200);
    assert_eq!(
        index.body["_links"]["accord:drift"]["href"],
        format!("{}/drift/provider/{{provider}}", app.base)
    );
    assert_eq!(index.body["_links"]["accord:drift"]["templated"], true);
    assert!(
        index.body["_links"]["curies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "accord")
    );

    // Nothing posted yet: no drift, no runs.
    let empty = app.get("/drift/provider/orders").await.expect(200);
    assert_eq!(empty.body["drifting"], false);
    assert_eq!(empty.body["environments"], json!([]));

    let created = post(
        &app,
        report(
            Some("production"),
            0,
            vec![finding(
                "web",
                "a request for web-1",
                "/body/created",
                "format_changed",
                "1714557600",
            )],
        ),
    )
    .await
    .expect(201);
    let location = created.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!("{}/drift/provider/orders/runs/", app.base)));
    assert_eq!(created.body["environment"], "production");
    assert_eq!(created.body["findings"], 1);
    assert_eq!(interactions(&created.body["new"]), vec!["/body/created"]);
    assert_eq!(created.body["resolved"], json!([]));
    let fingerprint = created.body["new"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fingerprint.len(), 64);

    // The same drift on another array item, with a new value, is the same finding;
    // another pointer is a new one.
    let second = post(
        &app,
        report(
            Some("production"),
            5,
            vec![
                finding(
                    "web",
                    "a request for web-1",
                    "/body/created",
                    "format_changed",
                    "1714557999",
                ),
                finding(
                    "web",
                    "a request for web-1",
                    "/body/name",
                    "type_changed",
                    "42",
                ),
            ],
        ),
    )
    .await
    .expect(201);
    assert_eq!(interactions(&second.body["new"]), vec!["/body/name"]);
    assert_eq!(second.body["open"].as_array().unwrap().len(), 2);

    let state = app
        .get("/drift/provider/orders?environment=production")
        .await
        .expect(200);
    assert_eq!(state.body["drifting"], true);
    assert_eq!(state.body["openFindings"], 2);
    let production = &state.body["environments"][0];
    assert_eq!(production["environment"], "production");
    assert_eq!(
        production["latestRun"]["finishedAt"],
        "2024-05-01T10:05:01+00:00"
    );
    assert_eq!(production["latestRun"]["interactionsChecked"], 2);
    assert_eq!(production["probeErrors"], json!([]));
    let first = &production["findings"][0];
    assert_eq!(first["fingerprint"], fingerprint.as_str());
    assert_eq!(first["consumers"], json!(["web"]));
    assert_eq!(first["interaction"], "a request for web-1");
    assert_eq!(first["class"], "format_changed");
    assert_eq!(
        first["actual"], "1714557999",
        "the latest rendering is kept"
    );
    assert_eq!(first["firstSeenAt"], "2024-05-01T10:00:01+00:00");
    assert_eq!(first["lastSeenAt"], "2024-05-01T10:05:01+00:00");
    assert_eq!(first["recheckedByLatestRun"], true);

    // A retried post of the same run changes nothing.
    let again = post(
        &app,
        report(
            Some("production"),
            5,
            vec![finding(
                "web",
                "a request for web-1",
                "/body/created",
                "format_changed",
                "1714557999",
            )],
        ),
    )
    .await
    .expect(200);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["open"].as_array().unwrap().len(), 2);

    // A clean run resolves both.
    let clean = post(&app, report(Some("production"), 10, vec![]))
        .await
        .expect(201);
    assert_eq!(clean.body["resolved"].as_array().unwrap().len(), 2);
    assert_eq!(clean.body["resolved"][0]["status"], "resolved");
    assert_eq!(
        clean.body["resolved"][0]["resolvedAt"],
        "2024-05-01T10:10:01+00:00"
    );
    let state = app.get("/drift/provider/orders").await.expect(200);
    assert_eq!(state.body["drifting"], false);
    assert_eq!(state.body["environments"][0]["drifting"], false);
    assert_eq!(state.body["environments"][0]["findings"], json!([]));

    // A late run (finished before the latest) is kept but does not reopen anything.
    let late = post(
        &app,
        report(
            Some("production"),
            7,
            vec![finding(
                "web",
                "a request for web-1",
                "/body/name",
                "type_changed",
                "42",
            )],
        ),
    )
    .await
    .expect(201);
    assert_eq!(late.body["applied"], false);
    assert!(
        late.body["notices"][0]["text"]
            .as_str()
            .unwrap()
            .contains("finished later")
    );
    let state = app.get("/drift/provider/orders").await.expect(200);
    assert_eq!(state.body["drifting"], false);

    // Runs elsewhere are separate: without an environment, and the state lists both.
    post(
        &app,
        report(
            None,
            20,
            vec![finding(
                "web",
                "a request for web-1",
                "/body/name",
                "type_changed",
                "42",
            )],
        ),
    )
    .await
    .expect(201);
    let state = app.get("/drift/provider/orders").await.expect(200);
    let environments = state.body["environments"].as_array().unwrap();
    assert_eq!(environments.len(), 2);
    assert_eq!(environments[0]["environment"], Value::Null);
    assert_eq!(environments[0]["drifting"], true);
    assert_eq!(environments[1]["environment"], "production");
    let production_only = app
        .get("/drift/provider/orders?environment=production")
        .await
        .expect(200);
    assert_eq!(production_only.body["drifting"], false);

    // The run as posted.
    let run = app.get(&location).await.expect(200);
    assert_eq!(run.body["report"]["baseUrl"], "http://orders.internal");
    assert_eq!(run.body["report"]["findings"][0]["actual"], "1714557600");
}

async fn probe_errors_and_skips_keep_findings_open(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "production").await;
    publish(&app, "web", "1", "orders").await;
    post(
        &app,
        report(
            Some("production"),
            0,
            vec![
                finding(
                    "web",
                    "get order",
                    "/body/created",
                    "format_changed",
                    "1714557600",
                ),
                finding("web", "list orders", "/body", "type_changed", "{}"),
            ],
        ),
    )
    .await
    .expect(201);

    let mut next = report(Some("production"), 5, vec![]);
    next["probeErrors"] = json!([{
        "consumers": ["web"],
        "interaction": "get order",
        "request": "GET /orders/1",
        "kind": "timeout",
        "message": "no answer within 5s"
    }]);
    next["skipped"] = json!([{
        "consumer": "web",
        "interaction": "list orders",
        "reason": "the provider state \"no orders\" is marked skip"
    }]);
    let posted = post(&app, next).await.expect(201);
    assert_eq!(posted.body["resolved"], json!([]));
    assert_eq!(posted.body["notRechecked"].as_array().unwrap().len(), 2);
    assert!(posted.body["notices"].as_array().unwrap().iter().any(|n| {
        n["text"].as_str().unwrap().contains(
            "could not check it again (the probe GET /orders/1 got no usable answer (timeout",
        )
    }));

    let state = app.get("/drift/provider/orders").await.expect(200);
    let production = &state.body["environments"][0];
    assert_eq!(production["drifting"], true);
    assert_eq!(production["notRechecked"], 2);
    assert_eq!(production["probeErrors"][0]["kind"], "timeout");
    let findings = production["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["recheckedByLatestRun"] == false));
    assert!(
        findings[1]["notRecheckedBecause"]
            .as_str()
            .unwrap()
            .contains("marked skip"),
        "{}",
        findings[1]
    );
    // first seen stays, last seen does not move: the drift was not seen again.
    assert_eq!(findings[0]["lastSeenAt"], "2024-05-01T10:00:01+00:00");
}

async fn runs_are_listed_newest_first_in_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "production").await;
    publish(&app, "web", "1", "orders").await;
    for minute in [1, 2, 3] {
        post(&app, report(Some("production"), minute, vec![]))
            .await
            .expect(201);
    }
    post(&app, report(None, 4, vec![])).await.expect(201);

    let all = app.get("/drift/provider/orders/runs").await.expect(200);
    let runs = all.body["_embedded"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[0]["environment"], Value::Null);
    assert_eq!(all.body["page"]["totalElements"], 4);

    let page = app
        .get("/drift/provider/orders/runs?environment=production&size=2&page=1")
        .await
        .expect(200);
    let runs = page.body["_embedded"]["runs"].as_array().unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| r["startedAt"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["2024-05-01T10:03:00+00:00", "2024-05-01T10:02:00+00:00"]
    );
    assert_eq!(page.body["page"]["totalElements"], 3);
    assert_eq!(page.body["page"]["totalPages"], 2);
    let next = page.body["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        next,
        format!(
            "{}/drift/provider/orders/runs?environment=production&size=2&page=2",
            app.base
        )
    );
    let second = app.get(&next).await.expect(200);
    assert_eq!(
        second.body["_embedded"]["runs"].as_array().unwrap().len(),
        1
    );
    let self_link = second.body["_embedded"]["runs"][0]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&self_link).await.expect(200);
    app.get("/drift/provider/orders/runs/999999")
        .await
        .expect(404);
    app.get("/drift/provider/orders/runs/nope")
        .await
        .expect(404);
}

async fn reports_are_validated_field_by_field(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "production").await;
    publish(&app, "web", "1", "orders").await;

    let unknown = app
        .post("/drift/provider/nobody", report(None, 0, vec![]))
        .await
        .expect(404);
    assert!(unknown.body["error"].as_str().unwrap().contains("nobody"));

    let mut bad = report(
        Some("staging"),
        0,
        vec![json!({
            "consumers": [],
            "interaction": "get order",
            "request": "GET /orders/1",
            "pointer": "body/created",
            "class": "Format Changed",
            "expected": "x",
            "actual": "y",
            "occurrences": 0
        })],
    );
    bad["provider"] = json!("billing");
    bad["startedAt"] = json!("yesterday");
    bad["probes"] = json!(-1);
    bad.as_object_mut().unwrap().remove("skipped");
    let refused = post(&app, bad).await.expect(400);
    let errors = &refused.body["errors"];
    for field in [
        "provider",
        "environment",
        "startedAt",
        "probes",
        "skipped",
        "findings[0].consumers",
        "findings[0].pointer",
        "findings[0].class",
        "findings[0].occurrences",
    ] {
        assert!(
            errors.get(field).is_some(),
            "no error for {field}: {errors}"
        );
    }
    assert!(
        errors["environment"][0]
            .as_str()
            .unwrap()
            .contains("staging")
    );

    let conflicting = app
        .post(
            "/drift/provider/orders?environment=test",
            report(Some("production"), 0, vec![]),
        )
        .await
        .expect(400);
    assert!(
        conflicting.body["errors"]["environment"][0]
            .as_str()
            .unwrap()
            .contains("query string")
    );

    let malformed = app
        .request(reqwest::Method::POST, "/drift/provider/orders", None, "")
        .await;
    // An empty body reads as `{}`: every required field is named.
    assert_eq!(malformed.status.as_u16(), 400, "{}", malformed.text);
    assert!(malformed.body["errors"]["findings"].is_array());

    let not_json = app
        .client
        .post(format!("{}/drift/provider/orders", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);
    let body: Value = not_json.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("not valid JSON"));

    app.get("/drift/provider/orders?environment=nowhere")
        .await
        .expect(400);
    app.get("/drift/provider/nobody").await.expect(404);

    // The query string may name the environment instead of the report.
    let posted = app
        .post(
            "/drift/provider/orders?environment=production",
            report(None, 0, vec![]),
        )
        .await
        .expect(201);
    assert_eq!(posted.body["environment"], "production");
}

/// web 1's pact with orders, verified by orders 10, which runs in production; web 1
/// runs in staging.
async fn deployed_pair(app: &TestApp) -> String {
    let production = environment(app, "production").await;
    publish(app, "web", "1", "orders").await;
    verify(app, "orders", "web", "1", "10", true).await;
    deploy(app, "orders", "10", &production, None).await;
    production
}

fn web_drift(minute: u32) -> Value {
    report(
        Some("production"),
        minute,
        vec![finding(
            "web",
            "a request for web-1",
            "/body/name",
            "type_changed",
            "42",
        )],
    )
}

async fn can_i_deploy_blocks_a_consumer_on_open_drift(backend: Backend) {
    let app = spawn_app(backend).await;
    deployed_pair(&app).await;
    let ask = "/can-i-deploy?pacticipant=web&version=1&environment=production";
    assert_decision(&app.get(ask).await.expect(200), json!(true));

    post(&app, web_drift(0)).await.expect(201);
    let blocked = app.get(ask).await.expect(200);
    assert_decision(&blocked, json!(false));
    let reason = blocked.body["summary"]["reason"].as_str().unwrap();
    let line = reason
        .lines()
        .find(|l| l.starts_with("orders drifts in production"))
        .unwrap_or_else(|| panic!("no drift line in {reason}"));
    for part in [
        "from the pact of web 1",
        "type changed at /body/name",
        "\"a request for web-1\" (GET /things/1)",
        "got 42",
        "Fix orders in production",
        "--drift warn",
        &format!("{}/drift/provider/orders?environment=production", app.base),
    ] {
        assert!(line.contains(part), "{part:?} missing from: {line}");
    }
    assert!(has_notice(&blocked, "error", "orders drifts in production"));
    let drift = &blocked.body["drift"];
    assert_eq!(drift["mode"], "block");
    assert_eq!(drift["blocking"], true);
    assert_eq!(drift["findings"][0]["provider"], "orders");
    assert_eq!(drift["findings"][0]["consumerVersion"], "1");
    assert_eq!(drift["findings"][0]["pointer"], "/body/name");
    assert_eq!(drift["findings"][0]["text"], line);

    // The same through /matrix with an environment, and the branch form.
    let matrix = app
        .get("/matrix?q[][pacticipant]=web&q[][version]=1&environment=production&latestby=cvpv")
        .await
        .expect(200);
    assert_decision(&matrix, json!(false));
    app.put("/pacticipants/web/branches/main/versions/1", json!({}))
        .await
        .expect(201);
    let branch = app
        .get(
            "/pacticipants/web/branches/main/latest-version/can-i-deploy/to-environment/production",
        )
        .await
        .expect(200);
    assert_decision(&branch, json!(false));
    assert!(texts(&branch).contains("orders drifts in production"));
    let branch_warn = app
        .get("/pacticipants/web/branches/main/latest-version/can-i-deploy/to-environment/production?drift=warn")
        .await
        .expect(200);
    assert_decision(&branch_warn, json!(true));

    // Another environment is not affected.
    environment(&app, "staging").await;
    let staging = app
        .get("/can-i-deploy?pacticipant=web&version=1&environment=staging")
        .await
        .expect(200);
    assert!(!texts(&staging).contains("drifts"), "{}", texts(&staging));
    assert_eq!(staging.body["drift"]["findings"], json!([]));

    // Once a run no longer sees it, it no longer blocks.
    post(&app, report(Some("production"), 5, vec![]))
        .await
        .expect(201);
    let resolved = app.get(ask).await.expect(200);
    assert_decision(&resolved, json!(true));
    assert_eq!(resolved.body["drift"]["blocking"], false);
    assert!(!texts(&resolved).contains("drifts"));
}

async fn drift_in_warn_and_ignore_modes(backend: Backend) {
    let app = spawn_app(backend).await;
    deployed_pair(&app).await;
    post(&app, web_drift(0)).await.expect(201);
    let ask = "/can-i-deploy?pacticipant=web&version=1&environment=production";

    let warned = app.get(&format!("{ask}&drift=warn")).await.expect(200);
    assert_decision(&warned, json!(true));
    assert!(
        !warned.body["summary"]["reason"]
            .as_str()
            .unwrap()
            .contains("drifts"),
        "a warning is not a reason"
    );
    assert!(has_notice(
        &warned,
        "warning",
        "orders drifts in production"
    ));
    assert!(has_notice(&warned, "warning", "Not blocking (drift=warn)"));
    assert_eq!(warned.body["drift"]["mode"], "warn");
    assert_eq!(warned.body["drift"]["blocking"], false);
    assert_eq!(
        warned.body["drift"]["findings"].as_array().unwrap().len(),
        1
    );

    for ignore in ["drift=ignore", "ignoreDrift=true"] {
        let ignored = app.get(&format!("{ask}&{ignore}")).await.expect(200);
        assert_decision(&ignored, json!(true));
        assert!(!texts(&ignored).contains("drifts"), "{ignore}");
        assert_eq!(ignored.body["drift"]["mode"], "ignore");
    }
    let matrix_warn = app
        .get("/matrix?q[][pacticipant]=web&q[][version]=1&environment=production&drift=warn")
        .await
        .expect(200);
    assert_decision(&matrix_warn, json!(true));

    let wrong = app.get(&format!("{ask}&drift=loud")).await.expect(400);
    assert!(
        wrong.body["errors"]["drift"][0]
            .as_str()
            .unwrap()
            .contains("block, warn or ignore")
    );
    let both = app
        .get(&format!("{ask}&drift=block&ignoreDrift=true"))
        .await
        .expect(400);
    assert!(both.body["errors"]["drift"].is_array());
    let matrix_wrong = app
        .get("/matrix?q[][pacticipant]=web&q[][version]=1&environment=production&drift=loud")
        .await
        .expect(400);
    assert!(matrix_wrong.text.contains("drift must be"));

    // Without an environment the question is not about a running provider.
    let tag = app
        .get("/can-i-deploy?pacticipant=web&version=1&to=prod")
        .await
        .expect(200);
    assert!(tag.body.get("drift").is_none());
}

async fn drift_does_not_block_a_provider_or_a_pact_without_the_interaction(backend: Backend) {
    let app = spawn_app(backend).await;
    let production = deployed_pair(&app).await;
    deploy(&app, "web", "1", &production, None).await;
    post(&app, web_drift(0)).await.expect(201);

    // The provider's candidate verified web's pact: drift of the running version does
    // not hold it back, and a notice says so.
    verify(&app, "orders", "web", "1", "11", true).await;
    let provider = app
        .get("/can-i-deploy?pacticipant=orders&version=11&environment=production")
        .await
        .expect(200);
    assert_decision(&provider, json!(true));
    assert!(
        has_notice(&provider, "info", "does not block deploying it"),
        "{}",
        texts(&provider)
    );
    assert!(has_notice(&provider, "info", "not orders 11"));

    // web 2's pact no longer has the drifting interaction.
    publish(&app, "web", "2", "orders").await;
    verify(&app, "orders", "web", "2", "10", true).await;
    let fixed = app
        .get("/can-i-deploy?pacticipant=web&version=2&environment=production")
        .await
        .expect(200);
    assert_decision(&fixed, json!(true));
    assert!(
        has_notice(&fixed, "info", "no longer has that interaction"),
        "{}",
        texts(&fixed)
    );

    // Deployed together with the provider (both named in the query), the consumer is
    // not held back by the drift of the version being replaced.
    let together = app
        .get("/matrix?q[][pacticipant]=web&q[][version]=1&q[][pacticipant]=orders&q[][version]=11&environment=production&latestby=cvpv")
        .await
        .expect(200);
    assert!(
        !together.body["summary"]["reason"]
            .as_str()
            .unwrap()
            .contains("drifts in"),
        "{}",
        texts(&together)
    );
}
