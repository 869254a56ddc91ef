//! Integration tests: each starts a real broker on port 0 and talks HTTP to it.
//!
//! Every API test is written once as `async fn name(backend: Backend)` and listed in
//! `backend_tests!`, which runs it on SQLite (always, on a temporary file) and on
//! PostgreSQL (when `ACCORD_TEST_POSTGRES_URL` is set, on a fresh database per test).

mod helpers;

mod audit;
mod auth;
mod badges;
mod basics;
mod drift;
mod edge;
mod for_verification;
mod import;
mod labels;
mod matrix;
mod messages;
mod metrics;
mod outage;
mod pacticipants;
mod provider_contracts;
mod publishing;
mod retention;
mod slow_clients;
mod statements;
mod telemetry;
mod tokens;
mod ui;
mod verifications;
mod webhooks;

pub use helpers::*;
