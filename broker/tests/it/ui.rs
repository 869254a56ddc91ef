//! The web UI: pages answer HTML with the data they promise, escape what clients
//! sent, and `GET /` negotiates between the home page and the HAL index. The last
//! test drives a real headless Chromium against the main pages.

use std::path::Path;

use serde_json::json;

use crate::matrix::{deploy, environment, publish, verify};
use crate::{Backend, TestApp, backend_tests, pact, spawn_app};

backend_tests!(
    home_page_shows_pacticipants_pacts_and_verification_status,
    index_negotiates_between_html_and_hal,
    home_page_is_paged,
    each_page_shows_latest_pacts_and_consumers_of_its_own_pacticipants,
    user_data_is_escaped_everywhere,
    pact_is_rendered_as_documentation,
    matrix_and_can_i_deploy_pages,
    environments_page_shows_what_is_deployed_where,
    network_page_draws_who_depends_on_whom,
    drift_page_shows_latest_runs_and_open_findings,
);

/// What a browser gets for a page.
struct Page {
    status: u16,
    content_type: String,
    text: String,
}

/// Fetches a page as a browser would, with its `Accept` header.
async fn browse(app: &TestApp, path: &str) -> Page {
    let response = app
        .client
        .get(format!("{}{}", app.base, path))
        .header(
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.unwrap();
    Page {
        status,
        content_type,
        text,
    }
}

/// Fetches a page and asserts it is a 200 HTML document.
async fn html(app: &TestApp, path: &str) -> String {
    let page = browse(app, path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.text);
    assert!(
        page.content_type.starts_with("text/html"),
        "GET {path} answered {}",
        page.content_type
    );
    assert!(page.text.starts_with("<!DOCTYPE html>"));
    page.text
}

/// Web depends on Orders (verified) and Stock (never verified); Orders depends on
/// Stock (verification failed).
async fn seed(app: &TestApp) {
    publish(app, "Web", "1.0.0", "Orders").await;
    publish(app, "Web", "1.0.0", "Stock").await;
    publish(app, "Orders", "7", "Stock").await;
    verify(app, "Orders", "Web", "1.0.0", "7", true).await;
    verify(app, "Stock", "Orders", "7", "3", false).await;
}

async fn home_page_shows_pacticipants_pacts_and_verification_status(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let text = html(&app, "/").await;
    for name in ["Web", "Orders", "Stock", "1.0.0"] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    // Web's pacts: Orders verified, Stock never; Orders' pact with Stock failed.
    let web_row = text.split("<tr class=\"pacticipant\">").nth(3).unwrap();
    assert!(web_row.contains("Web"), "{web_row}");
    assert!(web_row.contains("data-status=\"success\""), "{web_row}");
    assert!(web_row.contains("data-status=\"never\""), "{web_row}");
    let orders_row = text.split("<tr class=\"pacticipant\">").nth(1).unwrap();
    assert!(
        orders_row.contains("data-status=\"failure\""),
        "{orders_row}"
    );
    assert!(text.contains("/ui/pacts/provider/Orders/consumer/Web/version/1.0.0"));
    // `/ui` is the same page, whatever the client accepts.
    let ui = html(&app, "/ui").await;
    assert!(ui.contains("data-status=\"failure\""));
}

async fn index_negotiates_between_html_and_hal(backend: Backend) {
    let app = spawn_app(backend).await;
    let hal = app.get("/").await.expect(200);
    assert!(hal.header("content-type").unwrap().contains("hal+json"));
    assert!(hal.body["_links"]["pb:pacticipants"]["href"].is_string());
    for accept in ["*/*", "application/json", "text/html, application/hal+json"] {
        let response = app
            .client
            .get(format!("{}/", app.base))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.contains("json"), "{accept}: {content_type}");
    }
    let page = browse(&app, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("<h1>Pacticipants</h1>"));
}

