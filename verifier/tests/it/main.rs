//! Integration tests of the verifier: real axum providers on port 0, `wiremock` for
//! brokers and for providers that misbehave.

mod helpers;

mod broker;
mod loading;
mod messages;
mod misbehaving_providers;
mod provider_states;
mod real_broker;
mod reports;
mod verification;
