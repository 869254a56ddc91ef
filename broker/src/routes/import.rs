//! `POST /admin/import`: one batch of another broker's history, stored with the times
//! it was made at there (an Accord extension linked from the index as
//! `accord:import`; `accord import` is its client). Administrators only.
//!
//! The body holds lists of `environments`, `pacticipants`, `versions`, `pacts`,
//! `verifications`, `deployments` and `releases` (see [`parse`]). Every record is
//! checked first: one invalid record refuses the batch with 400 and stores nothing.
//! A valid batch is stored in one transaction; records already here are left as they
//! are and counted as `existing`, records that refer to something missing are listed
//! under `skipped`. Importing the same batch again therefore changes nothing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::domain::{
    BranchName, EnvironmentName, LabelName, PacticipantName, TagName, ValidationError,
    VersionNumber, check_length, check_no_nul, optional_line,
};
use crate::error::ApiError;
use crate::http::{Fields, JsonBody, hal};
use crate::pact;
use crate::startup::AppState;
use crate::store::import::{
    ImportBatch, ImportEnvironment, ImportKind, ImportOutcome, ImportPact, ImportPacticipant,
    ImportRecord, ImportTag, ImportVerification, ImportVersion,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/import", post(import))
}

async fn import(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let batch = parse(&body)?;
    let outcome = state.store.import(&batch).await?;
    Ok(hal(StatusCode::OK, outcome_json(&outcome)))
}

/// The answer: counts per kind and the records skipped.
pub fn outcome_json(outcome: &ImportOutcome) -> Value {
    let counts = |values: &[u64; 7]| -> Map<String, Value> {
        ImportKind::ALL
            .iter()
            .map(|kind| (kind.key().to_string(), json!(values[*kind as usize])))
            .collect()
    };
    let skipped: Vec<Value> = outcome
        .skipped
        .iter()
        .map(|s| json!({ "kind": s.kind.key(), "record": s.record, "reason": s.reason }))
        .collect();
    json!({
        "created": counts(&outcome.created),
        "existing": counts(&outcome.existing),
        "skipped": skipped,
    })
}

/// Reads a batch, collecting every error.
pub fn parse(body: &Value) -> Result<ImportBatch, ApiError> {
    let mut top = Fields::new(body, "");
    let mut errors = Vec::new();
    let mut batch = ImportBatch::default();
    for key in ImportKind::ALL.map(ImportKind::key) {
        let items = match top.get(key) {
            None => continue,
            Some(Value::Array(items)) => items,
            Some(_) => {
                top.error(key, "must be an array");
                continue;
            }
        };
        for (index, item) in items.iter().enumerate() {
            let mut f = Fields::new(item, &format!("{key}[{index}]"));
            match key {
                "environments" => {
                    if let Some(record) = environment(&mut f) {
                        batch.environments.push(record);
                    }
                }
                "pacticipants" => {
                    if let Some(record) = pacticipant(&mut f) {
                        batch.pacticipants.push(record);
                    }
                }
                "versions" => {
                    if let Some(record) = version(&mut f) {
                        batch.versions.push(record);
                    }
                }
                "pacts" => {
                    if let Some(record) = pact(&mut f) {
                        batch.pacts.push(record);
                    }
                }
                "verifications" => {
                    if let Some(record) = verification(&mut f) {
                        batch.verifications.push(record);
                    }
                }
                "deployments" => {
                    if let Some(record) = record(&mut f, true) {
                        batch.deployments.push(record);
                    }
                }
                _ => {
                    if let Some(record) = record(&mut f, false) {
                        batch.releases.push(record);
                    }
                }
            }
            errors.append(&mut f.errors);
        }
    }
    errors.append(&mut top.errors);
    if errors.is_empty() {
        Ok(batch)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A required RFC 3339 time.
fn time(f: &mut Fields, key: &str) -> Option<DateTime<Utc>> {
    let text = f.required_str(key)?;
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            f.error(
                key,
                format!("must be an RFC 3339 time such as 2024-05-01T12:00:00Z, not {text:?}"),
            );
            None
        }
    }
}

/// An optional single line of text (a URL, a display name).
fn line(f: &mut Fields, key: &str) -> Option<String> {
    let value = f.optional_str(key);
    match optional_line(key, value) {
        Ok(line) => line,
        Err(err) => {
            f.error(key, err.message);
            None
        }
    }
}

/// A uuid as brokers write them: letters, digits, `-` and `_`.
fn uuid(f: &mut Fields, key: &str) -> Option<String> {
    let text = f.required_str(key)?;
    let valid = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Some(text.to_string())
    } else {
        f.error(key, "must be 1 to 64 letters, digits, '-' or '_'");
        None
    }
}

