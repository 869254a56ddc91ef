//! Integration tests of the mock provider: real servers on port 0, real HTTP.

mod consumer_api;
mod support;
