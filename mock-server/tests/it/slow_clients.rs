//! Slow clients against the mock, stub and record servers: they are shed by the connection
//! timeouts, and the admin API keeps answering.

use std::net::SocketAddr;
use std::time::Duration;

use accord_mock_server::PactFileOptions;
use accord_mock_server::admin::{MockApplication, MockConfig};
use accord_mock_server::browser::AllowedOrigins;
use accord_mock_server::record::{RecordApplication, RecordConfig};
use accord_mock_server::stub::{DEFAULT_STATE_HEADER, StubApplication, StubConfig};
use accord_net::ServeOptions;
use accord_net::test_util;

use crate::support::Provider;

const HEALTH: &str = "/__accord/health";

fn limits(header_read_ms: u64, idle_ms: u64, max_connections: usize) -> ServeOptions {
    ServeOptions {
        header_read_timeout: Duration::from_millis(header_read_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        max_connections,
    }
}

async fn spawn_mock(serve: ServeOptions) -> (MockApplication, SocketAddr) {
    let mock = MockApplication::build(MockConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        consumer: "web".into(),
        provider: "orders".into(),
        pact: PactFileOptions::default(),
        cors: true,
        allowed_origins: AllowedOrigins::default(),
        serve,
    })
    .await
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], mock.port()));
    (mock, addr)
}

#[tokio::test]
async fn the_mock_sheds_slow_clients_and_its_admin_api_answers() {
    let (mock, addr) = spawn_mock(limits(300, 60_000, 1024)).await;
    test_util::slow_clients_are_shed(addr, HEALTH, 300, Duration::from_millis(300)).await;
    mock.stop().await;
}

#[tokio::test]
async fn the_mock_closes_idle_connections() {
    let (mock, addr) = spawn_mock(limits(10_000, 300, 1024)).await;
    test_util::idle_connections_are_closed(addr, HEALTH, Duration::from_secs(4)).await;
    mock.stop().await;
}

#[tokio::test]
async fn the_mock_serves_at_most_max_connections() {
    let (mock, addr) = spawn_mock(limits(30_000, 30_000, 4)).await;
    test_util::the_connection_cap_holds(addr, HEALTH, 4).await;
    mock.stop().await;
}

#[tokio::test]
async fn the_stub_sheds_slow_clients() {
    let stub = StubApplication::from_pacts(
        StubConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pacts: Vec::new(),
            state_header: DEFAULT_STATE_HEADER.into(),
            cors: false,
            allowed_origins: AllowedOrigins::default(),
            serve: limits(300, 60_000, 1024),
        },
        Vec::new(),
    )
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], stub.port()));
    test_util::slow_clients_are_shed(addr, HEALTH, 50, Duration::from_millis(300)).await;
    stub.stop().await;
}

#[tokio::test]
async fn the_recording_proxy_sheds_slow_clients() {
    let provider = Provider::start().await;
    let recorder = RecordApplication::build(RecordConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        target: provider.url.parse().unwrap(),
        consumer: "web".into(),
        provider: "orders".into(),
        pact: PactFileOptions::default(),
        type_matchers: false,
        serve: limits(300, 60_000, 1024),
    })
    .await
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], recorder.port()));
    test_util::slow_clients_are_shed(addr, HEALTH, 50, Duration::from_millis(300)).await;
    recorder.stop().await;
}
