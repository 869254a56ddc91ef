//! Reports posted to a real, in-process Accord broker: the broker shows the drift, and
//! can-i-deploy for the consumer answers no until a clean run resolves it.

use std::sync::Arc;
use std::time::Duration;

use accord_broker_client::{
    BrokerClient, BrokerClientConfig, CanIDeployQuery, ConsumerVersionSelector, ContractToPublish,
    DeployTarget, DriftMode, NewEnvironment, PactsForVerificationRequest, ProviderVersion,
    PublishContracts, RetryPolicy, VerificationResults, VerifiedBy, VersionSelector,
};
use accord_monitor::publish::BrokerPublisher;
use accord_monitor::service::{Application, ServiceConfig};
use accord_monitor::source::pacts_from_broker;
use accord_monitor::{FindingClass, Monitor, Outcome};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;
use wiremock::MockServer;

use crate::helpers::*;

/// A broker on a temporary SQLite database, stopped when dropped.
struct Broker {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn spawn_broker() -> Broker {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("broker.db").display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = accord_broker::Application::build(accord_broker::Config::new(url), listener)
        .await
        .expect("the broker starts");
    let base = app.base_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Broker {
        base,
        _stop: stop,
        _dir: dir,
    }
}

fn client(base: &str) -> Arc<BrokerClient> {
    let config = BrokerClientConfig::new(Url::parse(base).unwrap()).with_retry(RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    });
    Arc::new(BrokerClient::new(config).unwrap())
}

/// web 1 relies on `GET /orders/1`; orders 10 verified it; both run in production.
async fn deployed_pair(client: &BrokerClient) {
    client
        .publish_contracts(&PublishContracts {
            pacticipant_name: "web".into(),
            pacticipant_version_number: "1".into(),
            branch: Some("main".into()),
            tags: vec![],
            build_url: None,
            contracts: vec![ContractToPublish::pact(
                "web",
                "orders",
                orders_pact().json(),
            )],
        })
        .await
        .unwrap();
    client
        .create_environment(&NewEnvironment {
            name: "production".into(),
            display_name: None,
            production: true,
        })
        .await
        .unwrap();
    let request = PactsForVerificationRequest {
        consumer_version_selectors: vec![ConsumerVersionSelector::main_branch()],
        ..PactsForVerificationRequest::default()
    };
    let listed = client
        .pacts_for_verification("orders", &request)
        .await
        .unwrap();
    let pact = client.fetch_pact(&listed[0].href).await.unwrap();
    client
        .publish_verification_results(
            &pact,
            &ProviderVersion {
                number: "10".into(),
                ..ProviderVersion::default()
            },
            &VerificationResults {
                success: true,
                provider_application_version: "10".into(),
                build_url: None,
                test_results: vec![],
                verified_by: VerifiedBy {
                    implementation: "test".into(),
                    version: "1".into(),
                },
            },
        )
        .await
        .unwrap();
    client
        .record_deployment("web", "1", "production", None)
        .await
        .unwrap();
    client
        .record_deployment("orders", "10", "production", None)
        .await
        .unwrap();
}

fn can_web_deploy() -> CanIDeployQuery {
    CanIDeployQuery {
        pacticipant: "web".into(),
        version: VersionSelector::Number("1".into()),
        target: DeployTarget::Environment("production".into()),
        ignore: vec![],
    }
}

async fn production_monitor(client: &BrokerClient, provider: &MockServer) -> Monitor {
    let contracts = pacts_from_broker(client, "orders", Some("production"))
        .await
        .unwrap();
    let mut config = config_for(provider);
    config.environment = Some("production".into());
    monitor(&contracts, config)
}

fn drifting_order() -> serde_json::Value {
    let mut body = recorded_order();
    body["created"] = json!(1714557600);
    body
}

