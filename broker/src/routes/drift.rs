//! `/drift/provider/{provider}`: the drift monitor posts its reports here, and anyone
//! can read a provider's current drift and its recent runs (an Accord extension of the
//! Pact Broker API, linked from the index as `accord:drift` and `accord:drift-runs`).
//!
//! The rules (fingerprints, which findings a run resolves) live in [`crate::drift`];
//! this module reads the report and writes the answers.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Map, Value, json};

use super::find_pacticipant;
use crate::domain::{EnvironmentName, ValidationError, limits};
use crate::drift::{self, ObservedFinding, ObservedProbeError, ObservedSkip};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, Page, created, enc, enc_query, hal, link};
use crate::query::NestedQuery;
use crate::repr::{self, Urls};
use crate::startup::AppState;
use crate::store::{
    DriftFinding, DriftRun, Environment, EnvironmentScope, NewDriftRun, Pacticipant,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/drift/provider/{provider}", get(state).post(post_report))
        .route("/drift/provider/{provider}/runs", get(runs))
        .route("/drift/provider/{provider}/runs/{id}", get(run))
}

/// Runs per page when the query does not say.
const DEFAULT_RUNS_PAGE: usize = 20;

fn runs_url(base: &str, provider: &str) -> String {
    format!("{base}/drift/provider/{}/runs", enc(provider))
}

fn run_url(base: &str, provider: &str, id: i64) -> String {
    format!("{}/{id}", runs_url(base, provider))
}

/// The environment named by `?environment=` (or in the report), which must exist.
async fn named_environment(
    state: &AppState,
    name: &str,
) -> Result<Result<Environment, ValidationError>, ApiError> {
    let parsed = match EnvironmentName::parse("environment", name) {
        Ok(parsed) => parsed,
        Err(err) => return Ok(Err(err)),
    };
    Ok(state
        .store
        .environment_by_name(&parsed)
        .await?
        .ok_or_else(|| {
            ValidationError::new(
                "environment",
                format!(
                    "Environment with name '{name}' does not exist; create it first (accord create-environment --name {name})"
                ),
            )
        }))
}

