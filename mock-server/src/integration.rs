//! The "integration JSON" format: example values with matchers and generators written inline.
//!
//! The official Pact clients (pact-js, pact-python, …) describe a body as its example value in
//! which any node may be replaced by an object such as
//! `{"pact:matcher:type": "type", "value": 42}` or
//! `{"pact:matcher:type": "regex", "regex": "\\d+", "value": "12", "pact:generator:type": "Regex"}`.
//! This module walks such a document, keeps the example values, and collects the matching rules
//! and generators at the document path where each matcher stood. The rules themselves are parsed
//! by `pact_models` (`MatchingRule::from_json`, `Generator::from_map`); what is ours is the walk
//! and the error messages, which name the JSON pointer of the faulty node.
//!
//! Strings written as matching rule definitions (`"matching(type, 'Fred')"`), which the V4 clients
//! use for headers and query parameters, are understood too.

use std::collections::HashMap;

use pact_models::generators::Generator;
use pact_models::matchingrules::expressions::{
    MatchingRuleDefinition, ValueType, is_matcher_def, parse_matcher_def,
};
use pact_models::matchingrules::{MatchingRule, MatchingRuleCategory, RuleLogic};
use pact_models::path_exp::DocPath;
use serde_json::{Map, Value};

/// A problem found at one place of an interaction document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// JSON pointer of the faulty node, from the interaction root (e.g. `/response/body/id`).
    pub pointer: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl FieldProblem {
    pub(crate) fn new(pointer: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            problem: problem.into(),
        }
    }
}

const MATCHER_KEY: &str = "pact:matcher:type";
const GENERATOR_KEY: &str = "pact:generator:type";

/// Matcher types Accord understands. Anything else is refused rather than carried as a plugin
/// rule, because no plugin could ever evaluate it here and the test would pass vacuously.
const KNOWN_MATCHERS: &[&str] = &[
    "equality",
    "regex",
    "type",
    "min",
    "max",
    "min-type",
    "max-type",
    "minType",
    "maxType",
    "timestamp",
    "datetime",
    "date",
    "time",
    "include",
    "number",
    "integer",
    "decimal",
    "real",
    "boolean",
    "null",
    "contentType",
    "content-type",
    "arrayContains",
    "array-contains",
    "values",
    "statusCode",
    "status-code",
    "notEmpty",
    "not-empty",
    "semver",
    "eachKey",
    "each-key",
    "eachValue",
    "each-value",
];

const KNOWN_GENERATORS: &[&str] = &[
    "RandomInt",
    "Uuid",
    "RandomDecimal",
    "RandomHexadecimal",
    "RandomString",
    "Regex",
    "Date",
    "Time",
    "DateTime",
    "RandomBoolean",
    "ProviderState",
    "MockServerURL",
];

/// Rules and generators collected from one part (body, a header, the path, …).
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub rules: Vec<(DocPath, MatchingRule)>,
    pub generators: Vec<(DocPath, Generator)>,
}

impl Collected {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.generators.is_empty()
    }

    /// The rules as a `pact_models` category named `name` (`body`, `header`, …).
    pub(crate) fn category(&self, name: &str) -> MatchingRuleCategory {
        let mut category = MatchingRuleCategory::empty(name);
        for (path, rule) in &self.rules {
            category.add_rule(path.clone(), rule.clone(), RuleLogic::And);
        }
        category
    }
}

