//! The web UI: HTML pages for a person in a browser, served next to the API.
//!
//! Every page is rendered on the server from the same [`Store`](crate::store::Store)
//! and matrix rules the API uses; there is no JavaScript framework and nothing is
//! loaded from elsewhere. `GET /` answers the home page to browsers (an `Accept`
//! header naming `text/html`, see [`wants_html`]) and the HAL index to API clients;
//! the other pages live under `/ui/` and link to each other and to the HAL
//! resources they show.
//!
//! - `/ui` (and `/` for browsers): pacticipants and their latest pacts with the
//!   latest verification result, paged with `?page=&size=` (50 a page by default);
//! - `/ui/pacts/provider/{p}/consumer/{c}/version/{v}` and `.../latest`: a pact as
//!   documentation ([`pact_doc`]);
//! - `/ui/matrix?pacticipant=&version=&branch=`: the matrix rows of a pacticipant, and
//!   `/ui/can-i-deploy?pacticipant=&version=&environment=`: the answer and its reasons
//!   (both in `deploy_pages.rs`);
//! - `/ui/environments`: what is deployed and released where;
//! - `/ui/network` (or `?pacticipant=` for one pacticipant's integrations): who
//!   depends on whom, as an SVG ([`network`]) and a table;
//! - `/ui/drift` (or `?provider=`): the drift monitor's latest runs and open findings;
//! - `/ui/provider-contracts/provider/{p}` and `.../version/{v}`: provider contracts
//!   (OpenAPI documents) and their comparisons with the consumers' pacts
//!   ([`contract_pages`]).

mod contract_pages;
mod deploy_pages;
pub(crate) mod html;
mod network;
mod pact_doc;
mod webhooks;

use deploy_pages::*;

use std::collections::BTreeSet;
use std::fmt::Write;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use self::html::{Status, a, esc, page};
use crate::domain::{PacticipantName, VersionNumber};
use crate::http::{Base, enc, enc_query};
use crate::query::NestedQuery;
use crate::repr::{Urls, generated_display_name, time};
use crate::startup::AppState;
use crate::store::{
    EnvironmentRecordFilter, EnvironmentScope, Pacticipant, PublicationFilter, StoreError,
    VerificationFilter,
};

/// Pacticipants on one page of the home page unless `size` says otherwise.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page a client may ask for, so one request cannot ask for everything.
const MAX_PAGE_SIZE: usize = 500;
/// Pacticipants drawn at most in the network graph; beyond, only the table is shown.
const MAX_DRAWN_NODES: usize = 150;
/// Matrix rows shown at most; the can-i-deploy answer still considers every row.
const MAX_ROWS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(home))
        .route(
            "/ui/pacts/provider/{provider}/consumer/{consumer}/version/{version}",
            get(pact_of_version),
        )
        .route(
            "/ui/pacts/provider/{provider}/consumer/{consumer}/latest",
            get(latest_pact),
        )
        .route("/ui/matrix", get(matrix_page))
        .route("/ui/can-i-deploy", get(can_i_deploy_page))
        .route("/ui/environments", get(environments_page))
        .route("/ui/network", get(network_page))
        .route("/ui/drift", get(drift_page))
        .route(
            "/ui/provider-contracts/provider/{provider}",
            get(contract_pages::contracts_page),
        )
        .route(
            "/ui/provider-contracts/provider/{provider}/version/{version}",
            get(contract_pages::contract_page),
        )
        .merge(webhooks::router())
}

/// Whether a request comes from a browser: its `Accept` names `text/html` and not
/// HAL. Browsers send `text/html,application/xhtml+xml,...`; Pact clients send
/// `application/hal+json` and curl sends `*/*`, and both keep getting JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.contains("text/html") && !accept.contains("application/hal+json")
}

/// Why a page could not be shown. Rendered as an HTML page with the right status.
#[derive(Debug)]
pub enum UiError {
    NotFound(String),
    BadRequest(Vec<String>),
    /// A form without a valid CSRF token.
    Forbidden(String),
    Store(StoreError),
}

