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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use tokio::sync::OwnedSemaphorePermit;
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

/// What a connection is doing, as its timers need to know. Kept in atomics and read by
/// the timer only when it fires: the request path never wakes the connection's task or
/// touches the timer wheel (doing so three times a request cost the mock a tenth of its
/// throughput). The price is precision: a request head that begins after an idle spell is
/// noticed at the next check, so it is cut between one and two header-read timeouts after
/// its first byte; a new connection's first head is cut on time.
struct Activity {
    /// Where the times below count from.
    opened: Instant,
    /// Requests handed to the service whose response body is not finished.
    in_flight: AtomicUsize,
    /// When the request head now awaited began (nanoseconds after `opened`): its first
    /// byte, or the connection's opening for the first request. [`NONE`] while idle
    /// between requests or while requests are in flight.
    head_since: AtomicU64,
    /// When the last request in flight ended (nanoseconds after `opened`).
    idle_since: AtomicU64,
}

/// No request head is awaited.
const NONE: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_since: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(NONE - 1)
    }

    fn at(&self, nanos: u64) -> Instant {
        self.opened + Duration::from_nanos(nanos)
    }

    /// Bytes arrived: with nothing in flight, they begin a request head.
    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Acquire) == NONE
        {
            let _ = self.head_since.compare_exchange(
                NONE,
                self.now(),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// A complete request head reached the service; the guard ends the request when the
    /// response body is finished (or dropped).
    fn request_started(activity: &Arc<Self>) -> RequestGuard {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(NONE, Ordering::Release);
        RequestGuard(activity.clone())
    }

    /// When the connection expires as things stand, or `None` while a request is in flight.
    fn deadline(&self, options: ServeOptions) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some((
                self.at(self.idle_since.load(Ordering::Acquire)) + options.idle_timeout,
                Expired::Idle,
            )),
            since => Some((
                self.at(since) + options.header_read_timeout,
                Expired::HeaderRead,
            )),
        }
    }

    /// Resolves when a timer runs out with no request in flight. Once the connection has been
    /// asked to close (`closing_since`), each deadline is at least [`CLOSE_GRACE`] after that.
    async fn expired(&self, options: ServeOptions, closing_since: Option<Instant>) -> Expired {
        // While nothing is known to expire sooner, look again every header-read timeout:
        // that is how soon a head that began meanwhile can be overdue.
        let recheck = options.header_read_timeout.min(options.idle_timeout);
        let next = |now: Instant| -> Result<Instant, Expired> {
            let Some((at, expired)) = self.deadline(options) else {
                return Ok(now + recheck);
            };
            let at = match closing_since {
                Some(closing) => at.max(closing + CLOSE_GRACE),
                None => at,
            };
            if at <= now {
                return Err(expired);
            }
            Ok(at.min(now + recheck))
        };
        let first = match next(Instant::now()) {
            Ok(at) => at,
            Err(expired) => return expired,
        };
        let sleep = tokio::time::sleep_until(first);
        tokio::pin!(sleep);
        loop {
            sleep.as_mut().await;
            match next(Instant::now()) {
                Ok(at) => sleep.as_mut().reset(at),
                Err(expired) => return expired,
            }
        }
    }
}

/// One request in flight, until dropped.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        // The idle time is stamped before the count falls, so the timer never sees an idle
        // connection with an old idle time (it is read only while nothing is in flight).
        activity.idle_since.store(activity.now(), Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
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
