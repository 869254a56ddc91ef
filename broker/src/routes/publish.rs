//! Publishing pacts: `POST /contracts/publish` and the legacy `PUT` of one pact.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::scope::Action;
use crate::domain::{
    BranchName, PacticipantName, TagName, ValidationError, VersionNumber, optional_line,
};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, hal, named_link};
use crate::pact::{self, PreparedPact};
use crate::repr::Urls;
use crate::startup::AppState;
use crate::store::{
    ContractOutcome, ContractToStore, PublicationFilter, PublishCommand, PublishOutcome, StoreError,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/contracts/publish", post(publish))
}

/// One contract of a publish request, validated.
#[derive(Clone)]
struct IncomingContract {
    provider: PacticipantName,
    prepared: PreparedPact,
    merge: bool,
    /// For a merge: the pact version the merged content was computed from.
    merged_from: Option<Option<i64>>,
}

/// How often a merge is computed again when another publish changed the pact meanwhile.
const MERGE_ATTEMPTS: u32 = 50;

fn parse_contracts(f: &mut Fields, consumer: Option<&PacticipantName>) -> Vec<IncomingContract> {
    let mut contracts = Vec::new();
    let items = match f.get("contracts") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            f.error("contracts", "must be an array");
            return contracts;
        }
        None => {
            f.error("contracts", "is missing");
            return contracts;
        }
    };
    for (index, item) in items.iter().enumerate() {
        let mut problem =
            |message: String| f.error("contracts", format!("{message} (at index {index})"));
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        let Some(consumer_name) = text("consumerName").filter(|s| !s.trim().is_empty()) else {
            problem("consumerName is missing".into());
            continue;
        };
        if let Some(consumer) = consumer
            && consumer.as_str() != consumer_name
        {
            problem(format!(
                "consumerName '{consumer_name}' does not match pacticipantName '{consumer}'"
            ));
            continue;
        }
        let Some(provider) =
            text("providerName").and_then(|p| PacticipantName::parse("providerName", p).ok())
        else {
            problem("providerName is missing or blank".into());
            continue;
        };
        if text("specification") != Some("pact") {
            problem("specification must be \"pact\"".into());
            continue;
        }
        let content_type = text("contentType").unwrap_or_default();
        if content_type.split(';').next().map(str::trim) != Some("application/json") {
            problem("contentType must be \"application/json\"".into());
            continue;
        }
        let merge = match text("onConflict") {
            None | Some("overwrite") => false,
            Some("merge") => true,
            Some(other) => {
                problem(format!(
                    "onConflict must be \"overwrite\" or \"merge\", not {other:?}"
                ));
                continue;
            }
        };
        let Some(content) = text("content") else {
            problem("content is missing".into());
            continue;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(content) else {
            problem("content is not valid Base64".into());
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            problem("content does not decode to UTF-8 text".into());
            continue;
        };
        let json: Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(err) => {
                problem(format!(
                    "content is not valid JSON: {err} (line {}, column {})",
                    err.line(),
                    err.column()
                ));
                continue;
            }
        };
        match pact::prepare(json, "content") {
            Ok(prepared) => {
                if prepared.consumer != consumer_name {
                    problem(format!(
                        "consumer name in the pact '{}' does not match consumerName '{consumer_name}'",
                        prepared.consumer
                    ));
                    continue;
                }
                if prepared.provider != provider.as_str() {
                    problem(format!(
                        "provider name in the pact '{}' does not match providerName '{provider}'",
                        prepared.provider
                    ));
                    continue;
                }
                contracts.push(IncomingContract {
                    provider,
                    prepared,
                    merge,
                    merged_from: None,
                });
            }
            Err(err) => problem(err.message),
        }
    }
    contracts
}

