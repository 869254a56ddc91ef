//! Webhooks (reference §9): create, list, update, delete and test-execute them. The
//! deliveries they triggered ("triggered webhooks") with their execution logs, and
//! Accord's delivery queue views (all deliveries, the dead-letter list, replay), are in
//! `deliveries.rs`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{PacticipantName, ValidationError};
use crate::error::ApiError;
use crate::http::{Base, JsonBody, created_or_ok, enc, hal, link};
use crate::repr::{Urls, time};
use crate::startup::AppState;
use crate::store::webhooks::{Webhook, WebhookFields};
use crate::store::{Pacticipant, PublicationFilter, VerificationFilter};
use crate::webhooks::dispatcher::{Dispatcher, render_request};
use crate::webhooks::model::{self, PacticipantRef, WebhookInput};
use crate::webhooks::secrets;
use crate::webhooks::template::Context;
use crate::webhooks::worker::{self, CallIds};

mod deliveries;
use deliveries::*;

pub fn router() -> Router<AppState> {
    let integration = "/pacts/provider/{provider}/consumer/{consumer}";
    Router::new()
        .route("/webhooks", get(list_all).post(create_global))
        .route("/webhooks/execute", post(execute_unsaved))
        .route("/webhooks/deliveries", get(list_deliveries))
        .route("/webhooks/dead-letter", get(list_dead_letter))
        .route("/webhooks/dead-letter/{uuid}/replay", post(replay))
        .route(
            "/webhooks/provider/{provider}/consumer/{consumer}",
            get(list_for_integration).post(create_for_integration),
        )
        .route(
            "/webhooks/provider/{provider}",
            get(list_for_provider).post(create_for_provider),
        )
        .route(
            "/webhooks/consumer/{consumer}",
            get(list_for_consumer).post(create_for_consumer),
        )
        .route("/webhooks/{uuid}", get(show).put(save).delete(remove))
        .route("/webhooks/{uuid}/execute", post(execute_saved))
        .route(&format!("{integration}/webhooks"), get(pact_webhooks))
        .route(&format!("{integration}/webhooks/status"), get(pact_status))
        .route(
            &format!("{integration}/version/{{version}}/triggered-webhooks"),
            get(triggered_by_publication),
        )
        .route(
            &format!(
                "{integration}/pact-version/{{sha}}/verification-results/{{number}}/triggered-webhooks"
            ),
            get(triggered_by_verification),
        )
        .route("/triggered-webhooks/{uuid}", get(show_triggered))
        .route("/triggered-webhooks/{uuid}/logs", get(logs))
}

fn webhook_url(base: &str, uuid: &str) -> String {
    format!("{base}/webhooks/{}", enc(uuid))
}

fn delivery_url(base: &str, uuid: &str) -> String {
    format!("{base}/triggered-webhooks/{}", enc(uuid))
}

fn scope_json(name: &Option<String>, label: &Option<String>) -> Value {
    match (name, label) {
        (Some(name), _) => json!({ "name": name }),
        (None, Some(label)) => json!({ "label": label }),
        (None, None) => Value::Null,
    }
}

/// A webhook as the API shows it: secrets in its request are hidden.
pub fn webhook_json(base: &str, w: &Webhook) -> Value {
    let urls = Urls(base);
    let self_url = webhook_url(base, &w.uuid);
    let title = w.description.clone().unwrap_or_else(|| "Webhook".into());
    let mut links = json!({
        "self": { "href": self_url, "title": title },
        "pb:execute": { "href": format!("{self_url}/execute"), "title": "Test the execution of the webhook with the latest matching pact or verification" },
        "pb:webhooks": { "href": format!("{base}/webhooks"), "title": "All webhooks" },
    });
    if let Some(name) = &w.consumer_name {
        links["pb:consumer"] =
            json!({ "href": urls.pacticipant(name), "title": "Consumer", "name": name });
    }
    if let Some(name) = &w.provider_name {
        links["pb:provider"] =
            json!({ "href": urls.pacticipant(name), "title": "Provider", "name": name });
    }
    if let (Some(c), Some(p)) = (&w.consumer_name, &w.provider_name) {
        links["pb:pact-webhooks"] = json!({
            "href": format!("{base}/webhooks/provider/{}/consumer/{}", enc(p), enc(c)),
            "title": "All webhooks for this consumer and provider"
        });
    }
    let mut body = json!({
        "uuid": w.uuid,
        "description": w.description,
        "enabled": w.enabled,
        "request": model::redact_request(&w.request),
        "events": w.events.iter().map(|e| json!({ "name": e })).collect::<Vec<_>>(),
        "createdAt": time(&w.created_at),
        "updatedAt": time(&w.updated_at),
        "_links": links,
    });
    let consumer = scope_json(&w.consumer_name, &w.consumer_label);
    if !consumer.is_null() {
        body["consumer"] = consumer;
    }
    let provider = scope_json(&w.provider_name, &w.provider_label);
    if !provider.is_null() {
        body["provider"] = provider;
    }
    body
}

