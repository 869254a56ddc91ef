//! Domain types parsed at the edge of the API.
//!
//! Every name that arrives in a path, a query string or a body is parsed into one of
//! these types before anything else sees it, so the rules (not blank, one line,
//! no spaces where the reference forbids them) live in one place and errors name
//! the field that broke them.

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

fn check_line(field: &str, value: &str, allow_spaces: bool) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "cannot be blank"));
    }
    if value.contains('\n') || value.contains('\r') {
        return Err(ValidationError::new(field, "cannot contain a new line"));
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

/// Parses an optional single-line string such as a build URL or repository URL.
pub fn optional_line(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    match value {
        None => Ok(None),
        Some(v) if v.contains('\n') => {
            Err(ValidationError::new(field, "cannot contain a new line"))
        }
        Some(v) => Ok(Some(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
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
}
