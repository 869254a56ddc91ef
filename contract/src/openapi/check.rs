//! Checking a pact's HTTP interactions against the document: the rules of
//! [`ProviderSpec::check`].

use std::collections::HashMap;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use pact_models::bodies::OptionalBody;
use pact_models::v4::http_parts::{HttpRequest, HttpResponse};
use pact_models::v4::synch_http::SynchronousHttp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paths::PathTemplate;
use super::schema::{self, METHODS, View};
use super::{ProviderSpec, escape};
use crate::Contract;

/// What kind of disagreement between a pact and the document a [`Mismatch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MismatchKind {
    /// No path of the document fits the request's path.
    UnknownPath,
    /// The path exists, but not with the request's method.
    MethodNotAllowed,
    /// A required query, header or path parameter is absent.
    MissingRequiredParameter,
    /// A parameter's value does not fit its schema.
    InvalidParameter,
    /// The request body's content type is not one the operation takes.
    RequestContentType,
    /// The request body does not fit its schema (or there is none where one is required).
    RequestBodyInvalid,
    /// The operation does not declare the response's status.
    StatusNotDeclared,
    /// The response body's content type is not one declared for that status.
    ResponseContentType,
    /// A response field has a type, format or value the schema does not allow.
    ResponseBodyInvalid,
    /// The pact relies on a response field the schema does not declare.
    ResponseFieldNotInSpec,
    /// The pact relies on a response header the document does not declare for that
    /// status, or on a value its schema does not allow.
    ResponseHeaderInvalid,
    /// No channel of the AsyncAPI document fits the message's topic, routing key or
    /// channel.
    UnknownChannel,
    /// The channel exists, but the provider sends no message on it that fits.
    UnknownMessage,
    /// The message's content type is not the one the document gives it.
    MessageContentType,
    /// A field of the message's contents has a type, format or value the payload
    /// schema does not allow.
    MessageBodyInvalid,
    /// The pact relies on a field of the message's contents the payload schema does
    /// not declare.
    MessageFieldNotInSpec,
    /// A metadata entry (a header) the headers schema does not declare or allow.
    MessageMetadataInvalid,
}

impl MismatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MismatchKind::UnknownPath => "unknown-path",
            MismatchKind::MethodNotAllowed => "method-not-allowed",
            MismatchKind::MissingRequiredParameter => "missing-required-parameter",
            MismatchKind::InvalidParameter => "invalid-parameter",
            MismatchKind::RequestContentType => "request-content-type",
            MismatchKind::RequestBodyInvalid => "request-body-invalid",
            MismatchKind::StatusNotDeclared => "status-not-declared",
            MismatchKind::ResponseContentType => "response-content-type",
            MismatchKind::ResponseBodyInvalid => "response-body-invalid",
            MismatchKind::ResponseFieldNotInSpec => "response-field-not-in-spec",
            MismatchKind::ResponseHeaderInvalid => "response-header-invalid",
            MismatchKind::UnknownChannel => "unknown-channel",
            MismatchKind::UnknownMessage => "unknown-message",
            MismatchKind::MessageContentType => "message-content-type",
            MismatchKind::MessageBodyInvalid => "message-body-invalid",
            MismatchKind::MessageFieldNotInSpec => "message-field-not-in-spec",
            MismatchKind::MessageMetadataInvalid => "message-metadata-invalid",
        }
    }
}

