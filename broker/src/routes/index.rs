//! The index resource: every relation a client can navigate from.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::http::{Base, curies, hal, link};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

/// (relation, path after the base URL, templated, title) as the Pact Broker emits them.
const RELATIONS: &[(&str, &str, bool, &str)] = &[
    (
        "pb:publish-pact",
        "/pacts/provider/{provider}/consumer/{consumer}/version/{consumerApplicationVersion}",
        true,
        "Publish a pact",
    ),
    (
        "pb:publish-contracts",
        "/contracts/publish",
        false,
        "Publish contracts",
    ),
    // PactFlow's relation for provider contracts (bi-directional contract testing).
    (
        "pf:publish-provider-contract",
        "/provider-contracts/provider/{provider}/publish",
        true,
        "Publish a provider contract",
    ),
    (
        "pb:latest-pact-versions",
        "/pacts/latest",
        false,
        "Latest pact versions",
    ),
    // The Pact Broker marks this one as not templated although it has placeholders;
    // clients rely on the exact shape.
    (
        "pb:tagged-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/tag/{tag}",
        false,
        "All versions of a pact for a given consumer, provider and consumer version tag",
    ),
    (
        "pb:branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}",
        true,
        "All versions of a pact for a given consumer, provider and consumer version branch",
    ),
    (
        "pb:latest-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}/latest/versions",
        true,
        "Latest versions of a pact for a given consumer, provider and consumer version branch",
    ),
    (
        "pb:main-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/versions",
        true,
        "All versions of a pact for a given consumer, provider and the consumer's main branch",
    ),
    (
        "pb:latest-main-branch-pact-versions",
        "/pacts/provider/{provider}/consumer/{consumer}/branch/latest/versions",
        true,
        "Latest version of a pact for a given consumer, provider and the consumer's main branch",
    ),
    (
        "pb:provider-pacts-with-main-branch",
        "/pacts/provider/{provider}/branch",
        true,
        "All pact versions for the provider with the consumers' main branches",
    ),
    (
        "pb:provider-pacts-with-branch",
        "/pacts/provider/{provider}/branch/{branch}",
        true,
        "All pact versions for the provider with the given consumer branch",
    ),
    (
        "pb:latest-provider-pacts-with-main-branch",
        "/pacts/provider/{provider}/branch/latest",
        true,
        "Latest pact versions for the provider with the consumers' main branches",
    ),
    (
        "pb:latest-provider-pacts-with-branch",
        "/pacts/provider/{provider}/branch/{branch}/latest",
        true,
        "Latest pact versions for the provider with the given consumer branch",
    ),
    ("pb:pacticipants", "/pacticipants", false, "Pacticipants"),
    (
        "pb:pacticipant",
        "/pacticipants/{pacticipant}",
        true,
        "Fetch pacticipant by name",
    ),
    (
        "pb:latest-provider-pacts",
        "/pacts/provider/{provider}/latest",
        true,
        "Latest pacts by provider",
    ),
    (
        "pb:latest-provider-pacts-with-tag",
        "/pacts/provider/{provider}/latest/{tag}",
        true,
        "Latest pacts for provider with the specified tag",
    ),
    (
        "pb:provider-pacts-with-tag",
        "/pacts/provider/{provider}/tag/{tag}",
        true,
        "All pact versions for the provider with the specified consumer version tag",
    ),
    (
        "pb:provider-pacts",
        "/pacts/provider/{provider}",
        true,
        "All pact versions for the specified provider",
    ),
    (
        "pb:latest-version",
        "/pacticipants/{pacticipant}/latest-version",
        true,
        "Latest pacticipant version",
    ),
    (
        "pb:latest-tagged-version",
        "/pacticipants/{pacticipant}/latest-version/{tag}",
        true,
        "Latest pacticipant version with the specified tag",
    ),
    ("pb:webhooks", "/webhooks", false, "Webhooks"),
    ("pb:webhook", "/webhooks/{uuid}", true, "Webhook"),
    ("pb:integrations", "/integrations", false, "Integrations"),
    (
        "pb:pacticipant-version-tag",
        "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
        true,
        "Get, create or delete a tag for a pacticipant version",
    ),
    (
        "pb:pacticipant-branch",
        "/pacticipants/{pacticipant}/branches/{branch}",
        true,
        "Get or delete a pacticipant branch",
    ),
    (
        "pb:pacticipant-branch-version",
        "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
        true,
        "Get or add/create a pacticipant version for a branch",
    ),
    (
        "pb:pacticipant-version",
        "/pacticipants/{pacticipant}/versions/{version}",
        true,
        "Get, create or delete a pacticipant version",
    ),
    ("pb:metrics", "/metrics", false, "Get Pact Broker metrics"),
    (
        "pb:can-i-deploy-pacticipant-version-to-tag",
        "/can-i-deploy?pacticipant={pacticipant}&version={version}&to={tag}",
        true,
        "Determine if an application version can be safely deployed to an environment identified by the given tag",
    ),
    (
        "pb:can-i-deploy-pacticipant-version-to-environment",
        "/can-i-deploy?pacticipant={pacticipant}&version={version}&environment={environment}",
        true,
        "Determine if an application version can be safely deployed to an environment",
    ),
    (
        "pb:provider-pacts-for-verification",
        "/pacts/provider/{provider}/for-verification",
        true,
        "Pact versions to be verified for the specified provider",
    ),
    ("pb:environments", "/environments", false, "Environments"),
    (
        "pb:environment",
        "/environments/{uuid}",
        true,
        "Environment",
    ),
    // Accord's own relations, in their own namespace so they never clash with the
    // Pact Broker's.
    (
        "accord:drift",
        "/drift/provider/{provider}",
        true,
        "Current drift of a provider from its consumers' pacts (GET), or a drift monitor report to store (POST)",
    ),
    (
        "accord:drift-runs",
        "/drift/provider/{provider}/runs",
        true,
        "Recent drift monitor runs of a provider",
    ),
    (
        "accord:audit",
        "/audit",
        false,
        "Audit log of every change: who, what, when (admin credentials)",
    ),
    (
        "accord:import",
        "/admin/import",
        false,
        "Import of another broker's history, one batch at a time (POST; accord import)",
    ),
    (
        "accord:retention",
        "/admin/retention",
        false,
        "Retention policy (GET), or a retention run or dry run (POST)",
    ),
    (
        "accord:tokens",
        "/tokens",
        false,
        "Scoped API tokens: list (GET) or create (POST); admin credentials",
    ),
];

