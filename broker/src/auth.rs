//! Authentication: Basic credentials and Bearer tokens, each read-only or read-write.
//!
//! A "read" is GET, HEAD or OPTIONS on any path, plus the POST that asks which pacts
//! to verify (it changes nothing). Credentials are compared in constant time and never
//! logged; the 401 answer carries the Basic challenge the official clients expect.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::ExposeSecret;

use crate::config::{AuthConfig, BasicCredentials};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::events::{Actor, with_actor};

/// What the presented credentials allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    None,
    Read,
    ReadWrite,
}

/// Paths anyone may call even when authentication is on: load balancers probe them.
fn is_public(path: &str) -> bool {
    path == "/diagnostic/status/heartbeat"
}

fn is_read(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST
            && path.starts_with("/pacts/provider/")
            && path.ends_with("/for-verification"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn basic_matches(credentials: &Option<BasicCredentials>, username: &str, password: &str) -> bool {
    credentials.as_ref().is_some_and(|c| {
        // Evaluate both comparisons so timing does not reveal which one failed.
        let user_ok = constant_time_eq(c.username.as_bytes(), username.as_bytes());
        let password_ok =
            constant_time_eq(c.password.expose_secret().as_bytes(), password.as_bytes());
        user_ok & password_ok
    })
}

fn token_matches(token: &Option<secrecy::SecretString>, presented: &str) -> bool {
    token
        .as_ref()
        .is_some_and(|t| constant_time_eq(t.expose_secret().as_bytes(), presented.as_bytes()))
}

fn access_of(auth: &AuthConfig, authorization: Option<&str>) -> (Access, String) {
    let denied = (Access::None, String::new());
    let Some(value) = authorization else {
        return denied;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if token_matches(&auth.token, rest) {
            return (Access::ReadWrite, "token".into());
        }
        if token_matches(&auth.read_only_token, rest) {
            return (Access::Read, "read-only token".into());
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(decoded) = decoded {
            let (username, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            if basic_matches(&auth.basic, username, password) {
                return (Access::ReadWrite, username.to_string());
            }
            if basic_matches(&auth.read_only_basic, username, password) {
                return (Access::Read, username.to_string());
            }
        }
    }
    denied
}

/// Whether the `Authorization` header carries read-write credentials (for
/// resources that only writers may read, such as the audit log, even when reads
/// are public).
pub(crate) fn can_write(auth: &AuthConfig, authorization: Option<&str>) -> bool {
    access_of(auth, authorization).0 == Access::ReadWrite
}

/// Runs the request as `actor`, so the writes it commits are audited under that name.
async fn run_as(name: String, request: Request, next: Next) -> Response {
    let actor = Actor {
        name,
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        traceparent: request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    with_actor(actor, next.run(request)).await
}

/// The middleware: lets the request through or answers 401/403.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let auth = &state.config.auth;
    if !auth.is_enabled() || is_public(request.uri().path()) {
        return run_as("anonymous".into(), request, next).await;
    }
    let read = is_read(request.method(), request.uri().path());
    if read && auth.public_read {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match access_of(auth, authorization) {
        (Access::ReadWrite, name) => run_as(name, request, next).await,
        (Access::Read, _) if read => next.run(request).await,
        (Access::Read, _) => ApiError::Forbidden.into_response(),
        (Access::None, _) => ApiError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn config() -> AuthConfig {
        AuthConfig {
            basic: Some(BasicCredentials {
                username: "rw".into(),
                password: SecretString::from("rw-pass"),
            }),
            read_only_basic: Some(BasicCredentials {
                username: "ro".into(),
                password: SecretString::from("ro-pass"),
            }),
            token: Some(SecretString::from("tok-rw")),
            read_only_token: Some(SecretString::from("tok-ro")),
            public_read: false,
        }
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn credentials_map_to_access_levels() {
        let auth = config();
        assert_eq!(
            access_of(&auth, Some(&basic("rw", "rw-pass"))),
            (Access::ReadWrite, "rw".to_string())
        );
        assert_eq!(
            access_of(&auth, Some(&basic("ro", "ro-pass"))),
            (Access::Read, "ro".to_string())
        );
        assert_eq!(
            access_of(&auth, Some(&basic("rw", "wrong"))).0,
            Access::None
        );
        assert_eq!(access_of(&auth, Some("Bearer tok-rw")).0, Access::ReadWrite);
        assert_eq!(access_of(&auth, Some("bearer tok-ro")).0, Access::Read);
        assert_eq!(access_of(&auth, Some("Bearer nope")).0, Access::None);
        assert_eq!(access_of(&auth, None).0, Access::None);
    }

    #[test]
    fn for_verification_post_is_a_read() {
        assert!(is_read(
            &Method::POST,
            "/pacts/provider/Bar/for-verification"
        ));
        assert!(!is_read(&Method::POST, "/contracts/publish"));
        assert!(is_read(&Method::GET, "/anything"));
    }
}