impl MismatchKind {
    /// Why a mismatch of this kind matters, for a person reading a report.
    pub fn explanation(self) -> &'static str {
        match self {
            MismatchKind::UnknownPath => {
                "The consumer calls a path the document does not describe: the provider promises nothing there."
            }
            MismatchKind::MethodNotAllowed => {
                "The path exists, but the document gives it no operation for this method."
            }
            MismatchKind::MissingRequiredParameter => {
                "The document requires this parameter; the consumer's request leaves it out, so the provider may refuse it."
            }
            MismatchKind::InvalidParameter => {
                "The consumer sends a parameter value the document's schema does not allow."
            }
            MismatchKind::RequestContentType => {
                "The consumer sends a body in a media type the operation does not take."
            }
            MismatchKind::RequestBodyInvalid => {
                "The consumer's request body does not fit the schema the provider reads it with."
            }
            MismatchKind::StatusNotDeclared => {
                "The consumer expects a status the operation never answers with."
            }
            MismatchKind::ResponseContentType => {
                "The consumer expects a media type the document does not give for this status."
            }
            MismatchKind::ResponseBodyInvalid => {
                "The consumer expects a value the document's schema does not allow: the provider may send something else."
            }
            MismatchKind::ResponseFieldNotInSpec => {
                "The consumer relies on a field the document does not declare: the provider never promised it."
            }
            MismatchKind::ResponseHeaderInvalid => {
                "The consumer relies on a response header the document does not declare for this status, or on a value it does not allow."
            }
            MismatchKind::UnknownChannel => {
                "The consumer listens on a channel the document does not describe: the provider promises nothing there."
            }
            MismatchKind::UnknownMessage => {
                "The document lists no message the provider sends on this channel that looks like the one the consumer expects."
            }
            MismatchKind::MessageContentType => {
                "The consumer expects the message in a media type the document does not give it."
            }
            MismatchKind::MessageBodyInvalid => {
                "The consumer expects a value the message's payload schema does not allow: the provider may send something else."
            }
            MismatchKind::MessageFieldNotInSpec => {
                "The consumer relies on a field of the message the payload schema does not declare: the provider never promised it."
            }
            MismatchKind::MessageMetadataInvalid => {
                "The consumer relies on a header the document does not declare for this message, or on a value it does not allow."
            }
        }
    }
}

impl std::fmt::Display for MismatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way an interaction and the document disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    pub kind: MismatchKind,
    /// Where in the interaction: a JSON pointer such as `/response/body/createdAt`.
    pub pointer: String,
    /// What the pact has there.
    pub expected: String,
    /// What the document allows there.
    pub allowed: String,
    /// Where in the document the rule is, as a JSON pointer (`#/paths/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_pointer: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} the pact expects {}; the document allows {}",
            self.kind, self.pointer, self.expected, self.allowed
        )?;
        if let Some(spec) = &self.spec_pointer {
            write!(f, " ({spec})")?;
        }
        Ok(())
    }
}

/// The result for one interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionCheck {
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_states: Vec<String>,
    /// The operation the request was matched to (`GET /orders/{id}`), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub mismatches: Vec<Mismatch>,
}

/// An interaction the document cannot speak for (a message needs an AsyncAPI document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub description: String,
    pub reason: String,
}

/// A pact checked against the document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub interactions: Vec<InteractionCheck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl Comparison {
    /// Whether every HTTP interaction fits the document. Skipped interactions are not
    /// covered: [`Comparison::complete`] says whether there were any.
    pub fn success(&self) -> bool {
        self.interactions.iter().all(|i| i.mismatches.is_empty())
    }

    /// Whether the document spoke for every interaction of the pact.
    pub fn complete(&self) -> bool {
        self.skipped.is_empty()
    }

    pub fn mismatches(&self) -> impl Iterator<Item = (&InteractionCheck, &Mismatch)> {
        self.interactions
            .iter()
            .flat_map(|i| i.mismatches.iter().map(move |m| (i, m)))
    }
}

/// The operation a request was matched to.
pub(crate) struct Operation<'a> {
    pub(crate) template: &'a PathTemplate,
    pub(crate) method: &'static str,
    /// JSON pointer of the operation in the document (`/paths/~1orders/get`).
    pub(crate) pointer: String,
    pub(crate) path_values: Vec<(String, String)>,
}

impl Operation<'_> {
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.template.template)
    }
}

/// A parameter of an operation, resolved, with where its schema is.
struct Parameter {
    name: String,
    location: String,
    required: bool,
    schema_pointer: Option<String>,
}

impl ProviderSpec {
    /// Checks every HTTP interaction of the pact; messages are listed as skipped.
    pub fn check(&self, contract: &Contract) -> Comparison {
        crate::provider_contract::check_parts(Some(self), None, contract)
    }

