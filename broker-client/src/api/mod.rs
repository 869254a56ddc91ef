//! The API calls, grouped by resource. Each module adds methods to [`crate::BrokerClient`].

mod contracts;
mod environments;
mod matrix;
mod verification;
