//! `/pacts/provider/{p}/for-verification`: which pacts a provider should verify,
//! with consumer version selectors, pending status and work-in-progress pacts. This
//! route parses the request and renders the answer; the rules, and the reads they
//! need, are in `crate::for_verification`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{EnvironmentName, ValidationError};
use crate::error::ApiError;
use crate::for_verification::{
    Request, Selector, choose, default_selectors, entries, gather, wip_picks,
};
use crate::http::{Base, JsonBody, enc, hal};
use crate::metadata::PactMetadata;
use crate::query::NestedQuery;
use crate::repr::Urls;
use crate::startup::AppState;
use crate::store::Publication;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pacts/provider/{provider}/for-verification",
        get(get_pacts).post(post_pacts),
    )
}

fn parse_selector(value: &Value, index: usize, errors: &mut Vec<ValidationError>) -> Vec<Selector> {
    let field = "consumerVersionSelectors";
    let mut fail = |message: &str| {
        errors.push(ValidationError::new(
            field,
            format!("{message} (at index {index})"),
        ))
    };
    let Some(object) = value.as_object() else {
        fail("must be an object");
        return vec![];
    };
    let string = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} must be a non-blank string")),
        }
    };
    let truth = |key: &str| -> Result<Option<bool>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{key} must be a boolean")),
        }
    };
    let parsed = (|| -> Result<(Selector, bool), String> {
        let selector = Selector {
            main_branch: truth("mainBranch")?.unwrap_or(false),
            branch: string("branch")?,
            matching_branch: truth("matchingBranch")?.unwrap_or(false),
            fallback_branch: string("fallbackBranch")?,
            tag: string("tag")?,
            fallback_tag: string("fallbackTag")?,
            latest: truth("latest")?,
            deployed: truth("deployed")?.unwrap_or(false),
            released: truth("released")?.unwrap_or(false),
            environment: string("environment")?,
            consumer: string("consumer")?,
        };
        let deployed_or_released = truth("deployedOrReleased")?.unwrap_or(false);
        Ok((selector, deployed_or_released))
    })();
    let (selector, deployed_or_released) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            fail(&message);
            return vec![];
        }
    };
    let s = &selector;
    let branch_kind = s.main_branch
        || s.branch.is_some()
        || s.matching_branch
        || s.fallback_branch.is_some()
        || s.tag.is_some()
        || s.fallback_tag.is_some()
        || s.latest.is_some();
    let environment_kind =
        s.environment.is_some() || s.deployed || s.released || deployed_or_released;
    let rule = if !(s.main_branch
        || s.tag.is_some()
        || s.branch.is_some()
        || s.environment.is_some()
        || s.matching_branch
        || s.deployed
        || s.released
        || deployed_or_released
        || s.latest == Some(true))
    {
        Some(
            "must specify one of mainBranch, branch, matchingBranch, tag, environment, deployed, released, deployedOrReleased or latest=true",
        )
    } else if branch_kind && environment_kind {
        Some(
            "cannot combine branch, tag or latest keys with environment, deployed, released or deployedOrReleased",
        )
    } else if [s.deployed, s.released, deployed_or_released]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        Some("deployed, released and deployedOrReleased cannot be combined")
    } else if s.main_branch
        && (s.branch.is_some() || s.tag.is_some() || s.matching_branch || s.latest == Some(false))
    {
        Some("mainBranch can only be combined with consumer and latest=true")
    } else if s.matching_branch && (s.branch.is_some() || s.tag.is_some()) {
        Some("matchingBranch can only be combined with consumer")
    } else if s.tag.is_some() && s.branch.is_some() {
        Some("tag and branch cannot be combined")
    } else if s.fallback_branch.is_some() && s.branch.is_none() {
        Some("fallbackBranch requires branch")
    } else if (s.branch.is_some() || s.fallback_branch.is_some()) && s.latest == Some(false) {
        Some("branch and fallbackBranch cannot be used with latest=false")
    } else if s.fallback_tag.is_some() && (s.tag.is_none() || s.latest != Some(true)) {
        Some("fallbackTag requires tag and latest=true")
    } else {
        None
    };
    if let Some(rule) = rule {
        fail(rule);
        return vec![];
    }
    if deployed_or_released {
        // Split into one deployed and one released selector, as the reference does.
        let deployed = Selector {
            deployed: true,
            ..selector.clone()
        };
        let released = Selector {
            released: true,
            ..selector
        };
        return vec![deployed, released];
    }
    vec![selector]
}

