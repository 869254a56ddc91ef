//! The Rust API a consumer test uses to declare the messages (events) it handles.
//!
//! A message expectation is checked the way an event really arrives: the test hands the example
//! message (generators applied) to the consumer's real handler, and the expectation is written
//! to the pact only when the handler accepts it. A handler error fails the test with that error
//! and writes nothing.
//!
//! ```no_run
//! use accord_mock_server::matchers::{integer, like};
//! use accord_mock_server::{CloudEvent, MessagePactBuilder};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), accord_mock_server::Error> {
//! let pact = MessagePactBuilder::new("shipping", "order-service").v4();
//! pact.expects_to_receive("an order.created event", |m| {
//!     m.given("an order exists")
//!         .cloud_event(CloudEvent::new("com.example.order.created", "/orders").data(json!({
//!             "orderId": integer(1),
//!             "customer": like("ada"),
//!         })))
//!         .kafka_topic("orders")
//! })?
//! .consume(|message| {
//!     let event = message.json().map_err(|err| err.to_string())?;
//!     // The consumer's real handler:
//!     if event["data"]["orderId"].is_i64() { Ok(()) } else { Err("no order id".to_string()) }
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;

use pact_models::PactSpecification;
use pact_models::v4::async_message::AsynchronousMessage;
use pact_models::v4::interaction::V4Interaction;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::matchers::term;
use crate::message::{ReceivedMessage, example_message, message_from_json};
use crate::pact_file::{PactFileOptions, write_interactions};

/// Declares the messages a consumer receives from a provider (both named as in the broker).
#[derive(Debug, Clone)]
pub struct MessagePactBuilder {
    consumer: String,
    provider: String,
    output: PactFileOptions,
}

impl MessagePactBuilder {
    /// Messages `consumer` receives from `provider`, written as V3 to `$PACT_DIR` or
    /// `target/pacts` (a pair that also has HTTP interactions needs [`Self::v4`]).
    pub fn new(consumer: impl Into<String>, provider: impl Into<String>) -> Self {
        MessagePactBuilder {
            consumer: consumer.into(),
            provider: provider.into(),
            output: PactFileOptions::default(),
        }
    }

    /// Writes the pact file into `dir` instead of `$PACT_DIR` / `target/pacts`.
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output.dir = dir.into();
        self
    }

    /// Writes the pact file in this specification version (V3 or V4).
    pub fn specification(mut self, specification: PactSpecification) -> Self {
        self.output.specification = specification;
        self
    }

    /// Writes a V4 pact file (`Asynchronous/Messages`, in one file with the pair's HTTP
    /// interactions).
    pub fn v4(self) -> Self {
        self.specification(PactSpecification::V4)
    }

    /// Declares a message: `build` receives a fresh [`MessageBuilder`] and returns it completed.
    /// Fails when the expectation is malformed (the error names the field).
    pub fn expects_to_receive(
        &self,
        description: impl Into<String>,
        build: impl FnOnce(MessageBuilder) -> MessageBuilder,
    ) -> Result<ExpectedMessage, Error> {
        let description = description.into();
        let json = build(MessageBuilder::new(description.clone())).into_json();
        let message =
            message_from_json(&json, "").map_err(|problem| Error::InvalidInteraction {
                interaction: description,
                pointer: problem.pointer,
                problem: problem.problem,
            })?;
        Ok(ExpectedMessage {
            consumer: self.consumer.clone(),
            provider: self.provider.clone(),
            output: self.output.clone(),
            message,
            json,
        })
    }
}

/// One message: provider states, contents and metadata.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    description: String,
    states: Vec<Value>,
    contents: Option<Value>,
    content_type: Option<String>,
    metadata: Map<String, Value>,
}

impl MessageBuilder {
    fn new(description: String) -> Self {
        MessageBuilder {
            description,
            states: Vec::new(),
            contents: None,
            content_type: None,
            metadata: Map::new(),
        }
    }

    /// The provider must be in this state when it produces the message (callable several
    /// times).
    pub fn given(mut self, state: impl Into<String>) -> Self {
        self.states.push(json!({"name": state.into()}));
        self
    }

    /// The provider must be in this state, with parameters (a JSON object).
    pub fn given_with_params(mut self, state: impl Into<String>, params: Value) -> Self {
        self.states
            .push(json!({"name": state.into(), "params": params}));
        self
    }

