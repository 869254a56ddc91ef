//! End to end against a real Accord broker started in the test: publish a pact, verify
//! the provider, and find the results in the broker.

use std::sync::Arc;

use accord_broker_client::{BrokerClient, ContractToPublish, PublishContracts};
use accord_verifier::{
    BrokerClientConfig, BrokerSource, ConsumerVersionSelector, Outcome, Publication, Verifier,
    VerifyOptions,
};
use serde_json::Value;
use url::Url;

use crate::helpers::{Behaviour, orders_pact, spawn_provider};

struct TestBroker {
    url: Url,
    client: Arc<BrokerClient>,
    _dir: tempfile::TempDir,
}

/// An Accord broker on port 0 with a fresh SQLite database.
async fn spawn_broker() -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("broker.db").display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = accord_broker::Application::build(accord_broker::Config::new(database), listener)
        .await
        .expect("the broker starts");
    let url: Url = app.base_url().parse().unwrap();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = Arc::new(BrokerClient::new(BrokerClientConfig::new(url.clone())).unwrap());
    TestBroker {
        url,
        client,
        _dir: dir,
    }
}

/// Publishes the `web` → `orders` pact as `web` version 1.0.0 on `main`; returns its URL.
async fn publish_web_pact(broker: &TestBroker) -> Url {
    publish_pact(broker, &orders_pact("web"), "1.0.0", "main").await;
    broker
        .url
        .join("/pacts/provider/orders/consumer/web/version/1.0.0")
        .unwrap()
}

/// Publishes a pact (its consumer is the pacticipant) as `version` on `branch`.
async fn publish_pact(broker: &TestBroker, pact: &Value, version: &str, branch: &str) {
    let consumer = pact["consumer"]["name"].as_str().unwrap();
    let published = broker
        .client
        .publish_contracts(&PublishContracts {
            pacticipant_name: consumer.into(),
            pacticipant_version_number: version.into(),
            branch: Some(branch.into()),
            tags: vec![],
            build_url: None,
            contracts: vec![ContractToPublish::pact(consumer, "orders", pact)],
        })
        .await
        .expect("the pact is published");
    assert!(
        published
            .notices
            .iter()
            .any(|notice| notice.kind == "success"),
        "{:?}",
        published.notices
    );
}

/// The latest verification result the broker holds for the pact at `pact_url`.
async fn latest_verification(broker: &TestBroker, pact_url: &Url) -> Value {
    let pact = broker.client.fetch_pact(pact_url.as_str()).await.unwrap();
    let link = accord_broker_client::links_in(&pact.json, "pb:latest-verification-results")
        .into_iter()
        .next()
        .expect("the pact links to its latest verification results");
    broker.client.get(&link.href).await.unwrap().into_body()
}

async fn verify(
    pact_url: &Url,
    behaviour: Behaviour,
    version: &str,
) -> accord_verifier::VerificationReport {
    let provider = spawn_provider(behaviour).await;
    let mut options = VerifyOptions::new("orders")
        .pact_url(pact_url.clone(), None)
        .state_change_url(provider.state_change_url.clone())
        .publish_as(version, Some("main".into()));
    options.build_url = Some(format!("https://ci.example/{version}"));
    Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .expect("the verification runs")
}

#[tokio::test]
async fn published_results_are_visible_in_the_broker() {
    let broker = spawn_broker().await;
    let pact_url = publish_web_pact(&broker).await;

    let report = verify(&pact_url, Behaviour::Honours, "2.0.0").await;
    assert_eq!(report.outcome(), Outcome::Passed, "{}", report.summary());
    assert!(matches!(
        report.pacts[0].publication,
        Publication::Published { .. }
    ));

    let latest = latest_verification(&broker, &pact_url).await;
    assert_eq!(latest["success"], Value::Bool(true), "{latest}");
    assert_eq!(latest["providerApplicationVersion"], "2.0.0", "{latest}");
    assert_eq!(latest["buildUrl"], "https://ci.example/2.0.0", "{latest}");
    // The broker's interaction ids travel back with the results.
    let results = latest["testResults"].as_array().expect("test results");
    assert_eq!(results.len(), 2, "{latest}");
    assert!(
        results.iter().all(|r| r["interactionId"].is_string()),
        "{latest}"
    );

    // The provider version was recorded on its branch before the results.
    let version = broker
        .client
        .describe_version("orders", "2.0.0")
        .await
        .unwrap();
    assert_eq!(version.branches, ["main"]);
}

