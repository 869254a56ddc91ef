//! Pact content: validation, interaction ids, the content hash and diffs.

use std::io::Write;

use accord_contract::Contract;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::ValidationError;

/// A pact ready to store: its content hash and the JSON text to keep.
#[derive(Debug, Clone)]
pub struct PreparedPact {
    pub sha: String,
    pub content: String,
    pub consumer: String,
    pub provider: String,
}

/// Validates a pact document, gives every interaction an `_id` and computes the
/// content hash. `field` names the place in the request for errors.
///
/// Each interaction is written in canonical form once: that text gives both its id
/// and its part of the content hash.
#[tracing::instrument(level = "info", skip_all)]
pub fn prepare(json: Value, field: &str) -> Result<PreparedPact, ValidationError> {
    let contract = Contract::from_json(json, field)
        .map_err(|err| ValidationError::new(field, err.to_string()))?;
    let consumer = contract.consumer().to_string();
    let provider = contract.provider().to_string();
    let mut json = contract.into_json();
    let mut entries: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (key, entries) in ["interactions", "messages"].iter().zip(entries.iter_mut()) {
        let Some(Value::Array(items)) = json.get_mut(*key) else {
            continue;
        };
        for item in items.iter_mut() {
            let Value::Object(object) = item else {
                entries.push(accord_contract::canonical_json(item));
                continue;
            };
            object.remove("_id");
            let without_id = Value::Object(std::mem::take(object));
            let canonical = accord_contract::canonical_json(&without_id);
            let Value::Object(rest) = without_id else {
                unreachable!("an object stays an object")
            };
            let id = hex::encode(Sha256::digest(canonical.as_bytes()));
            let mut with_id = Map::new();
            with_id.insert("_id".into(), Value::String(id[..40].to_string()));
            with_id.extend(rest);
            *object = with_id;
            entries.push(canonical);
        }
    }
    let [interactions, messages] = entries;
    Ok(PreparedPact {
        sha: hash_of_entries(&json, interactions, messages),
        content: serde_json::to_string(&json).expect("a JSON value serialises"),
        consumer,
        provider,
    })
}

/// The content hash: only what affects verification counts (the interactions or
/// messages, in any order, and the specification version), so re-publishing with
/// different white space, key order, interaction order or library metadata is
/// recognised as the same content. (Publishing computes it in [`prepare`]; this reads
/// it off a stored document.)
#[cfg(test)]
fn sha_of(json: &Value) -> String {
    let entries = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        let mut item = item.clone();
                        if let Value::Object(object) = &mut item {
                            object.remove("_id");
                        }
                        accord_contract::canonical_json(&item)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    hash_of_entries(json, entries("interactions"), entries("messages"))
}

/// The hash of the canonical interactions and messages (in any order) and the
/// specification version of `json`: the SHA-256 of the canonical JSON of
/// `{"interactions": [...], "messages": [...], "specification": ...}` with each
/// entry as a JSON string, written straight into the hasher.
fn hash_of_entries(
    json: &Value,
    mut interactions: Vec<String>,
    mut messages: Vec<String>,
) -> String {
    interactions.sort();
    messages.sort();
    let metadata = json.get("metadata");
    let specification = metadata
        .and_then(|m| {
            m.pointer("/pactSpecification/version")
                .or_else(|| m.pointer("/pact-specification/version"))
                .or_else(|| m.get("pactSpecificationVersion"))
        })
        .unwrap_or(&Value::Null);
    let mut hasher = Sha256::new();
    let mut write = || -> std::io::Result<()> {
        for (key, entries) in [("interactions", &interactions), ("messages", &messages)] {
            write!(
                hasher,
                "{}\"{key}\":[",
                if key == "interactions" { "{" } else { "," }
            )?;
            for (index, entry) in entries.iter().enumerate() {
                if index > 0 {
                    hasher.write_all(b",")?;
                }
                serde_json::to_writer(&mut hasher, entry)?;
            }
            hasher.write_all(b"]")?;
        }
        hasher.write_all(b",\"specification\":")?;
        accord_contract::write_canonical(specification, &mut hasher)?;
        hasher.write_all(b"}")
    };
    write().expect("hashing cannot fail");
    hex::encode(hasher.finalize())
}

/// Merges the interactions of `new` into `existing`: an interaction with the same
/// description and provider state(s) replaces the old one, others are appended.
pub fn merge(existing: &Value, new: &Value) -> Result<Value, MergeConflict> {
    let mut merged = existing.clone();
    let key = if new.get("messages").is_some() {
        "messages"
    } else {
        "interactions"
    };
    let identity = |item: &Value| {
        (
            item.get("description").cloned(),
            item.get("providerState").cloned(),
            item.get("providerStates").cloned(),
        )
    };
    // Interactions are compared without the `_id` the broker gives them.
    let content = |item: &Value| {
        let mut item = item.clone();
        if let Value::Object(object) = &mut item {
            object.remove("_id");
        }
        item
    };
    let mut items: Vec<Value> = existing
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in new
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        match items.iter().find(|old| identity(old) == identity(&item)) {
            Some(old) if content(old) == content(&item) => {}
            Some(_) => {
                return Err(MergeConflict {
                    description: item
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                });
            }
            None => items.push(item),
        }
    }
    merged[key] = Value::Array(items);
    Ok(merged)
}

/// A merge that would change an interaction the pact already has (same description
/// and provider states, different content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeConflict {
    pub description: String,
}

