//! Provider contracts in the web UI: a provider's published OpenAPI and AsyncAPI
//! documents (`/ui/provider-contracts/provider/{p}`) and a version's documents with the
//! provider's own checks and every comparison with a consumer's pact, each mismatch with
//! why it is one (`/ui/provider-contracts/provider/{p}/version/{v}`).

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::html::{Status, a, esc, html, page};
use super::{UiError, find};
use crate::domain::VersionNumber;
use crate::http::{Base, enc};
use crate::repr::{Urls, time};
use crate::startup::AppState;

/// Contracts listed at most on a provider's page.
const LISTED: i64 = 50;

pub(super) async fn contracts_page(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
) -> Result<Response, UiError> {
    let provider = find(&state, &provider).await?;
    let contracts = state
        .store
        .provider_contracts_of(provider.id, LISTED)
        .await?;
    let mut body = String::new();
    if contracts.is_empty() {
        let _ = write!(
            body,
            "<p>{} has published no provider contract. Publish one with \
             <code>accord publish-provider-contract openapi.yaml --provider {} --provider-app-version VERSION --verification-success</code>.</p>",
            esc(&provider.name),
            esc(&provider.name)
        );
    } else {
        body.push_str(
            "<table><tr><th>Version</th><th>Published</th><th>Specification</th><th>Own check</th></tr>",
        );
        for contract in &contracts {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a(
                    &format!(
                        "{base}/ui/provider-contracts/provider/{}/version/{}",
                        enc(&contract.provider_name),
                        enc(&contract.provider_version_number)
                    ),
                    &contract.provider_version_number
                ),
                esc(&time(&contract.created_at)),
                esc(crate::routes::provider_contracts::kind_name(
                    &contract.specification
                )),
                Status::of(Some(contract.self_success)).badge(),
            );
        }
        body.push_str("</table>");
    }
    Ok(html(
        StatusCode::OK,
        page(
            &base,
            &format!("Provider contracts of {}", provider.name),
            &body,
        ),
    ))
}

pub(super) async fn contract_page(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, version)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let provider = find(&state, &provider).await?;
    let number = VersionNumber::parse("version", &version)
        .map_err(|err| UiError::BadRequest(vec![err.to_string()]))?;
    let contracts = crate::provider_contracts::find(&state, &provider, &number).await?;
    if contracts.is_empty() {
        return Err(UiError::NotFound(format!(
            "{} version {number} has no provider contract",
            provider.name
        )));
    }
    let comparisons = crate::provider_contracts::comparisons(&state, &contracts).await?;
    let mut body = String::new();
    for contract in &contracts {
        own_check(&mut body, &base, contract);
    }
    let _ = write!(
        body,
        "<h2>Compared with {} consumer pact(s)</h2>",
        comparisons.len()
    );
    if comparisons.is_empty() {
        body.push_str("<p>No pact has been compared with these documents yet: pacts of the provider's consumers are compared with them as they are published.</p>");
    }
    for comparison in &comparisons {
        let v = &comparison.verification;
        let mismatches: usize = comparison
            .interactions
            .iter()
            .map(|i| i.mismatches.len())
            .sum();
        let _ = write!(
            body,
            "<section class=\"comparison\" data-consumer=\"{}\"><h3>{} {}</h3><p>{} · {} mismatch(es) in {} interaction(s) · compared {}</p>",
            esc(&v.consumer_name),
            esc(&v.consumer_name),
            Status::of(Some(v.success)).badge(),
            a(
                &Urls(&base).pact_version(&v.provider_name, &v.consumer_name, &v.sha),
                "The pact (API)"
            ),
            mismatches,
            comparison.interactions.len(),
            esc(&time(&v.created_at)),
        );
        if mismatches > 0 {
            body.push_str(
                "<table><tr><th>Interaction</th><th>Mismatch</th><th>Where</th><th>The pact expects</th><th>The document allows</th><th>Why it matters</th></tr>",
            );
            for interaction in &comparison.interactions {
                for mismatch in &interaction.mismatches {
                    let _ = write!(
                        body,
                        "<tr><td>{}</td><td>{}</td><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&interaction.description),
                        esc(mismatch.kind.as_str()),
                        esc(&mismatch.pointer),
                        mismatch
                            .spec_pointer
                            .as_deref()
                            .map(|p| format!(
                                "<br><small>document: <code>{}</code></small>",
                                esc(p)
                            ))
                            .unwrap_or_default(),
                        esc(&mismatch.expected),
                        esc(&mismatch.allowed),
                        esc(mismatch.kind.explanation()),
                    );
                }
            }
            body.push_str("</table>");
        }
        body.push_str("</section>");
    }
    for contract in &contracts {
        let _ = write!(
            body,
            "<h2>The {} document</h2><details><summary>{} bytes</summary><pre>{}</pre></details>",
            esc(crate::routes::provider_contracts::kind_name(
                &contract.specification
            )),
            contract.content.len(),
            esc(&contract.content)
        );
    }
    Ok(html(
        StatusCode::OK,
        page(
            &base,
            &format!("Provider contracts of {} {}", provider.name, number),
            &body,
        ),
    ))
}

/// One document's heading: its kind, where to get it, and the provider's own check.
fn own_check(
    body: &mut String,
    base: &str,
    contract: &crate::store::provider_contracts::ProviderContract,
) {
    let self_check = &contract.self_verification;
    let text = |key: &str| {
        self_check
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    let kind = crate::routes::provider_contracts::kind_name(&contract.specification);
    let mut api = format!(
        "{base}/provider-contracts/provider/{}/version/{}",
        enc(&contract.provider_name),
        enc(&contract.provider_version_number)
    );
    if contract.specification != "oas" {
        let _ = write!(api, "?specification={}", enc(&contract.specification));
    }
    let _ = write!(
        body,
        "<h2>{kind} document</h2><p>{} · published {} · {}</p>\
         <h3>The provider's own check</h3><p>{} by {} {}</p>",
        a(&api, "As JSON (API)"),
        esc(&time(&contract.created_at)),
        esc(&contract.content_type),
        Status::of(Some(contract.self_success)).badge(),
        esc(&text("verifier")),
        esc(&text("verifierVersion")),
    );
    if let Some(output) = self_check.get("content").and_then(Value::as_str) {
        let _ = write!(
            body,
            "<details><summary>Its output</summary><pre>{}</pre></details>",
            esc(output)
        );
    }
    if !contract.self_success {
        body.push_str("<p>The provider's own check of this document failed, so every comparison with it fails.</p>");
    }
}
