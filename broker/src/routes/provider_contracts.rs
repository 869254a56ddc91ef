//! Provider contracts, through the API PactFlow exposes for them (so the official
//! `pact pactflow publish-provider-contract` works unchanged):
//! `POST /provider-contracts/provider/{provider}/publish` (the version with its branch,
//! tags and contract in one request) and the older
//! `PUT /contracts/provider/{provider}/version/{version}`. Both store the contract and
//! compare it with the pacts the provider must satisfy before they answer
//! (`provider_contracts.rs`); the answer's notices say what each comparison found.
//! `GET /provider-contracts/provider/{provider}/version/{version}` shows a contract with
//! its comparisons. A version holds one contract of each kind (`oas`, `asyncapi`); the
//! kind is read from the document itself.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::auth::scope::Action;
use crate::domain::{PacticipantName, VersionNumber, check_no_nul, optional_line};
use crate::error::ApiError;
use crate::http::{Base, Fields, JsonBody, enc, hal, link};
use accord_contract::provider_contract::ProviderDocument;

use crate::provider_contracts::{Outcome, compare_with_pacts};
use crate::repr::Urls;
use crate::startup::AppState;
use crate::store::provider_contracts::{NewProviderContract, ProviderContract};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/provider-contracts/provider/{provider}/publish",
            post(publish),
        )
        .route(
            "/contracts/provider/{provider}/version/{version}",
            put(put_contract),
        )
        .route(
            "/provider-contracts/provider/{provider}/version/{version}",
            get(show),
        )
        .route("/provider-contracts/provider/{provider}/diff", post(diff))
}

/// `accord diff-spec` as an API, before anything is published: two versions of the
/// provider's document (base64, as in a publish) weighed against the pacts its consumers
/// rely on (each main branch and what is deployed or released; with `environment`, what
/// runs there). Writes nothing.
async fn diff(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = super::find_pacticipant(&state, &provider).await?;
    let mut f = Fields::new(&body, "");
    let document = |f: &mut Fields<'_>, key: &str| -> Option<ProviderDocument> {
        let encoded = f.required_str(key)?;
        let text = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(text) = text else {
            f.error(key, "must be the document as UTF-8 text encoded in base64");
            return None;
        };
        match ProviderDocument::parse(&text) {
            Ok(spec) => Some(spec),
            Err(err) => {
                f.error(key, err.to_string());
                None
            }
        }
    };
    let old = document(&mut f, "old");
    let new = document(&mut f, "new");
    let environment = f.optional_str("environment").map(str::to_string);
    f.finish()?;
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::validation("old", "is missing"));
    };
    let pacts =
        crate::provider_contracts::consumer_pacts(&state, &provider, environment.as_deref())
            .await?;
    let weighed = pacts.len();
    let report = tokio::task::spawn_blocking(move || {
        accord_contract::provider_contract::diff_documents(&old, &new, &pacts)
    })
    .await
    .map_err(|err| ApiError::Internal(Box::new(err)))?
    .map_err(|problem| ApiError::validation("new", problem))?;
    Ok(hal(
        StatusCode::OK,
        json!({
            "provider": provider.name,
            "environment": environment,
            "pactsWeighed": weighed,
            "breaking": report.breaking(),
            "changes": report.changes,
        }),
    ))
}

/// The largest self-verification output kept, in bytes; longer output is cut.
const MAX_SELF_RESULTS: usize = 64 * 1024;

/// The kinds of provider contract, as the API names them.
const SPECIFICATIONS: [&str; 2] = ["oas", "asyncapi"];

/// The contract part of a request: `contract` in a publish, the body itself in a PUT.
struct ContractFields {
    specification: String,
    content_type: String,
    content: String,
    self_verification: Value,
    self_success: bool,
}