impl From<StoreError> for UiError {
    fn from(err: StoreError) -> Self {
        UiError::Store(err)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, lines) = match self {
            UiError::NotFound(message) => (StatusCode::NOT_FOUND, "Not found", vec![message]),
            UiError::BadRequest(lines) => (StatusCode::BAD_REQUEST, "Bad request", lines),
            UiError::Forbidden(message) => (StatusCode::FORBIDDEN, "Forbidden", vec![message]),
            UiError::Store(err) => {
                tracing::error!(error = &err as &dyn std::error::Error, "web UI page failed");
                let status = match err {
                    StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                (
                    status,
                    "Something went wrong",
                    vec!["The broker could not read its database; try again shortly.".to_string()],
                )
            }
        };
        let mut body = String::from("<div class=\"errors\"><ul>");
        for line in &lines {
            let _ = write!(body, "<li>{}</li>", esc(line));
        }
        body.push_str("</ul></div>");
        // Error pages link relative to the host: the base URL may be what failed.
        html::html(status, page("", title, &body))
    }
}

/// The home page, for `GET /` from a browser.
pub async fn index_page(state: &AppState, base: &str, raw_query: Option<&str>) -> Response {
    match home_page(state, base, raw_query).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn home(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Response {
    index_page(&state, &base, raw.as_deref()).await
}

/// `page` and `size` from the query string, 1-based, with the defaults.
fn paging(query: &NestedQuery) -> Result<(usize, usize), UiError> {
    let read = |key: &str, default: usize, max: usize| -> Result<usize, UiError> {
        match query.get(key).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(value) => match value.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(UiError::BadRequest(vec![format!(
                    "{key} must be a whole number from 1 to {max}, not {value:?}"
                )])),
            },
        }
    };
    Ok((
        read("page", 1, usize::MAX)?,
        read("size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
    ))
}

async fn home_page(
    state: &AppState,
    base: &str,
    raw_query: Option<&str>,
) -> Result<Response, UiError> {
    let query = NestedQuery::parse(raw_query.unwrap_or_default());
    let (number, size) = paging(&query)?;
    // One page of read models: a handful of queries however many pacticipants there are.
    let offset = i64::try_from((number - 1).saturating_mul(size)).unwrap_or(i64::MAX);
    let overview = state.store.pacticipant_page(offset, size as i64).await?;
    let total = usize::try_from(overview.total).unwrap_or_default();
    let pages = total.div_ceil(size).max(1);
    let urls = Urls(base);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"muted\">{total} pacticipant{}. {} for the API.</p>",
        if total == 1 { "" } else { "s" },
        a(&format!("{base}/pacticipants"), "Pacticipants as HAL JSON")
    );
    body.push_str(
        "<table id=\"pacticipants\"><tr><th>Pacticipant</th><th>Latest version</th>\
         <th>Its pacts (as consumer): latest version and verification</th>\
         <th>Consumers</th></tr>",
    );
    for row in &overview.rows {
        let pacticipant = &row.pacticipant;
        let _ = write!(
            body,
            "<tr class=\"pacticipant\"><td>{} <small>({})</small></td><td>{}</td><td>",
            a(
                &format!(
                    "{base}/ui/matrix?pacticipant={}",
                    enc_query(&pacticipant.name)
                ),
                &pacticipant.name
            ),
            [
                a(&urls.pacticipant(&pacticipant.name), "API"),
                a(
                    &format!(
                        "{base}/ui/network?pacticipant={}",
                        enc_query(&pacticipant.name)
                    ),
                    "network"
                ),
            ]
            .join(" · "),
            row.latest_version
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| "<span class=\"muted\">none</span>".into())
        );
        if row.latest_pacts.is_empty() {
            body.push_str("<span class=\"muted\">none</span>");
        }
        body.push_str("<ul>");
        for publication in &row.latest_pacts {
            let doc = format!(
                "{base}/ui/pacts/provider/{}/consumer/{}/version/{}",
                enc(&publication.provider_name),
                enc(&publication.consumer_name),
                enc(&publication.consumer_version_number)
            );
            let _ = write!(
                body,
                "<li class=\"pact\">→ {} {} {} <small class=\"muted\">published {}</small></li>",
                a(&doc, &publication.provider_name),
                esc(&publication.consumer_version_number),
                Status::of(publication.success).badge(),
                esc(&time(&publication.created_at))
            );
        }
        body.push_str("</ul></td><td>");
        let consumers: Vec<String> = row
            .consumers
            .iter()
            .map(|consumer| {
                a(
                    &format!(
                        "{base}/ui/pacts/provider/{}/consumer/{}/latest",
                        enc(&pacticipant.name),
                        enc(consumer)
                    ),
                    consumer,
                )
            })
            .collect();
        if consumers.is_empty() {
            body.push_str("<span class=\"muted\">none</span>");
        } else {
            body.push_str(&consumers.join(", "));
        }
        body.push_str("</td></tr>");
    }
    body.push_str("</table>");
    pager(&mut body, base, number, pages, size, total);
    Ok(html::html(
        StatusCode::OK,
        page(base, "Pacticipants", &body),
    ))
}

