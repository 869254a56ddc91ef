//! Provider contracts for events: an AsyncAPI document checked against the message
//! pacts of its consumers.
//!
//! [`EventSpec::parse`] reads an AsyncAPI 2.x or 3.0 document (JSON or YAML), checks
//! that every `$ref` resolves inside it, and lists each message with the channel it
//! travels on, its payload schema, its headers schema and its content type (message
//! traits applied). [`EventSpec::check`] then takes each message interaction of a pact:
//!
//! 1. its channel comes from its metadata (`kafka_topic`, `routing_key`, … — see
//!    [`crate::message::CHANNEL_KEYS`]) and must be one of the document's channel
//!    addresses (`{parameters}` match any value);
//! 2. the messages the provider sends on that channel are the candidates (AsyncAPI 3.0:
//!    the messages of its `send` operations; 2.x: every message of the channel, since
//!    documents use `publish` and `subscribe` from either side). A pact that names no
//!    channel is compared with every message the provider sends;
//! 3. each candidate is checked: content type, contents against the payload schema and
//!    the metadata's headers against the headers schema, both as a consumer reads them
//!    (the response view of [`crate::openapi`]: nothing required, objects closed). The
//!    first candidate that fits is the message; when none does, the closest one's
//!    mismatches are reported.
//!
//! Payloads in another schema format (Avro, Protobuf, RAML) are not checked: the
//! interaction is listed as skipped, so the comparison is not complete and gives no
//! result.
//!
//! ```
//! use accord_contract::{Contract, asyncapi::EventSpec};
//! use serde_json::json;
//!
//! let spec = EventSpec::parse(r##"
//! asyncapi: 3.0.0
//! info: {title: orders, version: "1"}
//! channels:
//!   orders:
//!     address: orders
//!     messages:
//!       orderCreated:
//!         payload:
//!           type: object
//!           properties: {id: {type: integer}, createdAt: {type: string, format: date-time}}
//! operations:
//!   publishOrders: {action: send, channel: {$ref: "#/channels/orders"}}
//! "##).unwrap();
//! let pact = Contract::from_json(json!({
//!     "consumer": {"name": "shipping"}, "provider": {"name": "orders"},
//!     "messages": [{
//!         "description": "an order was created",
//!         "contents": {"id": 1, "createdAt": 1714557600},
//!         "metadata": {"kafka_topic": "orders", "contentType": "application/json"}
//!     }],
//!     "metadata": {"pactSpecification": {"version": "3.0.0"}}
//! }), "example").unwrap();
//! let comparison = spec.check(&pact);
//! let mismatch = &comparison.interactions[0].mismatches[0];
//! assert_eq!(mismatch.pointer, "/contents/createdAt");
//! ```

use std::collections::HashSet;

use jsonschema::Validator;
use pact_models::v4::async_message::AsynchronousMessage;
use serde_json::{Map, Value};

use crate::Contract;
use crate::message;
use crate::openapi::Compiled;
use crate::openapi::paths::template_pattern;
use crate::openapi::schema::{self, Dialect, View, deref, resolved_pointer};
use crate::openapi::{
    Change, ChangeKind, ChangeSide, Comparison, ConsumerPact, InteractionCheck, Mismatch,
    MismatchKind, Resolve, Side, Skipped, SpecDiff, SpecError, Usage, change, check_references,
    compare_schema, describe, escape, holds, json_of, media_essence, one_of, read_document, scalar,
    schema_mismatches, schema_type, shape,
};

/// Which AsyncAPI version a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncApiVersion {
    V2,
    V3,
}

/// A message of the document, as a channel carries it.
#[derive(Debug, Clone)]
struct MessageDef {
    /// Its name: the message's `name`, else its `messageId`, else its key.
    name: String,
    /// JSON pointer of the message object (after `$ref`s).
    pointer: String,
    /// JSON pointer of its payload schema, if it has one Accord reads.
    payload: Option<String>,
    /// The payload's schema format, when it is one Accord does not read.
    foreign_format: Option<String>,
    /// JSON pointer of its headers schema (its own, or a trait's).
    headers: Option<String>,
    content_type: Option<String>,
    /// Whether the provider sends it (as opposed to only receiving it).
    sent: bool,
}

