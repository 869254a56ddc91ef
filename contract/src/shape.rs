//! The shape check every pact passes before `pact_models` sees it.
//!
//! `pact_models` trusts parts of the documents it reads: a response `status` that is
//! not an unsigned integer makes it panic, and other malformed fields give vague
//! errors far from their cause. This module walks every field a pact of any
//! specification version (V1 to V4, HTTP interactions and messages) may carry and
//! stops at the first one that is not what the specification says, naming its JSON
//! pointer and what was expected. Fields it does not know are left alone (tools add
//! their own).

use serde_json::Value;

/// A field that is not what the pact specification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The JSON pointer of the field (`/interactions/2/response/status`).
    pub pointer: String,
    /// What was expected, and what was found.
    pub problem: String,
}

type Check = Result<(), ShapeError>;

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(pointer: &str, expected: &str, found: &Value) -> ShapeError {
    ShapeError {
        pointer: pointer.to_string(),
        problem: format!("must be {expected}, not {}", kind(found)),
    }
}

fn problem(pointer: &str, problem: impl Into<String>) -> ShapeError {
    ShapeError {
        pointer: pointer.to_string(),
        problem: problem.into(),
    }
}

/// Appends a key to a JSON pointer, escaping it as RFC 6901 says.
fn at(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", crate::openapi::escape(key))
}

fn object<'a>(
    value: &'a Value,
    pointer: &str,
) -> Result<&'a serde_json::Map<String, Value>, ShapeError> {
    value
        .as_object()
        .ok_or_else(|| wrong(pointer, "a JSON object", value))
}

fn optional<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    parent.get(key).filter(|v| !v.is_null())
}

fn string_field(parent: &Value, pointer: &str, key: &str, required: bool) -> Check {
    match optional(parent, key) {
        None if required => Err(problem(&at(pointer, key), "is missing")),
        None | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(wrong(&at(pointer, key), "a string", other)),
    }
}

fn object_field(parent: &Value, pointer: &str, key: &str) -> Check {
    match optional(parent, key) {
        None | Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(wrong(&at(pointer, key), "a JSON object", other)),
    }
}

/// Headers or query parameters: names to a value or a list of values. The reference
/// implementation turns numbers and booleans into text (and a `null` in a query list
/// into a parameter without a value), so only nested structures are refused.
fn string_map(parent: &Value, pointer: &str, key: &str) -> Check {
    let Some(value) = optional(parent, key) else {
        return Ok(());
    };
    // The reference implementation reads the first value of a header (an empty list of
    // `Content-Type` values made it panic); a query parameter may have none.
    let headers = key == "headers";
    let pointer = at(pointer, key);
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    for (name, entry) in object(value, &pointer)? {
        match entry {
            v if scalar(v) => {}
            Value::Array(items) if headers && items.is_empty() => {
                return Err(problem(
                    &at(&pointer, name),
                    "must be a string or a non-empty list of strings",
                ));
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !scalar(item) && !item.is_null() {
                        return Err(wrong(
                            &at(&at(&pointer, name), &i.to_string()),
                            "a string",
                            item,
                        ));
                    }
                }
            }
            other => {
                return Err(wrong(
                    &at(&pointer, name),
                    "a string or a list of strings",
                    other,
                ));
            }
        }
    }
    Ok(())
}

/// A query: a string (V2) or a map of names to strings or lists of strings (V3, V4).
fn query(parent: &Value, pointer: &str) -> Check {
    match optional(parent, "query") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Object(_)) => string_map(parent, pointer, "query"),
        Some(other) => Err(wrong(
            &at(pointer, "query"),
            "a query string or an object of parameters",
            other,
        )),
    }
}

/// `matchingRules` and `generators`: objects; each rule list an array of objects.
fn rules(parent: &Value, pointer: &str) -> Check {
    object_field(parent, pointer, "matchingRules")?;
    object_field(parent, pointer, "generators")?;
    let Some(Value::Object(categories)) = optional(parent, "matchingRules") else {
        return Ok(());
    };
    let base = at(pointer, "matchingRules");
    for (category, entries) in categories {
        let category_pointer = at(&base, category);
        // V2 keys each rule by its path (`"$.body.id": {"match": "type", "min": 1}`);
        // V3 and V4 group paths under a category (`"body": {"$.id": {"matchers": [...]}}`).
        if category.starts_with('$') {
            object(entries, &category_pointer)?;
            continue;
        }
        let paths = object(entries, &category_pointer)?;
        for (path, rule) in paths {
            let rule_pointer = at(&category_pointer, path);
            match rule {
                Value::Object(rule_object) => {
                    if let Some(list) = rule_object.get("matchers") {
                        let Value::Array(items) = list else {
                            return Err(wrong(&at(&rule_pointer, "matchers"), "an array", list));
                        };
                        for (i, item) in items.iter().enumerate() {
                            if !item.is_object() {
                                return Err(wrong(
                                    &at(&at(&rule_pointer, "matchers"), &i.to_string()),
                                    "a JSON object",
                                    item,
                                ));
                            }
                        }
                    }
                }
                // A category without paths (`"path": {"matchers": [...], "combine": "AND"}`).
                Value::Array(_) | Value::String(_) => {}
                other => return Err(wrong(&rule_pointer, "a JSON object", other)),
            }
        }
    }
    Ok(())
}

