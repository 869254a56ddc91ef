//! `/matrix` and can-i-deploy: the rows of pacts and verification results between
//! versions, and whether a version can be deployed.
//!
//! The rules live in [`crate::matrix`]; this module reads the parameters of each
//! form of the question and writes the answer in the Pact Broker's shape.

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{BranchName, EnvironmentName, TagName, ValidationError};
use crate::drift::{self, DriftMode};
use crate::error::ApiError;
use crate::http::{Base, hal, link};
use crate::matrix::{
    self, DriftOutcome, IgnoreSpec, LatestBy, MatrixError, MatrixQuery, Options, Outcome, Row,
    SelectorSpec,
};
use crate::query::{NestedQuery, field};
use crate::repr::{self, Urls};
use crate::startup::AppState;
use crate::store::batch::TagOfVersion;
use crate::store::{BranchVersion, Environment};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/matrix", get(matrix_query))
        .route(
            "/matrix/provider/{provider}/consumer/{consumer}",
            get(integration_matrix),
        )
        .route("/can-i-deploy", get(can_i_deploy))
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(branch_to_environment),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(tag_to_tag),
        )
}

/// `GET /matrix` with Rack-style `q[][...]` selectors and options.
async fn matrix_query(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let query = MatrixQuery::from_query(&query).map_err(ApiError::ValidationList)?;
    answer(&state, &base, &query).await
}

/// `GET /matrix/provider/{p}/consumer/{c}`: every row of one integration.
async fn integration_matrix(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let consumer = find_pacticipant(&state, &consumer).await?;
    let query = MatrixQuery {
        selectors: vec![
            SelectorSpec {
                pacticipant: consumer.name,
                ..Default::default()
            },
            SelectorSpec {
                pacticipant: provider.name,
                ..Default::default()
            },
        ],
        options: Options {
            latestby: Some(LatestBy::Cvpv),
            ..Default::default()
        },
        ignore: vec![],
    };
    answer(&state, &base, &query).await
}

