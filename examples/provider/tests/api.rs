//! The example provider's own behaviour, including the switches that make it misbehave.

use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

async fn spawn(behaviour: Behaviour) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(example_provider::serve(
        listener,
        AppState::new(behaviour, DateFormat::Iso8601),
    ));
    url
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn serves_the_seeded_order_with_an_iso_date() {
    let url = spawn(Behaviour::Correct).await;
    let order = get_json(&format!("{url}/orders/1")).await;
    assert_eq!(order["status"], "shipped");
    assert_eq!(order["createdAt"], "2024-05-01T10:00:00Z");
    assert_eq!(order["total"], 25.0);
}

#[tokio::test]
async fn the_date_format_flips_at_run_time() {
    let url = spawn(Behaviour::Correct).await;
    let client = reqwest::Client::new();
    let response = client
        .put(format!("{url}/_example/date-format"))
        .json(&json!("unix"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let order = get_json(&format!("{url}/orders/1")).await;
    assert_eq!(order["createdAt"], 1_714_557_600);
}

#[tokio::test]
async fn breaking_mode_renames_status() {
    let url = spawn(Behaviour::Breaking).await;
    let order = get_json(&format!("{url}/orders/1")).await;
    assert!(order.get("status").is_none());
    assert_eq!(order["state"], "shipped");
}

#[tokio::test]
async fn provider_states_set_up_data_and_refuse_unknown_states() {
    let url = spawn(Behaviour::Correct).await;
    let client = reqwest::Client::new();
    let states = format!("{url}/_pact/provider-states");
    let ok = client
        .post(&states)
        .json(&json!({"state": "an order exists", "params": {"id": 7}, "action": "setup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(get_json(&format!("{url}/orders/7")).await["id"], 7);

    let none = client
        .post(&states)
        .json(&json!({"state": "no orders exist"}))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 200);
    assert_eq!(
        reqwest::get(format!("{url}/orders/1"))
            .await
            .unwrap()
            .status(),
        404
    );

    let unknown = client
        .post(&states)
        .json(&json!({"state": "the moon is full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}