/// Replaces the content of merging contracts with the merge of what is stored and
/// what was sent, and records which stored content each merge was computed from.
async fn apply_merges(
    state: &AppState,
    consumer: &PacticipantName,
    version: &VersionNumber,
    contracts: &mut [IncomingContract],
) -> Result<(), ApiError> {
    if !contracts.iter().any(|c| c.merge) {
        return Ok(());
    }
    for contract in contracts.iter_mut().filter(|c| c.merge) {
        contract.merged_from = Some(None);
    }
    let Some(p) = state.store.pacticipant(consumer).await? else {
        return Ok(());
    };
    let Some(v) = state.store.version(p.id, version).await? else {
        return Ok(());
    };
    let publications = state
        .store
        .publications(PublicationFilter {
            consumer_version_id: Some(v.id),
            ..Default::default()
        })
        .await?;
    for contract in contracts.iter_mut().filter(|c| c.merge) {
        let Some(existing) = publications
            .iter()
            .find(|pp| pp.provider_name == contract.provider.as_str())
        else {
            continue;
        };
        let Some(stored) = state.store.pact_version(existing.pact_version_id).await? else {
            continue;
        };
        let old: Value =
            serde_json::from_str(&stored.content).map_err(|e| ApiError::Internal(Box::new(e)))?;
        let new: Value = serde_json::from_str(&contract.prepared.content)
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        let merged = pact::merge(&old, &new).map_err(|conflict| {
            let message = format!(
                "Cannot merge into the pact for {consumer} version {version} and provider {}: it already has the interaction {:?} (same description and provider states) with different content. Give the changed interaction its own description, or publish a new consumer version.",
                contract.provider, conflict.description
            );
            ApiError::Conflict {
                field: "contracts",
                message,
                notices: vec![],
            }
        })?;
        contract.prepared = pact::prepare(merged, "content")?;
        contract.merged_from = Some(Some(existing.pact_version_id));
    }
    Ok(())
}

/// A short random pause before merging again, growing with the attempts (at most 64 ms).
fn merge_backoff(attempt: u32) -> std::time::Duration {
    let bound = 1u64 << attempt.min(6);
    std::time::Duration::from_millis(rand::random_range(0..=bound))
}

fn conflict_error(
    consumer: &str,
    version: &str,
    conflicts: &[crate::store::PactConflict],
    contracts: &[IncomingContract],
) -> ApiError {
    let mut notices = Vec::new();
    let mut messages = Vec::new();
    for conflict in conflicts {
        let message = format!(
            "Cannot change the content of the pact for {consumer} version {version} and provider {}, as race conditions will cause unreliable results for can-i-deploy. Each pact must be published with a unique consumer version number. Publish with a new consumer version (e.g. the git commit), or ask the operator to start the broker with --allow-contract-overwrite.",
            conflict.provider
        );
        messages.push(message);
        if let Some(new) = contracts
            .iter()
            .find(|c| c.provider.as_str() == conflict.provider)
        {
            notices.push(json!({ "type": "info", "text": pact::diff(&conflict.existing_content, &new.prepared.content) }));
        }
    }
    ApiError::Conflict {
        field: "contracts",
        message: messages.join("\n"),
        notices,
    }
}

/// What a publish says of the version it publishes for (pacts here, a provider contract
/// in `provider_contracts.rs`): its branch, build URL and tags.
pub(super) struct VersionFields {
    pub(super) branch: Option<BranchName>,
    pub(super) build_url: Option<String>,
    pub(super) tags: Vec<TagName>,
}

pub(super) fn version_fields(f: &mut Fields<'_>) -> VersionFields {
    let branch = f.parse("branch", false, BranchName::parse);
    let build_url = {
        let value = f.optional_str("buildUrl");
        optional_line("buildUrl", value).unwrap_or_else(|err| {
            f.errors.push(err);
            None
        })
    };
    let mut tags = Vec::new();
    match f.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item.as_str().map(|t| TagName::parse("tags", t)) {
                    Some(Ok(tag)) => tags.push(tag),
                    _ => f.error(
                        "tags",
                        format!("must be non-blank strings (at index {index})"),
                    ),
                }
            }
        }
        Some(_) => f.error("tags", "must be an array of strings"),
    }
    VersionFields {
        branch,
        build_url,
        tags,
    }
}

