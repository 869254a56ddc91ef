//! One module per resource, each exposing `router()`, plus the look-ups they share.

mod audit;
mod badges;
mod branches;
mod diagnostic;
mod drift;
mod environments;
mod for_verification;
mod import;
mod index;
mod labels;
mod matrix;
mod pacticipants;
mod pacts;
pub(crate) mod provider_contracts;
mod publish;
mod retention;
mod tags;
mod tokens;
mod verifications;
mod versions;
mod webhooks;

use axum::Router;

use std::collections::HashSet;

use crate::domain::{PacticipantName, TagName, VersionNumber};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{Pacticipant, Version};

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(index::router())
        .merge(badges::router())
        .merge(diagnostic::router())
        .merge(pacticipants::router())
        .merge(versions::router())
        .merge(branches::router())
        .merge(tags::router())
        .merge(publish::router())
        .merge(pacts::router())
        .merge(environments::router())
        .merge(verifications::router())
        .merge(for_verification::router())
        .merge(matrix::router())
        .merge(drift::router())
        .merge(webhooks::router())
        .merge(audit::router())
        .merge(labels::router())
        .merge(retention::router())
        .merge(import::router())
        .merge(tokens::router())
        .merge(provider_contracts::router())
}

/// The pacticipant named in the path, or 404.
pub(crate) async fn find_pacticipant(
    state: &AppState,
    name: &str,
) -> Result<Pacticipant, ApiError> {
    let name = PacticipantName::parse("pacticipant", name)?;
    state
        .store
        .pacticipant(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No pacticipant with name '{name}' found")))
}

/// The version named in the path, or 404.
pub(crate) async fn find_version(
    state: &AppState,
    pacticipant: &Pacticipant,
    number: &str,
) -> Result<Version, ApiError> {
    let number = VersionNumber::parse("version", number)?;
    state
        .store
        .version(pacticipant.id, &number)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No version '{number}' of pacticipant '{}' found",
                pacticipant.name
            ))
        })
}

/// The ids of the pacticipant's versions that carry `tag`, or any tag when `None`.
pub(crate) async fn tagged_version_ids(
    state: &AppState,
    pacticipant_id: i64,
    tag: Option<&TagName>,
) -> Result<HashSet<i64>, ApiError> {
    Ok(state
        .store
        .tags_of_pacticipant(pacticipant_id)
        .await?
        .into_iter()
        .filter(|t| tag.is_none_or(|tag| t.name == tag.as_str()))
        .map(|t| t.version_id)
        .collect())
}