    /// Checks one HTTP interaction.
    pub fn check_interaction(&self, interaction: &SynchronousHttp) -> InteractionCheck {
        let mut mismatches = Vec::new();
        let operation =
            match self.find_operation(&interaction.request.method, &interaction.request.path) {
                Ok(operation) => {
                    self.check_request(&operation, &interaction.request, &mut mismatches);
                    self.check_response(&operation, &interaction.response, &mut mismatches);
                    Some(operation.name())
                }
                Err(mismatch) => {
                    mismatches.push(mismatch);
                    None
                }
            };
        InteractionCheck {
            description: interaction.description.clone(),
            provider_states: interaction
                .provider_states
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            operation,
            mismatches,
        }
    }

    /// The operation for a method and path: server base paths stripped, concrete paths
    /// before templated ones.
    pub(crate) fn find_operation(
        &self,
        method: &str,
        path: &str,
    ) -> Result<Operation<'_>, Mismatch> {
        let method = method.to_ascii_lowercase();
        let mut candidates: Vec<&str> = self
            .base_paths
            .iter()
            .filter_map(|base| {
                path.strip_prefix(base.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|rest| if rest.is_empty() { "/" } else { rest })
            .collect();
        candidates.push(path);
        let mut path_only: Option<(&PathTemplate, Vec<&str>)> = None;
        for candidate in candidates {
            for template in &self.paths {
                let Some(values) = template.matches(candidate) else {
                    continue;
                };
                let item_pointer = format!("/paths/{}", escape(&template.template));
                let item = self.deref(self.doc.pointer(&item_pointer).unwrap_or(&Value::Null));
                if let Some(found) = METHODS.iter().find(|m| **m == method)
                    && item.get(*found).is_some()
                {
                    return Ok(Operation {
                        template,
                        method: found,
                        pointer: format!("{item_pointer}/{found}"),
                        path_values: values,
                    });
                }
                if path_only.is_none() {
                    let methods = METHODS
                        .iter()
                        .copied()
                        .filter(|m| item.get(*m).is_some())
                        .collect();
                    path_only = Some((template, methods));
                }
            }
        }
        Err(match path_only {
            Some((template, methods)) => Mismatch {
                kind: MismatchKind::MethodNotAllowed,
                pointer: "/request/method".into(),
                expected: method.to_uppercase(),
                allowed: format!(
                    "{} on {}",
                    methods
                        .iter()
                        .map(|m| m.to_uppercase())
                        .collect::<Vec<_>>()
                        .join(", "),
                    template.template
                ),
                spec_pointer: Some(format!("#/paths/{}", escape(&template.template))),
            },
            None => Mismatch {
                kind: MismatchKind::UnknownPath,
                pointer: "/request/path".into(),
                expected: format!("{path:?}"),
                allowed: self.path_list(),
                spec_pointer: Some("#/paths".into()),
            },
        })
    }

    fn path_list(&self) -> String {
        let listed = one_of(
            self.paths.iter().map(|t| t.template.as_str()),
            self.paths.len(),
        );
        if self.base_paths.is_empty() {
            listed
        } else {
            format!("{listed} under {}", self.base_paths.join(" or "))
        }
    }

    /// The operation's parameters and its path item's, the operation's taking precedence.
    fn parameters(&self, operation: &Operation<'_>) -> Vec<Parameter> {
        let item_pointer = operation
            .pointer
            .rsplit_once('/')
            .map(|(item, _)| item)
            .unwrap_or("");
        let mut found: Vec<Parameter> = Vec::new();
        for owner in [operation.pointer.as_str(), item_pointer] {
            let list_pointer = format!("{owner}/parameters");
            let Some(list) = self.doc.pointer(&list_pointer).and_then(Value::as_array) else {
                continue;
            };
            for (index, raw) in list.iter().enumerate() {
                let def = self.deref(raw);
                let def_pointer =
                    schema::resolved_pointer(&self.doc, raw, format!("{list_pointer}/{index}"));
                let (Some(name), Some(location)) = (
                    def.get("name").and_then(Value::as_str),
                    def.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if found
                    .iter()
                    .any(|p| p.location == location && p.name.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                let schema_pointer = if def.get("schema").is_some() {
                    Some(format!("{def_pointer}/schema"))
                } else {
                    def.get("content")
                        .and_then(Value::as_object)
                        .and_then(|c| c.keys().next())
                        .map(|media| format!("{def_pointer}/content/{}/schema", escape(media)))
                };
                found.push(Parameter {
                    name: name.to_string(),
                    location: location.to_string(),
                    required: location == "path" || def.get("required") == Some(&Value::Bool(true)),
                    schema_pointer,
                });
            }
        }
        found
    }

    fn check_request(
        &self,
        operation: &Operation<'_>,
        request: &HttpRequest,
        out: &mut Vec<Mismatch>,
    ) {
        let query = request.query.clone().unwrap_or_default();
        let headers = lower_headers(&request.headers);
        for parameter in self.parameters(operation) {
            let values: Option<Vec<String>> = match parameter.location.as_str() {
                "path" => operation
                    .path_values
                    .iter()
                    .find(|(name, _)| *name == parameter.name)
                    .map(|(_, value)| vec![value.clone()]),
                "query" => query.get(&parameter.name).map(|values| {
                    values
                        .iter()
                        .map(|v| v.clone().unwrap_or_default())
                        .collect()
                }),
                "header" => {
                    let lower = parameter.name.to_ascii_lowercase();
                    // OpenAPI ignores header parameters with these names: they are
                    // described by the media types and security schemes instead.
                    if ["accept", "content-type", "authorization"].contains(&lower.as_str()) {
                        continue;
                    }
                    headers.get(&lower).cloned()
                }
                _ => continue,
            };
            let pointer = match parameter.location.as_str() {
                "path" => "/request/path".to_string(),
                "query" => format!("/request/query/{}", escape(&parameter.name)),
                _ => format!(
                    "/request/headers/{}",
                    escape(&parameter.name.to_ascii_lowercase())
                ),
            };
            let Some(values) = values else {
                if parameter.required {
                    out.push(Mismatch {
                        kind: MismatchKind::MissingRequiredParameter,
                        pointer,
                        expected: format!(
                            "no {} parameter {:?}",
                            parameter.location, parameter.name
                        ),
                        allowed: format!(
                            "a request with the required {} parameter {:?}",
                            parameter.location, parameter.name
                        ),
                        spec_pointer: Some(format!("#{}", operation.pointer)),
                    });
                }
                continue;
            };
            let Some(schema_pointer) = parameter.schema_pointer else {
                continue;
            };
            let schema = self.deref(self.doc.pointer(&schema_pointer).unwrap_or(&Value::Null));
            let instance = coerce(schema, &values, |s| self.deref(s));
            let Ok(validator) = self.validator(View::Request, &schema_pointer) else {
                continue;
            };
            if let Some(error) = validator.iter_errors(&instance).next() {
                out.push(Mismatch {
                    kind: MismatchKind::InvalidParameter,
                    pointer,
                    expected: format!(
                        "{} parameter {:?} = {}",
                        parameter.location,
                        parameter.name,
                        describe(&instance)
                    ),
                    allowed: allowed(&error),
                    spec_pointer: Some(format!("#{schema_pointer}")),
                });
            }
        }
        let body_pointer = format!("{}/requestBody", operation.pointer);
        let declared = self.doc.pointer(&body_pointer);
        let (declared, body_pointer) = match declared {
            Some(raw) => (
                Some(self.deref(raw)),
                schema::resolved_pointer(&self.doc, raw, body_pointer),
            ),
            None => (None, body_pointer),
        };
        if !request.body.is_present() {
            if let Some(body) = declared
                && body.get("required") == Some(&Value::Bool(true))
            {
                out.push(Mismatch {
                    kind: MismatchKind::RequestBodyInvalid,
                    pointer: "/request/body".into(),
                    expected: "no body".into(),
                    allowed: "a request body: the operation requires one".into(),
                    spec_pointer: Some(format!("#{body_pointer}")),
                });
            }
            return;
        }
        let Some(body) = declared else {
            out.push(Mismatch {
                kind: MismatchKind::RequestBodyInvalid,
                pointer: "/request/body".into(),
                expected: "a body".into(),
                allowed: "no body: the operation takes none".into(),
                spec_pointer: Some(format!("#{}", operation.pointer)),
            });
            return;
        };
        let content_type = request_content_type(request);
        self.check_body(
            BodyCheck {
                side: Side::Request,
                content_type,
                body: &request.body,
                declared: body,
                declared_pointer: &body_pointer,
            },
            out,
        );
    }

    fn check_response(
        &self,
        operation: &Operation<'_>,
        response: &HttpResponse,
        out: &mut Vec<Mismatch>,
    ) {
        let responses_pointer = format!("{}/responses", operation.pointer);
        let responses = self
            .doc
            .pointer(&responses_pointer)
            .and_then(Value::as_object);
        let status = response.status.to_string();
        let range = format!("{}XX", &status[..1]);
        let key = responses.and_then(|all| {
            all.keys()
                .find(|k| **k == status)
                .or_else(|| all.keys().find(|k| k.eq_ignore_ascii_case(&range)))
                .or_else(|| all.keys().find(|k| *k == "default"))
        });
        let Some(key) = key else {
            let declared: Vec<&str> = responses
                .into_iter()
                .flat_map(|all| all.keys())
                .map(String::as_str)
                .collect();
            out.push(Mismatch {
                kind: MismatchKind::StatusNotDeclared,
                pointer: "/response/status".into(),
                expected: status,
                allowed: if declared.is_empty() {
                    "no response at all".into()
                } else {
                    format!("one of {}", declared.join(", "))
                },
                spec_pointer: Some(format!("#{responses_pointer}")),
            });
            return;
        };
        let raw_pointer = format!("{responses_pointer}/{}", escape(key));
        let raw = self.doc.pointer(&raw_pointer).unwrap_or(&Value::Null);
        let declared_pointer = schema::resolved_pointer(&self.doc, raw, raw_pointer);
        self.check_response_headers(response, self.deref(raw), &declared_pointer, out);
        if !response.body.is_present() {
            return;
        }
        let content_type = response_content_type(response);
        self.check_body(
            BodyCheck {
                side: Side::Response,
                content_type,
                body: &response.body,
                declared: self.deref(raw),
                declared_pointer: &declared_pointer,
            },
            out,
        );
    }

    /// Each response header the pact expects must be one the response declares, with a
    /// value its schema allows. Headers that describe the transfer rather than the API
    /// (the media type, length, date) are not API promises and are left alone.
    fn check_response_headers(
        &self,
        response: &HttpResponse,
        declared: &Value,
        declared_pointer: &str,
        out: &mut Vec<Mismatch>,
    ) {
        let mut expected: Vec<(String, Vec<String>)> = lower_headers(&response.headers)
            .into_iter()
            .filter(|(name, _)| !TRANSFER_HEADERS.contains(&name.as_str()))
            .collect();
        expected.sort();
        let headers = declared.get("headers").and_then(Value::as_object);
        for (name, values) in expected {
            let pointer = format!("/response/headers/{}", escape(&name));
            let found =
                headers.and_then(|all| all.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)));
            let Some((declared_name, raw)) = found else {
                let listed: Vec<&str> = headers
                    .into_iter()
                    .flat_map(|all| all.keys())
                    .map(String::as_str)
                    .collect();
                out.push(Mismatch {
                    kind: MismatchKind::ResponseHeaderInvalid,
                    pointer,
                    expected: format!("a header {name:?}"),
                    allowed: if listed.is_empty() {
                        "no headers: the response declares none".into()
                    } else {
                        format!("only the declared headers: {}", listed.join(", "))
                    },
                    spec_pointer: Some(format!("#{declared_pointer}")),
                });
                continue;
            };
            let header_pointer = schema::resolved_pointer(
                &self.doc,
                raw,
                format!("{declared_pointer}/headers/{}", escape(declared_name)),
            );
            let schema_pointer = format!("{header_pointer}/schema");
            let Some(schema) = self.doc.pointer(&schema_pointer) else {
                continue;
            };
            let instance = coerce(self.deref(schema), &values, |s| self.deref(s));
            let Ok(validator) = self.validator(View::Response, &schema_pointer) else {
                continue;
            };
            if let Some(error) = validator.iter_errors(&instance).next() {
                out.push(Mismatch {
                    kind: MismatchKind::ResponseHeaderInvalid,
                    pointer,
                    expected: format!("header {name:?} = {}", describe(&instance)),
                    allowed: allowed(&error),
                    spec_pointer: Some(format!("#{schema_pointer}")),
                });
            }
        }
    }

    fn check_body(&self, check: BodyCheck<'_>, out: &mut Vec<Mismatch>) {
        let side = check.side;
        let body_pointer = format!("/{}/body", side.name());
        let content = check.declared.get("content").and_then(Value::as_object);
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            out.push(Mismatch {
                kind: side.invalid(),
                pointer: body_pointer,
                expected: "a body".into(),
                allowed: "no body: none is declared here".into(),
                spec_pointer: Some(format!("#{}", check.declared_pointer)),
            });
            return;
        };
        let essence = check.content_type.as_deref().map(media_essence);
        let media = essence
            .as_deref()
            .and_then(|essence| best_media(content.keys(), essence));
        let Some(media) = media else {
            out.push(Mismatch {
                kind: side.content_type(),
                pointer: format!("/{}/headers/content-type", side.name()),
                expected: check
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "a body of unknown type".into()),
                allowed: format!(
                    "one of {}",
                    content.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                spec_pointer: Some(format!("#{}/content", check.declared_pointer)),
            });
            return;
        };
        let schema_pointer = format!(
            "{}/content/{}/schema",
            check.declared_pointer,
            escape(media)
        );
        if self.doc.pointer(&schema_pointer).is_none() {
            return;
        }
        let is_json = essence
            .as_deref()
            .is_some_and(|e| e.ends_with("/json") || e.ends_with("+json"));
        let Some(instance) = is_json
            .then(|| check.body.value())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        else {
            return;
        };
        let validator = match self.validator(side.view(), &schema_pointer) {
            Ok(validator) => validator,
            Err(err) => {
                out.push(Mismatch {
                    kind: side.invalid(),
                    pointer: body_pointer,
                    expected: describe(&instance),
                    allowed: format!("nothing Accord can check: {err}"),
                    spec_pointer: Some(format!("#{schema_pointer}")),
                });
                return;
            }
        };
        out.extend(schema_mismatches(
            side,
            &validator,
            &instance,
            &body_pointer,
            &schema_pointer,
        ));
    }
}