/// Walks `value` (found at `pointer`, standing at document path `path`), returning the example
/// value with every matcher object replaced by its example, and recording rules and generators.
pub(crate) fn extract(
    value: &Value,
    path: &DocPath,
    pointer: &str,
    out: &mut Collected,
) -> Result<Value, FieldProblem> {
    match value {
        Value::Object(map) if map.contains_key(MATCHER_KEY) || map.contains_key(GENERATOR_KEY) => {
            extract_matcher(map, path, pointer, out)
        }
        Value::Object(map) => {
            let mut example = Map::with_capacity(map.len());
            for (key, item) in map {
                let mut item_path = path.clone();
                item_path.push_field(key.as_str());
                let item_pointer = format!("{pointer}/{}", escape_pointer(key));
                example.insert(key.clone(), extract(item, &item_path, &item_pointer, out)?);
            }
            Ok(Value::Object(example))
        }
        Value::Array(items) => {
            let mut example = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let mut item_path = path.clone();
                item_path.push_index(index);
                example.push(extract(
                    item,
                    &item_path,
                    &format!("{pointer}/{index}"),
                    out,
                )?);
            }
            Ok(Value::Array(example))
        }
        Value::String(text) if is_matcher_def(text) => extract_definition(text, path, pointer, out),
        other => Ok(other.clone()),
    }
}

fn extract_matcher(
    map: &Map<String, Value>,
    path: &DocPath,
    pointer: &str,
    out: &mut Collected,
) -> Result<Value, FieldProblem> {
    let matcher_type = match map.get(MATCHER_KEY) {
        None => None,
        Some(Value::String(name)) if KNOWN_MATCHERS.contains(&name.as_str()) => Some(name.as_str()),
        Some(Value::String(name)) => {
            return Err(FieldProblem::new(
                format!("{pointer}/{MATCHER_KEY}"),
                format!(
                    "unknown matcher type {name:?} (expected one of: {})",
                    KNOWN_MATCHERS.join(", ")
                ),
            ));
        }
        Some(_) => {
            return Err(FieldProblem::new(
                format!("{pointer}/{MATCHER_KEY}"),
                "must be a string naming the matcher type",
            ));
        }
    };

    let mut example_is_repeated = false;
    let example_source = map.get("value");
    match matcher_type {
        Some("arrayContains" | "array-contains") => {
            return extract_array_contains(map, path, pointer, out);
        }
        Some(name) => {
            // For eachKey/eachValue the `value` attribute is the example collection, not rule
            // configuration, so it must not end up inside the rule (pact_models would keep it as
            // a string). Every other matcher is parsed from its attributes as they are.
            let rule = if matches!(name, "eachKey" | "each-key" | "eachValue" | "each-value") {
                let mut attributes = map.clone();
                attributes.remove("value");
                MatchingRule::from_json(&Value::Object(attributes))
            } else {
                MatchingRule::from_json(&Value::Object(map.clone()))
            }
            .map_err(|err| FieldProblem::new(pointer, format!("invalid {name} matcher: {err}")))?;
            example_is_repeated = matches!(
                rule,
                MatchingRule::Type
                    | MatchingRule::MinType(_)
                    | MatchingRule::MaxType(_)
                    | MatchingRule::MinMaxType(_, _)
            ) && matches!(example_source, Some(Value::Array(_)));
            if let (
                MatchingRule::MinType(min) | MatchingRule::MinMaxType(min, _),
                Some(Value::Array(items)),
            ) = (&rule, example_source)
                && items.len() < *min
            {
                return Err(FieldProblem::new(
                    format!("{pointer}/value"),
                    format!(
                        "the example has {} item(s) but the matcher requires at least {min}",
                        items.len()
                    ),
                ));
            }
            out.rules.push((path.clone(), rule));
        }
        None => {}
    }

    if let Some(generator_type) = map.get(GENERATOR_KEY) {
        let name = match generator_type {
            Value::String(name) if KNOWN_GENERATORS.contains(&name.as_str()) => name.as_str(),
            Value::String(name) => {
                return Err(FieldProblem::new(
                    format!("{pointer}/{GENERATOR_KEY}"),
                    format!(
                        "unknown generator type {name:?} (expected one of: {})",
                        KNOWN_GENERATORS.join(", ")
                    ),
                ));
            }
            _ => {
                return Err(FieldProblem::new(
                    format!("{pointer}/{GENERATOR_KEY}"),
                    "must be a string naming the generator type",
                ));
            }
        };
        let generator = Generator::from_map(name, map).ok_or_else(|| {
            FieldProblem::new(
                pointer,
                format!("the {name} generator is missing its settings"),
            )
        })?;
        check_generator(&generator, pointer)?;
        out.generators.push((path.clone(), generator));
    }

    let value_pointer = format!("{pointer}/value");
    match example_source {
        Some(Value::Array(items)) if example_is_repeated => {
            // Every item of an `eachLike` example stands for all items, so rules found inside
            // them apply at `path[*]`, which is where pact_matching looks for them.
            let mut item_path = path.clone();
            item_path.push_star_index();
            let mut example = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                example.push(extract(
                    item,
                    &item_path,
                    &format!("{value_pointer}/{index}"),
                    out,
                )?);
            }
            Ok(Value::Array(example))
        }
        Some(value) => extract(value, path, &value_pointer, out),
        None if matcher_type == Some("null") => Ok(Value::Null),
        None => Err(FieldProblem::new(
            value_pointer,
            "is missing: a matcher needs an example value",
        )),
    }
}

