//! What to verify, against what, and what to do with the results.

use std::path::PathBuf;
use std::time::Duration;

use accord_broker_client::{BrokerAuth, BrokerClientConfig, ConsumerVersionSelector};
use url::Url;

use crate::error::VerifyError;

/// Everything a verification run needs. Build it with [`VerifyOptions::new`] and the
/// chaining methods, or fill the public fields directly.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The provider's name, as the pacts and the broker spell it.
    pub provider: String,
    /// Where the provider listens (`http://127.0.0.1:8080`, a path is kept as a prefix).
    /// [`crate::Verifier::verify_against`] overrides it.
    pub provider_base_url: Option<Url>,
    /// The path of the provider's message endpoint when it is not the base URL's
    /// (`/_pact/messages`); message interactions are POSTed there.
    pub messages_path: Option<String>,
    /// Where the pacts come from; at least one.
    pub sources: Vec<PactSource>,
    /// The provider's state change endpoint, if interactions have provider states.
    pub state_change: Option<StateChange>,
    /// Headers added to every request to the provider (for example an auth token).
    pub headers: Vec<(String, String)>,
    /// Time allowed for each request to the provider and to the state change URL.
    pub request_timeout: Duration,
    /// How long to wait for the provider to answer at all before giving up.
    /// Zero means one attempt.
    pub provider_ready_timeout: Duration,
    /// Which pacts and interactions to verify.
    pub filter: InteractionFilter,
    /// The provider version being verified (required to publish results).
    pub provider_version: Option<String>,
    /// The provider version's branch: sent to the broker to compute pending and WIP
    /// pacts, and recorded with published results.
    pub provider_branch: Option<String>,
    /// Provider version tags (legacy alternative to the branch).
    pub provider_tags: Vec<String>,
    /// Publish the results of pacts that came from a broker.
    pub publish: bool,
    /// The CI build URL recorded with published results.
    pub build_url: Option<String>,
    /// How many pacts to verify at the same time (at least 1).
    pub parallel: usize,
    /// Succeed when no pact is found instead of failing.
    pub ignore_no_pacts: bool,
}

impl VerifyOptions {
    /// Options for `provider` with the defaults: 5 s request timeout, no readiness wait,
    /// one pact at a time, nothing published.
    pub fn new(provider: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            provider_base_url: None,
            messages_path: None,
            sources: Vec::new(),
            state_change: None,
            headers: Vec::new(),
            request_timeout: Duration::from_secs(5),
            provider_ready_timeout: Duration::ZERO,
            filter: InteractionFilter::default(),
            provider_version: None,
            provider_branch: None,
            provider_tags: Vec::new(),
            publish: false,
            build_url: None,
            parallel: 1,
            ignore_no_pacts: false,
        }
    }

    /// Sets the provider's base URL.
    pub fn provider_base_url(mut self, url: Url) -> Self {
        self.provider_base_url = Some(url);
        self
    }

    /// Sets the path of the provider's message endpoint (see [`Self::messages_path`]).
    pub fn messages_path(mut self, path: impl Into<String>) -> Self {
        self.messages_path = Some(path.into());
        self
    }

    /// Adds a pact file.
    pub fn pact_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(PactSource::File(path.into()));
        self
    }

    /// Adds every pact for this provider in a folder (and its subfolders).
    pub fn pact_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(PactSource::Dir(path.into()));
        self
    }

    /// Adds a pact URL.
    pub fn pact_url(mut self, url: Url, auth: Option<BrokerAuth>) -> Self {
        self.sources.push(PactSource::Url { url, auth });
        self
    }

    /// Adds the pacts a broker selects for this provider.
    pub fn broker(mut self, source: BrokerSource) -> Self {
        self.sources.push(PactSource::Broker(source));
        self
    }

    /// Sets the state change URL (setup calls only).
    pub fn state_change_url(mut self, url: Url) -> Self {
        self.state_change = Some(StateChange {
            url,
            teardown: false,
        });
        self
    }

    /// Adds a header to every request to the provider.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the provider version, branch and publishing of results.
    pub fn publish_as(mut self, version: impl Into<String>, branch: Option<String>) -> Self {
        self.provider_version = Some(version.into());
        self.provider_branch = branch;
        self.publish = true;
        self
    }

    /// Checks the options before anything is fetched or sent.
    pub(crate) fn validate(&self) -> Result<(), VerifyError> {
        let invalid = |problem: String| Err(VerifyError::InvalidOptions { problem });
        if self.provider.trim().is_empty() {
            return invalid("the provider name is empty (--provider)".into());
        }
        if self.sources.is_empty() {
            return invalid(
                "no pacts to verify: give --pact-file, --pact-dir, --pact-url or --broker-url"
                    .into(),
            );
        }
        if self.publish {
            if self
                .provider_version
                .as_deref()
                .is_none_or(|v| v.trim().is_empty())
            {
                return invalid("--publish needs the provider version (--provider-version)".into());
            }
            if !self
                .sources
                .iter()
                .any(|source| matches!(source, PactSource::Broker(_) | PactSource::Url { .. }))
            {
                return invalid(
                    "--publish needs pacts from a broker (--broker-url or --pact-url): \
                     results of local pact files have nowhere to go"
                        .into(),
                );
            }
            if self.filter.restricts_interactions() {
                return invalid(
                    "--publish cannot be combined with --filter-description, --filter-state \
                     or --filter-no-state: the broker would record a result for interactions \
                     that were not verified"
                        .into(),
                );
            }
        }
        for (label, pattern) in [
            ("--filter-description", &self.filter.description),
            ("--filter-state", &self.filter.state),
        ] {
            if let Some(pattern) = pattern
                && let Err(error) = regex::Regex::new(pattern)
            {
                return invalid(format!(
                    "{label} {pattern:?} is not a valid regular expression: {error}"
                ));
            }
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(value).is_err()
            {
                return invalid(format!(
                    "the header {name:?} cannot be sent: names and values must be printable ASCII \
                     (write --header 'Name: value')"
                ));
            }
        }
        Ok(())
    }
}

