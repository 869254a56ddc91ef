//! The JUnit and JSON reports CI systems read.

use accord_verifier::{Verifier, VerifyOptions};
use serde_json::json;

use crate::helpers::{Behaviour, orders_pact, spawn_provider, write_pact};

async fn failing_report() -> accord_verifier::VerificationReport {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Breaks).await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .state_change_url(provider.state_change_url.clone());
    Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn junit_has_a_suite_per_pact_and_a_case_per_interaction() {
    let xml = failing_report().await.to_junit_xml();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuites name=\"accord verify orders\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<testsuite name=\"web -&gt; orders\" tests=\"2\" failures=\"1\" skipped=\"0\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"a request for order 1 (given an order exists)\""),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"body $: Actual map is missing the following keys: status (and 1 more mismatch(es))\""), "{xml}");
    assert!(
        xml.contains("body $.id: expected 1, actual &quot;1&quot;"),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"a request for a missing order\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("</testsuite>").count(), 1);
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

#[tokio::test]
async fn json_has_the_outcome_counts_and_mismatches() {
    let json = failing_report().await.to_json();
    assert_eq!(json["outcome"], json!("failed"));
    assert_eq!(
        json["counts"],
        json!({"pacts": 1, "interactions": 2, "passed": 1, "failed": 1, "pendingFailed": 0})
    );
    assert_eq!(json["provider"], json!("orders"));
    let interaction = &json["pacts"][0]["interactions"][0];
    assert_eq!(interaction["status"], json!("failed"));
    assert_eq!(interaction["providerStates"], json!(["an order exists"]));
    assert!(interaction["durationMs"].is_u64());
    let mismatch = interaction["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == json!("$.id"))
        .unwrap();
    assert_eq!(mismatch["kind"], json!("body"));
    assert_eq!(mismatch["expected"], json!("1"));
    assert_eq!(mismatch["actual"], json!("\"1\""));
    assert_eq!(
        json["pacts"][0]["publication"],
        json!({"status": "notRequested"})
    );
}
