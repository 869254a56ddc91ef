//! Authentication and authorization.
//!
//! Who is calling: Basic credentials and the `--token` / `--read-only-token` bearer
//! tokens from the configuration, or a scoped token created through `/tokens` (stored
//! as its SHA-256 only, see [`tokens`]). What they may do: the [`scope`] rules, which
//! classify each request by method and path ([`scope::route_action`]) and leave the few
//! writes whose subject is in the body to their handlers ([`Caller::authorize`]).
//!
//! Credentials are compared in constant time and never logged; an empty presented
//! credential is never compared at all, and the configuration refuses empty ones at
//! start ([`AuthConfig::validate`](crate::config::AuthConfig::validate)). The 401 answer
//! carries the Basic challenge the official clients expect; a 403 names the scope that
//! was missing.

pub mod scope;
pub mod tokens;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::ExposeSecret;

use crate::config::{AuthConfig, BasicCredentials};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::events::{Actor, with_actor};
use scope::{Action, Grants, RouteAction};

/// Who made a request, and what they may do. Every request that passed
/// authentication carries one in its extensions; handlers that decide on their own
/// ([`RouteAction::InHandler`]) extract it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The name the audit log records: a Basic user name, `token`, `token:NAME` for a
    /// scoped token, or `anonymous` when authentication is off.
    pub name: String,
    pub grants: Grants,
}

impl Caller {
    fn anonymous(grants: Grants) -> Caller {
        Caller {
            name: "anonymous".into(),
            grants,
        }
    }

    /// Refuses with 403, naming the missing scope, unless the caller may do `action`.
    pub fn authorize(&self, action: &Action) -> Result<(), ApiError> {
        if self.grants.allows(action) {
            return Ok(());
        }
        if self.grants == Grants::read() {
            return Err(ApiError::Forbidden);
        }
        Err(ApiError::MissingScope(action.needed_scope()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The middleware always inserts one; without it (a router assembled without the
        // middleware) nothing is allowed rather than everything.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("no caller on an authorized request".into()))
    }
}

/// Paths anyone may call even when authentication is on: load balancers probe them.
fn is_public(path: &str) -> bool {
    path == "/diagnostic/status/heartbeat"
}

/// Compares two secrets in constant time (for equal lengths; the length itself is not
/// secret).
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

/// What the `Authorization` header presents.
#[derive(Debug, PartialEq, Eq)]
enum Presented<'a> {
    Nothing,
    Bearer(&'a str),
    Basic { username: String, password: String },
}

fn presented(authorization: Option<&str>) -> Presented<'_> {
    let Some(value) = authorization else {
        return Presented::Nothing;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Presented::Bearer(rest);
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(decoded) = decoded {
            let (username, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            // An empty user name or password is never a credential, whatever is configured.
            if !username.is_empty() && !password.is_empty() {
                return Presented::Basic {
                    username: username.to_string(),
                    password: password.to_string(),
                };
            }
        }
    }
    Presented::Nothing
}

/// The caller the configured credentials recognise, without asking the store.
fn configured_caller(auth: &AuthConfig, presented: &Presented<'_>) -> Option<Caller> {
    match presented {
        Presented::Nothing => None,
        Presented::Bearer(token) => {
            if token_matches(&auth.token, token) {
                Some(Caller {
                    name: "token".into(),
                    grants: Grants::admin(),
                })
            } else if token_matches(&auth.read_only_token, token) {
                Some(Caller {
                    name: "read-only token".into(),
                    grants: Grants::read(),
                })
            } else {
                None
            }
        }
        Presented::Basic { username, password } => {
            if basic_matches(&auth.basic, username, password) {
                Some(Caller {
                    name: username.clone(),
                    grants: Grants::admin(),
                })
            } else if basic_matches(&auth.read_only_basic, username, password) {
                Some(Caller {
                    name: username.clone(),
                    grants: Grants::read(),
                })
            } else {
                None
            }
        }
    }
}

/// Who presented `authorization`: configured credentials first, then scoped tokens.
async fn identify(
    state: &AppState,
    authorization: Option<&str>,
) -> Result<Option<Caller>, ApiError> {
    let presented = presented(authorization);
    if let Some(caller) = configured_caller(&state.config.auth, &presented) {
        return Ok(Some(caller));
    }
    let Presented::Bearer(token) = presented else {
        return Ok(None);
    };
    tokens::caller_for(state, token).await
}

/// Runs the request as `caller`, so the writes it commits are audited under its name.
async fn run_as(caller: Caller, mut request: Request, next: Next) -> Response {
    let actor = Actor {
        name: caller.name.clone(),
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
    request.extensions_mut().insert(caller);
    with_actor(actor, next.run(request)).await
}

/// The middleware: lets the request through or answers 401/403.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let auth = &state.config.auth;
    if !auth.is_enabled() || is_public(request.uri().path()) {
        return run_as(Caller::anonymous(Grants::admin()), request, next).await;
    }
    let route = scope::route_action(request.method(), request.uri().path());
    if auth.public_read && route == RouteAction::Needs(Action::Read) {
        return run_as(Caller::anonymous(Grants::read()), request, next).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = match identify(&state, authorization).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(err) => return err.into_response(),
    };
    if let RouteAction::Needs(action) = &route
        && let Err(err) = caller.authorize(action)
    {
        return err.into_response();
    }
    run_as(caller, request, next).await
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

    fn caller(auth: &AuthConfig, authorization: &str) -> Option<Caller> {
        configured_caller(auth, &presented(Some(authorization)))
    }

    #[test]
    fn credentials_map_to_grants() {
        let auth = config();
        let rw = caller(&auth, &basic("rw", "rw-pass")).unwrap();
        assert_eq!((rw.name.as_str(), rw.grants), ("rw", Grants::admin()));
        let ro = caller(&auth, &basic("ro", "ro-pass")).unwrap();
        assert_eq!((ro.name.as_str(), ro.grants), ("ro", Grants::read()));
        assert_eq!(caller(&auth, &basic("rw", "wrong")), None);
        assert_eq!(
            caller(&auth, "Bearer tok-rw").unwrap().grants,
            Grants::admin()
        );
        assert_eq!(
            caller(&auth, "bearer tok-ro").unwrap().grants,
            Grants::read()
        );
        assert_eq!(caller(&auth, "Bearer nope"), None);
        assert_eq!(configured_caller(&auth, &presented(None)), None);
    }

    #[test]
    fn empty_credentials_are_never_compared() {
        // Even a configuration that holds empty values (the CLI refuses them, but a
        // library user might build one) never matches an empty presented credential.
        let auth = AuthConfig {
            basic: Some(BasicCredentials {
                username: "".into(),
                password: SecretString::from(""),
            }),
            read_only_basic: None,
            token: Some(SecretString::from("")),
            read_only_token: None,
            public_read: false,
        };
        for header in [
            "Bearer ",
            "Bearer",
            "bearer    ",
            &basic("", ""),
            &basic("x", ""),
            "Basic ",
        ] {
            assert_eq!(presented(Some(header)), Presented::Nothing, "{header:?}");
            assert_eq!(caller(&auth, header), None, "{header:?}");
        }
    }
}
