//! Helpers shared by the integration tests.

use std::path::Path;

use serde_json::Value;

/// Reads a pact file written by a test.
pub fn read_pact(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// An HTTP client that does not pool connections between tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}