    /// JSON contents; values may be matchers from [`crate::matchers`].
    pub fn json_contents(mut self, contents: impl Into<Value>) -> Self {
        self.contents = Some(contents.into());
        self.content_type
            .get_or_insert_with(|| "application/json".into());
        self
    }

    /// Text contents (`text/plain` unless a content type is set).
    pub fn text_contents(mut self, text: impl Into<String>) -> Self {
        self.contents = Some(Value::String(text.into()));
        self.content_type.get_or_insert_with(|| "text/plain".into());
        self
    }

    /// Binary contents (Avro, Protobuf, …) carried opaque with their content type: the
    /// provider's message must have exactly these bytes.
    pub fn binary_contents(mut self, bytes: &[u8], content_type: impl Into<String>) -> Self {
        use base64::Engine;
        let content_type = content_type.into();
        self.contents = Some(json!({
            "content": base64::engine::general_purpose::STANDARD.encode(bytes),
            "contentType": content_type,
            "encoded": "base64",
        }));
        self.content_type = Some(content_type);
        self
    }

    /// The content type of the contents.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// A metadata entry (a header, a routing key, …); the value may be a matcher.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// The Kafka topic the message is published to (metadata `kafka_topic`).
    pub fn kafka_topic(self, topic: impl Into<String>) -> Self {
        self.metadata("kafka_topic", Value::String(topic.into()))
    }

    /// The Kafka record key (metadata `kafka_key`); may be a matcher.
    pub fn kafka_key(self, key: impl Into<Value>) -> Self {
        self.metadata("kafka_key", key)
    }

    /// The message is a CloudEvent: sets the contents and metadata as [`CloudEvent`] says.
    pub fn cloud_event(mut self, event: CloudEvent) -> Self {
        let (contents, content_type, metadata) = event.into_parts();
        self.contents = Some(contents);
        self.content_type = Some(content_type);
        self.metadata.extend(metadata);
        self
    }

    fn into_json(self) -> Value {
        let mut json = json!({"description": self.description});
        if !self.states.is_empty() {
            json["providerStates"] = Value::Array(self.states);
        }
        if let Some(contents) = self.contents {
            json["contents"] = contents;
        }
        if let Some(content_type) = self.content_type {
            json["contentType"] = json!(content_type);
        }
        if !self.metadata.is_empty() {
            json["metadata"] = Value::Object(self.metadata);
        }
        json
    }
}

/// A declared message, ready to be handed to the consumer's handler.
#[derive(Debug, Clone)]
pub struct ExpectedMessage {
    consumer: String,
    provider: String,
    output: PactFileOptions,
    message: AsynchronousMessage,
    json: Value,
}

impl ExpectedMessage {
    /// The message as `pact_models` holds it.
    pub fn interaction(&self) -> &AsynchronousMessage {
        &self.message
    }

    /// The expectation as the admin API of `accord mock` takes it (with integration matchers).
    pub fn expectation_json(&self) -> &Value {
        &self.json
    }

    /// The example message with generators applied, as a handler would receive it.
    pub async fn example(&self) -> ReceivedMessage {
        example_message(&self.message).await
    }

    /// Hands the example message to `handler` (the consumer's real handler, synchronous);
    /// writes the expectation into the pact when it returns `Ok`, and fails with its error
    /// otherwise, writing nothing.
    pub async fn consume<T, E: Display>(
        self,
        handler: impl FnOnce(ReceivedMessage) -> Result<T, E>,
    ) -> Result<T, Error> {
        let example = self.example().await;
        let value = handler(example).map_err(|err| Error::HandlerFailed {
            description: self.message.description.clone(),
            error: err.to_string(),
        })?;
        self.write()?;
        Ok(value)
    }

    /// [`Self::consume`] with an asynchronous handler.
    pub async fn consume_async<T, E, F, Fut>(self, handler: F) -> Result<T, Error>
    where
        E: Display,
        F: FnOnce(ReceivedMessage) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let example = self.example().await;
        let value = handler(example).await.map_err(|err| Error::HandlerFailed {
            description: self.message.description.clone(),
            error: err.to_string(),
        })?;
        self.write()?;
        Ok(value)
    }

    /// Merges the expectation into the pair's pact file (what `consume` does once the handler
    /// accepted the message) and returns the file's path.
    fn write(&self) -> Result<PathBuf, Error> {
        write_interactions(
            &self.consumer,
            &self.provider,
            &[self.message.boxed_v4()],
            &self.output,
        )
    }
}

