//! `accord_net::serve` against raw clients: the limits, HTTP/2, and shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use accord_net::test_util::{self, PROMPTLY};
use accord_net::{ServeOptions, serve};
use axum::Router;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A running server and the switch that stops it.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn spawn(options: ServeOptions) -> Server {
    let app = Router::new().route("/", get(|| async { "hello" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            "finally"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(listener, app, options, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        done,
    }
}

fn options(header_read: u64, idle: u64, max_connections: usize) -> ServeOptions {
    ServeOptions {
        header_read_timeout: Duration::from_millis(header_read),
        idle_timeout: Duration::from_millis(idle),
        max_connections,
    }
}

#[tokio::test]
async fn slow_clients_are_shed_and_others_served() {
    let server = spawn(options(300, 60_000, 1024)).await;
    test_util::slow_clients_are_shed(server.addr, "/", 300, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = spawn(options(10_000, 300, 1024)).await;
    test_util::idle_connections_are_closed(server.addr, "/", Duration::from_secs(4)).await;
}

#[tokio::test]
async fn the_connection_cap_holds() {
    let server = spawn(options(30_000, 30_000, 4)).await;
    test_util::the_connection_cap_holds(server.addr, "/", 4).await;
}

/// hyper's own header-read timer would close a keep-alive connection once it sat idle for the
/// header-read timeout; here the idle timeout decides, so a proxy's pooled connection lives.
#[tokio::test]
async fn a_keep_alive_connection_outlives_the_header_read_timeout() {
    let server = spawn(options(200, 30_000, 1024)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(test_util::get(&mut stream, "/").await.0, 200);
    assert!(
        !test_util::closed_within(&mut stream, Duration::from_millis(800)).await,
        "an idle connection was closed by the header-read timeout"
    );
    assert_eq!(test_util::get(&mut stream, "/").await.0, 200);
}

/// A request whose handler takes longer than the idle timeout is not cut: the timers only run
/// while nothing is in flight.
#[tokio::test]
async fn a_request_in_flight_is_not_idle() {
    let server = spawn(options(200, 200, 1024)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (status, body) = test_util::get(&mut stream, "/slow").await;
    assert_eq!((status, body.as_str()), (200, "finally"));
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_is_closed() {
    let server = spawn(options(10_000, 300, 1024)).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get(format!("http://{}/", server.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "hello"
    );
    tokio::time::timeout(Duration::from_secs(4), connection)
        .await
        .expect("the idle HTTP/2 connection was closed")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let mut server = spawn(ServeOptions::default()).await;
    let addr = server.addr;
    let slow = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        test_util::get(&mut stream, "/slow").await
    });
    // An idle connection does not hold the shutdown up.
    let _idle = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.stop.take().unwrap().send(()).unwrap();
    let (status, body) = slow.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "finally"));
    tokio::time::timeout(PROMPTLY, server.done)
        .await
        .expect("serve returned after shutdown")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}
