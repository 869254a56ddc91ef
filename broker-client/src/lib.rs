//! A typed client for the Pact Broker HTTP API, shared by the Accord CLI, verifier and
//! drift monitor. It talks to Accord's broker and to any Pact Broker alike.
//!
//! - [`BrokerClient`] is built from a [`BrokerClientConfig`] (base URL, optional
//!   [`BrokerAuth`], timeout, [`RetryPolicy`]). It finds endpoints the way the official
//!   clients do: through the HAL relations of the index resource (`pb:publish-contracts`,
//!   `pb:provider-pacts-for-verification`, `pb:environments`, `pb:pacticipant-version`,
//!   …) with templated links expanded, and through the links of the resources it fetches.
//! - One method per operation: [`BrokerClient::publish_contracts`],
//!   [`BrokerClient::pacts_for_verification`], [`BrokerClient::fetch_pact`],
//!   [`BrokerClient::publish_verification_results`], [`BrokerClient::can_i_deploy`],
//!   [`BrokerClient::create_environment`], [`BrokerClient::environments`],
//!   [`BrokerClient::record_deployment`], [`BrokerClient::record_release`],
//!   [`BrokerClient::describe_version`], [`BrokerClient::latest_version`], and a generic
//!   [`BrokerClient::get`] returning a [`HalDocument`] for everything else.
//! - Accord's broker extensions: [`BrokerClient::publish_drift_report`] and
//!   [`BrokerClient::drift_state`] (through the `accord:drift` relation), and
//!   [`BrokerClient::can_i_deploy_with_drift`]. The drift monitor's report travels as
//!   JSON, so this crate does not depend on the monitor.
//! - Server errors (5xx) and network errors are retried with exponential backoff and full
//!   jitter; client errors (4xx) never are. Every failure is a [`BrokerError`] whose message
//!   says what failed and what to do. Credentials are never logged or printed. Failed
//!   calls are recorded on their `tracing` spans at debug level only: the caller decides
//!   how to report them, so a failure is not printed twice.
//!
//! ```no_run
//! # async fn example() -> Result<(), accord_broker_client::BrokerError> {
//! use accord_broker_client::{BrokerClient, BrokerClientConfig};
//!
//! let url = url::Url::parse("http://127.0.0.1:9292").unwrap();
//! let client = BrokerClient::new(BrokerClientConfig::new(url))?;
//! for environment in client.environments().await? {
//!     println!("{} (production: {})", environment.name, environment.production);
//! }
//! # Ok(())
//! # }
//! ```

mod api;
mod client;
mod config;
mod error;
mod hal;
mod types;

pub use client::BrokerClient;
pub use config::{BrokerAuth, BrokerClientConfig, RetryPolicy};
pub use error::{BrokerError, cause_text};
pub use hal::{HalDocument, Link, expand_template, links_in};
pub use types::*;

/// Re-exported so users can build [`BrokerAuth`] without depending on `secrecy` themselves.
pub use secrecy::SecretString;
