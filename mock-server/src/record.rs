//! `accord record`: a proxy in front of a real provider that writes the traffic into a pact.
//!
//! Each request is forwarded to the target as received (minus hop-by-hop headers) and the
//! target's answer is returned unchanged. Each distinct request (method, path, query, body) is
//! recorded once, with the first response it got, as an interaction described
//! `"<METHOD> <path>"`. Only the `Content-Type` header is kept on either side: the rest (user
//! agents, dates, tracing ids) would make the contract needlessly strict.
//!
//! With `type_matchers`, JSON bodies get type matchers for every value (and "at least one
//! item like the first" for arrays), so the pact states the shape rather than the data.
//!
//! When the target cannot be reached, the client gets a 502 with a JSON error and the failure is
//! logged; nothing is recorded for that request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use accord_contract::redact::{redact_url, redact_urls};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, StatusCode};
use pact_models::bodies::OptionalBody;
use pact_models::content_types::ContentType;
use pact_models::matchingrules::{Category, MatchingRule, MatchingRuleCategory, RuleLogic};
use pact_models::path_exp::DocPath;
use pact_models::v4::http_parts::{HttpRequest, HttpResponse};
use pact_models::v4::synch_http::SynchronousHttp;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use url::Url;

use crate::admin::{json_error, panic_response};
use crate::browser::{AllowedOrigins, guard_admin};
use crate::error::Error;
use crate::pact_file::{PactFileOptions, write_pact};
use crate::server::{MAX_BODY_BYTES, Running, bind};

/// Settings of a recording proxy.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The real provider's base URL.
    pub target: Url,
    /// The consumer named in the pact.
    pub consumer: String,
    /// The provider named in the pact.
    pub provider: String,
    /// Where and how the pact file is written.
    pub pact: PactFileOptions,
    /// Replace concrete JSON body values with type matchers.
    pub type_matchers: bool,
    /// Connection limits: header-read and idle timeouts, and how many connections at once.
    pub serve: accord_net::ServeOptions,
}

struct Recorder {
    config: RecordConfig,
    client: reqwest::Client,
    recorded: Mutex<Vec<SynchronousHttp>>,
}

/// A running recording proxy.
pub struct RecordApplication {
    running: Running,
    recorder: Arc<Recorder>,
}

impl RecordApplication {
    /// Checks that the target answers on its port, binds, and starts proxying.
    pub async fn build(config: RecordConfig) -> Result<Self, Error> {
        probe(&config.target).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Fetch {
                url: config.target.to_string(),
                source,
            })?;
        let listener = bind(config.addr)?;
        let serve = config.serve;
        let recorder = Arc::new(Recorder {
            config,
            client,
            recorded: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/__accord/health", get(health))
            .route("/__accord/interactions", get(list))
            .route("/__accord/pact", post(write_handler))
            .fallback(proxy)
            .with_state(recorder.clone())
            .layer(CatchPanicLayer::custom(panic_response))
            // No CORS here, so only loopback pages may ask for the pact to be written.
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(AllowedOrigins::default()),
                guard_admin,
            ));
        let running = Running::spawn(listener, app, serve)?;
        Ok(RecordApplication { running, recorder })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// How many interactions were recorded so far.
    pub fn recorded(&self) -> usize {
        self.recorder
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Writes (merges) what was recorded into the pact file and returns its path.
    pub async fn write_pact(&self) -> Result<PathBuf, Error> {
        self.recorder.clone().write().await
    }

    /// Serves until the server stops.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        self.running.wait().await
    }

    /// Stops serving.
    pub async fn stop(mut self) {
        self.running.stop().await;
    }
}

/// Connects to the target's host and port, so that a wrong `--target` fails at start.
async fn probe(target: &Url) -> Result<(), Error> {
    let down = |source| Error::TargetDown {
        url: target.to_string(),
        source,
    };
    let host = target
        .host_str()
        .ok_or_else(|| down(std::io::Error::other("the URL has no host")))?;
    let port = target
        .port_or_known_default()
        .ok_or_else(|| down(std::io::Error::other("the URL has no port")))?;
    let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(down(err)),
        Err(_) => Err(down(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within 10 seconds",
        ))),
    }
}

impl Recorder {
    async fn write(self: Arc<Self>) -> Result<PathBuf, Error> {
        let interactions = self
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            write_pact(
                &config.consumer,
                &config.provider,
                &interactions,
                &config.pact,
            )
        })
        .await
        .map_err(|err| Error::PactIo {
            path: self.config.pact.dir.clone(),
            source: std::io::Error::other(err),
        })?
    }

    fn record(&self, interaction: SynchronousHttp) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let same_request = |other: &SynchronousHttp| {
            other.request.method == interaction.request.method
                && other.request.path == interaction.request.path
                && other.request.query == interaction.request.query
                && other.request.body == interaction.request.body
        };
        if recorded.iter().any(same_request) {
            return;
        }
        let mut interaction = interaction;
        let base = interaction.description.clone();
        let mut n = 1;
        while recorded
            .iter()
            .any(|other| other.description == interaction.description)
        {
            n += 1;
            interaction.description = format!("{base} #{n}");
        }
        recorded.push(interaction);
    }
}

/// Headers that describe one connection, not the message, and must not be forwarded.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

