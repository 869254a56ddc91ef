//! Assembling and running the broker: state, routes and middleware.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::{ApiError, BrokerError};
use crate::metrics::Metrics;
use crate::routes;
use crate::store::{self, Store};
use crate::trace::{TRACEPARENT_HEADER, TraceParent};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The port the broker listens on, for links when a request has no `Host` header.
    pub port: u16,
    /// This broker's Prometheus registry (served at `/metrics`).
    pub metrics: Arc<Metrics>,
    /// The request rules of the HTTP edge (hosts, origins, proxies, CSRF key).
    pub edge: Arc<crate::edge::Edge>,
    /// Parsed provider contracts (OpenAPI documents), by content hash.
    pub specs: Arc<crate::provider_contracts::SpecCache>,
}

/// A broker bound to a listener, ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    /// The webhook dispatcher and delivery worker, started with the server.
    webhooks: crate::webhooks::Background,
    /// The retention schedule (idle unless an interval is configured).
    retention: crate::retention::Schedule,
    /// Connection limits, from [`Config::serve`].
    serve: accord_net::ServeOptions,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Application {
    /// Opens the database (applying migrations) and prepares the routes. The listener
    /// may be bound to port 0; [`Application::port`] reports the port it got.
    pub async fn build(config: Config, listener: TcpListener) -> Result<Application, BrokerError> {
        config.auth.validate()?;
        let address = listener.local_addr()?;
        let store = store::connect(&config.database_url).await?;
        crate::webhooks::secrets::prepare(store.as_ref(), config.webhooks.secrets_key.as_ref())
            .await?;
        let state = AppState {
            edge: Arc::new(crate::edge::Edge::new(&config, address)),
            store,
            config: Arc::new(config),
            port: address.port(),
            metrics: Arc::new(Metrics::new()),
            specs: Arc::default(),
        };
        let webhook_base = match &state.config.public_base_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", local_address(address)),
        };
        let webhooks = crate::webhooks::Background::new(
            state.store.clone(),
            state.config.webhooks.clone(),
            webhook_base,
        );
        let retention =
            crate::retention::Schedule::new(state.store.clone(), state.config.retention.clone());
        Ok(Application {
            listener,
            address,
            webhooks,
            retention,
            serve: state.config.serve,
            router: router(state),
        })
    }

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the broker listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://IP:PORT`, with an unspecified bind address (0.0.0.0) shown as 127.0.0.1.
    pub fn base_url(&self) -> String {
        format!("http://{}", local_address(self.address))
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> Result<(), BrokerError> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BrokerError> {
        tracing::info!(address = %self.address, "broker serving");
        let webhooks = self.webhooks.start();
        let retention = self.retention.start();
        // The serving loop inserts `ConnectInfo<SocketAddr>` (the TCP peer) into each
        // request's extensions: the edge trusts forwarded headers by peer address.
        let served = accord_net::serve(self.listener, self.router, self.serve, shutdown).await;
        webhooks.stop().await;
        retention.stop().await;
        served?;
        tracing::info!("broker stopped");
        Ok(())
    }
}

/// `address` with an unspecified IP (0.0.0.0) shown as 127.0.0.1.
fn local_address(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

/// Headers the Pact Broker puts on every response.
async fn broker_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-pact-broker-version"),
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// Continues the caller's W3C trace, or starts one: the request carries the
/// broker's own `traceparent` (a child of the caller's) from here on, so the span
/// records its trace id and the outbox stores it for the webhook calls a write
/// causes; the response echoes it.
async fn continue_trace(mut request: Request, next: Next) -> Response {
    let incoming = TraceParent::from_header(
        request
            .headers()
            .get(TRACEPARENT_HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let ours = incoming.map_or_else(TraceParent::fresh, |parent| parent.child());
    let Ok(value) = HeaderValue::from_str(&ours.to_string()) else {
        return next.run(request).await;
    };
    let name = HeaderName::from_static(TRACEPARENT_HEADER);
    request.headers_mut().insert(name.clone(), value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(name, value);
    response
}

async fn not_found(request: Request) -> Response {
    ApiError::not_found(format!("No resource at {}", request.uri().path())).into_response()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a request handler panicked".into()).into_response()
}

/// The whole application: routes, then middleware from the inside out.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout;
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let trace_id = TraceParent::from_header(
            request
                .headers()
                .get(TRACEPARENT_HEADER)
                .and_then(|v| v.to_str().ok()),
        )
        .map(|t| t.trace_id())
        .unwrap_or_default();
        // Only method, path, request id and trace id: headers (and so credentials) are
        // never logged.
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id, trace_id)
    });
    let metrics_state = state.clone();
    routes::router()
        .merge(crate::ui::router())
        .merge(crate::metrics::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_auth,
        ))
        // Before credentials are looked at: hosts, origins, media types, proxies.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::edge::guard,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
        .layer(middleware::from_fn(broker_headers))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(middleware::from_fn(continue_trace))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(crate::edge::security_headers))
        // Outermost, so time-outs and panics are counted too.
        .layer(middleware::from_fn_with_state(
            metrics_state,
            crate::metrics::track,
        ))
}
