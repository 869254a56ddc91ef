//! Health endpoints.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;
use crate::http::{Base, hal, link};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/diagnostic/status/heartbeat", get(heartbeat))
        .route("/diagnostic/status/dependencies", get(dependencies))
}

/// Answers as soon as the broker serves; it does not touch the database.
async fn heartbeat(Base(base): Base) -> Response {
    hal(
        StatusCode::OK,
        json!({ "ok": true, "_links": { "self": link(format!("{base}/diagnostic/status/heartbeat")) } }),
    )
}

/// Checks the database.
async fn dependencies(
    State(state): State<AppState>,
    Base(base): Base,
) -> Result<Response, ApiError> {
    let links = json!({ "self": link(format!("{base}/diagnostic/status/dependencies")) });
    match state.store.ping().await {
        Ok(()) => Ok(hal(
            StatusCode::OK,
            json!({ "ok": true, "database": { "ok": true }, "_links": links }),
        )),
        Err(err) => {
            tracing::error!(error = %err, "database check failed");
            Ok(hal(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "ok": false, "database": { "ok": false, "error": { "message": "The database is unavailable." } }, "_links": links }),
            ))
        }
    }
}
