//! Waiting for the provider: retry with backoff until it answers HTTP, or give up.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::debug;
use url::Url;

use crate::error::{VerifyError, humanize};

/// Waits until the provider answers HTTP at all (any status counts: the point is that it
/// is serving), retrying with backoff until `ready_timeout` has passed.
pub(crate) async fn wait_for_provider(
    base_url: &Url,
    ready_timeout: Duration,
    attempt_timeout: Duration,
) -> Result<(), VerifyError> {
    let started = Instant::now();
    let deadline = started + ready_timeout;
    let mut delay = Duration::from_millis(25);
    loop {
        let result = match tokio::time::timeout(attempt_timeout, probe(base_url)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {}", humanize(attempt_timeout)),
            )),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(source) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(VerifyError::ProviderUnreachable {
                        url: base_url.to_string(),
                        waited: now - started,
                        source,
                    });
                }
                debug!(error = %source, waited = %humanize(now - started), "the provider is not answering yet");
                tokio::time::sleep(delay.min(deadline - now)).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// One attempt. Plain HTTP is probed with a minimal request written by hand: building an
/// HTTP client loads the system's TLS roots, which costs more than the whole probe and
/// which a plain HTTP provider never needs. HTTPS providers are probed with `reqwest`.
async fn probe(url: &Url) -> io::Result<()> {
    if url.scheme() != "http" {
        return reqwest::Client::new()
            .get(url.clone())
            .send()
            .await
            .map(|response| debug!(status = %response.status(), "the provider is answering"))
            .map_err(io::Error::other);
    }
    let host = url
        .host_str()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the URL has no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nAccept: */*\r\n\r\n",
        url.path()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = [0u8; 12];
    let mut read = 0;
    while read < answer.len() {
        match stream.read(&mut answer[read..]).await? {
            0 => break,
            n => read += n,
        }
    }
    if answer[..read].starts_with(b"HTTP/") {
        debug!(status_line = %String::from_utf8_lossy(&answer[..read]), "the provider is answering");
        Ok(())
    } else if read == 0 {
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the connection was closed without an answer",
        ))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the answer is not HTTP",
        ))
    }
}