/// A channel of the document.
#[derive(Debug)]
struct Channel {
    address: String,
    pointer: String,
    matcher: Option<regex::Regex>,
    /// The address's parameters in order, each with the values it allows (a 2.x
    /// parameter's schema, a 3.0 parameter's `enum`), when it says.
    parameters: Vec<(String, Option<Validator>)>,
    messages: Vec<MessageDef>,
}

impl Channel {
    /// Whether a channel name is this channel: `Err` says which parameter value the
    /// address does not allow.
    fn matches(&self, name: &str) -> Result<bool, String> {
        let Some(matcher) = &self.matcher else {
            return Ok(self.address == name);
        };
        let Some(captures) = matcher.captures(name) else {
            return Ok(false);
        };
        for (index, (parameter, rule)) in self.parameters.iter().enumerate() {
            let (Some(value), Some(rule)) = (captures.get(index + 1), rule) else {
                continue;
            };
            let instance = Value::String(value.as_str().to_string());
            if let Some(error) = rule.iter_errors(&instance).next() {
                return Err(format!(
                    "{}, where parameter {parameter} = {:?} is not allowed ({})",
                    self.address,
                    value.as_str(),
                    error.masked()
                ));
            }
        }
        Ok(true)
    }
}

/// A parsed AsyncAPI document, ready to check message pacts against.
pub struct EventSpec {
    doc: Value,
    version: AsyncApiVersion,
    channels: Vec<Channel>,
    compiled: Compiled,
}

impl std::fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSpec")
            .field("version", &self.version)
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

/// What checking a message against one candidate found.
struct Candidate<'a> {
    message: &'a MessageDef,
    channel: &'a Channel,
    mismatches: Vec<Mismatch>,
}

