//! The deliveries webhooks triggered ("triggered webhooks", reference §9.1) with their
//! execution logs, and Accord's delivery queue views: all deliveries, the dead-letter
//! list, replay.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::{find_pacticipant, find_version};
use crate::error::ApiError;
use crate::http::{Base, enc, hal, link};
use crate::repr::{Urls, time};
use crate::startup::AppState;
use crate::store::webhooks::{Delivery, DeliveryFilter, DeliveryStatus};
use crate::webhooks::model::{self};

use super::*;

/// The Pact Broker's name for a delivery state.
pub(super) fn triggered_status(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "not_run",
        DeliveryStatus::Retrying => "retrying",
        DeliveryStatus::Succeeded => "success",
        DeliveryStatus::Dead => "failure",
    }
}

pub(super) fn ms_time(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| time(&t))
}

/// A delivery as a triggered webhook (reference §9.1), with Accord's queue fields.
pub fn delivery_json(base: &str, d: &Delivery) -> Value {
    let status = d.status();
    let self_url = delivery_url(base, &d.uuid);
    let logs = format!("{self_url}/logs");
    let mut links = json!({
        "self": { "href": self_url, "title": "Triggered webhook" },
        "pb:logs": { "href": logs, "title": "Webhook execution logs" },
        "logs": { "href": logs, "title": "Webhook execution logs" },
        "pb:webhook": { "href": webhook_url(base, &d.webhook_uuid), "title": "Webhook" },
    });
    if status == DeliveryStatus::Dead {
        links["accord:replay"] = json!({
            "href": format!("{base}/webhooks/dead-letter/{}/replay", enc(&d.uuid)),
            "title": "POST to queue this delivery again"
        });
    }
    let waiting = matches!(status, DeliveryStatus::Pending | DeliveryStatus::Retrying);
    json!({
        "uuid": d.uuid,
        "name": d.webhook_description.clone().unwrap_or_else(|| "Webhook".into()),
        "status": triggered_status(status),
        "deliveryStatus": status.as_str(),
        "attemptsMade": d.attempts,
        "attemptsRemaining": (d.max_attempts - d.attempts).max(0),
        "triggerType": "resource_creation",
        "eventName": d.event_name,
        "triggeredAt": time(&d.created_at),
        "updatedAt": time(&d.updated_at),
        "nextAttemptAt": if waiting { ms_time(d.next_attempt_ms) } else { None },
        "lastResponseStatus": d.last_status,
        "lastError": d.last_error,
        "requestId": d.request_id,
        "request": model::redact_request(&d.request),
        "_links": links,
    })
}

pub(super) fn triggered_list(base: &str, self_url: String, deliveries: &[Delivery]) -> Value {
    json!({
        "_embedded": {
            "triggeredWebhooks": deliveries.iter().map(|d| delivery_json(base, d)).collect::<Vec<_>>(),
        },
        "_links": { "self": { "href": self_url, "title": "Webhooks triggered" } },
    })
}

const PAGE: i64 = 100;

pub(super) async fn pact_status(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let filter = DeliveryFilter {
        consumer_id: Some(consumer.id),
        provider_id: Some(provider.id),
        ..Default::default()
    };
    let deliveries = state.store.deliveries(&filter, 0, PAGE).await?;
    let count = |status: DeliveryStatus| deliveries.iter().filter(|d| d.status() == status).count();
    let integration = Urls(&base).integration(&provider.name, &consumer.name);
    let mut body = triggered_list(&base, format!("{integration}/webhooks/status"), &deliveries);
    body["summary"] = json!({
        "successful": count(DeliveryStatus::Succeeded),
        "failed": count(DeliveryStatus::Dead),
        "retrying": count(DeliveryStatus::Retrying),
        "notRun": count(DeliveryStatus::Pending),
    });
    body["_links"]["pb:pact-webhooks"] = link(format!("{integration}/webhooks"));
    Ok(hal(StatusCode::OK, body))
}

pub(super) async fn triggered_by_publication(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let version = find_version(&state, &consumer, &version).await?;
    let filter = DeliveryFilter {
        provider_id: Some(provider.id),
        consumer_version_id: Some(version.id),
        ..Default::default()
    };
    let deliveries: Vec<Delivery> = state
        .store
        .deliveries(&filter, 0, PAGE)
        .await?
        .into_iter()
        .filter(|d| d.verification_id.is_none())
        .collect();
    let self_url = format!(
        "{}/triggered-webhooks",
        Urls(&base).pact(&provider.name, &consumer.name, &version.number)
    );
    Ok(hal(
        StatusCode::OK,
        triggered_list(&base, self_url, &deliveries),
    ))
}

pub(super) async fn triggered_by_verification(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha, number)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let not_found = || ApiError::not_found(format!("No verification result {number} found"));
    let id: i64 = number.parse().map_err(|_| not_found())?;
    let verification = state
        .store
        .verification(id)
        .await?
        .filter(|v| v.sha == sha && v.provider_id == provider.id && v.consumer_id == consumer.id)
        .ok_or_else(not_found)?;
    let filter = DeliveryFilter {
        verification_id: Some(verification.id),
        ..Default::default()
    };
    let deliveries = state.store.deliveries(&filter, 0, PAGE).await?;
    let self_url = format!(
        "{}/triggered-webhooks",
        Urls(&base).verification(&provider.name, &consumer.name, &sha, id)
    );
    Ok(hal(
        StatusCode::OK,
        triggered_list(&base, self_url, &deliveries),
    ))
}

pub(super) async fn find_delivery(state: &AppState, uuid: &str) -> Result<Delivery, ApiError> {
    state.store.delivery(uuid).await?.ok_or_else(|| {
        ApiError::not_found(format!("No triggered webhook with uuid '{uuid}' found"))
    })
}

