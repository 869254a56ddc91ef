//! Pact generators for the verifier and monitor benchmarks. Every interaction asks the
//! bench provider for one item and expects the body it answers (about 1 KB), described
//! with matchers: integers, decimals, types, regexes, dates and arrays with a minimum.

use serde_json::{Value, json};

use crate::provider::item;

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
                    "matchingRules": {"body": {
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
                    }}
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