impl EventSpec {
    /// Reads a document: JSON when it starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        Self::from_value(read_document(text)?)
    }

    /// Takes an already-parsed document.
    pub fn from_value(doc: Value) -> Result<Self, SpecError> {
        let version = match doc.get("asyncapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("2.") => AsyncApiVersion::V2,
            Some(v) if v.starts_with("3.0") => AsyncApiVersion::V3,
            Some(v) => return Err(SpecError::NotAsyncApi(format!("`asyncapi` is {v:?}"))),
            None => return Err(SpecError::NotAsyncApi("it has no `asyncapi` field".into())),
        };
        match doc.get("channels") {
            Some(Value::Object(_)) | None => {}
            Some(_) => return Err(SpecError::NotAsyncApi("`channels` is not an object".into())),
        }
        check_references(&doc, &doc, &mut String::new())?;
        let channels = match version {
            AsyncApiVersion::V2 => channels_2(&doc),
            AsyncApiVersion::V3 => channels_3(&doc),
        };
        let compiled = Compiled::new(View::Response, convert(&doc, &channels))?;
        Ok(Self {
            doc,
            version,
            channels,
            compiled,
        })
    }

    /// The document as it was read.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    pub fn version(&self) -> AsyncApiVersion {
        self.version
    }

    /// Checks every asynchronous message of the pact; HTTP interactions and synchronous
    /// messages are listed as skipped.
    pub fn check(&self, contract: &Contract) -> Comparison {
        crate::provider_contract::check_parts(None, Some(self), contract)
    }

    /// Checks one message interaction, or says why it cannot be checked.
    pub fn check_message(
        &self,
        message: &AsynchronousMessage,
    ) -> Result<InteractionCheck, Skipped> {
        let metadata = &message.contents.metadata;
        let named = message::channels(metadata);
        let check = |mismatches: Vec<Mismatch>, operation: Option<String>| InteractionCheck {
            description: message.description.clone(),
            provider_states: message
                .provider_states
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            operation,
            mismatches,
        };
        let mut refused: Vec<String> = Vec::new();
        let channels: Vec<&Channel> = if named.is_empty() {
            self.channels.iter().collect()
        } else {
            self.channels
                .iter()
                .filter(|c| {
                    named.iter().any(|n| match c.matches(n) {
                        Ok(found) => found,
                        Err(problem) => {
                            refused.push(problem);
                            false
                        }
                    })
                })
                .collect()
        };
        if channels.is_empty() {
            let mut mismatch = self.unknown_channel(&named);
            if let Some(problem) = refused.first() {
                mismatch.allowed = problem.clone();
            }
            return Ok(check(vec![mismatch], None));
        }
        let candidates: Vec<(&Channel, &MessageDef)> = channels
            .iter()
            .flat_map(|c| c.messages.iter().map(move |m| (*c, m)))
            .filter(|(_, m)| m.sent)
            .collect();
        if candidates.is_empty() {
            return Ok(check(vec![self.nothing_sent(&channels, &named)], None));
        }
        let mut best: Option<Candidate<'_>> = None;
        let mut foreign: Option<&MessageDef> = None;
        for (channel, candidate) in candidates {
            if candidate.foreign_format.is_some() {
                foreign.get_or_insert(candidate);
                continue;
            }
            let found = Candidate {
                message: candidate,
                channel,
                mismatches: self.check_candidate(message, candidate),
            };
            if found.mismatches.is_empty() {
                best = Some(found);
                break;
            }
            if best
                .as_ref()
                .is_none_or(|b| found.mismatches.len() < b.mismatches.len())
            {
                best = Some(found);
            }
        }
        match (best, foreign) {
            (Some(found), _) if found.mismatches.is_empty() => {
                Ok(check(Vec::new(), Some(operation_name(&found))))
            }
            (_, Some(foreign)) => Err(Skipped {
                description: message.description.clone(),
                reason: format!(
                    "its message {:?} has a payload schema in {}, which Accord cannot check",
                    foreign.name,
                    foreign
                        .foreign_format
                        .as_deref()
                        .unwrap_or("another format")
                ),
            }),
            (Some(found), None) => {
                let operation = operation_name(&found);
                Ok(check(found.mismatches, Some(operation)))
            }
            (None, None) => Ok(check(vec![self.nothing_sent(&channels, &named)], None)),
        }
    }

    fn unknown_channel(&self, named: &[String]) -> Mismatch {
        Mismatch {
            kind: MismatchKind::UnknownChannel,
            pointer: "/metadata".into(),
            expected: format!("channel {}", named.join(" or ")),
            allowed: if self.channels.is_empty() {
                "no channel at all".into()
            } else {
                one_of(
                    self.channels.iter().map(|c| c.address.as_str()),
                    self.channels.len(),
                )
            },
            spec_pointer: Some("#/channels".into()),
        }
    }

    fn nothing_sent(&self, channels: &[&Channel], named: &[String]) -> Mismatch {
        let received: Vec<&str> = channels
            .iter()
            .flat_map(|c| c.messages.iter())
            .map(|m| m.name.as_str())
            .collect();
        Mismatch {
            kind: MismatchKind::UnknownMessage,
            pointer: "/metadata".into(),
            expected: if named.is_empty() {
                "a message the provider sends".into()
            } else {
                format!("a message the provider sends on {}", named.join(" or "))
            },
            allowed: if received.is_empty() {
                "no message on this channel".into()
            } else {
                format!(
                    "only messages the provider receives here ({}), no message it sends",
                    received.join(", ")
                )
            },
            spec_pointer: channels.first().map(|c| format!("#{}", c.pointer)),
        }
    }

    /// Every mismatch between the pact's message and one message of the document.
    fn check_candidate(&self, message: &AsynchronousMessage, def: &MessageDef) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let metadata = &message.contents.metadata;
        let pact_type = message::content_type(metadata).or_else(|| {
            message
                .contents
                .contents
                .content_type()
                .map(|ct| ct.to_string())
        });
        let declared = def.content_type.as_deref().unwrap_or("application/json");
        if let Some(pact_type) = &pact_type
            && media_essence(pact_type) != media_essence(declared)
        {
            out.push(Mismatch {
                kind: MismatchKind::MessageContentType,
                pointer: "/metadata/contentType".into(),
                expected: pact_type.clone(),
                allowed: declared.to_string(),
                spec_pointer: Some(format!("#{}", def.pointer)),
            });
        }
        if let Some(payload) = &def.payload {
            let essence = media_essence(pact_type.as_deref().unwrap_or(declared));
            let is_json = essence.ends_with("/json") || essence.ends_with("+json");
            let instance = message
                .contents
                .contents
                .value()
                .filter(|_| is_json)
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
            if let Some(instance) = instance {
                self.validate(Side::Message, payload, &instance, "/contents", &mut out);
            }
        }
        let headers = message::headers(metadata);
        if !headers.is_empty() {
            match &def.headers {
                Some(pointer) => {
                    let instance = self.header_values(pointer, &headers);
                    self.validate(Side::Metadata, pointer, &instance, "/metadata", &mut out);
                }
                None => out.extend(headers.iter().map(|(name, value)| Mismatch {
                    kind: MismatchKind::MessageMetadataInvalid,
                    pointer: format!("/metadata/{}", escape(name)),
                    expected: format!("a header {name:?} ({})", describe(value)),
                    allowed: "no headers: the message declares none".into(),
                    spec_pointer: Some(format!("#{}", def.pointer)),
                })),
            }
        }
        out
    }

    /// The headers as an object, each value read as the type its schema gives (headers
    /// travel as text).
    fn header_values(&self, pointer: &str, headers: &[(&String, &Value)]) -> Value {
        let schema = self.deref(self.doc.pointer(pointer).unwrap_or(&Value::Null));
        let mut out = Map::new();
        for (name, value) in headers {
            let value = value.get("value").unwrap_or(value);
            let declared = schema
                .get("properties")
                .and_then(|p| p.get(name.as_str()))
                .map(|s| self.deref(s));
            let value = match (value, declared.and_then(schema_type)) {
                (Value::String(text), Some(kind)) if kind != "string" => scalar(Some(kind), text),
                _ => value.clone(),
            };
            out.insert((*name).clone(), value);
        }
        Value::Object(out)
    }

    fn validate(
        &self,
        side: Side,
        pointer: &str,
        instance: &Value,
        at: &str,
        out: &mut Vec<Mismatch>,
    ) {
        match self.compiled.validator(pointer) {
            Ok(validator) => out.extend(schema_mismatches(side, &validator, instance, at, pointer)),
            Err(err) => out.push(Mismatch {
                kind: side.invalid(),
                pointer: at.into(),
                expected: describe(instance),
                allowed: format!("nothing Accord can check: {err}"),
                spec_pointer: Some(format!("#{pointer}")),
            }),
        }
    }

    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        deref(&self.doc, value)
    }
}

