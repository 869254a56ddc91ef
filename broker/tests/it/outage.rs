//! The database going away: the broker answers 503 with a JSON body, logs why,
//! and serves again once the database is back.
//!
//! The outage is real, not simulated in the broker: the broker reaches PostgreSQL
//! through a TCP relay that the test closes (dropping every connection and
//! refusing new ones, as a database server that stopped would) and then reopens
//! on the same port. SQLite has no equivalent (the file is opened in-process and
//! the tests run as root, so permissions do not stop it), hence PostgreSQL only.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::{Backend, TestDatabase, postgres_url, spawn_on};

/// Forwards TCP connections to a target until stopped.
struct Relay {
    address: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let relay = Relay {
            address: listener.local_addr().unwrap(),
            target,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = Arc::clone(&self.tasks);
        let target = self.target;
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(connection);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the port and every relayed connection.
    fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Opens the same port again.
    async fn resume(&self) {
        let listener = TcpListener::bind(self.address)
            .await
            .expect("re-bind relay port");
        self.serve(listener);
    }
}

/// Log lines written by any broker in this test process (see [`crate::telemetry`]).
pub(crate) fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    Arc::clone(&crate::telemetry::telemetry().logs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_answers_503_and_recovers() {
    let Some(admin_url) = postgres_url() else {
        eprintln!(
            "SKIPPED: database_outage_answers_503_and_recovers needs PostgreSQL; set ACCORD_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
        );
        return;
    };
    let logs = captured_logs();
    let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let server = url::Url::parse(&admin_url).unwrap();
    let target: SocketAddr = tokio::net::lookup_host((
        server.host_str().unwrap().to_string(),
        server.port().unwrap_or(5432),
    ))
    .await
    .unwrap()
    .next()
    .unwrap();
    let relay = Relay::start(target).await;
    let mut relayed = url::Url::parse(&database.url).unwrap();
    relayed.set_ip_host(relay.address.ip()).unwrap();
    relayed.set_port(Some(relay.address.port())).unwrap();
    let relayed = relayed.to_string();
    let app = spawn_on(Arc::clone(&database), |config| {
        config.database_url = relayed
    })
    .await;

    app.put("/pacticipants/Foo/versions/1", serde_json::json!({}))
        .await
        .expect(201);

    relay.stop();
    let down = app.get("/pacticipants/Foo").await.expect(503);
    assert_eq!(
        down.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    assert_eq!(down.header("retry-after"), Some("5"));
    assert_eq!(
        down.body["error"],
        "The broker's database is unavailable. Retry shortly."
    );
    let write = app
        .put("/pacticipants/Foo/versions/2", serde_json::json!({}))
        .await
        .expect(503);
    assert!(write.body["error"].is_string());
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logged.contains("ERROR")
            && logged.contains("database unavailable; answering 503 until it returns"),
        "the outage is logged clearly:\n{logged}"
    );

    relay.resume().await;
    let back = app.get("/pacticipants/Foo").await.expect(200);
    assert_eq!(back.body["name"], "Foo");
    // Nothing was written while the database was away.
    app.get("/pacticipants/Foo/versions/2").await.expect(404);
    app.put("/pacticipants/Foo/versions/2", serde_json::json!({}))
        .await
        .expect(201);
}
