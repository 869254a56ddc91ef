//! The matrix and can-i-deploy: rows, the decision rules and the messages.

use serde_json::{Value, json};

use crate::{Backend, Resp, TestApp, backend_tests, pact, spawn_app};

backend_tests!(
    matrix_rows_and_their_shape,
    matrix_validation_and_missing_versions,
    matrix_filters_and_options,
    consumer_to_environment_decisions,
    provider_to_environment_decisions,
    ignoring_versions_and_pacticipants,
    several_provider_versions_in_one_environment,
    releases_count_until_support_ends,
    tag_branch_and_integration_forms,
    can_i_deploy_validation,
    rows_say_which_tags_and_branch_versions_are_latest,
);

/// Publishes a pact whose content is unique to the consumer version.
pub async fn publish(app: &TestApp, consumer: &str, version: &str, provider: &str) {
    app.publish(
        consumer,
        version,
        provider,
        None,
        &pact(consumer, provider, &format!("{consumer}-{version}")),
    )
    .await
    .expect(200);
}

/// Publishes a verification result of the pact of a consumer version.
pub async fn verify(
    app: &TestApp,
    provider: &str,
    consumer: &str,
    consumer_version: &str,
    provider_version: &str,
    success: bool,
) {
    let fetched = app
        .get(&format!(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{consumer_version}"
        ))
        .await
        .expect(200);
    let href = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &href,
        json!({ "success": success, "providerApplicationVersion": provider_version }),
    )
    .await
    .expect(201);
}

pub async fn environment(app: &TestApp, name: &str) -> String {
    let created = app
        .post(
            "/environments",
            json!({ "name": name, "production": false }),
        )
        .await
        .expect(201);
    created.body["uuid"].as_str().unwrap().to_string()
}

pub async fn deploy(
    app: &TestApp,
    pacticipant: &str,
    version: &str,
    env: &str,
    instance: Option<&str>,
) {
    let body = match instance {
        Some(i) => json!({ "applicationInstance": i }),
        None => json!({}),
    };
    app.post(
        &format!(
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{env}"
        ),
        body,
    )
    .await
    .expect(201);
}

