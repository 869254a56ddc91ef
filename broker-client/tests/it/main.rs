//! Integration tests of the broker client, against `wiremock` brokers on port 0.

mod helpers;

mod auth;
mod drift;
mod errors;
mod navigation;
mod operations;
mod retries;
