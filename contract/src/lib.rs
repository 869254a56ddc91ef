//! The contract model shared by the Accord parts.
//!
//! A contract is a pact file: a JSON document naming a consumer and a provider
//! and listing the interactions the consumer relies on. The mock server writes
//! them, the broker stores them, the verifier replays them and the monitor turns
//! them into schemas. This crate holds what all of them need:
//!
//! - [`Contract`]: a pact parsed and validated, with the raw JSON kept beside the
//!   `pact_models` representation (the broker stores the JSON as published);
//! - [`Contract::from_file`] / [`Contract::from_json_text`]: loading with errors
//!   that name the file and the place (line and column, or JSON pointer);
//! - [`content_hash`]: the SHA-256 of the canonical JSON, so identical content
//!   published twice is recognised as one.
//!
//! ```
//! let text = r#"{"consumer":{"name":"web"},"provider":{"name":"orders"},
//!   "interactions":[],"metadata":{"pactSpecification":{"version":"3.0.0"}}}"#;
//! let contract = accord_contract::Contract::from_json_text(text, "example.json").unwrap();
//! assert_eq!(contract.consumer(), "web");
//! assert_eq!(contract.provider(), "orders");
//! ```

pub mod asyncapi;
mod canonical;
pub mod drift;
mod error;
pub mod message;
pub mod openapi;
pub mod pact_diff;
pub mod provider_contract;
pub mod redact;
pub mod shape;

use std::panic::RefUnwindSafe;
use std::path::Path;

pub use canonical::{canonical_json, content_hash, write_canonical};
pub use error::ContractError;
use pact_models::PactSpecification;
use pact_models::pact::Pact;
use serde_json::Value;

/// A parsed, validated pact.
#[derive(Debug)]
pub struct Contract {
    origin: String,
    json: Value,
    pact: Box<dyn Pact + Send + Sync + RefUnwindSafe>,
}

impl Contract {
    /// Reads and parses a pact file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ContractError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ContractError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_text(&text, &path.display().to_string())
    }

    /// Parses pact JSON text; `origin` names where it came from (a file, a URL, a request).
    pub fn from_json_text(text: &str, origin: &str) -> Result<Self, ContractError> {
        let json: Value = serde_json::from_str(text).map_err(|source| ContractError::Syntax {
            origin: origin.to_string(),
            line: source.line(),
            column: source.column(),
            source,
        })?;
        Self::from_json(json, origin)
    }

    /// Validates an already-parsed JSON document as a pact.
    ///
    /// The document's shape is checked first ([`shape::check`]), so a malformed field is
    /// an error naming its JSON pointer; should `pact_models` still panic on something
    /// the check let through, the panic is caught here, the one place pacts enter, and
    /// becomes an error too.
    pub fn from_json(json: Value, origin: &str) -> Result<Self, ContractError> {
        shape::check(&json).map_err(|err| ContractError::Invalid {
            origin: origin.to_string(),
            pointer: err.pointer,
            problem: err.problem,
        })?;
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pact_models::pact::load_pact_from_json(origin, &json)
        }));
        let pact = match loaded {
            Ok(Ok(pact)) => pact,
            Ok(Err(source)) => {
                return Err(ContractError::Model {
                    origin: origin.to_string(),
                    source,
                });
            }
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return Err(ContractError::Unreadable {
                    origin: origin.to_string(),
                    reason: reason.chars().take(200).collect(),
                });
            }
        };
        Ok(Self {
            origin: origin.to_string(),
            json,
            pact,
        })
    }

    /// Where this contract was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        self.json["consumer"]["name"].as_str().unwrap_or_default()
    }

    /// The provider's name.
    pub fn provider(&self) -> &str {
        self.json["provider"]["name"].as_str().unwrap_or_default()
    }

    /// The JSON document as it was given.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Takes the JSON document as it was given.
    pub fn into_json(self) -> Value {
        self.json
    }

    /// The `pact_models` representation.
    pub fn pact(&self) -> &(dyn Pact + Send + Sync) {
        self.pact.as_ref()
    }

    /// Takes the `pact_models` representation.
    pub fn into_pact(self) -> Box<dyn Pact + Send + Sync + RefUnwindSafe> {
        self.pact
    }

    /// The pact specification version the document declares.
    pub fn specification(&self) -> PactSpecification {
        self.pact.specification_version()
    }

    /// The SHA-256 of the canonical JSON (see [`content_hash`]).
    pub fn content_hash(&self) -> String {
        content_hash(&self.json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"consumer":{"name":"web"},"provider":{"name":"orders"},
        "interactions":[{"description":"get order","request":{"method":"GET","path":"/orders/1"},
        "response":{"status":200}}],"metadata":{"pactSpecification":{"version":"3.0.0"}}}"#;

    #[test]
    fn parses_a_minimal_pact() {
        let contract = Contract::from_json_text(MINIMAL, "min.json").unwrap();
        assert_eq!(contract.consumer(), "web");
        assert_eq!(contract.provider(), "orders");
        assert_eq!(contract.pact().interactions().len(), 1);
        assert_eq!(contract.specification(), PactSpecification::V3);
    }

    #[test]
    fn syntax_errors_name_the_origin_line_and_column() {
        let err = Contract::from_json_text("{\n  \"consumer\": ,\n}", "bad.json").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("bad.json"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn shape_errors_name_the_json_pointer() {
        let text = r#"{"consumer":{"name":"web"},"provider":{},"interactions":[]}"#;
        let err = Contract::from_json_text(text, "p.json").unwrap_err();
        assert!(
            err.to_string().contains("/provider/name is missing"),
            "{err}"
        );

        let text = r#"{"consumer":{"name":"web"},"provider":{"name":"o"},"interactions":[{}]}"#;
        let err = Contract::from_json_text(text, "p.json").unwrap_err();
        assert!(
            err.to_string().contains("/interactions/0/description"),
            "{err}"
        );
    }

    #[test]
    fn a_status_the_pact_library_would_panic_on_is_an_error_naming_it() {
        for (version, status) in [
            ("3.0.0", "\"404\""),
            ("4.0", "\"404\""),
            ("2.0.0", "null"),
            ("3.0.0", "-1"),
        ] {
            let text = format!(
                r#"{{"consumer":{{"name":"web"}},"provider":{{"name":"o"}},"interactions":[
                {{"description":"a","request":{{"method":"GET","path":"/"}},"response":{{"status":200}}}},
                {{"description":"b","request":{{"method":"GET","path":"/"}},"response":{{"status":{status}}}}}],
                "metadata":{{"pactSpecification":{{"version":"{version}"}}}}}}"#
            );
            let err = Contract::from_json_text(&text, "p.json").unwrap_err();
            assert!(
                err.to_string()
                    .contains("/interactions/1/response/status must be an HTTP status code"),
                "{err}"
            );
        }
    }

    #[test]
    fn missing_files_name_the_path() {
        let err = Contract::from_file("/nonexistent/accord/pact.json").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/accord/pact.json"),
            "{err}"
        );
    }
}
