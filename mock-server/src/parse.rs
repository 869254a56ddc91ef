//! Turning an interaction written as JSON into a `pact_models` interaction.
//!
//! One parser serves the Rust builder, the admin API of `accord mock` and nothing else: the
//! builder assembles the same JSON a client of the admin API would send. Accepted forms:
//!
//! - pact file interactions in the V2/V3 shape (`providerState`/`providerStates`, `request`,
//!   `response`, `matchingRules`, `generators`), and V4 `Synchronous/HTTP` interactions;
//! - in any of them, integration JSON matchers (`{"pact:matcher:type": …}`) in the path, query
//!   parameters, headers, bodies and status (see [`crate::integration`]).
//!
//! `pact_models` is lenient (it fills in defaults for anything missing), so the shape is checked
//! here first, and every problem names the JSON pointer of the faulty field.

use pact_models::PactSpecification;
use pact_models::bodies::OptionalBody;
use pact_models::content_types::ContentType;
use pact_models::generators::GeneratorCategory;
use pact_models::interaction::Interaction;
use pact_models::matchingrules::Category;
use pact_models::path_exp::DocPath;
use pact_models::sync_interaction::RequestResponseInteraction;
use pact_models::v4::synch_http::SynchronousHttp;
use serde_json::{Map, Value};

use crate::integration::{Collected, FieldProblem, escape_pointer, extract};

/// Rules and generators found in integration JSON, per part of the interaction.
#[derive(Default)]
struct PartRules {
    path: Collected,
    query: Collected,
    headers: Collected,
    body: Collected,
    status: Collected,
}

