//! The report as people and programs read it: the table and the JSON, pinned by snapshots
//! (times and the provider's port redacted).

use serde_json::json;
use wiremock::MockServer;

use crate::helpers::*;

#[tokio::test]
async fn report_table_and_json() {
    let server = MockServer::start().await;
    let mut body = recorded_order();
    body["created"] = json!(1714557600);
    body["items"] = json!([]);
    serve_json(&server, "/orders/1", 200, body).await;
    serve_json(&server, "/orders/2", 404, json!({"error": "not found"})).await;
    let contract = pact(
        "web",
        vec![
            order_interaction("get order 1", "/orders/1"),
            order_interaction("get order 2", "/orders/2"),
            json!({
                "description": "cancel order 1",
                "request": {"method": "DELETE", "path": "/orders/1"},
                "response": {"status": 204}
            }),
        ],
    );
    let mut config = config_for(&server);
    config.environment = Some("production".to_string());
    let report = monitor(&[contract], config).check().await;
    let port = server.address().port().to_string();
    insta::assert_snapshot!("report_table", report.to_table().replace(&port, "PORT"));
    insta::assert_json_snapshot!("report_json", report, {
        ".startedAt" => "[time]",
        ".finishedAt" => "[time]",
        ".baseUrl" => "[base url]",
    });
}
