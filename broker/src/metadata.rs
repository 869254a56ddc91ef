//! The opaque `metadata` path segment of pact URLs returned for verification.
//!
//! It carries what the broker needs when the verification result comes back: the
//! consumer version numbers the pact was selected for, and whether it was pending or
//! a work-in-progress pact. Clients treat it as opaque; it is URL-safe Base64 of JSON
//! so it survives as one path segment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PactMetadata {
    /// Consumer version numbers the pact was selected for.
    #[serde(rename = "cvn", default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_versions: Vec<String>,
    /// Whether the pact was pending when selected.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
    /// Whether the pact was included as work in progress.
    #[serde(rename = "w", default, skip_serializing_if = "std::ops::Not::not")]
    pub wip: bool,
}

impl PactMetadata {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a segment; anything unreadable reads as "no metadata", because the
    /// segment only refines what the broker records.
    pub fn decode(segment: &str) -> PactMetadata {
        URL_SAFE_NO_PAD
            .decode(segment)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let metadata = PactMetadata {
            consumer_versions: vec!["1.0/x".into()],
            pending: Some(true),
            wip: true,
        };
        let segment = metadata.encode();
        assert!(!segment.contains('/'));
        assert_eq!(PactMetadata::decode(&segment), metadata);
        assert_eq!(PactMetadata::decode("garbage!"), PactMetadata::default());
    }
}
