//! The Rust API a consumer test uses to declare interactions.
//!
//! The builders assemble the interaction as JSON (the same form `accord mock`'s admin API takes)
//! and hand it to [`crate::parse`], so both front doors share one set of rules and errors.

use pact_models::PactSpecification;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::pact_file::PactFileOptions;
use crate::parse::interaction_from_json;
use crate::server::MockServer;

/// Declares a pact between a consumer and a provider, then starts a mock provider for it.
///
/// See the [crate documentation](crate) for a complete test.
#[derive(Debug, Clone)]
pub struct PactBuilder {
    consumer: String,
    provider: String,
    interactions: Vec<Value>,
    output: PactFileOptions,
}

impl PactBuilder {
    /// A pact between `consumer` and `provider`, written as V3 to `$PACT_DIR` or `target/pacts`.
    pub fn new(consumer: impl Into<String>, provider: impl Into<String>) -> Self {
        PactBuilder {
            consumer: consumer.into(),
            provider: provider.into(),
            interactions: Vec::new(),
            output: PactFileOptions::default(),
        }
    }

    /// Adds an interaction: `build` receives a fresh [`InteractionBuilder`] and returns it
    /// completed, e.g. `|i| i.given("x").request(|r| r.get("/")).response(|r| r.status(200))`.
    pub fn interaction(
        mut self,
        description: impl Into<String>,
        build: impl FnOnce(InteractionBuilder) -> InteractionBuilder,
    ) -> Self {
        let builder = build(InteractionBuilder::new(description.into()));
        self.interactions.push(builder.into_json());
        self
    }

    /// Writes the pact file into `dir` instead of `$PACT_DIR` / `target/pacts`.
    pub fn output_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.output.dir = dir.into();
        self
    }

    /// Writes the pact file in this specification version (V3 unless told otherwise).
    pub fn specification(mut self, specification: PactSpecification) -> Self {
        self.output.specification = specification;
        self
    }

    /// Writes a V4 pact file (shorthand for `.specification(PactSpecification::V4)`).
    pub fn v4(self) -> Self {
        self.specification(PactSpecification::V4)
    }

    /// The interactions as pact JSON with integration matchers, in declaration order.
    pub fn interactions_json(&self) -> &[Value] {
        &self.interactions
    }

    /// Checks every interaction and starts the mock provider on a free port of 127.0.0.1.
    pub async fn start(self) -> Result<MockServer, Error> {
        let mut interactions = Vec::with_capacity(self.interactions.len());
        for json in &self.interactions {
            let description = json["description"].as_str().unwrap_or_default().to_string();
            let interaction =
                interaction_from_json(json, "").map_err(|problem| Error::InvalidInteraction {
                    interaction: description,
                    pointer: problem.pointer,
                    problem: problem.problem,
                })?;
            interactions.push(interaction);
        }
        MockServer::start(self.consumer, self.provider, interactions, self.output).await
    }
}

/// One interaction: provider states, description, request and response.
#[derive(Debug, Clone)]
pub struct InteractionBuilder {
    description: String,
    states: Vec<Value>,
    request: RequestBuilder,
    response: ResponseBuilder,
}

impl InteractionBuilder {
    fn new(description: String) -> Self {
        InteractionBuilder {
            description,
            states: Vec::new(),
            request: RequestBuilder::default(),
            response: ResponseBuilder::default(),
        }
    }

    /// The provider must be in this state (callable several times).
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

    /// The request the consumer sends.
    pub fn request(mut self, build: impl FnOnce(RequestBuilder) -> RequestBuilder) -> Self {
        self.request = build(self.request);
        self
    }

    /// The response the provider answers with.
    pub fn response(mut self, build: impl FnOnce(ResponseBuilder) -> ResponseBuilder) -> Self {
        self.response = build(self.response);
        self
    }

    fn into_json(self) -> Value {
        let mut json = json!({
            "description": self.description,
            "request": self.request.part.into_json(Some(("method", json!(self.request.method)))),
            "response": self.response.part.into_json(Some(("status", self.response.status))),
        });
        if !self.states.is_empty() {
            json["providerStates"] = Value::Array(self.states);
        }
        json
    }
}

/// Headers, body and the like, shared by requests and responses.
#[derive(Debug, Clone, Default)]
struct Part {
    fields: Map<String, Value>,
    headers: Map<String, Value>,
    body: Option<Value>,
}

