//! Why a verification could not run, and the exit code each reason maps to.

use std::path::PathBuf;
use std::time::Duration;

use accord_broker_client::BrokerError;
use accord_contract::ContractError;

/// Exit codes of `accord verify`, defined here so the CLI and tests agree.
pub mod exit_code {
    /// Every interaction that is not pending passed (and results, if asked, were published).
    pub const PASSED: u8 = 0;
    /// At least one interaction of a pact that is not pending failed.
    pub const FAILED: u8 = 1;
    /// The broker could not be used: unreachable, 401/403, 404, a refused selector, or
    /// results that could not be published.
    pub const BROKER: u8 = 2;
    /// No pact was found, or a pact folder could not be read.
    pub const PACT: u8 = 3;
    /// The provider did not answer within `--provider-ready-timeout`.
    pub const PROVIDER_UNREACHABLE: u8 = 4;
    /// Bad flags or options, or a pact that is missing or not a valid pact: the input
    /// is wrong, as `accord stub` and `accord monitor` say of the same file.
    pub const USAGE: u8 = 64;
}

/// Why a verification run stopped before it could produce a report.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The options contradict each other or are incomplete.
    #[error("{problem}")]
    InvalidOptions { problem: String },

    /// The provider never answered.
    #[error(
        "the provider at {url} did not answer within {}: {}. Start it first, check \
         --provider-base-url, or wait longer with --provider-ready-timeout",
        humanize(*waited),
        innermost(source)
    )]
    ProviderUnreachable {
        url: String,
        waited: Duration,
        #[source]
        source: std::io::Error,
    },

    /// A pact could not be read or is not a valid pact.
    #[error("cannot load a pact: {source}. Fix or regenerate the pact file")]
    Pact {
        #[from]
        source: ContractError,
    },

    /// A pact folder could not be read.
    #[error("cannot read the pact folder {}: {source}", path.display())]
    PactDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// No pact matched.
    #[error(
        "no pacts found for provider {provider:?} in {sources}. Check the provider name and \
         the selectors, or pass --ignore-no-pacts-error"
    )]
    NoPacts { provider: String, sources: String },

    /// A call to the broker failed.
    #[error("{action}: {source}")]
    Broker {
        action: String,
        #[source]
        source: BrokerError,
    },
}

impl VerifyError {
    /// The process exit code for this error (see [`exit_code`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidOptions { .. } | Self::Pact { .. } => exit_code::USAGE,
            Self::ProviderUnreachable { .. } => exit_code::PROVIDER_UNREACHABLE,
            Self::PactDir { .. } | Self::NoPacts { .. } => exit_code::PACT,
            Self::Broker { .. } => exit_code::BROKER,
        }
    }
}

/// The innermost cause of an error, which is the part a person can act on.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

pub(crate) fn humanize(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}
