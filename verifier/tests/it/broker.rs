//! Pacts from a broker (a `wiremock` stand-in here): selectors, pending and WIP pacts,
//! publishing results, and the broker's refusals.

use std::time::Duration;

use accord_verifier::{
    BrokerAuth, BrokerClientConfig, BrokerSource, ConsumerVersionSelector, Outcome, Publication,
    RetryPolicy, SecretString, Verifier, VerifyError, VerifyOptions, exit_code,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{Behaviour, orders_pact, spawn_provider};

fn hal(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/hal+json")
}

fn broker_config(broker: &MockServer) -> BrokerClientConfig {
    BrokerClientConfig::new(broker.uri().parse().unwrap()).with_retry(RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    })
}

/// A pact as a broker serves it: interactions with `_id`s and the links to publish results.
fn served_pact(base: &str, consumer: &str, sha: &str, pact: &Value) -> Value {
    let mut pact = pact.clone();
    for (index, interaction) in pact["interactions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        interaction["_id"] = json!(format!("{consumer}-{index}"));
    }
    pact["_links"] = json!({
        "pb:provider": {"href": format!("{base}/pacticipants/orders")},
        "pb:publish-verification-results": {"href": format!("{base}/pacts/provider/orders/consumer/{consumer}/pact-version/{sha}/verification-results")}
    });
    pact
}

async fn mount_index(broker: &MockServer) {
    let base = broker.uri();
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(hal(json!({"_links": {
            "pb:provider-pacts-for-verification": {"href": format!("{base}/pacts/provider/{{provider}}/for-verification"), "templated": true}
        }})))
        .mount(broker)
        .await;
}

/// A broker selecting two pacts: `web` (not pending) and `app` (pending, WIP), and
/// recording what is published.
async fn broker_with_two_pacts() -> MockServer {
    let broker = MockServer::start().await;
    let base = broker.uri();
    mount_index(&broker).await;
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .respond_with(hal(json!({"_embedded": {"pacts": [
            {"shortDescription": "latest from main branch",
             "verificationProperties": {"pending": false, "notices": [{"when": "before_verification", "text": "web is verified because it is on main"}]},
             "_links": {"self": {"href": format!("{base}/pacts/provider/orders/consumer/web/pact-version/s1")}}},
            {"shortDescription": "latest from branch feat-x",
             "verificationProperties": {"pending": true, "wip": true, "notices": []},
             "_links": {"self": {"href": format!("{base}/pacts/provider/orders/consumer/app/pact-version/s2")}}}
        ]}})))
        .expect(1)
        .mount(&broker)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacts/provider/orders/consumer/web/pact-version/s1"))
        .respond_with(hal(served_pact(&base, "web", "s1", &orders_pact("web"))))
        .mount(&broker)
        .await;
    // The app's work-in-progress pact expects a status the provider does not give.
    let mut app = orders_pact("app");
    app["interactions"][0]["response"]["status"] = json!(201);
    Mock::given(method("GET"))
        .and(path("/pacts/provider/orders/consumer/app/pact-version/s2"))
        .respond_with(hal(served_pact(&base, "app", "s2", &app)))
        .mount(&broker)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/orders"))
        .respond_with(hal(json!({"_links": {
            "pb:branch-version": {"href": format!("{base}/pacticipants/orders/branches/{{branch}}/versions/{{version}}"), "templated": true}
        }})))
        .mount(&broker)
        .await;
    Mock::given(method("PUT"))
        .and(path("/pacticipants/orders/branches/main/versions/2.0.0"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(2)
        .mount(&broker)
        .await;
    broker
}

fn verification_posts(requests: &[Request]) -> Vec<(String, Value)> {
    requests
        .iter()
        .filter(|request| {
            request.method.as_str() == "POST"
                && request.url.path().ends_with("/verification-results")
        })
        .map(|request| {
            (
                request.url.path().to_string(),
                serde_json::from_slice(&request.body).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn verifies_what_the_broker_selects_and_publishes_the_results() {
    let broker = broker_with_two_pacts().await;
    Mock::given(method("POST"))
        .and(path(
            "/pacts/provider/orders/consumer/web/pact-version/s1/verification-results",
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"_links": {"self": {"href": "/v/1"}}})),
        )
        .expect(1)
        .mount(&broker)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/pacts/provider/orders/consumer/app/pact-version/s2/verification-results",
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"_links": {"self": {"href": "/v/2"}}})),
        )
        .expect(1)
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;

    let mut source = BrokerSource::new(broker_config(&broker));
    source.selectors = vec![
        ConsumerVersionSelector::main_branch(),
        ConsumerVersionSelector::deployed_or_released(),
    ];
    source.enable_pending = true;
    source.include_wip_pacts_since = Some("2024-01-01".into());
    let mut options = VerifyOptions::new("orders")
        .broker(source)
        .state_change_url(provider.state_change_url.clone())
        .publish_as("2.0.0", Some("main".into()));
    options.build_url = Some("https://ci/42".into());
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();

    // The pending pact failed, but pending failures do not fail the build.
    assert_eq!(report.outcome(), Outcome::Passed, "{}", report.summary());
    assert_eq!(report.counts().pending_failed, 1);
    assert!(report.pacts[1].pending && report.pacts[1].wip);
    assert_eq!(
        report.pacts[0].selection.as_deref(),
        Some("latest from main branch")
    );
    assert_eq!(
        report.pacts[0].notices,
        ["web is verified because it is on main"]
    );
    assert_eq!(
        report.pacts[0].interactions[0].interaction_id.as_deref(),
        Some("web-0")
    );
    assert_eq!(
        report.pacts[0].publication,
        Publication::Published {
            url: Some("/v/1".into())
        }
    );
    assert!(
        report.summary().contains("FAILED (pending)"),
        "{}",
        report.summary()
    );
    assert!(
        report
            .summary()
            .contains("  | web is verified because it is on main"),
        "{}",
        report.summary()
    );

    let requests = broker.received_requests().await.unwrap();
    let asked = requests
        .iter()
        .find(|request| request.url.path().ends_with("/for-verification"))
        .unwrap();
    let asked: Value = serde_json::from_slice(&asked.body).unwrap();
    assert_eq!(
        asked,
        json!({
            "consumerVersionSelectors": [{"mainBranch": true}, {"deployedOrReleased": true}],
            "providerVersionBranch": "main",
            "includePendingStatus": true,
            "includeWipPactsSince": "2024-01-01"
        })
    );

    let posts = verification_posts(&requests);
    assert_eq!(posts.len(), 2);
    let (_, web) = posts
        .iter()
        .find(|(path, _)| path.contains("/consumer/web/"))
        .unwrap();
    assert_eq!(web["success"], json!(true));
    assert_eq!(web["providerApplicationVersion"], json!("2.0.0"));
    assert_eq!(web["buildUrl"], json!("https://ci/42"));
    assert_eq!(web["verifiedBy"]["implementation"], json!("Accord"));
    assert_eq!(
        web["testResults"][0],
        json!({"interactionId": "web-0", "interactionDescription": "a request for order 1", "success": true})
    );
    let (_, app) = posts
        .iter()
        .find(|(path, _)| path.contains("/consumer/app/"))
        .unwrap();
    assert_eq!(app["success"], json!(false));
    assert_eq!(
        app["testResults"][0]["mismatches"][0]["attribute"],
        json!("status")
    );
    assert_eq!(app["testResults"][1]["success"], json!(true));
}

