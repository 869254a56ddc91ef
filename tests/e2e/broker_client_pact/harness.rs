//! The provider side of the verification: one small HTTP server that is both the
//! verifier's state-change endpoint and a proxy to a real Accord broker.
//!
//! Every state set-up throws the previous broker away and starts a fresh one on a
//! fresh SQLite file, then seeds it through the broker's own HTTP API, so no
//! interaction sees data left behind by another. The proxy forwards the verifier's
//! requests to the current broker after two rewrites the pact needs (see
//! [`rewrite_path`] and [`reorder_matrix_query`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use accord_broker::{Application, Config};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::seed::{self, Seeder};

/// The path the verifier posts state changes to.
pub const STATES_PATH: &str = "/__states";

/// The consumer's pact was recorded against a broker served at this address (the
/// official broker verifies it in-process, where requests carry this host), and a
/// few expected bodies hold these links literally. The broker under test is
/// configured with it as its public base URL so that its links are the same.
pub const PUBLIC_BASE_URL: &str = "http://example.org";

/// The pacticipant version the deployment and release interactions use.
const FOO_VERSION: &str = "5556b8149bf8bac76bc30f50a8a2dd4c22c85f30";

/// A running harness: the proxy's address and what it learnt along the way.
pub struct Harness {
    inner: Arc<Inner>,
    /// The port the proxy (and state-change endpoint) listens on.
    pub port: u16,
    server: JoinHandle<()>,
}

struct Inner {
    dir: tempfile::TempDir,
    /// The query strings of the pact's `/matrix` interactions, in their recorded order.
    matrix_queries: Vec<String>,
    current: tokio::sync::Mutex<Option<RunningBroker>>,
    generation: Mutex<usize>,
    /// Problems of the harness itself or of seeding, keyed by provider state (or by
    /// request for the proxy), shown next to the verifier's report.
    notes: Mutex<Vec<(String, String)>>,
}

/// One broker instance with the ids its seeding produced.
struct RunningBroker {
    base_url: String,
    client: reqwest::Client,
    ids: HashMap<String, String>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), accord_broker::BrokerError>>,
}

impl Harness {
    /// Starts the proxy on a free port. `matrix_queries` are the recorded query
    /// strings of the pact's matrix interactions.
    pub async fn start(matrix_queries: Vec<String>) -> Harness {
        let inner = Arc::new(Inner {
            dir: tempfile::tempdir().expect("a temporary directory for the broker databases"),
            matrix_queries,
            current: tokio::sync::Mutex::new(None),
            generation: Mutex::new(0),
            notes: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route(STATES_PATH, post(state_change))
            .fallback(proxy)
            .with_state(inner.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy to a free port");
        let port = listener.local_addr().expect("proxy address").port();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the proxy serves");
        });
        Harness {
            inner,
            port,
            server,
        }
    }

    /// Problems met while seeding or proxying, as (where, what) pairs.
    pub fn notes(&self) -> Vec<(String, String)> {
        self.inner.notes.lock().unwrap().clone()
    }

    /// Stops the proxy and the last broker.
    pub async fn stop(self) {
        self.server.abort();
        if let Some(broker) = self.inner.current.lock().await.take() {
            broker.shut_down().await;
        }
    }
}

impl RunningBroker {
    async fn shut_down(self) {
        // Dropping the client closes its pooled connections, so the graceful
        // shutdown has no idle keep-alive connection to wait for.
        drop(self.client);
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("the broker at {} failed: {err}", self.base_url),
            Err(err) => panic!("the broker task at {} panicked: {err}", self.base_url),
        }
    }
}

impl Inner {
    fn note(&self, place: impl Into<String>, what: impl Into<String>) {
        self.notes.lock().unwrap().push((place.into(), what.into()));
    }

