//! The provider states of the broker client's pact, set up through the broker's
//! own HTTP API the way a client would: publishing pacts, tagging, adding versions
//! to branches, publishing verification results through the pact's
//! `pb:publish-verification-results` link, creating environments and recording
//! deployments.
//!
//! Each state mirrors what the official broker's verification of the same pact sets
//! up. Where that set-up writes to the database directly (a pact "revised" in
//! place, an environment or deployment with a chosen uuid), the HTTP equivalent is
//! used and noted beside the state.

use std::collections::HashMap;

use anyhow::{Context, bail};
use reqwest::{Method, Url};
use serde_json::{Value, json};

/// The key under which the harness remembers an environment's real uuid: by the
/// environment's name, and by the uuid the consumer's pact uses for it.
pub fn environment_key(name_or_pact_uuid: &str) -> String {
    format!("environment {name_or_pact_uuid}")
}

/// The key under which the harness remembers a deployed version's real uuid.
pub fn deployed_version_key(pact_uuid: &str) -> String {
    format!("deployed version {pact_uuid}")
}

/// The uuid the pact uses for the `test` environment in the environment interactions.
const TEST_ENVIRONMENT_UUID: &str = "16926ef3-590f-4e3f-838e-719717aa88c9";
/// The uuid the pact uses for the deployed version it lists and undeploys.
const DEPLOYED_VERSION_UUID: &str = "ff3adecf-cfc5-4653-a4e3-f1861092f8e0";
/// The uuid the pact uses for the webhook it updates.
const WEBHOOK_UUID: &str = "696c5f93-1b7f-44bc-8d03-59440fcaa9a0";
const FOO_VERSION: &str = "5556b8149bf8bac76bc30f50a8a2dd4c22c85f30";
const PRICING_SERVICE_REPOSITORY: &str =
    "git@git.realestate.com.au:business-systems/pricing-service";