fn parse_contract(
    f: &mut Fields<'_>,
    specification_key: &str,
    results_key: &str,
) -> Option<ContractFields> {
    let specification = f
        .optional_str(specification_key)
        .unwrap_or("oas")
        .to_ascii_lowercase();
    if !SPECIFICATIONS.contains(&specification.as_str()) {
        f.error(
            specification_key,
            format!(
                "is {specification:?}; Accord checks OpenAPI (\"oas\") and AsyncAPI (\"asyncapi\") documents against pacts"
            ),
        );
    }
    let content =
        f.required_str("content").and_then(
            |encoded| match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) if !text.contains('\0') => Some(text),
                    Ok(_) => {
                        f.error(
                            "content",
                            "holds a NUL character; send the document as text",
                        );
                        None
                    }
                    Err(_) => {
                        f.error(
                            "content",
                            "is not UTF-8 text once decoded; send the document as UTF-8",
                        );
                        None
                    }
                },
                Err(_) => {
                    f.error("content", "must be the document encoded in base64");
                    None
                }
            },
        );
    let content_type = f.optional_str("contentType").unwrap_or("").to_string();
    let results = f.get(results_key).cloned();
    let (self_verification, self_success) = match results {
        Some(object @ Value::Object(_)) => {
            let mut inner = Fields::new(&object, results_key);
            let success = inner.required_bool("success");
            let output = inner.optional_str("content").map(|encoded| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map(|bytes| {
                        let mut text = String::from_utf8_lossy(&bytes).replace('\0', "");
                        if text.len() > MAX_SELF_RESULTS {
                            let mut cut = MAX_SELF_RESULTS;
                            while !text.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            text.truncate(cut);
                        }
                        text
                    })
                    .unwrap_or_default()
            });
            let mut describe = |key: &str| -> Option<String> {
                let value = inner.optional_str(key);
                optional_line(&format!("{results_key}.{key}"), value).unwrap_or_else(|err| {
                    inner.errors.push(err);
                    None
                })
            };
            let verifier = describe("verifier");
            let verifier_version = describe("verifierVersion");
            let format = describe("format");
            let output_type = describe("contentType");
            f.errors.append(&mut inner.errors);
            let value = json!({
                "success": success,
                "verifier": verifier,
                "verifierVersion": verifier_version,
                "format": format,
                "contentType": output_type,
                "content": output,
            });
            (value, success.unwrap_or(false))
        }
        // The official client leaves the results out when `--verification-success` (or
        // `--no-verification-success`) comes without any other detail, so a missing
        // result is stored as not stated: the document is kept, and counts as unproven.
        None => (json!({"success": Value::Null}), false),
        Some(_) => {
            f.error(results_key, "must be an object");
            (Value::Null, false)
        }
    };
    if let Err(err) = check_no_nul(results_key, &self_verification) {
        f.errors.push(err);
    }
    Some(ContractFields {
        specification,
        content_type,
        content: content?,
        self_verification,
        self_success,
    })
}

async fn publish(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = PacticipantName::parse("provider", &provider)?;
    caller.authorize(&Action::PublishVerification {
        provider: provider.as_str().to_string(),
    })?;
    let mut f = Fields::new(&body, "");
    let version = f.parse("pacticipantVersionNumber", true, VersionNumber::parse);
    let super::publish::VersionFields {
        branch,
        build_url,
        tags,
    } = super::publish::version_fields(&mut f);
    let contract = match body.get("contract") {
        Some(contract @ Value::Object(_)) => {
            let mut inner = Fields::new(contract, "contract");
            let parsed = parse_contract(&mut inner, "specification", "selfVerificationResults");
            f.errors.append(&mut inner.errors);
            parsed
        }
        _ => {
            f.error(
                "contract",
                "is missing: send the document as {content (base64), contentType, specification: \"oas\", selfVerificationResults}",
            );
            None
        }
    };
    f.finish()?;
    let (Some(version), Some(contract)) = (version, contract) else {
        return Err(ApiError::validation("contract", "is missing"));
    };
    let branch_name = branch.as_ref().map(|b| b.as_str().to_string());
    let tag_names: Vec<String> = tags.iter().map(|t| t.as_str().to_string()).collect();
    let published = store_and_compare(
        &state,
        NewProviderContract {
            provider,
            version,
            branch,
            tags,
            build_url,
            specification: contract.specification,
            content_type: contract.content_type,
            content: contract.content,
            sha: String::new(),
            self_verification: contract.self_verification,
            self_success: contract.self_success,
        },
    )
    .await?;
    let stored = &published.stored;
    let urls = Urls(&base);
    let mut links = json!({
        "pb:pacticipant": link(urls.pacticipant(&stored.provider_name)),
        "pb:pacticipant-version": link(urls.version(&stored.provider_name, &stored.provider_version_number)),
        "pf:provider-contract": link(contract_url(&base, stored)),
        "pf:ui": link(ui_url(&base, stored)),
    });
    let tag_links: Vec<Value> = tag_names
        .iter()
        .map(|tag| link(urls.tag(&stored.provider_name, &stored.provider_version_number, tag)))
        .collect();
    if let Some(branch) = &branch_name {
        links["pb:branch-version"] = link(urls.branch_version(
            &stored.provider_name,
            branch,
            &stored.provider_version_number,
        ));
    }
    links["pb:pacticipant-version-tags"] = Value::Array(tag_links);
    Ok(hal(
        StatusCode::OK,
        json!({
            "notices": notices(&published),
            "_embedded": {"version": {"number": stored.provider_version_number}},
            "_links": links,
        }),
    ))
}