/// Every way `instance` does not fit `validator`'s schema, as mismatches at
/// `body_pointer` (`/response/body`, `/contents`), each named once.
pub(crate) fn schema_mismatches(
    side: Side,
    validator: &jsonschema::Validator,
    instance: &Value,
    body_pointer: &str,
    schema_pointer: &str,
) -> Vec<Mismatch> {
    let mut found: Vec<Mismatch> = Vec::new();
    for error in validator.iter_errors(instance) {
        for mismatch in body_mismatches(side, &error, instance, body_pointer, schema_pointer) {
            if !found
                .iter()
                .any(|m| m.kind == mismatch.kind && m.pointer == mismatch.pointer)
            {
                found.push(mismatch);
            }
        }
    }
    // A declared field whose value does not fit is not evaluated successfully, so
    // `unevaluatedProperties` reports it as well: the value's mismatch is the one.
    let extra = side.not_in_spec();
    if extra != side.invalid() {
        let invalid: Vec<String> = found
            .iter()
            .filter(|m| m.kind != extra)
            .map(|m| m.pointer.clone())
            .collect();
        found.retain(|m| {
            m.kind != extra
                || !invalid
                    .iter()
                    .any(|p| p == &m.pointer || p.starts_with(&format!("{}/", m.pointer)))
        });
    }
    found
}

