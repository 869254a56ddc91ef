//! Pacticipant labels: `GET/PUT/DELETE /pacticipants/{pacticipant}/labels/{label}`
//! and `GET /pacticipants/label/{label}` (the pacticipants carrying a label), as the
//! Pact Broker serves them. A pacticipant's labels are also embedded in its
//! representation (`_embedded.labels`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{LabelName, ValidationError};
use crate::error::ApiError;
use crate::http::{Base, created_or_ok, enc, hal, link, named_link};
use crate::repr::{self, Urls, time};
use crate::startup::AppState;
use crate::store::Pacticipant;
use crate::store::ops::Label;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants/label/{label}", get(with_label))
        .route(
            "/pacticipants/{pacticipant}/labels/{label}",
            get(show).put(put).delete(remove),
        )
}

/// A label name from the path: not blank, one line, at most [`limits::NAME`] characters.
fn label_name(value: &str) -> Result<&str, ValidationError> {
    LabelName::parse("label", value)?;
    Ok(value)
}

fn label_url(base: &str, pacticipant: &str, label: &str) -> String {
    format!(
        "{}/labels/{}",
        Urls(base).pacticipant(pacticipant),
        enc(label)
    )
}

fn label_json(base: &str, label: &Label) -> Value {
    let pacticipant = named_link(
        Urls(base).pacticipant(&label.pacticipant_name),
        "Pacticipant",
        &label.pacticipant_name,
    );
    json!({
        "name": label.name,
        "createdAt": time(&label.created_at),
        "_links": {
            "self": named_link(label_url(base, &label.pacticipant_name, &label.name), "Label", &label.name),
            "pb:pacticipant": pacticipant.clone(),
            "pacticipant": pacticipant,
        }
    })
}

/// The pacticipant representation with its labels embedded.
pub(crate) async fn pacticipant_with_labels(
    state: &AppState,
    base: &str,
    p: &Pacticipant,
) -> Result<Value, ApiError> {
    let mut body = repr::pacticipant(state, base, p).await?;
    let labels: Vec<Value> = state
        .store
        .labels(p.id)
        .await?
        .iter()
        .map(|l| json!({ "name": l.name, "_links": { "self": named_link(label_url(base, &p.name, &l.name), "Label", &l.name) } }))
        .collect();
    body["_embedded"]["labels"] = Value::Array(labels);
    Ok(body)
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((pacticipant, label)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = label_name(&label)?;
    let p = find_pacticipant(&state, &pacticipant).await?;
    let found = state.store.label(p.id, name).await?.ok_or_else(|| {
        ApiError::not_found(format!("Pacticipant '{}' has no label '{name}'", p.name))
    })?;
    Ok(hal(StatusCode::OK, label_json(&base, &found)))
}

/// PUT labels an existing pacticipant: 201 for a new label, 200 when it had it.
async fn put(
    State(state): State<AppState>,
    Base(base): Base,
    Path((pacticipant, label)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = label_name(&label)?;
    let p = find_pacticipant(&state, &pacticipant).await?;
    let (saved, was_created) = state.store.add_label(p.id, name).await?;
    Ok(created_or_ok(
        was_created,
        &label_url(&base, &p.name, &saved.name),
        label_json(&base, &saved),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path((pacticipant, label)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = label_name(&label)?;
    let p = find_pacticipant(&state, &pacticipant).await?;
    if !state.store.delete_label(p.id, name).await? {
        return Err(ApiError::not_found(format!(
            "Pacticipant '{}' has no label '{name}'",
            p.name
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The pacticipants carrying a label, shaped like the pacticipant list.
async fn with_label(
    State(state): State<AppState>,
    Base(base): Base,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    let name = label_name(&label)?;
    let mut items = Vec::new();
    for p in state.store.pacticipants_with_label(name).await? {
        items.push(pacticipant_with_labels(&state, &base, &p).await?);
    }
    let links: Vec<Value> = items
        .iter()
        .map(|item| {
            let name = item["name"].as_str().unwrap_or_default();
            named_link(Urls(&base).pacticipant(name), "Pacticipant", name)
        })
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({
            "_embedded": { "pacticipants": items },
            "_links": {
                "self": link(format!("{base}/pacticipants/label/{}", enc(name))),
                "pb:pacticipants": links,
            }
        }),
    ))
}
