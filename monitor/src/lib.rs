//! The drift monitor: probes a running provider and reports where its answers drift from
//! what its consumers' contracts expect.
//!
//! Contract tests catch breaking changes in CI; the monitor catches the ones that reach
//! production anyway (a field renamed by a config flag, a date that turns from ISO 8601
//! into a Unix timestamp after an upstream upgrade). How the parts fit:
//!
//! 1. [`schema::derive_pact`] turns each HTTP interaction of a pact
//!    ([`accord_contract::Contract`]) into an [`schema::InteractionExpectation`]: the request
//!    as recorded, the expected status and media type, and a JSON Schema of the body built
//!    from the example and the pact's matching rules. Examples are examples: a value
//!    without a matcher is checked by type only, and fields the pact does not mention stay
//!    allowed.
//! 2. A [`config::MonitorConfig`] (base URL, probe limits, circuit breaker, auth headers,
//!    provider state mappings; optionally read from TOML) says how to probe.
//! 3. [`Monitor::check`] sends the probes (safe methods only unless listed; within a
//!    timeout, a concurrency limit, a rate limit and a per-host circuit breaker) and
//!    returns a [`DriftReport`]: [`Finding`]s classified by [`FindingClass`], probe errors
//!    (not drift), and skipped interactions with the reason.
//! 4. [`service::Application`] runs checks on a schedule, serves Prometheus metrics and
//!    alerts through [`alert`] once per new finding and once when it is resolved.
//! 5. With pacts from a broker, [`publish::BrokerPublisher`] posts every report back to it,
//!    so the broker shows the provider's current drift and can-i-deploy takes it into
//!    account.
//!
//! ```no_run
//! # async fn example() -> Result<(), accord_monitor::MonitorError> {
//! use accord_monitor::{Monitor, Outcome, config::MonitorConfig, source::pacts_from_files};
//!
//! let pacts = pacts_from_files(&["pacts/web-orders.json"])?;
//! let config = MonitorConfig::new(url::Url::parse("https://orders.internal").unwrap());
//! let report = Monitor::from_contracts(&pacts, config)?.check().await;
//! if report.outcome() == Outcome::Drift {
//!     eprintln!("{}", report.to_table());
//! }
//! # Ok(())
//! # }
//! ```

pub mod alert;
pub mod circuit;
mod classify;
pub mod config;
mod error;
pub mod events;
pub(crate) mod matcher;
pub mod metrics;
mod monitor;
mod probe;
pub mod publish;
pub mod rate;
pub mod report;
pub mod schema;
pub mod service;
pub mod source;

pub use classify::BodyDrift;
pub use error::{AlertFailure, MonitorError};
pub use monitor::Monitor;
pub use report::{
    DriftReport, Finding, FindingClass, Outcome, ProbeError, ProbeErrorKind, Skipped,
};