fn scope_title(w: &Webhook) -> String {
    let side = |name: &Option<String>, label: &Option<String>, any: &str| match (name, label) {
        (Some(name), _) => name.clone(),
        (None, Some(label)) => format!("pacticipants labelled {label}"),
        (None, None) => any.to_string(),
    };
    format!(
        "A webhook for the pact between {} and {}",
        side(&w.consumer_name, &w.consumer_label, "any consumer"),
        side(&w.provider_name, &w.provider_label, "any provider")
    )
}

fn webhook_list(base: &str, self_url: String, webhooks: &[Webhook]) -> Response {
    let links: Vec<Value> = webhooks
        .iter()
        .map(|w| {
            json!({
                "href": webhook_url(base, &w.uuid),
                "title": scope_title(w),
                "name": w.description.clone().unwrap_or_default(),
            })
        })
        .collect();
    hal(
        StatusCode::OK,
        json!({
            "_links": {
                "self": { "href": self_url, "title": "Webhooks" },
                "pb:create": { "href": self_url, "title": "POST to create a webhook" },
                "pb:webhooks": links,
            },
            "_embedded": {
                "webhooks": webhooks.iter().map(|w| webhook_json(base, w)).collect::<Vec<_>>(),
            },
        }),
    )
}

/// Looks up a pacticipant named in the body; a missing one is a validation error.
async fn named(
    state: &AppState,
    field: &str,
    reference: &Option<PacticipantRef>,
    errors: &mut Vec<ValidationError>,
) -> Result<(Option<i64>, Option<String>), ApiError> {
    match reference {
        None => Ok((None, None)),
        Some(PacticipantRef::Label(label)) => Ok((None, Some(label.clone()))),
        Some(PacticipantRef::Name(name)) => {
            let field = format!("{field}.name");
            let parsed = match PacticipantName::parse(&field, name) {
                Ok(parsed) => parsed,
                Err(err) => {
                    errors.push(err);
                    return Ok((None, None));
                }
            };
            match state.store.pacticipant(&parsed).await? {
                Some(p) => Ok((Some(p.id), None)),
                None => {
                    errors.push(ValidationError::new(
                        field,
                        format!("No pacticipant with name '{name}' found; create it first or correct the name"),
                    ));
                    Ok((None, None))
                }
            }
        }
    }
}

/// Parses and validates a webhook body; the path's pacticipants, when given,
/// replace the body's.
async fn webhook_fields(
    state: &AppState,
    body: &Value,
    consumer: Option<&Pacticipant>,
    provider: Option<&Pacticipant>,
) -> Result<WebhookFields, ApiError> {
    let mut input: WebhookInput =
        model::parse_webhook(body, &state.config.webhooks).map_err(ApiError::Validation)?;
    if let Some(consumer) = consumer {
        input.consumer = Some(PacticipantRef::Name(consumer.name.clone()));
    }
    if let Some(provider) = provider {
        input.provider = Some(PacticipantRef::Name(provider.name.clone()));
    }
    let mut errors = Vec::new();
    for (field, value) in secrets::secrets(&input.request) {
        if secrets::is_sealed(value) {
            errors.push(ValidationError::new(
                field,
                format!(
                    "values starting with '{}' are reserved for secrets the broker encrypted",
                    secrets::SEALED_PREFIX
                ),
            ));
        }
    }
    let (consumer_id, consumer_label) =
        named(state, "consumer", &input.consumer, &mut errors).await?;
    let (provider_id, provider_label) =
        named(state, "provider", &input.provider, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(WebhookFields {
        description: input.description,
        consumer_id,
        consumer_label,
        provider_id,
        provider_label,
        enabled: input.enabled,
        events: input.events,
        request: input.request,
    })
}

/// The fields as they are stored: secrets encrypted with the broker's secrets key.
/// Without a key, a broker that requires credentials refuses secrets: anyone who can
/// read its database would otherwise read them.
fn sealed_for_storage(
    state: &AppState,
    mut fields: WebhookFields,
) -> Result<WebhookFields, ApiError> {
    match &state.config.webhooks.secrets_key {
        Some(key) => fields.request = secrets::seal_stored(key, &fields.request),
        None if state.config.auth.is_enabled() => {
            let refused: Vec<ValidationError> = secrets::secrets(&fields.request)
                .into_iter()
                .map(|(field, _)| {
                    ValidationError::new(
                        field,
                        "is a secret, and this broker stores secrets only encrypted: start it \
                         with --secrets-key (ACCORD_BROKER_SECRETS_KEY), or list a header that is \
                         no secret in request.publicHeaders",
                    )
                })
                .collect();
            if !refused.is_empty() {
                return Err(ApiError::Validation(refused));
            }
        }
        None => {}
    }
    Ok(fields)
}

async fn create(
    state: &AppState,
    base: &str,
    body: &Value,
    consumer: Option<&Pacticipant>,
    provider: Option<&Pacticipant>,
) -> Result<Response, ApiError> {
    let fields = webhook_fields(state, body, consumer, provider).await?;
    let fields = sealed_for_storage(state, fields)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let (webhook, _) = state.store.save_webhook(&uuid, &fields).await?;
    Ok(created_or_ok(
        true,
        &webhook_url(base, &webhook.uuid),
        webhook_json(base, &webhook),
    ))
}

async fn list_all(State(state): State<AppState>, Base(base): Base) -> Result<Response, ApiError> {
    let webhooks = state.store.webhooks().await?;
    Ok(webhook_list(&base, format!("{base}/webhooks"), &webhooks))
}

async fn create_global(
    State(state): State<AppState>,
    Base(base): Base,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    create(&state, &base, &body, None, None).await
}

async fn list_for_integration(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let webhooks: Vec<Webhook> = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| w.consumer_id == Some(consumer.id) && w.provider_id == Some(provider.id))
        .collect();
    let self_url = format!(
        "{base}/webhooks/provider/{}/consumer/{}",
        enc(&provider.name),
        enc(&consumer.name)
    );
    Ok(webhook_list(&base, self_url, &webhooks))
}