fn operation_name(found: &Candidate<'_>) -> String {
    message_name(found.message, found.channel)
}

/// How a report names a message: `orderCreated on orders`.
fn message_name(message: &MessageDef, channel: &Channel) -> String {
    format!("{} on {}", message.name, channel.address)
}

impl Resolve for EventSpec {
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        self.deref(value)
    }
}

/// Compares two versions of an AsyncAPI document and weighs every change against the
/// message pacts: for each message the old document's provider sends, whether the new
/// one still sends it on the same channel (its address with parameter names left out),
/// and what changed in its payload schema (fields removed, types, formats or enum values
/// changed, fields made optional). A change is relied on by each message interaction
/// the old document routes to that message whose contents hold what changed.
pub fn diff_events(old: &EventSpec, new: &EventSpec, pacts: &[ConsumerPact]) -> SpecDiff {
    let mut changes = Vec::new();
    for channel in &old.channels {
        let new_channel = new
            .channels
            .iter()
            .find(|c| shape(&c.address) == shape(&channel.address));
        for message in channel.messages.iter().filter(|m| m.sent) {
            let operation = message_name(message, channel);
            let new_message = new_channel
                .and_then(|c| c.messages.iter().find(|m| m.sent && m.name == message.name));
            let mut found = Vec::new();
            match (new_channel, new_message) {
                (None, _) => found.push(change(
                    ChangeKind::OperationRemoved,
                    "/metadata",
                    "the new document has no such channel".into(),
                )),
                (Some(_), None) => found.push(change(
                    ChangeKind::OperationRemoved,
                    "/metadata",
                    format!(
                        "the new document sends no message {:?} on this channel",
                        message.name
                    ),
                )),
                (Some(_), Some(new_message)) => {
                    if let (Some(a), Some(b)) =
                        (old.payload_schema(message), new.payload_schema(new_message))
                    {
                        compare_schema(
                            old,
                            a,
                            new,
                            b,
                            ChangeSide::Response,
                            "/contents",
                            0,
                            &mut found,
                        );
                    }
                }
            }
            for mut c in found {
                c.operation = operation.clone();
                changes.push(c);
            }
        }
    }
    for c in &mut changes {
        c.usages = event_usages(old, c, pacts);
    }
    SpecDiff::sorted(changes)
}