/// Where pacts come from.
#[derive(Debug, Clone)]
pub enum PactSource {
    /// A pact file.
    File(PathBuf),
    /// Every `*.json` pact for the provider in a folder and its subfolders.
    Dir(PathBuf),
    /// A pact at a URL, with optional credentials. When the URL is a broker's, results
    /// can be published to it.
    Url { url: Url, auth: Option<BrokerAuth> },
    /// The pacts a broker selects for the provider.
    Broker(BrokerSource),
}

/// A broker to ask for pacts, with the consumer version selectors and pending/WIP settings.
#[derive(Debug, Clone)]
pub struct BrokerSource {
    /// How to reach the broker.
    pub client: BrokerClientConfig,
    /// Which consumer versions to verify; empty means the broker's defaults.
    pub selectors: Vec<ConsumerVersionSelector>,
    /// Ask the broker which pacts are pending: their failures do not fail the build.
    pub enable_pending: bool,
    /// Include work-in-progress pacts published after this date (`YYYY-MM-DD`).
    pub include_wip_pacts_since: Option<String>,
}

impl BrokerSource {
    /// A broker source with the broker's default selectors, pending off, no WIP pacts.
    pub fn new(client: BrokerClientConfig) -> Self {
        Self {
            client,
            selectors: Vec::new(),
            enable_pending: false,
            include_wip_pacts_since: None,
        }
    }
}

/// The provider's state change endpoint: `POST {url}` with
/// `{"state": name, "params": {...}, "action": "setup" | "teardown"}` before (and, with
/// `teardown`, after) each interaction that has provider states.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub url: Url,
    pub teardown: bool,
}

/// Restricts what is verified. Description and state are regular expressions.
#[derive(Debug, Clone, Default)]
pub struct InteractionFilter {
    /// Only pacts from these consumers (all when empty).
    pub consumers: Vec<String>,
    /// Only interactions whose description matches.
    pub description: Option<String>,
    /// Only interactions with a provider state that matches.
    pub state: Option<String>,
    /// Only interactions without provider states.
    pub no_state: bool,
}

impl InteractionFilter {
    /// Whether some interactions of a pact may be left out.
    pub fn restricts_interactions(&self) -> bool {
        self.description.is_some() || self.state.is_some() || self.no_state
    }

    pub(crate) fn to_pact_filter(&self) -> pact_verifier::FilterInfo {
        use pact_verifier::FilterInfo;
        let state = if self.no_state {
            Some(String::new())
        } else {
            self.state.clone()
        };
        match (self.description.clone(), state) {
            (Some(description), Some(state)) => FilterInfo::DescriptionAndState(description, state),
            (Some(description), None) => FilterInfo::Description(description),
            (None, Some(state)) => FilterInfo::State(state),
            (None, None) => FilterInfo::None,
        }
    }
}
