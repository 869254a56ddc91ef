use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use url::Url;

/// Whether the provider honours the contract or ships a breaking change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Honours,
    /// Renames `status` to `state` and turns `id` into a string.
    Breaks,
}

#[derive(Clone)]
struct ProviderState {
    behaviour: Behaviour,
    orders: Arc<Mutex<HashMap<u64, String>>>,
    state_calls: Arc<Mutex<Vec<Value>>>,
    seen_headers: Arc<Mutex<Vec<Option<String>>>>,
}

/// A small orders service, started in the test on port 0.
pub struct TestProvider {
    pub url: Url,
    pub state_change_url: Url,
    state_calls: Arc<Mutex<Vec<Value>>>,
    seen_headers: Arc<Mutex<Vec<Option<String>>>>,
}

impl TestProvider {
    /// The bodies the state change endpoint received, in order.
    pub fn state_calls(&self) -> Vec<Value> {
        self.state_calls.lock().unwrap().clone()
    }

    /// The `x-api-key` header of every order request, in order.
    pub fn seen_api_keys(&self) -> Vec<Option<String>> {
        self.seen_headers.lock().unwrap().clone()
    }
}

pub async fn spawn_provider(behaviour: Behaviour) -> TestProvider {
    let state = ProviderState {
        behaviour,
        orders: Arc::default(),
        state_calls: Arc::default(),
        seen_headers: Arc::default(),
    };
    let app = Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/_pact/state", post(change_state))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url: Url = format!("http://{address}").parse().unwrap();
    TestProvider {
        state_change_url: url.join("/_pact/state").unwrap(),
        url,
        state_calls: state.state_calls,
        seen_headers: state.seen_headers,
    }
}

async fn get_order(
    State(state): State<ProviderState>,
    UrlPath(id): UrlPath<u64>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    state.seen_headers.lock().unwrap().push(
        headers
            .get("x-api-key")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
    );
    let status = state.orders.lock().unwrap().get(&id).cloned();
    match (status, state.behaviour) {
        (None, _) => StatusCode::NOT_FOUND.into_response(),
        (Some(status), Behaviour::Honours) => {
            Json(json!({"id": id, "status": status})).into_response()
        }
        (Some(status), Behaviour::Breaks) => {
            Json(json!({"id": id.to_string(), "state": status})).into_response()
        }
    }
}

async fn change_state(
    State(state): State<ProviderState>,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    state.state_calls.lock().unwrap().push(body.clone());
    let name = body["state"].as_str().unwrap_or_default();
    match (name, body["action"].as_str()) {
        ("the database is down", _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "seeding failed: database is down",
        )
            .into_response(),
        ("an order exists", Some("setup")) => {
            let id = body["params"]["id"].as_u64().unwrap_or(1);
            state
                .orders
                .lock()
                .unwrap()
                .insert(id, "shipped".to_string());
            Json(json!({})).into_response()
        }
        ("an order exists", Some("teardown")) => {
            state.orders.lock().unwrap().clear();
            Json(json!({})).into_response()
        }
        _ => Json(json!({})).into_response(),
    }
}

/// The contract between `web` and `orders`: one interaction with a provider state and
/// one without.
pub fn orders_pact(consumer: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": "orders"},
        "interactions": [
            {
                "description": "a request for order 1",
                "providerStates": [{"name": "an order exists", "params": {"id": 1}}],
                "request": {"method": "GET", "path": "/orders/1"},
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"id": 1, "status": "shipped"},
                    "matchingRules": {"body": {"$.status": {"matchers": [{"match": "type"}]}}}
                }
            },
            {
                "description": "a request for a missing order",
                "request": {"method": "GET", "path": "/orders/99"},
                "response": {"status": 404}
            }
        ],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// Writes a pact into `dir` and returns its path.
pub fn write_pact(dir: &Path, name: &str, pact: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(pact).unwrap()).unwrap();
    path
}
