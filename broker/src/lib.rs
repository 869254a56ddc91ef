//! Accord's contract broker: a Pact Broker compatible HTTP API over SQLite or
//! PostgreSQL.
//!
//! Consumers publish pacts, providers ask which pacts to verify and publish their
//! results, release pipelines ask whether a version can be deployed. The official
//! Pact clients work against it unchanged.
//!
//! How the parts fit:
//! - [`Config`] says which database to use, who may read and write, and the limits;
//! - [`Application::build`] opens the database (applying migrations) on a listener
//!   that may use port 0, and [`Application::run_until_stopped`] serves until SIGTERM;
//! - `routes/` holds one module per resource; handlers parse input into `domain`
//!   types and call the `store::Store` trait, implemented for SQLite and PostgreSQL;
//! - `matrix` holds the rules of the matrix and can-i-deploy, written once above
//!   the store; `query` reads Rack-style nested query strings (`q[][pacticipant]`);
//! - [`drift`] keeps what the drift monitor posts (`/drift/provider/{provider}`, an
//!   Accord extension) and tells can-i-deploy which open drift concerns a deployment;
//! - [`edge`] holds what every request passes first (forwarded headers from trusted
//!   proxies only, `Host`, cross-origin writes, JSON media types, the UI's CSRF
//!   tokens) and the security headers of every answer.
//!
//! ```no_run
//! # async fn example() -> Result<(), accord_broker::BrokerError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = accord_broker::Config::new("sqlite://accord.db");
//! let app = accord_broker::Application::build(config, listener).await?;
//! println!("listening on {}", app.base_url());
//! app.run_until_stopped().await
//! # }
//! ```

mod auth;
mod config;
pub mod domain;
pub mod drift;
pub mod edge;
mod error;
mod for_verification;
mod http;
mod matrix;
mod metadata;
mod metrics;
mod pact;
mod provider_contracts;
mod query;
mod repr;
pub mod retention;
mod routes;
mod startup;
pub mod store;
pub mod trace;
mod ui;
pub mod webhooks;

pub use config::{AuthConfig, BasicCredentials, Config};
pub use edge::EdgeConfig;
pub use error::BrokerError;
pub use retention::RetentionConfig;
pub use startup::Application;
pub use store::StoreError;
pub use webhooks::{SecretsKey, WebhookConfig};
