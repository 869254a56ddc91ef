use std::net::SocketAddr;
use std::path::PathBuf;

use crate::report::VerificationReport;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An interaction is malformed: the pointer names the field, from the interaction root.
    #[error("interaction {interaction:?}: {pointer} {problem}")]
    InvalidInteraction {
        /// The interaction's description (or its position when it has none).
        interaction: String,
        /// JSON pointer of the faulty field.
        pointer: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The address could not be bound (in use, or not allowed).
    #[error("cannot listen on {addr}: {source}{}", hint_for_bind(source))]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The mock provider was not used as the test declared.
    #[error("{0}")]
    Verification(Box<VerificationReport>),

    /// The pact file could not be read, locked or written.
    #[error("cannot write pact file {}: {source}", path.display())]
    PactIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The existing pact file is not a pact this test can merge into.
    #[error("cannot merge into existing pact file {}: {source}", path.display())]
    PactExisting {
        path: PathBuf,
        #[source]
        source: accord_contract::ContractError,
    },

    /// The pact could not be turned into the requested specification's JSON.
    #[error("cannot write pact file {}: {source:#}", path.display())]
    PactSerialize {
        path: PathBuf,
        #[source]
        source: anyhow::Error,
    },

    /// An interaction conflicts with one of the same description and provider states already in
    /// the pact file.
    #[error(
        "pact file {} already has interaction {description:?}{} with different content; \
         differences (existing vs new): {differences}. Give one of them another description \
         or provider state, or delete the pact file before the test run",
        path.display(),
        if states.is_empty() { String::new() } else { format!(" (given {})", states.join(", ")) }
    )]
    Conflict {
        path: PathBuf,
        description: String,
        states: Vec<String>,
        differences: String,
    },

    /// HTTP interactions and messages in one pact file, or messages in a V2 file: only V4
    /// holds both (V3 holds messages alone).
    #[error(
        "cannot write pact file {} as {specification}: it would hold {http} HTTP interaction(s) \
         and {messages} message(s), and only a V4 pact holds both (V3 holds messages alone, V2 \
         none). Write V4 (`.v4()` in Rust, \"specification\": \"V4\" through the admin API), or \
         give the messages their own provider name",
        path.display()
    )]
    MixedNeedsV4 {
        path: PathBuf,
        specification: pact_models::PactSpecification,
        http: usize,
        messages: usize,
    },

    /// A message handler refused the example message: the expectation was not recorded.
    #[error(
        "the handler of message {description:?} failed: {error}. The expectation was not written to the pact"
    )]
    HandlerFailed { description: String, error: String },

    /// A pact for `accord stub` could not be loaded.
    #[error(transparent)]
    Contract(#[from] accord_contract::ContractError),

    /// A pact for `accord stub` could not be fetched.
    #[error("cannot fetch pact {url}: {source}")]
    Fetch {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// A pact for `accord stub` was fetched but the server refused it.
    #[error("cannot fetch pact {url}: the server answered {status}")]
    FetchStatus {
        url: String,
        status: reqwest::StatusCode,
    },

    /// A pact holds messages and no HTTP interaction.
    #[error(
        "{origin}: holds only messages (such as {description:?}) and no HTTP interaction: the stub serves HTTP interactions; verify messages with `accord verify`"
    )]
    NotHttp { origin: String, description: String },

    /// The real provider behind `accord record` cannot be reached.
    #[error("cannot reach the target {url}: {source}. Start the provider first, or check --target")]
    TargetDown {
        url: String,
        #[source]
        source: std::io::Error,
    },

    /// The header configured to name provider states is not a valid header name.
    #[error("{name:?} is not a valid HTTP header name for the provider state header: {source}")]
    StateHeader {
        name: String,
        #[source]
        source: http::header::InvalidHeaderName,
    },
}

fn hint_for_bind(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another process uses this port: choose another with --port, or 0 for any free port)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges: choose a higher port)"
        }
        _ => "",
    }
}
