//! The dispatcher: turns outbox events into queued deliveries.
//!
//! For each undispatched `broker_events` row it derives the webhook events it
//! stands for (a publication is `contract_published`, maybe
//! `contract_content_changed`, maybe `contract_requiring_verification_published`
//! once per provider version that still has to verify it; a verification is
//! `provider_verification_published` and succeeded/failed; a drift run is
//! `drift_detected` and/or `drift_resolved`), matches the enabled webhooks, fills
//! in their templates, and hands everything to
//! [`WebhookStore::dispatch_events`](crate::store::WebhookStore::dispatch_events),
//! which queues the deliveries and marks the whole batch dispatched in one
//! transaction.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::template::Context;
use crate::metadata::PactMetadata;
use crate::repr::Urls;
use crate::store::events::{EventKind, StoredEvent};
use crate::store::webhooks::{EventDeliveries, NewDelivery, Webhook};
use crate::store::{PublicationFilter, Store, StoreError, Verification, VerificationFilter};

/// One webhook event an outbox event stands for, with its template values.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub event_name: &'static str,
    pub consumer_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub consumer_version_id: Option<i64>,
    pub verification_id: Option<i64>,
    /// The labels of the consumer and the provider, for webhooks scoped by label.
    pub consumer_labels: Vec<String>,
    pub provider_labels: Vec<String>,
    pub context: Context,
}

/// Whether a webhook's consumer or provider filter (a pacticipant, a label, or
/// nothing for any) admits the pacticipant `id` with `labels`.
fn admits(
    filter_id: Option<i64>,
    label: &Option<String>,
    id: Option<i64>,
    labels: &[String],
) -> bool {
    match (filter_id, label) {
        (Some(wanted), _) => id == Some(wanted),
        (None, Some(label)) => labels.iter().any(|l| l == label),
        (None, None) => true,
    }
}

/// Whether `webhook` fires for `trigger`.
pub fn matches(webhook: &Webhook, trigger: &Trigger) -> bool {
    webhook.enabled
        && webhook.events.iter().any(|e| e == trigger.event_name)
        && admits(
            webhook.consumer_id,
            &webhook.consumer_label,
            trigger.consumer_id,
            &trigger.consumer_labels,
        )
        && admits(
            webhook.provider_id,
            &webhook.provider_label,
            trigger.provider_id,
            &trigger.provider_labels,
        )
}

/// A webhook's request template filled in for one trigger. With a secrets key, the
/// template's secrets are opened to be filled in, and the result's sealed again.
pub fn render_request(
    template: &Value,
    context: &Context,
    key: Option<&super::SecretsKey>,
) -> Result<Value, super::secrets::SecretsError> {
    let template = &super::secrets::open_request(key, template)?;
    let text = |key: &str| template.get(key).and_then(Value::as_str);
    let mut request = json!({
        "method": text("method").unwrap_or("POST"),
        "url": context.render_url(text("url").unwrap_or_default()),
    });
    if let Some(headers) = template.get("headers").and_then(Value::as_object) {
        let rendered: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    json!(context.render(value.as_str().unwrap_or_default())),
                )
            })
            .collect();
        request["headers"] = Value::Object(rendered);
    }
    if let Some(body) = template.get("body") {
        request["body"] = context.render_json(body);
    }
    for key in ["username", "password"] {
        if let Some(value) = text(key) {
            request[key] = json!(context.render(value));
        }
    }
    if let Some(public) = template.get(super::model::PUBLIC_HEADERS) {
        request[super::model::PUBLIC_HEADERS] = public.clone();
    }
    Ok(match key {
        Some(key) => super::secrets::seal_all(key, &request),
        None => request,
    })
}

/// Turns outbox events into deliveries.
pub struct Dispatcher<'a> {
    pub store: &'a dyn Store,
    pub config: &'a super::WebhookConfig,
    /// The broker's base URL, for links in templates (`pactUrl`).
    pub base: &'a str,
}