async fn put_contract(
    State(state): State<AppState>,
    Base(base): Base,
    caller: Caller,
    Path((provider, version)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let provider = PacticipantName::parse("provider", &provider)?;
    let version = VersionNumber::parse("version", &version)?;
    caller.authorize(&Action::PublishVerification {
        provider: provider.as_str().to_string(),
    })?;
    let mut f = Fields::new(&body, "");
    let contract = parse_contract(&mut f, "contractType", "verificationResults");
    f.finish()?;
    let Some(contract) = contract else {
        return Err(ApiError::validation("content", "is missing"));
    };
    let published = store_and_compare(
        &state,
        NewProviderContract {
            provider,
            version,
            branch: None,
            tags: vec![],
            build_url: None,
            specification: contract.specification,
            content_type: contract.content_type,
            content: contract.content,
            sha: String::new(),
            self_verification: contract.self_verification,
            self_success: contract.self_success,
        },
    )
    .await?;
    let stored = &published.stored;
    Ok(hal(
        StatusCode::CREATED,
        json!({
            "notices": notices(&published),
            "_links": {
                "self": link(contract_url(&base, stored)),
                "pf:ui": link(ui_url(&base, stored)),
            }
        }),
    ))
}

/// What publishing a contract did.
struct Published {
    stored: ProviderContract,
    outcomes: Vec<Outcome>,
    /// Why Accord cannot read the document, when it cannot: it is stored all the same
    /// (as PactFlow does), and no pact is compared with it.
    unreadable: Option<String>,
}

/// Stores the document and compares it with the provider's pacts.
async fn store_and_compare(
    state: &AppState,
    mut contract: NewProviderContract,
) -> Result<Published, ApiError> {
    contract.sha = hex::encode(Sha256::digest(contract.content.as_bytes()));
    // The document says what it is: an AsyncAPI document published with the official
    // client's default `oas` is stored as `asyncapi`.
    let unreadable = match state.specs.get(&contract.sha, &contract.content).await {
        Ok(document) => {
            contract.specification = document.specification().to_string();
            None
        }
        Err(err) => Some(err.to_string()),
    };
    if contract.content_type.is_empty() {
        contract.content_type = if contract.content.trim_start().starts_with('{') {
            "application/json".into()
        } else {
            "application/yaml".into()
        };
    }
    let stored = state.store.publish_provider_contract(&contract).await?;
    let provider = state
        .store
        .pacticipant(&contract.provider)
        .await?
        .ok_or_else(|| ApiError::Internal("provider missing after publish".into()))?;
    let outcomes = match unreadable {
        None => compare_with_pacts(state, &provider, &stored).await?,
        Some(_) => Vec::new(),
    };
    Ok(Published {
        stored,
        outcomes,
        unreadable,
    })
}

/// A contract kind in words.
pub(crate) fn kind_name(specification: &str) -> &str {
    match specification {
        "oas" => "OpenAPI",
        "asyncapi" => "AsyncAPI",
        other => other,
    }
}

/// The contract's page in the web UI.
fn ui_url(base: &str, contract: &ProviderContract) -> String {
    format!(
        "{base}/ui/provider-contracts/provider/{}/version/{}",
        enc(&contract.provider_name),
        enc(&contract.provider_version_number)
    )
}

/// The contract's URL: the version's, with its kind unless it is the OpenAPI one.
fn contract_url(base: &str, contract: &ProviderContract) -> String {
    let url = format!(
        "{base}/provider-contracts/provider/{}/version/{}",
        enc(&contract.provider_name),
        enc(&contract.provider_version_number)
    );
    if contract.specification == "oas" {
        url
    } else {
        format!("{url}?specification={}", enc(&contract.specification))
    }
}

fn notices(published: &Published) -> Vec<Value> {
    let (contract, outcomes) = (&published.stored, &published.outcomes);
    let mut notices = vec![json!({
        "type": "success",
        "text": format!(
            "Published the {} provider contract of {} version {} (self-verification {}).",
            kind_name(&contract.specification),
            contract.provider_name,
            contract.provider_version_number,
            match contract.self_verification.get("success") {
                Some(Value::Bool(true)) => "succeeded",
                Some(Value::Null) => "not stated",
                _ => "failed",
            }
        ),
    })];
    if let Some(reason) = &published.unreadable {
        notices.push(json!({
            "type": "danger",
            "text": format!(
                "Accord cannot compare pacts with this document: {reason}. It is stored, but no pact is checked against it; publish an OpenAPI 3.0 or 3.1 document, or an AsyncAPI 2.x or 3.0 document."
            ),
        }));
    } else if outcomes.is_empty() {
        notices.push(json!({
            "type": "info",
            "text": "No consumer pact to compare it with yet: pacts published later are compared with it as they arrive.",
        }));
    } else {
        let count = |wanted: Option<bool>| outcomes.iter().filter(|o| o.success == wanted).count();
        let (compatible, failed, unchecked) = (count(Some(true)), count(Some(false)), count(None));
        let unchecked_text = if unchecked > 0 {
            format!(", {unchecked} not checked (interactions no contract of this version covers)")
        } else {
            String::new()
        };
        notices.push(json!({
            "type": if failed > 0 { "danger" } else if unchecked > 0 { "warning" } else { "success" },
            "text": format!(
                "Compared with {} consumer pact(s): {compatible} compatible, {failed} not compatible{unchecked_text}.",
                outcomes.len()
            ),
        }));
    }
    if contract.self_verification.get("success") == Some(&Value::Null) {
        notices.push(json!({
            "type": "danger",
            "text": "The request did not say how the provider's own check of this document went, so every comparison with it fails. Publish it again with the result: the official client sends --verification-success only together with --verification-results or --verifier; accord publish-provider-contract always sends it.",
        }));
    } else if !contract.self_success {
        notices.push(json!({
            "type": "danger",
            "text": "The provider's own check of this document failed: every comparison with it fails until a version whose check succeeds is published.",
        }));
    }
    for outcome in outcomes {
        notices.push(json!({
            "type": match outcome.success {
                Some(true) => "success",
                Some(false) => "danger",
                None => "warning",
            },
            "text": outcome.summary(),
        }));
    }
    notices
}

#[derive(serde::Deserialize)]
struct ShowQuery {
    specification: Option<String>,
}

/// A contract with what comparing its version's contracts with each pact found. A
/// version with both kinds shows its OpenAPI document unless `?specification=asyncapi`.
async fn show(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, version)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<ShowQuery>,
) -> Result<Response, ApiError> {
    let provider = super::find_pacticipant(&state, &provider).await?;
    let number = VersionNumber::parse("version", &version)?;
    let contracts = crate::provider_contracts::find(&state, &provider, &number).await?;
    let wanted = query.specification.as_deref().map(str::to_ascii_lowercase);
    let chosen = contracts
        .iter()
        .position(|c| wanted.as_ref().is_none_or(|w| &c.specification == w))
        .ok_or_else(|| {
            ApiError::not_found(match &wanted {
                Some(kind) => format!(
                    "No {} provider contract for {} version {number}",
                    kind_name(kind),
                    provider.name
                ),
                None => format!(
                    "No provider contract for {} version {number}",
                    provider.name
                ),
            })
        })?;
    Ok(hal(
        StatusCode::OK,
        contract_json(&state, &base, &contracts, chosen).await?,
    ))
}