fn pager(body: &mut String, base: &str, number: usize, pages: usize, size: usize, total: usize) {
    let _ = write!(
        body,
        "<nav class=\"pages\" aria-label=\"Pages\"><span>Page {number} of {pages} ({total} in all)</span>"
    );
    if number > 1 {
        let previous = (number - 1).min(pages);
        let _ = write!(
            body,
            "<a rel=\"prev\" href=\"{}\">← previous</a>",
            esc(&format!("{base}/ui?page={previous}&size={size}"))
        );
    }
    if number < pages {
        let _ = write!(
            body,
            "<a rel=\"next\" href=\"{}\">next →</a>",
            esc(&format!("{base}/ui?page={}&size={size}", number + 1))
        );
    }
    body.push_str("</nav>");
}

async fn find(state: &AppState, name: &str) -> Result<Pacticipant, UiError> {
    let parsed = PacticipantName::parse("pacticipant", name)
        .map_err(|err| UiError::BadRequest(vec![err.to_string()]))?;
    state
        .store
        .pacticipant(&parsed)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("No pacticipant named '{name}'")))
}

async fn pact_of_version(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    pact_page(&state, &base, &provider, &consumer, Some(&version)).await
}

async fn latest_pact(
    State(state): State<AppState>,
    Base(base): Base,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response, UiError> {
    pact_page(&state, &base, &provider, &consumer, None).await
}

/// A pact as documentation: the one published by a consumer version, or the latest.
async fn pact_page(
    state: &AppState,
    base: &str,
    provider: &str,
    consumer: &str,
    version: Option<&str>,
) -> Result<Response, UiError> {
    let provider = find(state, provider).await?;
    let consumer = find(state, consumer).await?;
    let consumer_version_id = match version {
        Some(number) => {
            let parsed = VersionNumber::parse("version", number)
                .map_err(|err| UiError::BadRequest(vec![err.to_string()]))?;
            let found = state
                .store
                .version(consumer.id, &parsed)
                .await?
                .ok_or_else(|| {
                    UiError::NotFound(format!(
                        "No version '{number}' of pacticipant '{}'",
                        consumer.name
                    ))
                })?;
            Some(found.id)
        }
        None => None,
    };
    let publications = state
        .store
        .publications(PublicationFilter {
            consumer_id: Some(consumer.id),
            provider_id: Some(provider.id),
            consumer_version_id,
            ..Default::default()
        })
        .await?;
    let publication = publications.last().ok_or_else(|| {
        UiError::NotFound(format!(
            "No pact between consumer '{}' and provider '{}'{}",
            consumer.name,
            provider.name,
            version
                .map(|v| format!(" for consumer version '{v}'"))
                .unwrap_or_default()
        ))
    })?;
    let content = state
        .store
        .pact_version(publication.pact_version_id)
        .await?
        .ok_or_else(|| UiError::NotFound("The pact's content is gone".to_string()))?;
    let verifications = state
        .store
        .verifications(VerificationFilter {
            pact_version_id: Some(publication.pact_version_id),
            ..Default::default()
        })
        .await?;
    let json: serde_json::Value = serde_json::from_str(&content.content).unwrap_or_default();
    let urls = Urls(base);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Consumer {} version <strong>{}</strong>, provider {}; published {}.</p>",
        a(
            &format!("{base}/ui/matrix?pacticipant={}", enc_query(&consumer.name)),
            &consumer.name
        ),
        esc(&publication.consumer_version_number),
        a(
            &format!("{base}/ui/matrix?pacticipant={}", enc_query(&provider.name)),
            &provider.name
        ),
        esc(&time(&publication.created_at))
    );
    match verifications.last() {
        Some(v) => {
            let _ = write!(
                body,
                "<p>Latest verification: {} by {} version {} at {}.</p>",
                Status::of(Some(v.success)).badge(),
                esc(&v.provider_name),
                esc(&v.provider_version_number),
                esc(&time(&v.created_at))
            );
        }
        None => {
            let _ = write!(
                body,
                "<p>Latest verification: {}</p>",
                Status::Never.badge()
            );
        }
    }
    let _ = write!(
        body,
        "<p>{} · {} · {}</p>",
        a(
            &urls.pact(
                &provider.name,
                &consumer.name,
                &publication.consumer_version_number
            ),
            "This pact as JSON (API)"
        ),
        a(
            &format!(
                "{base}/ui/matrix?pacticipant={}&version={}",
                enc_query(&consumer.name),
                enc_query(&publication.consumer_version_number)
            ),
            "Matrix of this version"
        ),
        a(
            &format!(
                "{base}/ui/can-i-deploy?pacticipant={}&version={}",
                enc_query(&consumer.name),
                enc_query(&publication.consumer_version_number)
            ),
            "Can I deploy it?"
        ),
    );
    body.push_str(&pact_doc::render(&json));
    let title = format!("A pact between {} and {}", consumer.name, provider.name);
    Ok(html::html(StatusCode::OK, page(base, &title, &body)))
}