async fn publish(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Fields::new(&body, "");
    let consumer = f.parse("pacticipantName", true, PacticipantName::parse);
    let version = f.parse("pacticipantVersionNumber", true, VersionNumber::parse);
    let VersionFields {
        branch,
        build_url,
        tags,
    } = version_fields(&mut f);
    let contracts = parse_contracts(&mut f, consumer.as_ref());
    f.finish()?;
    let (Some(consumer), Some(version)) = (consumer, version) else {
        return Err(ApiError::validation("pacticipantName", "is missing"));
    };
    caller.authorize(&Action::PublishPact {
        consumer: consumer.as_str().to_string(),
    })?;
    // A merge reads the stored pact, merges, and writes only if the stored pact is still
    // the one it read (see `ContractToStore::merged_from`); when another publish changed
    // it meanwhile, it reads and merges again.
    let merging = contracts.iter().any(|c| c.merge);
    let mut sent = contracts;
    let mut attempt = 0;
    let (command, outcome, contracts) = loop {
        attempt += 1;
        // Only a merge can be tried again, so only then is what was sent kept for the next
        // attempt; a plain publish takes it as it is.
        let mut contracts = if merging {
            sent.clone()
        } else {
            std::mem::take(&mut sent)
        };
        apply_merges(&state, &consumer, &version, &mut contracts).await?;
        let command = PublishCommand {
            consumer: consumer.clone(),
            version: version.clone(),
            branch: branch.clone(),
            tags: tags.clone(),
            build_url: build_url.clone(),
            contracts: contracts
                .iter()
                .map(|c| ContractToStore {
                    provider: c.provider.clone(),
                    sha: c.prepared.sha.clone(),
                    content: c.prepared.content.clone(),
                    overwrite: c.merge || state.config.allow_contract_overwrite,
                    merged_from: c.merged_from,
                })
                .collect(),
        };
        match state.store.publish(&command).await {
            Ok(outcome) => {
                state.metrics.contracts_published(&outcome);
                break (command, outcome, contracts);
            }
            Err(StoreError::MergeRaced) if attempt < MERGE_ATTEMPTS => {
                tokio::time::sleep(merge_backoff(attempt)).await;
            }
            Err(StoreError::MergeRaced) => {
                return Err(ApiError::Conflict {
                    field: "contracts",
                    message: format!(
                        "The pact for {consumer} version {version} kept changing while this merge was computed ({MERGE_ATTEMPTS} attempts); nothing was stored. Publish again."
                    ),
                    notices: vec![],
                });
            }
            Err(StoreError::PactConflict(conflicts)) => {
                return Err(conflict_error(
                    consumer.as_str(),
                    version.as_str(),
                    &conflicts,
                    &contracts,
                ));
            }
            Err(err) => return Err(err.into()),
        }
    };
    let publications: Vec<_> = outcome.contracts.iter().map(|(_, p)| p.clone()).collect();
    crate::provider_contracts::check_new_publications(&state, &publications).await;
    Ok(hal(
        StatusCode::OK,
        publish_response(&base, &command, &outcome, &contracts),
    ))
}

fn publish_response(
    base: &str,
    command: &PublishCommand,
    outcome: &PublishOutcome,
    contracts: &[IncomingContract],
) -> Value {
    let urls = Urls(base);
    let consumer = command.consumer.as_str();
    let version = command.version.as_str();
    let mut notices = Vec::new();
    let mut created = format!(
        "{} {consumer} version {version}",
        if outcome.version_created {
            "Created"
        } else {
            "Updated"
        }
    );
    if let Some(branch) = &command.branch {
        created.push_str(&format!(" with branch {branch}"));
    }
    if !command.tags.is_empty() {
        let tags: Vec<&str> = command.tags.iter().map(TagName::as_str).collect();
        created.push_str(&format!(
            "{} tags {}",
            if command.branch.is_some() {
                " and"
            } else {
                " with"
            },
            tags.join(", ")
        ));
    }
    notices.push(json!({ "type": "debug", "text": created }));
    let mut contract_links = Vec::new();
    for (result, publication) in &outcome.contracts {
        let provider = &publication.provider_name;
        let merged = contracts
            .iter()
            .any(|c| c.provider.as_str() == provider && c.merge);
        let (kind, text) = match result {
            ContractOutcome::Created => (
                "success",
                format!(
                    "Pact successfully published for {consumer} version {version} and provider {provider}."
                ),
            ),
            ContractOutcome::Unchanged => (
                "success",
                format!(
                    "Pact successfully republished for {consumer} version {version} and provider {provider} with no content changes."
                ),
            ),
            ContractOutcome::Overwritten if merged => (
                "success",
                format!(
                    "Pact content merged with existing content for {consumer} version {version} and provider {provider}."
                ),
            ),
            ContractOutcome::Overwritten => (
                "warning",
                format!(
                    "Pact with changed content published over existing content for {consumer} version {version} and provider {provider}. This may cause unreliable results for can-i-deploy."
                ),
            ),
        };
        notices.push(json!({ "type": kind, "text": text }));
        let url = urls.pact(provider, consumer, version);
        notices.push(
            json!({ "type": "debug", "text": format!("  View the published pact at {url}") }),
        );
        contract_links.push(named_link(
            url,
            "Pact",
            &format!("Pact between {consumer} ({version}) and {provider}"),
        ));
    }
    if command.branch.is_none() {
        notices.push(json!({ "type": "prompt", "text": "  Next steps:\n    * Configure the version branch to be the value of your repository branch (e.g. accord publish --branch \"$(git rev-parse --abbrev-ref HEAD)\")." }));
    }
    let logs: Vec<Value> = notices
        .iter()
        .map(|n| json!({ "level": n["type"], "message": n["text"], "deprecationWarning": "Replaced by notices" }))
        .collect();
    let version_url = urls.version(consumer, version);
    let tag_links: Vec<Value> = command
        .tags
        .iter()
        .map(|t| named_link(urls.tag(consumer, version, t.as_str()), "Tag", t.as_str()))
        .collect();
    json!({
        "notices": notices,
        "logs": logs,
        "_embedded": {
            "pacticipant": { "name": consumer, "_links": { "self": { "href": urls.pacticipant(consumer) } } },
            "version": { "number": version, "_links": { "self": named_link(version_url.clone(), "Version", version) } },
        },
        "_links": {
            "pb:pacticipant": named_link(urls.pacticipant(consumer), "Pacticipant", consumer),
            "pb:pacticipant-version": named_link(version_url, "Pacticipant version", version),
            "pb:pacticipant-version-tags": tag_links,
            "pb:contracts": contract_links,
        }
    })
}

