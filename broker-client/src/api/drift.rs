//! Drift results: posting the drift monitor's reports and reading a provider's current
//! drift (`accord:drift`, an extension only Accord's broker offers).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::instrument;
use url::Url;

use crate::client::BrokerClient;
use crate::error::BrokerError;
use crate::types::{DriftState, PublishedDriftRun};

/// The index relation of a provider's drift resource.
const DRIFT: &str = "accord:drift";

impl BrokerClient {
    /// Posts one drift monitor report (the monitor's `DriftReport` as JSON) to the
    /// provider it names, through `accord:drift`. The broker stores it as one run and
    /// answers which findings are new, resolved or could not be checked again.
    ///
    /// Posting the same report twice is harmless (the broker recognises the run), so
    /// the client's retries on server and network errors are safe here.
    #[instrument(skip_all, fields(provider), err(level = "debug"))]
    pub async fn publish_drift_report(
        &self,
        report: &Value,
    ) -> Result<PublishedDriftRun, BrokerError> {
        let provider = report
            .get("provider")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
            .ok_or(BrokerError::InvalidDriftReport {
                problem: "it has no \"provider\" naming the provider it is about",
            })?;
        tracing::Span::current().record("provider", provider);
        let url = self.drift_url(provider).await?;
        let what = format!("provider {provider:?}");
        let body = self
            .send(Method::POST, url.clone(), Some(report), &what)
            .await?;
        decode(&url, body)
    }

    /// The current drift of a provider: its open findings in each environment (or in
    /// `environment` only) with the latest run of each.
    #[instrument(skip_all, fields(provider = %provider), err(level = "debug"))]
    pub async fn drift_state(
        &self,
        provider: &str,
        environment: Option<&str>,
    ) -> Result<DriftState, BrokerError> {
        let mut url = self.drift_url(provider).await?;
        if let Some(environment) = environment {
            url.query_pairs_mut()
                .append_pair("environment", environment);
        }
        let what = format!("provider {provider:?}");
        let document = self.get_document(url.clone(), &what).await?;
        decode(&url, document.into_body())
    }

    async fn drift_url(&self, provider: &str) -> Result<Url, BrokerError> {
        match self.relation_url(DRIFT, &[("provider", provider)]).await {
            Err(BrokerError::MissingRelation { url, .. }) => {
                Err(BrokerError::DriftNotSupported { url })
            }
            other => other,
        }
    }
}

fn decode<T: DeserializeOwned>(url: &Url, body: Value) -> Result<T, BrokerError> {
    serde_json::from_value(body).map_err(|source| BrokerError::BadResponse {
        url: url.to_string(),
        source,
    })
}
