//! End-to-end tests across Accord's parts and against the official Pact tools.
//!
//! Every test starts real servers on port 0 and talks real HTTP. The official
//! tools are found through `ACCORD_PACT_BIN` / `ACCORD_PYTHON` (installed by
//! `scripts/test`); a test that cannot find them fails and says how to fix it.

mod attack_list;
mod broker_client_pact;
mod common;
mod deploy_plan;
mod event_drift;
mod fuzz;
mod import;
mod messages;
mod mock_cli;
mod monitor;
mod official_clients;
mod official_verifier;
mod provider_ci;
mod provider_contracts;
mod readme;
mod tokens;