/// Sets up `state` on an empty broker. The empty state (an interaction without a
/// provider state) needs nothing.
pub async fn seed(state: &str, s: &mut Seeder) -> anyhow::Result<()> {
    match state {
        ""
        | "the pb:pacticipant-branch relation exists in the index resource"
        | "the pb:latest-version relation exists in the index resource"
        | "the pb:latest-tagged-version relation exists in the index resource"
        | "the pacticipant relations are present"
        | "the pb:publish-contracts relations exists in the index resource"
        | "the pb:pacticipant-version and pb:environments relations exist in the index resource"
        | "the 'Pricing Service' does not exist in the pact-broker"
        | "no pact between Condor and the Pricing Service exists"
        | "'Condor' does not exist in the pact-broker" => Ok(()),

        "a branch named main exists for pacticipant Foo" => {
            s.branch_version("Foo", "main", "1").await
        }

        "a pact between Condor and the Pricing Service exists"
        | "a latest pact between Condor and the Pricing Service exists"
        | "the 'Pricing Service' and 'Condor' already exist in the pact-broker, and Condor already has a pact published for version 1.3.0" => {
            s.publish(
                "Condor",
                "1.3.0",
                "Pricing Service",
                empty_pact("Condor", "Pricing Service"),
            )
            .await
            .map(drop)
        }

        "tagged as prod pact between Condor and the Pricing Service exists"
        | "a pact between Condor and the Pricing Service exists for the production version of Condor" =>
        {
            s.tag("Condor", "1.3.0", "prod").await?;
            s.publish(
                "Condor",
                "1.3.0",
                "Pricing Service",
                empty_pact("Condor", "Pricing Service"),
            )
            .await
            .map(drop)
        }

        "'Condor' exists in the pact-broker" => {
            s.pacticipant("Condor", None).await?;
            s.version("Condor", "1.3.0").await
        }

        "the 'Pricing Service' already exists in the pact-broker" => {
            s.pacticipant("Pricing Service", Some(PRICING_SERVICE_REPOSITORY))
                .await?;
            s.version("Pricing Service", "1.3.0").await
        }

        "'Condor' exists in the pact-broker with version 1.3.0, tagged with 'prod'" => {
            s.tag("Condor", "1.3.0", "prod").await
        }

        "'Condor' exists in the pact-broker with the latest version 1.2.3" => {
            s.version("Condor", "1.0.0").await?;
            s.version("Condor", "1.2.3").await
        }

        "'Condor' exists in the pact-broker with the latest tagged 'production' version 1.2.3" => {
            s.tag("Condor", "1.2.3", "production").await?;
            s.version("Condor", "2.0.0").await
        }

        "a pacticipant with name Foo exists" => s.pacticipant("Foo", None).await,

        "the 'Pricing Service' and 'Condor' already exist in the pact-broker" => {
            s.pacticipant("Condor", None).await?;
            s.pacticipant("Pricing Service", None).await
        }

        // The official set-up publishes a pact and then revises its content in place
        // before verifying; publishing the final content once is the same to the
        // matrix. Every consumer version gets content of its own, so verifications
        // (which belong to content) do not spill from one version to another.
        "provider Bar version 4.5.6 has a successful verification for Foo version 1.2.3 tagged prod and a failed verification for version 3.4.5 tagged prod" =>
        {
            s.tag("Foo", "1.2.3", "prod").await?;
            let first = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&first, "4.5.6", true).await?;
            s.tag("Foo", "3.4.5", "prod").await?;
            let second = s
                .publish("Foo", "3.4.5", "Bar", distinct_pact("Foo", "3.4.5", "Bar"))
                .await?;
            s.verify(&second, "4.5.6", false).await
        }

        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6" => {
            verified_twice_and_newer_version(s, "Foo").await
        }

        "the pact for Foo Thing version 1.2.3 has been verified by Bar version 4.5.6" => {
            verified_twice_and_newer_version(s, "Foo Thing").await
        }

        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6 and version 5.6.7" =>
        {
            let pact = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&pact, "4.5.6", true).await?;
            s.verify(&pact, "5.6.7", true).await
        }

        "the pact for Foo version 1.2.3 and 1.2.4 has been verified by Bar version 4.5.6" => {
            let first = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&first, "4.5.6", true).await?;
            let second = s
                .publish("Foo", "1.2.4", "Bar", distinct_pact("Foo", "1.2.4", "Bar"))
                .await?;
            s.verify(&second, "4.5.6", true).await
        }

        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6, and 1.2.4 unsuccessfully by 9.9.9" =>
        {
            let first = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&first, "4.5.6", true).await?;
            let second = s
                .publish("Foo", "1.2.4", "Bar", distinct_pact("Foo", "1.2.4", "Bar"))
                .await?;
            s.verify(&second, "9.9.9", false).await
        }

        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 with tag prod, and 1.2.4 unsuccessfully by 9.9.9" =>
        {
            let first = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&first, "4.5.6", true).await?;
            s.tag("Bar", "4.5.6", "prod").await?;
            let second = s
                .publish("Foo", "1.2.4", "Bar", distinct_pact("Foo", "1.2.4", "Bar"))
                .await?;
            s.verify(&second, "9.9.9", false).await
        }

        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 (tagged prod) and version 5.6.7" =>
        {
            let pact = s
                .publish("Foo", "1.2.3", "Bar", distinct_pact("Foo", "1.2.3", "Bar"))
                .await?;
            s.verify(&pact, "4.5.6", true).await?;
            s.tag("Bar", "4.5.6", "prod").await?;
            s.verify(&pact, "5.6.7", true).await
        }

        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for deployment"
        | "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for release" =>
        {
            s.version("Foo", FOO_VERSION).await?;
            s.environment("test", None).await.map(drop)
        }

        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with 2 environments that aren't test available for deployment" =>
        {
            s.version("Foo", FOO_VERSION).await?;
            s.environment("prod", None).await?;
            s.environment("dev", None).await.map(drop)
        }

        "an environment with name test exists" => s.environment("test", None).await.map(drop),

        "an environment with name test and UUID 16926ef3-590f-4e3f-838e-719717aa88c9 exists" => s
            .environment("test", Some(TEST_ENVIRONMENT_UUID))
            .await
            .map(drop),

        "an version is deployed to environment with UUID 16926ef3-590f-4e3f-838e-719717aa88c9 with target customer-1" =>
        {
            let environment = s.environment("test", Some(TEST_ENVIRONMENT_UUID)).await?;
            s.version("Foo", FOO_VERSION).await?;
            s.deploy(
                "Foo",
                FOO_VERSION,
                &environment,
                Some("customer-1"),
                DEPLOYED_VERSION_UUID,
            )
            .await
        }

        "a currently deployed version exists" => {
            let environment = s.environment("test", None).await?;
            s.version("Foo", FOO_VERSION).await?;
            s.deploy(
                "Foo",
                FOO_VERSION,
                &environment,
                None,
                DEPLOYED_VERSION_UUID,
            )
            .await
        }

        "a webhook with the uuid 696c5f93-1b7f-44bc-8d03-59440fcaa9a0 exists" => {
            s.pacticipant("Condor", None).await?;
            s.pacticipant("Pricing Service", None).await?;
            s.webhook(
                WEBHOOK_UUID,
                json!({
                    "description": "an existing webhook",
                    "consumer": {"name": "Condor"},
                    "provider": {"name": "Pricing Service"},
                    "events": [{"name": "contract_content_changed"}],
                    "request": {"method": "POST", "url": "http://example.org", "headers": {"Content-Type": "application/json"}}
                }),
            )
            .await
        }

        other => bail!("the harness has no set-up for the provider state '{other}'"),
    }
}

