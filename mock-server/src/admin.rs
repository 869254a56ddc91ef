//! `accord mock`: the mock provider driven over an HTTP admin API, for consumers in any language.
//!
//! The admin API shares the mock's port under the reserved prefix `/__accord/` (so a browser
//! test needs one origin only); every other path is answered by the mock itself. See
//! `mock-server/ADMIN-API.md` for the endpoints with curl examples.
//!
//! Errors have one JSON shape everywhere: `{"error": "<what went wrong>"}`, plus
//! `"field": "<JSON pointer>"` when one field of the request body is at fault.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

use crate::browser::{AllowedOrigins, guard_admin};
use crate::engine::{Engine, Selection};
use crate::error::Error;
use crate::message::{ReceivedMessage, example_message, message_from_json};
use crate::pact_file::PactFileOptions;
use crate::pact_file::{BoxedInteraction, write_interactions};
use crate::parse::interaction_from_json;
use crate::server::{Running, bind, serve_request};
use pact_models::interaction::Interaction;
use pact_models::v4::async_message::AsynchronousMessage;
use pact_models::v4::interaction::V4Interaction;

/// An error answer of Accord's mock, stub and record servers, in their one JSON shape:
/// `{"error": "<what went wrong>", "field": "<JSON pointer>"}` (`field` only when one field is
/// at fault).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message});
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// Shorthand for an [`ApiError`] answer.
pub(crate) fn json_error(status: StatusCode, message: String, field: Option<String>) -> Response {
    ApiError {
        status,
        message,
        field,
    }
    .into_response()
}

/// Answers a request whose handling panicked (inside a pact library, say) with a JSON 500
/// instead of dropping the connection.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown cause".to_string());
    tracing::error!(%detail, "request handling panicked");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the server failed while answering this request: {detail}"),
        None,
    )
}

/// Parses a JSON request body, answering 400 with the place of a syntax error.
pub(crate) fn parse_json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|err| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: format!("the request body is not valid JSON: {err}"),
        field: None,
    })
}

/// Settings of a standalone mock provider.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The consumer named in the pact file.
    pub consumer: String,
    /// The provider named in the pact file.
    pub provider: String,
    /// Where and how the pact file is written.
    pub pact: PactFileOptions,
    /// Answer CORS preflight requests and add CORS headers, for tests running in a browser.
    pub cors: bool,
    /// Web origins allowed to use the mock across origins and to drive its admin API (loopback
    /// origins always are); see [`crate::browser`].
    pub allowed_origins: AllowedOrigins,
    /// Connection limits: header-read and idle timeouts, and how many connections at once.
    pub serve: accord_net::ServeOptions,
}

/// A standalone mock provider with its admin API.
pub struct MockApplication {
    running: Running,
    engine: Arc<Engine>,
}

#[derive(Clone)]
struct AdminState {
    engine: Arc<Engine>,
    pact: PactFileOptions,
    messages: Arc<std::sync::Mutex<Vec<RegisteredMessage>>>,
}

/// A message expectation registered through the admin API, with the example message handed to
/// the client and whether its handler accepted it.
struct RegisteredMessage {
    message: AsynchronousMessage,
    example: ReceivedMessage,
    handled: bool,
}