async fn release(app: &TestApp, pacticipant: &str, version: &str, env: &str) -> String {
    let released = app
        .post(
            &format!(
                "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{env}"
            ),
            json!({}),
        )
        .await
        .expect(201);
    released.body["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The reason and every notice, for assertions on wording.
pub fn texts(resp: &Resp) -> String {
    let mut out = resp.body["summary"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for notice in resp.body["notices"].as_array().into_iter().flatten() {
        out.push('\n');
        out.push_str(&format!(
            "[{}] {}",
            notice["type"].as_str().unwrap(),
            notice["text"].as_str().unwrap()
        ));
    }
    out
}

#[track_caller]
pub fn assert_decision(resp: &Resp, deployable: Value) {
    assert_eq!(
        resp.body["summary"]["deployable"],
        deployable,
        "unexpected answer:\n{}",
        texts(resp)
    );
}

pub fn has_notice(resp: &Resp, kind: &str, fragment: &str) -> bool {
    resp.body["notices"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == kind && n["text"].as_str().unwrap().contains(fragment))
}

/// Only the newest version with a tag (of that pacticipant) or on a branch is the
/// latest; another pacticipant's tag of the same name changes nothing.
async fn rows_say_which_tags_and_branch_versions_are_latest(backend: Backend) {
    let app = spawn_app(backend).await;
    for version in ["1", "2"] {
        publish(&app, "Foo", version, "Bar").await;
        app.put(
            &format!("/pacticipants/Foo/branches/main/versions/{version}"),
            json!({}),
        )
        .await
        .expect(201);
        app.put(
            &format!("/pacticipants/Foo/versions/{version}/tags/prod"),
            json!({}),
        )
        .await;
        verify(&app, "Bar", "Foo", version, "10", true).await;
    }
    // A newer version of another pacticipant with the same tag.
    app.put("/pacticipants/Bar/versions/10/tags/prod", json!({}))
        .await;
    app.put("/pacticipants/Bar/versions/11/tags/prod", json!({}))
        .await;

    let resp = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv")
        .await
        .expect(200);
    let rows = resp.body["matrix"].as_array().unwrap();
    let consumer_version = |number: &str| {
        rows.iter()
            .map(|r| &r["consumer"]["version"])
            .find(|v| v["number"] == number)
            .unwrap_or_else(|| panic!("a row for Foo {number}: {}", resp.text))
            .clone()
    };
    for (number, latest) in [("1", false), ("2", true)] {
        let version = consumer_version(number);
        assert_eq!(version["tags"][0]["name"], "prod", "{version}");
        assert_eq!(version["tags"][0]["latest"], latest, "{version}");
        assert_eq!(version["branchVersions"][0]["latest"], latest, "{version}");
    }
    let provider = &rows[0]["provider"]["version"];
    assert_eq!(provider["number"], "10");
    assert_eq!(provider["tags"][0]["latest"], false, "{provider}");
}

async fn matrix_rows_and_their_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Foo", "1", "Bar").await;
    app.put("/pacticipants/Foo/branches/main/versions/1", json!({}))
        .await
        .expect(201);
    app.put("/pacticipants/Bar/versions/10/tags/prod", json!({}))
        .await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    let env = environment(&app, "prod").await;
    deploy(&app, "Foo", "1", &env, None).await;

    let resp = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=10&latestby=cvpv")
        .await
        .expect(200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    assert_decision(&resp, json!(true));
    let summary = &resp.body["summary"];
    assert_eq!(
        summary["reason"],
        "All required verification results are published and successful"
    );
    assert_eq!(
        (
            summary["success"].as_u64(),
            summary["failed"].as_u64(),
            summary["unknown"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert!(
        summary.get("ignored").is_none(),
        "ignored only with ignore selectors"
    );
    assert!(has_notice(
        &resp,
        "success",
        "All required verification results"
    ));
    let rows = resp.body["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["consumer"]["name"], "Foo");
    assert_eq!(row["consumer"]["version"]["number"], "1");
    assert_eq!(row["consumer"]["version"]["branch"], "main");
    assert_eq!(
        row["consumer"]["version"]["branchVersions"][0]["latest"],
        true
    );
    assert_eq!(
        row["consumer"]["version"]["environments"][0]["name"],
        "prod"
    );
    assert_eq!(row["provider"]["name"], "Bar");
    assert_eq!(row["provider"]["version"]["number"], "10");
    assert_eq!(row["provider"]["version"]["tags"][0]["name"], "prod");
    assert_eq!(row["provider"]["version"]["tags"][0]["latest"], true);
    assert!(
        row["pact"]["createdAt"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    assert_eq!(row["verificationResult"]["success"], true);
    assert!(row["verificationResult"]["verifiedAt"].is_string());
    assert!(row.get("ignored").is_none());
    // Every link in a row leads somewhere.
    for href in [
        &row["pact"]["_links"]["self"]["href"],
        &row["verificationResult"]["_links"]["self"]["href"],
        &row["consumer"]["version"]["_links"]["self"]["href"],
        &row["consumer"]["_links"]["self"]["href"],
        &row["provider"]["version"]["tags"][0]["_links"]["self"]["href"],
    ] {
        app.get(href.as_str().unwrap()).await.expect(200);
    }

    // Percent-encoded brackets group the same way.
    let encoded = app
        .get("/matrix?q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1&q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=10&latestby=cvpv")
        .await
        .expect(200);
    assert_eq!(encoded.body["matrix"], resp.body["matrix"]);
}

async fn matrix_validation_and_missing_versions(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Foo", "1", "Bar").await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;

    let unknown = app
        .get("/matrix?q[][pacticipant]=Wiffle&q[][version]=1&q[][pacticipant]=Meep&q[][version]=2&latestby=cvpv")
        .await
        .expect(400);
    assert_eq!(
        unknown.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    assert_eq!(
        unknown.body["errors"],
        json!(["Pacticipant Wiffle not found", "Pacticipant Meep not found"])
    );
    let no_selector = app.get("/matrix?latestby=cvpv").await.expect(400);
    assert_eq!(
        no_selector.body["errors"],
        json!(["Please provide 1 or more version selectors."])
    );
    let both = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][latest]=true")
        .await
        .expect(400);
    assert!(
        both.body["errors"][0]
            .as_str()
            .unwrap()
            .contains("cannot both be specified")
    );
    let no_env = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&environment=nowhere")
        .await
        .expect(400);
    assert_eq!(
        no_env.body["errors"],
        json!(["Environment with name 'nowhere' does not exist"])
    );

    // A version that does not exist answers "no", saying which and how to fix it.
    let missing = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=9.9.9&latestby=cvpv")
        .await
        .expect(200);
    assert_decision(&missing, json!(false));
    let reason = missing.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("No pacts or verifications have been published for version 9.9.9 of Bar"),
        "{reason}"
    );
    assert!(
        reason.contains("accord verify --provider Bar")
            && reason.contains("--provider-version 9.9.9 --publish"),
        "{reason}"
    );
    assert!(has_notice(&missing, "error", "version 9.9.9 of Bar"));
    let missing_consumer = app
        .get("/can-i-deploy?pacticipant=Foo&version=7&environment=prod")
        .await;
    // The environment does not exist yet: that is a validation error.
    missing_consumer.expect(400);
    environment(&app, "prod").await;
    let missing_consumer = app
        .get("/can-i-deploy?pacticipant=Foo&version=7&environment=prod")
        .await
        .expect(200);
    assert_decision(&missing_consumer, json!(false));
    assert!(
        texts(&missing_consumer).contains("accord publish PACTS_DIR --consumer-app-version 7"),
        "{}",
        texts(&missing_consumer)
    );
}

async fn matrix_filters_and_options(backend: Backend) {
    let app = spawn_app(backend).await;
    publish(&app, "Foo", "1", "Bar").await;
    publish(&app, "Foo", "2", "Bar").await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    verify(&app, "Bar", "Foo", "2", "11", false).await;
    verify(&app, "Bar", "Foo", "1", "11", true).await;

    // Every version of both: one row per verification.
    let all = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar")
        .await
        .expect(200);
    assert_eq!(all.body["matrix"].as_array().unwrap().len(), 3);
    // Newest consumer version first.
    assert_eq!(all.body["matrix"][0]["consumer"]["version"]["number"], "2");
    // latestby=cvp keeps the latest result per consumer version.
    let cvp = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvp")
        .await
        .expect(200);
    let rows = cvp.body["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["provider"]["version"]["number"], "11");
    // latestby=cp keeps one row per integration.
    let cp = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cp")
        .await
        .expect(200);
    assert_eq!(cp.body["matrix"].as_array().unwrap().len(), 1);
    // success[] filters after latestby.
    let successes = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv&success[]=true")
        .await
        .expect(200);
    let rows = successes.body["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["verificationResult"]["success"] == true)
    );
    // limit cuts the rows shown, not the decision.
    let limited = app
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&limit=1")
        .await
        .expect(200);
    assert_eq!(limited.body["matrix"].as_array().unwrap().len(), 1);
    assert_decision(&limited, json!(false));
    assert_eq!(limited.body["summary"]["failed"], 1);
    assert!(has_notice(&limited, "info", "Showing 1 of 3 rows"));
    // latest=true: the other side is the latest version of each provider (Bar 11).
    let latest = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&latestby=cvp&latest=true")
        .await
        .expect(200);
    let rows = latest.body["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["provider"]["version"]["number"], "11");
    assert_decision(&latest, json!(true));
    assert!(has_notice(
        &latest,
        "warning",
        "recommended to specify the environment"
    ));
    // A selector for the latest version of the other side (q[][latest]).
    let latest_bar = app
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=2&q[][pacticipant]=Bar&q[][latest]=true&latestby=cvpv")
        .await
        .expect(200);
    assert_decision(&latest_bar, json!(false));
    let reason = latest_bar.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "The verification of the pact between Foo 2 and Bar 11 (its latest version) failed"
        ),
        "{reason}"
    );
    assert!(reason.contains("accord verify --provider Bar"), "{reason}");
}

async fn consumer_to_environment_decisions(backend: Backend) {
    let app = spawn_app(backend).await;
    let prod = environment(&app, "prod").await;
    environment(&app, "staging").await;
    publish(&app, "Foo", "1", "Bar").await;
    publish(&app, "Foo", "2", "Bar").await;
    publish(&app, "Foo", "3", "Bar").await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    verify(&app, "Bar", "Foo", "2", "10", false).await;
    deploy(&app, "Bar", "10", &prod, None).await;

    // Verified by the provider in the environment: yes.
    let ok = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=prod")
        .await
        .expect(200);
    assert_decision(&ok, json!(true));
    assert_eq!(ok.body["matrix"][0]["provider"]["version"]["number"], "10");

    // Failed: no, with the result and the command.
    let failed = app
        .get("/can-i-deploy?pacticipant=Foo&version=2&environment=prod")
        .await
        .expect(200);
    assert_decision(&failed, json!(false));
    assert_eq!(failed.body["summary"]["failed"], 1);
    let reason = failed.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "The verification of the pact between Foo 2 and Bar 10 (currently in prod) failed (result: http"
        ),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "--pact-url {}/pacts/provider/Bar/consumer/Foo/version/2",
            app.base
        )),
        "{reason}"
    );
    assert!(has_notice(&failed, "error", "failed"));
    assert!(!reason.contains('\n'), "one line per blocker: {reason}");

    // Never verified: unknown, naming the provider version and the command.
    let unverified = app
        .get("/can-i-deploy?pacticipant=Foo&version=3&environment=prod")
        .await
        .expect(200);
    assert_decision(&unverified, Value::Null);
    assert_eq!(unverified.body["summary"]["unknown"], 1);
    assert_eq!(
        unverified.body["matrix"][0]["verificationResult"],
        Value::Null
    );
    assert_eq!(
        unverified.body["matrix"][0]["provider"]["version"],
        Value::Null
    );
    let reason = unverified.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Bar 10 (currently in prod) has not verified the pact of Foo 3"),
        "{reason}"
    );
    assert!(
        reason.contains("--provider-version 10 --publish"),
        "{reason}"
    );
    assert!(has_notice(&unverified, "warning", "has not verified"));

    // The provider is not in the environment: unknown, with how to record it.
    let absent = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=staging")
        .await
        .expect(200);
    assert_decision(&absent, Value::Null);
    let reason = absent.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no version of Bar is currently deployed or released in staging"),
        "{reason}"
    );
    assert!(
        reason.contains(
            "accord record-deployment --pacticipant Bar --version 10 --environment staging"
        ),
        "{reason}"
    );

    // A consumer without providers can always go.
    app.put("/pacticipants/Loner/versions/1", json!({})).await;
    let alone = app
        .get("/can-i-deploy?pacticipant=Loner&version=1&environment=prod")
        .await
        .expect(200);
    assert_decision(&alone, json!(true));
    assert_eq!(
        alone.body["summary"]["reason"],
        "There are no missing dependencies"
    );
    assert_eq!(alone.body["matrix"], json!([]));
}

async fn provider_to_environment_decisions(backend: Backend) {
    let app = spawn_app(backend).await;
    let prod = environment(&app, "prod").await;
    publish(&app, "Foo", "1", "Bar").await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    app.put("/pacticipants/Bar/versions/11", json!({})).await;

    // No consumer is in prod: the provider does not need them.
    let before = app
        .get("/can-i-deploy?pacticipant=Bar&version=11&environment=prod")
        .await
        .expect(200);
    assert_decision(&before, json!(true));
    assert_eq!(
        before.body["summary"]["reason"],
        "There are no missing dependencies"
    );

    // Once Foo 1 is in prod, Bar 11 must have verified its pact.
    deploy(&app, "Foo", "1", &prod, None).await;
    let unverified = app
        .get("/can-i-deploy?pacticipant=Bar&version=11&environment=prod")
        .await
        .expect(200);
    assert_decision(&unverified, Value::Null);
    let reason = unverified.body["summary"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Bar 11 has not verified the pact of Foo 1 (currently in prod)"),
        "{reason}"
    );
    assert!(
        reason.contains("--provider-version 11 --publish"),
        "{reason}"
    );
    let verified = app
        .get("/can-i-deploy?pacticipant=Bar&version=10&environment=prod")
        .await
        .expect(200);
    assert_decision(&verified, json!(true));
    assert_eq!(
        verified.body["matrix"][0]["consumer"]["version"]["number"],
        "1"
    );
    // Breaking the consumer that is there is a no.
    verify(&app, "Bar", "Foo", "1", "12", false).await;
    let breaks = app
        .get("/can-i-deploy?pacticipant=Bar&version=12&environment=prod")
        .await
        .expect(200);
    assert_decision(&breaks, json!(false));
}

async fn ignoring_versions_and_pacticipants(backend: Backend) {
    let app = spawn_app(backend).await;
    let prod = environment(&app, "prod").await;
    publish(&app, "Foo", "1", "Bar").await;
    publish(&app, "Foo", "2", "Bar").await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    verify(&app, "Bar", "Foo", "2", "10", false).await;
    deploy(&app, "Bar", "10", &prod, None).await;
    app.put("/pacticipants/Foo/versions/1/tags/live", json!({}))
        .await;
    app.put("/pacticipants/Foo/versions/2/tags/live", json!({}))
        .await;

    // The acceptance suite's question: Bar 10 with every Foo tagged live, ignoring Foo 2.
    let resp = app
        .get("/matrix?q[][pacticipant]=Bar&q[][version]=10&q[][pacticipant]=Foo&q[][tag]=live&latestby=cvpv&ignore[][pacticipant]=Foo&ignore[][version]=2")
        .await
        .expect(200);
    assert_decision(&resp, json!(true));
    assert_eq!(resp.body["summary"]["ignored"], 1);
    let rows = resp.body["matrix"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["consumer"]["version"]["number"], "1");
    assert!(rows[0].get("ignored").is_none());
    assert_eq!(rows[1]["consumer"]["version"]["number"], "2");
    assert_eq!(rows[1]["ignored"], true);
    assert!(has_notice(
        &resp,
        "info",
        "Ignoring: The verification of the pact between Foo 2"
    ));

    // can-i-deploy with ignore[]=Name.
    let ignored = app
        .get("/can-i-deploy?pacticipant=Foo&version=2&environment=prod&ignore[]=Bar")
        .await
        .expect(200);
    assert_decision(&ignored, json!(true));
    assert_eq!(ignored.body["summary"]["ignored"], 1);
    let not_ignored = app
        .get("/can-i-deploy?pacticipant=Foo&version=2&environment=prod")
        .await
        .expect(200);
    assert_decision(&not_ignored, json!(false));
    // Ignoring something that does not exist is a warning, not a pass.
    let nothing = app
        .get("/can-i-deploy?pacticipant=Foo&version=2&environment=prod&ignore[][pacticipant]=Nope")
        .await
        .expect(200);
    assert_decision(&nothing, json!(false));
    assert!(has_notice(&nothing, "warning", "Cannot ignore Nope"));
}

async fn several_provider_versions_in_one_environment(backend: Backend) {
    let app = spawn_app(backend).await;
    let prod = environment(&app, "prod").await;
    publish(&app, "Foo", "5", "Bar").await;
    publish(&app, "Foo", "6", "Bar").await;
    verify(&app, "Bar", "Foo", "5", "10", true).await;
    verify(&app, "Bar", "Foo", "5", "11", false).await;
    verify(&app, "Bar", "Foo", "6", "10", true).await;
    deploy(&app, "Bar", "10", &prod, Some("a")).await;
    deploy(&app, "Bar", "11", &prod, Some("b")).await;

    // Each co-resident version is checked: one failure is a no.
    let five = app
        .get("/can-i-deploy?pacticipant=Foo&version=5&environment=prod")
        .await
        .expect(200);
    assert_decision(&five, json!(false));
    assert_eq!(five.body["matrix"].as_array().unwrap().len(), 2);
    assert_eq!(
        (
            five.body["summary"]["success"].as_u64(),
            five.body["summary"]["failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(
        five.body["summary"]["reason"]
            .as_str()
            .unwrap()
            .contains("Bar 11 (currently in prod) failed")
    );

    // Verified by one of them: yes, as the Pact Broker answers, with a warning
    // naming the version that has not verified it.
    let six = app
        .get("/can-i-deploy?pacticipant=Foo&version=6&environment=prod")
        .await
        .expect(200);
    assert_decision(&six, json!(true));
    assert!(
        has_notice(
            &six,
            "warning",
            "Bar 11 (currently in prod) has not verified the pact of Foo 6"
        ),
        "{}",
        texts(&six)
    );
}

async fn releases_count_until_support_ends(backend: Backend) {
    let app = spawn_app(backend).await;
    let prod = environment(&app, "prod").await;
    publish(&app, "Foo", "7", "Bar").await;
    verify(&app, "Bar", "Foo", "7", "20", true).await;
    let released = release(&app, "Bar", "20", &prod).await;

    let supported = app
        .get("/can-i-deploy?pacticipant=Foo&version=7&environment=prod")
        .await
        .expect(200);
    assert_decision(&supported, json!(true));
    assert_eq!(
        supported.body["matrix"][0]["provider"]["version"]["environments"][0]["name"],
        "prod"
    );

    app.patch(&released, json!({ "currentlySupported": false }))
        .await
        .expect(200);
    let ended = app
        .get("/can-i-deploy?pacticipant=Foo&version=7&environment=prod")
        .await
        .expect(200);
    assert_decision(&ended, Value::Null);
    assert!(
        ended.body["summary"]["reason"]
            .as_str()
            .unwrap()
            .contains("no version of Bar is currently deployed or released in prod"),
        "{}",
        texts(&ended)
    );
}

async fn tag_branch_and_integration_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "prod").await;
    app.publish("Foo", "1", "Bar", Some("main"), &pact("Foo", "Bar", "one"))
        .await
        .expect(200);
    app.put("/pacticipants/Foo/versions/1/tags/dev", json!({}))
        .await;
    verify(&app, "Bar", "Foo", "1", "10", true).await;
    // Tagging with an environment's name also records a deployment there.
    app.put("/pacticipants/Bar/versions/10/tags/prod", json!({}))
        .await;

    let to_tag = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&to=prod")
        .await
        .expect(200);
    assert_decision(&to_tag, json!(true));
    let tag_to_tag = app
        .get("/pacticipants/Foo/latest-version/dev/can-i-deploy/to/prod")
        .await
        .expect(200);
    assert_decision(&tag_to_tag, json!(true));
    app.get("/pacticipants/Foo/latest-version/nope/can-i-deploy/to/prod")
        .await
        .expect(404);

    let branch = app
        .get("/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/prod")
        .await
        .expect(200);
    assert_decision(&branch, json!(true));
    assert_eq!(
        branch.body["matrix"][0]["consumer"]["version"]["number"],
        "1"
    );
    app.get("/pacticipants/Foo/branches/nope/latest-version/can-i-deploy/to-environment/prod")
        .await
        .expect(404);
    app.get("/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/nowhere")
        .await
        .expect(404);

    let integration = app
        .get("/matrix/provider/Bar/consumer/Foo")
        .await
        .expect(200);
    assert_eq!(integration.body["matrix"].as_array().unwrap().len(), 1);
    app.get("/matrix/provider/Nope/consumer/Foo")
        .await
        .expect(404);

    // The index's templated can-i-deploy relation works once filled in.
    let index = app.get("/").await.expect(200);
    let template =
        index.body["_links"]["pb:can-i-deploy-pacticipant-version-to-environment"]["href"]
            .as_str()
            .unwrap()
            .replace("{pacticipant}", "Foo")
            .replace("{version}", "1")
            .replace("{environment}", "prod");
    let via_index = app.get(&template).await.expect(200);
    assert_decision(&via_index, json!(true));
}

async fn can_i_deploy_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    environment(&app, "prod").await;
    app.put("/pacticipants/Foo/versions/1", json!({})).await;
    let missing = app.get("/can-i-deploy?pacticipant=Foo").await.expect(400);
    assert_eq!(
        missing.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    assert_eq!(missing.body["errors"]["version"][0], "is missing");
    assert!(
        missing.body["errors"]["environment"][0]
            .as_str()
            .unwrap()
            .contains("is missing")
    );
    let unknown = app
        .get("/can-i-deploy?pacticipant=Nope&version=1&environment=prod")
        .await
        .expect(400);
    assert_eq!(
        unknown.body["errors"]["pacticipant"][0],
        "Pacticipant Nope not found"
    );
    let no_env = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=nowhere")
        .await
        .expect(400);
    assert_eq!(
        no_env.body["errors"]["environment"][0],
        "Environment with name 'nowhere' does not exist"
    );
    let both = app
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=prod&to=prod")
        .await
        .expect(400);
    assert!(
        both.body["errors"]["environment"][0]
            .as_str()
            .unwrap()
            .contains("not both")
    );
}
