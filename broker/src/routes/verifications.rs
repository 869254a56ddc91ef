//! Verification results: publishing them (from a pact's link) and reading them back.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{PacticipantName, VersionNumber, check_length, check_no_nul, limits};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, created, hal, link};
use crate::metadata::PactMetadata;
use crate::repr::{Urls, time};
use crate::startup::AppState;
use crate::store::{
    NewVerification, PactVersion, Pacticipant, PublicationFilter, Verification, VerificationFilter,
};

pub fn router() -> Router<AppState> {
    let content = "/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}";
    Router::new()
        .route(&format!("{content}/verification-results"), post(publish))
        .route(
            &format!("{content}/metadata/{{metadata}}/verification-results"),
            post(publish_with_metadata),
        )
        .route(
            &format!("{content}/verification-results/latest"),
            get(latest),
        )
        .route(
            &format!("{content}/verification-results/{{number}}"),
            get(show).delete(remove),
        )
        .route(
            &format!("{content}/metadata/{{metadata}}/verification-results/{{number}}"),
            get(show_with_metadata),
        )
        .route(
            "/verification-results/consumer/{consumer}/version/{version}/latest",
            get(latest_for_consumer_version),
        )
}

/// The URL of one verification result.
pub fn verification_url(base: &str, v: &Verification) -> String {
    format!(
        "{}/verification-results/{}",
        Urls(base).pact_version(&v.provider_name, &v.consumer_name, &v.sha),
        v.id
    )
}

pub fn verification_json(base: &str, v: &Verification) -> Value {
    let urls = Urls(base);
    let self_url = verification_url(base, v);
    let verified_by = v.verified_by.as_ref().map(|by| {
        json!({
            "implementation": by.get("implementation"),
            "version": by.get("version"),
            "client_implementation": by.pointer("/clientLanguage/name"),
            "client_test_framework": by.pointer("/clientLanguage/testFramework"),
            "client_version": by.pointer("/clientLanguage/version"),
        })
    });
    json!({
        "providerName": v.provider_name,
        "providerApplicationVersion": v.provider_version_number,
        "success": v.success,
        "verificationDate": time(&v.created_at),
        "buildUrl": v.build_url,
        "testResults": v.test_results,
        "verifiedBy": verified_by,
        "_links": {
            "self": { "title": "Verification result", "name": format!("Verification result {} for Pact between {} and {}", v.id, v.consumer_name, v.provider_name), "href": self_url },
            "pb:pact-version": { "title": "Pact", "name": format!("Pact between {} and {}", v.consumer_name, v.provider_name), "href": urls.pact_version(&v.provider_name, &v.consumer_name, &v.sha) },
            "pb:provider-version": { "title": "Provider version", "name": v.provider_version_number, "href": urls.version(&v.provider_name, &v.provider_version_number) },
            "pb:triggered-webhooks": { "title": "Webhooks triggered by the publication of this verification result", "href": format!("{self_url}/triggered-webhooks") },
        }
    })
}

async fn content(
    state: &AppState,
    provider: &str,
    consumer: &str,
    sha: &str,
) -> Result<(Pacticipant, PactVersion), ApiError> {
    let provider = find_pacticipant(state, provider)
        .await
        .map_err(|_| ApiError::not_found(format!("No provider with name '{provider}' found")))?;
    let consumer = find_pacticipant(state, consumer)
        .await
        .map_err(|_| ApiError::not_found(format!("No consumer with name '{consumer}' found")))?;
    let pact = state
        .store
        .pact_version_by_sha(consumer.id, provider.id, sha)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No pact between {} and {} with content {sha} found",
                consumer.name, provider.name
            ))
        })?;
    Ok((provider, pact))
}

