//! Environments, deployments and releases.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{find_pacticipant, find_version};
use crate::auth::Caller;
use crate::auth::scope::Action;
use crate::domain::{
    EnvironmentName, PacticipantName, ValidationError, check_length, check_no_nul, limits,
    optional_text,
};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, created, created_or_ok, hal, link, named_link};
use crate::repr::{self, Urls};
use crate::startup::AppState;
use crate::store::{
    DeployedVersion, Environment, EnvironmentFields, EnvironmentRecordFilter, ReleasedVersion,
    StoreError,
};

pub fn router() -> Router<AppState> {
    let version = "/pacticipants/{pacticipant}/versions/{version}";
    Router::new()
        .route("/environments", get(list).post(create))
        .route(
            "/environments/{uuid}",
            get(show).put(replace).delete(remove),
        )
        .route(
            "/environments/{uuid}/deployed-versions/currently-deployed",
            get(currently_deployed),
        )
        .route(
            "/environments/{uuid}/released-versions/currently-supported",
            get(currently_supported),
        )
        .route(
            &format!("{version}/deployed-versions/environment/{{uuid}}"),
            get(version_deployments).post(record_deployment),
        )
        .route(
            &format!("{version}/released-versions/environment/{{uuid}}"),
            get(version_releases).post(record_release),
        )
        .route(
            "/deployed-versions/{uuid}",
            get(show_deployed).patch(update_deployed),
        )
        .route(
            "/released-versions/{uuid}",
            get(show_released).patch(update_released),
        )
}

pub(crate) async fn find_environment(
    state: &AppState,
    uuid: &str,
) -> Result<Environment, ApiError> {
    state
        .store
        .environment(uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No environment with uuid '{uuid}' found")))
}

#[derive(Debug, Deserialize)]
struct NameQuery {
    name: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Base(base): Base,
    Query(query): Query<NameQuery>,
) -> Result<Response, ApiError> {
    let environments: Vec<Environment> = state
        .store
        .environments()
        .await?
        .into_iter()
        .filter(|e| query.name.as_ref().is_none_or(|n| &e.name == n))
        .collect();
    let links: Vec<Value> = environments
        .iter()
        .map(|e| named_link(Urls(&base).environment(&e.uuid), "Environment", &e.name))
        .collect();
    let items: Vec<Value> = environments
        .iter()
        .map(|e| repr::environment(&base, e))
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "environments": items }, "_links": { "self": link(format!("{base}/environments")), "pb:environments": links } }),
    ))
}

fn environment_fields(body: &Value) -> Result<EnvironmentFields, ApiError> {
    let mut f = Fields::new(body, "");
    let name = f.parse("name", true, EnvironmentName::parse);
    let production = f.required_bool("production");
    let display_name = match optional_text(
        "displayName",
        f.optional_str("displayName")
            .filter(|s| !s.trim().is_empty()),
        limits::NAME,
    ) {
        Ok(name) => name,
        Err(err) => {
            f.errors.push(err);
            None
        }
    };
    let contacts = match f.get("contacts") {
        None => None,
        Some(Value::Array(items)) => {
            let contacts = Value::Array(items.clone());
            if let Err(err) = check_no_nul("contacts", &contacts) {
                f.errors.push(err);
            }
            Some(contacts)
        }
        Some(_) => {
            f.error(
                "contacts",
                "must be an array of {\"name\", \"details\"} objects",
            );
            None
        }
    };
    f.finish()?;
    match (name, production) {
        (Some(name), Some(production)) => Ok(EnvironmentFields {
            name,
            display_name,
            production,
            contacts,
        }),
        _ => Err(ApiError::validation("name", "is missing")),
    }
}

fn duplicate_name(err: StoreError, name: &EnvironmentName) -> ApiError {
    match err {
        StoreError::Conflict(_) => ApiError::Validation(vec![ValidationError::new(
            "name",
            format!("Another environment with name '{name}' already exists."),
        )]),
        other => other.into(),
    }
}

async fn create(
    State(state): State<AppState>,
    Base(base): Base,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = environment_fields(&body)?;
    let env = state
        .store
        .create_environment(&fields)
        .await
        .map_err(|e| duplicate_name(e, &fields.name))?;
    Ok(created(
        &Urls(&base).environment(&env.uuid),
        repr::environment(&base, &env),
    ))
}

async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let env = find_environment(&state, &uuid).await?;
    Ok(hal(StatusCode::OK, repr::environment(&base, &env)))
}

