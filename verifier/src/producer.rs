//! Message producers: how the verifier obtains the message a provider produces.
//!
//! The convention is the official Pact verifiers': for each message interaction the verifier
//! POSTs `{"description": …, "providerStates": [{"name", "params"}]}` to the provider's message
//! endpoint; the provider answers with the message contents as the body, their content type as
//! `Content-Type`, and the metadata as a base64-encoded JSON object in `Pact-Message-Metadata`.
//!
//! A provider written in Rust can skip the endpoint: [`MessageProducers`] maps each description
//! to a function producing the message, and [`crate::Verifier::with_producers`] serves them on
//! a loopback port for the duration of the run.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The header carrying a produced message's metadata (base64 of a JSON object).
pub const METADATA_HEADER: &str = "Pact-Message-Metadata";

/// A provider state as the verifier passes it to a producer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProducerState {
    /// The state's name.
    pub name: String,
    /// Its parameters (an empty object when none).
    #[serde(default)]
    pub params: Map<String, Value>,
}

/// A message a producer made: contents, content type and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducedMessage {
    /// The payload bytes.
    pub contents: Vec<u8>,
    /// The payload's content type.
    pub content_type: String,
    /// Metadata: headers, a Kafka topic and key, CloudEvents attributes in binary mode.
    pub metadata: Map<String, Value>,
}

impl ProducedMessage {
    /// A JSON payload (`application/json`).
    pub fn json(contents: &Value) -> Self {
        Self::with_type(contents.to_string().into_bytes(), "application/json")
    }

    /// A text payload (`text/plain`).
    pub fn text(contents: impl Into<String>) -> Self {
        Self::with_type(contents.into().into_bytes(), "text/plain")
    }

    /// A payload of any content type (Avro, Protobuf, a structured CloudEvent, …).
    pub fn with_type(contents: Vec<u8>, content_type: impl Into<String>) -> Self {
        ProducedMessage {
            contents,
            content_type: content_type.into(),
            metadata: Map::new(),
        }
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// The HTTP answer the message endpoint convention expects.
    pub fn into_response(self) -> Response {
        let mut metadata = self.metadata;
        metadata
            .entry("contentType")
            .or_insert_with(|| json!(self.content_type));
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(Value::Object(metadata).to_string());
        let mut response = (StatusCode::OK, self.contents).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            headers.insert(METADATA_HEADER, value);
        }
        response
    }
}

type Producer = dyn Fn(&[ProducerState]) -> Result<ProducedMessage, String> + Send + Sync;

/// Producer functions by message description.
#[derive(Clone, Default)]
pub struct MessageProducers {
    producers: HashMap<String, Arc<Producer>>,
}

impl fmt::Debug for MessageProducers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.producers.keys().collect();
        names.sort();
        f.debug_struct("MessageProducers")
            .field("descriptions", &names)
            .finish()
    }
}

impl MessageProducers {
    /// No producers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the function that produces the message `description` (given the interaction's
    /// provider states); an `Err` fails that interaction with its text.
    pub fn producer(
        mut self,
        description: impl Into<String>,
        produce: impl Fn(&[ProducerState]) -> Result<ProducedMessage, String> + Send + Sync + 'static,
    ) -> Self {
        self.producers.insert(description.into(), Arc::new(produce));
        self
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Answers one request of the endpoint convention (its JSON body): the produced message,
    /// or a 404 naming the unknown description, or a 500 with the producer's error.
    pub fn respond(&self, body: &[u8]) -> Response {
        self.produce(body)
            .unwrap_or_else(|(status, message)| error(status, message))
    }

    fn produce(&self, body: &[u8]) -> Result<Response, (StatusCode, String)> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Request {
            description: String,
            #[serde(default)]
            provider_states: Vec<ProducerState>,
        }
        let request: Request = serde_json::from_slice(body).map_err(|err| {
            (
                StatusCode::BAD_REQUEST,
                format!("expected {{\"description\", \"providerStates\"}}: {err}"),
            )
        })?;
        let Some(produce) = self.producers.get(&request.description) else {
            let mut known: Vec<&String> = self.producers.keys().collect();
            known.sort();
            return Err((
                StatusCode::NOT_FOUND,
                format!(
                    "no producer for message {:?} (registered: {known:?})",
                    request.description
                ),
            ));
        };
        match produce(&request.provider_states) {
            Ok(message) => Ok(message.into_response()),
            Err(message) => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the producer of {:?} failed: {message}",
                    request.description
                ),
            )),
        }
    }

    /// The description a request body names, if it names one.
    fn description(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<Value>(body)
            .ok()?
            .get("description")?
            .as_str()
            .map(str::to_string)
    }

    /// An axum router serving the endpoint at `/` (what [`crate::Verifier::with_producers`]
    /// starts; a Rust provider can also mount it at its own message path).
    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/",
                axum::routing::post(
                    |State(producers): State<Arc<MessageProducers>>, body: Bytes| async move {
                        producers.respond(&body)
                    },
                ),
            )
            .with_state(Arc::new(self))
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// What the in-process producers failed to produce in a run, by message description: the
/// report shows these errors instead of comparing the error answer with the expected message
/// (pact_verifier compares a message endpoint's answer whatever its status).
pub(crate) type ProducerFailures = Arc<std::sync::Mutex<HashMap<String, String>>>;

/// The in-process endpoint for one verification run; stops when dropped.
pub(crate) struct ProducerServer {
    pub(crate) url: url::Url,
    pub(crate) failures: ProducerFailures,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ProducerServer {
    pub(crate) async fn start(producers: MessageProducers) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let failures = ProducerFailures::default();
        let state = (Arc::new(producers), failures.clone());
        let app = Router::new()
            .route(
                "/",
                axum::routing::post(
                    |State((producers, failures)): State<(
                        Arc<MessageProducers>,
                        ProducerFailures,
                    )>,
                     body: Bytes| async move {
                        match producers.produce(&body) {
                            Ok(response) => response,
                            Err((status, message)) => {
                                if let Some(description) = MessageProducers::description(&body)
                                    && let Ok(mut failures) = failures.lock()
                                {
                                    failures.insert(description, message.clone());
                                }
                                error(status, message)
                            }
                        }
                    },
                ),
            )
            .with_state(state);
        tokio::spawn(accord_net::serve(
            listener,
            app,
            accord_net::ServeOptions::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let url = url::Url::parse(&format!("http://{addr}/"))
            .map_err(|err| std::io::Error::other(err.to_string()))?;
        Ok(ProducerServer {
            url,
            failures,
            stop: Some(stop),
        })
    }
}

impl Drop for ProducerServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