/// `GET /can-i-deploy?pacticipant=&version=&environment=` (or `to=TAG`).
async fn can_i_deploy(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let mut errors = Vec::new();
    let mut required = |key: &str| match params.get(key).filter(|v| !v.trim().is_empty()) {
        Some(value) => Some(value.to_string()),
        None => {
            errors.push(ValidationError::new(key, "is missing"));
            None
        }
    };
    let pacticipant = required("pacticipant");
    let version = required("version");
    let to = params.get("to").filter(|v| !v.trim().is_empty());
    let environment = params.get("environment").filter(|v| !v.trim().is_empty());
    match (to, environment) {
        (Some(_), Some(_)) => errors.push(ValidationError::new(
            "environment",
            "cannot be given together with to: ask about an environment or a tag, not both",
        )),
        (None, None) => errors.push(ValidationError::new(
            "environment",
            "is missing: say where the version is going with environment=NAME (or to=TAG)",
        )),
        _ => {}
    }
    if let Some(to) = to
        && let Err(err) = TagName::parse("to", to)
    {
        errors.push(err);
    }
    let drift = drift_mode(&params).unwrap_or_else(|err| {
        errors.push(err);
        DriftMode::default()
    });
    let mut ignore = Vec::new();
    for name in params.list("ignore") {
        if !name.trim().is_empty() {
            ignore.push(IgnoreSpec {
                pacticipant: name.clone(),
                version: None,
            });
        }
    }
    for group in params.groups("ignore") {
        match field(group, "pacticipant").filter(|v| !v.trim().is_empty()) {
            Some(name) => ignore.push(IgnoreSpec {
                pacticipant: name.to_string(),
                version: field(group, "version")
                    .filter(|v| !v.trim().is_empty())
                    .map(str::to_string),
            }),
            None => errors.push(ValidationError::new(
                "ignore",
                "each ignore[] entry needs a pacticipant",
            )),
        }
    }
    if let Some(name) = &pacticipant
        && find_pacticipant(&state, name).await.is_err()
    {
        errors.push(ValidationError::new(
            "pacticipant",
            format!("Pacticipant {name} not found"),
        ));
    }
    if let Some(environment) = environment {
        check_environment(&state, "environment", environment, &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (Some(pacticipant), Some(version)) = (pacticipant, version) else {
        return Err(ApiError::Validation(vec![]));
    };
    let options = match (to, environment) {
        (Some(tag), _) => Options {
            tag: Some(tag.to_string()),
            latest: true,
            latestby: Some(LatestBy::Cvp),
            ..Default::default()
        },
        (None, environment) => Options {
            environment: environment.map(str::to_string),
            latestby: Some(LatestBy::Cvpv),
            drift,
            ..Default::default()
        },
    };
    let query = MatrixQuery {
        selectors: vec![SelectorSpec {
            pacticipant,
            version: Some(version),
            ..Default::default()
        }],
        options,
        ignore,
    };
    answer(&state, &base, &query).await
}

/// `drift=block|warn|ignore` or `ignoreDrift=true`.
fn drift_mode(params: &NestedQuery) -> Result<DriftMode, ValidationError> {
    DriftMode::from_params(params.get("drift"), params.get("ignoreDrift"))
        .map_err(|message| ValidationError::new("drift", message))
}

async fn check_environment(
    state: &AppState,
    field: &str,
    name: &str,
    errors: &mut Vec<ValidationError>,
) -> Result<Option<Environment>, ApiError> {
    let parsed = match EnvironmentName::parse(field, name) {
        Ok(parsed) => parsed,
        Err(err) => {
            errors.push(err);
            return Ok(None);
        }
    };
    let found = state.store.environment_by_name(&parsed).await?;
    if found.is_none() {
        errors.push(ValidationError::new(
            field,
            format!("Environment with name '{name}' does not exist"),
        ));
    }
    Ok(found)
}

/// Can the head of a branch go to an environment?
async fn branch_to_environment(
    State(state): State<AppState>,
    Base(base): Base,
    Path((pacticipant, branch, environment)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let drift = drift_mode(&NestedQuery::parse(raw.as_deref().unwrap_or_default()))?;
    let p = find_pacticipant(&state, &pacticipant).await?;
    let branch_name = BranchName::parse("branch", &branch)?;
    if state.store.branch_head(p.id, &branch_name).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "No version of {} found on branch '{branch}'",
            p.name
        )));
    }
    let environment_name = EnvironmentName::parse("environment", &environment)?;
    if state
        .store
        .environment_by_name(&environment_name)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "No environment with name '{environment}' found"
        )));
    }
    let query = MatrixQuery {
        selectors: vec![SelectorSpec {
            pacticipant: p.name,
            branch: Some(branch),
            latest: true,
            ..Default::default()
        }],
        options: Options {
            environment: Some(environment),
            latestby: Some(LatestBy::Cvpv),
            drift,
            ..Default::default()
        },
        ignore: vec![],
    };
    answer(&state, &base, &query).await
}

/// Can the latest version with a tag go where another tag is (the tag-based form)?
async fn tag_to_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((pacticipant, tag, to)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &pacticipant).await?;
    let tag_name = TagName::parse("tag", &tag)?;
    TagName::parse("to", &to)?;
    if state
        .store
        .latest_version_with_tag(p.id, &tag_name)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "No version of {} found with tag '{tag}'",
            p.name
        )));
    }
    let query = MatrixQuery {
        selectors: vec![SelectorSpec {
            pacticipant: p.name,
            tag: Some(tag),
            latest: true,
            ..Default::default()
        }],
        options: Options {
            tag: Some(to),
            latest: true,
            latestby: Some(LatestBy::Cvp),
            ..Default::default()
        },
        ignore: vec![],
    };
    answer(&state, &base, &query).await
}

