//! Turning pact interactions into expectations: the request to send and, for the response,
//! the status, the media type and a JSON Schema (draft 2020-12) of the body.
//!
//! The schema follows what consumers rely on, not the whole provider:
//!
//! - a value with no matching rule is checked by type only (pact examples are examples);
//! - type matchers give `type`, `eachLike`/min/max give `minItems`/`maxItems` and an
//!   `items` schema taken from the first example item, regex matchers give `pattern`,
//!   number/integer/null matchers give `type`;
//! - equality gives `const`, and only where the pact asks for it;
//! - date, time and timestamp matchers, decimal, boolean, include and semver matchers give
//!   the custom keyword of [`crate::matcher`], which checks pact's own format string;
//! - `values`/`eachValue` give `additionalProperties`, `eachKey` gives `propertyNames`,
//!   `arrayContains` gives one `contains` per variant;
//! - fields the pact does not mention stay allowed (`additionalProperties` is never false),
//!   and arrays without a matcher accept their example items in any order.
//!
//! Matching rules are read from the `pact_models` representation, so V2 (`$.body...`) and
//! V3/V4 (categories) pacts give the same schema.

use std::collections::HashMap;
use std::sync::Arc;

use accord_contract::Contract;
use pact_models::HttpStatus;
use pact_models::http_parts::HttpPart;
use pact_models::matchingrules::{Category, MatchingRule, MatchingRuleCategory, RuleLogic};
use pact_models::provider_states::ProviderState;
use serde_json::{Map, Value, json};

use crate::classify::BodyDrift;
use crate::matcher::{self, MatcherCheck};
use crate::report::{PactRef, Skipped};

/// The schema dialect of derived schemas.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// What one pact expects of the provider, interaction by interaction.
#[derive(Debug, Clone)]
pub struct DerivedPact {
    pub pact: PactRef,
    pub interactions: Vec<InteractionExpectation>,
    /// Interactions that cannot be probed at all (message interactions, schemas that do
    /// not compile), with the reason.
    pub skipped: Vec<Skipped>,
}

/// One HTTP interaction: what to send and what must come back.
#[derive(Debug, Clone)]
pub struct InteractionExpectation {
    pub consumer: String,
    pub description: String,
    pub provider_states: Vec<ProviderState>,
    pub request: RecordedRequest,
    pub response: ResponseExpectation,
}

/// The request as recorded in the pact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordedRequest {
    /// Upper case, as HTTP wants it.
    pub method: String,
    pub path: String,
    /// Query parameters sorted by name (pact keeps them in a map).
    pub query: Vec<(String, Option<String>)>,
    /// Headers sorted by name, multiple values joined as pact writes them.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// What the response must look like.
#[derive(Debug, Clone)]
pub struct ResponseExpectation {
    pub status: StatusExpectation,
    /// The expected media type (`type/subtype`, lower case, no parameters), when the pact
    /// declares one.
    pub content_type: Option<String>,
    /// The body expectation, when the pact has a body.
    pub body: Option<BodyExpectation>,
}

/// The expected status code: the recorded one, or a class when the pact uses a status
/// code matcher.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusExpectation {
    Exact(u16),
    Matching(HttpStatus),
}

impl StatusExpectation {
    /// Whether `status` is acceptable.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusExpectation::Exact(expected) => *expected == status,
            StatusExpectation::Matching(class) => match class {
                HttpStatus::Information => (100..200).contains(&status),
                HttpStatus::Success => (200..300).contains(&status),
                HttpStatus::Redirect => (300..400).contains(&status),
                HttpStatus::ClientError => (400..500).contains(&status),
                HttpStatus::ServerError => (500..600).contains(&status),
                HttpStatus::StatusCodes(codes) => codes.contains(&status),
                HttpStatus::NonError => status < 400,
                HttpStatus::Error => status >= 400,
            },
        }
    }

    /// The expectation in words.
    pub fn describe(&self) -> String {
        match self {
            StatusExpectation::Exact(code) => format!("status {code}"),
            StatusExpectation::Matching(class) => match class {
                HttpStatus::StatusCodes(codes) => format!(
                    "status {}",
                    codes
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
                HttpStatus::Information => "an informational status (1xx)".to_string(),
                HttpStatus::Success => "a success status (2xx)".to_string(),
                HttpStatus::Redirect => "a redirect status (3xx)".to_string(),
                HttpStatus::ClientError => "a client error status (4xx)".to_string(),
                HttpStatus::ServerError => "a server error status (5xx)".to_string(),
                HttpStatus::NonError => "a non-error status (below 400)".to_string(),
                HttpStatus::Error => "an error status (400 or above)".to_string(),
            },
        }
    }
}

