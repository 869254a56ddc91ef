//! `/admin/retention`: the retention policy (GET) and a run of it (POST), an Accord
//! extension linked from the index as `accord:retention`.
//!
//! `POST {"dryRun": true}` answers what a run would delete without deleting it;
//! without `dryRun` the run deletes it (in small chunks) and answers what went. A run
//! outlives its request: when the client gives up or the request timeout answers
//! first, the run still finishes in the background, and its audit entry records it.
//! Both list the versions concerned (the first [`LISTED_VERSIONS`]) and count
//! everything. A run while another one is in progress, on any replica, gets 409.
//! The policy itself comes from the broker's configuration (`--retention-*`).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, hal, link};
use crate::repr::time;
use crate::retention::{self, RetentionConfig};
use crate::startup::AppState;
use crate::store::events::{current_actor, with_actor};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/retention", get(policy).post(run))
}

/// How many versions an answer lists; the counts are always complete.
pub const LISTED_VERSIONS: usize = 100;

fn seconds(duration: Option<Duration>) -> Value {
    duration.map_or(Value::Null, |d| json!(d.as_secs()))
}

fn policy_json(config: &RetentionConfig) -> Value {
    json!({
        "maxAgeSeconds": config.max_age.as_secs(),
        "keepLatestPerBranch": config.keep_latest_per_branch.max(1),
        "deletionLimit": config.deletion_limit.max(1),
        "auditMaxAgeSeconds": seconds(config.audit_max_age),
        "driftRunMaxAgeSeconds": seconds(config.drift_run_max_age),
        "intervalSeconds": seconds(config.interval),
    })
}

async fn policy(State(state): State<AppState>, Base(base): Base) -> Response {
    hal(
        StatusCode::OK,
        json!({
            "policy": policy_json(&state.config.retention),
            "_links": { "self": link(format!("{base}/admin/retention")) },
        }),
    )
}

async fn run(
    State(state): State<AppState>,
    Base(base): Base,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut fields = Fields::new(&body, "");
    let dry_run = fields.optional_bool("dryRun").unwrap_or(false);
    fields.finish()?;
    let config = &state.config.retention;
    // On a task of its own, under the caller's name in the audit log, so that it runs
    // to its end even when this request does not wait for it.
    let run = {
        let (store, config) = (state.store.clone(), config.clone());
        async move { retention::run(store.as_ref(), &config, dry_run).await }
    };
    let task = match current_actor() {
        Some(actor) => tokio::spawn(with_actor(actor, run)),
        None => tokio::spawn(run),
    };
    let outcome = task
        .await
        .map_err(|err| ApiError::Internal(Box::new(err)))??;
    let Some(outcome) = outcome else {
        return Err(ApiError::Conflict {
            field: "retention",
            message: "Retention is already running (on this or another broker); try again when it has finished.".into(),
            notices: vec![],
        });
    };
    let versions: Vec<Value> = outcome
        .versions
        .iter()
        .take(LISTED_VERSIONS)
        .map(|v| json!({ "pacticipant": v.pacticipant_name, "version": v.number, "createdAt": time(&v.created_at) }))
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({
            "dryRun": dry_run,
            "policy": policy_json(config),
            "counts": {
                "versions": outcome.versions.len(),
                "pactPublications": outcome.pact_publications,
                "pactVersions": outcome.pact_versions,
                "verifications": outcome.verifications,
                "auditEntries": outcome.audit_entries,
                "driftRuns": outcome.drift_runs,
            },
            "versions": versions,
            "versionsTruncated": outcome.versions.len() > LISTED_VERSIONS,
            // The deletion limit stopped this run short: run again for the rest.
            "moreRemaining": outcome.more_remaining,
            "_links": { "self": link(format!("{base}/admin/retention")) },
        }),
    ))
}