/// A unified text diff of two pact documents, for people.
pub fn diff(old: &str, new: &str) -> String {
    let pretty = |text: &str| {
        serde_json::from_str::<Value>(text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| text.to_string())
    };
    let (old, new) = (pretty(old), pretty(new));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("existing", "new")
        .to_string()
}

/// The diff page of a pact: what changed from the provider's side (interactions added
/// or removed, fields newly read or no longer read, matchers tightened or loosened;
/// `accord_contract::pact_diff`), then the text diff.
pub fn classified_diff(old: &str, new: &str) -> String {
    let mut out = String::new();
    let parsed = (
        accord_contract::Contract::from_json_text(old, "previous pact"),
        accord_contract::Contract::from_json_text(new, "pact"),
    );
    if let (Ok(old), Ok(new)) = parsed {
        let classified = accord_contract::pact_diff::diff_pacts(&old, &new);
        if classified.changes.is_empty() {
            out.push_str("For the provider: nothing changed in what the pact asks.\n\n");
        } else {
            out.push_str(if classified.asks_more() {
                "For the provider: the new pact asks more.\n"
            } else {
                "For the provider: the new pact asks less.\n"
            });
            for change in &classified.changes {
                let mark = if change.kind.asks_more() { '+' } else { '-' };
                let at = if change.pointer.is_empty() {
                    String::new()
                } else {
                    format!(" {}", change.pointer)
                };
                out.push_str(&format!(
                    "  {mark} {}: {:?}{at}: {}\n",
                    change.kind.as_str(),
                    change.interaction,
                    change.detail
                ));
            }
            out.push('\n');
        }
    }
    out.push_str(&diff(old, new));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The streamed hash is the hash of the canonical JSON it stands for.
    #[test]
    fn the_streamed_hash_is_the_hash_of_the_canonical_document() {
        let pact = json!({"metadata": {"pactSpecification": {"version": "4.0"}}});
        let interactions = vec![
            r#"{"b":"quote \" and \\ slash"}"#.to_string(),
            "{}".to_string(),
        ];
        let messages = vec!["[1]".to_string()];
        let expected = accord_contract::content_hash(&json!({
            "interactions": [r#"{"b":"quote \" and \\ slash"}"#, "{}"],
            "messages": ["[1]"],
            "specification": "4.0",
        }));
        assert_eq!(hash_of_entries(&pact, interactions, messages), expected);
        let none = accord_contract::content_hash(&json!({
            "interactions": [], "messages": [], "specification": null,
        }));
        assert_eq!(hash_of_entries(&json!({}), vec![], vec![]), none);
    }

    fn doc(order: &[&str], library: &str) -> Value {
        json!({
            "consumer": { "name": "web" }, "provider": { "name": "api" },
            "interactions": order.iter().map(|d| json!({
                "description": d, "request": { "method": "GET", "path": "/" }, "response": { "status": 200 }
            })).collect::<Vec<_>>(),
            "metadata": { "pactSpecification": { "version": "3.0.0" }, "library": library }
        })
    }

    #[test]
    fn the_hash_of_a_prepared_pact_is_its_sha() {
        let prepared = prepare(doc(&["b", "a"], "1.0"), "pact").unwrap();
        let stored: Value = serde_json::from_str(&prepared.content).unwrap();
        assert_eq!(sha_of(&stored), prepared.sha);
    }

    #[test]
    fn the_hash_ignores_interaction_order_and_library_metadata() {
        let a = prepare(doc(&["a", "b"], "1.0"), "pact").unwrap();
        let b = prepare(doc(&["b", "a"], "2.0"), "pact").unwrap();
        assert_eq!(a.sha, b.sha);
        let c = prepare(doc(&["a", "c"], "1.0"), "pact").unwrap();
        assert_ne!(a.sha, c.sha);
    }

    /// Stored contents are found again by their hash and interaction ids: both must
    /// stay the same from one release to the next.
    #[test]
    fn hashes_and_ids_are_stable() {
        let mut pact = doc(&["b", "a"], "1.0");
        pact["interactions"][0]["_id"] = json!("stale id given by a client");
        let prepared = prepare(pact, "pact").unwrap();
        assert_eq!(
            prepared.sha,
            "e65c713f63fff096825bd42c790a584fdac722df4bd32835a8e004f79c771564"
        );
        let stored: Value = serde_json::from_str(&prepared.content).unwrap();
        let ids: Vec<&str> = stored["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "560fd4cddc4edba9bcb54346bb374dae76981f95",
                "5fab070041485599a8bdaad9e67919bbfb7b3932"
            ]
        );
        assert_eq!(
            prepared.content,
            r#"{"consumer":{"name":"web"},"provider":{"name":"api"},"interactions":[{"_id":"560fd4cddc4edba9bcb54346bb374dae76981f95","description":"b","request":{"method":"GET","path":"/"},"response":{"status":200}},{"_id":"5fab070041485599a8bdaad9e67919bbfb7b3932","description":"a","request":{"method":"GET","path":"/"},"response":{"status":200}}],"metadata":{"pactSpecification":{"version":"3.0.0"},"library":"1.0"}}"#
        );
    }

    #[test]
    fn interactions_get_ids_first() {
        let prepared = prepare(doc(&["a"], "1"), "pact").unwrap();
        let stored: Value = serde_json::from_str(&prepared.content).unwrap();
        let first_key = stored["interactions"][0]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert_eq!(first_key, "_id");
    }

    #[test]
    fn invalid_pacts_name_the_place() {
        let err = prepare(
            json!({ "consumer": { "name": "web" } }),
            "contracts[0].content",
        )
        .unwrap_err();
        assert!(err.message.contains("/provider/name"), "{err}");
    }
}
