//! The one error type of the broker client. Every message says what failed and what to do.

use reqwest::StatusCode;
use serde_json::Value;

use crate::types::Notice;

/// Why a call to the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker URL (or a URL the broker returned) is not a valid URL.
    #[error("invalid broker URL {url:?}: {source}")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },

    /// The HTTP client could not be set up or the request could not be built
    /// (for example a token with characters that cannot go in a header).
    #[error("cannot prepare the request to {url}: {}", cause_text(source))]
    Client {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// No HTTP answer at all: connection refused, DNS failure, timeout, dropped connection.
    #[error(
        "cannot reach the broker at {url} after {attempts} attempt(s): {}. \
         Check the broker URL ({url_flag}) and that the broker is running",
        cause_text(source)
    )]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
        /// How the user gave the broker URL (the command's flag and variable).
        url_flag: &'static str,
    },

    /// 401 or 403: missing, wrong or insufficient credentials. `message` is the
    /// broker's reason for a 403 (such as the scope a token lacks), when it gave one.
    #[error(
        "the broker refused access to {url} ({status}). {}",
        forbidden_hint(*status, message.as_deref())
    )]
    Unauthorized {
        url: String,
        status: StatusCode,
        message: Option<String>,
    },

    /// 404: what was looked up does not exist.
    #[error("{what} was not found in the broker ({url} answered 404)")]
    NotFound { what: String, url: String },

    /// Any other 4xx: the broker understood the request and refused it.
    #[error("the broker refused the request to {url} ({status}): {message}")]
    Refused {
        url: String,
        status: StatusCode,
        /// The broker's explanation, extracted from its JSON error body.
        message: String,
        /// Notices the broker sent with the refusal (publishing conflicts come with a diff).
        notices: Vec<Notice>,
    },

    /// 5xx, still failing after every retry.
    #[error(
        "the broker failed at {url} with {status} after {attempts} attempt(s): {message}. \
         Try again later, or check the broker's logs"
    )]
    Server {
        url: String,
        status: StatusCode,
        attempts: u32,
        message: String,
    },

    /// A 2xx answer whose body is not the JSON expected.
    #[error("unexpected response from the broker at {url}: {source}")]
    BadResponse {
        url: String,
        #[source]
        source: serde_json::Error,
    },

    /// A HAL relation the client needs is missing from a broker resource.
    #[error(
        "the broker resource at {url} has no `{relation}` link; is this a Pact Broker \
         (version 2.86 or later) or an Accord broker?"
    )]
    MissingRelation { relation: String, url: String },

    /// The environment is not one the broker knows.
    #[error(
        "environment {name:?} is not known to the broker ({}); create it first with \
         `accord create-environment --name {name}`",
        if available.is_empty() { "it has no environments".to_string() } else { format!("known: {}", available.join(", ")) }
    )]
    UnknownEnvironment {
        name: String,
        available: Vec<String>,
    },

    /// The broker does not accept drift reports (no `accord:drift` relation).
    #[error(
        "the broker at {url} does not accept drift reports (its index has no `accord:drift` \
         link): drift results need Accord's broker (`accord broker`)"
    )]
    DriftNotSupported { url: String },

    /// A drift report cannot be posted as it is.
    #[error("cannot post the drift report: {problem}")]
    InvalidDriftReport { problem: &'static str },
}

/// What to do about a 401 or 403.
fn forbidden_hint(status: StatusCode, message: Option<&str>) -> String {
    let check = "Check the credentials: PACT_BROKER_TOKEN (--broker-token), or \
                 PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD (--broker-username / --broker-password)";
    match (status, message) {
        (StatusCode::FORBIDDEN, Some(message)) => message.to_string(),
        (StatusCode::FORBIDDEN, None) => {
            format!("{check}; they are valid but not allowed to do this (read-only credentials?)")
        }
        _ => check.to_string(),
    }
}

impl BrokerError {
    /// The HTTP status the broker answered, when it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Unauthorized { status, .. }
            | Self::Refused { status, .. }
            | Self::Server { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            _ => None,
        }
    }
}

/// The innermost cause of a `reqwest` error, which is the part a person can act on
/// ("Connection refused (os error 111)"), or a plain word for timeouts. Every part that
/// talks HTTP through `reqwest` words its errors with this.
pub fn cause_text(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the request timed out".to_string();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Extracts a readable message from a broker error body. The broker uses several
/// shapes (see the API reference, section 0.4): `{"error": "..."}`,
/// `{"error": {"message": "..."}}`, `{"errors": {"field": ["..."]}}`, `{"errors": [...]}`,
/// problem+json `{"title", "detail"}`, plus `notices` of type `error`; anything else is
/// shown as text, shortened.
pub(crate) fn error_message(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return shorten(body.trim());
    };
    let mut parts = Vec::new();
    match json.get("errors") {
        Some(Value::Object(fields)) => {
            for (field, messages) in fields {
                parts.push(format!("{field}: {}", join_values(messages)));
            }
        }
        Some(Value::Array(items)) => parts.push(join_values(&Value::Array(items.clone()))),
        Some(Value::String(text)) => parts.push(text.clone()),
        _ => {}
    }
    match json.get("error") {
        Some(Value::String(text)) => parts.push(text.clone()),
        Some(Value::Object(object)) => {
            if let Some(Value::String(text)) = object.get("message") {
                parts.push(text.clone());
            }
        }
        _ => {}
    }
    if parts.is_empty() {
        if let Some(Value::String(detail)) = json.get("detail") {
            parts.push(detail.clone());
        } else if let Some(Value::String(title)) = json.get("title") {
            parts.push(title.clone());
        }
    }
    if parts.is_empty() {
        for notice in notices(&json) {
            if notice.kind == "error" || notice.kind == "danger" {
                parts.push(notice.text);
            }
        }
    }
    if parts.is_empty() {
        return shorten(&json.to_string());
    }
    parts.join("; ")
}

/// The `notices` array of a broker body, if any.
pub(crate) fn notices(json: &Value) -> Vec<Notice> {
    json.get("notices")
        .and_then(|notices| serde_json::from_value(notices.clone()).ok())
        .unwrap_or_default()
}

fn join_values(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn shorten(text: &str) -> String {
    const LIMIT: usize = 300;
    if text.is_empty() {
        return "(no explanation in the response body)".to_string();
    }
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_every_error_shape() {
        assert_eq!(
            error_message(r#"{"error":"No consumer with name 'X' found"}"#),
            "No consumer with name 'X' found"
        );
        assert_eq!(
            error_message(r#"{"error":{"message":"boom","reference":"r1"}}"#),
            "boom"
        );
        assert_eq!(
            error_message(
                r#"{"errors":{"consumerVersionSelectors":["bad selector (at index 0)"]}}"#
            ),
            "consumerVersionSelectors: bad selector (at index 0)"
        );
        assert_eq!(
            error_message(r#"{"errors":["Pacticipant X not found"]}"#),
            "Pacticipant X not found"
        );
        assert_eq!(
            error_message(r#"{"title":"Bad","detail":"the detail"}"#),
            "the detail"
        );
        assert_eq!(
            error_message(
                r#"{"notices":[{"type":"info","text":"i"},{"type":"error","text":"conflict"}]}"#
            ),
            "conflict"
        );
        assert_eq!(error_message("plain text\n"), "plain text");
        assert_eq!(error_message(""), "(no explanation in the response body)");
        assert!(error_message(&"x".repeat(1000)).ends_with('…'));
    }
}