/// The expected body.
#[derive(Debug, Clone)]
pub enum BodyExpectation {
    /// A JSON body, checked against its derived schema.
    Json(JsonBodySchema),
    /// A body that is not JSON: only its presence (and the content type) is checked.
    Other,
}

/// A derived schema and its compiled validator.
#[derive(Clone)]
pub struct JsonBodySchema {
    schema: Arc<Value>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for JsonBodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonBodySchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl JsonBodySchema {
    /// Compiles a schema (as derived by [`derive_body_schema`]).
    pub fn compile(schema: Value) -> Result<Self, String> {
        let validator = matcher::validation_options()
            .build(&schema)
            .map_err(|err| err.to_string())?;
        Ok(Self {
            schema: Arc::new(schema),
            validator: Arc::new(validator),
        })
    }

    /// The JSON Schema.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    pub(crate) fn validator(&self) -> &jsonschema::Validator {
        &self.validator
    }

    /// Checks a body against the schema; every difference comes back classified.
    pub fn check(&self, body: &Value) -> Vec<BodyDrift> {
        crate::classify::check_body(self, body)
    }
}

/// Derives the expectations of every interaction of a pact.
pub fn derive_pact(contract: &Contract) -> DerivedPact {
    let consumer = contract.consumer().to_string();
    let pact = PactRef {
        consumer: consumer.clone(),
        provider: contract.provider().to_string(),
        origin: contract.origin().to_string(),
        content_hash: contract.content_hash(),
    };
    let mut interactions = Vec::new();
    let mut skipped = Vec::new();
    // Interactions often expect the same shape (a list and its filtered variants, one
    // resource in several states); compiling a validator is the costly part of derivation,
    // so identical schemas share one.
    let mut compiled: HashMap<String, JsonBodySchema> = HashMap::new();
    for interaction in contract.pact().interactions() {
        let description = interaction.description();
        let Some(http) = interaction.as_v4_http() else {
            skipped.push(Skipped {
                consumer: consumer.clone(),
                interaction: description,
                reason: "message interactions cannot be probed over HTTP".to_string(),
            });
            continue;
        };
        match derive_response(&http.response, &mut compiled) {
            Ok(response) => interactions.push(InteractionExpectation {
                consumer: consumer.clone(),
                description,
                provider_states: http.provider_states.clone(),
                request: recorded_request(&http.request),
                response,
            }),
            Err(problem) => skipped.push(Skipped {
                consumer: consumer.clone(),
                interaction: description,
                reason: format!("the expected response cannot be turned into a schema: {problem}"),
            }),
        }
    }
    DerivedPact {
        pact,
        interactions,
        skipped,
    }
}

fn recorded_request(request: &pact_models::v4::http_parts::HttpRequest) -> RecordedRequest {
    let mut query: Vec<(String, Option<String>)> = request
        .query
        .iter()
        .flatten()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.clone(), value.clone()))
        })
        .collect();
    query.sort();
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .flatten()
        .map(|(name, values)| (name.clone(), values.join(", ")))
        .collect();
    headers.sort();
    RecordedRequest {
        method: request.method.to_uppercase(),
        path: request.path.clone(),
        query,
        headers,
        body: request.body.value().map(|bytes| bytes.to_vec()),
    }
}

fn derive_response(
    response: &pact_models::v4::http_parts::HttpResponse,
    compiled: &mut HashMap<String, JsonBodySchema>,
) -> Result<ResponseExpectation, String> {
    let status = response
        .matching_rules
        .rules_for_category(Category::STATUS)
        .and_then(|category| {
            category.rules.values().find_map(|list| {
                list.rules.iter().find_map(|rule| match rule {
                    MatchingRule::StatusCode(status) => Some(status.clone()),
                    _ => None,
                })
            })
        })
        .map(StatusExpectation::Matching)
        .unwrap_or(StatusExpectation::Exact(response.status));

    let declared = response
        .lookup_content_type()
        .and_then(|header| pact_models::content_types::ContentType::parse(header.as_str()).ok())
        .or_else(|| response.body.content_type());
    let content_type = declared
        .as_ref()
        .map(|ct| format!("{}/{}", ct.main_type, ct.sub_type).to_lowercase());

    let body = match response.body.value() {
        None => None,
        Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(example) if declared.as_ref().is_none_or(|ct| ct.is_json()) => {
                let rules = response.matching_rules.rules_for_category(Category::BODY);
                let schema = derive_body_schema(&example, rules.as_ref());
                let key = schema.to_string();
                let body = match compiled.get(&key) {
                    Some(known) => known.clone(),
                    None => {
                        let fresh = JsonBodySchema::compile(schema)?;
                        compiled.insert(key, fresh.clone());
                        fresh
                    }
                };
                Some(BodyExpectation::Json(body))
            }
            _ => Some(BodyExpectation::Other),
        },
    };
    Ok(ResponseExpectation {
        status,
        content_type,
        body,
    })
}