async fn create_for_integration(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    create(&state, &base, &body, Some(&consumer), Some(&provider)).await
}

async fn list_for_provider(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let self_url = format!("{base}/webhooks/provider/{}", enc(&provider.name));
    scoped_list(&state, &base, self_url, |w| {
        w.provider_id == Some(provider.id)
    })
    .await
}

async fn create_for_provider(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    create(&state, &base, &body, None, Some(&provider)).await
}

async fn list_for_consumer(
    State(state): State<AppState>,
    Base(base): Base,
    Path(consumer): Path<String>,
) -> Result<Response, ApiError> {
    let consumer = find_pacticipant(&state, &consumer).await?;
    let self_url = format!("{base}/webhooks/consumer/{}", enc(&consumer.name));
    scoped_list(&state, &base, self_url, |w| {
        w.consumer_id == Some(consumer.id)
    })
    .await
}

async fn create_for_consumer(
    State(state): State<AppState>,
    Base(base): Base,
    Path(consumer): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let consumer = find_pacticipant(&state, &consumer).await?;
    create(&state, &base, &body, Some(&consumer), None).await
}

/// The webhooks `keep` selects, listed at `self_url`.
async fn scoped_list(
    state: &AppState,
    base: &str,
    self_url: String,
    keep: impl Fn(&Webhook) -> bool,
) -> Result<Response, ApiError> {
    let webhooks: Vec<Webhook> = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| keep(w))
        .collect();
    Ok(webhook_list(base, self_url, &webhooks))
}

async fn find_webhook(state: &AppState, uuid: &str) -> Result<Webhook, ApiError> {
    state
        .store
        .webhook(uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No webhook with uuid '{uuid}' found")))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let webhook = find_webhook(&state, &uuid).await?;
    Ok(hal(StatusCode::OK, webhook_json(&base, &webhook)))
}

/// `PUT /webhooks/{uuid}`: creates with the client's uuid (201) or replaces (200).
async fn save(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let valid_uuid = uuid.len() >= 16
        && uuid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_uuid {
        return Err(ApiError::validation(
            "uuid",
            format!(
                "'{uuid}' is not a valid webhook uuid: use at least 16 letters, digits, '-' or '_'"
            ),
        ));
    }
    let fields = webhook_fields(&state, &body, None, None).await?;
    let fields = sealed_for_storage(&state, fields)?;
    let (webhook, was_created) = state.store.save_webhook(&uuid, &fields).await?;
    Ok(created_or_ok(
        was_created,
        &webhook_url(&base, &webhook.uuid),
        webhook_json(&base, &webhook),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    if state.store.delete_webhook(&uuid).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!(
            "No webhook with uuid '{uuid}' found"
        )))
    }
}

