//! Domain types parsed at the edge of the API.
//!
//! Every name that arrives in a path, a query string or a body is parsed into one of
//! these types before anything else sees it, so the rules (not blank, one line,
//! no spaces where the reference forbids them, a maximum length) live in one place
//! and errors name the field that broke them.
//!
//! Every identifier has a maximum length (see [`limits`]): without one a single
//! request could store a name of megabytes that every later list then carries, and
//! that no URL could address again.

use std::fmt;

/// A request value that broke a rule; the API answers 400 naming `field`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field as the client spelled it (`pacticipantName`, `contracts`, `consumer.name`).
    pub field: String,
    /// What is wrong, in words the client can act on.
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The longest values the broker stores, in characters (Unicode scalar values).
pub mod limits {
    /// Names and identifiers: pacticipants, versions, branches, tags, environments,
    /// labels, application instances, display names, drift classes.
    pub const NAME: usize = 255;
    /// URLs: build URLs, repository URLs.
    pub const URL: usize = 2048;
    /// Descriptions (a webhook's) and the one-line texts of a drift report
    /// (interaction, request, expected and actual values, messages).
    pub const TEXT: usize = 4096;
}

/// Refuses `value` when it is longer than `max` characters, naming `field`.
pub fn check_length(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Bytes bound characters from above: most values are decided without counting.
    if value.len() > max && value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("is longer than the limit of {max} characters"),
        ));
    }
    Ok(())
}

/// Refuses a NUL character anywhere in a JSON value a client sends to be stored (in
/// its strings and its keys): PostgreSQL cannot keep one in a JSON column, and no
/// contract, result or contact needs one.
pub fn check_no_nul(field: &str, value: &serde_json::Value) -> Result<(), ValidationError> {
    use serde_json::Value;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        let found = match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => {
                pending.extend(items);
                false
            }
            Value::Object(map) => {
                pending.extend(map.values());
                map.keys().any(|key| key.contains('\0'))
            }
            _ => false,
        };
        if found {
            return Err(ValidationError::new(
                field,
                "cannot contain a NUL character (\\u0000); remove it",
            ));
        }
    }
    Ok(())
}

fn check_line(field: &str, value: &str, allow_spaces: bool) -> Result<(), ValidationError> {
    check_length(field, value, limits::NAME)?;
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "cannot be blank"));
    }
    if value.contains('\n') || value.contains('\r') {
        return Err(ValidationError::new(field, "cannot contain a new line"));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "cannot contain control characters",
        ));
    }
    if !allow_spaces && value.contains(char::is_whitespace) {
        return Err(ValidationError::new(field, "cannot contain spaces"));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, allow_spaces = $spaces:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses `value`, naming `field` in the error.
            pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
                check_line(field, value, $spaces)?;
                Ok(Self(value.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a consumer or provider ("pacticipant"). Case-sensitive.
    PacticipantName,
    allow_spaces = true
);
name_type!(
    /// A pacticipant version number, typically a git SHA or a semantic version.
    VersionNumber,
    allow_spaces = true
);
name_type!(
    /// A branch name (`main`, `feat/x`).
    BranchName,
    allow_spaces = true
);
name_type!(
    /// A tag name (`prod`, `dev`).
    TagName,
    allow_spaces = true
);
name_type!(
    /// An environment name (`test`, `production`); spaces are not allowed.
    EnvironmentName,
    allow_spaces = false
);

name_type!(
    /// A pacticipant label (`team-web`).
    LabelName,
    allow_spaces = true
);

/// Parses an optional single-line string such as a build URL or repository URL, of
/// at most [`limits::URL`] characters.
pub fn optional_line(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(field, value, limits::URL)
}

/// Parses an optional single-line string of at most `max` characters.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match value {
        None => Ok(None),
        Some(v) => {
            check_length(field, v, max)?;
            if v.contains('\n') {
                return Err(ValidationError::new(field, "cannot contain a new line"));
            }
            if v.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    field,
                    "cannot contain control characters (such as NUL, \\u0000)",
                ));
            }
            Ok(Some(v.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nul_character_is_found_in_any_string_or_key() {
        use serde_json::json;
        let nul = "a\u{0}b";
        for (value, found) in [
            (json!({ "a": [1, "x", { "b": null }] }), false),
            (json!(nul), true),
            (json!([[["deep", nul]]]), true),
            (json!({ "a": { "b": nul } }), true),
            (
                serde_json::Value::Object([(nul.to_string(), json!(1))].into_iter().collect()),
                true,
            ),
        ] {
            assert_eq!(super::check_no_nul("f", &value).is_err(), found, "{value}");
        }
    }

    use super::*;

    #[test]
    fn names_must_be_one_non_blank_line() {
        assert!(PacticipantName::parse("name", "Foo Bar").is_ok());
        let err = PacticipantName::parse("name", "  ").unwrap_err();
        assert_eq!(err.field, "name");
        assert!(PacticipantName::parse("name", "a\nb").is_err());
        assert!(EnvironmentName::parse("name", "prod eu").is_err());
        assert!(EnvironmentName::parse("name", "prod-eu").is_ok());
    }

    #[test]
    fn identifiers_are_limited_in_characters_not_bytes() {
        let at_limit = "a".repeat(limits::NAME);
        assert!(PacticipantName::parse("name", &at_limit).is_ok());
        let err = PacticipantName::parse("name", &format!("{at_limit}a")).unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.message.contains("255"), "{}", err.message);
        // 255 two-byte characters are 510 bytes and still within the limit.
        assert!(TagName::parse("tag", &"é".repeat(limits::NAME)).is_ok());
        for parse in [
            |v: &str| VersionNumber::parse("f", v).map(|_| ()),
            |v: &str| BranchName::parse("f", v).map(|_| ()),
            |v: &str| EnvironmentName::parse("f", v).map(|_| ()),
            |v: &str| LabelName::parse("f", v).map(|_| ()),
        ] {
            assert!(parse(&"x".repeat(limits::NAME + 1)).is_err());
        }
        let url = format!("https://ci.example/{}", "x".repeat(limits::URL));
        assert!(optional_line("buildUrl", Some(&url)).is_err());
        assert!(optional_line("buildUrl", Some("https://ci.example/1")).is_ok());
    }
}