/// `providerState` (V1, V2) and `providerStates` (V3, V4).
fn provider_states(item: &Value, pointer: &str) -> Check {
    string_field(item, pointer, "providerState", false)?;
    let Some(states) = optional(item, "providerStates") else {
        return Ok(());
    };
    let states_pointer = at(pointer, "providerStates");
    let Value::Array(states) = states else {
        return Err(wrong(&states_pointer, "an array", states));
    };
    for (i, state) in states.iter().enumerate() {
        let state_pointer = at(&states_pointer, &i.to_string());
        object(state, &state_pointer)?;
        string_field(state, &state_pointer, "name", true)?;
        object_field(state, &state_pointer, "params")?;
    }
    Ok(())
}

/// A V4 body: `{"content": ..., "contentType": "...", "encoded": false|"base64"|...}`.
fn v4_body(parent: &Value, pointer: &str, key: &str) -> Check {
    let Some(body) = optional(parent, key) else {
        return Ok(());
    };
    let body_pointer = at(pointer, key);
    object(body, &body_pointer)?;
    string_field(body, &body_pointer, "contentType", false)?;
    match optional(body, "encoded") {
        None | Some(Value::Bool(_)) | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(wrong(
            &at(&body_pointer, "encoded"),
            "false or an encoding name such as \"base64\"",
            other,
        )),
    }
}

fn request(item: &Value, pointer: &str, v4: bool) -> Check {
    let Some(request) = optional(item, "request") else {
        return Err(problem(&at(pointer, "request"), "is missing"));
    };
    let pointer = at(pointer, "request");
    object(request, &pointer)?;
    // The reference implementation defaults a missing method to GET and path to /.
    string_field(request, &pointer, "method", false)?;
    if let Some(Value::String(method)) = optional(request, "method")
        && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(problem(
            &at(&pointer, "method"),
            format!("must be an HTTP method such as GET or POST, not {method:?}"),
        ));
    }
    string_field(request, &pointer, "path", false)?;
    query(request, &pointer)?;
    string_map(request, &pointer, "headers")?;
    if v4 {
        v4_body(request, &pointer, "body")?;
    }
    rules(request, &pointer)
}

fn response(item: &Value, pointer: &str, v4: bool) -> Check {
    let Some(response) = optional(item, "response") else {
        return Err(problem(&at(pointer, "response"), "is missing"));
    };
    let pointer = at(pointer, "response");
    object(response, &pointer)?;
    // A missing status defaults to 200 in the reference implementation; a `null` one
    // makes it panic, so it is refused like any other non-integer.
    match response.get("status") {
        None => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|s| (100..=999).contains(&s)) => {}
        Some(other) => {
            return Err(problem(
                &at(&pointer, "status"),
                format!(
                    "must be an HTTP status code, an integer from 100 to 999, not {}",
                    match other {
                        Value::Number(n) => format!("the number {n}"),
                        other => kind(other).to_string(),
                    }
                ),
            ));
        }
    }
    string_map(response, &pointer, "headers")?;
    if v4 {
        v4_body(response, &pointer, "body")?;
    }
    rules(response, &pointer)
}

/// A message's parts: `contents`, `metadata`, rules (V3 messages and V4 message parts).
fn message_part(part: &Value, pointer: &str, v4: bool) -> Check {
    object(part, pointer)?;
    object_field(part, pointer, "metadata")?;
    if v4 {
        v4_body(part, pointer, "contents")?;
    }
    rules(part, pointer)
}