async fn home_page_is_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    for name in ["Alpha", "Bravo", "Charlie"] {
        app.post("/pacticipants", json!({ "name": name }))
            .await
            .expect(201);
    }
    let first = html(&app, "/?size=2").await;
    assert!(first.contains("Alpha") && first.contains("Bravo"));
    assert!(!first.contains("Charlie"));
    assert!(first.contains("Page 1 of 2 (3 in all)"));
    assert!(first.contains("page=2&amp;size=2"));
    let second = html(&app, "/?page=2&size=2").await;
    assert!(second.contains("Charlie") && !second.contains("Alpha"));
    assert!(second.contains("rel=\"prev\""));
    assert!(!second.contains("rel=\"next\""));
    // Beyond the last page: an empty table, not an error.
    let beyond = html(&app, "/ui?page=9&size=2").await;
    assert!(!beyond.contains("Alpha"));
    for bad in ["/?size=0", "/?size=100000", "/?page=x"] {
        let page = browse(&app, bad).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.content_type.starts_with("text/html"));
        assert!(
            page.text.contains("must be a whole number"),
            "{}",
            page.text
        );
    }
}

async fn each_page_shows_latest_pacts_and_consumers_of_its_own_pacticipants(backend: Backend) {
    let app = spawn_app(backend).await;
    // In name order: Mobile, Orders, Web.
    publish(&app, "Web", "1.0.0", "Orders").await;
    verify(&app, "Orders", "Web", "1.0.0", "7", true).await;
    publish(&app, "Web", "2.0.0", "Orders").await;
    publish(&app, "Mobile", "5", "Orders").await;
    verify(&app, "Orders", "Mobile", "5", "7", false).await;
    // One pacticipant a page, so each page's queries must pick their own rows.
    let web = html(&app, "/ui?page=3&size=1").await;
    let row = web.split("<tr class=\"pacticipant\">").nth(1).unwrap();
    assert!(row.contains(">Web<"), "{row}");
    // The latest pact only: 2.0.0's content, which nobody verified yet.
    assert_eq!(row.matches("<li class=\"pact\">").count(), 1, "{row}");
    assert!(row.contains("/consumer/Web/version/2.0.0"), "{row}");
    assert!(row.contains("data-status=\"never\""), "{row}");
    assert!(!row.contains("1.0.0"), "{row}");
    assert!(web.contains("Page 3 of 3 (3 in all)"));
    let orders = html(&app, "/ui?page=2&size=1").await;
    let row = orders.split("<tr class=\"pacticipant\">").nth(1).unwrap();
    assert!(row.contains(">Orders<"), "{row}");
    // Orders consumes nothing; its consumers, by name, link to their latest pacts.
    let consumers = row.rsplit("<td>").next().unwrap();
    assert!(
        consumers.find("consumer/Mobile/latest").unwrap()
            < consumers.find("consumer/Web/latest").unwrap(),
        "{consumers}"
    );
    assert!(!row.contains("<li class=\"pact\">"), "{row}");
    let mobile = html(&app, "/ui?page=1&size=1").await;
    let row = mobile.split("<tr class=\"pacticipant\">").nth(1).unwrap();
    assert!(
        row.contains(">Mobile<") && row.contains("data-status=\"failure\""),
        "{row}"
    );
    assert!(row.contains("<td>5</td>"), "latest version missing: {row}");
}

async fn user_data_is_escaped_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let evil = "<script>alert(1)</script>";
    let mut content = pact(evil, "Orders", "x");
    content["interactions"][0]["description"] = json!("<img src=x onerror=alert(2)>");
    app.publish(evil, "<b>1</b>", "Orders", None, &content)
        .await
        .expect(200);
    let encoded = "%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
    for path in [
        "/".to_string(),
        "/ui/network".to_string(),
        format!("/ui/matrix?pacticipant={encoded}"),
        format!("/ui/pacts/provider/Orders/consumer/{encoded}/latest"),
        format!("/ui/can-i-deploy?pacticipant={encoded}&version=%3Cb%3E1%3C%2Fb%3E&environment=x"),
    ] {
        let page = browse(&app, &path).await;
        assert!(!page.text.contains("<script>"), "{path}: {}", page.text);
        assert!(!page.text.contains("<b>1</b>"), "{path}");
        assert!(!page.text.contains("<img"), "{path}");
        assert!(
            page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            page.text
        );
    }
    let doc = html(
        &app,
        &format!("/ui/pacts/provider/Orders/consumer/{encoded}/latest"),
    )
    .await;
    assert!(doc.contains("&lt;img src=x onerror=alert(2)&gt;"));
}

