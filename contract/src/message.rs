//! What a message's metadata says about how it travels, as opposed to what it carries.
//!
//! Pacts name a message's channel in its metadata (`kafka_topic`, `routing_key`, …) and
//! give transport details there too (`contentType`, a Kafka key). Both the drift monitor
//! (routing sampled events to their contracts) and the AsyncAPI check (finding the
//! channel a message is sent on) read metadata through these lists, so a key means the
//! same everywhere.

use std::collections::HashMap;

use serde_json::Value;

/// Metadata keys that say which channel a message travels on: a topic, routing key,
/// exchange, queue or destination. They route a message; they are never headers.
pub const CHANNEL_KEYS: &[&str] = &[
    "kafka_topic",
    "topic",
    "routing_key",
    "routingKey",
    "exchange",
    "queue",
    "destination",
    "channel",
];

/// Metadata keys that are transport details, not headers of the message.
pub const TRANSPORT_KEYS: &[&str] = &[
    "contentType",
    "content-type",
    "kafka_key",
    "key",
    "partition",
];

/// Whether a metadata key names the message's channel.
pub fn is_channel_key(key: &str) -> bool {
    CHANNEL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether a metadata key is a transport detail.
pub fn is_transport_key(key: &str) -> bool {
    TRANSPORT_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The channel names a message's metadata gives, in [`CHANNEL_KEYS`] order.
pub fn channels(metadata: &HashMap<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for wanted in CHANNEL_KEYS {
        for (key, value) in metadata {
            if !key.eq_ignore_ascii_case(wanted) {
                continue;
            }
            // Matchers wrap the example value in `{"value": ...}` in some writers.
            let value = value.get("value").unwrap_or(value);
            if let Some(name) = value.as_str().filter(|n| !n.is_empty())
                && !out.iter().any(|o| o == name)
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The metadata entries that are headers: neither channel nor transport keys.
pub fn headers(metadata: &HashMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut out: Vec<(&String, &Value)> = metadata
        .iter()
        .filter(|(key, _)| !is_channel_key(key) && !is_transport_key(key))
        .collect();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// The content type the metadata gives, if any.
pub fn content_type(metadata: &HashMap<String, Value>) -> Option<String> {
    metadata
        .iter()
        .find(|(key, _)| {
            key.eq_ignore_ascii_case("contentType") || key.eq_ignore_ascii_case("content-type")
        })
        .and_then(|(_, value)| value.as_str())
        .map(str::to_string)
}
