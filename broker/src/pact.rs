//! Pact content: validation, interaction ids, the content hash and diffs.

use accord_contract::{Contract, content_hash};
use serde_json::{Map, Value, json};

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
pub fn prepare(json: Value, field: &str) -> Result<PreparedPact, ValidationError> {
    let contract = Contract::from_json(json, field)
        .map_err(|err| ValidationError::new(field, err.to_string()))?;
    let consumer = contract.consumer().to_string();
    let provider = contract.provider().to_string();
    let mut json = contract.json().clone();
    for key in ["interactions", "messages"] {
        if let Some(Value::Array(items)) = json.get_mut(key) {
            for item in items.iter_mut() {
                if let Value::Object(object) = item {
                    object.remove("_id");
                    let id = content_hash(&Value::Object(object.clone()));
                    let mut with_id = Map::new();
                    with_id.insert("_id".into(), Value::String(id[..40].to_string()));
                    with_id.extend(std::mem::take(object));
                    *object = with_id;
                }
            }
        }
    }
    Ok(PreparedPact {
        sha: sha_of(&json),
        content: json.to_string(),
        consumer,
        provider,
    })
}

/// The content hash: only what affects verification counts (the interactions or
/// messages, in any order, and the specification version), so re-publishing with
/// different white space, key order, interaction order or library metadata is
/// recognised as the same content.
pub fn sha_of(json: &Value) -> String {
    let entries = |key: &str| -> Vec<String> {
        let mut items: Vec<String> = json
            .get(key)
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
            .unwrap_or_default();
        items.sort();
        items
    };
    let metadata = json.get("metadata");
    let specification = metadata
        .and_then(|m| {
            m.pointer("/pactSpecification/version")
                .or_else(|| m.pointer("/pact-specification/version"))
                .or_else(|| m.get("pactSpecificationVersion"))
        })
        .cloned()
        .unwrap_or(Value::Null);
    content_hash(&json!({
        "interactions": entries("interactions"),
        "messages": entries("messages"),
        "specification": specification,
    }))
}

/// Merges the interactions of `new` into `existing`: an interaction with the same
/// description and provider state(s) replaces the old one, others are appended.
pub fn merge(existing: &Value, new: &Value) -> Value {
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
        match items
            .iter_mut()
            .find(|old| identity(old) == identity(&item))
        {
            Some(old) => *old = item,
            None => items.push(item),
        }
    }
    merged[key] = Value::Array(items);
    merged
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_hash_ignores_interaction_order_and_library_metadata() {
        let a = prepare(doc(&["a", "b"], "1.0"), "pact").unwrap();
        let b = prepare(doc(&["b", "a"], "2.0"), "pact").unwrap();
        assert_eq!(a.sha, b.sha);
        let c = prepare(doc(&["a", "c"], "1.0"), "pact").unwrap();
        assert_ne!(a.sha, c.sha);
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
