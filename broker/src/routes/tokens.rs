//! Scoped API tokens: `POST /tokens` mints one (its value is in that answer and never
//! again), `GET /tokens` lists them without secrets, `GET`/`DELETE /tokens/{name}`
//! shows or revokes one. Only administrators may call these (see `auth::scope`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::scope::Scope;
use crate::auth::tokens;
use crate::domain::{PacticipantName, ValidationError};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, created, enc, hal, link};
use crate::repr::time;
use crate::startup::AppState;
use crate::store::StoreError;
use crate::store::tokens::{ApiToken, NewApiToken};

/// Most scopes one token may carry.
const MAX_SCOPES: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{name}", get(show).delete(revoke))
}

fn token_url(base: &str, name: &str) -> String {
    format!("{base}/tokens/{}", enc(name))
}

fn token_json(base: &str, token: &ApiToken) -> Value {
    json!({
        "name": token.name,
        "scopes": token.scopes,
        "createdBy": token.created_by,
        "createdAt": time(&token.created_at),
        "expiresAt": token.expires_at.as_ref().map(time),
        "_links": { "self": link(token_url(base, &token.name)) },
    })
}

/// A token name follows the pacticipant name rules (one line, not blank, bounded).
fn token_name(field: &str, value: &str) -> Result<String, ValidationError> {
    PacticipantName::parse(field, value).map(|name| name.as_str().to_string())
}

struct TokenFields {
    name: String,
    scopes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
}

fn token_fields(body: &Value) -> Result<TokenFields, ApiError> {
    let mut f = Fields::new(body, "");
    let name = f.parse("name", true, token_name);
    let mut scopes = Vec::new();
    match f.get("scopes") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_SCOPES => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(Scope::parse) {
                    Some(Ok(scope)) => scopes.push(scope.to_string()),
                    Some(Err(err)) => f.error(&format!("scopes.{i}"), err.to_string()),
                    None => f.error(&format!("scopes.{i}"), "must be a string"),
                }
            }
        }
        _ => f.error(
            "scopes",
            format!(
                "must be a list of 1 to {MAX_SCOPES} scopes, such as [\"publish:web\", \"deploy:web@production\"]"
            ),
        ),
    }
    let expires_at =
        f.optional_str("expiresAt")
            .and_then(|value| match DateTime::parse_from_rfc3339(value) {
                Ok(at) if at > Utc::now() => Some(at.with_timezone(&Utc)),
                Ok(_) => {
                    f.error("expiresAt", "must be in the future");
                    None
                }
                Err(_) => {
                    f.error(
                        "expiresAt",
                        "must be an RFC 3339 time such as 2027-01-31T00:00:00Z",
                    );
                    None
                }
            });
    f.finish()?;
    let name = name.ok_or_else(|| ApiError::validation("name", "is missing"))?;
    scopes.dedup();
    Ok(TokenFields {
        name,
        scopes,
        expires_at,
    })
}

async fn create(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = token_fields(&body)?;
    let token = tokens::mint();
    let new = NewApiToken {
        name: fields.name.clone(),
        token_hash: tokens::hash(&token),
        scopes: fields.scopes,
        created_by: caller.name,
        expires_at: fields.expires_at,
    };
    let stored = state.store.create_token(&new).await.map_err(|err| match err {
        StoreError::Conflict(_) => ApiError::Conflict {
            field: "name",
            message: format!(
                "A token named '{}' already exists: revoke it first (DELETE /tokens/{}) or pick another name.",
                fields.name,
                enc(&fields.name)
            ),
            notices: vec![],
        },
        other => other.into(),
    })?;
    let mut body = token_json(&base, &stored);
    // The only time the token is ever shown.
    body["token"] = Value::String(token);
    let mut response = created(&token_url(&base, &stored.name), body);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn list(State(state): State<AppState>, Base(base): Base) -> Result<Response, ApiError> {
    let items: Vec<Value> = state
        .store
        .tokens()
        .await?
        .iter()
        .map(|t| token_json(&base, t))
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "tokens": items }, "_links": { "self": link(format!("{base}/tokens")) } }),
    ))
}

async fn find(state: &AppState, name: &str) -> Result<ApiToken, ApiError> {
    state
        .store
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ApiError::not_found(format!("No token named '{name}'")))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let token = find(&state, &name).await?;
    Ok(hal(StatusCode::OK, token_json(&base, &token)))
}

async fn revoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if !state.store.delete_token(&name).await? {
        return Err(ApiError::not_found(format!("No token named '{name}'")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