/// Foo (or "Foo Thing") 1.2.3 verified by Bar 4.5.6 and 7.8.9, and a newer
/// consumer version 2.0.0 with different content verified by 4.5.6.
async fn verified_twice_and_newer_version(s: &mut Seeder, consumer: &str) -> anyhow::Result<()> {
    let first = s
        .publish(
            consumer,
            "1.2.3",
            "Bar",
            distinct_pact(consumer, "1.2.3", "Bar"),
        )
        .await?;
    s.verify(&first, "4.5.6", true).await?;
    s.verify(&first, "7.8.9", true).await?;
    let second = s
        .publish(
            consumer,
            "2.0.0",
            "Bar",
            distinct_pact(consumer, "2.0.0", "Bar"),
        )
        .await?;
    s.verify(&second, "4.5.6", true).await
}

fn metadata() -> Value {
    json!({"pactSpecification": {"version": "2.0.0"}})
}

/// A pact without interactions: the pact interactions expect `"interactions": []`.
fn empty_pact(consumer: &str, provider: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [],
        "metadata": metadata(),
    })
}

/// A pact whose content belongs to this consumer version alone.
fn distinct_pact(consumer: &str, version: &str, provider: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": format!("a request from {consumer} version {version}"),
            "request": {"method": "GET", "path": "/"},
            "response": {"status": 200}
        }],
        "metadata": metadata(),
    })
}

/// A client of one broker instance that remembers the ids the broker generated.
pub struct Seeder {
    client: reqwest::Client,
    base: Url,
    ids: HashMap<String, String>,
}

impl Seeder {
    pub fn new(client: reqwest::Client, base_url: &str) -> Seeder {
        Seeder {
            client,
            base: base_url.parse().expect("the broker's base URL is a URL"),
            ids: HashMap::new(),
        }
    }

    /// The ids of generated resources, by the keys [`environment_key`] and
    /// [`deployed_version_key`] produce.
    pub fn into_ids(self) -> HashMap<String, String> {
        self.ids
    }

