//! Provider contracts: an OpenAPI document checked against the pacts of its consumers.
//!
//! [`ProviderSpec::parse`] reads an OpenAPI 3.0 or 3.1 document (JSON or YAML), checks
//! that every `$ref` in it resolves inside the document, and keeps two converted copies
//! of it (see [`schema`]): one to check requests against, one for responses.
//! [`ProviderSpec::check`] then takes each HTTP interaction of a pact and says whether
//! the provider, as the document describes it, accepts that request and can give that
//! response; each [`Mismatch`] names the interaction, where in it the problem is (a JSON
//! pointer), what the pact expects and what the document allows. Schemas are compiled
//! by `jsonschema` once per document and schema, on first use.
//!
//! ```
//! use accord_contract::{Contract, openapi::ProviderSpec};
//! use serde_json::json;
//!
//! let spec = ProviderSpec::parse(r#"
//! openapi: 3.0.3
//! info: {title: orders, version: "1"}
//! paths:
//!   /orders/{id}:
//!     get:
//!       parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
//!       responses:
//!         "200":
//!           description: an order
//!           content:
//!             application/json:
//!               schema:
//!                 type: object
//!                 properties: {id: {type: integer}, createdAt: {type: string, format: date-time}}
//! "#).unwrap();
//! let pact = Contract::from_json(json!({
//!     "consumer": {"name": "dashboard"}, "provider": {"name": "orders"},
//!     "interactions": [{
//!         "description": "an order",
//!         "request": {"method": "GET", "path": "/orders/1"},
//!         "response": {"status": 200, "headers": {"Content-Type": "application/json"},
//!                      "body": {"id": 1, "createdAt": 1714557600}}
//!     }],
//!     "metadata": {"pactSpecification": {"version": "3.0.0"}}
//! }), "example").unwrap();
//! let comparison = spec.check(&pact);
//! assert!(!comparison.success());
//! let mismatch = &comparison.interactions[0].mismatches[0];
//! assert_eq!(mismatch.pointer, "/response/body/createdAt");
//! ```

mod check;
mod diff;
pub(crate) mod paths;
pub(crate) mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

pub use check::{Comparison, InteractionCheck, Mismatch, MismatchKind, Skipped};
pub(crate) use check::{
    Side, describe, media_essence, one_of, scalar, schema_mismatches, schema_type,
};
pub use diff::{Change, ChangeKind, ConsumerPact, SpecDiff, Usage, diff_specs};
pub(crate) use diff::{Resolve, Side as ChangeSide, change, compare_schema, holds, json_of, shape};
use paths::PathTemplate;
use schema::View;

/// The largest document accepted, in bytes: far above real API descriptions (the
/// largest public ones are around 10 MB), low enough that one request cannot hold the
/// broker's memory.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Which OpenAPI version a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OasVersion {
    V30,
    V31,
}

/// Why a document is not one Accord can check pacts against.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the document is {size} bytes; the limit is {limit} bytes", limit = MAX_DOCUMENT_BYTES)]
    TooLarge { size: usize },
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("not valid YAML: {0}")]
    Yaml(#[source] yaml_serde::Error),
    #[error(
        "not an OpenAPI 3 document: {0}; Accord checks OpenAPI 3.0 and 3.1 (convert Swagger 2.0 documents first)"
    )]
    NotOpenApi(String),
    #[error(
        "not an AsyncAPI document Accord reads: {0}; Accord checks AsyncAPI 2.x and 3.0 documents"
    )]
    NotAsyncApi(String),
    #[error(
        "neither an OpenAPI nor an AsyncAPI document: it has no `openapi` or `asyncapi` field; publish an OpenAPI 3.0/3.1 document for an HTTP API, or an AsyncAPI 2.x/3.0 document for events"
    )]
    Unrecognised,
    #[error("{pointer}: $ref {reference:?} {problem}")]
    Reference {
        pointer: String,
        reference: String,
        problem: &'static str,
    },
    #[error("{pointer}: invalid schema: {message}")]
    Schema { pointer: String, message: String },
}

/// A parsed OpenAPI document, ready to check pacts against.
pub struct ProviderSpec {
    doc: Value,
    version: OasVersion,
    base_paths: Vec<String>,
    paths: Vec<PathTemplate>,
    request: Compiled,
    response: Compiled,
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec")
            .field("version", &self.version)
            .field("paths", &self.paths.len())
            .finish_non_exhaustive()
    }
}