/// Refuses generator settings that `pact_models` would only trip over when generating.
fn check_generator(generator: &Generator, pointer: &str) -> Result<(), FieldProblem> {
    match generator {
        Generator::MockServerURL(example, regex) => match regex::Regex::new(regex) {
            Ok(re) if re.captures_len() > 1 && re.is_match(example) => Ok(()),
            Ok(_) => Err(FieldProblem::new(
                format!("{pointer}/regex"),
                "a MockServerURL regex must match the example and capture the path in a group, \
                 e.g. \".*(/orders/\\\\d+)$\"",
            )),
            Err(err) => Err(FieldProblem::new(
                format!("{pointer}/regex"),
                format!("invalid regex: {err}"),
            )),
        },
        Generator::Regex(regex) => regex::Regex::new(regex).map(drop).map_err(|err| {
            FieldProblem::new(format!("{pointer}/regex"), format!("invalid regex: {err}"))
        }),
        _ => Ok(()),
    }
}

fn extract_array_contains(
    map: &Map<String, Value>,
    path: &DocPath,
    pointer: &str,
    out: &mut Collected,
) -> Result<Value, FieldProblem> {
    let variants = match map.get("variants") {
        Some(Value::Array(variants)) if !variants.is_empty() => variants,
        Some(_) => {
            return Err(FieldProblem::new(
                format!("{pointer}/variants"),
                "must be a non-empty array of example items",
            ));
        }
        None => {
            return Err(FieldProblem::new(
                format!("{pointer}/variants"),
                "is missing: an array-contains matcher lists the items the array must contain",
            ));
        }
    };
    let mut example = Vec::with_capacity(variants.len());
    let mut rule_variants = Vec::with_capacity(variants.len());
    for (index, variant) in variants.iter().enumerate() {
        // Each variant is matched on its own, so its rules are relative to the variant root.
        let mut inner = Collected::default();
        let value = extract(
            variant,
            &DocPath::root(),
            &format!("{pointer}/variants/{index}"),
            &mut inner,
        )?;
        example.push(value);
        let generators: HashMap<DocPath, Generator> = inner.generators.iter().cloned().collect();
        rule_variants.push((index, inner.category("body"), generators));
    }
    out.rules
        .push((path.clone(), MatchingRule::ArrayContains(rule_variants)));
    Ok(Value::Array(example))
}