fn parse_request(body: &Value) -> Result<Request, ApiError> {
    let mut errors = Vec::new();
    let mut request = Request::default();
    let Some(object) = body.as_object() else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    match object.get("consumerVersionSelectors") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                request
                    .selectors
                    .extend(parse_selector(item, index, &mut errors));
            }
        }
        Some(_) => errors.push(ValidationError::new(
            "consumerVersionSelectors",
            "must be an array",
        )),
    }
    match object.get("providerVersionBranch") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => request.provider_branch = Some(s.clone()),
        Some(_) => errors.push(ValidationError::new(
            "providerVersionBranch",
            "must be a string",
        )),
    }
    match object.get("providerVersionTags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some(tag) if !tag.trim().is_empty() => {
                        request.provider_tags.push(tag.to_string())
                    }
                    _ => errors.push(ValidationError::new(
                        "providerVersionTags",
                        "must be an array of non-blank strings",
                    )),
                }
            }
        }
        Some(_) => errors.push(ValidationError::new(
            "providerVersionTags",
            "must be an array of strings",
        )),
    }
    match object.get("includePendingStatus") {
        None | Some(Value::Null) => request.include_pending = false,
        Some(Value::Bool(b)) => request.include_pending = *b,
        Some(_) => errors.push(ValidationError::new(
            "includePendingStatus",
            "must be a boolean",
        )),
    }
    match object.get("includeWipPactsSince") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match parse_date(s) {
            Some(date) => request.wip_since = Some(date),
            None => errors.push(ValidationError::new(
                "includeWipPactsSince",
                format!("{s:?} is not a date (use e.g. 2024-01-31 or 2024-01-31T10:00:00Z)"),
            )),
        },
        Some(_) => errors.push(ValidationError::new(
            "includeWipPactsSince",
            "must be a date string",
        )),
    }
    if request.provider_tags.is_empty()
        && (request.include_pending || request.wip_since.is_some())
        && request
            .provider_branch
            .as_ref()
            .is_some_and(|b| b.trim().is_empty())
    {
        errors.push(ValidationError::new(
            "providerVersionBranch",
            "cannot be blank",
        ));
    }
    if request.selectors.iter().any(|s| s.matching_branch)
        && request
            .provider_branch
            .as_ref()
            .is_none_or(|b| b.trim().is_empty())
    {
        errors.push(ValidationError::new(
            "consumerVersionSelectors",
            "matchingBranch requires providerVersionBranch",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    for selector in &mut request.selectors {
        if selector.matching_branch {
            selector.branch = request.provider_branch.clone();
        }
    }
    Ok(request)
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
}

async fn respond(
    state: &AppState,
    base: &str,
    provider_name: &str,
    body: &Value,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(state, provider_name).await.map_err(|_| {
        ApiError::not_found(format!("No provider with name '{provider_name}' found"))
    })?;
    let mut request = parse_request(body)?;
    if request.selectors.is_empty() {
        request.selectors = default_selectors();
    }
    let defaults = body
        .get("consumerVersionSelectors")
        .and_then(Value::as_array)
        .is_none_or(|s| s.is_empty());
    let (environments, pacticipants) = tokio::try_join!(
        state.store.environments(),
        state.store.consumers_of(provider.id)
    )?;
    let environments: HashMap<String, i64> =
        environments.into_iter().map(|e| (e.name, e.id)).collect();
    for selector in &request.selectors {
        if let Some(env) = &selector.environment {
            EnvironmentName::parse("environment", env)?;
            if !environments.contains_key(env) {
                return Err(ApiError::validation(
                    "consumerVersionSelectors",
                    format!("environment '{env}' does not exist"),
                ));
            }
        }
    }
    // Gather what the selectors can pick, decide, then gather the results that judge
    // pending for the contents picked only.
    let consumers =
        gather::load_consumers(state, &provider, pacticipants, &request, defaults).await?;
    let choice = choose(&request, defaults, &consumers, &environments);
    let rule = match choice.contents_to_judge(&request) {
        Some(contents) => {
            Some(gather::pending_rule(state, provider.id, &request, &contents).await?)
        }
        None => None,
    };
    let urls = Urls(base);
    let mut body_entries: Vec<Value> =
        entries(&choice.groups, rule.as_ref(), request.include_pending)
            .into_iter()
            .map(|entry| {
                entry_json(
                    &urls,
                    &provider.name,
                    &entry.publication,
                    &entry.labels.join(", "),
                    &entry.reasons,
                    entry.pending,
                    false,
                    entry.versions,
                )
            })
            .collect();
    // Work-in-progress pacts: the candidates still pending.
    if let Some(rule) = rule.as_ref().filter(|_| !choice.wip_candidates.is_empty()) {
        let picks = wip_picks(choice.wip_candidates, rule);
        // The chosen publications in full: the numbers and hashes the answer shows.
        let missing: Vec<i64> = picks
            .iter()
            .filter(|pick| !pick.consumer.publications.contains_key(&pick.version_id))
            .map(|pick| pick.version_id)
            .collect();
        let mut read: HashMap<i64, Publication> = HashMap::new();
        if !missing.is_empty() {
            for pp in state
                .store
                .publications_of_versions(Some(provider.id), &missing)
                .await?
            {
                read.insert(pp.consumer_version_id, pp);
            }
        }
        for pick in picks {
            let Some(pp) = pick
                .consumer
                .publications
                .get(&pick.version_id)
                .or_else(|| read.get(&pick.version_id))
            else {
                continue;
            };
            let reasons: Vec<String> = pick
                .labels
                .iter()
                .map(|l| format!("    * {l} (work in progress)"))
                .collect();
            body_entries.push(entry_json(
                &urls,
                &provider.name,
                pp,
                &pick.labels.join(", "),
                &reasons,
                Some((true, "the provider".to_string())),
                true,
                vec![pp.consumer_version_number.clone()],
            ));
        }
    }
    Ok(hal(
        StatusCode::OK,
        json!({
            "_embedded": { "pacts": body_entries },
            "_links": { "self": { "href": format!("{base}/pacts/provider/{}/for-verification", enc(&provider.name)), "title": "Pacts to be verified" } }
        }),
    ))
}
#[allow(clippy::too_many_arguments)] // reason: one call site per kind of entry; a struct would only rename the arguments.
fn entry_json(
    urls: &Urls,
    provider: &str,
    pp: &Publication,
    short_description: &str,
    reasons: &[String],
    pending: Option<(bool, String)>,
    wip: bool,
    consumer_versions: Vec<String>,
) -> Value {
    let metadata = PactMetadata {
        consumer_versions,
        pending: pending.as_ref().map(|(p, _)| *p),
        wip,
    };
    let href = format!(
        "{}/metadata/{}",
        urls.pact_version(provider, &pp.consumer_name, &pp.sha),
        metadata.encode()
    );
    let mut notices = vec![json!({
        "when": "before_verification",
        "text": format!("The pact at {href} is being verified because the pact content belongs to the consumer version matching the following criterion:\n{}", reasons.join("\n")),
    })];
    let mut properties = json!({});
    if let Some((pending, whom)) = &pending {
        properties["pending"] = json!(pending);
        if *pending {
            notices.push(json!({ "when": "before_verification", "text": format!("This pact is in pending state for this version of {provider} because a successful verification result for {whom} has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending") }));
            notices.push(json!({ "when": "after_verification:success_true_published_false", "text": format!("This pact is still in pending state for {provider} as the successful verification results have not yet been published.") }));
            notices.push(json!({ "when": "after_verification:success_false_published_false", "text": format!("This pact is still in pending state for {provider} as a successful verification result has not yet been published.") }));
            notices.push(json!({ "when": "after_verification:success_true_published_true", "text": format!("This pact is no longer in pending state for {provider}, as a successful verification result with this tag has been published. If a verification for a version of {provider} with this tag fails in the future, it will fail the build. Read more at https://docs.pact.io/go/pending") }));
            notices.push(json!({ "when": "after_verification:success_false_published_true", "text": format!("This pact is still in pending state for {provider} as a successful verification result has not yet been published.") }));
        } else {
            notices.push(json!({ "when": "before_verification", "text": format!("This pact has previously been successfully verified by {whom}. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending") }));
        }
    }
    if wip {
        properties["wip"] = json!(true);
        notices.insert(1, json!({ "when": "before_verification", "text": "This pact is being verified because it is a \"work in progress\" pact (ie. it is the pact for the latest version of a consumer branch or tag and has not yet been successfully verified by the provider). Read more at https://docs.pact.io/go/wip" }));
    }
    properties["notices"] = Value::Array(notices);
    json!({
        "shortDescription": short_description,
        "verificationProperties": properties,
        "_links": { "self": { "href": href, "name": format!("Pact between {} ({}) and {provider}", pp.consumer_name, pp.consumer_version_number) } }
    })
}

/// The deprecated GET: clients navigate here first and POST to the `self` link.
/// It takes the POST body's fields as query parameters in snake case
/// (`provider_version_branch`, `consumer_version_selectors[][tag]`,
/// `include_pending_status=true`, ...; camel case is accepted too); without any it
/// answers as a POST with no body would (the default selectors).
async fn get_pacts(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let body = body_from_query(&NestedQuery::parse(raw.as_deref().unwrap_or_default()));
    respond(&state, &base, &provider, &body).await
}

/// Selector keys whose values are booleans.
const BOOLEAN_SELECTOR_KEYS: [&str; 6] = [
    "latest",
    "mainBranch",
    "matchingBranch",
    "deployed",
    "released",
    "deployedOrReleased",
];

/// `include_pending_status` -> `includePendingStatus`.
fn camel_case(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for ch in key.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// `"true"`/`"false"` become booleans; anything else stays a string, so the
/// validation of the body reports it.
fn query_boolean(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        other => Value::String(other.to_string()),
    }
}

/// The POST body the GET query stands for.
fn body_from_query(query: &NestedQuery) -> Value {
    let mut body = serde_json::Map::new();
    let either = |snake: &str| query.get(snake).or_else(|| query.get(&camel_case(snake)));
    if let Some(branch) = either("provider_version_branch") {
        body.insert("providerVersionBranch".into(), json!(branch));
    }
    let mut tags: Vec<String> = query.list("provider_version_tags").to_vec();
    tags.extend(query.list("providerVersionTags").iter().cloned());
    if !tags.is_empty() {
        body.insert("providerVersionTags".into(), json!(tags));
    }
    if let Some(pending) = either("include_pending_status") {
        body.insert("includePendingStatus".into(), query_boolean(pending));
    }
    if let Some(since) = either("include_wip_pacts_since") {
        body.insert("includeWipPactsSince".into(), json!(since));
    }
    let selectors: Vec<Value> = query
        .groups("consumer_version_selectors")
        .iter()
        .chain(query.groups("consumerVersionSelectors"))
        .map(|group| {
            let mut selector = serde_json::Map::new();
            for (key, value) in group {
                let key = camel_case(key);
                let value = if BOOLEAN_SELECTOR_KEYS.contains(&key.as_str()) {
                    query_boolean(value)
                } else {
                    json!(value)
                };
                selector.insert(key, value);
            }
            Value::Object(selector)
        })
        .collect();
    if !selectors.is_empty() {
        body.insert("consumerVersionSelectors".into(), Value::Array(selectors));
    }
    Value::Object(body)
}

async fn post_pacts(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    respond(&state, &base, &provider, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_get_query_reads_as_the_post_body() {
        let query = NestedQuery::parse(
            "provider_version_branch=main&provider_version_tags[]=dev&include_pending_status=true\
             &include_wip_pacts_since=2024-01-01&consumer_version_selectors[][main_branch]=true\
             &consumer_version_selectors[][tag]=prod&consumer_version_selectors[][latest]=true\
             &consumerVersionSelectors[][deployedOrReleased]=true",
        );
        assert_eq!(
            body_from_query(&query),
            json!({
                "providerVersionBranch": "main",
                "providerVersionTags": ["dev"],
                "includePendingStatus": true,
                "includeWipPactsSince": "2024-01-01",
                "consumerVersionSelectors": [
                    { "mainBranch": true, "tag": "prod", "latest": true },
                    { "deployedOrReleased": true }
                ]
            })
        );
        assert_eq!(body_from_query(&NestedQuery::parse("")), json!({}));
    }
}