impl EventSpec {
    /// A message's payload schema in the document as read, `$ref`s followed.
    fn payload_schema(&self, message: &MessageDef) -> Option<&Value> {
        let pointer = message.payload.as_ref()?;
        Some(self.deref(self.doc.pointer(pointer)?))
    }
}

/// The message interactions the old document routes to the change's message that hold
/// what changed.
fn event_usages(old: &EventSpec, change: &Change, pacts: &[ConsumerPact]) -> Vec<Usage> {
    let mut out = Vec::new();
    for pact in pacts {
        for interaction in pact.contract.pact().interactions() {
            let Some(message) = interaction.as_v4_async_message() else {
                continue;
            };
            let Ok(check) = old.check_message(&message) else {
                continue;
            };
            if check.operation.as_deref() != Some(change.operation.as_str()) {
                continue;
            }
            let relies = match change.kind {
                ChangeKind::OperationRemoved => true,
                _ => json_of(&message.contents.contents).is_some_and(|value| {
                    holds(
                        &value,
                        change.pointer.trim_start_matches("/contents"),
                        change,
                    )
                }),
            };
            if relies {
                out.push(Usage {
                    consumer: pact.consumer.clone(),
                    version: pact.version.clone(),
                    context: pact.context.clone(),
                    interaction: message.description.clone(),
                });
            }
        }
    }
    out
}

/// An address as a pattern (each `{parameter}` a group of any value without a `/`, or
/// `None` when it has none), with its parameters in order, each with what it allows: a
/// 2.x parameter's `schema`, a 3.0 parameter's `enum` (a schema that cannot be compiled
/// on its own allows anything).
#[allow(clippy::type_complexity)]
fn address_pattern(
    doc: &Value,
    channel: &Value,
    address: &str,
) -> (Option<regex::Regex>, Vec<(String, Option<Validator>)>) {
    if !address.contains('{') {
        return (None, Vec::new());
    }
    let mut names = Vec::new();
    let pattern = template_pattern(address, "([^/]+)", &mut names);
    let declared = channel.get("parameters").and_then(Value::as_object);
    let parameters = names
        .into_iter()
        .map(|name| {
            let rule = declared
                .and_then(|all| all.get(&name))
                .map(|raw| deref(doc, raw))
                .and_then(|parameter| match parameter.get("schema") {
                    Some(schema) => Some(deref(doc, schema).clone()),
                    None => parameter
                        .get("enum")
                        .map(|values| serde_json::json!({"enum": values})),
                })
                // Linear-time patterns: a document's regular expression cannot stall a check.
                .and_then(|schema| {
                    jsonschema::options()
                        .with_pattern_options(jsonschema::PatternOptions::regex())
                        .build(&schema)
                        .ok()
                });
            (name, rule)
        })
        .collect();
    (Some(pattern), parameters)
}

