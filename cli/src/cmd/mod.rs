//! One module per group of subcommands. Each exposes clap `Args` structs and
//! async functions that run the command and return the process exit code.
//!
//! Exit codes shared by every command:
//! - 0: success;
//! - 1: the command ran and the answer is "no" or "failed" (a failed verification,
//!   a deployment that is not safe, drift found);
//! - 2: probe or runtime errors (see each command's help);
//! - 64: bad usage or configuration (a flag that does not parse, a file that is missing).

pub mod broker;
pub mod can_i_deploy;
pub mod client;
pub mod deployments;
pub mod describe_version;
pub mod import;
pub mod mock;
pub mod monitor;
pub mod provider_contract;
pub mod publish;
pub mod serve;
pub mod token;
pub mod verify;

/// The command ran and the answer is negative (failed verification, not deployable).
pub const EXIT_FAILURE: u8 = 1;
/// The command could not do its job: the broker or provider could not be used, a port
/// is taken, probes got no usable answer. (`accord verify` refines this; see its help.)
pub const EXIT_RUNTIME: u8 = 2;
/// Bad usage or configuration.
pub const EXIT_USAGE: u8 = 64;
