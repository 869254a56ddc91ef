//! Slow clients cannot hold the broker: the heartbeat answers while hundreds of connections
//! trickle their headers, and those connections are closed by the connection timeouts. The
//! serving layer does not touch the database, so these run on SQLite only.

use std::net::SocketAddr;
use std::time::Duration;

use accord_net::{ServeOptions, test_util};

use crate::helpers::{Backend, TestApp, spawn_app_with};

const HEARTBEAT: &str = "/diagnostic/status/heartbeat";

async fn spawn(header_read_ms: u64, idle_ms: u64, max_connections: usize) -> (TestApp, SocketAddr) {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.serve = ServeOptions {
            header_read_timeout: Duration::from_millis(header_read_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            max_connections,
        };
    })
    .await;
    let addr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the base URL is http://IP:PORT");
    (app, addr)
}

#[tokio::test]
async fn the_heartbeat_answers_while_slow_clients_are_shed() {
    let (_app, addr) = spawn(300, 60_000, 1024).await;
    test_util::slow_clients_are_shed(addr, HEARTBEAT, 300, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let (_app, addr) = spawn(10_000, 300, 1024).await;
    test_util::idle_connections_are_closed(addr, HEARTBEAT, Duration::from_secs(4)).await;
}

#[tokio::test]
async fn at_most_max_connections_are_served_at_once() {
    let (_app, addr) = spawn(30_000, 30_000, 4).await;
    test_util::the_connection_cap_holds(addr, HEARTBEAT, 4).await;
}