/// Parses one interaction. `pointer` is where it sits in the document it came from (`""` for a
/// lone interaction, `/interactions/3` inside a list) and prefixes every reported pointer.
pub fn interaction_from_json(json: &Value, pointer: &str) -> Result<SynchronousHttp, FieldProblem> {
    let Value::Object(map) = json else {
        return Err(FieldProblem::new(
            pointer,
            "an interaction must be a JSON object",
        ));
    };
    let at = |field: &str| format!("{pointer}/{field}");

    check_description(map, pointer)?;
    check_states(map, pointer)?;

    let v4 = match map.get("type") {
        None => false,
        Some(Value::String(kind)) if kind == "Synchronous/HTTP" => true,
        Some(Value::String(kind)) => {
            return Err(FieldProblem::new(
                at("type"),
                format!("{kind:?} interactions are not supported: only \"Synchronous/HTTP\""),
            ));
        }
        Some(_) => return Err(FieldProblem::new(at("type"), "must be a string")),
    };

    let mut cleaned = map.clone();
    let mut rules = PartRules::default();
    let request_pointer = at("request");
    let request = match map.get("request") {
        Some(Value::Object(request)) => request,
        Some(_) => return Err(FieldProblem::new(request_pointer, "must be a JSON object")),
        None => return Err(FieldProblem::new(request_pointer, "is missing")),
    };
    let response_pointer = at("response");
    let response = match map.get("response") {
        Some(Value::Object(response)) => response,
        Some(_) => return Err(FieldProblem::new(response_pointer, "must be a JSON object")),
        None => return Err(FieldProblem::new(response_pointer, "is missing")),
    };

    let request = clean_request(request, &request_pointer, v4, &mut rules)?;
    let mut response_rules = PartRules::default();
    let response = clean_response(response, &response_pointer, v4, &mut response_rules)?;
    cleaned.insert("request".into(), Value::Object(request));
    cleaned.insert("response".into(), Value::Object(response));
    let cleaned = Value::Object(cleaned);

    // The shape check every pact passes, then the library behind a guard: a panic of
    // `pact_models` on something the check let through is a problem, not a crash.
    accord_contract::shape::check_interaction(&cleaned, pointer, v4)
        .map_err(|err| FieldProblem::new(err.pointer, err.problem))?;
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if v4 {
            SynchronousHttp::from_json(&cleaned, 0).map_err(|err| {
                FieldProblem::new(pointer, format!("not a valid interaction: {err:#}"))
            })
        } else {
            RequestResponseInteraction::from_json(0, &cleaned, &PactSpecification::V3)
                .map_err(|err| {
                    FieldProblem::new(pointer, format!("not a valid interaction: {err:#}"))
                })?
                .as_v4_http()
                .ok_or_else(|| FieldProblem::new(pointer, "not an HTTP interaction"))
        }
    }));
    let mut interaction = match loaded {
        Ok(result) => result?,
        Err(_) => {
            return Err(FieldProblem::new(
                pointer,
                "the pact library could not read this interaction; check it against the pact specification",
            ));
        }
    };
    // pact_models keys V4 interactions by a hash of their content; ours must be computed again
    // once the integration rules are added below.
    interaction.key = None;
    // A V3-shaped JSON body is loaded without a content type of its own; a V4 pact needs one
    // (or the verifier compares it as opaque bytes), so it is taken from the headers or the
    // content.
    let request_type = interaction.request.content_type();
    set_body_content_type(&mut interaction.request.body, request_type);
    let response_type = interaction.response.content_type();
    set_body_content_type(&mut interaction.response.body, response_type);

    let request_rules = &mut interaction.request.matching_rules;
    for (name, part) in [
        (Category::PATH, &rules.path),
        (Category::QUERY, &rules.query),
        (Category::HEADER, &rules.headers),
        (Category::BODY, &rules.body),
    ] {
        if !part.rules.is_empty() {
            request_rules.add_rules(name.clone(), part.category(&name.to_string()));
        }
    }
    let request_generators = &mut interaction.request.generators;
    for (category, part) in [
        (GeneratorCategory::PATH, &rules.path),
        (GeneratorCategory::QUERY, &rules.query),
        (GeneratorCategory::HEADER, &rules.headers),
        (GeneratorCategory::BODY, &rules.body),
    ] {
        for (path, generator) in &part.generators {
            request_generators.add_generator_with_subcategory(
                &category,
                path.clone(),
                generator.clone(),
            );
        }
    }
    let response_rules_target = &mut interaction.response.matching_rules;
    for (name, part) in [
        (Category::STATUS, &response_rules.status),
        (Category::HEADER, &response_rules.headers),
        (Category::BODY, &response_rules.body),
    ] {
        if !part.rules.is_empty() {
            response_rules_target.add_rules(name.clone(), part.category(&name.to_string()));
        }
    }
    let response_generators = &mut interaction.response.generators;
    for (category, part) in [
        (GeneratorCategory::STATUS, &response_rules.status),
        (GeneratorCategory::HEADER, &response_rules.headers),
        (GeneratorCategory::BODY, &response_rules.body),
    ] {
        for (path, generator) in &part.generators {
            response_generators.add_generator_with_subcategory(
                &category,
                path.clone(),
                generator.clone(),
            );
        }
    }
    Ok(interaction)
}

fn set_body_content_type(body: &mut OptionalBody, content_type: Option<ContentType>) {
    if let OptionalBody::Present(_, slot @ None, _) = body {
        *slot = content_type;
    }
}

/// `description` must be a non-empty string.
pub(crate) fn check_description(
    map: &Map<String, Value>,
    pointer: &str,
) -> Result<(), FieldProblem> {
    let at = format!("{pointer}/description");
    match map.get("description") {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(()),
        Some(Value::String(_)) => Err(FieldProblem::new(at, "must not be empty")),
        Some(_) => Err(FieldProblem::new(at, "must be a string")),
        None => Err(FieldProblem::new(at, "is missing")),
    }
}

