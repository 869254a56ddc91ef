//! Web UI pages for webhooks: the webhooks and their recent deliveries, the
//! dead-letter list with a replay button (a plain form POST), and one delivery with
//! its execution log. Secrets are hidden as in the API.

use std::fmt::Write;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::UiError;
use super::html::{self, a, esc, page};
use crate::edge::{CSRF_FIELD, CsrfToken};
use crate::http::{Base, enc};
use crate::repr::time;
use crate::startup::AppState;
use crate::store::webhooks::{Delivery, DeliveryFilter, DeliveryStatus};
use crate::webhooks::model;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/webhooks", get(webhooks_page))
        .route("/ui/webhooks/dead-letter", get(dead_letter_page))
        .route("/ui/webhooks/deliveries/{uuid}", get(delivery_page))
        .route("/ui/webhooks/deliveries/{uuid}/replay", post(replay))
}

/// Deliveries shown at most on one page.
const SHOWN: i64 = 200;

fn status_badge(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => {
            "<span class=\"badge none\" data-status=\"pending\">pending</span>"
        }
        DeliveryStatus::Retrying => {
            "<span class=\"badge fail\" data-status=\"retrying\">retrying</span>"
        }
        DeliveryStatus::Succeeded => {
            "<span class=\"badge ok\" data-status=\"succeeded\">succeeded</span>"
        }
        DeliveryStatus::Dead => "<span class=\"badge fail\" data-status=\"dead\">dead</span>",
    }
}