    /// The broker URL of these path segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http URL has path segments")
            .clear()
            .extend(segments);
        url
    }

    /// A link of the broker (built on its public base URL) re-targeted at the broker
    /// itself, keeping path and query as the official clients do.
    fn follow(&self, href: &str) -> anyhow::Result<Url> {
        let link: Url = href
            .parse()
            .with_context(|| format!("the link {href} is not a URL"))?;
        let mut url = self.base.clone();
        url.set_path(link.path());
        url.set_query(link.query());
        Ok(url)
    }

    async fn send(&self, method: Method, url: Url, body: Option<Value>) -> anyhow::Result<Value> {
        let what = format!("{method} {}", url.path());
        let mut request = self
            .client
            .request(method, url)
            .header("Accept", "application/hal+json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{what}: no answer"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{what}: reading the body"))?;
        if !status.is_success() {
            bail!(
                "{what} answered {status}: {}",
                text.chars().take(300).collect::<String>()
            );
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{what} answered {status} with a body that is not JSON"))
    }

    pub async fn pacticipant(
        &self,
        name: &str,
        repository_url: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut body = json!({"name": name});
        if let Some(repository_url) = repository_url {
            body["repositoryUrl"] = json!(repository_url);
        }
        self.send(Method::POST, self.url(&["pacticipants"]), Some(body))
            .await
            .map(drop)
    }

    pub async fn version(&self, pacticipant: &str, number: &str) -> anyhow::Result<()> {
        let url = self.url(&["pacticipants", pacticipant, "versions", number]);
        self.send(Method::PUT, url, Some(json!({}))).await.map(drop)
    }

    pub async fn branch_version(
        &self,
        pacticipant: &str,
        branch: &str,
        number: &str,
    ) -> anyhow::Result<()> {
        let url = self.url(&[
            "pacticipants",
            pacticipant,
            "branches",
            branch,
            "versions",
            number,
        ]);
        self.send(Method::PUT, url, Some(json!({}))).await.map(drop)
    }

    pub async fn tag(&self, pacticipant: &str, number: &str, tag: &str) -> anyhow::Result<()> {
        let url = self.url(&["pacticipants", pacticipant, "versions", number, "tags", tag]);
        self.send(Method::PUT, url, Some(json!({}))).await.map(drop)
    }

    /// Publishes a pact and returns the broker's representation of it (with links).
    pub async fn publish(
        &self,
        consumer: &str,
        version: &str,
        provider: &str,
        pact: Value,
    ) -> anyhow::Result<Value> {
        let url = self.url(&[
            "pacts", "provider", provider, "consumer", consumer, "version", version,
        ]);
        self.send(Method::PUT, url, Some(pact)).await
    }

    /// Publishes a verification result through the pact's own link.
    pub async fn verify(
        &self,
        pact: &Value,
        provider_version: &str,
        success: bool,
    ) -> anyhow::Result<()> {
        let href = pact["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .context("the published pact has no pb:publish-verification-results link")?;
        let url = self.follow(href)?;
        let body = json!({"success": success, "providerApplicationVersion": provider_version});
        self.send(Method::POST, url, Some(body)).await.map(drop)
    }

    /// Creates an environment and returns its uuid, remembered under its name and,
    /// when the pact refers to it by a uuid of its own, under that uuid too (the
    /// broker generates uuids, so the pact's cannot be used as they are).
    pub async fn environment(
        &mut self,
        name: &str,
        pact_uuid: Option<&str>,
    ) -> anyhow::Result<String> {
        let created = self
            .send(
                Method::POST,
                self.url(&["environments"]),
                Some(json!({"name": name, "production": false})),
            )
            .await?;
        let uuid = created["uuid"]
            .as_str()
            .with_context(|| format!("the created environment has no uuid: {created}"))?
            .to_string();
        self.ids.insert(environment_key(name), uuid.clone());
        if let Some(pact_uuid) = pact_uuid {
            self.ids.insert(environment_key(pact_uuid), uuid.clone());
        }
        Ok(uuid)
    }

    /// Records a deployment through the version's `pb:record-deployment` link for
    /// the environment, and remembers the deployed version under the pact's uuid.
    pub async fn deploy(
        &mut self,
        pacticipant: &str,
        number: &str,
        environment_uuid: &str,
        application_instance: Option<&str>,
        pact_uuid: &str,
    ) -> anyhow::Result<()> {
        let version = self
            .send(
                Method::GET,
                self.url(&["pacticipants", pacticipant, "versions", number]),
                None,
            )
            .await?;
        let links = version["_links"]["pb:record-deployment"]
            .as_array()
            .context("the version has no pb:record-deployment links")?;
        let href = links
            .iter()
            .filter_map(|link| link["href"].as_str())
            .find(|href| href.ends_with(environment_uuid))
            .with_context(|| {
                format!("no pb:record-deployment link for environment {environment_uuid}")
            })?;
        let url = self.follow(href)?;
        let body = match application_instance {
            Some(instance) => json!({"applicationInstance": instance}),
            None => json!({}),
        };
        let deployed = self.send(Method::POST, url, Some(body)).await?;
        let uuid = deployed["uuid"]
            .as_str()
            .with_context(|| format!("the recorded deployment has no uuid: {deployed}"))?;
        self.ids
            .insert(deployed_version_key(pact_uuid), uuid.to_string());
        Ok(())
    }

    /// Creates a webhook with a chosen uuid (`PUT /webhooks/{uuid}` creates).
    pub async fn webhook(&self, uuid: &str, body: Value) -> anyhow::Result<()> {
        self.send(Method::PUT, self.url(&["webhooks", uuid]), Some(body))
            .await
            .map(drop)
    }
}
