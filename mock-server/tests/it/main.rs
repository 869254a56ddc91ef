//! Integration tests of the mock provider: real servers on port 0, real HTTP.

mod admin;
mod consumer_api;
mod official;
mod record;
mod slow_clients;
mod stub;
mod support;
