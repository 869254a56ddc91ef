//! Accord's mock provider: the consumer half of contract testing.
//!
//! A consumer test declares the interactions it relies on — provider states, a request, the
//! response — starts a mock provider, points the client under test at it, and finishes. The
//! mock answers each request with the response of the interaction it matches (matching is
//! `pact_matching`'s: every V3/V4 matcher, generators in responses). At the end it reports
//! interactions never requested and requests that matched nothing; when there are none it
//! writes the pact file the provider will be verified against.
//!
//! ```no_run
//! use accord_mock_server::PactBuilder;
//! use accord_mock_server::matchers::{each_like, integer, like, term};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = PactBuilder::new("order-dashboard", "orders")
//!     .interaction("a request for order 1", |i| {
//!         i.given_with_params("an order exists", json!({"id": 1}))
//!             .request(|r| r.get("/orders/1").header("Accept", "application/json"))
//!             .response(|r| {
//!                 r.status(200).json_body(json!({
//!                     "id": integer(1),
//!                     "status": term("^(open|shipped)$", "open"),
//!                     "lines": each_like(json!({"sku": like("A-1"), "quantity": integer(2)})),
//!                 }))
//!             })
//!     })
//!     .start()
//!     .await?;
//!
//! // The client under test talks to the mock as if it were the provider.
//! let order: serde_json::Value = reqwest::get(mock.url_for("/orders/1")).await?.json().await?;
//! assert_eq!(order["id"], 1);
//!
//! // Fails with a report if something was not used as declared; otherwise writes
//! // target/pacts/order-dashboard-orders.json (or into $PACT_DIR).
//! let pact_file = mock.finish().await?;
//! # let _ = pact_file;
//! # Ok(())
//! # }
//! ```
//!
//! The parts:
//!
//! - [`PactBuilder`] / [`InteractionBuilder`] / [`RequestBuilder`] / [`ResponseBuilder`]:
//!   declaring interactions; [`matchers`] writes matchers and generators (`like`, `each_like`,
//!   `term`, `integer`, `datetime`, …) in the integration JSON format the official clients use,
//!   which is also accepted as is.
//! - [`MockServer`]: the running mock, with [`MockServer::url`] and [`MockServer::finish`].
//! - [`VerificationReport`]: what the mock saw; its `Display` is the failure message.
//! - [`write_pact`] / [`PactFileOptions`]: merging into pact files, safely across threads and
//!   processes, atomically.
//! - [`admin::MockApplication`], [`stub::StubApplication`], [`record::RecordApplication`]: the
//!   servers behind `accord mock` (driven over an HTTP admin API, see `ADMIN-API.md`),
//!   `accord stub` (serves pact files) and `accord record` (a recording proxy);
//!   [`browser::AllowedOrigins`] says which web pages may use them.

pub mod admin;
pub mod browser;
mod builder;
mod engine;
mod error;
mod integration;
pub mod matchers;
mod message;
mod message_builder;
mod pact_file;
mod parse;
pub mod record;
mod report;
mod server;
pub mod stub;

pub use builder::{InteractionBuilder, PactBuilder, RequestBuilder, ResponseBuilder};
pub use engine::MAX_PROBLEMS_KEPT;
pub use error::Error;
pub use integration::FieldProblem;
pub use message::{MESSAGE_TYPE, ReceivedMessage, example_message, message_from_json};
pub use message_builder::{
    CloudEvent, CloudEventMode, ExpectedMessage, MessageBuilder, MessagePactBuilder,
    RFC3339_PATTERN,
};
pub use pact_file::{
    BoxedInteraction, PactFileOptions, default_pact_dir, pact_file_name, write_interactions,
    write_pact,
};
pub use pact_models::PactSpecification;
pub use parse::interaction_from_json;
pub use report::{
    CandidateMismatches, InteractionUse, MismatchDetail, RequestProblem, VerificationReport,
};
pub use server::MockServer;
