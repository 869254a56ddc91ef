//! Pacts that cannot be loaded and options that cannot work: clear errors, distinct exit codes.

use accord_verifier::{InteractionFilter, Verifier, VerifyError, VerifyOptions, exit_code};
use url::Url;

use crate::helpers::{orders_pact, write_pact};

fn nowhere() -> Url {
    // Never contacted: these runs stop before reaching the provider.
    "http://127.0.0.1:9".parse().unwrap()
}

async fn run(options: VerifyOptions, url: Url) -> VerifyError {
    Verifier::new(options)
        .verify_against(url)
        .await
        .unwrap_err()
}

/// A provider that answers, so that runs get as far as loading pacts.
async fn answering_provider() -> wiremock::MockServer {
    wiremock::MockServer::start().await
}

#[tokio::test]
async fn a_pact_that_is_not_json_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\n  \"consumer\": {\"name\": \"web\"},\n  oops\n}").unwrap();
    let provider = answering_provider().await;
    let error = run(
        VerifyOptions::new("orders").pact_file(&path),
        provider.uri().parse().unwrap(),
    )
    .await;
    assert_eq!(error.exit_code(), exit_code::USAGE);
    let message = error.to_string();
    assert!(message.contains("broken.json"), "{message}");
    assert!(message.contains("line 3"), "{message}");
}

#[tokio::test]
async fn a_pact_with_a_bad_shape_names_the_json_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let mut pact = orders_pact("web");
    pact["interactions"][1]["description"] = 7.into();
    let path = write_pact(dir.path(), "bad.json", &pact);
    let provider = answering_provider().await;
    let error = run(
        VerifyOptions::new("orders").pact_file(&path),
        provider.uri().parse().unwrap(),
    )
    .await;
    assert_eq!(error.exit_code(), exit_code::USAGE);
    assert!(
        error.to_string().contains("/interactions/1/description"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_file_or_folder_is_named() {
    let provider = answering_provider().await;
    let url: Url = provider.uri().parse().unwrap();
    let error = run(
        VerifyOptions::new("orders").pact_file("/nonexistent/p.json"),
        url.clone(),
    )
    .await;
    assert_eq!(error.exit_code(), exit_code::USAGE);
    assert!(error.to_string().contains("/nonexistent/p.json"), "{error}");
    let error = run(
        VerifyOptions::new("orders").pact_dir("/nonexistent/pacts"),
        url,
    )
    .await;
    assert_eq!(error.exit_code(), exit_code::PACT);
    assert!(error.to_string().contains("/nonexistent/pacts"), "{error}");
}

#[tokio::test]
async fn no_pacts_is_an_error_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let provider = answering_provider().await;
    let url: Url = provider.uri().parse().unwrap();
    let error = run(
        VerifyOptions::new("orders").pact_dir(dir.path()),
        url.clone(),
    )
    .await;
    assert!(matches!(error, VerifyError::NoPacts { .. }), "{error:?}");
    assert_eq!(error.exit_code(), exit_code::PACT);
    assert!(
        error.to_string().contains("--ignore-no-pacts-error"),
        "{error}"
    );

    let mut options = VerifyOptions::new("orders").pact_dir(dir.path());
    options.ignore_no_pacts = true;
    let report = Verifier::new(options).verify_against(url).await.unwrap();
    assert!(report.pacts.is_empty());
    report.assert_passed();
}

#[tokio::test]
async fn options_that_cannot_work_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path(), "web-orders.json", &orders_pact("web"));
    let broker_url: Url = "http://127.0.0.1:9".parse().unwrap();
    let broker =
        accord_verifier::BrokerSource::new(accord_verifier::BrokerClientConfig::new(broker_url));

    let cases: Vec<(VerifyOptions, &str)> = vec![
        (VerifyOptions::new("orders"), "no pacts to verify"),
        (
            VerifyOptions::new(" ").pact_file(&pact),
            "provider name is empty",
        ),
        (
            {
                let mut options = VerifyOptions::new("orders").broker(broker.clone());
                options.publish = true;
                options
            },
            "--provider-version",
        ),
        (
            VerifyOptions::new("orders")
                .pact_file(&pact)
                .publish_as("1.0.0", None),
            "needs pacts from a broker",
        ),
        (
            {
                let mut options = VerifyOptions::new("orders")
                    .broker(broker.clone())
                    .publish_as("1", None);
                options.filter = InteractionFilter {
                    description: Some("x".into()),
                    ..Default::default()
                };
                options
            },
            "cannot be combined with --filter-description",
        ),
        (
            {
                let mut options = VerifyOptions::new("orders").pact_file(&pact);
                options.filter.state = Some("(".into());
                options
            },
            "--filter-state \"(\" is not a valid regular expression",
        ),
        (
            VerifyOptions::new("orders")
                .pact_file(&pact)
                .header("bad header", "v"),
            "cannot be sent",
        ),
    ];
    for (options, expected) in cases {
        let error = run(options, nowhere()).await;
        assert_eq!(error.exit_code(), exit_code::USAGE, "{error}");
        assert!(
            error.to_string().contains(expected),
            "expected {expected:?} in: {error}"
        );
    }
}
