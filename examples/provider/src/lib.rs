//! An example provider: a small orders service.
//!
//! It exists so that a newcomer can run the whole Accord loop on their machine:
//! the example consumer's tests describe what they need from it, `accord verify`
//! checks it honours that, and `accord monitor` watches it for drift.
//!
//! Two switches make it misbehave on purpose:
//! - [`Behaviour::Breaking`] renames the `status` field to `state`, a change that
//!   verification must catch;
//! - [`DateFormat::Unix`] serves `createdAt` as a Unix timestamp instead of an
//!   ISO 8601 string, the kind of drift that slips into production after an
//!   upstream upgrade. It can be flipped at run time with
//!   `PUT /_example/date-format` (`"iso8601"` or `"unix"`), so the monitor can be
//!   watched catching it without a restart.
//!
//! Provider states are set up through `POST /_pact/provider-states`, the usual
//! state change endpoint shape: `{"state": "...", "params": {...}, "action": "setup"}`.
//!
//! The service also publishes an `order.created` event for every new order, a
//! structured CloudEvent ([`AppState::order_created_event`]) on the `orders` topic.
//! Its message contract is verified through `POST /_pact/messages`, the message
//! endpoint convention of the Pact verifiers: the body names the message
//! (`{"description", "providerStates"}`), the answer is the message (body and
//! `Content-Type`) with its metadata as base64 JSON in `Pact-Message-Metadata`.
//! The date format switch applies to events too.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How the service behaves: correctly, or with a breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Honours the contract.
    #[default]
    Correct,
    /// Renames `status` to `state` in every order: a breaking change.
    Breaking,
}

/// How `createdAt` is serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateFormat {
    /// `"2024-05-01T10:00:00Z"`, what the consumers rely on.
    #[default]
    Iso8601,
    /// `1714557600`, the drift.
    Unix,
}

/// An order line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
    pub price: f64,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: u64,
    pub status: String,
    pub customer: String,
    pub items: Vec<Item>,
    pub created_at: DateTime<Utc>,
}

/// What a new order is created from.
#[derive(Debug, Deserialize)]
pub struct NewOrder {
    pub customer: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Default)]
struct Inner {
    orders: BTreeMap<u64, Order>,
    next_id: u64,
    date_format: DateFormat,
}

/// The service state, shared by the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    behaviour: Behaviour,
    inner: Arc<RwLock<Inner>>,
}

impl AppState {
    /// A service with the given behaviour, seeded with one order (id 1).
    pub fn new(behaviour: Behaviour, date_format: DateFormat) -> Self {
        let state = Self {
            behaviour,
            inner: Arc::new(RwLock::new(Inner {
                next_id: 1,
                date_format,
                ..Inner::default()
            })),
        };
        state.seed_order(1);
        state
    }

    /// Makes sure an order with this id exists, with fixed example data.
    pub fn seed_order(&self, id: u64) {
        let mut inner = self.inner.write().expect("state lock poisoned");
        inner.orders.insert(
            id,
            Order {
                id,
                status: "shipped".into(),
                customer: "ada@example.com".into(),
                items: vec![Item {
                    sku: "BOOK-42".into(),
                    quantity: 2,
                    price: 12.5,
                }],
                created_at: Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap(),
            },
        );
        inner.next_id = inner.next_id.max(id + 1);
    }

    fn clear(&self) {
        self.inner
            .write()
            .expect("state lock poisoned")
            .orders
            .clear();
    }

    /// Switches the date format at run time.
    pub fn set_date_format(&self, format: DateFormat) {
        self.inner.write().expect("state lock poisoned").date_format = format;
    }

