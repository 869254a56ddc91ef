//! `accord stub`: serves pact files as a stub provider.
//!
//! Every HTTP interaction of the given pacts (files or URLs) is loaded into the engine; a request
//! is answered with the response of the first interaction it matches, generators applied. When
//! several interactions match (the same request in different provider states), a request header
//! (`X-Accord-State` unless configured otherwise) names the provider state to answer from.
//! Nothing is verified and nothing is written: a stub only answers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::HeaderName;
use pact_models::v4::synch_http::SynchronousHttp;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::admin::panic_response;
use crate::browser::{AllowedOrigins, guard_admin};
use crate::engine::{Engine, Selection};
use crate::error::Error;
use crate::server::{Running, bind, serve_request};

/// The default header naming the provider state to answer from.
pub const DEFAULT_STATE_HEADER: &str = "X-Accord-State";

/// Settings of a stub provider.
#[derive(Debug, Clone)]
pub struct StubConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Pact files (paths) or `http(s)://` URLs.
    pub pacts: Vec<String>,
    /// The request header naming a provider state (e.g. [`DEFAULT_STATE_HEADER`]).
    pub state_header: String,
    /// Answer CORS preflight requests and add CORS headers.
    pub cors: bool,
    /// Web origins allowed to read the stub's answers across origins (loopback origins always
    /// are); see [`crate::browser`].
    pub allowed_origins: AllowedOrigins,
    /// Connection limits: header-read and idle timeouts, and how many connections at once.
    pub serve: accord_net::ServeOptions,
}

/// A loaded pact's interactions, and where they came from.
pub struct LoadedPact {
    /// The file or URL.
    pub origin: String,
    /// The consumer's name.
    pub consumer: String,
    /// The provider's name.
    pub provider: String,
    /// Its HTTP interactions.
    pub interactions: Vec<SynchronousHttp>,
}

/// Loads a pact from a file or an `http(s)://` URL.
pub async fn load_pact(source: &str) -> Result<LoadedPact, Error> {
    let contract = if source.starts_with("http://") || source.starts_with("https://") {
        let response = reqwest::Client::new()
            .get(source)
            .header(
                http::header::ACCEPT,
                "application/hal+json, application/json",
            )
            .send()
            .await
            .map_err(|source_err| Error::Fetch {
                url: source.to_string(),
                source: source_err,
            })?;
        if !response.status().is_success() {
            return Err(Error::FetchStatus {
                url: source.to_string(),
                status: response.status(),
            });
        }
        let text = response.text().await.map_err(|source_err| Error::Fetch {
            url: source.to_string(),
            source: source_err,
        })?;
        accord_contract::Contract::from_json_text(&text, source)?
    } else {
        let path = source.to_string();
        tokio::task::spawn_blocking(move || accord_contract::Contract::from_file(&path))
            .await
            .map_err(|err| Error::PactIo {
                path: source.into(),
                source: std::io::Error::other(err),
            })??
    };
    // Messages have nothing to serve over HTTP: a pact mixing both serves its HTTP part; a
    // pact of messages alone is an error, since the stub would answer nothing.
    let mut interactions = Vec::new();
    let mut messages = Vec::new();
    for interaction in contract.pact().interactions() {
        match interaction.as_v4_http() {
            Some(http) => interactions.push(http),
            None => messages.push(interaction.description()),
        }
    }
    if interactions.is_empty()
        && let Some(description) = messages.first()
    {
        return Err(Error::NotHttp {
            origin: source.to_string(),
            description: description.clone(),
        });
    }
    if !messages.is_empty() {
        tracing::info!(pact = %source, skipped = messages.len(), "messages are not served by the stub");
    }
    Ok(LoadedPact {
        origin: source.to_string(),
        consumer: contract.consumer().to_string(),
        provider: contract.provider().to_string(),
        interactions,
    })
}

/// A running stub provider.
pub struct StubApplication {
    running: Running,
    interactions: usize,
}

#[derive(Clone)]
struct StubState {
    engine: Arc<Engine>,
    state_header: HeaderName,
}

impl StubApplication {
    /// Loads every pact (failing on the first that cannot be loaded), binds, and serves.
    pub async fn build(config: StubConfig) -> Result<Self, Error> {
        let mut pacts = Vec::with_capacity(config.pacts.len());
        for source in &config.pacts {
            pacts.push(load_pact(source).await?);
        }
        Self::from_pacts(config, pacts)
    }

    /// Serves already loaded pacts.
    pub fn from_pacts(config: StubConfig, pacts: Vec<LoadedPact>) -> Result<Self, Error> {
        let state_header =
            HeaderName::from_bytes(config.state_header.trim().as_bytes()).map_err(|source| {
                Error::StateHeader {
                    name: config.state_header.clone(),
                    source,
                }
            })?;
        let consumers: Vec<&str> = pacts.iter().map(|p| p.consumer.as_str()).collect();
        let providers: Vec<&str> = pacts.iter().map(|p| p.provider.as_str()).collect();
        let engine = Arc::new(Engine::new(
            consumers.join(", "),
            providers.join(", "),
            pacts
                .iter()
                .flat_map(|p| p.interactions.iter().cloned())
                .collect(),
            Selection::ByState,
        ));
        let listener = bind(config.addr)?;
        let interactions = engine.interactions().len();
        let state = StubState {
            engine: engine.clone(),
            state_header,
        };
        let mut app = Router::new()
            .route("/__accord/health", get(health))
            .route("/__accord/interactions", get(list))
            .fallback(stub)
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
        Ok(StubApplication {
            running,
            interactions,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// How many interactions are served.
    pub fn interaction_count(&self) -> usize {
        self.interactions
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

async fn stub(State(state): State<StubState>, request: Request) -> Response {
    serve_request(&state.engine, Some(&state.state_header), request).await
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn list(State(state): State<StubState>) -> Response {
    let report = state.engine.report();
    axum::Json(json!({
        "interactions": report.interactions,
        "unmatchedRequests": report.unmatched_requests,
    }))
    .into_response()
}
