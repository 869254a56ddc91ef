//! Errors: [`BrokerError`] at the library boundary, [`ApiError`] at the HTTP edge.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::domain::ValidationError;
use crate::store::StoreError;

/// Why the broker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The database URL names no backend the broker knows (the URL is kept redacted).
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedDatabaseUrl(String),
    /// A credential in the configuration is empty.
    #[error("refusing to start")]
    Credentials(#[from] crate::config::EmptyCredential),
    /// The database could not be opened, reached or migrated.
    #[error("cannot open the database")]
    Store(#[from] StoreError),
    /// The listener failed.
    #[error("the HTTP server failed")]
    Io(#[from] std::io::Error),
    /// The webhook secrets in the database do not fit the secrets key (or its absence).
    #[error(transparent)]
    Secrets(#[from] crate::webhooks::secrets::PrepareError),
}

/// Every error an HTTP handler can answer with. One JSON shape for the whole API:
/// `{"error": "..."}` for single messages and `{"errors": {"field": ["..."]}}` for
/// validation, as the Pact Broker does.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input that is not about one field (bad JSON syntax).
    #[error("{0}")]
    BadRequest(String),
    /// One or more fields broke a rule.
    #[error("validation failed")]
    Validation(Vec<ValidationError>),
    /// Validation errors reported as a plain list (the matrix endpoint).
    #[error("validation failed")]
    ValidationList(Vec<String>),
    #[error("{0}")]
    NotFound(String),
    /// A conflict, with optional notices for the client to print.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
        notices: Vec<Value>,
    },
    /// The request is well-formed but asks for something not allowed.
    #[error("validation failed")]
    Unprocessable(Vec<ValidationError>),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed with these credentials")]
    Forbidden,
    /// A scoped token lacks the scope this request needs (named here).
    #[error("this token lacks the scope {0}")]
    MissingScope(String),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database is away; clients may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// Anything else: logged with its cause, answered with an opaque body.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![ValidationError::new(field, message)])
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::Validation(vec![err])
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ApiError::Unavailable(err),
            StoreError::Conflict(_) => ApiError::Conflict {
                field: "name",
                message:
                    "a resource with this name already exists (or was created at the same moment)"
                        .into(),
                notices: vec![],
            },
            StoreError::Unstorable(_) => ApiError::validation(
                "body",
                "a value contains a NUL character (\\u0000), which cannot be stored; remove it",
            ),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

fn errors_object(errors: &[ValidationError]) -> Value {
    let mut map = Map::new();
    for err in errors {
        let entry = map
            .entry(err.field.clone())
            .or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(items) = entry {
            items.push(Value::String(err.message.clone()));
        }
    }
    Value::Object(map)
}

/// The full cause chain of an error, for logs.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::Validation(errors) => (
                StatusCode::BAD_REQUEST,
                json!({ "errors": errors_object(errors) }),
            ),
            ApiError::ValidationList(errors) => {
                (StatusCode::BAD_REQUEST, json!({ "errors": errors }))
            }
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, json!({ "error": message })),
            ApiError::Conflict {
                field,
                message,
                notices,
            } => {
                let mut notices = notices.clone();
                notices.insert(0, json!({ "type": "error", "text": message }));
                (
                    StatusCode::CONFLICT,
                    json!({ "error": message, "errors": { *field: [message] }, "notices": notices }),
                )
            }
            ApiError::Unprocessable(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": errors_object(errors) }),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({ "error": "Authentication required: send Basic credentials or a Bearer token." }),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                json!({ "error": "These credentials may only read; use read-write credentials to change data." }),
            ),
            ApiError::MissingScope(scope) => (
                StatusCode::FORBIDDEN,
                json!({ "error": format!("This token lacks the scope {scope}, which this request needs. Ask an administrator for a token that has it (accord token create --scope ...)."), "missingScope": scope }),
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": format!("The request body is larger than the broker's limit of {limit} bytes. Raise it with --body-limit if this content is expected.") }),
            ),
            ApiError::UnsupportedMediaType(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": message }),
            ),
            ApiError::Unavailable(err) => {
                tracing::error!(error = %chain(err), "database unavailable; answering 503 until it returns");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "The broker's database is unavailable. Retry shortly." }),
                )
            }
            ApiError::Internal(err) => {
                let reference = uuid::Uuid::new_v4().to_string();
                tracing::error!(error = %chain(err.as_ref()), %reference, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": { "message": "An internal error occurred.", "reference": reference } }),
                )
            }
        };
        // Errors carry the same media type as every other answer (reference 0.1/0.4):
        // clients decide whether a body is JSON from it.
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::http::HAL_JSON),
        );
        if matches!(self, ApiError::Unavailable(_)) {
            // Clients and proxies may retry; the pool gives up on a connection after
            // a few seconds, so asking again sooner would only queue.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Restricted area\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_the_database_cannot_store_is_the_clients_mistake() {
        let refused = StoreError::Unstorable(sqlx::Error::Protocol("NUL".into()));
        let answer = ApiError::from(refused);
        assert!(matches!(answer, ApiError::Validation(_)), "{answer:?}");
    }
}
