//! Message expectations: an event the consumer handles, written as JSON and turned into a
//! `pact_models` asynchronous message.
//!
//! One parser serves the Rust [`crate::MessagePactBuilder`] and the message endpoints of
//! `accord mock`'s admin API. Accepted forms:
//!
//! - the short form: `{"description", "providerStates", "contents", "contentType",
//!   "metadata"}`, where `contents` is any JSON value (a string is text) and `contents` and
//!   `metadata` values may hold integration JSON matchers (`{"pact:matcher:type": …}`);
//! - a V4 `Asynchronous/Messages` interaction (`contents` as `{"content", "contentType",
//!   "encoded"}`; binary payloads such as Avro or Protobuf are `"encoded": "base64"` and
//!   carried opaque);
//! - a V3 message as pact files hold it (`matchingRules` and `generators` kept).
//!
//! Problems name the JSON pointer of the faulty field, like the HTTP parser's.

use std::collections::HashMap;

use bytes::Bytes;
use pact_models::bodies::OptionalBody;
use pact_models::content_types::ContentType;
use pact_models::generators::{GeneratorCategory, GeneratorTestMode};
use pact_models::matchingrules::Category;
use pact_models::path_exp::DocPath;
use pact_models::v4::async_message::AsynchronousMessage;
use serde_json::{Map, Value, json};

use crate::integration::{Collected, FieldProblem, escape_pointer, extract};
use crate::parse::{check_description, check_states};

/// The V4 type name of an asynchronous message.
pub const MESSAGE_TYPE: &str = "Asynchronous/Messages";

/// Parses one message expectation. `pointer` is where it sits in the document it came from and
/// prefixes every reported pointer.
pub fn message_from_json(json: &Value, pointer: &str) -> Result<AsynchronousMessage, FieldProblem> {
    let Value::Object(map) = json else {
        return Err(FieldProblem::new(
            pointer,
            "a message must be a JSON object",
        ));
    };
    let at = |field: &str| format!("{pointer}/{field}");
    check_description(map, pointer)?;
    check_states(map, pointer)?;
    match map.get("type") {
        None => {}
        Some(Value::String(kind)) if kind == MESSAGE_TYPE => {}
        Some(Value::String(kind)) => {
            return Err(FieldProblem::new(
                at("type"),
                format!("{kind:?} is not a message type: only {MESSAGE_TYPE:?}"),
            ));
        }
        Some(_) => return Err(FieldProblem::new(at("type"), "must be a string")),
    }

    let mut body_rules = Collected::default();
    let mut metadata_rules = Collected::default();

    // The metadata: names to values, any of which may be a matcher.
    let metadata = match map.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(metadata)) => {
            let mut cleaned = Map::with_capacity(metadata.len());
            for (key, value) in metadata {
                if key.trim().is_empty() {
                    return Err(FieldProblem::new(
                        at("metadata"),
                        "metadata names must not be empty",
                    ));
                }
                let path = DocPath::root().join(key.as_str());
                let item_pointer = format!("{}/{}", at("metadata"), escape_pointer(key));
                cleaned.insert(
                    key.clone(),
                    extract(value, &path, &item_pointer, &mut metadata_rules)?,
                );
            }
            cleaned
        }
        Some(_) => {
            return Err(FieldProblem::new(
                at("metadata"),
                "must be an object of metadata names to values",
            ));
        }
    };
    let declared_type = match map.get("contentType") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err(FieldProblem::new(at("contentType"), "must be a string")),
    }
    .or_else(|| metadata_content_type(&metadata));

    let contents = contents_json(map, pointer, declared_type, &mut body_rules)?;

    let mut v4 = Map::new();
    v4.insert("type".into(), json!(MESSAGE_TYPE));
    v4.insert("description".into(), map["description"].clone());
    if let Some(states) = states_json(map) {
        v4.insert("providerStates".into(), states);
    }
    v4.insert("contents".into(), contents);
    if !metadata.is_empty() {
        v4.insert("metadata".into(), Value::Object(metadata));
    }
    for key in ["matchingRules", "generators", "comments", "pending"] {
        if let Some(value) = map.get(key) {
            v4.insert(key.into(), value.clone());
        }
    }
    let v4 = Value::Object(v4);

    accord_contract::shape::check_interaction(&v4, pointer, true)
        .map_err(|err| FieldProblem::new(err.pointer, err.problem))?;
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        AsynchronousMessage::from_json(&v4, 0)
    }));
    let mut message = match loaded {
        Ok(Ok(message)) => message,
        Ok(Err(err)) => {
            return Err(FieldProblem::new(
                pointer,
                format!("not a valid message: {err:#}"),
            ));
        }
        Err(_) => {
            return Err(FieldProblem::new(
                pointer,
                "the pact library could not read this message; check it against the pact specification",
            ));
        }
    };
    message.key = None;
    let rules = &mut message.contents.matching_rules;
    if !body_rules.rules.is_empty() {
        rules.add_rules(Category::BODY, body_rules.category("body"));
    }
    if !metadata_rules.rules.is_empty() {
        rules.add_rules(Category::METADATA, metadata_rules.category("metadata"));
    }
    for (category, part) in [
        (GeneratorCategory::BODY, &body_rules),
        (GeneratorCategory::METADATA, &metadata_rules),
    ] {
        for (path, generator) in &part.generators {
            message.contents.generators.add_generator_with_subcategory(
                &category,
                path.clone(),
                generator.clone(),
            );
        }
    }
    Ok(message)
}