    /// Replaces the current broker with a fresh one on a new SQLite file.
    async fn fresh_broker(&self) -> (String, reqwest::Client) {
        let mut current = self.current.lock().await;
        if let Some(old) = current.take() {
            old.shut_down().await;
        }
        let number = {
            let mut generation = self.generation.lock().unwrap();
            *generation += 1;
            *generation
        };
        let file: PathBuf = self.dir.path().join(format!("broker-{number}.db"));
        let mut config = Config::new(format!("sqlite://{}", file.display()));
        config.public_base_url = Some(PUBLIC_BASE_URL.parse().expect("a valid URL"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the broker to a free port");
        let app = Application::build(config, listener)
            .await
            .expect("the broker starts on a fresh SQLite file");
        let base_url = app.base_url();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        *current = Some(RunningBroker {
            base_url: base_url.clone(),
            client: client.clone(),
            ids: HashMap::new(),
            stop,
            task,
        });
        (base_url, client)
    }
}

/// `POST /__states`: `{"state": ..., "params": ..., "action": "setup"|"teardown"}`.
async fn state_change(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("the state change body is not JSON: {err}"),
            )
                .into_response();
        }
    };
    if request["action"].as_str().unwrap_or("setup") != "setup" {
        return Json200::empty();
    }
    let state = request["state"].as_str().unwrap_or_default().to_string();
    let (base_url, client) = inner.fresh_broker().await;
    let mut seeder = Seeder::new(client, &base_url);
    match seed::seed(&state, &mut seeder).await {
        Ok(()) => {
            if let Some(broker) = inner.current.lock().await.as_mut() {
                broker.ids = seeder.into_ids();
            }
            Json200::empty()
        }
        Err(err) => {
            let message = format!("{err:#}");
            inner.note(format!("state '{state}'"), message.clone());
            // 422 rather than 5xx: the verifier retries server errors, and a seeding
            // failure will not go away by retrying.
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("set-up failed: {message}"),
            )
                .into_response()
        }
    }
}

struct Json200;

impl Json200 {
    fn empty() -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response()
    }
}

/// Every other request: rewritten, forwarded to the current broker, and its
/// response passed back unchanged.
async fn proxy(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let place = format!("{} {}", parts.method, parts.uri);
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => return harness_error(&inner, &place, format!("cannot read the body: {err}")),
    };
    let target = {
        let current = inner.current.lock().await;
        current
            .as_ref()
            .map(|b| (b.base_url.clone(), b.client.clone(), b.ids.clone()))
    };
    let Some((base_url, client, ids)) = target else {
        return harness_error(
            &inner,
            &place,
            "no broker is running: no state was set up yet",
        );
    };
    let path = match rewrite_path(parts.uri.path(), &ids) {
        Ok(path) => path,
        Err(err) => return harness_error(&inner, &place, err),
    };
    let query = parts.uri.query().map(|query| {
        if path == "/matrix" {
            reorder_matrix_query(query, &inner.matrix_queries)
        } else {
            query.to_string()
        }
    });
    let url = match &query {
        Some(query) => format!("{base_url}{path}?{query}"),
        None => format!("{base_url}{path}"),
    };
    let mut forwarded = client.request(parts.method.clone(), &url);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name.as_str()) && name != header::HOST {
            forwarded = forwarded.header(name, value);
        }
    }
    let response = match forwarded.body(body).send().await {
        Ok(response) => response,
        Err(err) => return harness_error(&inner, &place, format!("forwarding to {url}: {err}")),
    };
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !is_hop_by_hop(name.as_str()) {
            headers.append(name, value.clone());
        }
    }
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(err) => {
            return harness_error(
                &inner,
                &place,
                format!("reading the answer of {url}: {err}"),
            );
        }
    };
    let mut answer = Response::new(Body::from(bytes));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    answer
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade" | "te"
    )
}

/// The harness could not do its part; the status is one no broker answers, so a
/// report never mistakes it for the broker's.
fn harness_error(inner: &Inner, place: &str, what: impl Into<String>) -> Response {
    let what = what.into();
    inner.note(place, what.clone());
    (
        StatusCode::from_u16(599).expect("a valid status"),
        format!("harness error: {what}"),
    )
        .into_response()
}

