//! Pact generators for the verifier and monitor benchmarks. Every interaction asks the
//! bench provider for one item and expects the body it answers (about 1 KB), described
//! with matchers: integers, decimals, types, regexes, dates and arrays with a minimum.

use serde_json::{Value, json};

use crate::provider::item;

/// The matching rules of an item body (the same for a response and a message).
pub fn item_rules() -> Value {
    json!({
        "$.id": {"matchers": [{"match": "integer"}]},
        "$.name": {"matchers": [{"match": "type"}]},
        "$.price": {"matchers": [{"match": "decimal"}]},
        "$.inStock": {"matchers": [{"match": "type"}]},
        "$.tags": {"matchers": [{"match": "type", "min": 1}]},
        "$.status": {"matchers": [{"match": "regex", "regex": "^(active|inactive|archived)$"}]},
        "$.createdAt": {"matchers": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss'Z'"}]},
        "$.updatedOn": {"matchers": [{"match": "date", "format": "yyyy-MM-dd"}]},
        "$.owner.id": {"matchers": [{"match": "integer"}]},
        "$.owner.email": {"matchers": [{"match": "regex", "regex": "^[^@]+@[^@]+$"}]},
        "$.lines": {"matchers": [{"match": "type", "min": 1}]},
        "$.lines[*].sku": {"matchers": [{"match": "regex", "regex": "^SKU-\\d+-\\d+$"}]},
        "$.lines[*].quantity": {"matchers": [{"match": "integer"}]},
        "$.lines[*].unitPrice": {"matchers": [{"match": "number"}]},
        "$.links.self": {"matchers": [{"match": "regex", "regex": "^/items/\\d+$"}]}
    })
}

/// A V3 message pact of `messages` item events (`an item.updated event 0`, …: the item's
/// body with the same rules as [`items_pact`], metadata `kafka_topic: items`), each with a
/// provider state when `states` is set. The bench provider produces them at
/// `/_pact/messages`.
pub fn items_message_pact(consumer: &str, provider: &str, messages: usize, states: bool) -> Value {
    let messages: Vec<Value> = (0..messages as u64)
        .map(|i| {
            let mut message = json!({
                "description": format!("an item.updated event {i}"),
                "contents": item(i),
                "metadata": {"kafka_topic": "items", "contentType": "application/json"},
                "matchingRules": {"body": item_rules()}
            });
            if states {
                message["providerStates"] =
                    json!([{"name": format!("item {i} exists"), "params": {"id": i}}]);
            }
            message
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "messages": messages,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// A V3 pact of `interactions` GET interactions (`/items/0`, `/items/1`, ...), each with
/// a provider state when `states` is set.
pub fn items_pact(consumer: &str, provider: &str, interactions: usize, states: bool) -> Value {
    let interactions: Vec<Value> = (0..interactions as u64)
        .map(|i| {
            let mut interaction = json!({
                "description": format!("a request for item {i}"),
                "request": {"method": "GET", "path": format!("/items/{i}"),
                            "headers": {"Accept": "application/json"}},
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": item(i),
                    "matchingRules": {"body": item_rules()}
                }
            });
            if states {
                interaction["providerStates"] =
                    json!([{"name": format!("item {i} exists"), "params": {"id": i}}]);
            }
            interaction
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}
