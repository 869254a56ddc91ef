//! Turning `jsonschema` validation errors into findings of a known class.

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::matcher::{self, MatcherCheck, describe_value};
use crate::report::FindingClass;
use crate::schema::{JsonBodySchema, describe_schema};

/// One difference between a body and its schema, before it is attributed to consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDrift {
    /// JSON pointer into the body.
    pub pointer: String,
    pub class: FindingClass,
    pub expected: String,
    pub actual: String,
}

/// Validates `body` and classifies every error.
pub(crate) fn check_body(schema: &JsonBodySchema, body: &Value) -> Vec<BodyDrift> {
    let mut drifts = Vec::new();
    for error in schema.validator().iter_errors(body) {
        classify(schema.schema(), &error, &mut drifts);
    }
    // Errors from `allOf` branches can repeat a place and class; keep the first.
    let mut seen = std::collections::HashSet::new();
    drifts.retain(|drift| seen.insert((drift.pointer.clone(), drift.class)));
    drifts
}

fn classify(schema: &Value, error: &jsonschema::ValidationError<'_>, out: &mut Vec<BodyDrift>) {
    let pointer = error.instance_path().to_string();
    let schema_path = error.schema_path().to_string();
    let instance = error.instance();
    let keyword_parent = parent_pointer(&schema_path);
    let expected_here = || {
        schema
            .pointer(keyword_parent)
            .map(describe_schema)
            .unwrap_or_else(|| error.to_string())
    };
    let mut push = |pointer: String, class: FindingClass, expected: String, actual: String| {
        out.push(BodyDrift {
            pointer,
            class,
            expected,
            actual,
        })
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let property_schema = format!(
                "{keyword_parent}/properties/{}",
                escape_pointer_segment(name)
            );
            let expected = schema
                .pointer(&property_schema)
                .map(describe_schema)
                .unwrap_or_else(|| "present".to_string());
            push(
                format!("{pointer}/{}", escape_pointer_segment(name)),
                FindingClass::FieldMissing,
                expected,
                "absent".to_string(),
            );
        }
        ValidationErrorKind::Type { .. } => push(
            pointer,
            FindingClass::TypeChanged,
            expected_here(),
            describe_value(instance),
        ),
        ValidationErrorKind::Pattern { pattern } => push(
            pointer,
            FindingClass::PatternMismatch,
            format!("string matching /{pattern}/"),
            describe_value(instance),
        ),
        ValidationErrorKind::MinItems { limit } => {
            let empty = instance.as_array().is_some_and(Vec::is_empty);
            push(
                pointer,
                if empty {
                    FindingClass::ArrayEmpty
                } else {
                    FindingClass::ArrayLength
                },
                format!("at least {limit} item(s)"),
                describe_value(instance),
            );
        }
        ValidationErrorKind::MaxItems { limit } => push(
            pointer,
            FindingClass::ArrayLength,
            format!("at most {limit} item(s)"),
            describe_value(instance),
        ),
        ValidationErrorKind::Constant { expected_value } => push(
            pointer,
            FindingClass::ValueChanged,
            format!("equal to {expected_value}"),
            describe_value(instance),
        ),
        ValidationErrorKind::Enum { options } => push(
            pointer,
            FindingClass::ValueChanged,
            format!("one of {options}"),
            describe_value(instance),
        ),
        ValidationErrorKind::MinLength { .. } | ValidationErrorKind::MinProperties { .. } => push(
            pointer,
            FindingClass::ValueChanged,
            "a non-empty value".to_string(),
            describe_value(instance),
        ),
        ValidationErrorKind::Contains => push(
            pointer,
            FindingClass::ItemMissing,
            format!(
                "an item that is {}",
                schema
                    .pointer(&format!("{keyword_parent}/contains"))
                    .map(describe_schema)
                    .unwrap_or_else(|| "like the pact's".to_string())
            ),
            describe_value(instance),
        ),
        ValidationErrorKind::Custom { keyword, message } if keyword == matcher::KEYWORD => {
            // Run the check again to learn its class; it is the same code that failed.
            let check = schema
                .pointer(&schema_path)
                .and_then(|value| serde_json::from_value::<MatcherCheck>(value.clone()).ok());
            match check.map(|check| (check.check(instance), check)) {
                Some((Err(violation), check)) => push(
                    pointer,
                    violation.class,
                    check.describe(),
                    describe_value(instance),
                ),
                _ => push(
                    pointer,
                    FindingClass::ValueChanged,
                    expected_here(),
                    message.clone(),
                ),
            }
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // The branch with the fewest errors is the one the provider most likely meant.
            match context
                .iter()
                .filter(|branch| !branch.is_empty())
                .min_by_key(|branch| branch.len())
            {
                Some(branch) => {
                    for inner in branch {
                        classify(schema, inner, out);
                    }
                }
                None => push(
                    pointer,
                    FindingClass::TypeChanged,
                    expected_here(),
                    describe_value(instance),
                ),
            }
        }
        ValidationErrorKind::PropertyNames { error: inner } => push(
            pointer,
            FindingClass::PatternMismatch,
            format!(
                "keys that are {}",
                schema
                    .pointer(&format!("{keyword_parent}/propertyNames"))
                    .map(describe_schema)
                    .unwrap_or_else(|| "as the pact says".to_string())
            ),
            format!("key {}", describe_value(inner.instance())),
        ),
        _ => push(
            pointer,
            FindingClass::ValueChanged,
            expected_here(),
            error.to_string(),
        ),
    }
}

/// The pointer of the schema object holding the keyword at `schema_path`.
fn parent_pointer(schema_path: &str) -> &str {
    schema_path
        .rfind('/')
        .map(|index| &schema_path[..index])
        .unwrap_or("")
}

fn escape_pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
