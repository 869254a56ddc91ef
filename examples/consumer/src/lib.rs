//! An example consumer: the client an order dashboard uses to talk to the
//! orders service (`examples/provider`).
//!
//! Its tests (`tests/orders_contract.rs`) run this client against an Accord mock
//! provider; when they pass, Accord writes the pact file that records what this
//! client relies on: the fields it reads, their types, and the date format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An order line, as the dashboard reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
    pub price: f64,
}

/// An order, as the dashboard reads it. Fields it does not need are ignored.
///
/// The dashboard's next release (the `next` feature) no longer shows the order status,
/// so it stops reading it, and its pact no longer asks for it: the orders service is then
/// free to rename the field, once this release is out.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: u64,
    #[cfg(not(feature = "next"))]
    pub status: String,
    pub items: Vec<Item>,
    pub total: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct OrderList {
    orders: Vec<Order>,
}

/// Why a call to the orders service failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request to the orders service failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("order {0} not found")]
    NotFound(u64),
}

/// The orders service client.
#[derive(Debug, Clone)]
pub struct OrdersClient {
    base_url: String,
    http: reqwest::Client,
}

impl OrdersClient {
    /// A client for the service at `base_url` (e.g. `http://127.0.0.1:8000`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Fetches one order.
    pub async fn order(&self, id: u64) -> Result<Order, ClientError> {
        let response = self
            .http
            .get(format!("{}/orders/{id}", self.base_url))
            .header("Accept", "application/json")
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(ClientError::NotFound(id));
        }
        Ok(response.error_for_status()?.json().await?)
    }

    /// Lists every order.
    pub async fn orders(&self) -> Result<Vec<Order>, ClientError> {
        let response = self
            .http
            .get(format!("{}/orders", self.base_url))
            .header("Accept", "application/json")
            .send()
            .await?;
        Ok(response
            .error_for_status()?
            .json::<OrderList>()
            .await?
            .orders)
    }

    /// Places an order and returns it as the service stored it.
    pub async fn place_order(&self, customer: &str, items: &[Item]) -> Result<Order, ClientError> {
        let response = self
            .http
            .post(format!("{}/orders", self.base_url))
            .json(&serde_json::json!({ "customer": customer, "items": items }))
            .send()
            .await?;
        Ok(response.error_for_status()?.json().await?)
    }
}

/// The shipping service: it consumes the orders service's `order.created` events (structured
/// CloudEvents on the `orders` topic) and plans a shipment for each. Its message contract
/// (`tests/shipping_events.rs`) records what this handler relies on.
pub mod shipping {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    /// The CloudEvents type this handler accepts.
    pub const ORDER_CREATED: &str = "com.example.order.created";

    /// Why an event was refused.
    #[derive(Debug, thiserror::Error)]
    pub enum EventError {
        #[error("the event is not a CloudEvent this handler reads: {0}")]
        Malformed(#[from] serde_json::Error),
        #[error("unexpected event type {0:?} (expected {ORDER_CREATED:?})")]
        WrongType(String),
        #[error("an order.created event without items")]
        NoItems,
    }

    #[derive(Debug, Deserialize)]
    struct Envelope {
        specversion: String,
        #[serde(rename = "type")]
        kind: String,
        id: String,
        time: DateTime<Utc>,
        data: OrderCreated,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OrderCreated {
        order_id: u64,
        customer: String,
        items: Vec<Line>,
        created_at: DateTime<Utc>,
    }

    #[derive(Debug, Deserialize)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    /// A shipment the service plans for a new order.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Shipment {
        /// The order's id.
        pub order_id: u64,
        /// Who receives it.
        pub recipient: String,
        /// `sku x quantity` per line.
        pub lines: Vec<(String, u32)>,
        /// When the order was placed.
        pub ordered_at: DateTime<Utc>,
        /// The event's id, kept to ignore redeliveries.
        pub event_id: String,
        /// When the event happened.
        pub event_time: DateTime<Utc>,
    }

    /// Handles one `order.created` event payload.
    pub fn handle_order_created(payload: &[u8]) -> Result<Shipment, EventError> {
        let event: Envelope = serde_json::from_slice(payload)?;
        if event.kind != ORDER_CREATED || event.specversion != "1.0" {
            return Err(EventError::WrongType(event.kind));
        }
        if event.data.items.is_empty() {
            return Err(EventError::NoItems);
        }
        Ok(Shipment {
            order_id: event.data.order_id,
            recipient: event.data.customer,
            lines: event
                .data
                .items
                .into_iter()
                .map(|line| (line.sku, line.quantity))
                .collect(),
            ordered_at: event.data.created_at,
            event_id: event.id,
            event_time: event.time,
        })
    }
}