/// Schema formats whose schemas are JSON Schema (AsyncAPI's own dialect, or draft 7).
fn reads_format(format: &str) -> bool {
    let essence = media_essence(format);
    essence.starts_with("application/vnd.aai.asyncapi")
        || essence == "application/schema+json"
        || essence == "application/schema+yaml"
}

/// A message object (at `pointer`, `$ref`s followed) with its traits applied.
fn message_def(doc: &Value, raw: &Value, pointer: String, key: &str, sent: bool) -> MessageDef {
    let pointer = resolved_pointer(doc, raw, pointer);
    let message = deref(doc, raw);
    let default_type = doc
        .get("defaultContentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut content_type = message
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    // Schemas are checked where they are used (a payload holding a `$ref`), not where
    // the `$ref` points: only there is an object closed (see `convert`).
    let mut headers = message.get("headers").map(|_| format!("{pointer}/headers"));
    // A trait adds what the message itself does not say.
    for (index, raw_trait) in message
        .get("traits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let trait_pointer = resolved_pointer(doc, raw_trait, format!("{pointer}/traits/{index}"));
        let found = deref(doc, raw_trait);
        if headers.is_none() && found.get("headers").is_some() {
            headers = Some(format!("{trait_pointer}/headers"));
        }
        if content_type.is_none() {
            content_type = found
                .get("contentType")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    // Headers may themselves be a multi-format schema (3.0).
    let headers = headers.map(|h| {
        let raw = doc.pointer(&h).unwrap_or(&Value::Null);
        let found = deref(doc, raw);
        if found.get("schemaFormat").is_some() && found.get("schema").is_some() {
            format!("{}/schema", resolved_pointer(doc, raw, h))
        } else {
            h
        }
    });
    let (mut payload, mut foreign_format) = (None, None);
    if let Some(raw_payload) = message.get("payload") {
        let payload_pointer = format!("{pointer}/payload");
        let found = deref(doc, raw_payload);
        // 3.0 wraps a schema in another format as {schemaFormat, schema}; 2.x puts
        // `schemaFormat` beside the payload.
        let (format, schema_pointer) = match (
            found.get("schemaFormat").and_then(Value::as_str),
            found.get("schema"),
        ) {
            (Some(format), Some(_)) => (
                Some(format),
                format!(
                    "{}/schema",
                    resolved_pointer(doc, raw_payload, payload_pointer)
                ),
            ),
            _ => (
                message.get("schemaFormat").and_then(Value::as_str),
                payload_pointer,
            ),
        };
        match format {
            Some(format) if !reads_format(format) => foreign_format = Some(format.to_string()),
            _ => payload = Some(schema_pointer),
        }
    }
    let name = message
        .get("name")
        .or_else(|| message.get("messageId"))
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_string();
    MessageDef {
        name,
        pointer,
        payload,
        foreign_format,
        headers,
        content_type: content_type.or(default_type),
        sent,
    }
}

/// AsyncAPI 2.x: the channel's key is its address; its `publish` and `subscribe`
/// operations each carry a message, or a `oneOf` of them. Documents describe these from
/// either side, so both count as messages the provider may send.
fn channels_2(doc: &Value) -> Vec<Channel> {
    let mut out = Vec::new();
    for (address, raw) in doc
        .get("channels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pointer = format!("/channels/{}", escape(address));
        let item = deref(doc, raw);
        let mut messages = Vec::new();
        for operation in ["subscribe", "publish"] {
            let Some(raw_op) = item.get(operation) else {
                continue;
            };
            let op_pointer = resolved_pointer(doc, raw_op, format!("{pointer}/{operation}"));
            let op = deref(doc, raw_op);
            let Some(raw_message) = op.get("message") else {
                continue;
            };
            let message_pointer =
                resolved_pointer(doc, raw_message, format!("{op_pointer}/message"));
            let found = deref(doc, raw_message);
            match found.get("oneOf").and_then(Value::as_array) {
                Some(branches) => {
                    for (index, branch) in branches.iter().enumerate() {
                        let key = format!("{operation} message {index}");
                        messages.push(message_def(
                            doc,
                            branch,
                            format!("{message_pointer}/oneOf/{index}"),
                            &key,
                            true,
                        ));
                    }
                }
                None => {
                    let key = op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or(operation)
                        .to_string();
                    messages.push(message_def(doc, raw_message, message_pointer, &key, true));
                }
            }
        }
        let (matcher, parameters) = address_pattern(doc, item, address);
        out.push(Channel {
            matcher,
            parameters,
            address: address.clone(),
            pointer,
            messages,
        });
    }
    out
}

/// AsyncAPI 3.0: a channel has an `address` and `messages`; operations say which of
/// them the application sends (`action: send`). A document without operations says
/// nothing of direction: its messages count as sent.
fn channels_3(doc: &Value) -> Vec<Channel> {
    let operations: Vec<&Value> = doc
        .get("operations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(_, raw)| deref(doc, raw))
        .collect();
    // Pointers of the messages (or whole channels) sent.
    let mut sent: HashSet<String> = HashSet::new();
    for operation in &operations {
        if operation.get("action").and_then(Value::as_str) != Some("send") {
            continue;
        }
        let Some(channel) = operation.get("channel") else {
            continue;
        };
        let channel_pointer = resolved_pointer(doc, channel, String::new());
        match operation.get("messages").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for raw in list {
                    sent.insert(resolved_pointer(doc, raw, String::new()));
                }
            }
            _ => {
                sent.insert(channel_pointer);
            }
        }
    }
    let mut out = Vec::new();
    for (key, raw) in doc
        .get("channels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pointer = resolved_pointer(doc, raw, format!("/channels/{}", escape(key)));
        let item = deref(doc, raw);
        let address = item
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_string();
        let whole_channel_sent = operations.is_empty() || sent.contains(&pointer);
        let messages = item
            .get("messages")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, raw_message)| {
                let at = format!("{pointer}/messages/{}", escape(name));
                // An operation names a message by its place in the channel, which may
                // itself be a `$ref` to the components.
                let is_sent = whole_channel_sent
                    || sent.contains(&at)
                    || sent.contains(&resolved_pointer(doc, raw_message, at.clone()));
                message_def(doc, raw_message, at, name, is_sent)
            })
            .collect();
        let (matcher, parameters) = address_pattern(doc, item, &address);
        out.push(Channel {
            matcher,
            parameters,
            address,
            pointer,
            messages,
        });
    }
    out
}

/// The document with every schema a check uses converted to JSON Schema 2020-12 as a
/// consumer reads it: named schemas as definitions, payloads and headers closed.
fn convert(doc: &Value, channels: &[Channel]) -> Value {
    let mut out = doc.clone();
    let mut done: HashSet<String> = HashSet::new();
    let named: Vec<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.get("schemaFormat").is_none())
        .map(|(name, _)| format!("/components/schemas/{}", escape(name)))
        .collect();
    for pointer in named {
        if let Some(schema) = out.pointer_mut(&pointer) {
            schema::convert_schema(doc, Dialect::Draft7, View::Response, schema, false);
        }
        done.insert(pointer);
    }
    for message in channels.iter().flat_map(|c| c.messages.iter()) {
        for pointer in message.payload.iter().chain(message.headers.iter()) {
            if !done.insert(pointer.clone()) {
                continue;
            }
            if let Some(schema) = out.pointer_mut(pointer) {
                schema::convert_schema(doc, Dialect::Draft7, View::Response, schema, true);
            }
        }
    }
    out
}