/// The JSON of one of a version's contracts and the comparisons of the version's
/// contracts with pacts.
async fn contract_json(
    state: &AppState,
    base: &str,
    contracts: &[ProviderContract],
    chosen: usize,
) -> Result<Value, ApiError> {
    let contract = &contracts[chosen];
    let mut comparisons: Vec<Value> = Vec::new();
    for c in crate::provider_contracts::comparisons(state, contracts).await? {
        let v = &c.verification;
        comparisons.push(json!({
            "consumer": v.consumer_name,
            "pactVersionSha": v.sha,
            "success": v.success,
            "comparedAt": crate::repr::time(&v.created_at),
            "interactions": c.interactions,
            "_links": {
                "pb:pact-version": link(Urls(base).pact_version(&v.provider_name, &v.consumer_name, &v.sha)),
                "pb:verification-result": link(Urls(base).verification(&v.provider_name, &v.consumer_name, &v.sha, v.id)),
            }
        }));
    }
    Ok(json!({
        "provider": contract.provider_name,
        "providerVersion": contract.provider_version_number,
        "specification": contract.specification,
        "contentType": contract.content_type,
        "sha": contract.sha,
        "createdAt": crate::repr::time(&contract.created_at),
        "selfVerification": contract.self_verification,
        "content": contract.content,
        "comparisons": comparisons,
        "contracts": contracts.iter().map(|c| json!({
            "specification": c.specification,
            "sha": c.sha,
            "href": contract_url(base, c),
        })).collect::<Vec<_>>(),
        "_links": {
            "self": link(contract_url(base, contract)),
            "pb:pacticipant-version": link(Urls(base).version(&contract.provider_name, &contract.provider_version_number)),
            "pf:ui": link(ui_url(base, contract)),
        }
    }))
}
