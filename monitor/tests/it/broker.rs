//! Pacts fetched from a broker: the pacts for verification of the provider, with the
//! monitor's selectors. The broker here is a `wiremock` server speaking the Pact Broker API.

use accord_broker_client::{BrokerClient, BrokerClientConfig};
use accord_monitor::MonitorError;
use accord_monitor::source::pacts_from_broker;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn broker_listing(pending: bool) -> MockServer {
    let broker = MockServer::start().await;
    let base = broker.uri();
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "_links": {
                "pb:provider-pacts-for-verification": {
                    "href": format!("{base}/pacts/provider/{{provider}}/for-verification"),
                    "templated": true
                }
            }
        })))
        .mount(&broker)
        .await;
    Mock::given(method("GET"))
        .and(path("/pacts/provider/orders/consumer/web/pact-version/abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(orders_pact().json().clone()))
        .mount(&broker)
        .await;
    let listing = json!({
        "_embedded": {"pacts": [{
            "shortDescription": "latest from main branch",
            "verificationProperties": {"pending": pending, "notices": []},
            "_links": {"self": {
                "href": format!("{base}/pacts/provider/orders/consumer/web/pact-version/abc"),
                "name": "Pact between web (1.0.0) and orders"
            }}
        }]}
    });
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listing))
        .mount(&broker)
        .await;
    broker
}

fn client(broker: &MockServer) -> BrokerClient {
    BrokerClient::new(BrokerClientConfig::new(Url::parse(&broker.uri()).unwrap())).unwrap()
}

#[tokio::test]
async fn main_branches_and_deployed_versions_are_monitored() {
    let broker = broker_listing(false).await;
    let contracts = pacts_from_broker(&client(&broker), "orders", None)
        .await
        .unwrap();
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0].consumer(), "web");
    let requests = broker.received_requests().await.unwrap();
    let listing = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&listing.body).unwrap();
    assert_eq!(
        body["consumerVersionSelectors"],
        json!([{"mainBranch": true}, {"deployedOrReleased": true}])
    );

    // The fetched pact drives a real check.
    let provider = MockServer::start().await;
    serve_json(&provider, "/orders/1", 200, recorded_order()).await;
    let report = monitor(&contracts, config_for(&provider)).check().await;
    assert_eq!(report.interactions_checked, 1);
    assert!(report.pacts[0].origin.contains("/pact-version/abc"));
}

#[tokio::test]
async fn an_environment_selects_what_is_deployed_or_released_there() {
    let broker = broker_listing(false).await;
    Mock::given(method("POST"))
        .and(path("/pacts/provider/orders/for-verification"))
        .and(body_partial_json(
            json!({"consumerVersionSelectors": [{"environment": "production"}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"_embedded": {"pacts": []}})))
        .expect(1)
        .with_priority(1)
        .mount(&broker)
        .await;
    let err = pacts_from_broker(&client(&broker), "orders", Some("production"))
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::NoPactsInBroker { .. }), "{err}");
    assert!(
        err.to_string().contains("in environment \"production\""),
        "{err}"
    );
}

#[tokio::test]
async fn pending_pacts_are_not_monitored() {
    let broker = broker_listing(true).await;
    let err = pacts_from_broker(&client(&broker), "orders", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 pending"), "{err}");
}
