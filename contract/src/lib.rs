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

mod canonical;
mod error;
pub mod redact;

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
    pub fn from_json(json: Value, origin: &str) -> Result<Self, ContractError> {
        validate_shape(&json, origin)?;
        let pact = pact_models::pact::load_pact_from_json(origin, &json).map_err(|source| {
            ContractError::Model {
                origin: origin.to_string(),
                source,
            }
        })?;
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

/// Checks the parts every consumer of a pact relies on, so that the error names the
/// JSON pointer of what is wrong instead of failing later with a vaguer message.
fn validate_shape(json: &Value, origin: &str) -> Result<(), ContractError> {
    let invalid = |pointer: &str, problem: &str| ContractError::Invalid {
        origin: origin.to_string(),
        pointer: pointer.to_string(),
        problem: problem.to_string(),
    };
    if !json.is_object() {
        return Err(invalid("", "a pact must be a JSON object"));
    }
    for party in ["consumer", "provider"] {
        match json.pointer(&format!("/{party}/name")) {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            Some(Value::String(_)) => {
                return Err(invalid(&format!("/{party}/name"), "must not be empty"));
            }
            Some(_) => return Err(invalid(&format!("/{party}/name"), "must be a string")),
            None => return Err(invalid(&format!("/{party}/name"), "is missing")),
        }
    }
    match (json.get("interactions"), json.get("messages")) {
        (Some(Value::Array(items)), _) | (None, Some(Value::Array(items))) => {
            let key = if json.get("interactions").is_some() {
                "interactions"
            } else {
                "messages"
            };
            for (index, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(invalid(&format!("/{key}/{index}"), "must be a JSON object"));
                }
                match item.get("description") {
                    Some(Value::String(_)) => {}
                    Some(_) => {
                        return Err(invalid(
                            &format!("/{key}/{index}/description"),
                            "must be a string",
                        ));
                    }
                    None => {
                        return Err(invalid(
                            &format!("/{key}/{index}/description"),
                            "is missing",
                        ));
                    }
                }
            }
            Ok(())
        }
        (Some(_), _) => Err(invalid("/interactions", "must be an array")),
        (None, Some(_)) => Err(invalid("/messages", "must be an array")),
        (None, None) => Err(invalid("/interactions", "is missing")),
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
    fn missing_files_name_the_path() {
        let err = Contract::from_file("/nonexistent/accord/pact.json").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/accord/pact.json"),
            "{err}"
        );
    }
}