async fn pact_is_rendered_as_documentation(backend: Backend) {
    let app = spawn_app(backend).await;
    let content = json!({
        "consumer": { "name": "Web" },
        "provider": { "name": "Orders" },
        "interactions": [{
            "description": "a request for order 42",
            "providerStates": [{ "name": "order 42 exists", "params": { "id": 42 } }],
            "request": { "method": "GET", "path": "/orders/42", "headers": { "Accept": "application/json" } },
            "response": {
                "status": 200,
                "headers": { "Content-Type": "application/json" },
                "body": { "id": 42, "total": 9.5 },
                "matchingRules": { "body": { "$.total": { "matchers": [{ "match": "decimal" }], "combine": "AND" } } }
            }
        }],
        "metadata": { "pactSpecification": { "version": "3.0.0" } }
    });
    app.publish("Web", "2", "Orders", None, &content)
        .await
        .expect(200);
    for path in [
        "/ui/pacts/provider/Orders/consumer/Web/version/2",
        "/ui/pacts/provider/Orders/consumer/Web/latest",
    ] {
        let text = html(&app, path).await;
        for expected in [
            "A pact between Web and Orders",
            "a request for order 42",
            "order 42 exists",
            "GET /orders/42",
            "status 200",
            "&quot;total&quot;: 9.5",
            "body $.total",
            "decimal",
            "never verified",
            "/pacts/provider/Orders/consumer/Web/version/2",
        ] {
            assert!(
                text.contains(expected),
                "{path}: {expected} missing from {text}"
            );
        }
    }
    verify(&app, "Orders", "Web", "2", "5", true).await;
    let text = html(&app, "/ui/pacts/provider/Orders/consumer/Web/latest").await;
    assert!(text.contains("data-status=\"success\""));
    assert!(text.contains("by Orders version 5"));
    for missing in [
        "/ui/pacts/provider/Orders/consumer/Web/version/3",
        "/ui/pacts/provider/Orders/consumer/Nobody/latest",
        "/ui/pacts/provider/Web/consumer/Orders/latest",
    ] {
        let page = browse(&app, missing).await;
        assert_eq!(page.status, 404, "{missing}");
        assert!(page.content_type.starts_with("text/html"));
    }
}