fn name<T>(
    f: &mut Fields,
    key: &str,
    parser: impl Fn(&str, &str) -> Result<T, ValidationError>,
) -> Option<T> {
    f.parse(key, true, parser)
}

/// A list of names (`["main"]`), each parsed with `parser`.
fn names<T>(
    f: &mut Fields,
    key: &str,
    parser: impl Fn(&str, &str) -> Result<T, ValidationError>,
) -> Vec<T> {
    let Some(value) = f.get(key) else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        f.error(key, "must be an array of names");
        return Vec::new();
    };
    let mut parsed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match item
            .as_str()
            .map(|text| parser(&format!("{key}[{index}]"), text))
        {
            Some(Ok(value)) => parsed.push(value),
            Some(Err(err)) => f.error(&format!("{key}[{index}]"), err.message),
            None => f.error(&format!("{key}[{index}]"), "must be a string"),
        }
    }
    parsed
}

fn environment(f: &mut Fields) -> Option<ImportEnvironment> {
    let uuid = uuid(f, "uuid");
    let name = name(f, "name", EnvironmentName::parse);
    let display_name = line(f, "displayName");
    let production = f.required_bool("production");
    let contacts = f.get("contacts").cloned();
    if let Some(Err(err)) = contacts.as_ref().map(|c| check_no_nul("contacts", c)) {
        f.errors.push(err);
    }
    let created_at = time(f, "createdAt");
    Some(ImportEnvironment {
        uuid: uuid?,
        name: name?.as_str().to_string(),
        display_name,
        production: production?,
        contacts,
        created_at: created_at?,
    })
}

fn pacticipant(f: &mut Fields) -> Option<ImportPacticipant> {
    let name = name(f, "name", PacticipantName::parse);
    let display_name = line(f, "displayName");
    let repository_url = line(f, "repositoryUrl");
    let repository_name = line(f, "repositoryName");
    let repository_namespace = line(f, "repositoryNamespace");
    let main_branch = f.parse("mainBranch", false, BranchName::parse);
    let labels = names(f, "labels", LabelName::parse);
    let created_at = time(f, "createdAt");
    Some(ImportPacticipant {
        name: name?.as_str().to_string(),
        display_name,
        repository_url,
        repository_name,
        repository_namespace,
        main_branch: main_branch.map(|b| b.as_str().to_string()),
        labels: labels.iter().map(|l| l.as_str().to_string()).collect(),
        created_at: created_at?,
    })
}

fn version(f: &mut Fields) -> Option<ImportVersion> {
    let pacticipant = name(f, "pacticipant", PacticipantName::parse);
    let number = name(f, "number", VersionNumber::parse);
    let build_url = line(f, "buildUrl");
    let created_at = time(f, "createdAt");
    let branches = names(f, "branches", BranchName::parse);
    let mut tags = Vec::new();
    match f.get("tags") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let mut tag = Fields::new(item, &format!("tags[{index}]"));
                let name = name(&mut tag, "name", TagName::parse);
                let at = time(&mut tag, "createdAt");
                for err in tag.errors {
                    f.error(&err.field, err.message);
                }
                if let (Some(name), Some(created_at)) = (name, at) {
                    tags.push(ImportTag {
                        name: name.as_str().to_string(),
                        created_at,
                    });
                }
            }
        }
        Some(_) => f.error(
            "tags",
            "must be an array of {\"name\", \"createdAt\"} objects",
        ),
    }
    Some(ImportVersion {
        pacticipant: pacticipant?.as_str().to_string(),
        number: number?.as_str().to_string(),
        build_url,
        created_at: created_at?,
        branches: branches.iter().map(|b| b.as_str().to_string()).collect(),
        tags,
    })
}

fn pact(f: &mut Fields) -> Option<ImportPact> {
    let consumer = name(f, "consumer", PacticipantName::parse);
    let consumer_version = name(f, "consumerVersion", VersionNumber::parse);
    let provider = name(f, "provider", PacticipantName::parse);
    let created_at = time(f, "createdAt");
    let Some(content) = f.get("content").cloned() else {
        f.error("content", "is missing: the pact document");
        return None;
    };
    let prepared = match pact::prepare(content, "content") {
        Ok(prepared) => prepared,
        Err(err) => {
            f.error("content", err.message);
            return None;
        }
    };
    let (consumer, provider) = (consumer?, provider?);
    for (party, expected, found) in [
        ("consumer", consumer.as_str(), prepared.consumer.as_str()),
        ("provider", provider.as_str(), prepared.provider.as_str()),
    ] {
        if expected != found {
            f.error(
                "content",
                format!("names {party} {found:?}, but the record says {expected:?}"),
            );
            return None;
        }
    }
    Some(ImportPact {
        consumer: consumer.as_str().to_string(),
        consumer_version: consumer_version?.as_str().to_string(),
        provider: provider.as_str().to_string(),
        sha: prepared.sha,
        content: prepared.content,
        created_at: created_at?,
    })
}