/// Derives the JSON Schema of a body from its example and the body matching rules.
pub fn derive_body_schema(example: &Value, rules: Option<&MatchingRuleCategory>) -> Value {
    let deriver = Deriver { rules };
    let mut path = vec!["$".to_string()];
    let mut schema = deriver.node(example, &mut path, &[]);
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$schema".to_string(),
            Value::String(DRAFT_2020_12.to_string()),
        );
    }
    schema
}

struct Deriver<'r> {
    rules: Option<&'r MatchingRuleCategory>,
}

impl Deriver<'_> {
    /// The rules that apply at `path`: the best match by pact's own weighting. Rules
    /// inherited from a parent are applied as they would be to a single value (a minimum
    /// length on a parent array does not constrain nested arrays), and those that do not
    /// cascade (`values`, `eachKey`, `eachValue`) are dropped.
    fn rules_at(&self, path: &[String]) -> (Vec<MatchingRule>, RuleLogic) {
        let Some(category) = self.rules else {
            return (Vec::new(), RuleLogic::And);
        };
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let list = category.select_best_matcher(&refs);
        let rules = if list.cascaded {
            list.rules
                .iter()
                // `arrayContains` describes the array it is set on, never its items.
                .filter(|rule| {
                    rule.can_cascade() && !matches!(rule, MatchingRule::ArrayContains(_))
                })
                .map(MatchingRule::for_single_item)
                .collect()
        } else {
            list.rules.clone()
        };
        (rules, list.rule_logic)
    }

    /// The schema of one node. `extra` holds rules that apply to this node because a parent
    /// said so (`eachValue`).
    fn node(&self, example: &Value, path: &mut Vec<String>, extra: &[MatchingRule]) -> Value {
        let (mut rules, logic) = self.rules_at(path);
        rules.extend(extra.iter().cloned());

        let mut node = Map::new();
        if rules.is_empty() {
            node.insert("type".to_string(), json!(json_type(example)));
        }
        self.structure(example, path, &rules, &mut node);

        let fragments: Vec<Map<String, Value>> = rules
            .iter()
            .filter_map(|rule| self.fragment(rule, example))
            .collect();
        match logic {
            RuleLogic::Or if fragments.len() > 1 => {
                node.insert(
                    "anyOf".to_string(),
                    Value::Array(fragments.into_iter().map(Value::Object).collect()),
                );
            }
            _ => {
                for fragment in fragments {
                    merge_or_all_of(&mut node, fragment);
                }
            }
        }
        Value::Object(node)
    }

    /// Properties, items and the like: the shape of the example's children.
    fn structure(
        &self,
        example: &Value,
        path: &mut Vec<String>,
        rules: &[MatchingRule],
        node: &mut Map<String, Value>,
    ) {
        let each_value: Vec<MatchingRule> = rules
            .iter()
            .filter_map(|rule| match rule {
                MatchingRule::EachValue(definition) => Some(definition_rules(definition)),
                _ => None,
            })
            .flatten()
            .collect();
        let by_template = !each_value.is_empty()
            || rules
                .iter()
                .any(|rule| rule.is_type_matcher() || matches!(rule, MatchingRule::Values));
        if rules
            .iter()
            .any(|rule| matches!(rule, MatchingRule::ArrayContains(_)))
        {
            // Only the variants are checked: other items may be anything.
            return;
        }
        match example {
            Value::Object(fields) if by_template && !fields.is_empty() => {
                // Keys are free; every value must look like the first one.
                let (key, value) = fields.iter().next().expect("checked non-empty");
                let is_values = rules
                    .iter()
                    .any(|rule| matches!(rule, MatchingRule::Values | MatchingRule::EachValue(_)));
                if is_values {
                    path.push(key.clone());
                    let schema = self.node(value, path, &each_value);
                    path.pop();
                    node.insert("additionalProperties".to_string(), schema);
                } else {
                    self.properties(fields, path, node);
                }
            }
            Value::Object(fields) => self.properties(fields, path, node),
            Value::Array(items) if items.is_empty() => {}
            Value::Array(items) if by_template => {
                path.push("0".to_string());
                let schema = self.node(&items[0], path, &each_value);
                path.pop();
                node.insert("items".to_string(), schema);
            }
            Value::Array(items) => {
                // Without a matcher every example item is a shape the consumer has seen;
                // the provider may return them in any order.
                let mut distinct: Vec<Value> = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    path.push(index.to_string());
                    let schema = self.node(item, path, &[]);
                    path.pop();
                    if !distinct.contains(&schema) {
                        distinct.push(schema);
                    }
                }
                let items_schema = if distinct.len() == 1 {
                    distinct.pop().expect("one schema")
                } else {
                    json!({ "anyOf": distinct })
                };
                node.insert("items".to_string(), items_schema);
            }
            _ => {}
        }
    }

    fn properties(
        &self,
        fields: &serde_json::Map<String, Value>,
        path: &mut Vec<String>,
        node: &mut Map<String, Value>,
    ) {
        if fields.is_empty() {
            return;
        }
        let mut properties = Map::new();
        for (key, value) in fields {
            path.push(key.clone());
            properties.insert(key.clone(), self.node(value, path, &[]));
            path.pop();
        }
        let required: Vec<Value> = fields.keys().cloned().map(Value::String).collect();
        node.insert("properties".to_string(), Value::Object(properties));
        node.insert("required".to_string(), Value::Array(required));
    }

    /// The constraint one rule puts on the node itself.
    fn fragment(&self, rule: &MatchingRule, example: &Value) -> Option<Map<String, Value>> {
        let typed = |kind: &str| {
            let mut map = Map::new();
            map.insert("type".to_string(), json!(kind));
            map
        };
        let example_type = json_type(example);
        let lengths = |min: Option<usize>, max: Option<usize>| {
            let mut map = typed(example_type);
            if example.is_array() {
                if let Some(min) = min {
                    map.insert("minItems".to_string(), json!(min));
                }
                if let Some(max) = max {
                    map.insert("maxItems".to_string(), json!(max));
                }
            }
            map
        };
        Some(match rule {
            MatchingRule::Equality => {
                let mut map = Map::new();
                map.insert("const".to_string(), example.clone());
                map
            }
            MatchingRule::Regex(pattern) => {
                if example.is_string() {
                    let mut map = typed("string");
                    map.insert("pattern".to_string(), json!(pattern));
                    map
                } else {
                    // Pact matches the text form of a non-string value against the regex.
                    // JSON Schema's `pattern` only applies to strings, so accept the
                    // example's type (unchecked beyond that) or a string matching it.
                    let mut map = Map::new();
                    map.insert("type".to_string(), json!([example_type, "string"]));
                    map.insert("pattern".to_string(), json!(pattern));
                    map
                }
            }
            MatchingRule::Type => typed(example_type),
            MatchingRule::MinType(min) => lengths(Some(*min), None),
            MatchingRule::MaxType(max) => lengths(None, Some(*max)),
            MatchingRule::MinMaxType(min, max) => lengths(Some(*min), Some(*max)),
            MatchingRule::Timestamp(format) => MatcherCheck::timestamp(format).to_fragment(),
            MatchingRule::Date(format) => MatcherCheck::date(format).to_fragment(),
            MatchingRule::Time(format) => MatcherCheck::time(format).to_fragment(),
            MatchingRule::Include(value) => MatcherCheck::Include {
                value: value.clone(),
            }
            .to_fragment(),
            MatchingRule::Number => typed("number"),
            MatchingRule::Integer => typed("integer"),
            MatchingRule::Decimal => MatcherCheck::Decimal.to_fragment(),
            MatchingRule::Null => typed("null"),
            MatchingRule::Boolean => MatcherCheck::Boolean.to_fragment(),
            MatchingRule::Semver => MatcherCheck::Semver.to_fragment(),
            MatchingRule::NotEmpty => {
                let mut map = typed(example_type);
                let keyword = match example {
                    Value::String(_) => Some("minLength"),
                    Value::Array(_) => Some("minItems"),
                    Value::Object(_) => Some("minProperties"),
                    _ => None,
                };
                if let Some(keyword) = keyword {
                    map.insert(keyword.to_string(), json!(1));
                }
                map
            }
            MatchingRule::Values | MatchingRule::EachValue(_) => typed(example_type),
            MatchingRule::EachKey(definition) => {
                let key_rules = definition_rules(definition);
                let mut key_schema = Map::new();
                for key_rule in &key_rules {
                    if let Some(fragment) = self.fragment(key_rule, &json!("")) {
                        merge_or_all_of(&mut key_schema, fragment);
                    }
                }
                let mut map = typed("object");
                map.insert("propertyNames".to_string(), Value::Object(key_schema));
                map
            }
            MatchingRule::ArrayContains(variants) => {
                let items = example.as_array().cloned().unwrap_or_default();
                let contains: Vec<Value> = variants
                    .iter()
                    .filter_map(|(index, variant_rules, _generators)| {
                        let item = items.get(*index)?;
                        // Variant rules are written relative to the item itself.
                        let deriver = Deriver {
                            rules: Some(variant_rules),
                        };
                        let mut path = vec!["$".to_string()];
                        Some(json!({ "contains": deriver.node(item, &mut path, &[]) }))
                    })
                    .collect();
                let mut map = typed("array");
                if !contains.is_empty() {
                    map.insert("allOf".to_string(), Value::Array(contains));
                }
                map
            }
            // Binary content, plugin rules and status rules say nothing about JSON values.
            MatchingRule::ContentType(_)
            | MatchingRule::StatusCode(_)
            | MatchingRule::Plugin { .. } => return None,
        })
    }
}

