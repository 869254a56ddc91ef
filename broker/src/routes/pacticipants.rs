//! `/pacticipants`: consumers and providers.

use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{BranchName, PacticipantName, limits, optional_text};
use crate::error::ApiError;
use crate::http::{
    Base, Fields, JsonBody, Page, created, created_or_ok, hal, link, named_link, templated,
};
use crate::repr::Urls;
use crate::startup::AppState;
use crate::store::{PacticipantFields, SaveMode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants", get(list).post(create))
        .route(
            "/pacticipants/{pacticipant}",
            get(show).put(replace).patch(update).delete(remove),
        )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Base(base): Base,
    Query(query): Query<ListQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let page = Page::from_query(raw.as_deref())?;
    let mut found = Vec::new();
    for p in state.store.pacticipants().await? {
        if let Some(q) = &query.q {
            let q = q.to_lowercase();
            let display = p.display_name.clone().unwrap_or_default().to_lowercase();
            if !p.name.to_lowercase().contains(&q) && !display.contains(&q) {
                continue;
            }
        }
        found.push(p);
    }
    let total = found.len();
    if let Some(page) = page {
        found = page.cut(found).0;
    }
    let mut items = Vec::new();
    for p in &found {
        items.push(super::labels::pacticipant_with_labels(&state, &base, p).await?);
    }
    let deprecated: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            item["title"] = json!("DEPRECATED - please use _embedded.pacticipants");
            item
        })
        .collect();
    let links: Vec<Value> = items
        .iter()
        .map(|item| {
            let name = item["name"].as_str().unwrap_or_default();
            named_link(Urls(&base).pacticipant(name), "Pacticipant", name)
        })
        .collect();
    // The deprecated relation puts the name in the title, as the Pact Broker does
    // and older clients read it.
    let deprecated_links: Vec<Value> = items
        .iter()
        .map(|item| {
            let name = item["name"].as_str().unwrap_or_default();
            named_link(
                Urls(&base).pacticipant(name),
                name,
                "DEPRECATED - please use pb:pacticipants",
            )
        })
        .collect();
    let mut body = json!({
            "_embedded": { "pacticipants": items },
            "pacticipants": deprecated,
            "_links": {
                "self": link(format!("{base}/pacticipants")),
                "pb:pacticipants-with-label": templated(format!("{base}/pacticipants/label/{{label}}"), "Pacticipants with label"),
                "pb:pacticipants": links,
                "pacticipants": deprecated_links,
            }
    });
    if let Some(page) = page {
        page.describe(&mut body, &format!("{base}/pacticipants"), total);
    }
    Ok(hal(StatusCode::OK, body))
}

/// Reads the writable fields of a pacticipant body.
fn fields(body: &Value) -> Result<(Option<PacticipantName>, PacticipantFields), ApiError> {
    let mut f = Fields::new(body, "");
    let name = f.parse("name", false, PacticipantName::parse);
    let main_branch = f.parse("mainBranch", false, |field, value| {
        if value.contains(char::is_whitespace) {
            return Err(crate::domain::ValidationError::new(
                field,
                "cannot contain spaces or new lines",
            ));
        }
        BranchName::parse(field, value)
    });
    let line = |f: &mut Fields, key: &str| {
        let value = f.optional_str(key);
        let max = if key == "repositoryUrl" {
            limits::URL
        } else {
            limits::NAME
        };
        match optional_text(key, value, max) {
            Ok(v) => v,
            Err(err) => {
                f.errors.push(err);
                None
            }
        }
    };
    let display_name = line(&mut f, "displayName");
    let repository_url = line(&mut f, "repositoryUrl");
    let repository_name = line(&mut f, "repositoryName");
    let repository_namespace = line(&mut f, "repositoryNamespace");
    f.finish()?;
    Ok((
        name,
        PacticipantFields {
            display_name,
            repository_url,
            repository_name,
            repository_namespace,
            main_branch,
        },
    ))
}

async fn create(
    State(state): State<AppState>,
    Base(base): Base,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (name, fields) = fields(&body)?;
    let name = name.ok_or_else(|| ApiError::validation("name", "is missing"))?;
    let p = state
        .store
        .create_pacticipant(&name, &fields)
        .await
        .map_err(|err| match ApiError::from(err) {
            ApiError::Conflict { .. } => ApiError::Conflict {
                field: "name",
                message: format!("A pacticipant named '{name}' already exists"),
                notices: vec![],
            },
            other => other,
        })?;
    let body = super::labels::pacticipant_with_labels(&state, &base, &p).await?;
    Ok(created(&Urls(&base).pacticipant(&p.name), body))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    Ok(hal(
        StatusCode::OK,
        super::labels::pacticipant_with_labels(&state, &base, &p).await?,
    ))
}

/// PUT replaces an existing pacticipant; it does not create one.
async fn replace(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let existing = find_pacticipant(&state, &name).await?;
    let (_, fields) = fields(&body)?;
    let name = PacticipantName::parse("pacticipant", &existing.name)?;
    let (p, _) = state
        .store
        .save_pacticipant(&name, &fields, SaveMode::Replace)
        .await?;
    Ok(hal(
        StatusCode::OK,
        super::labels::pacticipant_with_labels(&state, &base, &p).await?,
    ))
}

/// PATCH merges, and creates the pacticipant when it does not exist (legacy behaviour).
async fn update(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let name = PacticipantName::parse("pacticipant", &name)?;
    let (_, fields) = fields(&body)?;
    let (p, was_created) = state
        .store
        .save_pacticipant(&name, &fields, SaveMode::Merge)
        .await?;
    let body = super::labels::pacticipant_with_labels(&state, &base, &p).await?;
    Ok(created_or_ok(
        was_created,
        &Urls(&base).pacticipant(&p.name),
        body,
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    state.store.delete_pacticipant(p.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
