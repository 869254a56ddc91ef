//! The network edge Accord's servers share: the broker, the mock, stub and record servers and
//! the monitor's metrics endpoint all accept connections through [`serve`].
//!
//! `axum::serve` keeps a connection for as long as the client likes: one that sends its request
//! head a byte at a time, or nothing at all, holds a file descriptor forever, and a few hundred
//! of them starve everyone else. [`serve`] speaks the same protocols (HTTP/1.1 with keep-alive,
//! and HTTP/2 over cleartext with prior knowledge) and adds three limits, set by
//! [`ServeOptions`]:
//!
//! - **header-read timeout**: a request head (request line and headers) must arrive in full
//!   within this time of its first byte, and a new connection must deliver its first request
//!   head within this time of being accepted. Otherwise the connection is closed.
//! - **idle timeout**: a connection with no request in flight and no new request begun is
//!   closed after this time (gracefully: an HTTP/2 client gets a `GOAWAY`).
//! - **maximum connections**: at most this many connections are served at once. When the cap is
//!   reached, no further connection is accepted until one closes: new clients wait in the
//!   operating system's listen backlog instead of being refused, so a burst is served late
//!   rather than failed, and the waiting costs the server no file descriptor. Together with the
//!   header-read timeout this bounds how long a crowd of slow clients can hold every slot.
//!
//! The timers are Accord's own rather than hyper's `header_read_timeout`: hyper starts that
//! timer as soon as a keep-alive connection falls idle, so the wait for the *next* request
//! would be cut to the header-read timeout, shorter than the idle timeout of the proxies usually
//! put in front (60 s and more), which then reuse a connection the server has just closed. Here,
//! as in Go's `http.Server`, the header-read timer starts with the first byte of a request and
//! the idle timer covers the wait between requests.
//!
//! Shutdown finishes what is in flight: when the `shutdown` future completes the listener is
//! closed, idle connections are closed at once, connections with requests in flight are asked to
//! close once those are answered, and [`serve`] returns when the last connection has ended.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use accord_net::{ServeOptions, serve};
//! use axum::{Router, routing::get};
//!
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, app, ServeOptions::default(), std::future::pending()).await
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

mod connection;
#[cfg(feature = "test-util")]
pub mod test_util;

/// The limits [`serve`] puts on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a client has to send a whole request head, counted from its first byte (or,
    /// for a connection's first request, from the connection being accepted).
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in flight before it is closed.
    pub idle_timeout: Duration,
    /// How many connections are served at once; further ones wait in the listen backlog.
    /// Zero is taken as one.
    pub max_connections: usize,
}

impl ServeOptions {
    /// 10 s: a real client sends its request head in one or two packets, so ten seconds
    /// leaves room for a slow mobile link while a client that trickles bytes loses its slot
    /// soon (hyper's own default is 30 s; Go services commonly set 5–10 s).
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// 60 s: at least as long as the idle timeout of the load balancers and proxies usually put
    /// in front (AWS ALB 60 s, nginx upstream keep-alive 60 s), so that the proxy, not the
    /// server, is the side that closes an idle pooled connection.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// 1024: far above what one Accord server needs (CI jobs, a few consumer test suites
    /// at once), and low enough to stay inside the open-file limit of most hosts (raise
    /// `ulimit -n` above the cap when raising the cap: each connection is one descriptor).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in flight
/// and returns once every connection has ended. See the crate documentation for the limits.
///
/// Errors accepting one connection (the client gave up, the process ran out of file
/// descriptors) are logged and do not stop the server; the result is an error only when the
/// listener itself fails.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = u32::try_from(options.max_connections.max(1)).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(slots as usize));
    let stop = CancellationToken::new();
    let builder = Arc::new(builder());
    tokio::pin!(shutdown);
    loop {
        // The permit is taken before accepting: at the cap, new connections stay in the
        // kernel's backlog and hold no file descriptor of ours.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection::serve(
            stream,
            app.clone(),
            options,
            builder.clone(),
            stop.child_token(),
            permit,
        ));
    }
    drop(listener);
    stop.cancel();
    // Every connection holds a permit until it ends: having them all back means none is left.
    let _all = permits
        .acquire_many(slots)
        .await
        .expect("the semaphore is never closed");
    Ok(())
}

/// HTTP/1.1 (keep-alive on) and HTTP/2 with prior knowledge, as `axum::serve` offers. Hyper's
/// own header-read timer stays off: [`connection`] keeps the time instead (see the crate
/// documentation for why).
fn builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .header_read_timeout(None::<Duration>);
    builder
}

/// Errors of `accept` that concern one connection are skipped; others (out of file
/// descriptors, say) are logged and retried after a pause so the loop does not spin.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "cannot accept a connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
