//! Slow clients over raw TCP, for the tests of every server that uses [`crate::serve`]: each
//! scenario panics with a readable message when the server does not hold its limits.
//!
//! Counts stay modest (a few hundred connections) so the tests fit a default open-file limit.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// A bound for things that should happen at once, generous enough for a loaded CI machine.
pub const PROMPTLY: Duration = Duration::from_secs(5);

/// Opens `count` connections: even ones send nothing at all, odd ones the start of a request
/// head that never ends.
pub async fn hold_slow_connections(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for index in 0..count {
        let mut stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|err| panic!("slow connection {index} cannot connect: {err}"));
        if index % 2 == 1 {
            // A failed write means the server already closed it, which the caller will see.
            let _ = stream
                .write_all(b"GET /never HTTP/1.1\r\nHost: slow.test\r\n")
                .await;
        }
        held.push(stream);
    }
    held
}

/// Whether the server closes `stream` within `bound` (anything it sends first, such as a 408,
/// is read and ignored).
pub async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends a request head one byte every `every`, never finishing it, until the server closes the
/// connection; the time it took, or `None` if it was still open after `bound`.
pub async fn trickle_until_closed(
    addr: SocketAddr,
    every: Duration,
    bound: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = b"GET /slowly HTTP/1.1\r\nHost: slow.test\r\nX-Padding: ";
    let mut bytes = head.iter().chain(std::iter::repeat(&b'a'));
    let mut buf = [0u8; 1024];
    while started.elapsed() < bound {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(started.elapsed()),
                Ok(_) => {}
            },
            () = tokio::time::sleep(every) => {
                let byte = *bytes.next().expect("endless");
                if stream.write_all(&[byte]).await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

/// Sends `GET path` on `stream` (keeping the connection alive) and reads the answer; returns
/// the status code and the body.
pub async fn get(stream: &mut TcpStream, path: &str) -> (u16, String) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    read_response(stream).await
}

/// Connects and answers `GET path` within [`PROMPTLY`], panicking otherwise.
pub async fn get_promptly(addr: SocketAddr, path: &str) -> (u16, String) {
    timeout(PROMPTLY, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        get(&mut stream, path).await
    })
    .await
    .unwrap_or_else(|_| panic!("GET {path} was not answered within {PROMPTLY:?}"))
}

/// Reads one response with a `Content-Length` body.
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut buf).await.expect("read the response");
        assert!(n > 0, "the server closed the connection before answering");
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.expect("read the body");
        assert!(n > 0, "the server closed the connection in the body");
        data.extend_from_slice(&buf[..n]);
    }
    (
        status,
        String::from_utf8_lossy(&data[head_end..head_end + length]).to_string(),
    )
}

/// With `count` slow connections held open, `GET path` still answers 200 at once, and every
/// slow connection is closed by the header-read timeout (the server must be configured with
/// `header_read_timeout`, short, and `max_connections` above `count`).
pub async fn slow_clients_are_shed(
    addr: SocketAddr,
    path: &str,
    count: usize,
    header_read_timeout: Duration,
) {
    let mut held = hold_slow_connections(addr, count).await;
    let (status, body) = get_promptly(addr, path).await;
    assert_eq!(status, 200, "GET {path} with slow clients held: {body}");
    let bound = header_read_timeout + PROMPTLY;
    for (index, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_within(stream, bound).await,
            "slow connection {index} of {count} was still open {bound:?} after it was opened (header-read timeout {header_read_timeout:?})"
        );
    }
    let trickled = trickle_until_closed(addr, Duration::from_millis(50), bound).await;
    assert!(
        trickled.is_some(),
        "a request head sent a byte at a time was still read after {bound:?}"
    );
}

/// After an answered request, an idle keep-alive connection is closed within `bound` (the
/// server's idle timeout, set short, plus slack).
pub async fn idle_connections_are_closed(addr: SocketAddr, path: &str, bound: Duration) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let (status, body) = get(&mut stream, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    assert!(
        closed_within(&mut stream, bound).await,
        "an idle keep-alive connection was still open {bound:?} after its answer"
    );
}

/// With `max_connections` connections held (saying nothing), a further client is not served
/// until one of them goes; then it is. The server's header-read and idle timeouts must be
/// longer than a few seconds so the held connections keep their slots.
pub async fn the_connection_cap_holds(addr: SocketAddr, path: &str, max_connections: usize) {
    let mut held = Vec::new();
    for _ in 0..max_connections {
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let mut waiting = TcpStream::connect(addr)
        .await
        .expect("a connection beyond the cap still connects (it waits in the backlog)");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
    waiting.write_all(request.as_bytes()).await.expect("send");
    let mut first = [0u8; 1];
    let early = timeout(Duration::from_millis(500), waiting.peek(&mut first)).await;
    assert!(
        early.is_err(),
        "a client beyond the cap of {max_connections} connections was answered while the others were held"
    );
    drop(held.pop());
    let (status, body) = timeout(PROMPTLY, read_response(&mut waiting))
        .await
        .unwrap_or_else(|_| panic!("the waiting client was not served after a slot freed"));
    assert_eq!(status, 200, "GET {path}: {body}");
}
