//! What a web page may do with the mock, stub and record servers.
//!
//! These servers run on a developer's machine or a CI runner, and any page open in a browser
//! there can send them requests. Two rules keep a page from driving the admin API under
//! `/__accord/` (registering interactions, making the mock write a pact):
//!
//! - **Origins.** Only loopback origins (`http(s)://localhost`, `127.0.0.0/8`, `[::1]`, any
//!   port) and the origins the user lists (`--cors-origin`) are allowed. CORS answers only
//!   those (with credentials), and an admin write (`POST`, `PUT`, `PATCH`, `DELETE`) carrying an
//!   `Origin` header of any other page is refused with 403, even when the request needs no
//!   preflight. Listing `*` allows every origin, without credentials.
//! - **JSON only.** An admin `POST`, `PUT` or `PATCH` with a body must say
//!   `Content-Type: application/json` (or a `+json` type), else 415: a browser sends
//!   `text/plain` and form bodies across origins without asking first, but never JSON. A write
//!   with no body at all may leave the type out.
//!
//! The mocked endpoints (every path outside `/__accord/`) are left alone: they must accept
//! whatever the client under test sends.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, ORIGIN, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use crate::admin::json_error;

/// The prefix of the admin API.
const ADMIN_PREFIX: &str = "/__accord/";

/// One allowed origin beyond the loopback ones, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    /// `*`: every origin, without credentials.
    Any,
    /// `scheme://host[:port]`, in its serialised form (lower case, default port left out).
    Exact(String),
}

/// An origin that cannot be parsed; the message says what is expected.
#[derive(Debug, thiserror::Error)]
#[error(
    "{value:?} is not an origin: {problem} (expected scheme://host[:port] such as https://app.test, or * for any origin)"
)]
pub struct InvalidOrigin {
    value: String,
    problem: &'static str,
}

impl FromStr for AllowedOrigin {
    type Err = InvalidOrigin;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::Any);
        }
        let invalid = |problem| InvalidOrigin {
            value: text.to_string(),
            problem,
        };
        let url = url::Url::parse(text).map_err(|_| invalid("not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("an origin has no path, query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("an origin has no user name or password"));
        }
        Ok(Self::Exact(url.origin().ascii_serialization()))
    }
}

/// Which web origins may use the server across origins: loopback ones always, plus the listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    listed: Vec<String>,
}

impl AllowedOrigins {
    /// Loopback origins and `extra`.
    pub fn new(extra: impl IntoIterator<Item = AllowedOrigin>) -> Self {
        let mut origins = Self::default();
        for origin in extra {
            match origin {
                AllowedOrigin::Any => origins.any = true,
                AllowedOrigin::Exact(origin) => origins.listed.push(origin),
            }
        }
        origins
    }

    /// Whether a request with this `Origin` header may use the server.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        if self.any {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let Ok(url) = url::Url::parse(origin) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        is_loopback(&url) || self.listed.contains(&url.origin().ascii_serialization())
    }

    /// The CORS layer: preflights answered, allowed origins echoed back (with credentials, or
    /// `*` without them when any origin is allowed), others get no CORS headers.
    pub(crate) fn cors_layer(self: &Arc<Self>) -> CorsLayer {
        let layer = CorsLayer::new()
            .allow_methods(AllowMethods::mirror_request())
            .allow_headers(AllowHeaders::mirror_request());
        if self.any {
            layer.allow_origin(AllowOrigin::any())
        } else {
            let origins = self.clone();
            layer
                .allow_origin(AllowOrigin::predicate(move |origin, _| {
                    origins.allows(origin)
                }))
                .allow_credentials(true)
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Whether a `Content-Type` is JSON: `application/json` or `<type>/<subtype>+json`, any
/// parameters.
fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(text) = content_type.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    (kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json"))
        || subtype.to_ascii_lowercase().ends_with("+json")
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// Middleware of every server with an admin API: refuses admin writes from other pages' origins
/// (403) and admin bodies that are not JSON (415). Requests outside `/__accord/` pass untouched.
pub(crate) async fn guard_admin(
    State(origins): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(ADMIN_PREFIX) {
        return next.run(request).await;
    }
    let method = request.method();
    let writes = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !writes {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(origin) = headers.get(ORIGIN)
        && !origins.allows(origin)
    {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        return json_error(
            StatusCode::FORBIDDEN,
            format!(
                "requests from the web page at {origin} may not change this server: only loopback origins and those given with --cors-origin may (start it with --cors-origin {origin} to allow this page)"
            ),
            None,
        );
    }
    if *method != Method::DELETE {
        let refused = match headers.get(CONTENT_TYPE) {
            Some(content_type) if !is_json(content_type) => Some(format!(
                "got {}",
                String::from_utf8_lossy(content_type.as_bytes())
            )),
            None if has_body(headers) => Some("got a body without a Content-Type".to_string()),
            _ => None,
        };
        if let Some(got) = refused {
            return json_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "the admin API takes JSON: send the body with Content-Type: application/json ({got})"
                ),
                None,
            );
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(origins: &AllowedOrigins, origin: &str) -> bool {
        origins.allows(&HeaderValue::from_str(origin).unwrap())
    }

    #[test]
    fn loopback_origins_are_allowed_by_default() {
        let origins = AllowedOrigins::default();
        for origin in [
            "http://localhost",
            "http://localhost:3000",
            "https://LOCALHOST:8443",
            "http://127.0.0.1:5173",
            "http://127.1.2.3",
            "http://[::1]:8080",
        ] {
            assert!(allows(&origins, origin), "{origin}");
        }
        for origin in [
            "null",
            "https://app.test",
            "http://localhost.evil.test",
            "http://128.0.0.1",
            "http://10.0.0.1",
            "http://[::2]",
            "file://localhost",
            "chrome-extension://abcdef",
        ] {
            assert!(!allows(&origins, origin), "{origin}");
        }
    }

    #[test]
    fn listed_origins_are_allowed_and_any_allows_all() {
        let listed = AllowedOrigins::new(["HTTPS://App.Test:443".parse().unwrap()]);
        assert!(allows(&listed, "https://app.test"));
        assert!(!allows(&listed, "http://app.test"));
        assert!(!allows(&listed, "https://app.test:8443"));
        let any = AllowedOrigins::new(["*".parse().unwrap()]);
        assert!(allows(&any, "https://anything.test"));
        assert!(allows(&any, "null"));
    }

    #[test]
    fn origins_on_the_command_line_are_checked() {
        assert_eq!(
            "https://app.test:8443".parse::<AllowedOrigin>().unwrap(),
            AllowedOrigin::Exact("https://app.test:8443".into())
        );
        for bad in [
            "app.test",
            "ftp://app.test",
            "https://app.test/path",
            "https://user@app.test",
        ] {
            let err = bad.parse::<AllowedOrigin>().unwrap_err().to_string();
            assert!(err.contains("expected scheme://host[:port]"), "{err}");
        }
    }

    #[test]
    fn json_content_types() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.pact+json",
            "application/hal+json",
        ] {
            assert!(is_json(&HeaderValue::from_static(json)), "{json}");
        }
        for other in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "json",
            "text/json-ish",
        ] {
            assert!(!is_json(&HeaderValue::from_static(other)), "{other}");
        }
    }
}