/// What a schema is checked against: which view of the document, and which kinds of
/// mismatch its failures are.
/// Response headers about the transfer, not the API: never compared with the document.
const TRANSFER_HEADERS: [&str; 7] = [
    "content-type",
    "content-length",
    "date",
    "transfer-encoding",
    "connection",
    "vary",
    "server",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
    /// A message's contents (its payload).
    Message,
    /// A message's metadata (its headers).
    Metadata,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
            Side::Message => "contents",
            Side::Metadata => "metadata",
        }
    }
    fn view(self) -> View {
        match self {
            Side::Request => View::Request,
            Side::Response | Side::Message | Side::Metadata => View::Response,
        }
    }
    pub(crate) fn invalid(self) -> MismatchKind {
        match self {
            Side::Request => MismatchKind::RequestBodyInvalid,
            Side::Response => MismatchKind::ResponseBodyInvalid,
            Side::Message => MismatchKind::MessageBodyInvalid,
            Side::Metadata => MismatchKind::MessageMetadataInvalid,
        }
    }
    /// The kind of a field the pact holds and the schema does not declare.
    fn not_in_spec(self) -> MismatchKind {
        match self {
            Side::Request => MismatchKind::RequestBodyInvalid,
            Side::Response => MismatchKind::ResponseFieldNotInSpec,
            Side::Message => MismatchKind::MessageFieldNotInSpec,
            Side::Metadata => MismatchKind::MessageMetadataInvalid,
        }
    }
    fn content_type(self) -> MismatchKind {
        match self {
            Side::Request => MismatchKind::RequestContentType,
            Side::Response => MismatchKind::ResponseContentType,
            Side::Message | Side::Metadata => MismatchKind::MessageContentType,
        }
    }
}

