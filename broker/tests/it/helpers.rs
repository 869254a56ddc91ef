//! Starting brokers and talking to them.

use std::time::Duration;

use accord_broker::{Application, Config};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each listed `async fn(Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::postgres_url().is_none() {
                        eprintln!(
                            "SKIPPED: {} on PostgreSQL; set ACCORD_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it",
                            stringify!($name)
                        );
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("ACCORD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A database that exists for one test: a temporary SQLite file, or a fresh
/// PostgreSQL database dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("broker.db").display());
                TestDatabase {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("ACCORD_TEST_POSTGRES_URL");
                let name = format!("accord_it_{}", uuid_like());
                let mut admin = sqlx_connect(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let mut url =
                    url::Url::parse(&admin_url).expect("ACCORD_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async code; a small runtime on its own thread does the work.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let mut admin = sqlx_connect(&admin_url).await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                });
            })
            .join();
        }
    }
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to ACCORD_TEST_POSTGRES_URL")
}

pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}_{}_{}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running broker and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub auth: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    // Declared last so the database outlives the server using it.
    pub database: std::sync::Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a broker with the default configuration on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a broker after letting the test adjust the configuration.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    spawn_on(database, adjust).await
}

/// Starts a broker on an existing database (several brokers may share one).
pub async fn spawn_on(
    database: std::sync::Arc<TestDatabase>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::new(database.url.clone());
    adjust(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let app = Application::build(config, listener)
        .await
        .expect("broker starts");
    let base = app.base_url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        auth: None,
        shutdown: Some(tx),
        database,
    }
}

/// A response with its body parsed as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

impl TestApp {
    /// Sends a request; `path` may be absolute (a link from a response) or relative.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let mut request = self
            .client
            .request(method, url)
            .header("Accept", "application/hal+json, application/json");
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None, "").await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None, "").await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(body), "application/json")
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.request(Method::PUT, path, Some(body), "application/json")
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.request(
            Method::PATCH,
            path,
            Some(body),
            "application/merge-patch+json",
        )
        .await
    }

    /// Another client of the same broker that sends `authorization` (the broker runs as
    /// long as `self` lives).
    pub fn as_caller(&self, authorization: &str) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: self.client.clone(),
            auth: Some(authorization.to_string()),
            shutdown: None,
            database: self.database.clone(),
        }
    }

    pub fn with_basic(mut self, user: &str, password: &str) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.auth = Some(format!("Basic {encoded}"));
        self
    }

    /// Publishes one pact through `POST /contracts/publish`.
    pub async fn publish(
        &self,
        consumer: &str,
        version: &str,
        provider: &str,
        branch: Option<&str>,
        pact: &Value,
    ) -> Resp {
        let mut body = json!({
            "pacticipantName": consumer,
            "pacticipantVersionNumber": version,
            "contracts": [{
                "consumerName": consumer,
                "providerName": provider,
                "specification": "pact",
                "contentType": "application/json",
                "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string()),
            }]
        });
        if let Some(branch) = branch {
            body["branch"] = json!(branch);
        }
        self.post("/contracts/publish", body).await
    }
}

/// A small valid pact; `variant` changes its content.
pub fn pact(consumer: &str, provider: &str, variant: &str) -> Value {
    json!({
        "consumer": { "name": consumer },
        "provider": { "name": provider },
        "interactions": [{
            "description": format!("a request for {variant}"),
            "request": { "method": "GET", "path": format!("/things/{variant}") },
            "response": { "status": 200, "body": { "name": variant } }
        }],
        "metadata": { "pactSpecification": { "version": "3.0.0" } }
    })
}