fn interaction(item: &Value, pointer: &str, v4: bool, messages: bool) -> Check {
    object(item, pointer)?;
    string_field(item, pointer, "description", true)?;
    provider_states(item, pointer)?;
    if messages {
        return message_part(item, pointer, false);
    }
    if !v4 {
        request(item, pointer, false)?;
        return response(item, pointer, false);
    }
    let kind = match optional(item, "type") {
        None => "Synchronous/HTTP",
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => return Err(wrong(&at(pointer, "type"), "a string", other)),
    };
    match kind {
        "Synchronous/HTTP" => {
            request(item, pointer, true)?;
            response(item, pointer, true)
        }
        "Asynchronous/Messages" => message_part(item, pointer, true),
        "Synchronous/Messages" => {
            if let Some(request) = optional(item, "request") {
                message_part(request, &at(pointer, "request"), true)?;
            }
            match optional(item, "response") {
                None => Ok(()),
                Some(Value::Array(responses)) => {
                    for (i, response) in responses.iter().enumerate() {
                        message_part(
                            response,
                            &at(&at(pointer, "response"), &i.to_string()),
                            true,
                        )?;
                    }
                    Ok(())
                }
                Some(other) => Err(wrong(&at(pointer, "response"), "an array", other)),
            }
        }
        other => Err(problem(
            &at(pointer, "type"),
            format!(
                "must be Synchronous/HTTP, Asynchronous/Messages or Synchronous/Messages, not {other:?}"
            ),
        )),
    }
}

/// Checks one HTTP interaction on its own (as the mock admin API receives them); `pointer`
/// prefixes the pointers in errors, `v4` selects the V4 shapes of bodies.
pub fn check_interaction(item: &Value, pointer: &str, v4: bool) -> Check {
    interaction(item, pointer, v4, false)
}

/// The specification version the document declares (`metadata.pactSpecification.version`,
/// or the older `pact-specification` / `pactSpecificationVersion`), if any.
fn declared_version(json: &Value) -> Result<Option<&str>, ShapeError> {
    let Some(metadata) = optional(json, "metadata") else {
        return Ok(None);
    };
    object(metadata, "/metadata")?;
    for key in ["pactSpecification", "pact-specification"] {
        if let Some(spec) = optional(metadata, key) {
            let pointer = at("/metadata", key);
            object(spec, &pointer)?;
            string_field(spec, &pointer, "version", false)?;
            return Ok(optional(spec, "version").and_then(Value::as_str));
        }
    }
    string_field(metadata, "/metadata", "pactSpecificationVersion", false)?;
    Ok(optional(metadata, "pactSpecificationVersion").and_then(Value::as_str))
}