struct BodyCheck<'a> {
    side: Side,
    content_type: Option<String>,
    body: &'a OptionalBody,
    declared: &'a Value,
    declared_pointer: &'a str,
}

fn lower_headers(headers: &Option<HashMap<String, Vec<String>>>) -> HashMap<String, Vec<String>> {
    headers
        .iter()
        .flatten()
        .map(|(name, values)| (name.to_ascii_lowercase(), values.clone()))
        .collect()
}

fn header_content_type(headers: &Option<HashMap<String, Vec<String>>>) -> Option<String> {
    lower_headers(headers)
        .get("content-type")
        .map(|values| values.join(", "))
}

fn request_content_type(request: &HttpRequest) -> Option<String> {
    header_content_type(&request.headers)
        .or_else(|| request.content_type().map(|ct| ct.to_string()))
}

fn response_content_type(response: &HttpResponse) -> Option<String> {
    header_content_type(&response.headers)
        .or_else(|| response.content_type().map(|ct| ct.to_string()))
}

/// `one of a, b, c and 12 more`: the first eight of `total` names, sorted.
pub(crate) fn one_of<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    let mut listed: Vec<&str> = names.take(8).collect();
    listed.sort_unstable();
    let more = total.saturating_sub(listed.len());
    if more > 0 {
        format!("one of {} and {more} more", listed.join(", "))
    } else {
        format!("one of {}", listed.join(", "))
    }
}