/// `PUT /pacts/provider/{p}/consumer/{c}/version/{v}`: the pact document is the body.
pub async fn put_pact(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, version)): Path<(String, String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = PacticipantName::parse("provider", &provider)?;
    let consumer = PacticipantName::parse("consumer", &consumer)?;
    let version = VersionNumber::parse("version", &version)?;
    let mut errors = Vec::new();
    for (party, expected) in [("consumer", &consumer), ("provider", &provider)] {
        if let Some(name) = body
            .pointer(&format!("/{party}/name"))
            .and_then(Value::as_str)
            && name != expected.as_str()
        {
            errors.push(ValidationError::new(
                format!("{party}.name"),
                format!("name in pact '{name}' does not match name in URL path '{expected}'."),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // The path names the parties; fill them in when the document leaves them out.
    let mut body = body;
    if body.is_object() {
        for (party, name) in [("consumer", &consumer), ("provider", &provider)] {
            if body.pointer(&format!("/{party}/name")).is_none() {
                body[party] = json!({ "name": name.as_str() });
            }
        }
    }
    let prepared = pact::prepare(body, "body")?;
    let command = PublishCommand {
        consumer: consumer.clone(),
        version: version.clone(),
        branch: None,
        tags: vec![],
        build_url: None,
        contracts: vec![ContractToStore {
            provider: provider.clone(),
            sha: prepared.sha.clone(),
            content: prepared.content.clone(),
            overwrite: state.config.allow_contract_overwrite,
            merged_from: None,
        }],
    };
    let outcome = match state.store.publish(&command).await {
        Ok(outcome) => {
            state.metrics.contracts_published(&outcome);
            outcome
        }
        Err(StoreError::PactConflict(conflicts)) => {
            let contracts = [IncomingContract {
                provider,
                prepared,
                merge: false,
                merged_from: None,
            }];
            return Err(conflict_error(
                consumer.as_str(),
                version.as_str(),
                &conflicts,
                &contracts,
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let (result, publication) = outcome
        .contracts
        .first()
        .cloned()
        .ok_or_else(|| ApiError::Internal("publication missing after publish".into()))?;
    crate::provider_contracts::check_new_publications(&state, std::slice::from_ref(&publication))
        .await;
    let body = super::pacts::pact_json(&state, &base, &publication, None).await?;
    let url = Urls(&base).pact(provider.as_str(), consumer.as_str(), version.as_str());
    Ok(crate::http::created_or_ok(
        result == ContractOutcome::Created,
        &url,
        body,
    ))
}
