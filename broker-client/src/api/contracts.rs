//! Publishing pacts: `POST /contracts/publish` (relation `pb:publish-contracts`).

use reqwest::Method;
use tracing::instrument;

use crate::client::BrokerClient;
use crate::error::{BrokerError, notices};
use crate::hal::links_in;
use crate::types::{PublishContracts, PublishedContracts};

impl BrokerClient {
    /// Publishes one consumer version's pacts, with its branch, tags and build URL.
    /// Returns the broker's notices. A content conflict (409) comes back as
    /// [`BrokerError::Refused`] with the broker's notices (which include the diff).
    #[instrument(skip_all, fields(consumer = %request.pacticipant_name, version = %request.pacticipant_version_number), err(level = "debug"))]
    pub async fn publish_contracts(
        &self,
        request: &PublishContracts,
    ) -> Result<PublishedContracts, BrokerError> {
        let url = self.relation_url("pb:publish-contracts", &[]).await?;
        let what = format!("the publish endpoint {}", url.path());
        let answer = self.send(Method::POST, url, Some(request), &what).await?;
        Ok(PublishedContracts {
            notices: notices(&answer),
            contract_urls: links_in(&answer, "pb:contracts")
                .into_iter()
                .map(|link| link.href)
                .collect(),
            body: answer,
        })
    }
}

impl BrokerClient {
    /// Publishes a provider contract (an OpenAPI document with the provider's own check
    /// of it) for a provider version, with its branch and tags, through
    /// `pf:publish-provider-contract`. The broker compares it with the provider's pacts
    /// before it answers; its notices say what each comparison found.
    #[instrument(skip_all, fields(provider = %provider), err(level = "debug"))]
    pub async fn publish_provider_contract(
        &self,
        provider: &str,
        request: &serde_json::Value,
    ) -> Result<PublishedContracts, BrokerError> {
        let url = self
            .relation_url("pf:publish-provider-contract", &[("provider", provider)])
            .await?;
        let what = format!("the provider contract endpoint {}", url.path());
        let answer = self.send(Method::POST, url, Some(request), &what).await?;
        Ok(PublishedContracts {
            notices: notices(&answer),
            contract_urls: links_in(&answer, "pf:provider-contract")
                .into_iter()
                .map(|link| link.href)
                .collect(),
            body: answer,
        })
    }
}
