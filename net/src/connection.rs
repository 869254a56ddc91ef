//! One connection: the service that counts its requests, the reader that notices a request
//! head beginning, and the timers that close it.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::ServeOptions;

/// How long a connection asked to close gracefully (an HTTP/2 `GOAWAY` waits for the client's
/// acknowledgement) may take before it is dropped, once nothing is in flight.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves one connection until it ends, is closed by a timer, or the server stops. The permit
/// is the connection's slot under the server's cap, given back when this returns.
pub(crate) async fn serve(
    stream: TcpStream,
    app: Router,
    options: ServeOptions,
    builder: Arc<Builder<TokioExecutor>>,
    stop: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    // Each request carries its TCP peer as axum's `ConnectInfo`, as
    // `into_make_service_with_connect_info` would: the broker trusts forwarded headers by
    // the peer's address.
    let peer = stream.peer_addr().ok();
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
        opening: Vec::with_capacity(HTTP2_PREFIX.len()),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let guard = Activity::request_started(&activity);
            let app = app.clone();
            if let Some(peer) = peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            async move {
                let response = app.oneshot(request.map(Body::new)).await?;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _guard: guard,
                }))
            }
        })
    };
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    // When the connection was asked to close: from then on a deadline that passes drops it.
    let mut closing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            expired = activity.expired(options, closing_since) => {
                if closing_since.is_some() {
                    tracing::debug!(?expired, "dropping a connection that did not close in time");
                    return;
                }
                tracing::debug!(?expired, "closing a connection");
                connection.as_mut().graceful_shutdown();
                closing_since = Some(Instant::now());
            }
            () = stop.cancelled(), if closing_since.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing_since = Some(Instant::now());
            }
        }
    }
}

/// Which timer closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// A request head began (or the connection opened) and was not complete in time.
    HeaderRead,
    /// No request was in flight or begun for the idle timeout.
    Idle,
}

/// What a connection is doing, as its timers need to know.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Requests handed to the service whose response body is not finished.
    in_flight: usize,
    /// When the request head now awaited began: its first byte, or the connection's opening
    /// for the first request. `None` while idle between requests or while requests are in
    /// flight.
    head_since: Option<Instant>,
    /// When the last request in flight ended (or the connection opened).
    idle_since: Instant,
}

struct Activity {
    state: watch::Sender<State>,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            state: watch::Sender::new(State {
                in_flight: 0,
                head_since: Some(now),
                idle_since: now,
            }),
        }
    }

    /// Bytes arrived: with nothing in flight, they begin a request head.
    fn bytes_read(&self) {
        let begins_head = {
            let state = self.state.borrow();
            state.in_flight == 0 && state.head_since.is_none()
        };
        if begins_head {
            self.state.send_modify(|state| {
                state.head_since.get_or_insert_with(Instant::now);
            });
        }
    }

    /// A complete request head reached the service; the guard ends the request when the
    /// response body is finished (or dropped).
    fn request_started(activity: &Arc<Self>) -> RequestGuard {
        activity.state.send_modify(|state| {
            state.in_flight += 1;
            state.head_since = None;
        });
        RequestGuard(activity.clone())
    }

    /// Resolves when a timer runs out with no request in flight. Once the connection has been
    /// asked to close (`closing_since`), each deadline is at least [`CLOSE_GRACE`] after that.
    async fn expired(&self, options: ServeOptions, closing_since: Option<Instant>) -> Expired {
        let mut changes = self.state.subscribe();
        loop {
            let state = *changes.borrow_and_update();
            let deadline = if state.in_flight > 0 {
                None
            } else if let Some(since) = state.head_since {
                Some((since + options.header_read_timeout, Expired::HeaderRead))
            } else {
                Some((state.idle_since + options.idle_timeout, Expired::Idle))
            };
            let deadline = deadline.map(|(at, expired)| match closing_since {
                Some(closing) => (at.max(closing + CLOSE_GRACE), expired),
                None => (at, expired),
            });
            match deadline {
                // The sender lives as long as `self`, so `changed` cannot fail here.
                None => drop(changes.changed().await),
                Some((at, expired)) => tokio::select! {
                    () = tokio::time::sleep_until(at) => return expired,
                    _ = changes.changed() => {}
                },
            }
        }
    }
}

/// One request in flight, until dropped.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.state.send_modify(|state| {
            state.in_flight -= 1;
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        });
    }
}

/// A response body that keeps its request counted as in flight until it is finished.
struct Tracked {
    body: Body,
    _guard: RequestGuard,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// How an HTTP/2 connection opens (its preface is `PRI * HTTP/2.0`); no HTTP/1 method is `PRI`.
const HTTP2_PREFIX: &[u8] = b"PRI";

/// The TCP stream, telling the connection's [`Activity`] when the bytes of a request head
/// arrive.
///
/// On HTTP/1.1, bytes arriving with nothing in flight can only be the next request. On HTTP/2
/// they may be pings, window updates or settings, so there only the first request is bound by
/// the header-read timeout (counted from the connection's opening) and the idle timeout
/// covers the rest.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// The connection's first bytes, until they tell HTTP/2 from HTTP/1.
    opening: Vec<u8>,
}

impl Watched {
    fn is_http2(&self) -> bool {
        self.opening.as_slice() == HTTP2_PREFIX
    }

    fn arrived(&mut self, bytes: &[u8]) {
        if self.opening.len() < HTTP2_PREFIX.len() {
            let wanted = HTTP2_PREFIX.len() - self.opening.len();
            self.opening
                .extend_from_slice(&bytes[..wanted.min(bytes.len())]);
        }
        if !self.is_http2() {
            self.activity.bytes_read();
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.arrived(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