/// The template values of the latest pact the webhook's scope admits, for a test run.
async fn latest_context(
    state: &AppState,
    base: &str,
    consumer_id: Option<i64>,
    provider_id: Option<i64>,
    event_name: &'static str,
) -> Result<Context, ApiError> {
    let publications = state
        .store
        .publications(PublicationFilter {
            consumer_id,
            provider_id,
            ..Default::default()
        })
        .await?;
    let dispatcher = Dispatcher {
        store: state.store.as_ref(),
        config: &state.config.webhooks,
        base,
    };
    let mut ctx = match publications.last() {
        Some(p) => {
            dispatcher
                .pact_context(
                    p.consumer_id,
                    p.provider_id,
                    p.consumer_version_id,
                    p.pact_version_id,
                )
                .await?
        }
        None => Context::default(),
    };
    if let Some(p) = publications.last() {
        let verifications = state
            .store
            .verifications(VerificationFilter {
                pact_version_id: Some(p.pact_version_id),
                ..Default::default()
            })
            .await?;
        if let Some(v) = verifications.last() {
            ctx.set("providerVersionNumber", v.provider_version_number.clone());
            ctx.set(
                "verificationResultUrl",
                Urls(base).verification(&v.provider_name, &v.consumer_name, &v.sha, v.id),
            );
        }
    }
    ctx.set("eventName", event_name);
    Ok(ctx)
}

fn first_event(events: &[String]) -> &'static str {
    model::OFFICIAL_EVENTS
        .iter()
        .chain(model::ACCORD_EVENTS)
        .find(|e| events.iter().any(|x| x == *e))
        .copied()
        .unwrap_or("contract_content_changed")
}

/// Calls a rendered request once and answers with what happened (200 even when
/// the call failed, as the Pact Broker does). Not recorded as a delivery.
async fn execute(
    state: &AppState,
    base: &str,
    template: &Value,
    ctx: &Context,
) -> Result<Response, ApiError> {
    let request = render_request(template, ctx, state.config.webhooks.secrets_key.as_ref())
        .map_err(|err| ApiError::Internal(Box::new(err)))?;
    let config = std::sync::Arc::new(state.config.webhooks.clone());
    let client = worker::http_client(&config);
    let ids = CallIds {
        delivery_id: format!("test-{}", uuid::Uuid::new_v4()),
        request_id: None,
        traceparent: None,
    };
    let outcome = worker::call(&client, &config, &request, &ids).await;
    Ok(hal(
        StatusCode::OK,
        json!({
            "success": outcome.success,
            "request": model::redact_request(&request),
            "response": outcome.status.map(|status| json!({ "status": status, "body": outcome.response_body })),
            "error": outcome.error.map(|message| json!({ "message": message })),
            "logs": outcome.log,
            "_links": { "pb:webhooks": link(format!("{base}/webhooks")) },
        }),
    ))
}

async fn execute_saved(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let webhook = find_webhook(&state, &uuid).await?;
    // Stored webhooks are checked again: the allow-list may have changed since.
    model::parse_webhook(&webhook_json_for_check(&webhook), &state.config.webhooks)
        .map_err(ApiError::Validation)?;
    let ctx = latest_context(
        &state,
        &base,
        webhook.consumer_id,
        webhook.provider_id,
        first_event(&webhook.events),
    )
    .await?;
    execute(&state, &base, &webhook.request, &ctx).await
}

/// The stored webhook in the shape [`model::parse_webhook`] reads.
fn webhook_json_for_check(w: &Webhook) -> Value {
    json!({
        "events": w.events.iter().map(|e| json!({ "name": e })).collect::<Vec<_>>(),
        "request": w.request,
    })
}

async fn execute_unsaved(
    State(state): State<AppState>,
    Base(base): Base,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = webhook_fields(&state, &body, None, None).await?;
    let ctx = latest_context(
        &state,
        &base,
        fields.consumer_id,
        fields.provider_id,
        first_event(&fields.events),
    )
    .await?;
    execute(&state, &base, &fields.request, &ctx).await
}

async fn pact_webhooks(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let labels_of = |labels: Vec<crate::store::ops::Label>| -> Vec<String> {
        labels.into_iter().map(|l| l.name).collect()
    };
    let consumer_labels = labels_of(state.store.labels(consumer.id).await?);
    let provider_labels = labels_of(state.store.labels(provider.id).await?);
    let admits =
        |id: Option<i64>, label: &Option<String>, wanted: i64, labels: &[String]| match (id, label)
        {
            (Some(id), _) => id == wanted,
            (None, Some(label)) => labels.contains(label),
            (None, None) => true,
        };
    let webhooks: Vec<Webhook> = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| {
            admits(
                w.consumer_id,
                &w.consumer_label,
                consumer.id,
                &consumer_labels,
            ) && admits(
                w.provider_id,
                &w.provider_label,
                provider.id,
                &provider_labels,
            )
        })
        .collect();
    let self_url = format!(
        "{}/webhooks",
        Urls(&base).integration(&provider.name, &consumer.name)
    );
    Ok(webhook_list(&base, self_url, &webhooks))
}
