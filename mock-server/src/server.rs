//! Serving the engine over HTTP, and the in-process [`MockServer`] handle for consumer tests.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::HeaderName;
use http::header::CONTENT_TYPE;
use pact_models::v4::synch_http::SynchronousHttp;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

use crate::engine::{ActualRequest, Engine, Outcome, Selection};
use crate::error::Error;
use crate::pact_file::{PactFileOptions, write_pact};
use crate::report::VerificationReport;

/// The largest request body the mock accepts, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Answers a request from the engine: the interaction's response, or a 500 listing mismatches.
pub(crate) async fn serve_request(
    engine: &Engine,
    state_header: Option<&HeaderName>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(err) => {
            return crate::admin::json_error(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body: {err}"),
                None,
            );
        }
    };
    let actual = ActualRequest::from_parts(&parts, body, state_header);
    match engine.handle(&actual).await {
        Outcome::Matched(response) => {
            let mut out = Response::new(Body::from(response.body));
            *out.status_mut() = response.status;
            *out.headers_mut() = response.headers;
            out
        }
        Outcome::Unmatched(problem) => {
            let mut out = (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                problem.to_json().to_string(),
            )
                .into_response();
            out.headers_mut().insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            out
        }
    }
}

async fn mock_handler(State(engine): State<Arc<Engine>>, request: Request) -> Response {
    serve_request(&engine, None, request).await
}

/// Binds `addr` (port 0 picks a free port) without blocking, ready for tokio.
pub(crate) fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    let listener = StdTcpListener::bind(addr)
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .map_err(|source| Error::Bind { addr, source })?;
    tokio::net::TcpListener::from_std(listener).map_err(|source| Error::Bind { addr, source })
}

/// A running server: its address, and how to stop it.
pub(crate) struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Serves `app` on `listener` with the connection limits of `options`.
    pub(crate) fn spawn(
        listener: tokio::net::TcpListener,
        app: Router,
        options: accord_net::ServeOptions,
    ) -> Result<Self, Error> {
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            source,
        })?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            accord_net::serve(listener, app, options, async move {
                let _ = signal.await;
            })
            .await
        });
        Ok(Running {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Stops accepting connections and waits for the server task to end.
    pub(crate) async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            // Idle keep-alive connections end at once on graceful shutdown; a client that holds
            // a request open would keep the task alive, so it is not waited for forever.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }

    /// Waits until the server stops (on its own or after [`Running::stop`]).
    pub(crate) async fn wait(&mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task
                .await
                .unwrap_or_else(|err| Err(std::io::Error::other(err))),
            None => Ok(()),
        }
    }

    pub(crate) fn signal_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// A mock provider running inside a test, on a free port of 127.0.0.1.
///
/// Point the client under test at [`MockServer::url`], exercise it, then call
/// [`MockServer::finish`]: it fails with a readable report if an interaction was never requested
/// or a request matched no interaction, and otherwise writes (merges) the pact file.
///
/// Dropping the server without calling `finish` does the same check and panics with the report
/// when it fails (unless the test is already panicking), and writes the pact when it passes.
pub struct MockServer {
    engine: Arc<Engine>,
    running: Running,
    url: String,
    output: PactFileOptions,
    finished: bool,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url)
            .field("consumer", &self.engine.consumer())
            .field("provider", &self.engine.provider())
            .finish()
    }
}

impl MockServer {
    pub(crate) async fn start(
        consumer: String,
        provider: String,
        interactions: Vec<SynchronousHttp>,
        output: PactFileOptions,
    ) -> Result<Self, Error> {
        let engine = Arc::new(Engine::new(
            consumer,
            provider,
            interactions,
            Selection::PreferUnused,
        ));
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let app = Router::new()
            .fallback(mock_handler)
            .with_state(engine.clone())
            .layer(CatchPanicLayer::custom(crate::admin::panic_response));
        let running = Running::spawn(listener, app, accord_net::ServeOptions::default())?;
        let url = format!("http://{}", running.addr);
        engine.set_base_url(url.clone());
        tracing::debug!(%url, "mock provider started");
        Ok(MockServer {
            engine,
            running,
            url,
            output,
            finished: false,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The base URL joined with `path`, e.g. `mock.url_for("/orders/1")`.
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// What the mock provider saw so far.
    pub fn report(&self) -> VerificationReport {
        self.engine.report()
    }

    /// Checks that every interaction was requested and every request matched; does not stop
    /// the server or write the pact.
    pub fn verify(&self) -> Result<(), Error> {
        let report = self.engine.report();
        if report.is_ok() {
            Ok(())
        } else {
            Err(Error::Verification(Box::new(report)))
        }
    }

    /// Stops the server, verifies what it saw, and on success writes the pact file and returns
    /// its path.
    pub async fn finish(mut self) -> Result<PathBuf, Error> {
        self.finished = true;
        self.running.stop().await;
        self.verify()?;
        let engine = self.engine.clone();
        let output = self.output.clone();
        tokio::task::spawn_blocking(move || {
            write_pact(
                engine.consumer(),
                engine.provider(),
                &engine.interactions(),
                &output,
            )
        })
        .await
        .map_err(|err| Error::PactIo {
            path: self.output.dir.clone(),
            source: std::io::Error::other(err),
        })?
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.running.signal_stop();
        if self.finished || std::thread::panicking() {
            return;
        }
        if let Err(err) = self.verify().and_then(|()| {
            write_pact(
                self.engine.consumer(),
                self.engine.provider(),
                &self.engine.interactions(),
                &self.output,
            )
            .map(drop)
        }) {
            panic!("{err}");
        }
    }
}
