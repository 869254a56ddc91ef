//! Importing another broker's history (Accord's `accord:import` relation).

use reqwest::Method;
use serde_json::Value;
use tracing::instrument;

use crate::client::BrokerClient;
use crate::error::BrokerError;

impl BrokerClient {
    /// Whether the broker takes imports (an Accord broker does, through `accord:import`).
    pub async fn takes_imports(&self) -> Result<bool, BrokerError> {
        Ok(self.index().await?.link("accord:import").is_some())
    }

    /// Sends one batch of an import (its JSON as `POST /admin/import` takes it) and
    /// returns the broker's answer: counts of what was created and what was there.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn import_batch(&self, batch: &Value) -> Result<Value, BrokerError> {
        let url = self.relation_url("accord:import", &[]).await?;
        self.send(Method::POST, url, Some(batch), "the import endpoint")
            .await
    }

    /// PUTs a JSON body to any broker resource by href and returns the answer.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn put_json(&self, href: &str, body: &Value) -> Result<Value, BrokerError> {
        let url = self.resolve(href)?;
        let what = format!("the resource {}", url.path());
        self.send(Method::PUT, url, Some(body), &what).await
    }

    /// POSTs a JSON body to any broker resource by href and returns the answer.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn post_json(&self, href: &str, body: &Value) -> Result<Value, BrokerError> {
        let url = self.resolve(href)?;
        let what = format!("the resource {}", url.path());
        self.send(Method::POST, url, Some(body), &what).await
    }
}