/// `type/subtype`, lower case, without parameters.
pub(crate) fn media_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The declared media type that best fits: exact, then `type/*`, then `*/*`.
fn best_media<'a>(
    declared: impl Iterator<Item = &'a String> + Clone,
    essence: &str,
) -> Option<&'a String> {
    let main = essence.split('/').next().unwrap_or("");
    let fits = |wanted: &dyn Fn(&str) -> bool| declared.clone().find(|d| wanted(&media_essence(d)));
    fits(&|d| d == essence)
        .or_else(|| fits(&|d| d == format!("{main}/*")))
        .or_else(|| fits(&|d| d == "*/*"))
}

/// Parameter values are text: read as what the schema says they hold.
fn coerce<'a>(
    schema: &'a Value,
    values: &[String],
    deref: impl Fn(&'a Value) -> &'a Value,
) -> Value {
    let kind = schema_type(schema);
    if kind == Some("array") {
        let items = schema.get("items").map(&deref).unwrap_or(&Value::Null);
        let values: Vec<String> = if values.len() == 1 {
            values[0].split(',').map(str::to_string).collect()
        } else {
            values.to_vec()
        };
        return Value::Array(
            values
                .iter()
                .map(|v| scalar(schema_type(items), v))
                .collect(),
        );
    }
    scalar(kind, values.first().map(String::as_str).unwrap_or(""))
}

pub(crate) fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(kind)) => Some(kind),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        _ => None,
    }
}

pub(crate) fn scalar(kind: Option<&str>, value: &str) -> Value {
    match kind {
        Some("integer" | "number") => serde_json::from_str::<serde_json::Number>(value)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(value.to_string())),
        Some("boolean") => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.to_string()),
        },
        _ => Value::String(value.to_string()),
    }
}

/// A short description of a value: its type and, for scalars, the value.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            if short.len() < s.len() {
                format!("string {short:?}…")
            } else {
                format!("string {short:?}")
            }
        }
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(map) => format!("an object with {} fields", map.len()),
    }
}

