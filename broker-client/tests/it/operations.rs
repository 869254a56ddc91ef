//! Each operation sends what the reference says and reads the answer into typed values.

use accord_broker_client::{
    BrokerError, CanIDeployQuery, ConsumerVersionSelector, ContractToPublish, DeployTarget,
    InteractionResult, NewEnvironment, PactsForVerificationRequest, ProviderVersion,
    PublishContracts, VerificationResults, VerifiedBy, VersionSelector,
};
use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::helpers::{broker, hal};

#[tokio::test]
async fn publishes_contracts_and_returns_the_notices() {
    let (server, client) = broker().await;
    let pact =
        json!({"consumer": {"name": "web"}, "provider": {"name": "orders"}, "interactions": []});
    let encoded = base64::engine::general_purpose::STANDARD.encode(pact.to_string());
    Mock::given(method("POST"))
        .and(path("/contracts/publish"))
        .and(body_json(json!({
            "pacticipantName": "web",
            "pacticipantVersionNumber": "abc123",
            "branch": "main",
            "tags": ["dev"],
            "buildUrl": "https://ci/1",
            "contracts": [{
                "consumerName": "web", "providerName": "orders", "specification": "pact",
                "contentType": "application/json", "content": encoded
            }]
        })))
        .respond_with(hal(json!({
            "notices": [{"type": "success", "text": "Pact successfully published for web version abc123 and provider orders."}],
            "_links": {"pb:contracts": [{"href": format!("{}/pacts/provider/orders/consumer/web/version/abc123", server.uri()), "name": "Pact", "title": "Pact"}]}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let published = client
        .publish_contracts(&PublishContracts {
            pacticipant_name: "web".into(),
            pacticipant_version_number: "abc123".into(),
            branch: Some("main".into()),
            tags: vec!["dev".into()],
            build_url: Some("https://ci/1".into()),
            contracts: vec![ContractToPublish::pact("web", "orders", &pact)],
        })
        .await
        .unwrap();
    assert_eq!(published.notices.len(), 1);
    assert_eq!(published.notices[0].kind, "success");
    assert!(published.contract_urls[0].ends_with("/version/abc123"));
}

#[tokio::test]
async fn a_publication_conflict_keeps_the_brokers_notices() {
    let (server, client) = broker().await;
    Mock::given(method("POST"))
        .and(path("/contracts/publish"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "notices": [{"type": "error", "text": "Cannot change the content of the pact for web version 1"},
                        {"type": "info", "text": "-old\n+new"}],
            "errors": {"contracts": ["Cannot change the content of the pact for web version 1"]}
        })))
        .mount(&server)
        .await;
    let error = client
        .publish_contracts(&PublishContracts {
            pacticipant_name: "web".into(),
            pacticipant_version_number: "1".into(),
            branch: None,
            tags: vec![],
            build_url: None,
            contracts: vec![],
        })
        .await
        .unwrap_err();
    match error {
        BrokerError::Refused {
            status,
            message,
            notices,
            ..
        } => {
            assert_eq!(status.as_u16(), 409);
            assert!(message.contains("Cannot change the content"), "{message}");
            assert_eq!(notices.len(), 2);
        }
        other => panic!("expected refused, got {other:?}"),
    }
}

#[tokio::test]
async fn asks_for_pacts_for_verification_with_typed_selectors() {
    let (server, client) = broker().await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .and(body_json(json!({
            "consumerVersionSelectors": [
                {"mainBranch": true}, {"deployedOrReleased": true}, {"matchingBranch": true},
                {"branch": "feat-x", "consumer": "web"}
            ],
            "providerVersionBranch": "main",
            "includePendingStatus": true,
            "includeWipPactsSince": "2024-01-01"
        })))
        .respond_with(hal(json!({"_embedded": {"pacts": [
            {"shortDescription": "latest from main branch",
             "verificationProperties": {"pending": false, "notices": [{"when": "before_verification", "text": "because main"}]},
             "_links": {"self": {"href": format!("{base}/pacts/provider/orders/consumer/web/pact-version/aaa/metadata/m1"), "name": "Pact between web (1) and orders"}}},
            {"shortDescription": "latest from branch feat-y",
             "verificationProperties": {"pending": true, "wip": true, "notices": []},
             "_links": {"self": {"href": format!("{base}/pacts/provider/orders/consumer/web/pact-version/bbb/metadata/m2")}}}
        ]}})))
        .expect(1)
        .mount(&server)
        .await;

    let request = PactsForVerificationRequest {
        consumer_version_selectors: vec![
            ConsumerVersionSelector::main_branch(),
            ConsumerVersionSelector::deployed_or_released(),
            ConsumerVersionSelector::matching_branch(),
            ConsumerVersionSelector::branch("feat-x").for_consumer("web"),
        ],
        provider_version_branch: Some("main".into()),
        provider_version_tags: vec![],
        include_pending_status: true,
        include_wip_pacts_since: Some("2024-01-01".into()),
    };
    let pacts = client
        .pacts_for_verification("orders", &request)
        .await
        .unwrap();
    assert_eq!(pacts.len(), 2);
    assert!(!pacts[0].pending && !pacts[0].wip);
    assert_eq!(pacts[0].short_description, "latest from main branch");
    assert_eq!(pacts[0].notices[0].text, "because main");
    assert_eq!(
        pacts[0].name.as_deref(),
        Some("Pact between web (1) and orders")
    );
    assert!(pacts[1].pending && pacts[1].wip);
}

#[tokio::test]
async fn selectors_parse_from_the_official_json_keys() {
    let selectors: Vec<ConsumerVersionSelector> = serde_json::from_value(json!([
        {"mainBranch": true}, {"deployed": true, "environment": "production"}, {"tag": "prod", "latest": true, "fallbackTag": "main"}
    ])).unwrap();
    assert_eq!(selectors[0], ConsumerVersionSelector::main_branch());
    assert_eq!(
        selectors[1],
        ConsumerVersionSelector::deployed_to("production")
    );
    assert_eq!(selectors[2].fallback_tag.as_deref(), Some("main"));
    let typo = serde_json::from_value::<ConsumerVersionSelector>(json!({"mainbranch": true}));
    assert!(
        typo.is_err(),
        "unknown keys are refused so typos do not select everything"
    );
}

#[tokio::test]
async fn publishes_verification_results_after_recording_branch_and_tags() {
    let (server, client) = broker().await;
    let base = server.uri();
    let pact_path = "/pacts/provider/orders/consumer/web/pact-version/aaa/metadata/m1";
    Mock::given(method("GET"))
        .and(path(pact_path))
        .respond_with(hal(json!({
            "consumer": {"name": "web"}, "provider": {"name": "orders"}, "interactions": [],
            "_links": {
                "pb:provider": {"href": format!("{base}/pacticipants/orders")},
                "pb:publish-verification-results": {"href": format!("{base}{pact_path}/verification-results")}
            }
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/orders"))
        .respond_with(hal(json!({"name": "orders", "_links": {
            "pb:branch-version": {"href": format!("{base}/pacticipants/orders/branches/{{branch}}/versions/{{version}}"), "templated": true},
            "pb:version-tag": {"href": format!("{base}/pacticipants/orders/versions/{{version}}/tags/{{tag}}"), "templated": true}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(
            "/pacticipants/orders/branches/feat%2Fa/versions/2.0.0",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/pacticipants/orders/versions/2.0.0/tags/dev"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{pact_path}/verification-results")))
        .and(body_json(json!({
            "success": false,
            "providerApplicationVersion": "2.0.0",
            "buildUrl": "https://ci/2",
            "testResults": [{"interactionId": "i1", "interactionDescription": "get order", "success": false,
                             "mismatches": [{"attribute": "status", "description": "expected 200 but was 500"}]}],
            "verifiedBy": {"implementation": "Accord", "version": "0.1.0"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"success": false, "_links": {"self": {"href": "/v/1"}}})))
        .expect(1)
        .mount(&server)
        .await;

    let pact = client
        .fetch_pact(&format!("{base}{pact_path}"))
        .await
        .unwrap();
    assert!(pact.can_publish_results());
    let results = VerificationResults {
        success: false,
        provider_application_version: "2.0.0".into(),
        build_url: Some("https://ci/2".into()),
        test_results: vec![InteractionResult {
            interaction_id: Some("i1".into()),
            interaction_description: "get order".into(),
            success: false,
            mismatches: vec![accord_broker_client::ResultMismatch {
                attribute: "status".into(),
                identifier: None,
                description: "expected 200 but was 500".into(),
            }],
            exceptions: vec![],
        }],
        verified_by: VerifiedBy {
            implementation: "Accord".into(),
            version: "0.1.0".into(),
        },
    };
    let provider = ProviderVersion {
        number: "2.0.0".into(),
        branch: Some("feat/a".into()),
        tags: vec!["dev".into()],
    };
    let created = client
        .publish_verification_results(&pact, &provider, &results)
        .await
        .unwrap();
    assert_eq!(created.body()["success"], json!(false));

    // The branch and the tag are recorded before the result, which the broker stores with them.
    let order: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request: &&Request| request.method.as_str() != "GET")
        .map(|request| request.method.to_string())
        .collect();
    assert_eq!(order, ["PUT", "PUT", "POST"]);
}

#[tokio::test]
async fn can_i_deploy_sends_the_matrix_query_of_the_official_clients() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/matrix"))
        .and(query_param("q[][pacticipant]", "web"))
        .and(query_param("q[][version]", "abc"))
        .and(query_param("environment", "production"))
        .and(query_param("latestby", "cvpv"))
        .and(query_param("ignore[][pacticipant]", "legacy"))
        .respond_with(hal(json!({
            "summary": {"deployable": null, "reason": "missing results", "success": 0, "failed": 0, "unknown": 1},
            "notices": [{"type": "warning", "text": "missing results"}],
            "matrix": [{"consumer": {"name": "web", "version": {"number": "abc"}},
                        "provider": {"name": "orders", "version": null},
                        "verificationResult": null}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let matrix = client
        .can_i_deploy(&CanIDeployQuery {
            pacticipant: "web".into(),
            version: VersionSelector::Number("abc".into()),
            target: DeployTarget::Environment("production".into()),
            ignore: vec!["legacy".into()],
        })
        .await
        .unwrap();
    assert_eq!(matrix.summary.deployable, None);
    assert_eq!(matrix.summary.unknown, 1);
    assert!(matrix.matrix[0].verification_result.is_none());
    assert!(matrix.matrix[0].provider.version.is_none());
}

#[tokio::test]
async fn can_i_deploy_for_a_branch_to_a_tag() {
    let (server, client) = broker().await;
    Mock::given(method("GET"))
        .and(path("/matrix"))
        .and(query_param("q[][branch]", "main"))
        .and(query_param("q[][latest]", "true"))
        .and(query_param("tag", "prod"))
        .and(query_param("latestby", "cvp"))
        .respond_with(hal(
            json!({"summary": {"deployable": true, "reason": "ok"}, "matrix": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let matrix = client
        .can_i_deploy(&CanIDeployQuery {
            pacticipant: "web".into(),
            version: VersionSelector::LatestOnBranch("main".into()),
            target: DeployTarget::Tag("prod".into()),
            ignore: vec![],
        })
        .await
        .unwrap();
    assert_eq!(matrix.summary.deployable, Some(true));
}

#[tokio::test]
async fn creates_and_finds_environments() {
    let (server, client) = broker().await;
    Mock::given(method("POST"))
        .and(path("/environments"))
        .and(body_json(
            json!({"name": "prod-eu", "displayName": "Prod EU", "production": true}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "uuid": "e1", "name": "prod-eu", "displayName": "Prod EU", "production": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(hal(json!({"_embedded": {"environments": [
            {"uuid": "e0", "name": "test", "production": false},
            {"uuid": "e1", "name": "prod-eu", "displayName": "Prod EU", "production": true}
        ]}})))
        .mount(&server)
        .await;
    let created = client
        .create_environment(&NewEnvironment {
            name: "prod-eu".into(),
            display_name: Some("Prod EU".into()),
            production: true,
        })
        .await
        .unwrap();
    assert_eq!(created.uuid, "e1");
    assert_eq!(
        client.environment("prod-eu").await.unwrap().unwrap().uuid,
        "e1"
    );
    assert!(client.environment("nope").await.unwrap().is_none());
}

fn version_with_environment_links(base: &str) -> Value {
    json!({
        "number": "1.0.0", "buildUrl": "https://ci/9", "createdAt": "2024-01-01T00:00:00+00:00",
        "_embedded": {
            "branchVersions": [{"name": "main", "latest": true}],
            "tags": [{"name": "dev"}]
        },
        "_links": {
            "pb:record-deployment": [
                {"name": "test", "href": format!("{base}/pacticipants/web/versions/1.0.0/deployed-versions/environment/e0")},
                {"name": "production", "href": format!("{base}/pacticipants/web/versions/1.0.0/deployed-versions/environment/e1")}
            ],
            "pb:record-release": [
                {"name": "production", "href": format!("{base}/pacticipants/web/versions/1.0.0/released-versions/environment/e1")}
            ],
            "pb:deployed-environments": [{"name": "Test", "href": format!("{base}/deployed-versions/d1"), "currently_deployed": true}]
        }
    })
}

#[tokio::test]
async fn records_deployments_and_releases_through_the_version_links() {
    let (server, client) = broker().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/pacticipants/web/versions/1.0.0"))
        .respond_with(hal(version_with_environment_links(&base)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/pacticipants/web/versions/1.0.0/deployed-versions/environment/e1",
        ))
        .and(body_json(json!({"applicationInstance": "blue"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "uuid": "d9", "currentlyDeployed": true, "applicationInstance": "blue"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/pacticipants/web/versions/1.0.0/released-versions/environment/e1",
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"uuid": "r1", "currentlySupported": true})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let deployed = client
        .record_deployment("web", "1.0.0", "production", Some("blue"))
        .await
        .unwrap();
    assert_eq!(deployed.uuid, "d9");
    assert_eq!(deployed.application_instance.as_deref(), Some("blue"));
    let released = client
        .record_release("web", "1.0.0", "production")
        .await
        .unwrap();
    assert!(released.currently_supported);

    let error = client
        .record_deployment("web", "1.0.0", "staging", None)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, BrokerError::UnknownEnvironment { .. }),
        "{error:?}"
    );
    assert!(message.contains("known: test, production"), "{message}");
    assert!(
        message.contains("accord create-environment --name staging"),
        "{message}"
    );
}

#[tokio::test]
async fn describes_versions() {
    let (server, client) = broker().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/pacticipants/web/versions/1.0.0"))
        .respond_with(hal(version_with_environment_links(&base)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacticipants/web/latest-version/dev"))
        .respond_with(hal(version_with_environment_links(&base)))
        .expect(1)
        .mount(&server)
        .await;
    let version = client.describe_version("web", "1.0.0").await.unwrap();
    assert_eq!(version.number, "1.0.0");
    assert_eq!(version.build_url.as_deref(), Some("https://ci/9"));
    assert_eq!(version.branches, ["main"]);
    assert_eq!(version.tags, ["dev"]);
    assert_eq!(version.deployed_to, ["Test"]);
    let latest = client.latest_version("web", Some("dev")).await.unwrap();
    assert_eq!(latest.number, "1.0.0");
}