/// `providerState` / `providerStates`: names not empty, parameters objects.
pub(crate) fn check_states(map: &Map<String, Value>, pointer: &str) -> Result<(), FieldProblem> {
    if let Some(state) = map.get("providerState")
        && !matches!(state, Value::String(_) | Value::Null)
    {
        return Err(FieldProblem::new(
            format!("{pointer}/providerState"),
            "must be a string",
        ));
    }
    match map.get("providerStates") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(states)) => {
            for (index, state) in states.iter().enumerate() {
                let at = format!("{pointer}/providerStates/{index}");
                match state.get("name") {
                    Some(Value::String(name)) if !name.trim().is_empty() => {}
                    Some(Value::String(_)) => {
                        return Err(FieldProblem::new(format!("{at}/name"), "must not be empty"));
                    }
                    Some(_) => {
                        return Err(FieldProblem::new(format!("{at}/name"), "must be a string"));
                    }
                    None if state.is_object() => {
                        return Err(FieldProblem::new(format!("{at}/name"), "is missing"));
                    }
                    None => return Err(FieldProblem::new(at, "must be a JSON object")),
                }
                if let Some(params) = state.get("params")
                    && !matches!(params, Value::Object(_) | Value::Null)
                {
                    return Err(FieldProblem::new(
                        format!("{at}/params"),
                        "must be a JSON object of parameter names to values",
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(FieldProblem::new(
            format!("{pointer}/providerStates"),
            "must be an array of {\"name\": …, \"params\": {…}} objects",
        )),
    }
}

fn clean_request(
    request: &Map<String, Value>,
    pointer: &str,
    v4: bool,
    rules: &mut PartRules,
) -> Result<Map<String, Value>, FieldProblem> {
    let mut cleaned = request.clone();
    match request.get("method") {
        Some(Value::String(method))
            if !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            cleaned.insert("method".into(), Value::String(method.to_ascii_uppercase()));
        }
        Some(Value::String(method)) => {
            return Err(FieldProblem::new(
                format!("{pointer}/method"),
                format!("{method:?} is not an HTTP method"),
            ));
        }
        Some(_) => {
            return Err(FieldProblem::new(
                format!("{pointer}/method"),
                "must be a string",
            ));
        }
        None => return Err(FieldProblem::new(format!("{pointer}/method"), "is missing")),
    }
    let path_pointer = format!("{pointer}/path");
    match request.get("path") {
        Some(value) => {
            let example = extract(value, &DocPath::empty(), &path_pointer, &mut rules.path)?;
            match example {
                Value::String(path) if path.starts_with('/') => {
                    cleaned.insert("path".into(), Value::String(path));
                }
                Value::String(_) => {
                    return Err(FieldProblem::new(path_pointer, "must start with '/'"));
                }
                _ => return Err(FieldProblem::new(path_pointer, "must be a string")),
            }
        }
        None => return Err(FieldProblem::new(path_pointer, "is missing")),
    }
    match request.get("query") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(Value::Object(query)) => {
            let cleaned_query =
                clean_multi_map(query, &format!("{pointer}/query"), &mut rules.query)?;
            cleaned.insert("query".into(), Value::Object(cleaned_query));
        }
        Some(_) => {
            return Err(FieldProblem::new(
                format!("{pointer}/query"),
                "must be a query string or an object of parameter names to values",
            ));
        }
    }
    clean_headers(request, &mut cleaned, pointer, &mut rules.headers)?;
    check_rule_sections(request, pointer)?;
    clean_body(request, &mut cleaned, pointer, v4, &mut rules.body)?;
    Ok(cleaned)
}

fn clean_response(
    response: &Map<String, Value>,
    pointer: &str,
    v4: bool,
    rules: &mut PartRules,
) -> Result<Map<String, Value>, FieldProblem> {
    let mut cleaned = response.clone();
    let status_pointer = format!("{pointer}/status");
    match response.get("status") {
        Some(value) => {
            let example = extract(value, &DocPath::empty(), &status_pointer, &mut rules.status)?;
            match example.as_u64() {
                Some(status) if (100..=599).contains(&status) => {
                    cleaned.insert("status".into(), Value::from(status));
                }
                _ => {
                    return Err(FieldProblem::new(
                        status_pointer,
                        "must be an HTTP status code, a number from 100 to 599",
                    ));
                }
            }
        }
        None => return Err(FieldProblem::new(status_pointer, "is missing")),
    }
    clean_headers(response, &mut cleaned, pointer, &mut rules.headers)?;
    check_rule_sections(response, pointer)?;
    clean_body(response, &mut cleaned, pointer, v4, &mut rules.body)?;
    Ok(cleaned)
}

fn check_rule_sections(part: &Map<String, Value>, pointer: &str) -> Result<(), FieldProblem> {
    for section in ["matchingRules", "generators"] {
        if let Some(value) = part.get(section)
            && !matches!(value, Value::Object(_) | Value::Null)
        {
            return Err(FieldProblem::new(
                format!("{pointer}/{section}"),
                "must be a JSON object",
            ));
        }
    }
    if let Some(Value::Object(rules)) = part.get("matchingRules") {
        pact_models::matchingrules::matchers_from_json(
            &Value::Object(Map::from_iter([(
                "matchingRules".to_string(),
                Value::Object(rules.clone()),
            )])),
            &None,
        )
        .map_err(|err| FieldProblem::new(format!("{pointer}/matchingRules"), format!("{err:#}")))?;
    }
    Ok(())
}

fn clean_headers(
    part: &Map<String, Value>,
    cleaned: &mut Map<String, Value>,
    pointer: &str,
    rules: &mut Collected,
) -> Result<(), FieldProblem> {
    match part.get("headers") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(headers)) => {
            let headers_pointer = format!("{pointer}/headers");
            for name in headers.keys() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(FieldProblem::new(
                        format!("{headers_pointer}/{}", escape_pointer(name)),
                        format!("{name:?} is not a valid header name"),
                    ));
                }
            }
            let cleaned_headers = clean_multi_map(headers, &headers_pointer, rules)?;
            cleaned.insert("headers".into(), Value::Object(cleaned_headers));
            Ok(())
        }
        Some(_) => Err(FieldProblem::new(
            format!("{pointer}/headers"),
            "must be an object of header names to values",
        )),
    }
}

