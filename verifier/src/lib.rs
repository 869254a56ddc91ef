//! Accord's provider verifier: replays the interactions of consumer contracts (pacts)
//! against a running provider and reports, per pact and interaction, what differs.
//!
//! It wraps `pact_verifier` for the matching and replay, and adds what is around it:
//! fetching pacts (files, folders, URLs, brokers with consumer version selectors, pending
//! and WIP pacts) through [`accord_broker_client`], provider states with clear failure
//! messages, waiting for the provider to start, reports (text, JUnit, JSON), an outcome
//! CI can trust, and publishing results to the broker. It never calls
//! `pact_verifier::verify_provider*`, which send usage data; it verifies each pact with
//! the per-pact function instead.
//!
//! - [`VerifyOptions`]: what to verify and how ([`PactSource`], [`BrokerSource`],
//!   [`StateChange`], [`InteractionFilter`]).
//! - [`Verifier`]: [`Verifier::verify`] or [`Verifier::verify_against`] a base URL, giving a
//!   [`VerificationReport`] (or a [`VerifyError`] when the run could not happen).
//! - [`VerificationReport`]: [`VerificationReport::outcome`] and its exit code,
//!   [`VerificationReport::summary`], [`VerificationReport::to_junit_xml`],
//!   [`VerificationReport::to_json`], and [`VerificationReport::assert_passed`] for tests.
//!
//! A provider written in Rust verifies itself inside `cargo test`:
//!
//! ```no_run
//! # async fn example(server_url: url::Url) {
//! use accord_verifier::{Verifier, VerifyOptions};
//!
//! let options = VerifyOptions::new("orders").pact_dir("../pacts");
//! let report = Verifier::new(options).verify_against(server_url).await.unwrap();
//! report.assert_passed(); // panics with the readable summary on failure
//! # }
//! ```

mod error;
mod load;
mod options;
pub mod producer;
mod ready;
mod report;
mod run;
mod state;

pub use error::{VerifyError, exit_code};
pub use options::{BrokerSource, InteractionFilter, PactSource, StateChange, VerifyOptions};
pub use producer::{MessageProducers, ProducedMessage, ProducerState};
pub use report::{
    Counts, InteractionReport, InteractionStatus, MismatchReport, Outcome, PactReport, Publication,
    VerificationReport,
};
pub use run::Verifier;

// The broker client types that appear in the options, so users need not name the crate.
pub use accord_broker_client::{
    BrokerAuth, BrokerClientConfig, ConsumerVersionSelector, RetryPolicy, SecretString,
};