/// How a CloudEvent travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudEventMode {
    /// The whole event is the payload, `application/cloudevents+json`.
    Structured,
    /// The `data` is the payload; the attributes are metadata (headers) named with `prefix`:
    /// `ce_` for Kafka, `ce-` for HTTP, `cloudEvents:` for AMQP.
    Binary {
        /// The attribute name prefix.
        prefix: String,
    },
}

/// RFC 3339 as CloudEvents' `time` uses it.
pub const RFC3339_PATTERN: &str =
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$";

/// A CloudEvent (spec 1.0) of a given `type` and `source`. The required attributes are matched
/// by what they must be: `specversion` exactly `1.0`, `id` any non-empty string, `time` an
/// RFC 3339 timestamp, `datacontenttype` exactly as given; `type` and `source` exactly; the
/// `data` like any body (matchers allowed).
#[derive(Debug, Clone)]
pub struct CloudEvent {
    event_type: String,
    source: String,
    mode: CloudEventMode,
    data: Value,
    data_content_type: String,
    subject: Option<Value>,
    extensions: Map<String, Value>,
}

impl CloudEvent {
    /// A structured-mode event of this type and source, with JSON data.
    pub fn new(event_type: impl Into<String>, source: impl Into<String>) -> Self {
        CloudEvent {
            event_type: event_type.into(),
            source: source.into(),
            mode: CloudEventMode::Structured,
            data: Value::Null,
            data_content_type: "application/json".into(),
            subject: None,
            extensions: Map::new(),
        }
    }

    /// Structured mode: the event envelope is the payload (the default).
    pub fn structured(mut self) -> Self {
        self.mode = CloudEventMode::Structured;
        self
    }

    /// Binary mode with Kafka's attribute prefix (`ce_type`, `ce_id`, …).
    pub fn binary(self) -> Self {
        self.binary_with_prefix("ce_")
    }