async fn index(
    State(state): State<AppState>,
    Base(base): Base,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    // Browsers get the web UI's home page; API clients keep getting HAL.
    if crate::ui::wants_html(&headers) {
        return crate::ui::index_page(&state, &base, raw.as_deref()).await;
    }
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": base, "title": "Index" }));
    for (relation, path, templated, title) in RELATIONS {
        let mut entry = json!({ "href": format!("{base}{path}"), "title": title });
        if *templated {
            entry["templated"] = Value::Bool(true);
        }
        if *relation == "pb:metrics" {
            entry = link(format!("{base}{path}"));
            entry["title"] = Value::String((*title).into());
        }
        links.insert((*relation).into(), entry);
    }
    links.insert(
        "beta:provider-pacts-for-verification".into(),
        json!({
            "name": "beta",
            "href": format!("{base}/pacts/provider/{{provider}}/for-verification"),
            "title": "DEPRECATED - please use pb:provider-pacts-for-verification",
            "templated": true
        }),
    );
    let mut curies = curies(&base, "index");
    if let Value::Array(items) = &mut curies {
        items.push(json!({ "name": "accord", "href": format!("{base}/doc/{{rel}}?context=index"), "templated": true }));
    }
    links.insert("curies".into(), curies);
    hal(StatusCode::OK, json!({ "_links": links }))
}