/// Headers and query parameters: each name maps to a value or an array of values, any of which
/// may be a matcher. Examples must be strings (numbers and booleans are written as text).
fn clean_multi_map(
    map: &Map<String, Value>,
    pointer: &str,
    rules: &mut Collected,
) -> Result<Map<String, Value>, FieldProblem> {
    let mut cleaned = Map::with_capacity(map.len());
    for (name, value) in map {
        let name_pointer = format!("{pointer}/{}", escape_pointer(name));
        let path = DocPath::root().join_field(name.as_str());
        let values: Vec<(String, &Value)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| (format!("{name_pointer}/{index}"), item))
                .collect(),
            other => vec![(name_pointer.clone(), other)],
        };
        let mut examples = Vec::with_capacity(values.len());
        for (item_pointer, item) in values {
            match extract(item, &path, &item_pointer, rules)? {
                Value::String(text) => examples.push(Value::String(text)),
                Value::Number(number) => examples.push(Value::String(number.to_string())),
                Value::Bool(flag) => examples.push(Value::String(flag.to_string())),
                _ => {
                    return Err(FieldProblem::new(
                        item_pointer,
                        "must be a string (or an array of strings)",
                    ));
                }
            }
        }
        let value = if examples.len() == 1 && !value.is_array() {
            examples.pop().unwrap_or_default()
        } else {
            Value::Array(examples)
        };
        cleaned.insert(name.clone(), value);
    }
    Ok(cleaned)
}

fn header_value<'a>(part: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    let headers = part.get("headers")?.as_object()?;
    let (_, value) = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))?;
    match value {
        Value::String(text) => Some(text),
        Value::Array(items) => items.first()?.as_str(),
        _ => None,
    }
}