    fn render(&self, order: &Order, format: DateFormat) -> Value {
        let created_at = match format {
            DateFormat::Iso8601 => json!(
                order
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            DateFormat::Unix => json!(order.created_at.timestamp()),
        };
        let total: f64 = order
            .items
            .iter()
            .map(|i| i.price * f64::from(i.quantity))
            .sum();
        let status_key = match self.behaviour {
            Behaviour::Correct => "status",
            Behaviour::Breaking => "state",
        };
        json!({
            "id": order.id,
            status_key: order.status,
            "customer": order.customer,
            "items": order.items,
            "total": total,
            "createdAt": created_at,
        })
    }
}

pub mod events;

/// The topic order events are published to.
pub const ORDERS_TOPIC: &str = "orders";

/// The CloudEvents `type` of the event published when an order is created.
pub const ORDER_CREATED: &str = "com.example.order.created";

impl AppState {
    /// The `order.created` event of an order, as a structured CloudEvent
    /// (`application/cloudevents+json`), or `None` when there is no such order.
    pub fn order_created_event(&self, id: u64) -> Option<Value> {
        let inner = self.inner.read().expect("state lock poisoned");
        let order = inner.orders.get(&id)?;
        let format = inner.date_format;
        let time = match format {
            DateFormat::Iso8601 => json!(
                order
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            DateFormat::Unix => json!(order.created_at.timestamp()),
        };
        let data = self.render(order, format);
        Some(json!({
            "specversion": "1.0",
            "type": ORDER_CREATED,
            "source": "/orders",
            "id": format!("order-{id}-created"),
            "time": time,
            "datacontenttype": "application/json",
            "data": {
                "orderId": data["id"],
                "customer": data["customer"],
                "items": data["items"],
                "total": data["total"],
                "createdAt": data["createdAt"],
            },
        }))
    }
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/{id}", get(get_order))
        .route("/health", get(|| async { "ok" }))
        .route("/_pact/provider-states", post(provider_state))
        .route("/_pact/messages", post(produce_message))
        .route("/_example/date-format", put(set_date_format))
        .with_state(state)
}

async fn list_orders(State(state): State<AppState>) -> Json<Value> {
    let inner = state.inner.read().expect("state lock poisoned");
    let orders: Vec<Value> = inner
        .orders
        .values()
        .map(|o| state.render(o, inner.date_format))
        .collect();
    Json(json!({ "orders": orders }))
}

async fn get_order(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "order id must be a positive integer",
        );
    };
    let inner = state.inner.read().expect("state lock poisoned");
    match inner.orders.get(&id) {
        Some(order) => Json(state.render(order, inner.date_format)).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("order {id} not found")),
    }
}

async fn create_order(
    State(state): State<AppState>,
    body: Result<Json<NewOrder>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(new)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "body must be {\"customer\": string, \"items\": [{\"sku\", \"quantity\", \"price\"}]}",
        );
    };
    if new.items.is_empty() {
        return error(StatusCode::BAD_REQUEST, "an order needs at least one item");
    }
    let mut inner = state.inner.write().expect("state lock poisoned");
    let id = inner.next_id;
    inner.next_id += 1;
    let order = Order {
        id,
        status: "pending".into(),
        customer: new.customer,
        items: new.items,
        created_at: Utc::now(),
    };
    let body = state.render(&order, inner.date_format);
    inner.orders.insert(id, order);
    (StatusCode::CREATED, Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
struct StateChange {
    #[serde(default)]
    state: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    action: Option<String>,
}

/// Sets up the data a provider state names. Unknown states are refused, so a
/// contract that relies on a state the provider does not know fails loudly.
async fn provider_state(
    State(state): State<AppState>,
    Json(change): Json<StateChange>,
) -> Response {
    if change.action.as_deref() == Some("teardown") {
        return StatusCode::OK.into_response();
    }
    let id_param = change
        .params
        .get("id")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
    match change.state.as_str() {
        "an order exists" | "order 1 exists" => {
            state.seed_order(id_param.unwrap_or(1));
            Json(json!({})).into_response()
        }
        // Verifiers call the endpoint for interactions without a state too.
        "" => Json(json!({})).into_response(),
        "no orders exist" => {
            state.clear();
            Json(json!({})).into_response()
        }
        other => error(
            StatusCode::BAD_REQUEST,
            &format!("unknown provider state {other:?}"),
        ),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRequest {
    description: String,
    #[serde(default)]
    provider_states: Vec<GivenState>,
}

#[derive(Debug, Deserialize)]
struct GivenState {
    name: String,
    #[serde(default)]
    params: Value,
}

/// Produces the message a contract names, after setting up its provider states.
async fn produce_message(
    State(state): State<AppState>,
    Json(request): Json<MessageRequest>,
) -> Response {
    let mut id = 1;
    for given in &request.provider_states {
        if given.name == "an order exists" {
            id = given.params.get("id").and_then(Value::as_u64).unwrap_or(1);
            state.seed_order(id);
        }
    }
    match request.description.as_str() {
        "an order.created event" => match state.order_created_event(id) {
            Some(event) => {
                let metadata = json!({
                    "contentType": "application/cloudevents+json",
                    "kafka_topic": ORDERS_TOPIC,
                });
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(metadata.to_string());
                (
                    [
                        ("Content-Type", "application/cloudevents+json".to_string()),
                        ("Pact-Message-Metadata", encoded),
                    ],
                    event.to_string(),
                )
                    .into_response()
            }
            None => error(StatusCode::NOT_FOUND, &format!("order {id} not found")),
        },
        other => error(
            StatusCode::NOT_FOUND,
            &format!("this service produces no message {other:?}"),
        ),
    }
}

async fn set_date_format(
    State(state): State<AppState>,
    Json(format): Json<DateFormat>,
) -> StatusCode {
    state.set_date_format(format);
    StatusCode::NO_CONTENT
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Serves the example provider on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, app(state)).await
}
