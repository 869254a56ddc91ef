//! Integration tests of the drift monitor: real HTTP against `wiremock` providers.

mod broker;
mod drift;
mod helpers;
mod probing;
mod published;
mod service;
mod snapshots;