/// `environment` from the query string: any environment when absent.
async fn query_scope(
    state: &AppState,
    query: &NestedQuery,
) -> Result<(EnvironmentScope, Option<String>), ApiError> {
    match query.get("environment").filter(|v| !v.trim().is_empty()) {
        None => Ok((EnvironmentScope::Any, None)),
        Some(name) => {
            let environment = named_environment(state, name).await??;
            Ok((EnvironmentScope::Id(environment.id), Some(environment.name)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading a report.

/// Reads a required array of objects, calling `item` with a `Fields` for each.
fn objects<T>(
    f: &mut Fields<'_>,
    key: &str,
    mut item: impl FnMut(&mut Fields<'_>) -> Option<T>,
) -> Vec<T> {
    let Some(value) = f.get(key) else {
        f.error(key, "is missing");
        return vec![];
    };
    let Some(items) = value.as_array() else {
        f.error(key, "must be an array");
        return vec![];
    };
    let mut out = Vec::new();
    for (index, value) in items.iter().enumerate() {
        let mut fields = Fields::new(value, &format!("{key}[{index}]"));
        if let Some(parsed) = item(&mut fields) {
            out.push(parsed);
        }
        f.errors.append(&mut fields.errors);
    }
    out
}

/// A required text of at most `max` characters.
fn required_text(f: &mut Fields<'_>, key: &str, max: usize) -> Option<String> {
    let value = f.required_str(key)?;
    within(f, key, value, max)
}

/// A required, non-blank text of at most `max` characters.
fn non_blank(f: &mut Fields<'_>, key: &str, max: usize) -> Option<String> {
    let value = f.required_str(key)?;
    if value.trim().is_empty() {
        f.error(key, "cannot be blank");
        return None;
    }
    within(f, key, value, max)
}

fn within(f: &mut Fields<'_>, key: &str, value: &str, max: usize) -> Option<String> {
    if value.chars().nth(max).is_some() {
        f.error(key, format!("is longer than the limit of {max} characters"));
        return None;
    }
    Some(value.to_string())
}

fn count(f: &mut Fields<'_>, key: &str, min: i64) -> Option<i64> {
    match f.get(key) {
        None => {
            f.error(key, "is missing");
            None
        }
        Some(value) => match value.as_i64().filter(|n| *n >= min) {
            Some(n) => Some(n),
            None => {
                f.error(key, format!("must be a whole number of {min} or more"));
                None
            }
        },
    }
}

fn time(f: &mut Fields<'_>, key: &str) -> Option<DateTime<Utc>> {
    let text = f.required_str(key)?;
    match DateTime::parse_from_rfc3339(text) {
        // Microseconds, as every other time the broker stores, so both databases keep
        // the same value and a retried post is recognised.
        Ok(at) => Some(at.with_timezone(&Utc).trunc_subsecs(6)),
        Err(_) => {
            f.error(
                key,
                format!("must be an RFC 3339 time such as 2024-05-01T10:00:00Z, not {text:?}"),
            );
            None
        }
    }
}

fn names(f: &mut Fields<'_>, key: &str) -> Option<Vec<String>> {
    let items = match f.get(key) {
        None => {
            f.error(key, "is missing");
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            f.error(key, "must be an array of consumer names");
            return None;
        }
    };
    let names: Vec<String> = items
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.trim().is_empty() && s.chars().nth(limits::NAME).is_none())
        .map(str::to_string)
        .collect();
    if names.len() != items.len() || names.is_empty() {
        f.error(
            key,
            format!(
                "must be a non-empty array of consumer names of at most {} characters",
                limits::NAME
            ),
        );
        return None;
    }
    Some(names)
}

fn finding(f: &mut Fields<'_>) -> Option<ObservedFinding> {
    let consumers = names(f, "consumers");
    let interaction = non_blank(f, "interaction", limits::TEXT);
    let request = required_text(f, "request", limits::TEXT);
    let pointer = required_text(f, "pointer", limits::TEXT);
    if let Some(p) = &pointer
        && !p.is_empty()
        && !p.starts_with('/')
    {
        f.error(
            "pointer",
            "must be a JSON pointer: empty or starting with /",
        );
    }
    let class = non_blank(f, "class", limits::NAME);
    if let Some(c) = &class
        && !c
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        f.error(
            "class",
            format!("must be a snake_case class such as format_changed, not {c:?}"),
        );
    }
    let expected = required_text(f, "expected", limits::TEXT);
    let actual = required_text(f, "actual", limits::TEXT);
    let occurrences = match f.get("occurrences") {
        None => Some(1),
        Some(_) => count(f, "occurrences", 1),
    };
    let hint = match f.optional_str("hint") {
        Some(hint) => within(f, "hint", hint, limits::TEXT),
        None => None,
    };
    let (consumers, interaction, pointer, class) = (consumers?, interaction?, pointer?, class?);
    Some(ObservedFinding {
        fingerprint: drift::fingerprint(&consumers, &interaction, &pointer, &class),
        consumers,
        interaction,
        request: request?,
        pointer,
        class,
        expected: expected?,
        actual: actual?,
        occurrences: occurrences?,
        hint,
    })
}

fn probe_error(f: &mut Fields<'_>) -> Option<ObservedProbeError> {
    let consumers = names(f, "consumers");
    let interaction = non_blank(f, "interaction", limits::TEXT);
    let request = required_text(f, "request", limits::TEXT);
    let kind = non_blank(f, "kind", limits::NAME);
    let message = required_text(f, "message", limits::TEXT);
    Some(ObservedProbeError {
        consumers: consumers?,
        interaction: interaction?,
        request: request?,
        kind: kind?,
        message: message?,
    })
}

fn skip(f: &mut Fields<'_>) -> Option<ObservedSkip> {
    let consumer = non_blank(f, "consumer", limits::NAME);
    let interaction = non_blank(f, "interaction", limits::TEXT);
    let reason = required_text(f, "reason", limits::TEXT);
    Some(ObservedSkip {
        consumer: consumer?,
        interaction: interaction?,
        reason: reason?,
    })
}

fn pact_ref(f: &mut Fields<'_>) -> Option<()> {
    for key in ["consumer", "provider", "origin", "contentHash"] {
        f.required_str(key);
    }
    Some(())
}

/// Reads a posted report. Every problem is reported at once, each naming its field
/// (`findings[2].class`).
async fn read_report(
    state: &AppState,
    provider: &Pacticipant,
    query_environment: Option<&str>,
    body: &Value,
) -> Result<NewDriftRun, ApiError> {
    let mut f = Fields::new(body, "");
    if let Some(report) = body.as_object() {
        for (key, value) in report {
            if let Err(err) = crate::domain::check_no_nul(key, value) {
                f.errors.push(err);
            }
        }
    }
    if let Some(named) = f.optional_str("provider")
        && named != provider.name
    {
        f.error(
            "provider",
            format!(
                "is {named:?}, but the URL names provider {:?}; post each provider's report to its own /drift/provider/NAME",
                provider.name
            ),
        );
    } else if f.get("provider").is_none() {
        f.error("provider", "is missing");
    }
    let body_environment = f
        .optional_str("environment")
        .filter(|e| !e.trim().is_empty());
    let environment_name = match (query_environment, body_environment) {
        (Some(q), Some(b)) if q != b => {
            f.error(
                "environment",
                format!(
                    "is {b:?} in the report but {q:?} in the query string; give one, or the same in both"
                ),
            );
            None
        }
        (q, b) => q.or(b),
    };
    let environment = match environment_name {
        None => None,
        Some(name) => match named_environment(state, name).await? {
            Ok(environment) => Some(environment),
            Err(err) => {
                f.errors.push(err);
                None
            }
        },
    };
    let base_url = required_text(&mut f, "baseUrl", limits::URL);
    let started_at = time(&mut f, "startedAt");
    let finished_at = time(&mut f, "finishedAt");
    if let (Some(start), Some(end)) = (started_at, finished_at)
        && end < start
    {
        f.error("finishedAt", "is before startedAt");
    }
    let probes = count(&mut f, "probes", 0);
    let interactions_checked = count(&mut f, "interactionsChecked", 0);
    objects(&mut f, "pacts", pact_ref);
    let findings = objects(&mut f, "findings", finding);
    let probe_errors = objects(&mut f, "probeErrors", probe_error);
    let skipped = objects(&mut f, "skipped", skip);
    f.finish()?;
    match (
        base_url,
        started_at,
        finished_at,
        probes,
        interactions_checked,
    ) {
        (Some(base_url), Some(started_at), Some(finished_at), Some(probes), Some(checked)) => {
            Ok(NewDriftRun {
                provider_id: provider.id,
                environment_id: environment.map(|e| e.id),
                base_url,
                started_at,
                finished_at,
                probes,
                interactions_checked: checked,
                findings,
                probe_errors,
                skipped,
                report: body.clone(),
            })
        }
        // Every missing value above added an error, so `finish` has answered already.
        _ => Err(ApiError::Validation(vec![])),
    }
}

// ---------------------------------------------------------------------------------------
// Representations.

fn run_json(base: &str, run: &DriftRun) -> Value {
    json!({
        "id": run.id,
        "provider": run.provider_name,
        "environment": run.environment_name,
        "baseUrl": run.base_url,
        "startedAt": repr::time(&run.started_at),
        "finishedAt": repr::time(&run.finished_at),
        "receivedAt": repr::time(&run.created_at),
        "probes": run.probes,
        "interactionsChecked": run.interactions_checked,
        "findings": run.finding_count,
        "probeErrors": run.probe_error_count,
        "skipped": run.skipped_count,
        "applied": run.applied,
        "_links": {
            "self": link(run_url(base, &run.provider_name, run.id)),
            "accord:drift": link(drift::state_url(base, &run.provider_name, run.environment_name.as_deref())),
        }
    })
}

/// A finding; `latest_run` is the run the answer is about, to say whether that run
/// checked the finding again.
fn finding_json(finding: &DriftFinding, latest_run: Option<i64>) -> Value {
    let mut body = json!({
        "fingerprint": finding.fingerprint,
        "status": if finding.resolved_at.is_some() { "resolved" } else { "open" },
        "consumers": finding.consumers,
        "interaction": finding.interaction,
        "request": finding.request,
        "pointer": finding.pointer,
        "class": finding.class,
        "expected": finding.expected,
        "actual": finding.actual,
        "occurrences": finding.occurrences,
        "firstSeenAt": repr::time(&finding.first_seen_at),
        "lastSeenAt": repr::time(&finding.last_seen_at),
    });
    if let Some(hint) = &finding.hint {
        body["hint"] = json!(hint);
    }
    if let Some(at) = &finding.resolved_at {
        body["resolvedAt"] = json!(repr::time(at));
    }
    if finding.resolved_at.is_none()
        && let Some(latest) = latest_run
    {
        let rechecked = finding.last_run_id == Some(latest);
        body["recheckedByLatestRun"] = json!(rechecked);
        if !rechecked && finding.unchecked_run_id == Some(latest) {
            body["notRecheckedBecause"] = json!(finding.unchecked_reason);
        }
    }
    body
}

fn findings_json(findings: &[DriftFinding], latest_run: Option<i64>) -> Vec<Value> {
    findings
        .iter()
        .map(|f| finding_json(f, latest_run))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Handlers.

/// `POST /drift/provider/{provider}[?environment=]`: stores one run of the monitor.
async fn post_report(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let query_environment = query.get("environment").filter(|v| !v.trim().is_empty());
    let run = read_report(&state, &provider, query_environment, &body).await?;
    let recorded = state.store.record_drift_run(&run).await?;
    // `recorded.changes.new` and `.resolved` are the drift that appeared and went away
    // with this run: what alerts about drift react to.
    let changes = &recorded.changes;
    let latest = Some(recorded.run.id);
    let mut answer = run_json(&base, &recorded.run);
    answer["new"] = json!(findings_json(&changes.new, latest));
    answer["resolved"] = json!(findings_json(&changes.resolved, latest));
    answer["notRechecked"] = json!(findings_json(&changes.unchecked, latest));
    answer["open"] = json!(findings_json(&changes.open, latest));
    let mut notices = Vec::new();
    if !recorded.created {
        answer["duplicate"] = json!(true);
        notices.push(json!({ "type": "info", "text": "This run was stored before (same provider, environment, start and end); nothing changed." }));
    } else if !recorded.run.applied {
        notices.push(json!({ "type": "warning", "text": "A run that finished later is already stored for this provider and environment: this run is kept in the history but does not change the drift state." }));
    }
    for finding in &changes.unchecked {
        notices.push(json!({
            "type": "warning",
            "text": format!(
                "The drift at {} in \"{}\" stays open: this run could not check it again ({}).",
                finding.pointer,
                finding.interaction,
                finding.unchecked_reason.as_deref().unwrap_or("no answer")
            )
        }));
    }
    answer["notices"] = Value::Array(notices);
    tracing::info!(
        provider = %provider.name,
        run = recorded.run.id,
        new = changes.new.len(),
        resolved = changes.resolved.len(),
        open = changes.open.len(),
        "drift run stored"
    );
    if recorded.created {
        Ok(created(
            &run_url(&base, &provider.name, recorded.run.id),
            answer,
        ))
    } else {
        Ok(hal(StatusCode::OK, answer))
    }
}

/// `GET /drift/provider/{provider}[?environment=]`: the open findings of the provider
/// in each environment (or the one asked for), with the latest run of each.
async fn state(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let (scope, environment) = query_scope(&state, &query).await?;
    let latest_runs = state.store.latest_drift_runs(provider.id, scope).await?;
    let open = state.store.open_drift_findings(provider.id, scope).await?;
    let mut environments = Vec::new();
    for run in &latest_runs {
        let findings: Vec<DriftFinding> = open
            .iter()
            .filter(|f| f.environment_id == run.environment_id)
            .cloned()
            .collect();
        let report = state.store.drift_run_report(run.id).await?;
        let probe_errors = report
            .as_ref()
            .and_then(|r| r.get("probeErrors"))
            .cloned()
            .unwrap_or_else(|| json!([]));
        let not_rechecked = findings
            .iter()
            .filter(|f| f.last_run_id != Some(run.id))
            .count();
        environments.push(json!({
            "environment": run.environment_name,
            "drifting": !findings.is_empty(),
            "openFindings": findings.len(),
            "notRechecked": not_rechecked,
            "latestRun": run_json(&base, run),
            "probeErrors": probe_errors,
            "findings": findings_json(&findings, Some(run.id)),
        }));
    }
    let self_url = drift::state_url(&base, &provider.name, environment.as_deref());
    let mut runs = runs_url(&base, &provider.name);
    if let Some(environment) = &environment {
        runs.push_str("?environment=");
        runs.push_str(&enc_query(environment));
    }
    let body = json!({
        "provider": provider.name,
        "environment": environment,
        "drifting": !open.is_empty(),
        "openFindings": open.len(),
        "environments": environments,
        "_links": {
            "self": link(self_url),
            "accord:drift-runs": link(runs),
            "pb:pacticipant": link(Urls(&base).pacticipant(&provider.name)),
        }
    });
    Ok(hal(StatusCode::OK, body))
}

/// `GET /drift/provider/{provider}/runs[?environment=&page=&size=]`: runs, newest first.
async fn runs(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let (scope, environment) = query_scope(&state, &query).await?;
    let page = Page::from_query(raw.as_deref())?.unwrap_or(Page {
        number: 1,
        size: DEFAULT_RUNS_PAGE,
    });
    let total = state.store.drift_run_count(provider.id, scope).await?;
    let offset = (page.number - 1).saturating_mul(page.size);
    let found = state
        .store
        .drift_runs(
            provider.id,
            scope,
            i64::try_from(page.size).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX),
        )
        .await?;
    let mut self_url = runs_url(&base, &provider.name);
    if let Some(environment) = &environment {
        self_url.push_str("?environment=");
        self_url.push_str(&enc_query(environment));
    }
    let items: Vec<Value> = found.iter().map(|r| run_json(&base, r)).collect();
    let mut links = Map::new();
    links.insert("self".into(), link(self_url.clone()));
    links.insert(
        "accord:drift".into(),
        link(drift::state_url(
            &base,
            &provider.name,
            environment.as_deref(),
        )),
    );
    let mut body = json!({
        "provider": provider.name,
        "environment": environment,
        "_embedded": { "runs": items },
        "_links": Value::Object(links),
    });
    page.describe(&mut body, &self_url, usize::try_from(total).unwrap_or(0));
    Ok(hal(StatusCode::OK, body))
}

/// `GET /drift/provider/{provider}/runs/{id}`: one run with the report as posted.
async fn run(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(&state, &provider).await?;
    let not_found = || {
        ApiError::not_found(format!(
            "No drift run {id} of provider '{}' found",
            provider.name
        ))
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let run = state
        .store
        .drift_run(id)
        .await?
        .filter(|r| r.provider_id == provider.id)
        .ok_or_else(not_found)?;
    let mut body = run_json(&base, &run);
    body["report"] = state
        .store
        .drift_run_report(id)
        .await?
        .unwrap_or(Value::Null);
    Ok(hal(StatusCode::OK, body))
}