async fn replace(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    find_environment(&state, &uuid).await?;
    let fields = environment_fields(&body)?;
    let env = state
        .store
        .replace_environment(&uuid, &fields)
        .await
        .map_err(|e| duplicate_name(e, &fields.name))?
        .ok_or_else(|| ApiError::not_found(format!("No environment with uuid '{uuid}' found")))?;
    Ok(hal(StatusCode::OK, repr::environment(&base, &env)))
}

async fn remove(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    if !state.store.delete_environment(&uuid).await? {
        return Err(ApiError::not_found(format!(
            "No environment with uuid '{uuid}' found"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordQuery {
    pacticipant: Option<String>,
    application_instance: Option<String>,
    target: Option<String>,
    version: Option<String>,
}

async fn pacticipant_filter(
    state: &AppState,
    name: Option<&String>,
) -> Result<Option<Option<i64>>, ApiError> {
    match name {
        None => Ok(Some(None)),
        Some(name) => {
            let name = PacticipantName::parse("pacticipant", name)?;
            // An unknown pacticipant simply has nothing deployed.
            Ok(state.store.pacticipant(&name).await?.map(|p| Some(p.id)))
        }
    }
}

async fn currently_deployed(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    Query(query): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let env = find_environment(&state, &uuid).await?;
    let mut items = Vec::new();
    if let Some(pacticipant_id) = pacticipant_filter(&state, query.pacticipant.as_ref()).await? {
        let instance = query
            .application_instance
            .as_ref()
            .or(query.target.as_ref());
        for d in state
            .store
            .deployed_versions(EnvironmentRecordFilter {
                environment_id: Some(env.id),
                pacticipant_id,
                current_only: true,
                ..Default::default()
            })
            .await?
        {
            // An empty instance filter means "deployments without an instance".
            if let Some(instance) = instance
                && d.application_instance.as_deref().unwrap_or_default() != instance.as_str()
            {
                continue;
            }
            items.push(repr::deployed_version(&base, &d, &env));
        }
    }
    let self_url = format!(
        "{}/deployed-versions/currently-deployed",
        Urls(&base).environment(&env.uuid)
    );
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "deployedVersions": items }, "_links": { "self": { "href": self_url, "title": format!("Currently deployed versions for {}", env.name) } } }),
    ))
}

async fn currently_supported(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
    Query(query): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let env = find_environment(&state, &uuid).await?;
    let mut items = Vec::new();
    if let Some(pacticipant_id) = pacticipant_filter(&state, query.pacticipant.as_ref()).await? {
        for r in state
            .store
            .released_versions(EnvironmentRecordFilter {
                environment_id: Some(env.id),
                pacticipant_id,
                current_only: true,
                ..Default::default()
            })
            .await?
        {
            if query
                .version
                .as_ref()
                .is_some_and(|v| v != &r.version_number)
            {
                continue;
            }
            items.push(repr::released_version(&base, &r, &env));
        }
    }
    let self_url = format!(
        "{}/released-versions/currently-supported",
        Urls(&base).environment(&env.uuid)
    );
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "releasedVersions": items }, "_links": { "self": { "href": self_url, "title": format!("Currently supported released versions for {}", env.name) } } }),
    ))
}

async fn record_deployment(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path((name, number, uuid)): Path<(String, String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let env = find_environment(&state, &uuid).await?;
    caller.authorize(&deployment_action(&p.name, &env))?;
    let v = find_version(&state, &p, &number).await?;
    let mut f = Fields::new(&body, "");
    let instance_field = if f.get("applicationInstance").is_some() {
        "applicationInstance"
    } else {
        "target"
    };
    let instance = f
        .optional_str("applicationInstance")
        .or_else(|| f.optional_str("target"));
    let instance = instance.filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(instance) = &instance
        && let Err(err) = check_length(instance_field, instance, limits::NAME)
    {
        f.errors.push(err);
    }
    f.finish()?;
    let (d, was_created) = state
        .store
        .record_deployment(v.id, env.id, instance.as_deref())
        .await?;
    let body = repr::deployed_version(&base, &d, &env);
    // The official broker answers 201 for a repeated deployment too; clients only read the body.
    let _ = was_created;
    Ok(created(&Urls(&base).deployed_version(&d.uuid), body))
}

async fn version_deployments(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number, uuid)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    let env = find_environment(&state, &uuid).await?;
    let items: Vec<Value> = state
        .store
        .deployed_versions(EnvironmentRecordFilter {
            environment_id: Some(env.id),
            version_id: Some(v.id),
            ..Default::default()
        })
        .await?
        .iter()
        .map(|d| repr::deployed_version(&base, d, &env))
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "deployedVersions": items }, "_links": { "self": link(format!("{}/deployed-versions/environment/{}", Urls(&base).version(&p.name, &v.number), env.uuid)) } }),
    ))
}

