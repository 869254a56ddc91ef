//! `/pacticipants/{p}/versions`: pacticipant versions.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{find_pacticipant, find_version};
use crate::domain::{BranchName, PacticipantName, TagName, VersionNumber, optional_line};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, Page, created_or_ok, hal, link, named_link};
use crate::repr::{self, Urls};
use crate::startup::AppState;
use crate::store::{SaveVersion, Version};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants/{pacticipant}/versions", get(list))
        .route(
            "/pacticipants/{pacticipant}/versions/{version}",
            get(show).put(replace).patch(update).delete(remove),
        )
        .route("/pacticipants/{pacticipant}/latest-version", get(latest))
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}",
            get(latest_with_tag),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version",
            get(latest_on_branch),
        )
        .route(
            "/pacticipants/{pacticipant}/tags/{tag}/versions",
            get(with_tag),
        )
}

/// The versions-collection shape shared by the version lists.
pub async fn collection(
    state: &AppState,
    base: &str,
    self_url: String,
    pacticipant: &str,
    versions: &[Version],
) -> Result<Value, ApiError> {
    let data = repr::versions_data(state, versions).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|v| repr::version_json(base, v, &data))
        .collect();
    let links: Vec<Value> = versions
        .iter()
        .map(|v| repr::version_link(base, v))
        .collect();
    let pacticipant_link = named_link(
        Urls(base).pacticipant(pacticipant),
        "Pacticipant",
        pacticipant,
    );
    Ok(json!({
        "_embedded": { "versions": items },
        "_links": {
            "self": link(self_url),
            "pb:pacticipant": pacticipant_link,
            "pacticipant": pacticipant_link,
            "pb:versions": links,
            "versions": links,
        }
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
    let mut versions = state.store.versions(p.id).await?;
    let total = versions.len();
    if let Some(page) = page {
        versions = page.cut(versions).0;
    }
    let self_url = format!("{}/versions", Urls(&base).pacticipant(&p.name));
    let mut body = collection(&state, &base, self_url.clone(), &p.name, &versions).await?;
    if let Some(page) = page {
        page.describe(&mut body, &self_url, total);
    }
    Ok(hal(StatusCode::OK, body))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    Ok(hal(StatusCode::OK, repr::version(&state, &base, &v).await?))
}

/// `buildUrl` (`Some(None)` when explicitly null or empty) and `tags` of a version body.
type VersionBody = (Option<Option<String>>, Option<Vec<TagName>>);

/// Reads `buildUrl` and `tags` from a version body.
fn version_body(body: &Value) -> Result<VersionBody, ApiError> {
    let mut f = Fields::new(body, "");
    let build_url = if f.get("buildUrl").is_some() {
        let value = f.optional_str("buildUrl");
        match optional_line("buildUrl", value) {
            Ok(v) => Some(v),
            Err(err) => {
                f.errors.push(err);
                None
            }
        }
    } else {
        None
    };
    let tags = match f.get("tags") {
        None => None,
        Some(Value::Array(items)) => {
            let mut tags = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let name = item.get("name").and_then(Value::as_str).or(item.as_str());
                match name.map(|n| TagName::parse("tags", n)) {
                    Some(Ok(tag)) => tags.push(tag),
                    _ => f.error(
                        "tags",
                        format!("each tag needs a non-blank name (at index {index})"),
                    ),
                }
            }
            Some(tags)
        }
        Some(_) => {
            f.error("tags", "must be an array of {\"name\": ...} objects");
            None
        }
    };
    f.finish()?;
    Ok((build_url, tags))
}

async fn save(
    state: &AppState,
    base: &str,
    name: &str,
    number: &str,
    body: &Value,
    replace: bool,
) -> Result<Response, ApiError> {
    let pacticipant = PacticipantName::parse("pacticipant", name)?;
    let number = VersionNumber::parse("version", number)?;
    let (build_url, tags) = version_body(body)?;
    // PUT replaces the build URL (absent means none); PATCH only changes what is given.
    let build_url = if replace {
        Some(build_url.flatten())
    } else {
        build_url
    };
    let (v, was_created) = state
        .store
        .save_version(&SaveVersion {
            pacticipant,
            number,
            build_url,
            tags,
        })
        .await?;
    let body = repr::version(state, base, &v).await?;
    Ok(created_or_ok(
        was_created,
        &Urls(base).version(&v.pacticipant_name, &v.number),
        body,
    ))
}

async fn replace(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    save(&state, &base, &name, &number, &body, true).await
}

async fn update(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    save(&state, &base, &name, &number, &body, false).await
}

async fn remove(
    State(state): State<AppState>,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    state.store.delete_version(v.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn latest(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v =
        state.store.latest_version(p.id).await?.ok_or_else(|| {
            ApiError::not_found(format!("Pacticipant '{}' has no versions", p.name))
        })?;
    Ok(hal(StatusCode::OK, repr::version(&state, &base, &v).await?))
}

async fn latest_with_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let tag = TagName::parse("tag", &tag)?;
    let v = state
        .store
        .latest_version_with_tag(p.id, &tag)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("No version of '{}' is tagged '{tag}'", p.name))
        })?;
    Ok(hal(StatusCode::OK, repr::version(&state, &base, &v).await?))
}

async fn latest_on_branch(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, branch)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let branch = BranchName::parse("branch", &branch)?;
    let v = state
        .store
        .branch_head(p.id, &branch)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("Branch '{branch}' of '{}' has no versions", p.name))
        })?;
    Ok(hal(StatusCode::OK, repr::version(&state, &base, &v).await?))
}

async fn with_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let tag = TagName::parse("tag", &tag)?;
    let versions = state.store.versions_with_tag(p.id, &tag).await?;
    let self_url = format!(
        "{}/tags/{}/versions",
        Urls(&base).pacticipant(&p.name),
        crate::http::enc(tag.as_str())
    );
    Ok(hal(
        StatusCode::OK,
        collection(&state, &base, self_url, &p.name, &versions).await?,
    ))
}
