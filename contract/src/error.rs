use std::path::PathBuf;

/// Why a pact could not be loaded. Every variant names where the pact came from.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The file could not be read.
    #[error("cannot read pact file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON.
    #[error("{origin}: not valid JSON at line {line}, column {column}: {source}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is not shaped like a pact.
    #[error("{origin}: {pointer} {problem}")]
    Invalid {
        origin: String,
        pointer: String,
        problem: String,
    },
    /// `pact_models` panicked on the document (caught; see `Contract::from_json`).
    #[error(
        "{origin}: not a valid pact: the pact library could not read it ({reason}); check the document against the pact specification"
    )]
    Unreadable { origin: String, reason: String },
    /// `pact_models` refused the document.
    #[error("{origin}: not a valid pact: {source:#}")]
    Model {
        origin: String,
        #[source]
        source: anyhow::Error,
    },
}