/// The plain matching rules of an `eachKey`/`eachValue` definition (references to named
/// definitions are not used by HTTP pacts).
fn definition_rules(
    definition: &pact_models::matchingrules::expressions::MatchingRuleDefinition,
) -> Vec<MatchingRule> {
    definition
        .rules
        .iter()
        .filter_map(|rule| rule.clone().left())
        .collect()
}

/// Merges a fragment into the node; a keyword already present with another value goes into
/// `allOf` whole, so both constraints hold.
fn merge_or_all_of(node: &mut Map<String, Value>, fragment: Map<String, Value>) {
    let conflicts = fragment
        .iter()
        .any(|(key, value)| node.get(key).is_some_and(|existing| existing != value));
    if conflicts {
        let all_of = node
            .entry("allOf".to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = all_of {
            list.push(Value::Object(fragment));
        }
    } else {
        for (key, value) in fragment {
            node.insert(key, value);
        }
    }
}

/// The JSON Schema type of an example value; numbers are `number` whether written with a
/// fraction or not, as pact's type matcher does not tell integers from decimals.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Summarises a schema node in words, for the `expected` column of findings.
pub(crate) fn describe_schema(schema: &Value) -> String {
    let Some(map) = schema.as_object() else {
        return "any value".to_string();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(check) = map
        .get(matcher::KEYWORD)
        .and_then(|value| serde_json::from_value::<MatcherCheck>(value.clone()).ok())
    {
        parts.push(check.describe());
    }
    if let Some(value) = map.get("const") {
        parts.push(format!("equal to {value}"));
    }
    if let Some(kind) = map.get("type").and_then(Value::as_str) {
        let mut text = kind.to_string();
        if let Some(pattern) = map.get("pattern").and_then(Value::as_str) {
            text = format!("string matching /{pattern}/");
        }
        let min = map.get("minItems").and_then(Value::as_u64);
        let max = map.get("maxItems").and_then(Value::as_u64);
        match (min, max) {
            (Some(min), Some(max)) => text.push_str(&format!(" with {min} to {max} items")),
            (Some(min), None) => text.push_str(&format!(" with at least {min} item(s)")),
            (None, Some(max)) => text.push_str(&format!(" with at most {max} item(s)")),
            (None, None) => {}
        }
        if map.get("minLength").is_some() || map.get("minProperties").is_some() {
            text = format!("non-empty {text}");
        }
        parts.push(text);
    }
    if let Some(Value::Array(options)) = map.get("anyOf") {
        parts.push(
            options
                .iter()
                .map(describe_schema)
                .collect::<Vec<_>>()
                .join(" or "),
        );
    }
    if parts.is_empty() {
        "any value".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