pub(super) async fn show_triggered(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let delivery = find_delivery(&state, &uuid).await?;
    Ok(hal(StatusCode::OK, delivery_json(&base, &delivery)))
}

/// The execution log of a delivery: every attempt, as text (`Accept: text/plain`)
/// or JSON.
pub(super) async fn logs(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let delivery = find_delivery(&state, &uuid).await?;
    let attempts = state.store.delivery_attempts(delivery.id).await?;
    let mut text = String::new();
    for a in &attempts {
        text.push_str(&format!(
            "--- Attempt {} at {} by {} ({} ms)\n{}",
            a.attempt,
            time(&a.created_at),
            a.worker,
            a.duration_ms,
            a.log
        ));
    }
    if attempts.is_empty() {
        text.push_str("No attempt has been made yet.\n");
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("text/plain") && !accept.contains("json") {
        let mut response = text.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=utf-8"),
        );
        return Ok(response);
    }
    Ok(hal(
        StatusCode::OK,
        json!({
            "logs": text,
            "attempts": attempts.iter().map(|a| json!({
                "attempt": a.attempt,
                "worker": a.worker,
                "success": a.success,
                "status": a.status,
                "error": a.error,
                "durationMs": a.duration_ms,
                "log": a.log,
                "createdAt": time(&a.created_at),
            })).collect::<Vec<_>>(),
            "_links": {
                "self": link(format!("{}/logs", delivery_url(&base, &uuid))),
                "pb:triggered-webhook": link(delivery_url(&base, &uuid)),
            },
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    status: Option<String>,
    page: Option<i64>,
    size: Option<i64>,
}

impl PageQuery {
    fn bounds(&self) -> (i64, i64, i64) {
        let size = self.size.unwrap_or(PAGE).clamp(1, 1000);
        let page = self.page.unwrap_or(1).max(1);
        (page, size, (page - 1) * size)
    }
}

pub(super) fn delivery_page(
    base: &str,
    path: &str,
    query: &PageQuery,
    deliveries: &[Delivery],
    more: bool,
) -> Response {
    let (page, size, _) = query.bounds();
    let status = query
        .status
        .as_deref()
        .map(|s| format!("&status={s}"))
        .unwrap_or_default();
    let mut links = json!({
        "self": link(format!("{base}{path}?page={page}&size={size}{status}")),
        "accord:dead-letter": link(format!("{base}/webhooks/dead-letter")),
    });
    if more {
        links["next"] = link(format!(
            "{base}{path}?page={}&size={size}{status}",
            page + 1
        ));
    }
    if page > 1 {
        links["previous"] = link(format!(
            "{base}{path}?page={}&size={size}{status}",
            page - 1
        ));
    }
    hal(
        StatusCode::OK,
        json!({
            "_embedded": {
                "deliveries": deliveries.iter().map(|d| delivery_json(base, d)).collect::<Vec<_>>(),
            },
            "page": { "number": page, "size": size },
            "_links": links,
        }),
    )
}

pub(super) async fn page_of(
    state: &AppState,
    query: &PageQuery,
    status: Option<DeliveryStatus>,
) -> Result<(Vec<Delivery>, bool), ApiError> {
    let (_, size, offset) = query.bounds();
    let filter = DeliveryFilter {
        status,
        ..Default::default()
    };
    let mut deliveries = state.store.deliveries(&filter, offset, size + 1).await?;
    let more = deliveries.len() as i64 > size;
    deliveries.truncate(size as usize);
    Ok((deliveries, more))
}

/// `GET /webhooks/deliveries[?status=pending|retrying|succeeded|dead]`, newest first.
pub(super) async fn list_deliveries(
    State(state): State<AppState>,
    Base(base): Base,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(value) => Some(DeliveryStatus::parse(value).ok_or_else(|| {
            ApiError::validation(
                "status",
                format!("unknown status '{value}'; use pending, retrying, succeeded or dead"),
            )
        })?),
    };
    let (deliveries, more) = page_of(&state, &query, status).await?;
    Ok(delivery_page(
        &base,
        "/webhooks/deliveries",
        &query,
        &deliveries,
        more,
    ))
}

/// `GET /webhooks/dead-letter`: deliveries whose every attempt failed, newest first.
pub(super) async fn list_dead_letter(
    State(state): State<AppState>,
    Base(base): Base,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let (deliveries, more) = page_of(&state, &query, Some(DeliveryStatus::Dead)).await?;
    Ok(delivery_page(
        &base,
        "/webhooks/dead-letter",
        &query,
        &deliveries,
        more,
    ))
}

/// Queues a dead delivery again, with a fresh set of attempts and the same id.
pub async fn replay_delivery(state: &AppState, uuid: &str) -> Result<Delivery, ApiError> {
    let delivery = find_delivery(state, uuid).await?;
    if delivery.status() != DeliveryStatus::Dead {
        return Err(ApiError::Conflict {
            field: "status",
            message: format!(
                "delivery '{uuid}' is {}, not in the dead-letter list; only dead deliveries can be replayed",
                delivery.status().as_str()
            ),
            notices: vec![],
        });
    }
    let now = chrono::Utc::now().timestamp_millis();
    let extra = i64::from(state.config.webhooks.max_attempts.max(1));
    state
        .store
        .replay_delivery(uuid, now, extra)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("No triggered webhook with uuid '{uuid}' found"))
        })
}

pub(super) async fn replay(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let delivery = replay_delivery(&state, &uuid).await?;
    tracing::info!(delivery_id = %uuid, "dead webhook delivery queued again");
    Ok(hal(StatusCode::OK, delivery_json(&base, &delivery)))
}
