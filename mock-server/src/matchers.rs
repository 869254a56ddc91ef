//! Helpers that write matchers and generators in the integration JSON format.
//!
//! Each helper returns a `serde_json::Value` that can stand anywhere in a body (or as a header,
//! query parameter or path value): `json!({"id": integer(42), "tags": each_like("red")})`.
//! They produce exactly what the official clients produce (`{"pact:matcher:type": …}`), so a
//! body written with them can also be sent to the admin API of `accord mock`.

use serde_json::{Value, json};

fn matcher(kind: &str, value: Value) -> Value {
    json!({"pact:matcher:type": kind, "value": value})
}

/// Any value of the same JSON type as `example` (the "type" matcher). Applies to everything
/// inside an object or array example too.
pub fn like(example: impl Into<Value>) -> Value {
    matcher("type", example.into())
}

/// An array whose every item is like `item`, with at least one item.
pub fn each_like(item: impl Into<Value>) -> Value {
    each_like_min(item, 1)
}

/// An array whose every item is like `item`, with at least `min` items (the example repeats
/// `item` `min` times).
pub fn each_like_min(item: impl Into<Value>, min: usize) -> Value {
    let item = item.into();
    json!({"pact:matcher:type": "type", "min": min, "value": vec![item; min.max(1)]})
}

/// An array whose every item is like `item`, with at most `max` items.
pub fn each_like_max(item: impl Into<Value>, max: usize) -> Value {
    json!({"pact:matcher:type": "type", "max": max, "value": [item.into()]})
}

/// An array of between `min` and `max` items, each like `item`.
pub fn each_like_between(item: impl Into<Value>, min: usize, max: usize) -> Value {
    let item = item.into();
    json!({"pact:matcher:type": "type", "min": min, "max": max, "value": vec![item; min.max(1)]})
}

/// A string matching the regular expression `pattern`; `example` must match it too.
pub fn term(pattern: &str, example: &str) -> Value {
    json!({"pact:matcher:type": "regex", "regex": pattern, "value": example})
}

/// Same as [`term`], under the matcher's own name.
pub fn regex(pattern: &str, example: &str) -> Value {
    term(pattern, example)
}

/// Any integer.
pub fn integer(example: i64) -> Value {
    matcher("integer", json!(example))
}

/// Any number with a fractional part.
pub fn decimal(example: f64) -> Value {
    matcher("decimal", json!(example))
}

/// Any number.
pub fn number(example: impl Into<Value>) -> Value {
    matcher("number", example.into())
}

/// Any boolean.
pub fn boolean(example: bool) -> Value {
    matcher("boolean", json!(example))
}

/// The JSON null.
pub fn null() -> Value {
    json!({"pact:matcher:type": "null"})
}

/// Exactly `example`, even inside a `like(...)`.
pub fn equal_to(example: impl Into<Value>) -> Value {
    matcher("equality", example.into())
}

/// A string that contains `text`.
pub fn includes(text: &str) -> Value {
    matcher("include", json!(text))
}

/// A date-time in `format` (Java `DateTimeFormatter` pattern, e.g. `yyyy-MM-dd'T'HH:mm:ss`).
pub fn datetime(format: &str, example: &str) -> Value {
    json!({"pact:matcher:type": "datetime", "format": format, "value": example})
}

/// A date in `format` (e.g. `yyyy-MM-dd`).
pub fn date(format: &str, example: &str) -> Value {
    json!({"pact:matcher:type": "date", "format": format, "value": example})
}

/// A time in `format` (e.g. `HH:mm:ss`).
pub fn time(format: &str, example: &str) -> Value {
    json!({"pact:matcher:type": "time", "format": format, "value": example})
}

/// A date-time in `format`; the mock provider answers with the current time in that format.
pub fn datetime_now(format: &str, example: &str) -> Value {
    json!({"pact:matcher:type": "datetime", "format": format, "value": example,
           "pact:generator:type": "DateTime"})
}

/// A UUID string; the mock provider answers with a fresh random UUID.
pub fn uuid(example: &str) -> Value {
    json!({"pact:matcher:type": "regex",
           "regex": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
           "value": example, "pact:generator:type": "Uuid"})
}

/// An integer; the mock provider answers with a random one between `min` and `max`.
pub fn random_integer(min: i32, max: i32, example: i64) -> Value {
    json!({"pact:matcher:type": "integer", "value": example,
           "pact:generator:type": "RandomInt", "min": min, "max": max})
}

/// A non-empty value of the same type as `example`.
pub fn not_empty(example: impl Into<Value>) -> Value {
    matcher("notEmpty", example.into())
}

/// A semantic version string such as `1.2.3`.
pub fn semver(example: &str) -> Value {
    matcher("semver", json!(example))
}

/// An object whose keys may be anything and whose values equal the example's (the "values"
/// matcher). Combine with [`values_like`] to relax the values too.
pub fn values(example: impl Into<Value>) -> Value {
    matcher("values", example.into())
}

/// An object whose keys may be anything and whose values are each of the same type as the
/// example's values.
pub fn values_like(example: impl Into<Value>) -> Value {
    each_value(example, json!({"pact:matcher:type": "type"}))
}

/// An object whose every key matches `key_pattern` (a regular expression).
pub fn each_key(key_pattern: &str, example: impl Into<Value>) -> Value {
    json!({"pact:matcher:type": "eachKey", "value": example.into(),
           "rules": [{"pact:matcher:type": "regex", "regex": key_pattern}]})
}

/// A collection whose every value satisfies `rule`, a matcher without example such as
/// `json!({"pact:matcher:type": "regex", "regex": "^\\d+$"})`.
pub fn each_value(example: impl Into<Value>, rule: Value) -> Value {
    json!({"pact:matcher:type": "eachValue", "value": example.into(), "rules": [rule]})
}

/// An array that contains, in any order, an item matching each of `variants` (other items are
/// allowed).
pub fn array_containing(variants: Vec<Value>) -> Value {
    json!({"pact:matcher:type": "arrayContains", "variants": variants})
}

/// A URL to this mock provider: `example` is a full URL whose path matches `path_regex`
/// (e.g. `"/orders/\\d+$"`), and the mock answers with its own base URL in front of the path.
pub fn mock_server_url(path_regex: &str, example: &str) -> Value {
    // The generator keeps what the regex's first group captured and puts the mock's URL in
    // front of it; the regex matcher and the generator both read `regex`.
    json!({"pact:matcher:type": "regex", "regex": format!(".*({path_regex})"), "value": example,
           "pact:generator:type": "MockServerURL", "example": example})
}
