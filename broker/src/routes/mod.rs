//! One module per resource, each exposing `router()`, plus the look-ups they share.

mod branches;
mod diagnostic;
mod drift;
mod environments;
mod for_verification;
mod index;
mod matrix;
mod pacticipants;
mod pacts;
mod publish;
mod tags;
mod verifications;
mod versions;

use axum::Router;

use crate::domain::{PacticipantName, VersionNumber};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{Pacticipant, Version};

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(index::router())
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
