//! Scoped API tokens (Accord's `accord:tokens` relation).

use reqwest::Method;
use serde_json::json;
use tracing::instrument;

use crate::client::BrokerClient;
use crate::error::BrokerError;
use crate::types::{ApiToken, CreatedApiToken, NewApiToken};

impl BrokerClient {
    /// Creates a scoped token. Its value is in the answer, and never shown again.
    #[instrument(skip_all, fields(name = %token.name), err(level = "debug"))]
    pub async fn create_token(&self, token: &NewApiToken) -> Result<CreatedApiToken, BrokerError> {
        let url = self.relation_url("accord:tokens", &[]).await?;
        let body = self
            .send(
                Method::POST,
                url.clone(),
                Some(token),
                "the tokens collection",
            )
            .await?;
        serde_json::from_value(body).map_err(|source| BrokerError::BadResponse {
            url: url.to_string(),
            source,
        })
    }

    /// Every scoped token, without its value.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, BrokerError> {
        let url = self.relation_url("accord:tokens", &[]).await?;
        let document = self
            .get_document(url.clone(), "the tokens collection")
            .await?;
        document
            .embedded("tokens")
            .into_iter()
            .map(|item| {
                serde_json::from_value(item).map_err(|source| BrokerError::BadResponse {
                    url: url.to_string(),
                    source,
                })
            })
            .collect()
    }

    /// Revokes (deletes) the token named `name`.
    #[instrument(skip_all, fields(name = %name), err(level = "debug"))]
    pub async fn revoke_token(&self, name: &str) -> Result<(), BrokerError> {
        let collection = self.relation_url("accord:tokens", &[]).await?;
        let mut url = collection.clone();
        url.path_segments_mut()
            .map_err(|()| BrokerError::InvalidUrl {
                url: collection.to_string(),
                source: url::ParseError::RelativeUrlWithoutBase,
            })?
            .push(name);
        self.send(
            Method::DELETE,
            url,
            None::<&serde_json::Value>,
            &format!("the token {}", json!(name)),
        )
        .await?;
        Ok(())
    }
}