impl MockApplication {
    /// Binds the address and starts serving.
    pub async fn build(config: MockConfig) -> Result<Self, Error> {
        let engine = Arc::new(Engine::new(
            config.consumer,
            config.provider,
            Vec::new(),
            Selection::PreferUnused,
        ));
        let listener = bind(config.addr)?;
        let state = AdminState {
            engine: engine.clone(),
            pact: config.pact,
            messages: Arc::default(),
        };
        let mut app = Router::new()
            .route("/__accord/health", get(health))
            .route(
                "/__accord/interactions",
                get(list_interactions)
                    .post(add_interactions)
                    .put(replace_interactions)
                    .delete(reset),
            )
            .route(
                "/__accord/messages",
                get(list_messages).post(add_messages).delete(reset_messages),
            )
            .route("/__accord/messages/handled", post(message_handled))
            .route("/__accord/verification", get(verification))
            .route("/__accord/pact", post(write))
            .route("/__accord/{*rest}", axum::routing::any(unknown_admin))
            .fallback(mock)
            .with_state(state)
            .layer(CatchPanicLayer::custom(panic_response));
        let origins = Arc::new(config.allowed_origins);
        app = app.layer(axum::middleware::from_fn_with_state(
            origins.clone(),
            guard_admin,
        ));
        if config.cors {
            app = app.layer(origins.cors_layer());
        }
        let running = Running::spawn(listener, app, config.serve)?;
        engine.set_base_url(format!("http://{}", running.addr));
        Ok(MockApplication { running, engine })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// What the mock saw so far.
    pub fn report(&self) -> crate::VerificationReport {
        self.engine.report()
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

async fn mock(State(state): State<AdminState>, request: Request) -> Response {
    serve_request(&state.engine, None, request).await
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn unknown_admin(request: Request) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!(
            "no admin endpoint {} {}: see ADMIN-API.md (paths under /__accord/ are reserved for the admin API)",
            request.method(),
            request.uri().path()
        ),
        None,
    )
}

/// Accepts one interaction, an array of them, or `{"interactions": [...]}`; all or none.
fn parse_interactions(
    body: &Bytes,
) -> Result<Vec<pact_models::v4::synch_http::SynchronousHttp>, ApiError> {
    parse_items(body, "interactions", "interaction", interaction_from_json)
}

/// Accepts one message, an array of them, or `{"messages": [...]}`; all or none.
fn parse_messages(body: &Bytes) -> Result<Vec<AsynchronousMessage>, ApiError> {
    parse_items(body, "messages", "message", message_from_json)
}

/// One item, an array of them, or `{"<key>": [...]}`, each parsed by `parse`; the first
/// problem is a 400 naming the item and the field.
fn parse_items<T>(
    body: &Bytes,
    key: &str,
    noun: &str,
    parse: impl Fn(&Value, &str) -> Result<T, crate::FieldProblem>,
) -> Result<Vec<T>, ApiError> {
    let json = parse_json_body(body)?;
    let bad = |message: String, field: Option<String>| ApiError {
        status: StatusCode::BAD_REQUEST,
        message,
        field,
    };
    let (items, base, single): (Vec<&Value>, String, bool) = match &json {
        Value::Array(items) => (items.iter().collect(), String::new(), false),
        Value::Object(map) if map.contains_key(key) => match &map[key] {
            Value::Array(items) => (items.iter().collect(), format!("/{key}"), false),
            _ => {
                return Err(bad(
                    format!("/{key} must be an array of {key}"),
                    Some(format!("/{key}")),
                ));
            }
        },
        Value::Object(_) => (vec![&json], String::new(), true),
        _ => {
            return Err(bad(
                format!(
                    "the body must be {article} {noun}, an array of {key}, or {{\"{key}\": [...]}}",
                    article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "an"
                    } else {
                        "a"
                    }
                ),
                None,
            ));
        }
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let pointer = if single {
            String::new()
        } else {
            format!("{base}/{index}")
        };
        let value = parse(item, &pointer).map_err(|problem| {
            let description = item
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{noun} {d:?}: "))
                .unwrap_or_default();
            let field = if problem.pointer.is_empty() {
                "/".to_string()
            } else {
                problem.pointer.clone()
            };
            bad(
                format!("{description}{field} {}", problem.problem),
                Some(field),
            )
        })?;
        parsed.push(value);
    }
    Ok(parsed)
}

fn listing(engine: &Engine) -> Value {
    let report = engine.report();
    let interactions: Vec<Value> = engine
        .interactions()
        .iter()
        .zip(&report.interactions)
        .map(|(interaction, usage)| {
            json!({
                "description": usage.description,
                "providerStates": usage.provider_states,
                "request": usage.request,
                "requests": usage.requests,
                "interaction": pact_models::v4::interaction::V4Interaction::to_json(interaction),
            })
        })
        .collect();
    json!({
        "consumer": report.consumer,
        "provider": report.provider,
        "interactions": interactions,
        "unmatchedRequests": report.unmatched_requests,
    })
}

async fn list_interactions(State(state): State<AdminState>) -> Response {
    axum::Json(listing(&state.engine)).into_response()
}

async fn add_interactions(State(state): State<AdminState>, body: Bytes) -> Response {
    match parse_interactions(&body) {
        Ok(interactions) => {
            let added = interactions.len();
            state.engine.add(interactions);
            let total = state.engine.interactions().len();
            (
                StatusCode::CREATED,
                axum::Json(json!({"registered": added, "total": total})),
            )
                .into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn replace_interactions(State(state): State<AdminState>, body: Bytes) -> Response {
    match parse_interactions(&body) {
        Ok(interactions) => {
            let added = interactions.len();
            state.engine.reset();
            state.engine.add(interactions);
            axum::Json(json!({"registered": added, "total": added})).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn reset(State(state): State<AdminState>) -> Response {
    state.engine.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn verification(State(state): State<AdminState>) -> Response {
    let report = state.engine.report();
    let mut body = serde_json::to_value(&report).unwrap_or_default();
    body["ok"] = json!(report.is_ok());
    if report.is_ok() {
        axum::Json(body).into_response()
    } else {
        body["error"] = json!(report.to_string());
        (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteRequest {
    consumer: Option<String>,
    provider: Option<String>,
    specification: Option<String>,
}

async fn write(State(state): State<AdminState>, body: Bytes) -> Response {
    let json = match parse_json_body(&body) {
        Ok(json) => json,
        Err(err) => return err.into_response(),
    };
    let request: WriteRequest = if json.is_null() {
        WriteRequest::default()
    } else {
        match serde_json::from_value(json) {
            Ok(request) => request,
            Err(err) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid pact options: {err} (accepted: consumer, provider, specification)"
                    ),
                    None,
                );
            }
        }
    };
    let mut options = state.pact.clone();
    if let Some(spec) = &request.specification {
        match parse_specification(spec) {
            Some(spec) => options.specification = spec,
            None => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("/specification {spec:?} is not one of V2, V3, V4"),
                    Some("/specification".into()),
                );
            }
        }
    }
    let report = state.engine.report();
    if !report.is_ok() {
        let mut body = serde_json::to_value(&report).unwrap_or_default();
        body["ok"] = json!(false);
        body["error"] = json!(format!("the pact was not written: {report}"));
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    }
    let consumer = request
        .consumer
        .unwrap_or_else(|| state.engine.consumer().to_string());
    let provider = request
        .provider
        .unwrap_or_else(|| state.engine.provider().to_string());
    let mut interactions: Vec<BoxedInteraction> = state
        .engine
        .interactions()
        .iter()
        .map(V4Interaction::boxed_v4)
        .collect();
    {
        let messages = lock(&state.messages);
        let pending: Vec<String> = messages
            .iter()
            .filter(|registered| !registered.handled)
            .map(|registered| format!("{:?}", registered.message.description))
            .collect();
        if !pending.is_empty() {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "the pact was not written: message(s) {} were registered but never confirmed \
                     as handled (POST /__accord/messages/handled {{\"description\": …}} once the \
                     consumer's handler accepted the example)",
                    pending.join(", ")
                ),
                None,
            );
        }
        interactions.extend(
            messages
                .iter()
                .map(|registered| registered.message.boxed_v4()),
        );
    }
    let result = tokio::task::spawn_blocking(move || {
        write_interactions(&consumer, &provider, &interactions, &options)
    })
    .await;
    match result {
        Ok(Ok(path)) => axum::Json(json!({"path": path})).into_response(),
        Ok(Err(err @ Error::Conflict { .. })) => {
            json_error(StatusCode::CONFLICT, err.to_string(), None)
        }
        Ok(Err(err @ Error::MixedNeedsV4 { .. })) => json_error(
            StatusCode::BAD_REQUEST,
            err.to_string(),
            Some("/specification".into()),
        ),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "cannot write the pact file");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string(), None)
        }
        Err(err) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the pact writer failed: {err}"),
            None,
        ),
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn message_listing(registered: &RegisteredMessage) -> Value {
    let mut json = registered.example.to_json();
    json["providerStates"] = json!(registered.message.provider_states());
    json["handled"] = json!(registered.handled);
    json
}

async fn add_messages(State(state): State<AdminState>, body: Bytes) -> Response {
    let parsed = match parse_messages(&body) {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let mut registered = Vec::with_capacity(parsed.len());
    for message in parsed {
        let example = example_message(&message).await;
        registered.push(RegisteredMessage {
            message,
            example,
            handled: false,
        });
    }
    let examples: Vec<Value> = registered.iter().map(message_listing).collect();
    let mut messages = lock(&state.messages);
    for new in registered {
        // Registering the same description again replaces the expectation.
        messages.retain(|old| old.message.description != new.message.description);
        messages.push(new);
    }
    let total = messages.len();
    (
        StatusCode::CREATED,
        axum::Json(json!({"registered": examples.len(), "total": total, "messages": examples})),
    )
        .into_response()
}

async fn list_messages(State(state): State<AdminState>) -> Response {
    let messages = lock(&state.messages);
    let listing: Vec<Value> = messages.iter().map(message_listing).collect();
    axum::Json(json!({"messages": listing})).into_response()
}

async fn reset_messages(State(state): State<AdminState>) -> Response {
    lock(&state.messages).clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandledRequest {
    description: String,
}

async fn message_handled(State(state): State<AdminState>, body: Bytes) -> Response {
    let json = match parse_json_body(&body) {
        Ok(json) => json,
        Err(err) => return err.into_response(),
    };
    let request: HandledRequest = match serde_json::from_value(json) {
        Ok(request) => request,
        Err(err) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"description\": \"<the message's description>\"}}: {err}"),
                None,
            );
        }
    };
    let mut messages = lock(&state.messages);
    match messages
        .iter_mut()
        .find(|registered| registered.message.description == request.description)
    {
        Some(registered) => {
            registered.handled = true;
            axum::Json(message_listing(registered)).into_response()
        }
        None => json_error(
            StatusCode::NOT_FOUND,
            format!(
                "no message {:?} is registered (POST /__accord/messages first)",
                request.description
            ),
            Some("/description".into()),
        ),
    }
}

/// `V2`, `V3`, `V4` (any case, with or without the `V`, or as `3.0.0`).
pub fn parse_specification(text: &str) -> Option<pact_models::PactSpecification> {
    use pact_models::PactSpecification::{V2, V3, V4};
    let text = text.trim().trim_start_matches(['v', 'V']);
    match text.split('.').next()? {
        "2" => Some(V2),
        "3" => Some(V3),
        "4" => Some(V4),
        _ => None,
    }
}