async fn proxy(State(recorder): State<Arc<Recorder>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(err) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body: {err}"),
                None,
            );
        }
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let target = &recorder.config.target;
    let url = format!(
        "{}{}",
        target.as_str().trim_end_matches('/'),
        path_and_query
    );
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let sent = recorder
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body.clone())
        .send()
        .await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(err) => {
            // The target URL may carry a password or a token in its query.
            tracing::error!(target_url = %redact_url(&url), error = %redact_urls(&err.to_string()), "the target did not answer; nothing recorded");
            return json_error(
                StatusCode::BAD_GATEWAY,
                redact_urls(&format!("cannot reach the target {target}: {err}")),
                None,
            );
        }
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let answer_body = match answer.bytes().await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(target_url = %redact_url(&url), error = %redact_urls(&err.to_string()), "the target's answer was cut; nothing recorded");
            return json_error(
                StatusCode::BAD_GATEWAY,
                redact_urls(&format!(
                    "the target {target} did not send a complete answer: {err}"
                )),
                None,
            );
        }
    };

    recorder.record(build_interaction(
        &parts,
        &body,
        status,
        &answer_headers,
        &answer_body,
        recorder.config.type_matchers,
    ));

    let mut response = Response::new(Body::from(answer_body));
    *response.status_mut() = status;
    for (name, value) in &answer_headers {
        if !is_hop_by_hop(name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

fn content_type_of(headers: &HeaderMap) -> Option<(String, ContentType)> {
    let text = headers.get(CONTENT_TYPE)?.to_str().ok()?.to_string();
    let parsed = ContentType::parse(text.as_str()).ok()?;
    Some((text, parsed))
}

fn recorded_body(bytes: &Bytes, content_type: Option<&(String, ContentType)>) -> OptionalBody {
    if bytes.is_empty() {
        OptionalBody::Missing
    } else {
        OptionalBody::Present(bytes.clone(), content_type.map(|(_, ct)| ct.clone()), None)
    }
}

fn build_interaction(
    parts: &http::request::Parts,
    body: &Bytes,
    status: StatusCode,
    answer_headers: &HeaderMap,
    answer_body: &Bytes,
    type_matchers: bool,
) -> SynchronousHttp {
    let path = percent_encoding::percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let request_type = content_type_of(&parts.headers);
    let response_type = content_type_of(answer_headers);
    let mut request = HttpRequest {
        method: parts.method.as_str().to_string(),
        path: path.clone(),
        query: parts
            .uri
            .query()
            .and_then(pact_models::query_strings::parse_query_string),
        headers: request_type
            .as_ref()
            .map(|(text, _)| [("Content-Type".to_string(), vec![text.clone()])].into()),
        body: recorded_body(body, request_type.as_ref()),
        ..HttpRequest::default()
    };
    let mut response = HttpResponse {
        status: status.as_u16(),
        headers: response_type
            .as_ref()
            .map(|(text, _)| [("Content-Type".to_string(), vec![text.clone()])].into()),
        body: recorded_body(answer_body, response_type.as_ref()),
        ..HttpResponse::default()
    };
    if type_matchers {
        if let Some(rules) = type_rules(body, request_type.as_ref()) {
            request.matching_rules.add_rules(Category::BODY, rules);
        }
        if let Some(rules) = type_rules(answer_body, response_type.as_ref()) {
            response.matching_rules.add_rules(Category::BODY, rules);
        }
    }
    SynchronousHttp {
        description: format!("{} {}", parts.method, path),
        request,
        response,
        ..SynchronousHttp::default()
    }
}

/// Type matchers for every value of a JSON body: the shape is kept, the data is not.
fn type_rules(
    body: &Bytes,
    content_type: Option<&(String, ContentType)>,
) -> Option<MatchingRuleCategory> {
    if !content_type.is_some_and(|(_, ct)| ct.is_json()) {
        return None;
    }
    let json: Value = serde_json::from_slice(body).ok()?;
    let mut category = MatchingRuleCategory::empty("body");
    add_type_rules(&json, DocPath::root(), &mut category);
    Some(category)
}

fn add_type_rules(value: &Value, path: DocPath, category: &mut MatchingRuleCategory) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                add_type_rules(item, path.join_field(key.as_str()), category);
            }
        }
        Value::Array(items) => {
            category.add_rule(path.clone(), MatchingRule::MinType(1), RuleLogic::And);
            if let Some(first) = items.first() {
                let mut item_path = path.clone();
                item_path.push_star_index();
                add_type_rules(first, item_path, category);
            }
        }
        _ => category.add_rule(path, MatchingRule::Type, RuleLogic::And),
    }
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn list(State(recorder): State<Arc<Recorder>>) -> Response {
    let recorded = recorder
        .recorded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|i| json!({"description": i.description, "status": i.response.status}))
        .collect::<Vec<_>>();
    axum::Json(json!({"interactions": recorded})).into_response()
}

async fn write_handler(State(recorder): State<Arc<Recorder>>) -> Response {
    match recorder.write().await {
        Ok(path) => axum::Json(json!({"path": path})).into_response(),
        Err(err @ Error::Conflict { .. }) => {
            json_error(StatusCode::CONFLICT, err.to_string(), None)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot write the pact file");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string(), None)
        }
    }
}