impl Part {
    fn header(&mut self, name: String, value: Value) {
        match self.headers.get_mut(&name) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                self.headers.insert(name, value);
            }
        }
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .keys()
            .any(|key| key.eq_ignore_ascii_case(name))
    }

    fn body(&mut self, body: Value, default_content_type: &str) {
        if !self.has_header("content-type") {
            self.headers.insert(
                "Content-Type".into(),
                Value::String(default_content_type.into()),
            );
        }
        self.body = Some(body);
    }

    fn into_json(self, first: Option<(&str, Value)>) -> Value {
        let mut json = Map::new();
        if let Some((key, value)) = first {
            json.insert(key.into(), value);
        }
        json.extend(self.fields);
        if !self.headers.is_empty() {
            json.insert("headers".into(), Value::Object(self.headers));
        }
        if let Some(body) = self.body {
            json.insert("body".into(), body);
        }
        Value::Object(json)
    }
}

/// The request of an interaction. Values may be plain or matchers from [`crate::matchers`].
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: String,
    part: Part,
    query: Map<String, Value>,
}

impl Default for RequestBuilder {
    fn default() -> Self {
        let mut part = Part::default();
        part.fields.insert("path".into(), json!("/"));
        RequestBuilder {
            method: "GET".into(),
            part,
            query: Map::new(),
        }
    }
}

impl RequestBuilder {
    /// Sets the method and path (the path may be a matcher such as `term("^/orders/\\d+$", "/orders/1")`).
    pub fn method(mut self, method: impl Into<String>, path: impl Into<Value>) -> Self {
        self.method = method.into();
        self.part.fields.insert("path".into(), path.into());
        self
    }

    /// `GET path`.
    pub fn get(self, path: impl Into<Value>) -> Self {
        self.method("GET", path)
    }

    /// `POST path`.
    pub fn post(self, path: impl Into<Value>) -> Self {
        self.method("POST", path)
    }

    /// `PUT path`.
    pub fn put(self, path: impl Into<Value>) -> Self {
        self.method("PUT", path)
    }

    /// `PATCH path`.
    pub fn patch(self, path: impl Into<Value>) -> Self {
        self.method("PATCH", path)
    }

    /// `DELETE path`.
    pub fn delete(self, path: impl Into<Value>) -> Self {
        self.method("DELETE", path)
    }

    /// Adds a query parameter value (call again with the same name for repeated parameters).
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        let value = value.into();
        match self.query.get_mut(&name) {
            Some(Value::Array(values)) => values.push(value),
            _ => {
                self.query.insert(name, Value::Array(vec![value]));
            }
        }
        self.part
            .fields
            .insert("query".into(), Value::Object(self.query.clone()));
        self
    }

    /// Adds a header value.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.part.header(name.into(), value.into());
        self
    }

    /// A JSON body (with `Content-Type: application/json` unless a content type was set).
    pub fn json_body(mut self, body: impl Into<Value>) -> Self {
        self.part.body(body.into(), "application/json");
        self
    }

    /// A text body (with `Content-Type: text/plain` unless a content type was set).
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.part.body(Value::String(text.into()), "text/plain");
        self
    }

    /// A form body, given as a JSON object of fields (whose values may be matchers), sent as
    /// `application/x-www-form-urlencoded`.
    pub fn form_body(mut self, fields: Value) -> Self {
        self.part.body(fields, "application/x-www-form-urlencoded");
        self
    }
}

/// The response of an interaction. Values may be plain or matchers from [`crate::matchers`].
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: Value,
    part: Part,
}

impl Default for ResponseBuilder {
    fn default() -> Self {
        ResponseBuilder {
            status: json!(200),
            part: Part::default(),
        }
    }
}

impl ResponseBuilder {
    /// The status code (200 unless set).
    pub fn status(mut self, status: u16) -> Self {
        self.status = json!(status);
        self
    }

    /// Adds a header value.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.part.header(name.into(), value.into());
        self
    }

    /// A JSON body (with `Content-Type: application/json` unless a content type was set).
    pub fn json_body(mut self, body: impl Into<Value>) -> Self {
        self.part.body(body.into(), "application/json");
        self
    }

    /// A text body (with `Content-Type: text/plain` unless a content type was set).
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.part.body(Value::String(text.into()), "text/plain");
        self
    }
}
