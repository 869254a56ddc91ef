//! Verifying real providers: one that honours the contract, one with a breaking change.

use accord_verifier::{
    InteractionFilter, InteractionStatus, Outcome, Verifier, VerifyOptions, exit_code,
};

use crate::helpers::{Behaviour, orders_pact, spawn_provider, write_pact};

fn options_for(pact: &std::path::Path, provider: &crate::helpers::TestProvider) -> VerifyOptions {
    let mut options = VerifyOptions::new("orders").pact_file(pact);
    options = options.state_change_url(provider.state_change_url.clone());
    options
}

#[tokio::test]
async fn a_provider_that_honours_the_contract_passes() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Honours).await;

    let report = Verifier::new(options_for(&pact, &provider))
        .verify_against(provider.url.clone())
        .await
        .unwrap();

    assert_eq!(report.outcome(), Outcome::Passed, "{}", report.summary());
    assert_eq!(report.outcome().exit_code(), exit_code::PASSED);
    assert_eq!(report.pacts.len(), 1);
    let interactions = &report.pacts[0].interactions;
    assert_eq!(interactions.len(), 2);
    assert!(
        interactions
            .iter()
            .all(|i| i.status == InteractionStatus::Passed)
    );
    assert_eq!(interactions[0].provider_states, ["an order exists"]);
    report.assert_passed();
}

#[tokio::test]
async fn a_breaking_change_fails_with_each_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Breaks).await;

    let report = Verifier::new(options_for(&pact, &provider))
        .verify_against(provider.url.clone())
        .await
        .unwrap();

    assert_eq!(report.outcome(), Outcome::Failed);
    assert_eq!(report.outcome().exit_code(), exit_code::FAILED);
    let failed = &report.pacts[0].interactions[0];
    assert_eq!(failed.status, InteractionStatus::Failed);
    let id = failed
        .mismatches
        .iter()
        .find(|m| m.path == "$.id")
        .expect("a mismatch at $.id");
    assert_eq!(id.kind, "body");
    assert_eq!(id.expected, "1");
    assert_eq!(id.actual, "\"1\"");
    assert!(
        failed
            .mismatches
            .iter()
            .any(|m| m.path == "$.status" || m.description.contains("status")),
        "{:?}",
        failed.mismatches
    );
    // The interaction without a breaking change still passes.
    assert!(report.pacts[0].interactions[1].passed());
    let summary = report.summary();
    assert!(summary.contains("FAILED"), "{summary}");
    assert!(
        summary.contains("body $.id: expected 1, actual \"1\""),
        "{summary}"
    );
    assert!(summary.contains("Verification FAILED."), "{summary}");
}

#[tokio::test]
#[should_panic(expected = "provider verification failed")]
async fn assert_passed_panics_with_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Breaks).await;
    Verifier::new(options_for(&pact, &provider))
        .verify_against(provider.url.clone())
        .await
        .unwrap()
        .assert_passed();
}

#[tokio::test]
async fn custom_headers_go_with_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let provider = spawn_provider(Behaviour::Honours).await;
    let options = options_for(&pact, &provider).header("x-api-key", "k-123");
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(
        provider.seen_api_keys(),
        [Some("k-123".to_string()), Some("k-123".to_string())]
    );
}

#[tokio::test]
async fn several_pacts_verify_in_parallel_and_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    for consumer in ["app", "batch", "web"] {
        write_pact(
            dir.path(),
            &format!("{consumer}-orders.json"),
            &orders_pact(consumer),
        );
    }
    // A pact for another provider in the same folder is left out.
    let mut other = orders_pact("web");
    other["provider"]["name"] = "billing".into();
    write_pact(dir.path(), "web-billing.json", &other);
    let provider = spawn_provider(Behaviour::Honours).await;

    let mut options = VerifyOptions::new("orders")
        .pact_dir(dir.path())
        .state_change_url(provider.state_change_url.clone());
    options.parallel = 3;
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();

    report.assert_passed();
    let consumers: Vec<_> = report.pacts.iter().map(|p| p.consumer.as_str()).collect();
    assert_eq!(consumers, ["app", "batch", "web"]);
}

#[tokio::test]
async fn filters_select_consumers_descriptions_and_states() {
    let dir = tempfile::tempdir().unwrap();
    write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    write_pact(dir.path(), "app-orders.json", &orders_pact("app"));
    let provider = spawn_provider(Behaviour::Honours).await;
    let run = |filter: InteractionFilter| {
        let mut options = VerifyOptions::new("orders")
            .pact_dir(dir.path())
            .state_change_url(provider.state_change_url.clone());
        options.filter = filter;
        let url = provider.url.clone();
        async move { Verifier::new(options).verify_against(url).await.unwrap() }
    };

    let report = run(InteractionFilter {
        consumers: vec!["web".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(report.pacts.len(), 1);
    assert_eq!(report.pacts[0].consumer, "web");

    let report = run(InteractionFilter {
        description: Some("missing".into()),
        ..Default::default()
    })
    .await;
    let descriptions: Vec<_> = report
        .pacts
        .iter()
        .flat_map(|p| &p.interactions)
        .map(|i| i.description.as_str())
        .collect();
    assert_eq!(
        descriptions,
        [
            "a request for a missing order",
            "a request for a missing order"
        ]
    );

    let report = run(InteractionFilter {
        state: Some("order exists".into()),
        ..Default::default()
    })
    .await;
    assert!(
        report
            .pacts
            .iter()
            .flat_map(|p| &p.interactions)
            .all(|i| i.description == "a request for order 1")
    );

    let report = run(InteractionFilter {
        no_state: true,
        ..Default::default()
    })
    .await;
    assert!(
        report
            .pacts
            .iter()
            .flat_map(|p| &p.interactions)
            .all(|i| i.provider_states.is_empty())
    );
}