fn verification(f: &mut Fields) -> Option<ImportVerification> {
    let consumer = name(f, "consumer", PacticipantName::parse);
    let consumer_version = name(f, "consumerVersion", VersionNumber::parse);
    let provider = name(f, "provider", PacticipantName::parse);
    let provider_version = name(f, "providerVersion", VersionNumber::parse);
    let success = f.required_bool("success");
    let build_url = line(f, "buildUrl");
    let test_results = f.get("testResults").cloned();
    let verified_by = f.get("verifiedBy").cloned();
    for (key, value) in [("testResults", &test_results), ("verifiedBy", &verified_by)] {
        if let Some(value) = value {
            let text = value.to_string();
            if let Err(err) = check_length(key, &text, 1024 * 1024) {
                f.error(key, err.message);
            } else if let Err(err) = check_no_nul(key, value) {
                f.errors.push(err);
            }
        }
    }
    let created_at = time(f, "verifiedAt");
    Some(ImportVerification {
        consumer: consumer?.as_str().to_string(),
        consumer_version: consumer_version?.as_str().to_string(),
        provider: provider?.as_str().to_string(),
        provider_version: provider_version?.as_str().to_string(),
        success: success?,
        build_url,
        test_results,
        verified_by,
        created_at: created_at?,
    })
}

/// A deployment (with `applicationInstance`) or a release.
fn record(f: &mut Fields, deployment: bool) -> Option<ImportRecord> {
    let uuid = uuid(f, "uuid");
    let pacticipant = name(f, "pacticipant", PacticipantName::parse);
    let version = name(f, "version", VersionNumber::parse);
    let environment = name(f, "environment", EnvironmentName::parse);
    let application_instance = if deployment {
        line(f, "applicationInstance")
    } else {
        None
    };
    let created_at = time(f, "createdAt");
    Some(ImportRecord {
        uuid: uuid?,
        pacticipant: pacticipant?.as_str().to_string(),
        version: version?.as_str().to_string(),
        environment: environment?.as_str().to_string(),
        application_instance,
        created_at: created_at?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_record_is_named() {
        let body = json!({
            "versions": [
                { "pacticipant": "web", "number": "1", "createdAt": "2024-01-01T00:00:00Z", "branches": ["main"] },
                { "pacticipant": "", "number": "2", "createdAt": "yesterday" }
            ],
            "pacts": [
                { "consumer": "web", "consumerVersion": "1", "provider": "orders", "createdAt": "2024-01-01T00:00:00Z",
                  "content": { "consumer": { "name": "mobile" }, "provider": { "name": "orders" }, "interactions": [] } }
            ],
            "releases": "all of them"
        });
        let Err(ApiError::Validation(errors)) = parse(&body) else {
            panic!("the batch should be refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"versions[1].pacticipant"), "{fields:?}");
        assert!(fields.contains(&"versions[1].createdAt"), "{fields:?}");
        assert!(fields.contains(&"pacts[0].content"), "{fields:?}");
        assert!(fields.contains(&"releases"), "{fields:?}");
        assert!(
            !fields.iter().any(|f| f.starts_with("versions[0]")),
            "{fields:?}"
        );
    }

    #[test]
    fn a_valid_batch_is_read_whole() {
        let body = json!({
            "environments": [{ "uuid": "u-1", "name": "production", "production": true, "createdAt": "2024-01-01T00:00:00+02:00" }],
            "versions": [{ "pacticipant": "web", "number": "1", "createdAt": "2024-01-01T00:00:00Z",
                           "tags": [{ "name": "prod", "createdAt": "2024-01-02T00:00:00Z" }] }],
            "deployments": [{ "uuid": "d-1", "pacticipant": "web", "version": "1", "environment": "production",
                              "applicationInstance": "blue", "createdAt": "2024-01-03T00:00:00Z" }]
        });
        let batch = parse(&body).expect("valid");
        assert_eq!(
            batch.environments[0].created_at.to_rfc3339(),
            "2023-12-31T22:00:00+00:00"
        );
        assert_eq!(batch.versions[0].tags[0].name, "prod");
        assert_eq!(
            batch.deployments[0].application_instance.as_deref(),
            Some("blue")
        );
    }
}
