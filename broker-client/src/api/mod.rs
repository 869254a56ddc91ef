//! The API calls, grouped by resource. Each module adds methods to [`crate::BrokerClient`].

mod contracts;
mod drift;
mod environments;
mod import;
mod matrix;
mod tokens;
mod verification;
