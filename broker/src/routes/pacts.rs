//! `/pacts/...`: fetching pacts, pact lists and diffs (publishing is in `publish`).

use std::collections::{BTreeMap, HashSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{find_pacticipant, tagged_version_ids};
use crate::domain::{BranchName, TagName, VersionNumber};
use crate::error::ApiError;
use crate::http::{Base, curies, enc, enc_query, hal, link, named_link, templated};
use crate::repr::{Urls, time};
use crate::startup::AppState;
use crate::store::{Pacticipant, Publication, PublicationFilter};

pub fn router() -> Router<AppState> {
    let integration = "/pacts/provider/{provider}/consumer/{consumer}";
    Router::new()
        .route("/pacts/latest", get(latest_everywhere))
        .route("/pacts/provider/{provider}", get(provider_pacts))
        .route(
            "/pacts/provider/{provider}/tag/{tag}",
            get(provider_pacts_with_tag),
        )
        .route("/pacts/provider/{provider}/latest", get(provider_latest))
        .route(
            "/pacts/provider/{provider}/latest/{tag}",
            get(provider_latest_with_tag),
        )
        .route(
            &format!("{integration}/version/{{version}}"),
            get(by_version)
                .put(super::publish::put_pact)
                .delete(delete_by_version),
        )
        .route(
            &format!("{integration}/versions/{{version}}"),
            get(by_version),
        )
        .route(&format!("{integration}/latest"), get(latest))
        .route(
            &format!("{integration}/latest-untagged"),
            get(latest_untagged),
        )
        .route(
            &format!("{integration}/latest/{{tag}}"),
            get(latest_with_tag),
        )
        .route(
            &format!("{integration}/branch/{{branch}}/latest"),
            get(latest_on_branch),
        )
        .route(&format!("{integration}/pact-version/{{sha}}"), get(by_sha))
        .route(
            &format!("{integration}/pact-version/{{sha}}/metadata/{{metadata}}"),
            get(by_sha_with_metadata),
        )
        .route(
            &format!("{integration}/pact-version/{{sha}}/diff/pact-version/{{other}}"),
            get(diff_by_sha),
        )
        .route(
            &format!("{integration}/version/{{version}}/diff/previous-distinct"),
            get(diff_previous),
        )
        .route(
            &format!("{integration}/versions"),
            get(pact_versions).delete(delete_all),
        )
}

/// How a pact was reached, which decides its `self` link.
pub enum PactView {
    /// By consumer version (`/version/V`, `/latest`, ...).
    Version,
    /// By content hash (optionally with the metadata segment from for-verification).
    Content,
}

/// The pact document with `_links` and `createdAt` merged in, as clients load it.
pub async fn pact_json(
    state: &AppState,
    base: &str,
    publication: &Publication,
    metadata: Option<&str>,
) -> Result<Value, ApiError> {
    pact_json_view(state, base, publication, PactView::Version, metadata).await
}

async fn pact_json_view(
    state: &AppState,
    base: &str,
    pp: &Publication,
    view: PactView,
    metadata: Option<&str>,
) -> Result<Value, ApiError> {
    let stored = state
        .store
        .pact_version(pp.pact_version_id)
        .await?
        .ok_or_else(|| ApiError::not_found("The pact content no longer exists"))?;
    let mut document: Value =
        serde_json::from_str(&stored.content).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let urls = Urls(base);
    let (c, p, v) = (
        &pp.consumer_name,
        &pp.provider_name,
        &pp.consumer_version_number,
    );
    let integration = urls.integration(p, c);
    let content_url = urls.pact_version(p, c, &pp.sha);
    let with_metadata = match metadata {
        Some(m) => format!("{content_url}/metadata/{}", enc(m)),
        None => content_url.clone(),
    };
    let title = format!("Pact between {c} ({v}) and {p}");
    let self_url = match view {
        PactView::Version => urls.pact(p, c, v),
        PactView::Content => with_metadata.clone(),
    };
    let links = json!({
        "self": { "title": "Pact", "name": title, "href": self_url },
        "pb:consumer": named_link(urls.pacticipant(c), "Consumer", c),
        "pb:consumer-version": named_link(urls.version(c, v), "Consumer version", v),
        "pb:provider": named_link(urls.pacticipant(p), "Provider", p),
        "pb:pact-version": named_link(content_url.clone(), "Pact content", &pp.sha),
        "pb:latest-pact-version": { "title": "Latest version of this pact", "href": format!("{integration}/latest") },
        "pb:all-pact-versions": { "title": "All versions of this pact", "href": format!("{integration}/versions") },
        "pb:latest-untagged-pact-version": { "title": "Latest untagged version of this pact", "href": format!("{integration}/latest-untagged") },
        "pb:latest-tagged-pact-version": templated(format!("{integration}/latest/{{tag}}"), "Latest tagged version of this pact"),
        "pb:previous-distinct": { "title": "Previous distinct version of this pact", "href": format!("{}/previous-distinct", urls.pact(p, c, v)) },
        "pb:diff-previous-distinct": { "title": "Diff with previous distinct version of this pact", "href": format!("{}/diff/previous-distinct", urls.pact(p, c, v)) },
        "pb:diff": templated(format!("{content_url}/diff/pact-version/{{pactVersion}}"), "Diff with another specified version of this pact"),
        "pb:pact-webhooks": { "title": "Webhooks for the pact between the consumer and provider", "href": format!("{base}/webhooks/provider/{}/consumer/{}", enc(p), enc(c)) },
        "pb:consumer-webhooks": { "title": "Webhooks for all pacts with the consumer", "href": format!("{base}/webhooks/consumer/{}", enc(c)) },
        "pb:tag-prod-version": { "title": "PUT to this resource to tag this consumer version as 'production'", "href": urls.tag(c, v, "prod") },
        "pb:tag-version": templated(urls.tag(c, v, "{tag}").replace("%7Btag%7D", "{tag}"), "PUT to this resource to tag this consumer version"),
        "pb:publish-verification-results": { "title": "Publish verification results", "href": format!("{with_metadata}/verification-results") },
        "pb:latest-verification-results": { "title": "Latest verification results", "href": format!("{content_url}/verification-results/latest") },
        "pb:triggered-webhooks": { "title": "Webhooks triggered by the publication of this pact", "href": format!("{}/triggered-webhooks", urls.pact(p, c, v)) },
        "pb:matrix-for-consumer-version": {
            "title": "View matrix rows for the consumer version to which this pact belongs",
            "href": format!("{base}/matrix?q%5B%5D%5Bpacticipant%5D={}&q%5B%5D%5Bversion%5D={}&latestby=cvpv", enc_query(c), enc_query(v)),
        },
        "curies": curies(base, "pact"),
    });
    if let Value::Object(object) = &mut document {
        object.insert("createdAt".into(), json!(time(&pp.created_at)));
        object.insert("_links".into(), links);
    }
    Ok(document)
}

fn pact_response(body: Value, consumer_version: &str) -> Response {
    let mut response = hal(StatusCode::OK, body);
    if let Ok(value) = HeaderValue::from_str(consumer_version) {
        response
            .headers_mut()
            .insert("x-pact-consumer-version", value);
    }
    response
}

/// Provider and consumer of an integration, 404 when either is unknown.
async fn parties(
    state: &AppState,
    provider: &str,
    consumer: &str,
) -> Result<(Pacticipant, Pacticipant), ApiError> {
    let provider = find_pacticipant(state, provider)
        .await
        .map_err(|_| ApiError::not_found(format!("No provider with name '{provider}' found")))?;
    let consumer = find_pacticipant(state, consumer)
        .await
        .map_err(|_| ApiError::not_found(format!("No consumer with name '{consumer}' found")))?;
    Ok((provider, consumer))
}

/// Publications between a consumer and a provider, newest consumer version first.
async fn integration_publications(
    state: &AppState,
    provider: &Pacticipant,
    consumer: &Pacticipant,
) -> Result<Vec<Publication>, ApiError> {
    let mut publications = state
        .store
        .publications(PublicationFilter {
            consumer_id: Some(consumer.id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    publications.reverse();
    Ok(publications)
}

fn no_pact(provider: &Pacticipant, consumer: &Pacticipant, which: &str) -> ApiError {
    ApiError::not_found(format!(
        "No pact found between {} and {} {which}",
        consumer.name, provider.name
    ))
}

/// The pact a consumer version published for a provider, or 404.
async fn publication_for_version(
    state: &AppState,
    provider: &Pacticipant,
    consumer: &Pacticipant,
    version: &str,
) -> Result<Publication, ApiError> {
    // One version and its one publication for the provider, by index: never the
    // integration's whole history.
    let not_found = || {
        no_pact(
            provider,
            consumer,
            &format!("for consumer version {version}"),
        )
    };
    let Ok(number) = VersionNumber::parse("version", version) else {
        return Err(not_found());
    };
    let Some(consumer_version) = state.store.version(consumer.id, &number).await? else {
        return Err(not_found());
    };
    state
        .store
        .publications(PublicationFilter {
            consumer_version_id: Some(consumer_version.id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)
}

async fn by_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let pp = publication_for_version(&state, &provider, &consumer, &version).await?;
    let body = pact_json(&state, &base, &pp, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

async fn delete_by_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let pp = publication_for_version(&state, &provider, &consumer, &version).await?;
    state
        .store
        .delete_publications(PublicationFilter {
            consumer_version_id: Some(pp.consumer_version_id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    let mut links = json!({ "index": link(base.clone()) });
    if !integration_publications(&state, &provider, &consumer)
        .await?
        .is_empty()
    {
        links["pb:latest-pact-version"] = json!({ "href": format!("{}/latest", Urls(&base).integration(&provider.name, &consumer.name)), "title": "Latest pact" });
    }
    Ok(hal(StatusCode::OK, json!({ "_links": links })))
}

async fn latest(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let pp = integration_publications(&state, &provider, &consumer)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| no_pact(&provider, &consumer, ""))?;
    let body = pact_json(&state, &base, &pp, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

async fn latest_untagged(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let tagged = tagged_version_ids(&state, consumer.id, None).await?;
    let pp = integration_publications(&state, &provider, &consumer)
        .await?
        .into_iter()
        .find(|pp| !tagged.contains(&pp.consumer_version_id))
        .ok_or_else(|| no_pact(&provider, &consumer, "for an untagged consumer version"))?;
    let body = pact_json(&state, &base, &pp, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

async fn latest_with_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, tag)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let tag = TagName::parse("tag", &tag)?;
    let tagged = tagged_version_ids(&state, consumer.id, Some(&tag)).await?;
    let pp = integration_publications(&state, &provider, &consumer)
        .await?
        .into_iter()
        .find(|pp| tagged.contains(&pp.consumer_version_id))
        .ok_or_else(|| {
            no_pact(
                &provider,
                &consumer,
                &format!("for a consumer version tagged '{tag}'"),
            )
        })?;
    let body = pact_json(&state, &base, &pp, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

async fn latest_on_branch(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, branch)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let branch = BranchName::parse("branch", &branch)?;
    let publications = integration_publications(&state, &provider, &consumer).await?;
    // Most recently added to the branch first.
    let mut on_branch: Vec<_> = state
        .store
        .branch_versions_of_pacticipant(consumer.id)
        .await?
        .into_iter()
        .filter(|bv| bv.branch_name == branch.as_str())
        .collect();
    on_branch.sort_by_key(|bv| std::cmp::Reverse(bv.id));
    let pp = on_branch
        .iter()
        .find_map(|bv| {
            publications
                .iter()
                .find(|pp| pp.consumer_version_id == bv.version_id)
        })
        .cloned()
        .ok_or_else(|| {
            no_pact(
                &provider,
                &consumer,
                &format!("for a consumer version on branch '{branch}'"),
            )
        })?;
    let body = pact_json(&state, &base, &pp, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

/// The newest publication of a content hash between two parties.
async fn publication_of_sha(
    state: &AppState,
    provider: &Pacticipant,
    consumer: &Pacticipant,
    sha: &str,
) -> Result<Publication, ApiError> {
    integration_publications(state, provider, consumer)
        .await?
        .into_iter()
        .find(|pp| pp.sha == sha)
        .ok_or_else(|| no_pact(provider, consumer, &format!("with content {sha}")))
}

async fn by_sha(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let pp = publication_of_sha(&state, &provider, &consumer, &sha).await?;
    let body = pact_json_view(&state, &base, &pp, PactView::Content, None).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

async fn by_sha_with_metadata(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, sha, metadata)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let pp = publication_of_sha(&state, &provider, &consumer, &sha).await?;
    let body = pact_json_view(&state, &base, &pp, PactView::Content, Some(&metadata)).await?;
    Ok(pact_response(body, &pp.consumer_version_number))
}

fn text(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

async fn content_of(state: &AppState, pp: &Publication) -> Result<String, ApiError> {
    Ok(state
        .store
        .pact_version(pp.pact_version_id)
        .await?
        .map(|pv| pv.content)
        .unwrap_or_default())
}

/// A text diff between two contents of the same integration.
async fn diff_by_sha(
    State(state): State<AppState>,
    Path((provider, consumer, sha, other)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let this = publication_of_sha(&state, &provider, &consumer, &sha).await?;
    let that = publication_of_sha(&state, &provider, &consumer, &other).await?;
    let diff = crate::pact::classified_diff(
        &content_of(&state, &that).await?,
        &content_of(&state, &this).await?,
    );
    Ok(text(diff))
}

/// A text diff with the previous consumer version whose content differs.
async fn diff_previous(
    State(state): State<AppState>,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let publications = integration_publications(&state, &provider, &consumer).await?;
    let index = publications
        .iter()
        .position(|pp| pp.consumer_version_number == version)
        .ok_or_else(|| {
            no_pact(
                &provider,
                &consumer,
                &format!("for consumer version {version}"),
            )
        })?;
    let this = &publications[index];
    let previous = publications[index + 1..]
        .iter()
        .find(|pp| pp.sha != this.sha)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No previous distinct version of the pact for {} version {version}",
                consumer.name
            ))
        })?;
    let diff = crate::pact::classified_diff(
        &content_of(&state, previous).await?,
        &content_of(&state, this).await?,
    );
    Ok(text(diff))
}

async fn pact_versions(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    let urls = Urls(&base);
    let publications = integration_publications(&state, &provider, &consumer).await?;
    let pacts: Vec<Value> = publications
        .iter()
        .map(|pp| {
            let url = urls.pact(&provider.name, &consumer.name, &pp.consumer_version_number);
            json!({
                "createdAt": time(&pp.created_at),
                "_embedded": { "consumerVersion": { "number": pp.consumer_version_number, "_links": { "self": named_link(urls.version(&consumer.name, &pp.consumer_version_number), "Version", &pp.consumer_version_number) } } },
                "_links": { "self": { "href": url, "title": "Pact", "name": format!("Pact between {} ({}) and {}", consumer.name, pp.consumer_version_number, provider.name) } }
            })
        })
        .collect();
    let links: Vec<Value> = pacts.iter().map(|p| p["_links"]["self"].clone()).collect();
    Ok(hal(
        StatusCode::OK,
        json!({
            "_embedded": { "pacts": pacts },
            "_links": {
                "self": link(format!("{}/versions", urls.integration(&provider.name, &consumer.name))),
                "consumer": named_link(urls.pacticipant(&consumer.name), "Consumer", &consumer.name),
                "provider": named_link(urls.pacticipant(&provider.name), "Provider", &provider.name),
                "pact-versions": links,
            }
        }),
    ))
}

async fn delete_all(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (provider, consumer) = parties(&state, &provider, &consumer).await?;
    state
        .store
        .delete_publications(PublicationFilter {
            consumer_id: Some(consumer.id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A list of pact links keyed on the consumer, in the provider-pacts shape.
fn provider_pacts_body(
    base: &str,
    provider: &Pacticipant,
    self_url: String,
    publications: &[Publication],
) -> Value {
    let urls = Urls(base);
    let links: Vec<Value> = publications
        .iter()
        .map(|pp| {
            json!({
                "href": urls.pact(&pp.provider_name, &pp.consumer_name, &pp.consumer_version_number),
                "title": format!("Pact between {} ({}) and {}", pp.consumer_name, pp.consumer_version_number, pp.provider_name),
                "name": pp.consumer_name,
            })
        })
        .collect();
    let provider_link = named_link(urls.pacticipant(&provider.name), "Provider", &provider.name);
    json!({
        "_links": {
            "self": link(self_url),
            "pb:provider": provider_link,
            "provider": provider_link,
            "pb:pacts": links,
            "pacts": links,
        }
    })
}

async fn provider(state: &AppState, name: &str) -> Result<Pacticipant, ApiError> {
    find_pacticipant(state, name)
        .await
        .map_err(|_| ApiError::not_found(format!("No provider with name '{name}' found")))
}

/// The latest publication per consumer, optionally among versions with a tag.
async fn latest_per_consumer(
    state: &AppState,
    provider: &Pacticipant,
    tag: Option<&TagName>,
) -> Result<Vec<Publication>, ApiError> {
    let publications = state
        .store
        .publications(PublicationFilter {
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    let mut latest: BTreeMap<String, Publication> = BTreeMap::new();
    let mut tagged_cache: BTreeMap<i64, HashSet<i64>> = BTreeMap::new();
    for pp in publications {
        if let Some(tag) = tag {
            if let std::collections::btree_map::Entry::Vacant(entry) =
                tagged_cache.entry(pp.consumer_id)
            {
                let set = state
                    .store
                    .tags_of_pacticipant(pp.consumer_id)
                    .await?
                    .into_iter()
                    .filter(|t| t.name == tag.as_str())
                    .map(|t| t.version_id)
                    .collect();
                entry.insert(set);
            }
            if !tagged_cache[&pp.consumer_id].contains(&pp.consumer_version_id) {
                continue;
            }
        }
        // Publications come oldest consumer version first, so the last one wins.
        latest.insert(pp.consumer_name.clone(), pp);
    }
    Ok(latest.into_values().collect())
}

async fn provider_latest(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name).await?;
    let publications = latest_per_consumer(&state, &provider, None).await?;
    let self_url = format!("{base}/pacts/provider/{}/latest", enc(&provider.name));
    Ok(hal(
        StatusCode::OK,
        provider_pacts_body(&base, &provider, self_url, &publications),
    ))
}

async fn provider_latest_with_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name).await?;
    let tag = TagName::parse("tag", &tag)?;
    let publications = latest_per_consumer(&state, &provider, Some(&tag)).await?;
    let self_url = format!(
        "{base}/pacts/provider/{}/latest/{}",
        enc(&provider.name),
        enc(tag.as_str())
    );
    Ok(hal(
        StatusCode::OK,
        provider_pacts_body(&base, &provider, self_url, &publications),
    ))
}

async fn provider_pacts(
    State(state): State<AppState>,
    Base(base): Base,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name).await?;
    let publications = state
        .store
        .publications(PublicationFilter {
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    let self_url = format!("{base}/pacts/provider/{}", enc(&provider.name));
    Ok(hal(
        StatusCode::OK,
        provider_pacts_body(&base, &provider, self_url, &publications),
    ))
}

async fn provider_pacts_with_tag(
    State(state): State<AppState>,
    Base(base): Base,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name).await?;
    let tag = TagName::parse("tag", &tag)?;
    let mut publications = Vec::new();
    for pp in state
        .store
        .publications(PublicationFilter {
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?
    {
        if state
            .store
            .tag(pp.consumer_version_id, &tag)
            .await?
            .is_some()
        {
            publications.push(pp);
        }
    }
    let self_url = format!(
        "{base}/pacts/provider/{}/tag/{}",
        enc(&provider.name),
        enc(tag.as_str())
    );
    Ok(hal(
        StatusCode::OK,
        provider_pacts_body(&base, &provider, self_url, &publications),
    ))
}

/// The latest pact of every integration.
async fn latest_everywhere(
    State(state): State<AppState>,
    Base(base): Base,
) -> Result<Response, ApiError> {
    let urls = Urls(&base);
    let mut latest: BTreeMap<(String, String), Publication> = BTreeMap::new();
    for pp in state
        .store
        .publications(PublicationFilter::default())
        .await?
    {
        latest.insert((pp.consumer_name.clone(), pp.provider_name.clone()), pp);
    }
    let pacts: Vec<Value> = latest
        .values()
        .map(|pp| {
            let latest_url = format!("{}/latest", urls.integration(&pp.provider_name, &pp.consumer_name));
            let version_url = urls.pact(&pp.provider_name, &pp.consumer_name, &pp.consumer_version_number);
            json!({
                "createdAt": time(&pp.created_at),
                "_embedded": {
                    "consumer": { "name": pp.consumer_name, "_links": { "self": link(urls.pacticipant(&pp.consumer_name)) },
                                  "_embedded": { "version": { "number": pp.consumer_version_number } } },
                    "provider": { "name": pp.provider_name, "_links": { "self": link(urls.pacticipant(&pp.provider_name)) } },
                },
                "_links": { "self": [ { "href": latest_url, "title": "Latest pact" }, { "href": version_url, "title": "Pact" } ] }
            })
        })
        .collect();
    let links: Vec<Value> = latest
        .values()
        .map(|pp| json!({ "href": format!("{}/latest", urls.integration(&pp.provider_name, &pp.consumer_name)), "title": format!("Pact between {} and {}", pp.consumer_name, pp.provider_name), "name": pp.consumer_name }))
        .collect();
    let mut body = Map::new();
    body.insert("pacts".into(), Value::Array(pacts));
    body.insert(
        "_links".into(),
        json!({ "self": link(format!("{base}/pacts/latest")), "pb:pacts": links, "pacts": links }),
    );
    Ok(hal(StatusCode::OK, Value::Object(body)))
}
