//! What a provider verifies and how it reports back: pacts for verification, fetching a
//! pact, publishing verification results.

use reqwest::Method;
use serde_json::{Value, json};
use tracing::instrument;

use crate::client::BrokerClient;
use crate::error::BrokerError;
use crate::hal::{HalDocument, links_in};
use crate::types::{
    FetchedPact, PactForVerification, PactsForVerificationRequest, ProviderVersion,
    VerificationNotice, VerificationResults,
};

impl BrokerClient {
    /// Asks the broker which pacts `provider` must verify (`pb:provider-pacts-for-verification`),
    /// with consumer version selectors, pending status and WIP pacts. A selector the broker
    /// refuses comes back as [`BrokerError::Refused`] with the broker's explanation.
    #[instrument(skip_all, fields(provider = %provider), err(level = "debug"))]
    pub async fn pacts_for_verification(
        &self,
        provider: &str,
        request: &PactsForVerificationRequest,
    ) -> Result<Vec<PactForVerification>, BrokerError> {
        let url = self
            .relation_url(
                "pb:provider-pacts-for-verification",
                &[("provider", provider)],
            )
            .await?;
        let what = format!("provider {provider:?} (no pacts have been published for it)");
        let body = self
            .send(Method::POST, url.clone(), Some(request), &what)
            .await?;
        let document = HalDocument::new(url, body);
        let mut pacts = Vec::new();
        for item in document.embedded("pacts") {
            let Some(link) = links_in(&item, "self").into_iter().next() else {
                return Err(BrokerError::MissingRelation {
                    relation: "self (of a pact for verification)".to_string(),
                    url: document.url().to_string(),
                });
            };
            let properties = item
                .get("verificationProperties")
                .cloned()
                .unwrap_or(Value::Null);
            pacts.push(PactForVerification {
                href: link.href,
                name: link.name,
                short_description: item
                    .get("shortDescription")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                pending: properties
                    .get("pending")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                wip: properties
                    .get("wip")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                notices: properties
                    .get("notices")
                    .and_then(|notices| {
                        serde_json::from_value::<Vec<VerificationNotice>>(notices.clone()).ok()
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(pacts)
    }

    /// Fetches a pact by URL, keeping its `_links` (needed to publish results).
    #[instrument(skip_all, fields(href = %href), err(level = "debug"))]
    pub async fn fetch_pact(&self, href: &str) -> Result<FetchedPact, BrokerError> {
        let url = self.resolve(href)?;
        let what = format!("the pact at {url}");
        let document = self.get_document(url.clone(), &what).await?;
        Ok(FetchedPact {
            url: url.to_string(),
            json: document.into_body(),
        })
    }

    /// Publishes verification results for a pact fetched from this broker: records the
    /// provider version's branch (`pb:provider` → `pb:branch-version`) and tags
    /// (`pb:version-tag`) first, because the broker stores them with the result, then
    /// POSTs the result to the pact's `pb:publish-verification-results` link.
    #[instrument(skip_all, fields(pact = %pact.url, provider_version = %provider.number, success = results.success), err(level = "debug"))]
    pub async fn publish_verification_results(
        &self,
        pact: &FetchedPact,
        provider: &ProviderVersion,
        results: &VerificationResults,
    ) -> Result<HalDocument, BrokerError> {
        let missing = |relation: &str| BrokerError::MissingRelation {
            relation: relation.to_string(),
            url: pact.url.clone(),
        };
        let publish = links_in(&pact.json, "pb:publish-verification-results")
            .into_iter()
            .next()
            .ok_or_else(|| missing("pb:publish-verification-results"))?;

        if provider.branch.is_some() || !provider.tags.is_empty() {
            let provider_link = links_in(&pact.json, "pb:provider")
                .into_iter()
                .next()
                .ok_or_else(|| missing("pb:provider"))?;
            let provider_url = self.resolve(&provider_link.href)?;
            let provider_doc = self
                .get_document(provider_url, "the provider pacticipant of the pact")
                .await?;
            if let Some(branch) = &provider.branch {
                let link = provider_doc.require_link("pb:branch-version")?;
                let url = self
                    .resolve(&link.expand(&[("branch", branch), ("version", &provider.number)]))?;
                let what = format!("branch {branch:?} of the provider");
                self.send(Method::PUT, url, Some(&json!({})), &what).await?;
            }
            for tag in &provider.tags {
                let link = provider_doc.require_link("pb:version-tag")?;
                let url =
                    self.resolve(&link.expand(&[("version", &provider.number), ("tag", tag)]))?;
                let what = format!("tag {tag:?} of the provider version");
                self.send(Method::PUT, url, Some(&json!({})), &what).await?;
            }
        }

        let url = self.resolve(&publish.href)?;
        let what = format!("the pact version behind {}", pact.url);
        let body = self
            .send(Method::POST, url.clone(), Some(results), &what)
            .await?;
        Ok(HalDocument::new(url, body))
    }
}