async fn matrix_and_can_i_deploy_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let production = environment(&app, "production").await;

    let form = html(&app, "/ui/matrix").await;
    assert!(form.contains("name=\"pacticipant\""));
    let matrix = html(&app, "/ui/matrix?pacticipant=Web").await;
    assert!(matrix.contains("id=\"matrix\""));
    assert!(matrix.contains("Orders") && matrix.contains("Stock"));
    assert!(
        matrix.contains("1 verified, 0 failed, 1 not verified"),
        "{matrix}"
    );
    let filtered = html(&app, "/ui/matrix?pacticipant=Orders&version=7").await;
    assert!(filtered.contains("data-status=\"failure\""));
    let page = browse(&app, "/ui/matrix?pacticipant=Nobody").await;
    assert_eq!(page.status, 400);
    assert!(
        page.text.contains("Pacticipant Nobody not found"),
        "{}",
        page.text
    );
    let page = browse(&app, "/ui/matrix?pacticipant=Web&branch=main").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("No rows") || page.text.contains("errors"),
        "{}",
        page.text
    );

    let form = html(&app, "/ui/can-i-deploy").await;
    assert!(form.contains("<option value=\"production\">production</option>"));
    // Orders is in production at version 7, which verified Web 1.0.0; no Stock is
    // there, so the answer for Web 1.0.0 is unknown.
    deploy(&app, "Orders", "7", &production, None).await;
    let unknown = html(
        &app,
        "/ui/can-i-deploy?pacticipant=Web&version=1.0.0&environment=production",
    )
    .await;
    assert!(unknown.contains("data-deployable=\"unknown\""), "{unknown}");
    assert!(unknown.contains("<option value=\"production\" selected>"));
    assert!(
        unknown.contains("no version of Stock is currently deployed"),
        "{unknown}"
    );
    // Stock 3 failed to verify Orders 7's pact: a definite no, for the reasons the
    // API gives, line for line.
    deploy(&app, "Stock", "3", &production, None).await;
    let no = html(
        &app,
        "/ui/can-i-deploy?pacticipant=Orders&version=7&environment=production",
    )
    .await;
    assert!(no.contains("data-deployable=\"false\""), "{no}");
    assert!(no.contains("id=\"reasons\"><li"), "{no}");
    let response = app
        .get("/can-i-deploy?pacticipant=Orders&version=7&environment=production")
        .await
        .expect(200);
    assert_eq!(response.body["summary"]["deployable"], json!(false));
    for line in response.body["summary"]["reason"].as_str().unwrap().lines() {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(no.contains(&escaped), "{line} missing from {no}");
    }
    publish(&app, "Web", "1.1.0", "Orders").await;
    verify(&app, "Orders", "Web", "1.1.0", "7", true).await;
    let yes = html(
        &app,
        "/ui/can-i-deploy?pacticipant=Web&version=1.1.0&environment=production",
    )
    .await;
    assert!(yes.contains("data-deployable=\"true\""), "{yes}");
    let page = browse(
        &app,
        "/ui/can-i-deploy?pacticipant=Web&environment=production",
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("version is missing"));
    let page = browse(
        &app,
        "/ui/can-i-deploy?pacticipant=Web&version=1&environment=mars",
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(
        page.text
            .contains("Environment with name &#39;mars&#39; does not exist"),
        "{}",
        page.text
    );
}

async fn environments_page_shows_what_is_deployed_where(backend: Backend) {
    let app = spawn_app(backend).await;
    let empty = html(&app, "/ui/environments").await;
    assert!(empty.contains("No environments yet"));
    seed(&app).await;
    let test = environment(&app, "test").await;
    environment(&app, "staging").await;
    deploy(&app, "Orders", "7", &test, Some("blue")).await;
    app.post(
        &format!("/pacticipants/Stock/versions/3/released-versions/environment/{test}"),
        json!({}),
    )
    .await
    .expect(201);
    let text = html(&app, "/ui/environments").await;
    let test_section = text
        .split("<section class=\"environment\">")
        .find(|s| s.contains("<h2>Test"))
        .unwrap_or_else(|| panic!("no test section in {text}"));
    assert!(test_section.contains("Orders") && test_section.contains(">7<"));
    assert!(test_section.contains("deployed (instance blue)"));
    assert!(test_section.contains("Stock") && test_section.contains("released"));
    assert!(test_section.contains(&format!("/environments/{test}")));
    assert!(text.contains("Nothing deployed or released"));
}

async fn network_page_draws_who_depends_on_whom(backend: Backend) {
    let app = spawn_app(backend).await;
    let empty = html(&app, "/ui/network").await;
    assert!(empty.contains("No pacts yet"));
    seed(&app).await;
    let text = html(&app, "/ui/network").await;
    assert!(text.contains("<svg"));
    assert_eq!(text.matches("<rect").count(), 3);
    assert_eq!(text.matches("class=\"edge\"").count(), 3);
    for edge in [
        "Web depends on Orders",
        "Web depends on Stock",
        "Orders depends on Stock",
    ] {
        assert!(text.contains(edge), "{edge}");
    }
    assert!(text.contains("/ui/pacts/provider/Stock/consumer/Orders/latest"));
    // Focused on Web: its two integrations, not Orders' with Stock.
    let focused = html(&app, "/ui/network?pacticipant=Web").await;
    assert!(focused.contains("Network of Web"), "{focused}");
    assert_eq!(focused.matches("class=\"edge\"").count(), 2);
    assert!(!focused.contains("Orders depends on Stock"));
    assert_eq!(
        browse(&app, "/ui/network?pacticipant=Nobody").await.status,
        404
    );
}