#[tokio::test]
async fn results_the_broker_refuses_make_the_run_fail_with_the_broker_exit_code() {
    let broker = broker_with_two_pacts().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;
    let options = VerifyOptions::new("orders")
        .broker(BrokerSource::new(broker_config(&broker)))
        .state_change_url(provider.state_change_url.clone())
        .publish_as("2.0.0", Some("main".into()));
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();
    assert_eq!(
        report.outcome(),
        Outcome::PublishFailed,
        "{}",
        report.summary()
    );
    assert_eq!(report.outcome().exit_code(), exit_code::BROKER);
    assert!(matches!(
        report.pacts[0].publication,
        Publication::Failed { .. }
    ));
    assert!(
        report.summary().contains("results NOT published"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn a_broker_that_refuses_the_credentials_stops_the_run() {
    let broker = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;
    let config = broker_config(&broker)
        .with_auth(Some(BrokerAuth::Bearer(SecretString::from("wrong-token"))));
    let options = VerifyOptions::new("orders").broker(BrokerSource::new(config));
    let error = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap_err();
    assert_eq!(error.exit_code(), exit_code::BROKER);
    let message = error.to_string();
    assert!(message.contains("PACT_BROKER_TOKEN"), "{message}");
    assert!(!message.contains("wrong-token"), "{message}");
}

#[tokio::test]
async fn a_selector_the_broker_refuses_stops_the_run_with_its_reason() {
    let broker = MockServer::start().await;
    mount_index(&broker).await;
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": {
            "consumerVersionSelectors": ["environment with name 'nope' does not exist (at index 0)"]
        }})))
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;
    let mut source = BrokerSource::new(broker_config(&broker));
    source.selectors = vec![ConsumerVersionSelector::deployed_to("nope")];
    let error = Verifier::new(VerifyOptions::new("orders").broker(source))
        .verify_against(provider.url.clone())
        .await
        .unwrap_err();
    assert!(matches!(error, VerifyError::Broker { .. }), "{error:?}");
    assert_eq!(error.exit_code(), exit_code::BROKER);
    assert!(
        error
            .to_string()
            .contains("environment with name 'nope' does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_provider_is_a_broker_error() {
    let broker = MockServer::start().await;
    mount_index(&broker).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;
    let error = Verifier::new(
        VerifyOptions::new("orders").broker(BrokerSource::new(broker_config(&broker))),
    )
    .verify_against(provider.url.clone())
    .await
    .unwrap_err();
    assert_eq!(error.exit_code(), exit_code::BROKER);
    assert!(error.to_string().contains("provider \"orders\""), "{error}");
}

#[tokio::test]
async fn a_pact_url_with_basic_auth_is_verified_and_its_results_published() {
    let broker = MockServer::start().await;
    let base = broker.uri();
    Mock::given(method("GET"))
        .and(path("/pacts/provider/orders/consumer/web/version/1"))
        .and(header("authorization", "Basic dTpw"))
        .respond_with(hal(served_pact(&base, "web", "s1", &orders_pact("web"))))
        .expect(1)
        .mount(&broker)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/pacts/provider/orders/consumer/web/pact-version/s1/verification-results",
        ))
        .and(header("authorization", "Basic dTpw"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&broker)
        .await;
    let provider = spawn_provider(Behaviour::Honours).await;
    let auth = BrokerAuth::Basic {
        username: "u".into(),
        password: SecretString::from("p"),
    };
    let url = format!("{base}/pacts/provider/orders/consumer/web/version/1")
        .parse()
        .unwrap();
    let options = VerifyOptions::new("orders")
        .pact_url(url, Some(auth))
        .state_change_url(provider.state_change_url.clone())
        .publish_as("3.0.0", None);
    let report = Verifier::new(options)
        .verify_against(provider.url.clone())
        .await
        .unwrap();
    report.assert_passed();
    assert!(matches!(
        report.pacts[0].publication,
        Publication::Published { .. }
    ));
}