fn clean_body(
    part: &Map<String, Value>,
    cleaned: &mut Map<String, Value>,
    pointer: &str,
    v4: bool,
    rules: &mut Collected,
) -> Result<(), FieldProblem> {
    let Some(body) = part.get("body") else {
        return Ok(());
    };
    let content_type = cleaned
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|_| header_value(cleaned, "content-type"))
        .map(str::to_ascii_lowercase);
    let body_pointer = format!("{pointer}/body");
    if v4 {
        // A V4 body is `{"content": …, "contentType": …, "encoded": …}`.
        if let Value::Object(body_map) = body
            && let Some(content) = body_map.get("content")
        {
            let encoded = !matches!(body_map.get("encoded"), None | Some(Value::Bool(false)));
            if encoded {
                return Ok(());
            }
            let example = extract(
                content,
                &DocPath::root(),
                &format!("{body_pointer}/content"),
                rules,
            )?;
            let mut body_map = body_map.clone();
            let declared = body_map
                .get("contentType")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .or(content_type);
            body_map.insert(
                "content".into(),
                encode_form_if_needed(example, declared.as_deref()),
            );
            cleaned.insert("body".into(), Value::Object(body_map));
        }
        return Ok(());
    }
    let example = extract(body, &DocPath::root(), &body_pointer, rules)?;
    cleaned.insert(
        "body".into(),
        encode_form_if_needed(example, content_type.as_deref()),
    );
    Ok(())
}

/// A form body may be written as a JSON object (so that its fields can carry matchers); the
/// pact holds it as the encoded text.
fn encode_form_if_needed(example: Value, content_type: Option<&str>) -> Value {
    let is_form =
        content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    match (&example, is_form) {
        (Value::Object(fields), true) => {
            let mut serializer = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                let values = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for value in values {
                    match value {
                        Value::String(text) => serializer.append_pair(name, text),
                        other => serializer.append_pair(name, &other.to_string()),
                    };
                }
            }
            Value::String(serializer.finish())
        }
        _ => example,
    }
}

#[cfg(test)]
mod tests {
    use pact_models::matchingrules::MatchingRule;
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_a_v3_interaction_with_integration_matchers() {
        let interaction = interaction_from_json(
            &json!({
                "description": "get order",
                "providerStates": [{"name": "order exists", "params": {"id": 1}}],
                "request": {"method": "get", "path": "/orders/1",
                    "headers": {"Accept": "application/json"}},
                "response": {"status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"id": {"pact:matcher:type": "integer", "value": 1}}}
            }),
            "",
        )
        .unwrap();
        assert_eq!(interaction.request.method, "GET");
        assert_eq!(interaction.provider_states[0].params["id"], json!(1));
        let rules = interaction
            .response
            .matching_rules
            .rules_for_category("body")
            .unwrap();
        assert!(
            rules
                .rules
                .values()
                .any(|list| list.rules == vec![MatchingRule::Integer])
        );
        match &interaction.response.body {
            OptionalBody::Present(bytes, _, _) => {
                assert_eq!(
                    serde_json::from_slice::<Value>(bytes).unwrap(),
                    json!({"id": 1})
                );
            }
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn problems_name_the_field() {
        let err = interaction_from_json(
            &json!({"description": "x", "request": {"method": 1, "path": "/"}, "response": {"status": 200}}),
            "/interactions/2",
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/interactions/2/request/method");

        let err = interaction_from_json(
            &json!({"description": "x", "request": {"method": "GET", "path": "/"}, "response": {"status": 700}}),
            "",
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/response/status");

        let err = interaction_from_json(&json!({"request": {}, "response": {}}), "").unwrap_err();
        assert_eq!(err.pointer, "/description");
    }

    #[test]
    fn form_bodies_are_encoded() {
        let interaction = interaction_from_json(
            &json!({"description": "login", "request": {"method": "POST", "path": "/login",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": {"user": {"pact:matcher:type": "type", "value": "ann"}, "n": 2}},
                "response": {"status": 204}}),
            "",
        )
        .unwrap();
        assert_eq!(
            interaction.request.body.value_as_string().unwrap(),
            "user=ann&n=2"
        );
    }
}
