//! `/pacticipants/{p}/versions/{v}/tags/{t}`: version tags.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{find_pacticipant, find_version};
use crate::domain::{PacticipantName, TagName, VersionNumber};
use crate::error::ApiError;
use crate::http::{Base, JsonBody, created_or_ok, hal};
use crate::repr::{self, Urls};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
        get(show).put(add).delete(remove),
    )
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number, tag)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    let tag = TagName::parse("tag", &tag)?;
    let t = state.store.tag(v.id, &tag).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "Version '{}' of '{}' has no tag '{tag}'",
            v.number, p.name
        ))
    })?;
    Ok(hal(StatusCode::OK, repr::tag(&base, &p.name, &t)))
}

/// Creates pacticipant, version and tag as needed. The body is ignored.
async fn add(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number, tag)): Path<(String, String, String)>,
    JsonBody(_body): JsonBody,
) -> Result<Response, ApiError> {
    let pacticipant = PacticipantName::parse("pacticipant", &name)?;
    let number = VersionNumber::parse("version", &number)?;
    let tag = TagName::parse("tag", &tag)?;
    let (t, was_created) = state.store.add_tag(&pacticipant, &number, &tag).await?;
    let location = Urls(&base).tag(pacticipant.as_str(), number.as_str(), tag.as_str());
    Ok(created_or_ok(
        was_created,
        &location,
        repr::tag(&base, pacticipant.as_str(), &t),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path((name, number, tag)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    let tag = TagName::parse("tag", &tag)?;
    if !state.store.delete_tag(v.id, &tag).await? {
        return Err(ApiError::not_found(format!(
            "Version '{}' of '{}' has no tag '{tag}'",
            v.number, p.name
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