impl Dispatcher<'_> {
    /// Dispatches up to `limit` events; returns how many this broker dispatched.
    pub async fn run_once(&self, limit: i64) -> Result<usize, StoreError> {
        let events = self.store.undispatched_events(limit).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let webhooks: Vec<Webhook> = self
            .store
            .webhooks()
            .await?
            .into_iter()
            .filter(|w| w.enabled)
            .collect();
        let mut batch = Vec::with_capacity(events.len());
        for event in &events {
            let deliveries = if webhooks.is_empty() {
                Vec::new()
            } else {
                self.deliveries(event, &webhooks).await?
            };
            batch.push(EventDeliveries {
                event_id: event.id,
                deliveries,
            });
        }
        let marked = self.store.dispatch_events(&batch).await?;
        let mut dispatched = 0;
        for ((event, queued), marked) in events.iter().zip(&batch).zip(marked) {
            if !marked {
                continue;
            }
            dispatched += 1;
            if !queued.deliveries.is_empty() {
                tracing::info!(
                    event_id = event.id,
                    deliveries = queued.deliveries.len(),
                    request_id = event.request_id.as_deref().unwrap_or_default(),
                    "webhook deliveries queued"
                );
            }
        }
        Ok(dispatched)
    }

    async fn deliveries(
        &self,
        event: &StoredEvent,
        webhooks: &[Webhook],
    ) -> Result<Vec<NewDelivery>, StoreError> {
        let mut triggers = self.triggers(event).await?;
        for trigger in &mut triggers {
            trigger.consumer_labels = self.labels(trigger.consumer_id).await?;
            trigger.provider_labels = self.labels(trigger.provider_id).await?;
            let consumer_labels = trigger.consumer_labels.join(", ");
            let provider_labels = trigger.provider_labels.join(", ");
            trigger.context.set("consumerLabels", consumer_labels);
            trigger.context.set("providerLabels", provider_labels);
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut deliveries = Vec::new();
        for trigger in &triggers {
            for webhook in webhooks.iter().filter(|w| matches(w, trigger)) {
                let context = &trigger.context;
                let request = match render_request(
                    &webhook.request,
                    context,
                    self.config.secrets_key.as_ref(),
                ) {
                    Ok(request) => request,
                    Err(err) => {
                        // Only a webhook saved by a broker with another key gets here
                        // (the start checks every template); it cannot be sent.
                        tracing::error!(webhook = %webhook.uuid, error = %err, "webhook skipped");
                        continue;
                    }
                };
                deliveries.push(NewDelivery {
                    uuid: uuid::Uuid::new_v4().to_string(),
                    webhook_id: webhook.id,
                    webhook_uuid: webhook.uuid.clone(),
                    webhook_description: webhook.description.clone(),
                    event_name: trigger.event_name.to_string(),
                    consumer_id: trigger.consumer_id,
                    provider_id: trigger.provider_id,
                    consumer_version_id: trigger.consumer_version_id,
                    verification_id: trigger.verification_id,
                    request,
                    request_id: event.request_id.clone(),
                    traceparent: event.traceparent.clone(),
                    max_attempts: i64::from(self.config.max_attempts.max(1)),
                    next_attempt_ms: now_ms,
                });
            }
        }
        Ok(deliveries)
    }

    async fn labels(&self, pacticipant_id: Option<i64>) -> Result<Vec<String>, StoreError> {
        match pacticipant_id {
            Some(id) => Ok(self
                .store
                .labels(id)
                .await?
                .into_iter()
                .map(|l| l.name)
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// The webhook events `event` stands for.
    pub async fn triggers(&self, event: &StoredEvent) -> Result<Vec<Trigger>, StoreError> {
        match event.kind.0 {
            EventKind::ContractPublished => self.contract_triggers(event).await,
            EventKind::VerificationPublished => self.verification_triggers(event).await,
            EventKind::DriftChanged => self.drift_triggers(event).await,
        }
    }

    /// Template values of a consumer version's pact with a provider.
    pub async fn pact_context(
        &self,
        consumer_id: i64,
        provider_id: i64,
        consumer_version_id: i64,
        pact_version_id: i64,
    ) -> Result<Context, StoreError> {
        let store = self.store;
        let mut ctx = Context::default();
        let consumer = store.pacticipant_by_id(consumer_id).await?;
        let provider = store.pacticipant_by_id(provider_id).await?;
        let consumer_name = consumer.map(|p| p.name).unwrap_or_default();
        let provider_name = provider.map(|p| p.name).unwrap_or_default();
        ctx.set("consumerName", consumer_name.clone());
        ctx.set("providerName", provider_name.clone());
        if let Some(version) = store.version_by_id(consumer_version_id).await? {
            ctx.set("consumerVersionNumber", version.number.clone());
            ctx.set("buildUrl", version.build_url.clone().unwrap_or_default());
            let tags = store.tags_of_version(version.id).await?;
            ctx.set(
                "consumerVersionTags",
                tags.iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let branches = store.branches_of_version(version.id).await?;
            if let Some(branch) = branches.last() {
                ctx.set("consumerVersionBranch", branch.branch_name.clone());
            }
            if let Some(pact) = store.pact_version(pact_version_id).await? {
                let metadata = PactMetadata {
                    consumer_versions: vec![version.number.clone()],
                    ..PactMetadata::default()
                };
                ctx.set(
                    "pactUrl",
                    format!(
                        "{}/metadata/{}",
                        Urls(self.base).pact_version(&provider_name, &consumer_name, &pact.sha),
                        metadata.encode()
                    ),
                );
            }
        }
        ctx.set("githubVerificationStatus", "pending");
        ctx.set("bitbucketVerificationStatus", "INPROGRESS");
        ctx.set("azureDevOpsVerificationStatus", "pending");
        ctx.set("gitlabVerificationStatus", "pending");
        Ok(ctx)
    }

    /// Sets the provider version fields from a provider version.
    async fn set_provider_version(
        &self,
        ctx: &mut Context,
        provider_version_id: i64,
    ) -> Result<(), StoreError> {
        if let Some(version) = self.store.version_by_id(provider_version_id).await? {
            ctx.set("providerVersionNumber", version.number);
            let tags = self.store.tags_of_version(provider_version_id).await?;
            ctx.set(
                "providerVersionTags",
                tags.iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let branches = self.store.branches_of_version(provider_version_id).await?;
            if let Some(branch) = branches.last() {
                ctx.set("providerVersionBranch", branch.branch_name.clone());
            }
        }
        Ok(())
    }

    /// Sets the fields of a verification result: its provider version, its status
    /// in each CI system's words, and its URL.
    async fn set_verification(
        &self,
        ctx: &mut Context,
        verification: &Verification,
    ) -> Result<(), StoreError> {
        self.set_provider_version(ctx, verification.provider_version_id)
            .await?;
        Self::set_verification_status(ctx, verification.success);
        ctx.set(
            "verificationResultUrl",
            Urls(self.base).verification(
                &verification.provider_name,
                &verification.consumer_name,
                &verification.sha,
                verification.id,
            ),
        );
        Ok(())
    }

    fn set_verification_status(ctx: &mut Context, success: bool) {
        let (github, bitbucket, azure, gitlab) = if success {
            ("success", "SUCCESSFUL", "succeeded", "success")
        } else {
            ("failure", "FAILED", "failed", "failed")
        };
        ctx.set("githubVerificationStatus", github);
        ctx.set("bitbucketVerificationStatus", bitbucket);
        ctx.set("azureDevOpsVerificationStatus", azure);
        ctx.set("gitlabVerificationStatus", gitlab);
    }

    async fn contract_triggers(&self, event: &StoredEvent) -> Result<Vec<Trigger>, StoreError> {
        let (Some(consumer_id), Some(provider_id), Some(version_id), Some(pact_version_id)) = (
            event.consumer_id,
            event.provider_id,
            event.consumer_version_id,
            event.pact_version_id,
        ) else {
            return Ok(Vec::new());
        };
        let mut base = self
            .pact_context(consumer_id, provider_id, version_id, pact_version_id)
            .await?;
        // Provider version fields: the latest verification of this content from the
        // provider's main branch, else the latest verification, else empty.
        let verifications = self
            .store
            .verifications(VerificationFilter {
                pact_version_id: Some(pact_version_id),
                ..Default::default()
            })
            .await?;
        let provider = self.store.pacticipant_by_id(provider_id).await?;
        let main_branch = provider.as_ref().and_then(|p| p.main_branch.clone());
        let mut chosen = None;
        for verification in verifications.iter().rev() {
            let on_main = match &main_branch {
                Some(main) => self
                    .store
                    .branches_of_version(verification.provider_version_id)
                    .await?
                    .iter()
                    .any(|b| &b.branch_name == main),
                None => false,
            };
            if on_main {
                chosen = Some(verification);
                break;
            }
        }
        if let Some(verification) = chosen.or(verifications.last()) {
            self.set_verification(&mut base, verification).await?;
        }

        let trigger = |name: &'static str, ctx: &Context| {
            let mut ctx = ctx.clone();
            ctx.set("eventName", name);
            Trigger {
                event_name: name,
                consumer_id: Some(consumer_id),
                provider_id: Some(provider_id),
                consumer_version_id: Some(version_id),
                verification_id: None,
                consumer_labels: Vec::new(),
                provider_labels: Vec::new(),
                context: ctx,
            }
        };
        let mut triggers = vec![trigger("contract_published", &base)];
        let detail = &event.detail;
        let content_changed = detail.content_is_new == Some(true)
            || detail
                .previous_pact_version_id
                .is_some_and(|previous| previous != pact_version_id)
            || detail.outcome.as_deref() == Some("overwritten");
        if content_changed {
            triggers.push(trigger("contract_content_changed", &base));
        }

        // contract_requiring_verification_published: once per provider version that
        // should verify this content and has not yet.
        let mut needing: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        if let Some(main) = &main_branch
            && let Ok(branch) = crate::domain::BranchName::parse("branch", main)
            && let Some(head) = self.store.branch_head(provider_id, &branch).await?
        {
            needing
                .entry(head.id)
                .or_default()
                .push(format!("latest from {main} branch"));
        }
        let environments: HashMap<i64, String> = self
            .store
            .environments()
            .await?
            .into_iter()
            .map(|e| (e.id, e.name))
            .collect();
        for record in self.store.current_records_of(&[provider_id]).await? {
            let name = environments
                .get(&record.environment_id)
                .map_or("", String::as_str);
            let how = if record.released {
                "released"
            } else {
                "deployed"
            };
            needing
                .entry(record.version_id)
                .or_default()
                .push(format!("{how} in {name}"));
        }
        for (provider_version_id, descriptions) in needing {
            if verifications
                .iter()
                .any(|v| v.provider_version_id == provider_version_id)
            {
                continue;
            }
            let mut ctx = base.clone();
            for name in [
                "providerVersionNumber",
                "providerVersionTags",
                "providerVersionBranch",
                "verificationResultUrl",
            ] {
                ctx.set(name, "");
            }
            Self::set_pending(&mut ctx);
            self.set_provider_version(&mut ctx, provider_version_id)
                .await?;
            ctx.set("providerVersionDescriptions", descriptions.join(", "));
            triggers.push(trigger("contract_requiring_verification_published", &ctx));
        }
        Ok(triggers)
    }

    fn set_pending(ctx: &mut Context) {
        ctx.set("githubVerificationStatus", "pending");
        ctx.set("bitbucketVerificationStatus", "INPROGRESS");
        ctx.set("azureDevOpsVerificationStatus", "pending");
        ctx.set("gitlabVerificationStatus", "pending");
    }

    async fn verification_triggers(&self, event: &StoredEvent) -> Result<Vec<Trigger>, StoreError> {
        let Some(verification_id) = event.verification_id else {
            return Ok(Vec::new());
        };
        let Some(verification) = self.store.verification(verification_id).await? else {
            return Ok(Vec::new());
        };
        // The consumer version: the latest that published the verified content.
        let publications = self
            .store
            .publications(PublicationFilter {
                pact_version_id: Some(verification.pact_version_id),
                ..Default::default()
            })
            .await?;
        let Some(publication) = publications.last() else {
            return Ok(Vec::new());
        };
        let mut ctx = self
            .pact_context(
                verification.consumer_id,
                verification.provider_id,
                publication.consumer_version_id,
                verification.pact_version_id,
            )
            .await?;
        self.set_verification(&mut ctx, &verification).await?;
        ctx.set(
            "buildUrl",
            verification.build_url.clone().unwrap_or_default(),
        );
        let outcome = if verification.success {
            "provider_verification_succeeded"
        } else {
            "provider_verification_failed"
        };
        Ok(["provider_verification_published", outcome]
            .into_iter()
            .map(|name| {
                let mut ctx = ctx.clone();
                ctx.set("eventName", name);
                Trigger {
                    event_name: name,
                    consumer_id: Some(verification.consumer_id),
                    provider_id: Some(verification.provider_id),
                    consumer_version_id: Some(publication.consumer_version_id),
                    verification_id: Some(verification.id),
                    consumer_labels: Vec::new(),
                    provider_labels: Vec::new(),
                    context: ctx,
                }
            })
            .collect())
    }

    /// Drift belongs to a provider (and the consumers of its findings); consumer
    /// fields stay empty, and webhooks scoped to a consumer do not fire.
    async fn drift_triggers(&self, event: &StoredEvent) -> Result<Vec<Trigger>, StoreError> {
        let Some(provider_id) = event.provider_id else {
            return Ok(Vec::new());
        };
        let provider = self.store.pacticipant_by_id(provider_id).await?;
        let mut ctx = Context::default();
        ctx.set("providerName", provider.map(|p| p.name).unwrap_or_default());
        let mut names = Vec::new();
        if !event.detail.new_findings.is_empty() {
            names.push("drift_detected");
        }
        if !event.detail.resolved_findings.is_empty() {
            names.push("drift_resolved");
        }
        Ok(names
            .into_iter()
            .map(|name| {
                let mut ctx = ctx.clone();
                ctx.set("eventName", name);
                Trigger {
                    event_name: name,
                    consumer_id: None,
                    provider_id: Some(provider_id),
                    consumer_version_id: None,
                    verification_id: None,
                    consumer_labels: Vec::new(),
                    provider_labels: Vec::new(),
                    context: ctx,
                }
            })
            .collect())
    }
}