/// Maps the consumer's placeholder paths to the real resources.
///
/// The broker client learns these URLs from links (the index, a version, an
/// environment), so its pact holds made-up paths; the official broker's own
/// verification maps them the same way. Resources whose id the broker generates
/// (environments, deployed versions) are looked up in `ids`, which the state
/// set-up filled in (see [`Seeder`]).
pub fn rewrite_path(path: &str, ids: &HashMap<String, String>) -> Result<String, String> {
    let id = |key: &str| {
        ids.get(key).cloned().ok_or_else(|| {
            format!("{path} needs the id of {key}, which the provider state did not create")
        })
    };
    let foo_version = format!("/pacticipants/Foo/versions/{FOO_VERSION}");
    let upper_foo = FOO_VERSION.to_uppercase();
    let mapped = if let Some(rest) = path.strip_prefix("/HAL-REL-PLACEHOLDER-") {
        match rest {
            "PB-PACTICIPANT-BRANCH-Foo-main" => "/pacticipants/Foo/branches/main".to_string(),
            "INDEX-PB-LATEST-VERSION-Condor" => "/pacticipants/Condor/latest-version".to_string(),
            "INDEX-PB-LATEST-TAGGED-VERSION-Condor-production" => {
                "/pacticipants/Condor/latest-version/production".to_string()
            }
            "PB-PUBLISH-CONTRACTS" => "/contracts/publish".to_string(),
            "PB-ENVIRONMENTS" => "/environments".to_string(),
            "PB-WEBHOOKS" => "/webhooks".to_string(),
            "PB-PACTICIPANTS" => "/pacticipants".to_string(),
            rest if rest == format!("PB-PACTICIPANT-VERSION-Foo-{FOO_VERSION}") => {
                foo_version.clone()
            }
            rest if rest == format!("PB-RECORD-DEPLOYMENT-FOO-{upper_foo}-TEST") => format!(
                "{foo_version}/deployed-versions/environment/{}",
                id(&seed::environment_key("test"))?
            ),
            rest if rest == format!("PB-RECORD-RELEASE-FOO-{upper_foo}-TEST") => format!(
                "{foo_version}/released-versions/environment/{}",
                id(&seed::environment_key("test"))?
            ),
            rest => match rest.strip_prefix("PB-ENVIRONMENT-") {
                Some(uuid) => format!("/environments/{}", id(&seed::environment_key(uuid))?),
                None => match rest.strip_prefix("PB-PACTICIPANT-") {
                    Some(name) => format!("/pacticipants/{name}"),
                    None => return Err(format!("{path} is a placeholder the harness cannot map")),
                },
            },
        }
    } else if let Some(rest) = path.strip_prefix("/PLACEHOLDER-") {
        if let Some(uuid) = rest.strip_prefix("ENVIRONMENT-CURRENTLY-DEPLOYED-") {
            format!(
                "/environments/{}/deployed-versions/currently-deployed",
                id(&seed::environment_key(uuid))?
            )
        } else if let Some(uuid) = rest.strip_prefix("DEPLOYED-VERSION-") {
            format!(
                "/deployed-versions/{}",
                id(&seed::deployed_version_key(uuid))?
            )
        } else {
            return Err(format!("{path} is a placeholder the harness cannot map"));
        }
    } else {
        path.to_string()
    };
    Ok(mapped)
}

/// Puts a `/matrix` query string back in the order the consumer recorded.
///
/// Matrix selectors are grouped the way Rack parses nested queries: `q[][k]=v`
/// pairs are read left to right and a repeated key starts a new selector. A pact
/// file stores a query as a map, so the verifier replays the pairs grouped by
/// key, which changes which selector a value belongs to. The pact's own query
/// string is the authority: when the request holds exactly the same pairs as one
/// of the recorded queries, that recorded order is used.
pub fn reorder_matrix_query(query: &str, recorded: &[String]) -> String {
    let wanted = sorted_pairs(query);
    recorded
        .iter()
        .find(|candidate| sorted_pairs(candidate) == wanted)
        .cloned()
        .unwrap_or_else(|| query.to_string())
}

fn sorted_pairs(query: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://query.invalid/?{query}"))
        .expect("any query makes a valid URL");
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regrouped_matrix_query_gets_its_recorded_order_back() {
        let recorded = vec![
            "q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=4.5.6&q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Btag%5D=prod".to_string(),
        ];
        let replayed = "q[][pacticipant]=Bar&q[][pacticipant]=Foo&q[][tag]=prod&q[][version]=4.5.6";
        assert_eq!(reorder_matrix_query(replayed, &recorded), recorded[0]);
        assert_eq!(
            reorder_matrix_query("latestby=cvp", &recorded),
            "latestby=cvp"
        );
    }

    #[test]
    fn placeholders_map_to_real_paths_and_unknown_ids_are_reported() {
        let mut ids = HashMap::new();
        ids.insert(seed::environment_key("test"), "e1".to_string());
        assert_eq!(
            rewrite_path(
                &format!(
                    "/HAL-REL-PLACEHOLDER-PB-RECORD-RELEASE-FOO-{}-TEST",
                    FOO_VERSION.to_uppercase()
                ),
                &ids
            )
            .unwrap(),
            format!("/pacticipants/Foo/versions/{FOO_VERSION}/released-versions/environment/e1")
        );
        assert_eq!(
            rewrite_path("/pacticipants/Foo", &ids).unwrap(),
            "/pacticipants/Foo"
        );
        let err = rewrite_path("/PLACEHOLDER-DEPLOYED-VERSION-abc", &ids).unwrap_err();
        assert!(err.contains("deployed version abc"), "{err}");
    }
}