impl ProviderSpec {
    /// Reads a document: JSON when it starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        Self::from_value(read_document(text)?)
    }

    /// Takes an already-parsed document.
    pub fn from_value(doc: Value) -> Result<Self, SpecError> {
        let version = match doc.get("openapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("3.0") => OasVersion::V30,
            Some(v) if v.starts_with("3.1") => OasVersion::V31,
            Some(v) => return Err(SpecError::NotOpenApi(format!("`openapi` is {v:?}"))),
            None if doc.get("asyncapi").is_some() => {
                return Err(SpecError::NotOpenApi(
                    "it is an AsyncAPI document (breaking-change reports compare OpenAPI documents)".into(),
                ));
            }
            None if doc.get("swagger").is_some() => {
                return Err(SpecError::NotOpenApi("it is a Swagger 2.0 document".into()));
            }
            None => return Err(SpecError::NotOpenApi("it has no `openapi` field".into())),
        };
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            if doc.get("paths").is_some() {
                return Err(SpecError::NotOpenApi("`paths` is not an object".into()));
            }
            return Err(SpecError::NotOpenApi("it has no `paths`".into()));
        };
        check_references(&doc, &doc, &mut String::new())?;
        let mut templates: Vec<PathTemplate> = paths.keys().map(|p| PathTemplate::new(p)).collect();
        templates.sort_by(PathTemplate::precedence);
        let base_paths = paths::base_paths(&doc);
        // The two views are independent: converted side by side.
        let (request_doc, response_doc) = std::thread::scope(|scope| {
            let request = scope.spawn(|| schema::convert_document(&doc, version, View::Request));
            let response = schema::convert_document(&doc, version, View::Response);
            (request.join(), response)
        });
        let request_doc = request_doc.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok(Self {
            request: Compiled::new(View::Request, request_doc)?,
            response: Compiled::new(View::Response, response_doc)?,
            doc,
            version,
            base_paths,
            paths: templates,
        })
    }

    /// The document as it was read.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    pub fn version(&self) -> OasVersion {
        self.version
    }

    /// The compiled schema at `pointer` (a JSON pointer into the document) for `view`.
    fn validator(&self, view: View, pointer: &str) -> Result<Arc<Validator>, SpecError> {
        match view {
            View::Request => self.request.validator(pointer),
            View::Response => self.response.validator(pointer),
        }
    }

    /// Follows `$ref`s from `value` (in the original document) to what they point at.
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        schema::deref(&self.doc, value)
    }
}

/// One view's converted copy of a document, the registry its schemas resolve `$ref`s
/// against, and the schemas compiled from it so far.
pub(crate) struct Compiled {
    converted: Arc<Value>,
    registry: Registry<'static>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Compiled {
    pub(crate) fn new(view: View, converted: Value) -> Result<Self, SpecError> {
        let converted = Arc::new(converted);
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(view.base(), Arc::clone(&converted))
            .and_then(|builder| builder.prepare())
            .map_err(|err| SpecError::Schema {
                pointer: "#".into(),
                message: err.to_string(),
            })?;
        Ok(Self {
            converted,
            registry,
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// The compiled schema at `pointer` (a JSON pointer into the document): 2020-12, the
    /// `regex` crate's linear-time patterns, formats asserted; compiled on first use.
    pub(crate) fn validator(&self, pointer: &str) -> Result<Arc<Validator>, SpecError> {
        let schema = self
            .converted
            .pointer(pointer)
            .cloned()
            .unwrap_or(Value::Bool(true));
        // Documents usually share their schemas through a `$ref`: a small schema is
        // cached by its text, so each shared one is compiled once.
        let text = schema.to_string();
        let key = if text.len() <= 512 {
            text
        } else {
            format!("#{pointer}")
        };
        if let Some(validator) = self.validators.lock().expect("validator cache").get(&key) {
            return Ok(Arc::clone(validator));
        }
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|err| SpecError::Schema {
                pointer: format!("#{pointer}"),
                message: err.to_string(),
            })?;
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .expect("validator cache")
            .insert(key, Arc::clone(&validator));
        Ok(validator)
    }
}

/// Reads a document's text: JSON when it starts with `{`, YAML otherwise.
pub(crate) fn read_document(text: &str) -> Result<Value, SpecError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(SpecError::TooLarge { size: text.len() });
    }
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(SpecError::Json)
    } else {
        yaml_serde::from_str(text).map_err(SpecError::Yaml)
    }
}

/// Every `$ref` must be local and must resolve: an external one would make the broker
/// fetch documents from wherever a publisher points it.
pub(crate) fn check_references(
    root: &Value,
    value: &Value,
    pointer: &mut String,
) -> Result<(), SpecError> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if !reference.starts_with('#') {
                    return Err(SpecError::Reference {
                        pointer: format!("#{pointer}"),
                        reference: reference.clone(),
                        problem: "points outside the document; bundle the document into one file first",
                    });
                }
                if schema::resolve_local(root, reference).is_none() {
                    return Err(SpecError::Reference {
                        pointer: format!("#{pointer}"),
                        reference: reference.clone(),
                        problem: "does not resolve inside the document",
                    });
                }
            }
            for (key, child) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape(key));
                check_references(root, child, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                check_references(root, child, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