/// `providerStates` as V4 wants it (a V2-style `providerState` string becomes one state).
fn states_json(map: &Map<String, Value>) -> Option<Value> {
    match (map.get("providerStates"), map.get("providerState")) {
        (Some(Value::Array(states)), _) if !states.is_empty() => Some(Value::Array(states.clone())),
        (_, Some(Value::String(name))) => Some(json!([{"name": name}])),
        _ => None,
    }
}

fn metadata_content_type(metadata: &Map<String, Value>) -> Option<String> {
    metadata
        .iter()
        .find(|(key, _)| {
            key.eq_ignore_ascii_case("contentType") || key.eq_ignore_ascii_case("content-type")
        })
        .and_then(|(_, value)| value.as_str().map(str::to_string))
}

/// The V4 `contents` object, with matchers replaced by their examples (and recorded).
fn contents_json(
    map: &Map<String, Value>,
    pointer: &str,
    declared_type: Option<String>,
    rules: &mut Collected,
) -> Result<Value, FieldProblem> {
    let contents_pointer = format!("{pointer}/contents");
    let Some(contents) = map.get("contents") else {
        return Ok(json!({"content": Value::Null}));
    };
    // The V4 form: {"content": …, "contentType": …, "encoded": …}.
    if let Value::Object(parts) = contents
        && parts.contains_key("content")
        && (map.get("type").is_some()
            || parts.contains_key("contentType")
            || parts.contains_key("encoded"))
    {
        let mut parts = parts.clone();
        let encoded = !matches!(parts.get("encoded"), None | Some(Value::Bool(false)));
        let content_type = match parts.get("contentType") {
            Some(Value::String(text)) => Some(text.clone()),
            None | Some(Value::Null) => declared_type,
            Some(_) => {
                return Err(FieldProblem::new(
                    format!("{contents_pointer}/contentType"),
                    "must be a string",
                ));
            }
        };
        if encoded {
            if !parts.get("content").is_some_and(Value::is_string) {
                return Err(FieldProblem::new(
                    format!("{contents_pointer}/content"),
                    "an encoded payload must be a string (base64)",
                ));
            }
            if content_type.is_none() {
                return Err(FieldProblem::new(
                    format!("{contents_pointer}/contentType"),
                    "is missing: a binary payload needs its content type (e.g. application/avro)",
                ));
            }
        } else {
            let example = extract(
                &parts["content"],
                &DocPath::root(),
                &format!("{contents_pointer}/content"),
                rules,
            )?;
            parts.insert("content".into(), example);
        }
        let content_type =
            content_type.unwrap_or_else(|| default_content_type(&parts["content"]).to_string());
        parts.insert("contentType".into(), json!(content_type));
        return Ok(Value::Object(parts));
    }
    let example = extract(contents, &DocPath::root(), &contents_pointer, rules)?;
    let content_type = declared_type.unwrap_or_else(|| default_content_type(&example).to_string());
    let is_json = ContentType::parse(content_type.as_str()).is_ok_and(|ct| ct.is_json());
    let content = match (&example, is_json) {
        // A JSON string is text unless the content type says JSON.
        (Value::String(_), _) | (_, true) => example,
        (other, false) => {
            return Err(FieldProblem::new(
                contents_pointer,
                format!(
                    "is {} but the content type is {content_type:?}: give text as a string, \
                     or binary as {{\"content\": \"<base64>\", \"encoded\": \"base64\"}}",
                    kind_of(other)
                ),
            ));
        }
    };
    Ok(json!({"content": content, "contentType": content_type, "encoded": false}))
}

fn default_content_type(example: &Value) -> &'static str {
    match example {
        Value::String(_) => "text/plain",
        _ => "application/json",
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The message a consumer's handler receives: the expectation's example with its generators
/// applied (a `uuid` generator gives a fresh id, a `datetime_now` the current time).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// The message description.
    pub description: String,
    /// The payload bytes.
    pub contents: Bytes,
    /// The payload's content type (`application/json`, `text/plain`, `application/avro`, …).
    pub content_type: Option<String>,
    /// The metadata (headers, a Kafka topic and key, CloudEvents attributes in binary mode).
    pub metadata: HashMap<String, Value>,
}