/// `/ui/environments`: what is currently deployed and released in each environment.
async fn environments_page(
    State(state): State<AppState>,
    Base(base): Base,
) -> Result<Response, UiError> {
    let environments = state.store.environments().await?;
    let urls = Urls(&base);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"muted\">{}</p>",
        a(&format!("{base}/environments"), "Environments as HAL JSON")
    );
    if environments.is_empty() {
        body.push_str("<p>No environments yet.</p>");
    }
    for env in &environments {
        let filter = EnvironmentRecordFilter {
            environment_id: Some(env.id),
            current_only: true,
            ..Default::default()
        };
        let deployed = state.store.deployed_versions(filter).await?;
        let released = state.store.released_versions(filter).await?;
        let _ = write!(
            body,
            "<section class=\"environment\"><h2>{}{}</h2><p>{}</p>",
            esc(&env
                .display_name
                .clone()
                .unwrap_or_else(|| generated_display_name(&env.name))),
            if env.production {
                " <small>(production)</small>"
            } else {
                ""
            },
            a(&urls.environment(&env.uuid), "API")
        );
        if deployed.is_empty() && released.is_empty() {
            body.push_str("<p class=\"muted\">Nothing deployed or released.</p></section>");
            continue;
        }
        body.push_str(
            "<table><tr><th>Pacticipant</th><th>Version</th><th>How</th><th>Since</th><th></th></tr>",
        );
        let mut record = |name: &str, number: &str, how: String, since: &str| {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a(
                    &format!("{base}/ui/matrix?pacticipant={}", enc_query(name)),
                    name
                ),
                esc(number),
                esc(&how),
                esc(since),
                a(
                    &format!(
                        "{base}/ui/can-i-deploy?pacticipant={}&version={}&environment={}",
                        enc_query(name),
                        enc_query(number),
                        enc_query(&env.name)
                    ),
                    "can I deploy?"
                )
            );
        };
        for d in &deployed {
            let how = match &d.application_instance {
                Some(instance) => format!("deployed (instance {instance})"),
                None => "deployed".to_string(),
            };
            record(
                &d.pacticipant_name,
                &d.version_number,
                how,
                &time(&d.created_at),
            );
        }
        for r in &released {
            record(
                &r.pacticipant_name,
                &r.version_number,
                "released".to_string(),
                &time(&r.created_at),
            );
        }
        body.push_str("</table></section>");
    }
    Ok(html::html(
        StatusCode::OK,
        page(&base, "Environments", &body),
    ))
}

/// `/ui/network`: who depends on whom, as an SVG and as a table.
async fn network_page(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let focus = non_blank(&query, "pacticipant");
    let focus_id = match focus {
        Some(name) => Some(find(&state, name).await?.id),
        None => None,
    };
    // Every edge in one query, already distinct and ordered.
    let edges: BTreeSet<(String, String)> = state
        .store
        .network_edges(focus_id)
        .await?
        .into_iter()
        .map(|edge| (edge.consumer_name, edge.provider_name))
        .collect();
    let title = match focus {
        Some(name) => format!("Network of {name}"),
        None => "Network".to_string(),
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{}\">{}<button type=\"submit\">Focus</button></form>",
        esc(&format!("{base}/ui/network")),
        input("pacticipant", "Only the integrations of", focus),
    );
    if edges.is_empty() {
        body.push_str("<p>No pacts yet, so no one depends on anyone.</p>");
        return Ok(html::html(StatusCode::OK, page(&base, &title, &body)));
    }
    let nodes: BTreeSet<&str> = edges
        .iter()
        .flat_map(|(c, p)| [c.as_str(), p.as_str()])
        .collect();
    if nodes.len() <= MAX_DRAWN_NODES {
        body.push_str(
            "<p class=\"muted\">Arrows point from a consumer to the provider it depends on.</p>",
        );
        body.push_str(&network::svg(&base, &edges));
    } else {
        let _ = write!(
            body,
            "<p>{} pacticipants are too many to draw readably; focus on one to see its \
             integrations drawn.</p>",
            nodes.len()
        );
    }
    body.push_str(
        "<table id=\"integrations\"><tr><th>Consumer</th><th>depends on</th><th>Pact</th></tr>",
    );
    for (consumer, provider) in &edges {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{} · {}</td></tr>",
            esc(consumer),
            esc(provider),
            a(
                &format!(
                    "{base}/ui/pacts/provider/{}/consumer/{}/latest",
                    enc(provider),
                    enc(consumer)
                ),
                "latest pact"
            ),
            a(&Urls(&base).integration(provider, consumer), "API")
        );
    }
    body.push_str("</table>");
    Ok(html::html(StatusCode::OK, page(&base, &title, &body)))
}

