//! Provider states: calling the provider's state change URL around each interaction.
//!
//! `pact_verifier` reports every failed state change as the same generic sentence, so this
//! executor also remembers, per interaction, what exactly went wrong; the report shows
//! that instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pact_models::provider_states::ProviderState;
use pact_verifier::callback_executors::{ProviderStateError, ProviderStateExecutor};
use serde_json::{Value, json};
use url::Url;

use crate::options::StateChange;

#[derive(Debug)]
pub(crate) struct StateChangeExecutor {
    state_change: Option<StateChange>,
    /// Failure messages by interaction id (the ids are assigned per run, see `run.rs`).
    failures: Mutex<HashMap<String, Vec<String>>>,
}

impl StateChangeExecutor {
    pub(crate) fn new(state_change: Option<StateChange>) -> Self {
        Self {
            state_change,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// What went wrong with the state changes of an interaction, if anything did.
    pub(crate) fn failures_for(&self, interaction_id: &str) -> Option<Vec<String>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(interaction_id)
            .cloned()
    }

    fn record(&self, interaction_id: Option<&str>, message: &str) {
        if let Some(id) = interaction_id {
            self.failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(id.to_string())
                .or_default()
                .push(message.to_string());
        }
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        url: &Url,
        state: &ProviderState,
        action: &str,
    ) -> Result<HashMap<String, Value>, String> {
        let body = json!({ "state": state.name, "params": state.params, "action": action });
        let response = client
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                format!(
                    "provider state {:?} ({action}) failed: cannot call the state change URL {url}: {}",
                    state.name,
                    crate::report::reqwest_cause(&error)
                )
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let detail = text.trim();
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::report::shorten(detail, 200))
            };
            return Err(format!(
                "provider state {:?} ({action}) failed: the state change URL {url} answered {status}{detail}",
                state.name
            ));
        }
        // A JSON object in the answer provides values for the interaction (provider state
        // injected values); anything else is ignored, as pact_verifier does.
        Ok(match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(values)) => values.into_iter().collect(),
            _ => HashMap::new(),
        })
    }
}

#[async_trait]
impl ProviderStateExecutor for StateChangeExecutor {
    async fn call(
        self: Arc<Self>,
        interaction_id: Option<String>,
        provider_state: &ProviderState,
        setup: bool,
        client: Option<&reqwest::Client>,
    ) -> anyhow::Result<HashMap<String, Value>> {
        // Interactions without provider states are announced with an empty state; there
        // is nothing to set up for them, so the call is skipped.
        if provider_state.name.is_empty() {
            return Ok(HashMap::new());
        }
        let Some(state_change) = &self.state_change else {
            if setup {
                tracing::warn!(state = %provider_state.name, "no state change URL given; provider state not set up");
            }
            return Ok(HashMap::new());
        };
        // The client pact_verifier passes is the provider client: it carries the custom
        // headers and the request timeout, which apply to state changes too.
        let fallback;
        let client = match client {
            Some(client) => client,
            None => {
                fallback = reqwest::Client::new();
                &fallback
            }
        };
        let action = if setup { "setup" } else { "teardown" };
        match self
            .post(client, &state_change.url, provider_state, action)
            .await
        {
            Ok(values) => Ok(values),
            Err(message) => {
                self.record(interaction_id.as_deref(), &message);
                Err(ProviderStateError {
                    description: message,
                    interaction_id,
                }
                .into())
            }
        }
    }

    fn teardown(&self) -> bool {
        self.state_change
            .as_ref()
            .is_some_and(|change| change.teardown)
    }
}
