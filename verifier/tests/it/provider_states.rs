//! Provider states: the state change URL is called with the state and its params, and a
//! failing state change fails the interaction with a message saying which and why.

use accord_verifier::{InteractionStatus, Outcome, StateChange, Verifier, VerifyOptions};
use serde_json::json;

use crate::helpers::{Behaviour, orders_pact, spawn_provider, write_pact};

#[tokio::test]
async fn the_state_change_url_gets_the_state_name_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Honours).await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .state_change_url(provider.state_change_url.clone());
    Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap()
        .assert_passed();
    // Only the interaction with a state triggers a call; no teardown unless asked.
    assert_eq!(
        provider.state_calls(),
        [json!({"state": "an order exists", "params": {"id": 1}, "action": "setup"})]
    );
}

#[tokio::test]
async fn teardown_calls_follow_each_interaction_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Honours).await;
    let mut options = VerifyOptions::new("orders").pact_file(&pact);
    options.state_change = Some(StateChange {
        url: provider.state_change_url.clone(),
        teardown: true,
    });
    Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap()
        .assert_passed();
    let actions: Vec<_> = provider
        .state_calls()
        .iter()
        .map(|call| call["action"].clone())
        .collect();
    assert_eq!(actions, [json!("setup"), json!("teardown")]);
}

#[tokio::test]
async fn a_failing_state_change_fails_the_interaction_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut pact = orders_pact("web");
    pact["interactions"][0]["providerStates"] = json!([{"name": "the database is down"}]);
    let pact = write_pact(dir.path(), "web-orders.json", &pact);
    let provider = spawn_provider(Behaviour::Honours).await;
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .state_change_url(provider.state_change_url.clone());
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();

    assert_eq!(report.outcome(), Outcome::Failed);
    let interaction = &report.pacts[0].interactions[0];
    assert_eq!(interaction.status, InteractionStatus::Failed);
    let error = interaction.error.as_deref().unwrap();
    assert!(
        error.contains("provider state \"the database is down\" (setup) failed"),
        "{error}"
    );
    assert!(error.contains("500"), "{error}");
    assert!(
        error.contains("seeding failed: database is down"),
        "{error}"
    );
    assert!(report.pacts[0].interactions[1].passed());
}

#[tokio::test]
async fn an_unreachable_state_change_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Honours).await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let state_url: url::Url = format!("http://127.0.0.1:{closed_port}/state")
        .parse()
        .unwrap();
    let options = VerifyOptions::new("orders")
        .pact_file(&pact)
        .state_change_url(state_url.clone());
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();
    let error = report.pacts[0].interactions[0].error.clone().unwrap();
    assert!(error.contains(state_url.as_str()), "{error}");
    assert!(
        error.contains("cannot call the state change URL"),
        "{error}"
    );
}
