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

fn access_of(auth: &AuthConfig, authorization: Option<&str>) -> Access {
    let Some(value) = authorization else {
        return Access::None;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if token_matches(&auth.token, rest) {
            return Access::ReadWrite;
        }
        if token_matches(&auth.read_only_token, rest) {
            return Access::Read;
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(decoded) = decoded {
            let (username, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            if basic_matches(&auth.basic, username, password) {
                return Access::ReadWrite;
            }
            if basic_matches(&auth.read_only_basic, username, password) {
                return Access::Read;
            }
        }
    }
    Access::None
}

/// The middleware: lets the request through or answers 401/403.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let auth = &state.config.auth;
    if !auth.is_enabled() || is_public(request.uri().path()) {
        return next.run(request).await;
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
        Access::ReadWrite => next.run(request).await,
        Access::Read if read => next.run(request).await,
        Access::Read => ApiError::Forbidden.into_response(),
        Access::None => ApiError::Unauthorized.into_response(),
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
            Access::ReadWrite
        );
        assert_eq!(
            access_of(&auth, Some(&basic("ro", "ro-pass"))),
            Access::Read
        );
        assert_eq!(access_of(&auth, Some(&basic("rw", "wrong"))), Access::None);
        assert_eq!(access_of(&auth, Some("Bearer tok-rw")), Access::ReadWrite);
        assert_eq!(access_of(&auth, Some("bearer tok-ro")), Access::Read);
        assert_eq!(access_of(&auth, Some("Bearer nope")), Access::None);
        assert_eq!(access_of(&auth, None), Access::None);
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
