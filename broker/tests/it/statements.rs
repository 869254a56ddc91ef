//! A list costs a fixed number of SQL statements whatever its length: each endpoint is
//! asked with a short history and with one ten times as long, and must run as many
//! statements both times (counted by request id, see [`crate::telemetry`]).

use serde_json::json;

use crate::telemetry::telemetry;
use crate::{Backend, TestApp, backend_tests, pact, spawn_app};

backend_tests!(list_endpoints_read_in_a_fixed_number_of_statements);

/// The list endpoints, each naming what grows with the history.
const LISTS: [&str; 12] = [
    "/pacticipants/web/versions",
    "/pacticipants/web/versions?page=1&size=100",
    "/pacticipants/web/branches/main/versions",
    "/pacticipants/web/tags/prod/versions",
    "/pacts/provider/orders/consumer/web/versions",
    "/pacticipants",
    "/environments",
    "/pacticipants/web/branches",
    "/pacts/provider/orders",
    "/pacts/provider/orders/latest",
    "/pacts/latest",
    "/matrix?q[][pacticipant]=web&q[][pacticipant]=orders",
];

/// Versions `from..to` of web, each publishing to orders on main, tagged `prod`,
/// verified, and the last one deployed; plus a pacticipant and an environment each.
async fn grow(app: &TestApp, from: usize, to: usize) {
    for n in from..to {
        let version = format!("1.0.{n}");
        app.publish(
            "web",
            &version,
            "orders",
            Some("main"),
            &pact("web", "orders", &format!("v{n}")),
        )
        .await
        .expect(200);
        app.put(
            &format!("/pacticipants/web/versions/{version}/tags/prod"),
            json!({}),
        )
        .await
        .expect(201);
        let fetched = app
            .get(&format!(
                "/pacts/provider/orders/consumer/web/version/{version}"
            ))
            .await
            .expect(200);
        let results = fetched.body["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .unwrap()
            .to_string();
        app.post(
            &results,
            json!({ "success": true, "providerApplicationVersion": format!("2.0.{n}") }),
        )
        .await
        .expect(201);
        app.put(
            &format!("/pacticipants/other-{n}"),
            json!({ "name": format!("other-{n}") }),
        )
        .await;
        app.post(
            "/environments",
            json!({ "name": format!("env-{n}"), "production": false }),
        )
        .await
        .expect(201);
    }
    let environments = app.get("/environments").await.expect(200);
    let uuid = environments.body["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!(
            "/pacticipants/web/versions/1.0.{}/deployed-versions/environment/{uuid}",
            to - 1
        ),
        json!({}),
    )
    .await
    .expect(201);
}

/// The statements each list ran. Each is asked twice and the second answer counts: the
/// first may also fill the store's cache of pacticipant names.
async fn count(app: &TestApp, round: &str) -> Vec<Vec<String>> {
    let mut counts = Vec::new();
    for (index, path) in LISTS.iter().chain(LISTS.iter()).enumerate() {
        let id = format!("statements-{round}-{index}-{}", crate::uuid_like());
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let _ = response.bytes().await;
        counts.push(telemetry().statements(&id));
    }
    counts.split_off(LISTS.len())
}

async fn list_endpoints_read_in_a_fixed_number_of_statements(backend: Backend) {
    telemetry();
    let app = spawn_app(backend).await;
    grow(&app, 0, 3).await;
    let short = count(&app, "short").await;
    grow(&app, 3, 30).await;
    let long = count(&app, "long").await;
    for (index, path) in LISTS.iter().enumerate() {
        assert!(!short[index].is_empty(), "{path}: no statement was counted");
        assert_eq!(
            long[index].len(),
            short[index].len(),
            "{path}: {} statements for 3 versions, {} for 30:\n{:#?}",
            short[index].len(),
            long[index].len(),
            long[index]
        );
    }
}