async fn record(
    state: &AppState,
    base: &str,
    provider: &str,
    consumer: &str,
    sha: &str,
    metadata: PactMetadata,
    body: &Value,
) -> Result<Response, ApiError> {
    let (provider, pact) = content(state, provider, consumer, sha).await?;
    let mut f = Fields::new(body, "");
    let success = f.required_bool("success");
    let version = f.parse("providerApplicationVersion", true, VersionNumber::parse);
    let build_url = f.optional_str("buildUrl").map(str::to_string);
    if let Some(url) = &build_url
        && let Err(err) = check_length("buildUrl", url, limits::URL)
    {
        f.errors.push(err);
    }
    if let Some(url) = &build_url
        && url::Url::parse(url).is_err()
    {
        f.error(
            "buildUrl",
            "must be a valid URL (e.g. https://ci.example.com/builds/1)",
        );
    }
    let test_results = f.get("testResults").cloned();
    let verified_by = f.get("verifiedBy").cloned();
    for (key, value) in [("testResults", &test_results), ("verifiedBy", &verified_by)] {
        if let Some(Err(err)) = value.as_ref().map(|v| check_no_nul(key, v)) {
            f.errors.push(err);
        }
    }
    f.finish()?;
    let (Some(success), Some(version)) = (success, version) else {
        return Err(ApiError::validation("success", "is missing"));
    };
    let verification = state
        .store
        .record_verification(&NewVerification {
            pact_version_id: pact.id,
            provider: PacticipantName::parse("provider", &provider.name)?,
            provider_version: version,
            success,
            build_url,
            test_results,
            verified_by,
            wip: metadata.wip,
            pending: metadata.pending,
        })
        .await?;
    state.metrics.verification_published(verification.success);
    Ok(created(
        &verification_url(base, &verification),
        verification_json(base, &verification),
    ))
}

async fn publish(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha)): Path<(String, String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    record(
        &state,
        &base,
        &provider,
        &consumer,
        &sha,
        PactMetadata::default(),
        &body,
    )
    .await
}

async fn publish_with_metadata(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha, metadata)): Path<(String, String, String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    record(
        &state,
        &base,
        &provider,
        &consumer,
        &sha,
        PactMetadata::decode(&metadata),
        &body,
    )
    .await
}

async fn latest(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (_, pact) = content(&state, &provider, &consumer, &sha).await?;
    let verification = state
        .store
        .verifications(VerificationFilter {
            pact_version_id: Some(pact.id),
            ..Default::default()
        })
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("This pact content has not been verified yet"))?;
    Ok(hal(StatusCode::OK, verification_json(&base, &verification)))
}

async fn find(
    state: &AppState,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: &str,
) -> Result<Verification, ApiError> {
    let (_, pact) = content(state, provider, consumer, sha).await?;
    let id: i64 = number
        .parse()
        .map_err(|_| ApiError::not_found(format!("No verification result {number}")))?;
    state
        .store
        .verification(id)
        .await?
        .filter(|v| v.pact_version_id == pact.id)
        .ok_or_else(|| {
            ApiError::not_found(format!("No verification result {number} for this pact"))
        })
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha, number)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let v = find(&state, &provider, &consumer, &sha, &number).await?;
    Ok(hal(StatusCode::OK, verification_json(&base, &v)))
}

async fn show_with_metadata(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha, _metadata, number)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response, ApiError> {
    let v = find(&state, &provider, &consumer, &sha, &number).await?;
    Ok(hal(StatusCode::OK, verification_json(&base, &v)))
}

async fn remove(
    State(state): State<AppState>,
    Path((provider, consumer, sha, number)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let v = find(&state, &provider, &consumer, &sha, &number).await?;
    state.store.delete_verification(v.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The latest verification of each pact a consumer version published.
async fn latest_for_consumer_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((consumer, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &consumer).await?;
    let v = super::find_version(&state, &p, &version).await?;
    let mut results = Vec::new();
    let mut success = true;
    for pp in state
        .store
        .publications(PublicationFilter {
            consumer_version_id: Some(v.id),
            ..Default::default()
        })
        .await?
    {
        let latest = state
            .store
            .verifications(VerificationFilter {
                pact_version_id: Some(pp.pact_version_id),
                ..Default::default()
            })
            .await?
            .pop();
        match latest {
            Some(verification) => {
                success &= verification.success;
                results.push(verification_json(&base, &verification));
            }
            None => success = false,
        }
    }
    Ok(hal(
        StatusCode::OK,
        json!({
            "success": success,
            "_embedded": { "verificationResults": results },
            "_links": { "self": link(format!("{base}/verification-results/consumer/{}/version/{}/latest", crate::http::enc(&p.name), crate::http::enc(&v.number))) }
        }),
    ))
}
