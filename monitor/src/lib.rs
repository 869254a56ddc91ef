//! The drift monitor: probes a running provider and reports where its answers drift from
//! what its consumers' contracts expect.
//!
//! placeholder

pub mod alert;
pub mod circuit;
mod classify;
pub mod config;
mod error;
pub(crate) mod matcher;
pub mod metrics;
mod monitor;
mod probe;
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