async fn answer(state: &AppState, base: &str, query: &MatrixQuery) -> Result<Response, ApiError> {
    let outcome = matrix::evaluate(state.store.as_ref(), base, query)
        .await
        .map_err(|err| match err {
            MatrixError::Invalid(errors) => ApiError::ValidationList(errors),
            MatrixError::Store(err) => ApiError::from(err),
        })?;
    Ok(hal(StatusCode::OK, body(state, base, &outcome).await?))
}

/// The answer in the Pact Broker's shape: `summary`, `notices`, `matrix`.
async fn body(state: &AppState, base: &str, outcome: &Outcome) -> Result<Value, ApiError> {
    let mut summary = json!({
        "deployable": outcome.deployable,
        "reason": outcome.reason(),
        "success": outcome.counts.success,
        "failed": outcome.counts.failed,
        "unknown": outcome.counts.unknown,
    });
    if let Some(ignored) = outcome.counts.ignored {
        summary["ignored"] = json!(ignored);
    }
    let notices: Vec<Value> = outcome
        .reasons
        .iter()
        .chain(outcome.notices.iter())
        .map(|n| json!({ "type": n.kind.as_str(), "text": n.text }))
        .collect();
    let mut versions = VersionCache::default();
    versions.prefetch(state, base, &outcome.rows).await?;
    let rows: Vec<Value> = outcome
        .rows
        .iter()
        .map(|row| row_json(base, row, &versions))
        .collect();
    let mut body = json!({ "summary": summary, "notices": notices, "matrix": rows });
    if let Some(drift) = &outcome.drift {
        body["drift"] = drift_json(base, drift);
    }
    Ok(body)
}

/// The `drift` section (an Accord extension): the mode, and each open finding that
/// concerns the deployment, with the line that also appears in the reason or notices.
fn drift_json(base: &str, drift: &DriftOutcome) -> Value {
    let findings: Vec<Value> = drift
        .concerns
        .iter()
        .map(|c| {
            let f = &c.finding;
            json!({
                "provider": f.provider_name,
                "consumer": c.consumer,
                "consumerVersion": c.consumer_version,
                "environment": c.environment,
                "fingerprint": f.fingerprint,
                "interaction": f.interaction,
                "request": f.request,
                "pointer": f.pointer,
                "class": f.class,
                "expected": f.expected,
                "actual": f.actual,
                "firstSeenAt": repr::time(&f.first_seen_at),
                "lastSeenAt": repr::time(&f.last_seen_at),
                "text": c.text,
                "_links": { "accord:drift": link(drift::state_url(base, &f.provider_name, Some(&c.environment))) }
            })
        })
        .collect();
    json!({
        "mode": drift.mode.as_str(),
        "environment": drift.environment,
        "blocking": drift.mode == DriftMode::Block && !drift.concerns.is_empty(),
        "findings": findings,
    })
}

/// Version details, read once per version however many rows show it: for all the
/// rows' versions at once, in four queries.
#[derive(Default)]
struct VersionCache {
    versions: HashMap<i64, Value>,
}