/// `/ui/drift?provider=`: the latest runs of the drift monitor and the findings still
/// open, for one provider or for every provider the monitor has reported on.
async fn drift_page(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let providers = match non_blank(&query, "provider") {
        Some(name) => vec![find(&state, name).await?],
        None => state.store.pacticipants().await?,
    };
    let mut body = String::new();
    let mut reported = 0;
    for provider in &providers {
        let runs = state
            .store
            .latest_drift_runs(provider.id, EnvironmentScope::Any)
            .await?;
        if runs.is_empty() {
            continue;
        }
        reported += 1;
        let findings = state
            .store
            .open_drift_findings(provider.id, EnvironmentScope::Any)
            .await?;
        let _ = write!(
            body,
            "<section class=\"drift\"><h2>{}</h2><p>{} · {}</p>\
             <table><tr><th>Environment</th><th>Base URL</th><th>Latest run finished</th>\
             <th>Interactions checked</th><th>Findings</th><th>Probe errors</th></tr>",
            esc(&provider.name),
            a(
                &format!("{base}/drift/provider/{}", enc(&provider.name)),
                "Drift as JSON (API)"
            ),
            a(
                &format!("{base}/ui/matrix?pacticipant={}", enc_query(&provider.name)),
                "Matrix"
            ),
        );
        for run in &runs {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(run.environment_name.as_deref().unwrap_or("(none)")),
                esc(&run.base_url),
                esc(&time(&run.finished_at)),
                run.interactions_checked,
                run.finding_count,
                run.probe_error_count
            );
        }
        body.push_str("</table>");
        if findings.is_empty() {
            body.push_str("<p><span class=\"badge ok\">no open drift</span></p></section>");
            continue;
        }
        body.push_str(
            "<table class=\"findings\"><tr><th>Environment</th><th>Consumers</th>\
             <th>Interaction</th><th>Where</th><th>Expected</th><th>Actual</th>\
             <th>Seen</th></tr>",
        );
        for f in &findings {
            let _ = write!(
                body,
                "<tr class=\"finding\"><td>{}</td><td>{}</td><td>{}<br><code>{}</code></td>\
                 <td><code>{}</code> <small>{}</small></td><td>{}</td><td>{}</td>\
                 <td>{} time{} since {}{}</td></tr>",
                esc(f.environment_name.as_deref().unwrap_or("(none)")),
                esc(&f.consumers.join(", ")),
                esc(&f.interaction),
                esc(&f.request),
                esc(&f.pointer),
                esc(&f.class),
                esc(&f.expected),
                esc(&f.actual),
                f.occurrences,
                if f.occurrences == 1 { "" } else { "s" },
                esc(&time(&f.first_seen_at)),
                f.hint
                    .as_deref()
                    .map(|h| format!("<br><small>{}</small>", esc(h)))
                    .unwrap_or_default()
            );
        }
        body.push_str("</table></section>");
    }
    if reported == 0 {
        body.push_str("<p>The drift monitor has not reported on any provider yet.</p>");
    }
    Ok(html::html(StatusCode::OK, page(&base, "Drift", &body)))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::wants_html;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_api_clients_get_hal() {
        assert!(wants_html(&accepting(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(wants_html(&accepting("TEXT/HTML")));
        assert!(!wants_html(&accepting(
            "application/hal+json, application/json"
        )));
        assert!(!wants_html(&accepting("text/html, application/hal+json")));
        assert!(!wants_html(&accepting("*/*")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