async fn drift_page_shows_latest_runs_and_open_findings(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let none = html(&app, "/ui/drift").await;
    assert!(none.contains("has not reported on any provider yet"));
    environment(&app, "production").await;
    let report = json!({
        "provider": "Orders",
        "environment": "production",
        "baseUrl": "http://orders.internal",
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": "2024-05-01T10:00:01Z",
        "pacts": [{"consumer": "Web", "provider": "Orders", "origin": "http://broker/pacts/1", "contentHash": "abc"}],
        "probes": 1,
        "interactionsChecked": 1,
        "findings": [{
            "consumers": ["Web"],
            "interaction": "a request for Web-1.0.0",
            "request": "GET /things/Web-1.0.0",
            "pointer": "/name",
            "class": "type",
            "expected": "a string",
            "actual": "<script>alert(3)</script>",
            "occurrences": 2
        }],
        "probeErrors": [],
        "skipped": []
    });
    app.post("/drift/provider/Orders", report).await.expect(201);
    for path in ["/ui/drift", "/ui/drift?provider=Orders"] {
        let text = html(&app, path).await;
        assert!(text.contains("<h2>Orders</h2>"), "{text}");
        assert!(text.contains("http://orders.internal"));
        assert!(text.contains("class=\"finding\""));
        assert!(text.contains("<code>/name</code>"));
        assert!(text.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
        assert!(!text.contains("<script>"));
        assert!(text.contains("2 times since"));
        assert!(text.contains("/drift/provider/Orders"));
    }
    // Stock has no runs, so asking for it shows nothing; a stranger is not found.
    let stock = html(&app, "/ui/drift?provider=Stock").await;
    assert!(stock.contains("has not reported"));
    assert_eq!(browse(&app, "/ui/drift?provider=Nobody").await.status, 404);
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs headless Chromium with `args` and the flags that keep it offline and quiet.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let profile = format!("--user-data-dir={}", profile.display());
    std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            profile.as_str(),
        ])
        .args(args)
        .output()
        .expect("chromium runs")
}

/// The DOM of a page after Chromium loaded and rendered it.
async fn dump_dom(url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        let output = chromium(profile.path(), &["--dump-dom", &url]);
        assert!(
            output.status.success(),
            "chromium failed on {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_pages_render_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED: main_pages_render_in_headless_chromium needs {CHROMIUM}; install chromium (apt-get install -y chromium) to run it"
        );
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    seed(&app).await;
    let production = environment(&app, "production").await;
    deploy(&app, "Orders", "7", &production, None).await;

    let home = dump_dom(format!("{}/", app.base)).await;
    assert!(home.contains("<h1>Pacticipants</h1>"), "{home}");
    for name in ["Web", "Orders", "Stock"] {
        assert!(home.contains(name), "{name} missing from {home}");
    }
    assert!(home.contains("data-status=\"success\""));
    assert!(home.contains("data-status=\"failure\""));

    let network = dump_dom(format!("{}/ui/network", app.base)).await;
    assert!(network.contains("<svg"), "{network}");
    assert!(network.contains("Orders depends on Stock"));

    let pact = dump_dom(format!(
        "{}/ui/pacts/provider/Orders/consumer/Web/latest",
        app.base
    ))
    .await;
    assert!(pact.contains("a request for Web-1.0.0"), "{pact}");

    let answer = dump_dom(format!(
        "{}/ui/can-i-deploy?pacticipant=Web&version=1.0.0&environment=production",
        app.base
    ))
    .await;
    assert!(answer.contains("data-deployable=\"unknown\""), "{answer}");
    assert!(answer.contains("no version of Stock is currently deployed"));

    let environments = dump_dom(format!("{}/ui/environments", app.base)).await;
    assert!(environments.contains("Production") && environments.contains("Orders"));

    let url = format!("{}/", app.base);
    let png = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index.png");
        let screenshot = format!("--screenshot={}", file.display());
        let output = chromium(
            &dir.path().join("profile"),
            &[&screenshot, "--window-size=1280,900", &url],
        );
        assert!(
            output.status.success(),
            "chromium screenshot failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(&file).unwrap()
    })
    .await
    .unwrap();
    assert!(png.len() > 1000, "screenshot is {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}