fn extract_definition(
    text: &str,
    path: &DocPath,
    pointer: &str,
    out: &mut Collected,
) -> Result<Value, FieldProblem> {
    let definition: MatchingRuleDefinition = parse_matcher_def(text).map_err(|err| {
        FieldProblem::new(
            pointer,
            format!("invalid matching rule definition {text:?}: {err}"),
        )
    })?;
    for rule in &definition.rules {
        if let Some(reference) = rule.as_ref().right() {
            return Err(FieldProblem::new(
                pointer,
                format!(
                    "matching rule definitions that refer to other values ({}) are not supported",
                    reference.name
                ),
            ));
        }
        if let Some(rule) = rule.as_ref().left() {
            out.rules.push((path.clone(), rule.clone()));
        }
    }
    if let Some(generator) = &definition.generator {
        out.generators.push((path.clone(), generator.clone()));
    }
    Ok(match definition.value_type {
        ValueType::Integer | ValueType::Number | ValueType::Decimal => {
            serde_json::from_str(&definition.value).unwrap_or(Value::String(definition.value))
        }
        ValueType::Boolean => Value::Bool(definition.value == "true"),
        ValueType::String | ValueType::Unknown => Value::String(definition.value),
    })
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(value: Value) -> (Value, Collected) {
        let mut out = Collected::default();
        let example = extract(&value, &DocPath::root(), "/body", &mut out).unwrap();
        (example, out)
    }

    #[test]
    fn plain_values_pass_through() {
        let (example, out) = run(json!({"a": [1, "x", null], "b": {"c": true}}));
        assert_eq!(example, json!({"a": [1, "x", null], "b": {"c": true}}));
        assert!(out.is_empty());
    }

    #[test]
    fn matchers_become_rules_at_their_path() {
        let (example, out) = run(json!({
            "id": {"pact:matcher:type": "integer", "value": 7},
            "items": {"pact:matcher:type": "type", "min": 1, "value": [
                {"sku": {"pact:matcher:type": "regex", "regex": "^[A-Z]\\d$", "value": "A1"}}
            ]}
        }));
        assert_eq!(example, json!({"id": 7, "items": [{"sku": "A1"}]}));
        let paths: Vec<String> = out.rules.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, vec!["$.id", "$.items", "$.items[*].sku"]);
        assert_eq!(out.rules[1].1, MatchingRule::MinType(1));
        assert_eq!(out.rules[2].1, MatchingRule::Regex("^[A-Z]\\d$".into()));
    }

    #[test]
    fn generators_are_collected() {
        let (example, out) = run(json!({"n": {
            "pact:matcher:type": "integer", "value": 3,
            "pact:generator:type": "RandomInt", "min": 1, "max": 9
        }}));
        assert_eq!(example, json!({"n": 3}));
        assert_eq!(out.generators[0].1, Generator::RandomInt(1, 9));
    }

    #[test]
    fn unknown_matchers_name_the_pointer() {
        let mut out = Collected::default();
        let err = extract(
            &json!({"x": [{"pact:matcher:type": "bogus", "value": 1}]}),
            &DocPath::root(),
            "/response/body",
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/response/body/x/0/pact:matcher:type");
        assert!(err.problem.contains("bogus"), "{err:?}");
    }

    #[test]
    fn missing_example_is_reported() {
        let mut out = Collected::default();
        let err = extract(
            &json!({"pact:matcher:type": "type"}),
            &DocPath::root(),
            "/body",
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/body/value");
    }

    #[test]
    fn array_contains_keeps_variant_rules() {
        let (example, out) = run(json!({"pact:matcher:type": "array-contains", "variants": [
            {"id": {"pact:matcher:type": "integer", "value": 1}}
        ]}));
        assert_eq!(example, json!([{"id": 1}]));
        match &out.rules[0].1 {
            MatchingRule::ArrayContains(variants) => {
                assert_eq!(variants.len(), 1);
                assert!(!variants[0].1.is_empty());
            }
            other => panic!("unexpected rule {other:?}"),
        }
    }

    #[test]
    fn matcher_definitions_in_strings() {
        let (example, out) = run(json!("matching(type, 'Fred')"));
        assert_eq!(example, json!("Fred"));
        assert_eq!(out.rules[0].1, MatchingRule::Type);
    }
}
