//! The drift monitor: probes a running provider and reports where its answers drift from
//! what its consumers' contracts expect.
//!
//! placeholder

mod classify;
mod error;
pub(crate) mod matcher;
pub mod report;
pub mod schema;

pub use classify::BodyDrift;
pub use error::MonitorError;
pub use report::{
    DriftReport, Finding, FindingClass, Outcome, ProbeError, ProbeErrorKind, Skipped,
};
