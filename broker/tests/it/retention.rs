//! Retention: a dry run deletes nothing and lists exactly what the real run then
//! deletes; what matters survives; only one run happens at a time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::{Backend, Resp, TestApp, backend_tests, pact, spawn_app_with};

backend_tests!(
    dry_run_lists_exactly_what_the_run_deletes_and_what_matters_survives,
    one_run_at_a_time,
    audit_entries_past_their_age_are_deleted,
    the_schedule_runs_retention_in_the_background,
    old_drift_runs_go_but_the_latest_stays,
    a_run_outlives_a_request_that_timed_out,
    a_version_deployed_after_the_plan_is_kept_with_what_verified_it,
);

/// A broker whose retention treats every version as old and keeps 2 per branch.
async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.retention.max_age = Duration::ZERO;
        config.retention.keep_latest_per_branch = 2;
    })
    .await
}

fn version_set(resp: &Resp) -> BTreeSet<String> {
    resp.body["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            format!(
                "{}/{}",
                v["pacticipant"].as_str().unwrap(),
                v["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn verify(app: &TestApp, consumer_version: &str, provider_version: &str) {
    let fetched = app
        .get(&format!(
            "/pacts/provider/api/consumer/web/version/{consumer_version}"
        ))
        .await
        .expect(200);
    let url = fetched.body["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &url,
        json!({ "success": true, "providerApplicationVersion": provider_version }),
    )
    .await
    .expect(201);
}

/// web (consumer of api) and api versions, each kept or not for one reason.
async fn seed(app: &TestApp) {
    let publish = |version: &'static str, branch: Option<&'static str>| async move {
        app.publish("web", version, "api", branch, &pact("web", "api", version))
            .await
            .expect(200);
    };
    let production = app
        .post(
            "/environments",
            json!({ "name": "production", "production": true }),
        )
        .await
        .expect(201);
    let env = production.body["uuid"].as_str().unwrap().to_string();

    publish("w1", Some("main")).await; // deleted: old on main, tag superseded
    publish("w2", Some("main")).await; // kept: the latest with tag "prod"
    publish("w3", Some("main")).await; // deleted: old on main
    publish("u1", None).await; // deleted: deployed once, undeployed since
    app.post(
        &format!("/pacticipants/web/versions/u1/deployed-versions/environment/{env}"),
        json!({}),
    )
    .await
    .expect(201);
    publish("d1", None).await; // kept: currently deployed (replaced u1)
    app.post(
        &format!("/pacticipants/web/versions/d1/deployed-versions/environment/{env}"),
        json!({}),
    )
    .await
    .expect(201);
    publish("r1", None).await; // kept: released and supported
    app.post(
        &format!("/pacticipants/web/versions/r1/released-versions/environment/{env}"),
        json!({}),
    )
    .await
    .expect(201);
    publish("f1", Some("feature")).await; // kept: head of its branch
    publish("w4", Some("main")).await; // kept: latest 2 of main
    publish("w5", Some("main")).await; // kept: latest 2 of main, latest version and pact
    for version in ["w1", "w2"] {
        app.put(
            &format!("/pacticipants/web/versions/{version}/tags/prod"),
            json!({}),
        )
        .await
        .expect(201);
    }
    verify(app, "w1", "p1").await; // deleted: verified only a deleted pact
    verify(app, "w5", "p2").await; // kept: verified a kept pact
    app.put("/pacticipants/api/versions/p3", json!({}))
        .await
        .expect(201); // kept: latest
}

const DELETED: &[&str] = &["api/p1", "web/u1", "web/w1", "web/w3"];
const KEPT: &[(&str, &str)] = &[
    ("web", "w2"),
    ("web", "d1"),
    ("web", "r1"),
    ("web", "f1"),
    ("web", "w4"),
    ("web", "w5"),
    ("api", "p2"),
    ("api", "p3"),
];

async fn dry_run_lists_exactly_what_the_run_deletes_and_what_matters_survives(backend: Backend) {
    let app = spawn(backend).await;
    seed(&app).await;

    let dry = app
        .post("/admin/retention", json!({ "dryRun": true }))
        .await
        .expect(200);
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(version_set(&dry), set(DELETED), "{:#}", dry.body);
    assert_eq!(dry.body["counts"]["versions"], 4);
    assert_eq!(dry.body["counts"]["pactPublications"], 3);
    assert_eq!(dry.body["counts"]["pactVersions"], 3);
    assert_eq!(dry.body["counts"]["verifications"], 1);
    assert_eq!(dry.body["moreRemaining"], false);
    // Nothing was deleted.
    for version in DELETED {
        let (pacticipant, number) = version.split_once('/').unwrap();
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(200);
    }
    app.get("/pacts/provider/api/consumer/web/version/w1")
        .await
        .expect(200);

    let run = app.post("/admin/retention", json!({})).await.expect(200);
    assert_eq!(run.body["dryRun"], false);
    assert_eq!(version_set(&run), version_set(&dry));
    assert_eq!(run.body["counts"], dry.body["counts"]);
    for version in DELETED {
        let (pacticipant, number) = version.split_once('/').unwrap();
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(404);
    }
    for (pacticipant, number) in KEPT {
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(200);
    }
    // What kept versions rely on is intact: the deployed version's pact, the
    // verification of the latest pact, the tag and the current deployment.
    app.get("/pacts/provider/api/consumer/web/version/d1")
        .await
        .expect(200);
    let matrix = app
        .get("/matrix?q[][pacticipant]=web&q[][version]=w5&q[][pacticipant]=api&q[][version]=p2&latestby=cvpv")
        .await
        .expect(200);
    assert_eq!(
        matrix.body["summary"]["deployable"], true,
        "{:#}",
        matrix.body
    );
    app.get("/pacticipants/web/latest-version/prod")
        .await
        .expect(200);

    // Nothing is left to delete.
    let again = app.post("/admin/retention", json!({})).await.expect(200);
    assert_eq!(again.body["counts"]["versions"], 0);
    assert_eq!(again.body["versions"], json!([]));
}

/// Holds what makes a concurrent retention run wait or give way: the advisory lock
/// on PostgreSQL (as another replica's run would), the write lock on SQLite.
enum Held {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

async fn hold_lock(app: &TestApp) -> Held {
    use sqlx::Connection;
    let url = &app.database.url;
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(accord_broker::store::ops::RETENTION_LOCK_KEY)
            .execute(&mut conn)
            .await
            .unwrap();
        Held::Postgres(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        Held::Sqlite(conn)
    }
}

async fn release(held: Held) {
    match held {
        Held::Postgres(mut conn) => {
            sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        Held::Sqlite(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        }
    }
}

async fn one_run_at_a_time(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    seed(&app).await;

    // While another run holds the lock, a run is refused with 409, not queued.
    let held = hold_lock(&app).await;
    let post = |app: Arc<TestApp>| {
        tokio::spawn(async move { app.post("/admin/retention", json!({})).await })
    };
    let (mut first, mut second) = (post(app.clone()), post(app.clone()));
    let refused_while_held = |resp: &Resp| {
        assert!(
            resp.body["error"]
                .as_str()
                .unwrap()
                .contains("already running"),
            "{}",
            resp.text
        );
    };
    // What the first phase deleted.
    let mut deleted = BTreeSet::new();
    match backend {
        // On PostgreSQL both are refused at once, before the lock is released.
        Backend::Postgres => {
            let (a, b) = tokio::join!(first, second);
            refused_while_held(&a.unwrap().expect(409));
            refused_while_held(&b.unwrap().expect(409));
            release(held).await;
        }
        // On SQLite one run takes this broker's guard and waits for the write lock,
        // so the other is refused first; the waiting one goes ahead once it is free.
        Backend::Sqlite => {
            let (which, done) = tokio::select! {
                done = &mut first => (0, done),
                done = &mut second => (1, done),
            };
            let other = if which == 0 { second } else { first };
            refused_while_held(&done.unwrap().expect(409));
            release(held).await;
            deleted.extend(version_set(&other.await.unwrap().expect(200)));
        }
    }

    // Two runs at once: whatever each answers, the versions go exactly once.
    let (a, b) = tokio::join!(post(app.clone()), post(app.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    for resp in [&a, &b] {
        match resp.status.as_u16() {
            200 => deleted.extend(version_set(resp)),
            409 => {}
            other => panic!("unexpected status {other}: {}", resp.text),
        }
    }
    let ran = [&a, &b].iter().filter(|r| r.status == 200).count();
    assert!(ran >= 1, "at least one run happened");
    let after = app
        .post("/admin/retention", json!({ "dryRun": true }))
        .await
        .expect(200);
    deleted.extend(version_set(&after));
    assert_eq!(deleted, set(DELETED));
}

async fn audit_entries_past_their_age_are_deleted(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.retention.audit_max_age = Some(Duration::ZERO);
        config.retention.drift_run_max_age = None;
    })
    .await;
    for name in ["a", "b"] {
        app.post("/pacticipants", json!({ "name": name }))
            .await
            .expect(201);
    }
    let dry = app
        .post("/admin/retention", json!({ "dryRun": true }))
        .await
        .expect(200);
    assert_eq!(dry.body["counts"]["auditEntries"], 2);
    // Young versions are kept whatever else applies.
    assert_eq!(dry.body["counts"]["versions"], 0);
    let audit = app.get("/audit").await.expect(200);
    assert_eq!(audit.body["page"]["totalElements"], 2);

    let run = app.post("/admin/retention", json!({})).await.expect(200);
    assert_eq!(run.body["counts"]["auditEntries"], 2);
    // The run itself is the one entry left.
    let audit = app.get("/audit").await.expect(200);
    assert_eq!(audit.body["page"]["totalElements"], 1);
    assert_eq!(
        audit.body["_embedded"]["entries"][0]["path"],
        "/admin/retention"
    );
}

async fn the_schedule_runs_retention_in_the_background(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.retention.audit_max_age = Some(Duration::ZERO);
        config.retention.interval = Some(Duration::from_millis(100));
    })
    .await;
    app.post("/pacticipants", json!({ "name": "a" }))
        .await
        .expect(201);
    // A scheduled run deletes the entry above and audits itself under its own name.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let runs = app.get("/audit?actor=retention-schedule").await.expect(200);
        if runs.body["page"]["totalElements"].as_i64() >= Some(1) {
            assert_eq!(
                runs.body["_embedded"]["entries"][0]["path"],
                "/admin/retention"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no scheduled retention run within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let requests = app.get("/audit?actor=anonymous").await.expect(200);
    assert_eq!(
        requests.body["page"]["totalElements"], 0,
        "{}",
        requests.text
    );
}

async fn old_drift_runs_go_but_the_latest_stays(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.retention.drift_run_max_age = Some(Duration::ZERO);
    })
    .await;
    crate::matrix::publish(&app, "web", "1", "orders").await;
    for minute in 0..3 {
        let report = json!({
            "provider": "orders",
            "baseUrl": "http://orders.internal",
            "startedAt": format!("2024-05-01T10:{minute:02}:00Z"),
            "finishedAt": format!("2024-05-01T10:{minute:02}:01Z"),
            "pacts": [],
            "probes": 1,
            "interactionsChecked": 1,
            "findings": [],
            "probeErrors": [],
            "skipped": []
        });
        app.post("/drift/provider/orders", report).await.expect(201);
    }
    let dry = app
        .post("/admin/retention", json!({ "dryRun": true }))
        .await
        .expect(200);
    assert_eq!(dry.body["counts"]["driftRuns"], 2);
    let runs = app.get("/drift/provider/orders/runs").await.expect(200);
    assert_eq!(runs.body["page"]["totalElements"], 3);

    let run = app.post("/admin/retention", json!({})).await.expect(200);
    assert_eq!(run.body["counts"]["driftRuns"], 2);
    let runs = app.get("/drift/provider/orders/runs").await.expect(200);
    assert_eq!(runs.body["page"]["totalElements"], 1);
    assert_eq!(
        runs.body["_embedded"]["runs"][0]["startedAt"], "2024-05-01T10:02:00+00:00",
        "{}",
        runs.text
    );
    app.get("/drift/provider/orders").await.expect(200);
}

/// Holds back a run's deletions, not its planning: the write lock on SQLite, a lock
/// on every version's row on PostgreSQL (reads go on, a chunk waits to lock them).
async fn hold_deletions(app: &TestApp) -> Held {
    use sqlx::Connection;
    let url = &app.database.url;
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query("SELECT id FROM versions FOR KEY SHARE")
            .execute(&mut conn)
            .await
            .unwrap();
        Held::Postgres(conn)
    } else {
        hold_lock(app).await
    }
}

/// A run whose request timed out still finishes: the versions go, and the audit
/// log records the run under its caller.
async fn a_run_outlives_a_request_that_timed_out(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.retention.max_age = Duration::ZERO;
        config.retention.keep_latest_per_branch = 2;
        config.request_timeout = Duration::from_millis(500);
    })
    .await;
    seed(&app).await;
    let held = hold_deletions(&app).await;
    let answer = app.post("/admin/retention", json!({})).await;
    assert_eq!(answer.status.as_u16(), 408, "{}", answer.text);
    for version in DELETED {
        let (pacticipant, number) = version.split_once('/').unwrap();
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(200);
    }
    match held {
        Held::Postgres(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        }
        held => release(held).await,
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for version in DELETED {
        let (pacticipant, number) = version.split_once('/').unwrap();
        let path = format!("/pacticipants/{pacticipant}/versions/{number}");
        while app.get(&path).await.status.as_u16() != 404 {
            assert!(
                std::time::Instant::now() < deadline,
                "{version} was not deleted after the request timed out"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for (pacticipant, number) in KEPT {
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(200);
    }
}

/// A run's chunks check their versions again: one deployed after the plan was made is
/// kept, and so is the provider version that verified its pact.
async fn a_version_deployed_after_the_plan_is_kept_with_what_verified_it(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    seed(&app).await;
    app.post(
        "/environments",
        json!({ "name": "staging", "production": false }),
    )
    .await
    .expect(201);
    let held = hold_deletions(&app).await;
    let run = {
        let app = app.clone();
        tokio::spawn(async move { app.post("/admin/retention", json!({})).await })
    };
    // The plan only reads, so it is made while the deletions wait for the lock.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deploy = "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, \
         environment_id, created_at) VALUES ('deployed-after-the-plan', \
         (SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id \
             WHERE p.name = 'web' AND v.number = 'w1'), \
         (SELECT id FROM pacticipants WHERE name = 'web'), \
         (SELECT id FROM environments WHERE name = 'staging'), $1)";
    let now = chrono::Utc::now();
    match held {
        Held::Postgres(mut conn) => {
            sqlx::query(deploy)
                .bind(now)
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
        }
        Held::Sqlite(mut conn) => {
            sqlx::query(deploy)
                .bind(now)
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
        }
    }
    let run = run.await.unwrap().expect(200);
    assert_eq!(
        version_set(&run),
        set(&["web/u1", "web/w3"]),
        "{}",
        run.text
    );
    for version in ["web/w1", "api/p1"] {
        let (pacticipant, number) = version.split_once('/').unwrap();
        app.get(&format!("/pacticipants/{pacticipant}/versions/{number}"))
            .await
            .expect(200);
    }
}