impl ReceivedMessage {
    /// The payload parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.contents)
    }

    /// The payload as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents).into_owned()
    }

    /// A metadata value as text (numbers and booleans as written, strings without quotes).
    pub fn metadata_str(&self, key: &str) -> Option<String> {
        self.metadata.get(key).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }

    /// As JSON for the admin API: `contents` is the JSON value for JSON payloads, the text for
    /// text, base64 for anything else (`encoded` says which).
    pub fn to_json(&self) -> Value {
        let content_type = self
            .content_type
            .as_deref()
            .and_then(|ct| ContentType::parse(ct).ok());
        let is_json = content_type.as_ref().is_some_and(ContentType::is_json);
        let is_text = content_type.as_ref().is_none_or(ContentType::is_text);
        let (contents, encoded) = match (is_json, self.json(), std::str::from_utf8(&self.contents))
        {
            (true, Ok(value), _) => (value, Value::Bool(false)),
            (_, _, Ok(text)) if is_text => (Value::String(text.to_string()), Value::Bool(false)),
            _ => {
                use base64::Engine;
                let text = base64::engine::general_purpose::STANDARD.encode(&self.contents);
                (Value::String(text), json!("base64"))
            }
        };
        json!({
            "description": self.description,
            "contents": contents,
            "contentType": self.content_type,
            "encoded": encoded,
            "metadata": self.metadata,
        })
    }
}

/// Applies the message's generators (consumer mode) and returns the message a handler gets.
pub async fn example_message(message: &AsynchronousMessage) -> ReceivedMessage {
    let contents = pact_matching::generators::apply_generators_to_async_message(
        message,
        &GeneratorTestMode::Consumer,
        &HashMap::new(),
        &Vec::new(),
        &HashMap::new(),
    )
    .await;
    let content_type = contents.message_content_type().map(|ct| ct.to_string());
    let bytes = match &contents.contents {
        OptionalBody::Present(bytes, _, _) => bytes.clone(),
        _ => Bytes::new(),
    };
    ReceivedMessage {
        description: message.description.clone(),
        contents: bytes,
        content_type,
        metadata: contents.metadata,
    }
}

#[cfg(test)]
mod tests {
    use pact_models::interaction::Interaction;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn short_form_with_matchers_and_generators() {
        let message = message_from_json(
            &json!({
                "description": "an order.created event",
                "providerStates": [{"name": "an order exists", "params": {"id": 7}}],
                "contents": {
                    "id": {"pact:matcher:type": "integer", "value": 7},
                    "ref": {"pact:matcher:type": "regex", "regex": "^[0-9a-f-]{36}$",
                            "value": "00000000-0000-0000-0000-000000000000",
                            "pact:generator:type": "Uuid"}
                },
                "metadata": {"kafka_topic": "orders", "key": {"pact:matcher:type": "type", "value": "7"}}
            }),
            "",
        )
        .unwrap();
        assert_eq!(message.description(), "an order.created event");
        assert_eq!(message.provider_states()[0].name, "an order exists");
        let rules = &message.contents.matching_rules;
        assert!(rules.rules_for_category("body").unwrap().is_not_empty());
        assert!(rules.rules_for_category("metadata").unwrap().is_not_empty());
        let example = example_message(&message).await;
        let body = example.json().unwrap();
        assert_eq!(body["id"], 7);
        assert_ne!(body["ref"], "00000000-0000-0000-0000-000000000000");
        assert_eq!(example.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            example.metadata_str("kafka_topic").as_deref(),
            Some("orders")
        );
    }

    #[test]
    fn problems_name_the_field() {
        let problem = |json: Value| message_from_json(&json, "/messages/0").unwrap_err();
        assert_eq!(
            problem(json!({"contents": {}})).pointer,
            "/messages/0/description"
        );
        assert_eq!(
            problem(json!({"description": "m", "metadata": []})).pointer,
            "/messages/0/metadata"
        );
        assert_eq!(
            problem(json!({"description": "m", "type": "Synchronous/HTTP"})).pointer,
            "/messages/0/type"
        );
        let bad =
            problem(json!({"description": "m", "contents": {"a": 1}, "contentType": "text/plain"}));
        assert_eq!(bad.pointer, "/messages/0/contents");
        let binary = problem(
            json!({"description": "m", "contents": {"content": "AAEC", "encoded": "base64"}}),
        );
        assert_eq!(binary.pointer, "/messages/0/contents/contentType");
    }

    #[tokio::test]
    async fn binary_payloads_stay_opaque() {
        let message = message_from_json(
            &json!({"description": "m", "type": "Asynchronous/Messages",
                "contents": {"content": "AAECAw==", "contentType": "application/avro", "encoded": "base64"}}),
            "",
        )
        .unwrap();
        let example = example_message(&message).await;
        assert_eq!(&example.contents[..], &[0, 1, 2, 3]);
        assert_eq!(example.content_type.as_deref(), Some("application/avro"));
        assert_eq!(example.to_json()["encoded"], "base64");
    }
}