#[tokio::test]
async fn a_breaking_provider_publishes_a_failure() {
    let broker = spawn_broker().await;
    let pact_url = publish_web_pact(&broker).await;

    verify(&pact_url, Behaviour::Honours, "2.0.0")
        .await
        .assert_passed();
    let report = verify(&pact_url, Behaviour::Breaks, "2.1.0").await;
    assert_eq!(report.outcome(), Outcome::Failed);
    assert!(matches!(
        report.pacts[0].publication,
        Publication::Published { .. }
    ));

    let latest = latest_verification(&broker, &pact_url).await;
    assert_eq!(latest["success"], Value::Bool(false), "{latest}");
    assert_eq!(latest["providerApplicationVersion"], "2.1.0", "{latest}");
    let failed = latest["testResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["success"] == Value::Bool(false))
        .expect("a failed interaction");
    assert_eq!(failed["interactionDescription"], "a request for order 1");
    assert!(
        failed["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["attribute"] == "body"),
        "{failed}"
    );
}

/// Verifies what the broker selects for `orders` (main branch pacts, pending status, WIP
/// pacts) as provider `version` on `main`, publishing the results.
async fn verify_from_broker(
    broker: &TestBroker,
    behaviour: Behaviour,
    version: &str,
) -> accord_verifier::VerificationReport {
    let provider = spawn_provider(behaviour).await;
    let mut source = BrokerSource::new(BrokerClientConfig::new(broker.url.clone()));
    source.selectors = vec![ConsumerVersionSelector::main_branch()];
    source.enable_pending = true;
    source.include_wip_pacts_since = Some("2000-01-01".into());
    let options = VerifyOptions::new("orders")
        .broker(source)
        .state_change_url(provider.state_change_url.clone())
        .publish_as(version, Some("main".into()));
    Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .expect("the verification runs")
}

#[tokio::test]
async fn new_content_is_pending_until_the_provider_first_passes_it() {
    let broker = spawn_broker().await;
    let pact_url = publish_web_pact(&broker).await;

    // Never verified: the pact is pending, so the breaking provider does not fail the build,
    // but the failure is recorded in the broker.
    let report = verify_from_broker(&broker, Behaviour::Breaks, "2.0.0").await;
    assert_eq!(report.pacts.len(), 1, "{}", report.summary());
    assert!(report.pacts[0].pending, "{}", report.summary());
    assert_eq!(report.outcome(), Outcome::Passed, "{}", report.summary());
    assert_eq!(report.counts().pending_failed, 1);
    assert!(report.pacts[0].selection.is_some());
    assert_eq!(
        latest_verification(&broker, &pact_url).await["success"],
        Value::Bool(false)
    );

    // The provider honours it: no longer pending from now on.
    let report = verify_from_broker(&broker, Behaviour::Honours, "2.1.0").await;
    assert!(
        report.pacts[0].pending,
        "still pending while being verified for the first time"
    );
    report.assert_passed();
    assert_eq!(
        latest_verification(&broker, &pact_url).await["success"],
        Value::Bool(true)
    );

    // A later breaking change fails the build.
    let report = verify_from_broker(&broker, Behaviour::Breaks, "2.2.0").await;
    assert!(!report.pacts[0].pending, "{}", report.summary());
    assert_eq!(report.outcome(), Outcome::Failed, "{}", report.summary());
}

#[tokio::test]
async fn work_in_progress_pacts_are_verified_without_failing_the_build() {
    let broker = spawn_broker().await;
    publish_web_pact(&broker).await;
    // A consumer feature branch expects something the provider does not do yet.
    let mut feature = orders_pact("web");
    feature["interactions"][0]["response"]["status"] = 201.into();
    publish_pact(&broker, &feature, "1.1.0-feat", "feat-x").await;

    let report = verify_from_broker(&broker, Behaviour::Honours, "2.0.0").await;
    assert_eq!(report.pacts.len(), 2, "{}", report.summary());
    let wip = report
        .pacts
        .iter()
        .find(|pact| pact.wip)
        .expect("a WIP pact");
    assert!(wip.pending);
    assert!(!wip.passed());
    assert_eq!(report.outcome(), Outcome::Passed, "{}", report.summary());
    assert!(
        report.summary().contains("work in progress"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn verification_results_drive_can_i_deploy() {
    use accord_broker_client::{CanIDeployQuery, DeployTarget, NewEnvironment, VersionSelector};

    let broker = spawn_broker().await;
    let pact_url = publish_web_pact(&broker).await;
    broker
        .client
        .create_environment(&NewEnvironment {
            name: "production".into(),
            display_name: None,
            production: true,
        })
        .await
        .unwrap();
    let can_web_deploy = || async {
        broker
            .client
            .can_i_deploy(&CanIDeployQuery {
                pacticipant: "web".into(),
                version: VersionSelector::Number("1.0.0".into()),
                target: DeployTarget::Environment("production".into()),
                ignore: vec![],
            })
            .await
            .unwrap()
    };

    // The provider version in production breaks the contract: web cannot go there.
    let report = verify(&pact_url, Behaviour::Breaks, "2.0.0").await;
    assert_eq!(report.outcome(), Outcome::Failed);
    broker
        .client
        .record_deployment("orders", "2.0.0", "production", None)
        .await
        .unwrap();
    let matrix = can_web_deploy().await;
    assert_eq!(matrix.summary.deployable, Some(false), "{matrix:?}");

    // A fixed provider version is verified and deployed: now web can go.
    verify(&pact_url, Behaviour::Honours, "2.1.0")
        .await
        .assert_passed();
    broker
        .client
        .record_deployment("orders", "2.1.0", "production", None)
        .await
        .unwrap();
    let matrix = can_web_deploy().await;
    assert_eq!(matrix.summary.deployable, Some(true), "{matrix:?}");
    assert!(matrix.matrix.iter().any(|row| {
        row.provider
            .version
            .as_ref()
            .is_some_and(|version| version.number == "2.1.0")
    }));
}
