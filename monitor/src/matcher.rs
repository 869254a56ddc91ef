//! Checks for the pact matchers that JSON Schema cannot express with its own keywords.
//!
//! They live in the derived schemas under one custom keyword, [`KEYWORD`], whose value names
//! the check (`{"kind": "timestamp", "format": "yyyy-MM-dd'T'HH:mm:ssX"}`). The same code
//! validates (through `jsonschema`) and classifies (when a finding is built, the check is
//! run again to learn which class of drift it is), so the two cannot disagree.

use std::sync::LazyLock;

use jsonschema::{Keyword, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::report::FindingClass;

/// The custom keyword under which these checks appear in derived schemas.
pub(crate) const KEYWORD: &str = "x-accord-matcher";

/// A check taken from a pact matcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum MatcherCheck {
    /// A date-time in the pact's (Java `SimpleDateFormat`-style) format.
    Timestamp { format: String },
    /// A date in the pact's format.
    Date { format: String },
    /// A time of day in the pact's format.
    Time { format: String },
    /// A number with a fractional part.
    Decimal,
    /// A boolean, or the strings `"true"` and `"false"` (as pact accepts them).
    Boolean,
    /// A string containing the given text.
    Include { value: String },
    /// A semantic version string.
    Semver,
}

/// Why a value failed a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub class: FindingClass,
    pub message: String,
}

/// The formats pact uses when a date, time or timestamp matcher gives none.
const DEFAULT_TIMESTAMP: &str = "yyyy-MM-dd'T'HH:mm:ssXXX";
const DEFAULT_DATE: &str = "yyyy-MM-dd";
const DEFAULT_TIME: &str = "HH:mm:ss";

static SEMVER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$",
    )
    .expect("the semver pattern is a valid regular expression")
});

impl MatcherCheck {
    /// The check for a date, time or timestamp matcher, with pact's default format when the
    /// pact gives none.
    pub(crate) fn timestamp(format: &str) -> Self {
        MatcherCheck::Timestamp {
            format: or_default(format, DEFAULT_TIMESTAMP),
        }
    }
    pub(crate) fn date(format: &str) -> Self {
        MatcherCheck::Date {
            format: or_default(format, DEFAULT_DATE),
        }
    }
    pub(crate) fn time(format: &str) -> Self {
        MatcherCheck::Time {
            format: or_default(format, DEFAULT_TIME),
        }
    }

    /// The schema fragment carrying this check.
    pub(crate) fn to_fragment(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert(
            KEYWORD.to_string(),
            serde_json::to_value(self).expect("a matcher check always serialises"),
        );
        map
    }

    /// What the check expects, in words.
    pub(crate) fn describe(&self) -> String {
        match self {
            MatcherCheck::Timestamp { format } => {
                format!("string in date-time format \"{format}\"")
            }
            MatcherCheck::Date { format } => format!("string in date format \"{format}\""),
            MatcherCheck::Time { format } => format!("string in time format \"{format}\""),
            MatcherCheck::Decimal => "decimal number".to_string(),
            MatcherCheck::Boolean => "boolean".to_string(),
            MatcherCheck::Include { value } => format!("string containing \"{value}\""),
            MatcherCheck::Semver => "semantic version string".to_string(),
        }
    }

    /// Runs the check.
    pub(crate) fn check(&self, value: &Value) -> Result<(), Violation> {
        match self {
            MatcherCheck::Timestamp { format }
            | MatcherCheck::Date { format }
            | MatcherCheck::Time { format } => check_datetime(self, format, value),
            MatcherCheck::Decimal => match value {
                // `serde_json` keeps numbers written with a fraction or exponent as floats;
                // that is exactly pact's "at least one digit after the decimal point".
                Value::Number(n) if n.is_f64() => Ok(()),
                Value::Number(n) => Err(Violation {
                    class: FindingClass::FormatChanged,
                    message: format!("{n} is an integer, a decimal number was expected"),
                }),
                other => Err(type_violation("a decimal number", other)),
            },
            MatcherCheck::Boolean => match value {
                Value::Bool(_) => Ok(()),
                Value::String(s) if s == "true" || s == "false" => Ok(()),
                other => Err(type_violation("a boolean", other)),
            },
            MatcherCheck::Include { value: needle } => match value {
                Value::String(s) if s.contains(needle.as_str()) => Ok(()),
                Value::String(s) => Err(Violation {
                    class: FindingClass::PatternMismatch,
                    message: format!("{s:?} does not contain {needle:?}"),
                }),
                // Pact compares the text form of non-string values.
                Value::Number(_) | Value::Bool(_)
                    if value.to_string().contains(needle.as_str()) =>
                {
                    Ok(())
                }
                other => Err(type_violation("a string", other)),
            },
            MatcherCheck::Semver => match value {
                Value::String(s) if SEMVER.is_match(s) => Ok(()),
                Value::String(s) => Err(Violation {
                    class: FindingClass::PatternMismatch,
                    message: format!("{s:?} is not a semantic version"),
                }),
                other => Err(type_violation("a version string", other)),
            },
        }
    }
}

fn or_default(format: &str, default: &str) -> String {
    if format.trim().is_empty() {
        default.to_string()
    } else {
        format.to_string()
    }
}

fn type_violation(expected: &str, actual: &Value) -> Violation {
    Violation {
        class: FindingClass::TypeChanged,
        message: format!("{} where {expected} was expected", describe_value(actual)),
    }
}