/// Checks `json` against the pact specification, stopping at the first field that breaks it.
pub fn check(json: &Value) -> Check {
    if !json.is_object() {
        return Err(wrong("", "a JSON object (a pact)", json));
    }
    for party in ["consumer", "provider"] {
        let pointer = format!("/{party}");
        let Some(value) = optional(json, party) else {
            return Err(problem(&at(&pointer, "name"), "is missing"));
        };
        object(value, &pointer)?;
        match optional(value, "name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            Some(Value::String(_)) => {
                return Err(problem(&at(&pointer, "name"), "must not be empty"));
            }
            Some(other) => return Err(wrong(&at(&pointer, "name"), "a string", other)),
            None => return Err(problem(&at(&pointer, "name"), "is missing")),
        }
    }
    let v4 = declared_version(json)?.is_some_and(|v| v.starts_with('4'));
    let lists = [
        ("interactions", optional(json, "interactions")),
        ("messages", optional(json, "messages")),
    ];
    if lists.iter().all(|(_, list)| list.is_none()) {
        return Err(problem("/interactions", "is missing"));
    }
    for (key, list) in lists {
        let Some(list) = list else { continue };
        let pointer = format!("/{key}");
        let Value::Array(items) = list else {
            return Err(wrong(&pointer, "an array", list));
        };
        for (index, item) in items.iter().enumerate() {
            interaction(
                item,
                &at(&pointer, &index.to_string()),
                v4,
                key == "messages",
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pact(version: &str, interactions: Value) -> Value {
        json!({
            "consumer": {"name": "web"}, "provider": {"name": "orders"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": version}}
        })
    }

    fn http(response_status: Value) -> Value {
        json!([{ "description": "a", "request": {"method": "GET", "path": "/"}, "response": {"status": response_status} }])
    }

    #[test]
    fn well_formed_pacts_of_every_version_pass() {
        assert_eq!(check(&pact("2.0.0", http(json!(200)))), Ok(()));
        assert_eq!(
            check(&pact(
                "3.0.0",
                json!([{
                    "description": "a", "providerStates": [{"name": "s", "params": {"id": 1}}],
                    "request": {"method": "post", "path": "/x", "query": {"a": ["1"]}, "headers": {"A": "b"},
                                "body": {"x": 1}, "matchingRules": {"body": {"$.x": {"matchers": [{"match": "type"}]}}}},
                    "response": {"status": 201, "headers": {"B": ["c", "d"]}, "generators": {"body": {}},
                                 "matchingRules": {"path": {"matchers": [{"match": "regex", "regex": "/x"}], "combine": "AND"}}}
                }])
            )),
            Ok(())
        );
        assert_eq!(
            check(&pact(
                "4.0",
                json!([
                    {"type": "Synchronous/HTTP", "description": "a", "request": {"method": "GET", "path": "/",
                      "body": {"content": "x", "contentType": "text/plain", "encoded": false}},
                     "response": {"status": 200, "body": {"content": "eA==", "encoded": "base64"}}},
                    {"type": "Asynchronous/Messages", "description": "m", "contents": {"content": {"a": 1}},
                     "metadata": {"contentType": "application/json"}},
                    {"type": "Synchronous/Messages", "description": "s", "request": {"contents": {"content": "q"}},
                     "response": [{"contents": {"content": "r"}}]}
                ])
            )),
            Ok(())
        );
        let messages = json!({
            "consumer": {"name": "a"}, "provider": {"name": "b"},
            "messages": [{"description": "m", "contents": {"a": 1}, "metadata": {"topic": "t"}}],
            "metadata": {"pactSpecification": {"version": "3.0.0"}}
        });
        assert_eq!(check(&messages), Ok(()));
    }

    #[test]
    fn each_malformed_field_is_named_by_its_pointer() {
        let table: Vec<(Value, &str)> = vec![
            (
                pact("3.0.0", http(json!("404"))),
                "/interactions/0/response/status",
            ),
            (
                pact("3.0.0", http(json!(-1))),
                "/interactions/0/response/status",
            ),
            (
                pact("3.0.0", http(json!(null))),
                "/interactions/0/response/status",
            ),
            (
                pact("3.0.0", http(json!(70000))),
                "/interactions/0/response/status",
            ),
            (
                pact("3.0.0", http(json!(2.5))),
                "/interactions/0/response/status",
            ),
            (
                pact("4.0", http(json!("404"))),
                "/interactions/0/response/status",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": 1, "path": "/"}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/method",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": 7}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/path",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": "/", "headers": {"A": {"b": 1}}}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/headers/A",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": "/", "query": 3}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/query",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "providerStates": [{"params": {}}], "request": {"method": "GET", "path": "/"}, "response": {"status": 200}}]),
                ),
                "/interactions/0/providerStates/0/name",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": "/", "matchingRules": []}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/matchingRules",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": "/"}, "response": {"status": 200, "matchingRules": {"body": {"$.a": {"matchers": {}}}}}}]),
                ),
                "/interactions/0/response/matchingRules/body/$.a/matchers",
            ),
            (
                pact(
                    "4.0",
                    json!([{"type": "Carrier/Pigeon", "description": "a"}]),
                ),
                "/interactions/0/type",
            ),
            (
                pact(
                    "4.0",
                    json!([{"type": "Asynchronous/Messages", "description": "a", "metadata": "x"}]),
                ),
                "/interactions/0/metadata",
            ),
            (
                pact(
                    "4.0",
                    json!([{"description": "a", "request": {"method": "GET", "path": "/", "body": "x"}, "response": {"status": 200}}]),
                ),
                "/interactions/0/request/body",
            ),
            (
                pact(
                    "3.0.0",
                    json!([{"description": "a", "response": {"status": 200}}]),
                ),
                "/interactions/0/request",
            ),
            (pact("3.0.0", json!({})), "/interactions"),
            (
                json!({"consumer": {"name": "a"}, "provider": "b", "interactions": []}),
                "/provider",
            ),
            (
                json!({"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": [], "metadata": {"pactSpecification": {"version": 3}}}),
                "/metadata/pactSpecification/version",
            ),
        ];
        for (json, pointer) in table {
            let err = check(&json).expect_err(pointer);
            assert_eq!(err.pointer, pointer, "{json}: {}", err.problem);
        }
    }

    #[test]
    fn an_empty_list_of_header_values_is_refused() {
        // pact_models indexes the first Content-Type value: an empty list panicked.
        let item = json!({"description": "a", "request": {"method": "POST", "path": "/", "headers": {"Content-Type": []}, "body": {}}, "response": {"status": 200}});
        let err = check_interaction(&item, "", false).unwrap_err();
        assert_eq!(err.pointer, "/request/headers/Content-Type");
        let fine = json!({"description": "a", "request": {"method": "GET", "path": "/", "query": {"q": []}}, "response": {"status": 200}});
        assert_eq!(check_interaction(&fine, "", false), Ok(()));
    }

    #[test]
    fn pointers_escape_slashes_in_keys() {
        let json = pact(
            "3.0.0",
            json!([{"description": "a", "request": {"method": "GET", "path": "/", "headers": {"a/b~c": []}, "query": {"x": [{}]}}, "response": {"status": 200}}]),
        );
        assert_eq!(
            check(&json).unwrap_err().pointer,
            "/interactions/0/request/query/x/0"
        );
    }
}
