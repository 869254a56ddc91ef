//! `/pacticipants/{p}/branches`: branches and branch versions.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{find_pacticipant, find_version};
use crate::domain::{BranchName, PacticipantName, VersionNumber};
use crate::error::ApiError;
use crate::http::{Base, JsonBody, Page, created_or_ok, hal, link, named_link};
use crate::repr::{self, Urls, time};
use crate::startup::AppState;
use crate::store::{Branch, Pacticipant};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants/{pacticipant}/branches", get(list))
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}",
            get(show).delete(remove),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions",
            get(versions),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
            get(show_version).put(add_version).delete(remove_version),
        )
}

async fn find_branch(state: &AppState, p: &Pacticipant, name: &str) -> Result<Branch, ApiError> {
    let branch = BranchName::parse("branch", name)?;
    state.store.branch(p.id, &branch).await?.ok_or_else(|| {
        ApiError::not_found(format!("Pacticipant '{}' has no branch '{branch}'", p.name))
    })
}

async fn branch_json(
    state: &AppState,
    base: &str,
    p: &Pacticipant,
    b: &Branch,
) -> Result<Value, ApiError> {
    let urls = Urls(base);
    let head = state
        .store
        .branch_head(p.id, &BranchName::parse("branch", &b.name)?)
        .await?;
    let mut links = json!({
        "self": named_link(urls.branch(&p.name, &b.name), "Branch", &b.name),
        "pb:pacticipant": named_link(urls.pacticipant(&p.name), "Pacticipant", &p.name),
        "pb:versions": link(format!("{}/versions", urls.branch(&p.name, &b.name))),
    });
    if let Some(head) = head {
        links["pb:latest-version"] = named_link(
            urls.version(&p.name, &head.number),
            "Latest version",
            &head.number,
        );
    }
    Ok(json!({
        "name": b.name,
        "createdAt": time(&b.created_at),
        "updatedAt": time(&b.updated_at),
        "_links": links,
    }))
}

async fn list(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let page = Page::from_query(raw.as_deref())?;
    let p = find_pacticipant(&state, &name).await?;
    let mut branches = state.store.branches(p.id).await?;
    let total = branches.len();
    if let Some(page) = page {
        branches = page.cut(branches).0;
    }
    let mut items = Vec::new();
    let mut links = Vec::new();
    for b in branches {
        links.push(named_link(
            Urls(&base).branch(&p.name, &b.name),
            "Branch",
            &b.name,
        ));
        items.push(branch_json(&state, &base, &p, &b).await?);
    }
    let self_url = format!("{}/branches", Urls(&base).pacticipant(&p.name));
    let mut body = json!({
        "_embedded": { "branches": items },
        "_links": { "self": link(self_url.clone()), "pb:branches": links }
    });
    if let Some(page) = page {
        page.describe(&mut body, &self_url, total);
    }
    Ok(hal(StatusCode::OK, body))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, branch)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let b = find_branch(&state, &p, &branch).await?;
    Ok(hal(
        StatusCode::OK,
        branch_json(&state, &base, &p, &b).await?,
    ))
}

/// Deletes the branch; its versions are kept.
async fn remove(
    State(state): State<AppState>,
    Path((name, branch)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let b = find_branch(&state, &p, &branch).await?;
    state.store.delete_branch(b.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn versions(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, branch)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let b = find_branch(&state, &p, &branch).await?;
    // The branch's versions in its order, from one read of the pacticipant's versions.
    let (members, all) = tokio::try_join!(
        state.store.branch_versions(b.id),
        state.store.versions(p.id)
    )?;
    let mut by_id: std::collections::HashMap<i64, _> = all.into_iter().map(|v| (v.id, v)).collect();
    let versions: Vec<_> = members
        .iter()
        .filter_map(|bv| by_id.remove(&bv.version_id))
        .collect();
    let self_url = format!("{}/versions", Urls(&base).branch(&p.name, &b.name));
    Ok(hal(
        StatusCode::OK,
        super::versions::collection(&state, &base, self_url, &p.name, &versions).await?,
    ))
}

async fn show_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, branch, number)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let b = find_branch(&state, &p, &branch).await?;
    let v = find_version(&state, &p, &number).await?;
    let bv = state
        .store
        .branches_of_version(v.id)
        .await?
        .into_iter()
        .find(|bv| bv.branch_id == b.id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Version '{}' is not on branch '{}'",
                v.number, b.name
            ))
        })?;
    Ok(hal(
        StatusCode::OK,
        repr::branch_version(&base, &p.name, &bv),
    ))
}

/// Adds a version to a branch, creating what is missing. The body is ignored.
async fn add_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, branch, number)): Path<(String, String, String)>,
    JsonBody(_body): JsonBody,
) -> Result<Response, ApiError> {
    let pacticipant = PacticipantName::parse("pacticipant", &name)?;
    let branch = BranchName::parse("branch", &branch)?;
    let number = VersionNumber::parse("version", &number)?;
    let (bv, was_created) = state
        .store
        .add_branch_version(&pacticipant, &branch, &number)
        .await?;
    let location =
        Urls(&base).branch_version(pacticipant.as_str(), branch.as_str(), number.as_str());
    Ok(created_or_ok(
        was_created,
        &location,
        repr::branch_version(&base, pacticipant.as_str(), &bv),
    ))
}

async fn remove_version(
    State(state): State<AppState>,
    Path((name, branch, number)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let b = find_branch(&state, &p, &branch).await?;
    let v = find_version(&state, &p, &number).await?;
    if !state.store.delete_branch_version(b.id, v.id).await? {
        return Err(ApiError::not_found(format!(
            "Version '{}' is not on branch '{}'",
            v.number, b.name
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