#[tokio::test]
async fn drift_found_in_production_blocks_the_consumer_until_it_is_resolved() {
    let broker = spawn_broker().await;
    let client = client(&broker.base);
    deployed_pair(&client).await;
    let before = client.can_i_deploy(&can_web_deploy()).await.unwrap();
    assert_eq!(
        before.summary.deployable,
        Some(true),
        "{}",
        before.summary.reason
    );

    // The provider now answers a Unix timestamp where the pact wants ISO 8601.
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, drifting_order()).await;
    let monitor = production_monitor(&client, &provider).await;
    let publisher = BrokerPublisher::new(client.clone());
    let report = monitor.check().await;
    assert_eq!(report.outcome(), Outcome::Drift);
    let finding = report.findings[0].clone();
    assert_eq!(finding.class, FindingClass::FormatChanged);
    let posted = publisher.publish(&report, monitor.metrics()).await.unwrap();
    assert_eq!(posted.new.len(), 1);
    assert_eq!(posted.environment.as_deref(), Some("production"));

    // The broker shows it, under the monitor's fingerprint.
    let state = client
        .drift_state("orders", Some("production"))
        .await
        .unwrap();
    assert!(state.drifting);
    let open = &state.environments[0].findings[0];
    assert_eq!(open.pointer, "/body/created");
    assert_eq!(open.class, "format_changed");
    assert_eq!(open.consumers, vec!["web".to_string()]);
    assert_eq!(open.interaction, "get order 1");
    assert_eq!(open.actual, finding.actual);
    assert_eq!(
        open.fingerprint,
        hex::encode(Sha256::digest(finding.fingerprint().as_bytes()))
    );

    // can-i-deploy for the consumer says no, with the finding in the reason.
    let blocked = client.can_i_deploy(&can_web_deploy()).await.unwrap();
    assert_eq!(blocked.summary.deployable, Some(false));
    let reason = &blocked.summary.reason;
    assert!(
        reason.contains("orders drifts in production from the pact of web 1: format changed at /body/created in \"get order 1\" (GET /orders/1)"),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("got {}", finding.actual)),
        "{reason}"
    );
    let drift = blocked.drift.as_ref().unwrap();
    assert!(drift.blocking);
    // Asked to warn, the answer is yes with the finding as a warning.
    let warned = client
        .can_i_deploy_with_drift(&can_web_deploy(), Some(DriftMode::Warn))
        .await
        .unwrap();
    assert_eq!(warned.summary.deployable, Some(true));
    assert!(
        warned
            .notices
            .iter()
            .any(|n| n.kind == "warning" && n.text.contains("drifts in production"))
    );

    // The provider is fixed: the next run resolves the finding and the answer is yes.
    provider.reset().await;
    serve_json(&provider, "/orders/1", 200, recorded_order()).await;
    let report = monitor.check().await;
    assert_eq!(report.outcome(), Outcome::Clean);
    let posted = publisher.publish(&report, monitor.metrics()).await.unwrap();
    assert_eq!(posted.resolved.len(), 1);
    assert!(posted.open.is_empty());
    let after = client.can_i_deploy(&can_web_deploy()).await.unwrap();
    assert_eq!(
        after.summary.deployable,
        Some(true),
        "{}",
        after.summary.reason
    );
    assert!(!client.drift_state("orders", None).await.unwrap().drifting);
    assert!(
        monitor.metrics().render().contains(
            "accord_monitor_broker_reports_total{outcome=\"posted\",provider=\"orders\"} 2"
        )
    );
}

#[tokio::test]
async fn the_service_posts_every_report_and_counts_failed_posts() {
    let broker = spawn_broker().await;
    let client = client(&broker.base);
    deployed_pair(&client).await;
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, drifting_order()).await;

    let monitor = production_monitor(&client, &provider).await;
    let mut config = ServiceConfig::new(Duration::from_millis(20), "127.0.0.1:0".parse().unwrap());
    config.publisher = Some(BrokerPublisher::new(client.clone()));
    let app = Application::build(monitor, config).await.unwrap();
    let mut reports = app.reports();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    // A report is broadcast after it was posted.
    let report = reports.recv().await.unwrap();
    assert_eq!(report.outcome(), Outcome::Drift);
    let state = client
        .drift_state("orders", Some("production"))
        .await
        .unwrap();
    assert!(state.drifting);
    let _ = stop.send(());

    // A broker that is away: the post fails, is counted, and the check stands.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = BrokerPublisher::new(client_with_one_attempt(&closed));
    let monitor = production_monitor(&client, &provider).await;
    let report = monitor.check().await;
    let err = unreachable
        .publish(&report, monitor.metrics())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("could not post the drift report"),
        "{err}"
    );
    assert_eq!(report.outcome(), Outcome::Drift);
    assert!(
        monitor.metrics().render().contains(
            "accord_monitor_broker_reports_total{outcome=\"failed\",provider=\"orders\"} 1"
        )
    );
}

fn client_with_one_attempt(base: &str) -> Arc<BrokerClient> {
    let config = BrokerClientConfig::new(Url::parse(base).unwrap())
        .with_retry(RetryPolicy::with_retries(0))
        .with_timeout(Duration::from_secs(5));
    Arc::new(BrokerClient::new(config).unwrap())
}