    /// Binary mode with another attribute prefix (`ce-` for HTTP, `cloudEvents:` for AMQP).
    pub fn binary_with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.mode = CloudEventMode::Binary {
            prefix: prefix.into(),
        };
        self
    }

    /// The event's `data` (matchers allowed).
    pub fn data(mut self, data: impl Into<Value>) -> Self {
        self.data = data.into();
        self
    }

    /// The `datacontenttype` (`application/json` unless set).
    pub fn data_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.data_content_type = content_type.into();
        self
    }

    /// The `subject` attribute (may be a matcher).
    pub fn subject(mut self, subject: impl Into<Value>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// An extension attribute (may be a matcher).
    pub fn extension(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.into(), value.into());
        self
    }

    /// The attributes with their matchers, in attribute order.
    fn attributes(&self) -> Vec<(String, Value)> {
        let mut attributes = vec![
            ("specversion".to_string(), term(r"^1\.0$", "1.0")),
            ("type".to_string(), json!(self.event_type)),
            ("source".to_string(), json!(self.source)),
            (
                "id".to_string(),
                term(r"^\S.*$", "3f1b7c52-9a0e-4d5c-8e57-1c2b3d4e5f60"),
            ),
            (
                "time".to_string(),
                term(RFC3339_PATTERN, "2026-12-04T10:00:00Z"),
            ),
        ];
        if let Some(subject) = &self.subject {
            attributes.push(("subject".to_string(), subject.clone()));
        }
        for (name, value) in &self.extensions {
            attributes.push((name.clone(), value.clone()));
        }
        attributes
    }

    /// Contents, content type and metadata for a message.
    fn into_parts(self) -> (Value, String, Map<String, Value>) {
        let attributes = self.attributes();
        match &self.mode {
            CloudEventMode::Structured => {
                let mut envelope = Map::new();
                for (name, value) in attributes {
                    envelope.insert(name, value);
                }
                envelope.insert("datacontenttype".into(), json!(self.data_content_type));
                envelope.insert("data".into(), self.data);
                let metadata = Map::from_iter([(
                    "contentType".to_string(),
                    json!("application/cloudevents+json"),
                )]);
                (
                    Value::Object(envelope),
                    "application/cloudevents+json".to_string(),
                    metadata,
                )
            }
            CloudEventMode::Binary { prefix } => {
                let mut metadata = Map::new();
                for (name, value) in attributes {
                    metadata.insert(format!("{prefix}{name}"), value);
                }
                metadata.insert("contentType".into(), json!(self.data_content_type));
                (self.data, self.data_content_type, metadata)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::matchers::integer;

    fn builder(dir: &std::path::Path) -> MessagePactBuilder {
        MessagePactBuilder::new("shipping", "orders").output_dir(dir)
    }

    #[tokio::test]
    async fn an_accepted_message_is_written_and_a_refused_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let pact = builder(dir.path());
        pact.expects_to_receive("an order.created event", |m| {
            m.json_contents(json!({"id": integer(1)}))
                .kafka_topic("orders")
        })
        .unwrap()
        .consume(|message| {
            assert_eq!(message.json().unwrap()["id"], 1);
            Ok::<_, String>(())
        })
        .await
        .unwrap();
        let err = pact
            .expects_to_receive("an order.cancelled event", |m| {
                m.json_contents(json!({"id": 1}))
            })
            .unwrap()
            .consume(|_| Err::<(), _>("the handler needs a reason"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("the handler needs a reason"),
            "{err}"
        );
        let written: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("shipping-orders.json")).unwrap(),
        )
        .unwrap();
        let messages = written["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{written:#}");
        assert_eq!(messages[0]["description"], "an order.created event");
        assert_eq!(messages[0]["metadata"]["kafka_topic"], "orders");
        assert_eq!(
            messages[0]["matchingRules"]["body"]["$.id"]["matchers"][0]["match"],
            "integer"
        );
    }

    #[tokio::test]
    async fn v3_refuses_to_mix_http_and_messages() {
        let dir = tempfile::tempdir().unwrap();
        crate::pact_file::write_pact(
            "shipping",
            "orders",
            &[crate::parse::interaction_from_json(
                &json!({"description": "a request", "request": {"method": "GET", "path": "/"},
                        "response": {"status": 200}}),
                "",
            )
            .unwrap()],
            &PactFileOptions {
                dir: dir.path().to_path_buf(),
                specification: PactSpecification::V3,
            },
        )
        .unwrap();
        let err = builder(dir.path())
            .expects_to_receive("an event", |m| m.json_contents(json!({})))
            .unwrap()
            .consume(|_| Ok::<_, String>(()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::MixedNeedsV4 { .. }), "{err}");
        builder(dir.path())
            .v4()
            .expects_to_receive("an event", |m| m.json_contents(json!({})))
            .unwrap()
            .consume(|_| Ok::<_, String>(()))
            .await
            .unwrap();
        let written: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("shipping-orders.json")).unwrap(),
        )
        .unwrap();
        let kinds: Vec<&str> = written["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["Synchronous/HTTP", "Asynchronous/Messages"],
            "{written:#}"
        );
    }

    #[tokio::test]
    async fn cloud_events_in_both_modes() {
        let structured =
            CloudEvent::new("order.created", "/orders").data(json!({"id": integer(1)}));
        let dir = tempfile::tempdir().unwrap();
        let expected = builder(dir.path())
            .expects_to_receive("structured", |m| m.cloud_event(structured))
            .unwrap();
        let example = expected.example().await;
        assert_eq!(
            example.content_type.as_deref(),
            Some("application/cloudevents+json")
        );
        let envelope = example.json().unwrap();
        assert_eq!(envelope["specversion"], "1.0");
        assert_eq!(envelope["type"], "order.created");
        assert_eq!(envelope["data"]["id"], 1);

        let binary = CloudEvent::new("order.created", "/orders")
            .binary()
            .data(json!({"id": 1}));
        let expected = builder(dir.path())
            .expects_to_receive("binary", |m| m.cloud_event(binary))
            .unwrap();
        let example = expected.example().await;
        assert_eq!(
            example.metadata_str("ce_type").as_deref(),
            Some("order.created")
        );
        assert_eq!(
            example.metadata_str("ce_specversion").as_deref(),
            Some("1.0")
        );
        assert_eq!(example.json().unwrap()["id"], 1);
    }
}