impl VersionCache {
    async fn prefetch(
        &mut self,
        state: &AppState,
        base: &str,
        rows: &[Row],
    ) -> Result<(), ApiError> {
        // Each version with its pacticipant and number, in the order rows show them.
        let mut wanted: Vec<(i64, &str, &str)> = Vec::new();
        for row in rows {
            let pp = &row.publication;
            wanted.push((
                pp.consumer_version_id,
                &pp.consumer_name,
                &pp.consumer_version_number,
            ));
            if let Some(v) = &row.verification {
                wanted.push((
                    v.provider_version_id,
                    &pp.provider_name,
                    &v.provider_version_number,
                ));
            }
        }
        wanted.retain(|(id, _, _)| !self.versions.contains_key(id));
        let mut seen = HashSet::new();
        wanted.retain(|(id, _, _)| seen.insert(*id));
        if wanted.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = wanted.iter().map(|(id, _, _)| *id).collect();
        let store = &state.store;
        // Independent reads, at once (the environments are few: all of them).
        let (branch_rows, tag_rows, environment_rows, environments) = tokio::try_join!(
            store.branches_of_versions(&ids),
            store.tags_of_versions(&ids),
            store.environments_of_versions(&ids),
            store.environments(),
        )?;
        let mut branches: HashMap<i64, Vec<BranchVersion>> = HashMap::new();
        for bv in branch_rows {
            branches.entry(bv.version_id).or_default().push(bv);
        }
        let mut tags: HashMap<i64, Vec<TagOfVersion>> = HashMap::new();
        for tag in tag_rows {
            tags.entry(tag.version_id).or_default().push(tag);
        }
        let mut environment_ids: HashMap<i64, Vec<i64>> = HashMap::new();
        for e in environment_rows {
            environment_ids
                .entry(e.version_id)
                .or_default()
                .push(e.environment_id);
        }
        let urls = Urls(base);
        for (version_id, pacticipant, number) in wanted {
            let branch_versions: Vec<Value> = branches
                .remove(&version_id)
                .unwrap_or_default()
                .iter()
                .map(|bv| repr::branch_version(base, pacticipant, bv))
                .collect();
            let branch = branch_versions.last().map(|bv| bv["name"].clone());
            let tags: Vec<Value> = tags
                .remove(&version_id)
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "latest": t.latest,
                        "createdAt": repr::time(&t.created_at),
                        "_links": { "self": link(urls.tag(pacticipant, number, &t.name)) }
                    })
                })
                .collect();
            let here = environment_ids.remove(&version_id).unwrap_or_default();
            let environments: Vec<Value> = environments
                .iter()
                .filter(|e| here.contains(&e.id))
                .map(|e| {
                    json!({
                        "uuid": e.uuid,
                        "name": e.name,
                        "displayName": e.display_name.clone().unwrap_or_else(|| repr::generated_display_name(&e.name)),
                        "production": e.production,
                        "_links": { "self": link(urls.environment(&e.uuid)) }
                    })
                })
                .collect();
            let value = json!({
                "number": number,
                "branch": branch,
                "branches": branch_versions,
                "branchVersions": branch_versions,
                "environments": environments,
                "tags": tags,
                "_links": { "self": link(urls.version(pacticipant, number)) }
            });
            self.versions.insert(version_id, value);
        }
        Ok(())
    }
}

fn row_json(base: &str, row: &Row, cache: &VersionCache) -> Value {
    let urls = Urls(base);
    let pp = &row.publication;
    let version = |id: i64| cache.versions.get(&id).cloned().unwrap_or(Value::Null);
    let consumer_version = version(pp.consumer_version_id);
    let (provider_version, verification) = match &row.verification {
        Some(v) => (
            version(v.provider_version_id),
            json!({
                "success": v.success,
                "verifiedAt": repr::time(&v.created_at),
                "_links": { "self": link(urls.verification(&v.provider_name, &v.consumer_name, &v.sha, v.id)) }
            }),
        ),
        None => (Value::Null, Value::Null),
    };
    let mut body = json!({
        "consumer": {
            "name": pp.consumer_name,
            "version": consumer_version,
            "_links": { "self": link(urls.pacticipant(&pp.consumer_name)) }
        },
        "provider": {
            "name": pp.provider_name,
            "version": provider_version,
            "_links": { "self": link(urls.pacticipant(&pp.provider_name)) }
        },
        "pact": {
            "createdAt": repr::time(&pp.created_at),
            "_links": { "self": link(urls.pact(&pp.provider_name, &pp.consumer_name, &pp.consumer_version_number)) }
        },
        "verificationResult": verification,
    });
    if row.ignored {
        body["ignored"] = json!(true);
    }
    body
}
