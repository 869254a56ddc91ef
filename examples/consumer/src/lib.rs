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
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: u64,
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