/// What the schema allows, said from the failing keyword.
fn allowed(error: &ValidationError<'_>) -> String {
    match error.kind() {
        ValidationErrorKind::Type { kind } => match kind {
            TypeKind::Single(t) => format!("type {t}"),
            TypeKind::Multiple(set) => format!(
                "type {}",
                set.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        },
        ValidationErrorKind::Format { format } => format!("a string in format {format}"),
        ValidationErrorKind::Enum { options } => format!("one of {options}"),
        ValidationErrorKind::Constant { expected_value } => format!("only {expected_value}"),
        ValidationErrorKind::Minimum { limit } => format!("a number >= {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("a number <= {limit}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("a number > {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("a number < {limit}"),
        ValidationErrorKind::MinLength { limit } => format!("at least {limit} characters"),
        ValidationErrorKind::MaxLength { limit } => format!("at most {limit} characters"),
        ValidationErrorKind::Pattern { pattern } => format!("a string matching /{pattern}/"),
        ValidationErrorKind::MinItems { limit } => format!("at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("at most {limit} items"),
        ValidationErrorKind::Required { property } => {
            format!("an object with the required field {property}")
        }
        ValidationErrorKind::FalseSchema => {
            "no such field here (read-only in requests, write-only in responses)".into()
        }
        ValidationErrorKind::UnevaluatedProperties { .. }
        | ValidationErrorKind::AdditionalProperties { .. } => {
            "only the fields the schema declares".into()
        }
        _ => error.masked().to_string(),
    }
}

/// The mismatches one validation error stands for. A failed `anyOf`/`oneOf` is
/// explained by its closest branch (fewest errors, then the deepest), so a field of a
/// nullable object is reported at the field, not as "matches no branch".
fn body_mismatches(
    side: Side,
    error: &ValidationError<'_>,
    instance: &Value,
    body_pointer: &str,
    schema_pointer: &str,
) -> Vec<Mismatch> {
    match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context }
            if !context.is_empty() =>
        {
            let best = context
                .iter()
                .filter(|branch| !branch.is_empty())
                .min_by(|a, b| a.len().cmp(&b.len()).then_with(|| depth(b).cmp(&depth(a))));
            if let Some(branch) = best {
                return branch
                    .iter()
                    .flat_map(|e| body_mismatches(side, e, instance, body_pointer, schema_pointer))
                    .collect();
            }
        }
        _ => {}
    }
    let at = error.instance_path().as_str().to_string();
    // Through a `$ref`, the keyword's path is its place in the whole document.
    let keyword = error.schema_path().as_str();
    let spec_pointer = Some(
        if ["/components/", "/paths/", "/channels/"]
            .iter()
            .any(|root| keyword.starts_with(root))
        {
            format!("#{keyword}")
        } else {
            format!("#{schema_pointer}{keyword}")
        },
    );
    let unexpected = match error.kind() {
        ValidationErrorKind::UnevaluatedProperties { unexpected }
        | ValidationErrorKind::AdditionalProperties { unexpected } => Some(unexpected),
        _ => None,
    };
    if let Some(unexpected) = unexpected {
        let kind = side.not_in_spec();
        return unexpected
            .iter()
            .map(|field| {
                let pointer = format!("{at}/{}", escape(field));
                let value = instance.pointer(&pointer).unwrap_or(&Value::Null);
                Mismatch {
                    kind,
                    pointer: format!("{body_pointer}{pointer}"),
                    expected: format!("a field {field:?} ({})", describe(value)),
                    allowed: "only the fields the schema declares; it does not declare this one"
                        .into(),
                    spec_pointer: spec_pointer.clone(),
                }
            })
            .collect();
    }
    let kind = match (side, error.kind()) {
        (Side::Request, _) => side.invalid(),
        (_, ValidationErrorKind::FalseSchema) => side.not_in_spec(),
        _ => side.invalid(),
    };
    let value = instance.pointer(&at).unwrap_or(&Value::Null);
    let expected = match error.kind() {
        ValidationErrorKind::Required { property } => format!("no field {property}"),
        _ => describe(value),
    };
    vec![Mismatch {
        kind,
        pointer: format!("{body_pointer}{at}"),
        expected,
        allowed: allowed(error),
        spec_pointer,
    }]
}

fn depth(branch: &[ValidationError<'_>]) -> usize {
    branch
        .iter()
        .map(|e| e.instance_path().as_str().matches('/').count())
        .max()
        .unwrap_or(0)
}
