//! Canonical JSON and content hashes.
//!
//! Two publications of the same pact may differ in key order or white space; the
//! broker must still recognise them as one. The canonical form sorts object keys
//! and drops insignificant white space; arrays keep their order (interaction order
//! is part of the content).

use std::io::Write;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialises `value` with object keys sorted at every level and no white space.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes the canonical form of `value` to `out`. Keys and scalars are written by
/// serde_json's compact serialiser, byte for byte what `Value`'s `Display` gives.
pub fn write_canonical<W: Write>(value: &Value, out: &mut W) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

/// The lowercase hex SHA-256 of [`canonical_json`], computed without holding the
/// canonical text in memory.
pub fn content_hash(value: &Value) -> String {
    let mut hasher = Sha256::new();
    write_canonical(value, &mut hasher).expect("hashing cannot fail");
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
    }

    /// Keys and scalars are written exactly as `Value`'s `Display` writes them (stored
    /// hashes depend on it), escapes and numbers included.
    #[test]
    fn scalars_and_keys_are_written_as_serde_json_displays_them() {
        let value = json!({"k\"ey\n\u{1}é": ["tab\there", 1.5, -0.0, 1e300, 12345678901234567890u64, true, null, "/"]});
        let mut sorted_display = String::from("{");
        let (key, items) = value.as_object().unwrap().iter().next().unwrap();
        sorted_display.push_str(&Value::String(key.clone()).to_string());
        sorted_display.push(':');
        sorted_display.push_str(&items.to_string());
        sorted_display.push('}');
        assert_eq!(canonical_json(&value), sorted_display);
        assert_eq!(
            content_hash(&value),
            hex::encode(Sha256::digest(sorted_display.as_bytes()))
        );
    }

    #[test]
    fn array_order_changes_the_hash() {
        assert_ne!(content_hash(&json!([1, 2])), content_hash(&json!([2, 1])));
    }
}