fn check_datetime(check: &MatcherCheck, format: &str, value: &Value) -> Result<(), Violation> {
    match value {
        Value::String(text) => {
            pact_models::time_utils::validate_datetime(text, format).map_err(|_| Violation {
                class: FindingClass::FormatChanged,
                message: format!("{text:?} does not match the format \"{format}\""),
            })
        }
        // A number where a formatted date was expected is the classic drift of an upstream
        // serialiser switching to epoch times; say so, rather than a bare "type changed".
        Value::Number(n) => Err(Violation {
            class: FindingClass::FormatChanged,
            message: format!(
                "{n} is a number{}, {} was expected",
                epoch_hint(n),
                check.describe()
            ),
        }),
        other => Err(Violation {
            class: FindingClass::TypeChanged,
            message: format!(
                "{} where {} was expected",
                describe_value(other),
                check.describe()
            ),
        }),
    }
}

/// Recognises numbers that look like Unix times, in seconds or milliseconds between 1990
/// and 2100, to make the message obvious.
fn epoch_hint(n: &serde_json::Number) -> &'static str {
    const SECONDS_1990: f64 = 631_152_000.0;
    const SECONDS_2100: f64 = 4_102_444_800.0;
    match n.as_f64() {
        Some(v) if (SECONDS_1990..SECONDS_2100).contains(&v) => " (a Unix timestamp in seconds)",
        Some(v) if (SECONDS_1990 * 1000.0..SECONDS_2100 * 1000.0).contains(&v) => {
            " (a Unix timestamp in milliseconds)"
        }
        _ => "",
    }
}

/// A short rendering of a JSON value for messages and reports: its type and, for scalars,
/// the value itself (long strings are cut).
pub(crate) fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(n) => format!("integer {n}"),
        Value::String(s) => {
            let mut text: String = s.chars().take(60).collect();
            if text.len() < s.len() {
                text.push('…');
            }
            format!("string {text:?}")
        }
        Value::Array(items) => format!("array of {} items", items.len()),
        Value::Object(map) => format!("object with {} fields", map.len()),
    }
}

/// The `jsonschema` side of the checks.
struct MatcherKeyword(MatcherCheck);

impl<'i> Keyword<'i> for MatcherKeyword {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        self.0
            .check(instance)
            .map_err(|violation| ValidationError::custom(violation.message))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.0.check(instance).is_ok()
    }
}

/// Validation options for derived schemas: draft 2020-12, the matcher keyword, and the
/// `regex` crate for `pattern`, the engine pact itself uses for regex matchers.
pub(crate) fn validation_options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .with_keyword(KEYWORD, |_parent, value, _location| {
            let check: MatcherCheck = serde_json::from_value(value.clone())
                .map_err(|err| ValidationError::schema(format!("invalid {KEYWORD}: {err}")))?;
            Ok(Box::new(MatcherKeyword(check)))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn iso_timestamps_pass_and_unix_timestamps_are_a_format_change() {
        let check = MatcherCheck::timestamp("yyyy-MM-dd'T'HH:mm:ssX");
        assert_eq!(check.check(&json!("2024-05-01T10:00:00Z")), Ok(()));
        let violation = check.check(&json!(1714557600)).unwrap_err();
        assert_eq!(violation.class, FindingClass::FormatChanged);
        assert!(
            violation.message.contains("Unix timestamp in seconds"),
            "{violation:?}"
        );
        let violation = check.check(&json!("1714557600")).unwrap_err();
        assert_eq!(violation.class, FindingClass::FormatChanged);
        let violation = check.check(&json!({"at": 1})).unwrap_err();
        assert_eq!(violation.class, FindingClass::TypeChanged);
    }

    #[test]
    fn empty_formats_fall_back_to_pacts_defaults() {
        assert_eq!(MatcherCheck::date("").check(&json!("2024-05-01")), Ok(()));
        assert!(MatcherCheck::date("").check(&json!("01/05/2024")).is_err());
        assert_eq!(MatcherCheck::time("").check(&json!("10:00:00")), Ok(()));
        assert_eq!(
            MatcherCheck::timestamp("").check(&json!("2024-05-01T10:00:00+02:00")),
            Ok(())
        );
    }

    #[test]
    fn decimal_boolean_include_and_semver() {
        assert_eq!(MatcherCheck::Decimal.check(&json!(1.5)), Ok(()));
        assert_eq!(
            MatcherCheck::Decimal.check(&json!(2)).unwrap_err().class,
            FindingClass::FormatChanged
        );
        assert_eq!(MatcherCheck::Boolean.check(&json!("true")), Ok(()));
        assert_eq!(
            MatcherCheck::Boolean.check(&json!(1)).unwrap_err().class,
            FindingClass::TypeChanged
        );
        let include = MatcherCheck::Include {
            value: "/orders/".into(),
        };
        assert_eq!(include.check(&json!("https://x/orders/1")), Ok(()));
        assert_eq!(
            include.check(&json!("https://x/o/1")).unwrap_err().class,
            FindingClass::PatternMismatch
        );
        assert_eq!(MatcherCheck::Semver.check(&json!("1.2.3-rc.1")), Ok(()));
        assert_eq!(
            MatcherCheck::Semver.check(&json!("v1")).unwrap_err().class,
            FindingClass::PatternMismatch
        );
    }

    #[test]
    fn the_keyword_rejects_through_jsonschema() {
        let schema = json!({
            "properties": {"at": {KEYWORD: {"kind": "timestamp", "format": "yyyy-MM-dd'T'HH:mm:ssX"}}}
        });
        let validator = validation_options().build(&schema).unwrap();
        assert!(validator.is_valid(&json!({"at": "2024-05-01T10:00:00Z"})));
        let instance = json!({"at": 1714557600});
        let errors: Vec<_> = validator.iter_errors(&instance).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].instance_path().to_string(), "/at");
    }
}
