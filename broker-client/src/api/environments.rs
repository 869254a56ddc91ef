//! Environments, deployments, releases and versions.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::instrument;
use url::Url;

use crate::client::BrokerClient;
use crate::error::BrokerError;
use crate::hal::HalDocument;
use crate::types::{DeployedVersion, Environment, NewEnvironment, ReleasedVersion, Version};

impl BrokerClient {
    /// Creates an environment (`POST` to `pb:environments`).
    #[instrument(skip_all, fields(name = %environment.name), err(level = "debug"))]
    pub async fn create_environment(
        &self,
        environment: &NewEnvironment,
    ) -> Result<Environment, BrokerError> {
        let url = self.relation_url("pb:environments", &[]).await?;
        let body = self
            .send(
                Method::POST,
                url.clone(),
                Some(environment),
                "the environments collection",
            )
            .await?;
        decode(&url, body)
    }

    /// Every environment the broker knows.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn environments(&self) -> Result<Vec<Environment>, BrokerError> {
        let url = self.relation_url("pb:environments", &[]).await?;
        let document = self
            .get_document(url.clone(), "the environments collection")
            .await?;
        document
            .embedded("environments")
            .into_iter()
            .map(|item| decode(&url, item))
            .collect()
    }

    /// The environment with this name, if the broker has one.
    pub async fn environment(&self, name: &str) -> Result<Option<Environment>, BrokerError> {
        Ok(self
            .environments()
            .await?
            .into_iter()
            .find(|env| env.name == name))
    }

    /// Records that a pacticipant version was deployed to an environment (optionally to
    /// one application instance), through the version's `pb:record-deployment` links.
    #[instrument(skip_all, fields(pacticipant = %pacticipant, version = %version, environment = %environment), err(level = "debug"))]
    pub async fn record_deployment(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
        application_instance: Option<&str>,
    ) -> Result<DeployedVersion, BrokerError> {
        let document = self.version_document(pacticipant, version).await?;
        let url = self.environment_action(&document, "pb:record-deployment", environment)?;
        let body = match application_instance {
            Some(instance) => json!({ "applicationInstance": instance }),
            None => json!({}),
        };
        let what = format!("version {version:?} of {pacticipant:?} or environment {environment:?}");
        let answer = self
            .send(Method::POST, url.clone(), Some(&body), &what)
            .await?;
        decode(&url, answer)
    }

    /// Records that a pacticipant version was released to an environment, through the
    /// version's `pb:record-release` links.
    #[instrument(skip_all, fields(pacticipant = %pacticipant, version = %version, environment = %environment), err(level = "debug"))]
    pub async fn record_release(
        &self,
        pacticipant: &str,
        version: &str,
        environment: &str,
    ) -> Result<ReleasedVersion, BrokerError> {
        let document = self.version_document(pacticipant, version).await?;
        let url = self.environment_action(&document, "pb:record-release", environment)?;
        let what = format!("version {version:?} of {pacticipant:?} or environment {environment:?}");
        let answer = self
            .send(Method::POST, url.clone(), Some(&json!({})), &what)
            .await?;
        decode(&url, answer)
    }

    /// Describes one version of a pacticipant (`pb:pacticipant-version`).
    #[instrument(skip_all, fields(pacticipant = %pacticipant, version = %version), err(level = "debug"))]
    pub async fn describe_version(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> Result<Version, BrokerError> {
        let document = self.version_document(pacticipant, version).await?;
        version_from(document)
    }

    /// Describes the latest version of a pacticipant, or the latest with a tag
    /// (`pb:latest-version` / `pb:latest-tagged-version`).
    #[instrument(skip_all, fields(pacticipant = %pacticipant), err(level = "debug"))]
    pub async fn latest_version(
        &self,
        pacticipant: &str,
        tag: Option<&str>,
    ) -> Result<Version, BrokerError> {
        let (url, what) = match tag {
            Some(tag) => (
                self.relation_url(
                    "pb:latest-tagged-version",
                    &[("pacticipant", pacticipant), ("tag", tag)],
                )
                .await?,
                format!("a version of {pacticipant:?} tagged {tag:?}"),
            ),
            None => (
                self.relation_url("pb:latest-version", &[("pacticipant", pacticipant)])
                    .await?,
                format!("a version of {pacticipant:?}"),
            ),
        };
        version_from(self.get_document(url, &what).await?)
    }

    async fn version_document(
        &self,
        pacticipant: &str,
        version: &str,
    ) -> Result<HalDocument, BrokerError> {
        let url = self
            .relation_url(
                "pb:pacticipant-version",
                &[("pacticipant", pacticipant), ("version", version)],
            )
            .await?;
        let what = format!("version {version:?} of pacticipant {pacticipant:?}");
        self.get_document(url, &what).await
    }

    /// Picks the link of `relation` named after the environment (the version resource has
    /// one per environment).
    fn environment_action(
        &self,
        document: &HalDocument,
        relation: &str,
        environment: &str,
    ) -> Result<Url, BrokerError> {
        let links = document.links(relation);
        match links
            .iter()
            .find(|link| link.name.as_deref() == Some(environment))
        {
            Some(link) => self.resolve(&link.href),
            None => Err(BrokerError::UnknownEnvironment {
                name: environment.to_string(),
                available: links.into_iter().filter_map(|link| link.name).collect(),
            }),
        }
    }
}

fn decode<T: DeserializeOwned>(url: &Url, body: Value) -> Result<T, BrokerError> {
    serde_json::from_value(body).map_err(|source| BrokerError::BadResponse {
        url: url.to_string(),
        source,
    })
}

fn version_from(document: HalDocument) -> Result<Version, BrokerError> {
    let url = document.url().clone();
    let body = document.into_body();
    match Version::from_body(body.clone()) {
        Some(version) => Ok(version),
        None => Err(BrokerError::BadResponse {
            url: url.to_string(),
            source: <serde_json::Error as serde::de::Error>::missing_field("number"),
        }),
    }
}