/// `replay` is the CSRF form field of the replay buttons, or `None` for no buttons.
fn delivery_rows(body: &mut String, base: &str, deliveries: &[Delivery], replay: Option<&str>) {
    body.push_str(
        "<table class=\"deliveries\"><tr><th>Delivery</th><th>Status</th><th>Event</th>\
         <th>Webhook</th><th>Request</th><th>Attempts</th><th>Last answer</th><th>Triggered</th>",
    );
    if replay.is_some() {
        body.push_str("<th></th>");
    }
    body.push_str("</tr>");
    for d in deliveries {
        let status = d.status();
        let method = d.request["method"].as_str().unwrap_or("POST");
        let url = model::mask_url(d.request["url"].as_str().unwrap_or_default());
        let last = match (d.last_status, &d.last_error) {
            (Some(code), _) => code.to_string(),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        let _ = write!(
            body,
            "<tr class=\"delivery\" data-uuid=\"{uuid}\"><td>{link}</td><td>{badge}</td><td>{event}</td>\
             <td>{webhook}</td><td><code>{method} {url}</code></td><td>{attempts} of {max}</td>\
             <td>{last}</td><td>{at}</td>",
            uuid = esc(&d.uuid),
            link = a(
                &format!("{base}/ui/webhooks/deliveries/{}", enc(&d.uuid)),
                &d.uuid
            ),
            badge = status_badge(status),
            event = esc(&d.event_name),
            webhook = esc(d.webhook_description.as_deref().unwrap_or(&d.webhook_uuid)),
            method = esc(method),
            url = esc(&url),
            attempts = d.attempts,
            max = d.max_attempts,
            last = esc(&last),
            at = esc(&time(&d.created_at)),
        );
        if let Some(csrf) = replay {
            let _ = write!(
                body,
                "<td><form method=\"post\" action=\"{}\">{csrf}<button type=\"submit\">Replay</button></form></td>",
                esc(&format!(
                    "{base}/ui/webhooks/deliveries/{}/replay",
                    enc(&d.uuid)
                ))
            );
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

/// `/ui/webhooks[?status=]`: every webhook, then the latest deliveries.
async fn webhooks_page(
    State(state): State<AppState>,
    Base(base): Base,
    Query(query): Query<StatusQuery>,
) -> Result<Response, UiError> {
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(value) => Some(DeliveryStatus::parse(value).ok_or_else(|| {
            UiError::BadRequest(vec![format!(
                "Unknown status '{value}': use pending, retrying, succeeded or dead."
            )])
        })?),
    };
    let webhooks = state.store.webhooks().await?;
    let counts = state.store.delivery_counts().await?;
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Deliveries: {} pending · {} retrying · {} succeeded · {} · {}</p>",
        counts.pending,
        counts.retrying,
        counts.succeeded,
        a(
            &format!("{base}/ui/webhooks/dead-letter"),
            &format!("{} in the dead-letter list", counts.dead)
        ),
        a(&format!("{base}/webhooks"), "Webhooks as JSON (API)"),
    );
    body.push_str("<h2>Webhooks</h2>");
    if webhooks.is_empty() {
        body.push_str(
            "<p class=\"muted\">No webhooks yet. Create one with <code>POST /webhooks</code> \
             (see the README's Webhooks section).</p>",
        );
    } else {
        body.push_str(
            "<table class=\"webhooks\"><tr><th>Description</th><th>Consumer</th><th>Provider</th>\
             <th>Events</th><th>Request</th><th>Enabled</th></tr>",
        );
        for w in &webhooks {
            let side = |name: &Option<String>, label: &Option<String>| match (name, label) {
                (Some(name), _) => esc(name),
                (None, Some(label)) => format!("label {}", esc(label)),
                (None, None) => "<span class=\"muted\">any</span>".to_string(),
            };
            let request = model::redact_request(&w.request);
            let _ = write!(
                body,
                "<tr class=\"webhook\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td><code>{} {}</code></td><td>{}</td></tr>",
                a(
                    &format!("{base}/webhooks/{}", enc(&w.uuid)),
                    w.description.as_deref().unwrap_or(&w.uuid)
                ),
                side(&w.consumer_name, &w.consumer_label),
                side(&w.provider_name, &w.provider_label),
                esc(&w.events.join(", ")),
                esc(request["method"].as_str().unwrap_or_default()),
                esc(request["url"].as_str().unwrap_or_default()),
                if w.enabled { "yes" } else { "no" },
            );
        }
        body.push_str("</table>");
    }
    let filter = DeliveryFilter {
        status,
        ..Default::default()
    };
    let deliveries = state.store.deliveries(&filter, 0, SHOWN).await?;
    let _ = write!(
        body,
        "<h2>Latest deliveries</h2><p>Show: {}",
        a(&format!("{base}/ui/webhooks"), "all")
    );
    for s in DeliveryStatus::ALL {
        let _ = write!(
            body,
            " · {}",
            a(
                &format!("{base}/ui/webhooks?status={}", s.as_str()),
                s.as_str()
            )
        );
    }
    body.push_str("</p>");
    if deliveries.is_empty() {
        body.push_str("<p class=\"muted\">No deliveries.</p>");
    } else {
        delivery_rows(&mut body, &base, &deliveries, None);
    }
    Ok(html::html(StatusCode::OK, page(&base, "Webhooks", &body)))
}

/// `/ui/webhooks/dead-letter`: deliveries whose every attempt failed, with replay.
async fn dead_letter_page(
    State(state): State<AppState>,
    Base(base): Base,
    csrf: CsrfToken,
) -> Result<Response, UiError> {
    let filter = DeliveryFilter {
        status: Some(DeliveryStatus::Dead),
        ..Default::default()
    };
    let deliveries = state.store.deliveries(&filter, 0, SHOWN).await?;
    let mut body = format!(
        "<p>Deliveries that failed every attempt. Replaying one queues it again with a \
         fresh set of attempts and the same delivery id. {}</p>",
        a(
            &format!("{base}/webhooks/dead-letter"),
            "Dead-letter list as JSON (API)"
        )
    );
    if deliveries.is_empty() {
        body.push_str("<p><span class=\"badge ok\">the dead-letter list is empty</span></p>");
    } else {
        delivery_rows(&mut body, &base, &deliveries, Some(&csrf.hidden_field()));
    }
    let mut response = html::html(
        StatusCode::OK,
        page(&base, "Webhook dead-letter list", &body),
    );
    csrf.set_cookie(&mut response);
    Ok(response)
}

/// `/ui/webhooks/deliveries/{uuid}`: one delivery, its request and every attempt's log.
async fn delivery_page(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    csrf: CsrfToken,
) -> Result<Response, UiError> {
    let delivery = state
        .store
        .delivery(&uuid)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("No webhook delivery with id '{uuid}'.")))?;
    let attempts = state.store.delivery_attempts(delivery.id).await?;
    let mut body = String::new();
    delivery_rows(
        &mut body,
        &base,
        std::slice::from_ref(&delivery),
        (delivery.status() == DeliveryStatus::Dead)
            .then(|| csrf.hidden_field())
            .as_deref(),
    );
    let request = model::redact_request(&delivery.request);
    let _ = write!(
        body,
        "<p>Request id {} · {} · {}</p><h2>Request</h2><pre>{}</pre><h2>Execution log</h2>",
        esc(delivery.request_id.as_deref().unwrap_or("(none)")),
        a(
            &format!("{base}/triggered-webhooks/{}/logs", enc(&uuid)),
            "Logs as JSON (API)"
        ),
        a(&format!("{base}/ui/webhooks"), "All deliveries"),
        esc(&serde_json::to_string_pretty(&request).unwrap_or_default()),
    );
    if attempts.is_empty() {
        body.push_str("<p class=\"muted\">No attempt has been made yet.</p>");
    }
    for attempt in &attempts {
        let _ = write!(
            body,
            "<h3>Attempt {} · {} · {} ms · by {}</h3><pre class=\"log\">{}</pre>",
            attempt.attempt,
            esc(&time(&attempt.created_at)),
            attempt.duration_ms,
            esc(&attempt.worker),
            esc(&attempt.log)
        );
    }
    let mut response = html::html(
        StatusCode::OK,
        page(&base, &format!("Webhook delivery {uuid}"), &body),
    );
    csrf.set_cookie(&mut response);
    Ok(response)
}

/// The replay button: queues a dead delivery again, then shows the dead-letter list.
/// The form must carry the CSRF token of the page it came from.
async fn replay(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    csrf: CsrfToken,
    form: Bytes,
) -> Result<Response, UiError> {
    let posted = url::form_urlencoded::parse(&form)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !csrf.verify(&posted) {
        return Err(UiError::Forbidden(
            "This form has no valid CSRF token: reload the page and press the button again."
                .to_string(),
        ));
    }
    let delivery = state
        .store
        .delivery(&uuid)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("No webhook delivery with id '{uuid}'.")))?;
    if delivery.status() != DeliveryStatus::Dead {
        return Err(UiError::BadRequest(vec![format!(
            "Delivery {uuid} is {}, not dead: only deliveries in the dead-letter list can be replayed.",
            delivery.status().as_str()
        )]));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let extra = i64::from(state.config.webhooks.max_attempts.max(1));
    state.store.replay_delivery(&uuid, now, extra).await?;
    tracing::info!(delivery_id = %uuid, "dead webhook delivery queued again from the web UI");
    Ok((
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{base}/ui/webhooks/deliveries/{}", enc(&uuid)),
        )],
    )
        .into_response())
}