async fn record_release(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path((name, number, uuid)): Path<(String, String, String)>,
    JsonBody(_body): JsonBody,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let env = find_environment(&state, &uuid).await?;
    caller.authorize(&deployment_action(&p.name, &env))?;
    let v = find_version(&state, &p, &number).await?;
    let (r, was_created) = state.store.record_release(v.id, env.id).await?;
    Ok(created_or_ok(
        was_created,
        &Urls(&base).released_version(&r.uuid),
        repr::released_version(&base, &r, &env),
    ))
}

async fn version_releases(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, number, uuid)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_pacticipant(&state, &name).await?;
    let v = find_version(&state, &p, &number).await?;
    let env = find_environment(&state, &uuid).await?;
    let items: Vec<Value> = state
        .store
        .released_versions(EnvironmentRecordFilter {
            environment_id: Some(env.id),
            version_id: Some(v.id),
            ..Default::default()
        })
        .await?
        .iter()
        .map(|r| repr::released_version(&base, r, &env))
        .collect();
    Ok(hal(
        StatusCode::OK,
        json!({ "_embedded": { "releasedVersions": items }, "_links": { "self": link(format!("{}/released-versions/environment/{}", Urls(&base).version(&p.name, &v.number), env.uuid)) } }),
    ))
}

async fn show_deployed(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let d = deployed_or_404(&state, &uuid).await?;
    let env = environment_of(&state, d.environment_id).await?;
    Ok(hal(StatusCode::OK, repr::deployed_version(&base, &d, &env)))
}

/// Merge-patch `{"currentlyDeployed": false}` records an undeployment; `true` cannot be set back.
async fn update_deployed(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let d = deployed_or_404(&state, &uuid).await?;
    let recorded_in = environment_of(&state, d.environment_id).await?;
    caller.authorize(&deployment_action(&d.pacticipant_name, &recorded_in))?;
    let mut f = Fields::new(&body, "");
    let currently = f.optional_bool("currentlyDeployed");
    f.finish()?;
    let d = match currently {
        Some(true) if d.undeployed_at.is_some() => {
            return Err(ApiError::Unprocessable(vec![ValidationError::new(
                "currentlyDeployed",
                "The currentlyDeployed property cannot be set back to true. Please record a new deployment.",
            )]));
        }
        Some(false) => state.store.undeploy(&uuid).await?.unwrap_or(d),
        _ => d,
    };
    let env = recorded_in;
    Ok(hal(StatusCode::OK, repr::deployed_version(&base, &d, &env)))
}

async fn show_released(
    State(state): State<AppState>,
    Base(base): Base,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let r = released_or_404(&state, &uuid).await?;
    let env = environment_of(&state, r.environment_id).await?;
    Ok(hal(StatusCode::OK, repr::released_version(&base, &r, &env)))
}

/// Merge-patch `{"currentlySupported": false}` records the end of support.
async fn update_released(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let r = released_or_404(&state, &uuid).await?;
    let recorded_in = environment_of(&state, r.environment_id).await?;
    caller.authorize(&deployment_action(&r.pacticipant_name, &recorded_in))?;
    let mut f = Fields::new(&body, "");
    let currently = f.optional_bool("currentlySupported");
    f.finish()?;
    let r = match currently {
        Some(true) if r.support_ended_at.is_some() => {
            return Err(ApiError::Unprocessable(vec![ValidationError::new(
                "currentlySupported",
                "The currentlySupported property cannot be set back to true. Please record a new release.",
            )]));
        }
        Some(false) => state.store.end_support(&uuid).await?.unwrap_or(r),
        _ => r,
    };
    let env = recorded_in;
    Ok(hal(StatusCode::OK, repr::released_version(&base, &r, &env)))
}

async fn deployed_or_404(state: &AppState, uuid: &str) -> Result<DeployedVersion, ApiError> {
    state
        .store
        .deployed_version(uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No deployed version with uuid '{uuid}' found")))
}

async fn released_or_404(state: &AppState, uuid: &str) -> Result<ReleasedVersion, ApiError> {
    state
        .store
        .released_version(uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No released version with uuid '{uuid}' found")))
}

/// What recording (or ending) a deployment or release of `pacticipant` in `env` needs.
fn deployment_action(pacticipant: &str, env: &Environment) -> Action {
    Action::RecordDeployment {
        pacticipant: pacticipant.to_string(),
        environment: env.name.clone(),
    }
}

/// The environment a deployment or release belongs to. It can only be missing if the
/// environment was deleted between two reads.
async fn environment_of(state: &AppState, environment_id: i64) -> Result<Environment, ApiError> {
    state
        .store
        .environment_by_id(environment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("The environment no longer exists"))
}
