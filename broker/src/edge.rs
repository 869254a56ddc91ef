//! The broker's HTTP edge: what every request passes before a handler sees it, and
//! the headers every answer carries.
//!
//! - **Forwarded headers** (`X-Forwarded-Proto`, `-Host`, `-Prefix`, `Forwarded`)
//!   build the links of every answer, so they are believed only from a TCP peer in
//!   [`EdgeConfig::trusted_proxies`], and only when they hold `http`/`https` and a
//!   syntactically valid `host[:port]`. From anyone else they are removed.
//! - **Host** is checked against the names the broker knows it has (the public base
//!   URL's host, `--allowed-host`, or `localhost` when bound to one address), so a
//!   DNS-rebinding page (`Host: evil.example`) gets 421. IP literals and `localhost`
//!   always pass: a rebinding page can only ever send its own name. Requests from a
//!   trusted proxy skip the name check (the proxy chose the site). A `Host` that
//!   is not a syntactically valid `host[:port]` gets 400.
//! - **Cross-origin browser writes** are refused (403): an unsafe method whose
//!   `Sec-Fetch-Site` is `cross-site` or `same-site`, or whose `Origin` is not the
//!   broker's own. Clients that send neither header (every CLI and Pact client) pass.
//! - **Writes with a body** to the API must send a JSON media type (415 otherwise):
//!   a browser can send `text/plain` or form bodies cross-site without a preflight.
//! - **The web UI's forms** carry a CSRF token: an HMAC of a random value kept in a
//!   `SameSite=Strict` cookie ([`CsrfToken`]), checked by each UI POST handler.
//! - **Security headers** (CSP, `nosniff`, `X-Frame-Options`, `Referrer-Policy`) go
//!   on every answer ([`security_headers`]).
//!
//! The peer address comes from axum's `ConnectInfo<SocketAddr>` request extension,
//! which the serving loop must insert; without it every peer is untrusted.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::LazyLock;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::startup::AppState;

/// What the operator configures about the edge.
#[derive(Debug, Clone, Default)]
pub struct EdgeConfig {
    /// Peers whose `X-Forwarded-*` and `Forwarded` headers are believed (the reverse
    /// proxies in front of the broker). Empty: nobody's.
    pub trusted_proxies: Vec<IpNet>,
    /// Host names (without port) requests may name in `Host`, besides the public base
    /// URL's host, `localhost` and IP literals.
    pub allowed_hosts: Vec<String>,
    /// The key the web UI's CSRF tokens are derived from. Replicas behind one load
    /// balancer share it so a form loaded from one is accepted by another. Without it
    /// each process draws a random key: a form outlives a restart only by a reload.
    pub csrf_key: Option<SecretString>,
}

/// The edge rules of one running broker, decided once from its configuration and
/// the address it is bound to.
pub struct Edge {
    /// `None`: any host name (bound to a wildcard address with nothing configured).
    host_names: Option<Vec<String>>,
    /// The public base URL's scheme, host and port.
    public_origin: Option<(String, String, u16)>,
    trusted_proxies: Vec<IpNet>,
    csrf_key: [u8; 32],
    /// Whether the UI's cookie is marked `Secure` (the public base URL is HTTPS).
    secure_cookie: bool,
}

impl Edge {
    pub fn new(config: &Config, bound: SocketAddr) -> Edge {
        let edge = &config.edge;
        let mut names: Vec<String> = edge
            .allowed_hosts
            .iter()
            .map(|h| host_name(h).unwrap_or_else(|| normalise(h)))
            .collect();
        let public_origin = config.public_base_url.as_ref().and_then(|url| {
            let host = url.host_str()?;
            Some((
                url.scheme().to_string(),
                normalise(host),
                url.port_or_known_default()?,
            ))
        });
        if let Some((_, host, _)) = &public_origin {
            names.push(host.clone());
        }
        // Bound to one address (127.0.0.1, 10.0.0.5), the broker is reached by that
        // address or by `localhost`; a wildcard bind with no name configured cannot
        // know the names it is reached by (a container's service name, a load
        // balancer's), so it accepts any.
        if names.is_empty() && !bound.ip().is_unspecified() {
            names.push("localhost".to_string());
        }
        let csrf_key = match &edge.csrf_key {
            Some(secret) => {
                let mut digest = Sha256::new();
                digest.update(b"accord-broker csrf key\0");
                digest.update(secret.expose_secret().as_bytes());
                digest.finalize().into()
            }
            None => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                key
            }
        };
        Edge {
            host_names: (!names.is_empty()).then_some(names),
            secure_cookie: public_origin.as_ref().is_some_and(|(s, _, _)| s == "https"),
            public_origin,
            trusted_proxies: edge.trusted_proxies.clone(),
            csrf_key,
        }
    }

    fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| {
            let ip = ip.to_canonical();
            self.trusted_proxies.iter().any(|net| net.contains(&ip))
        })
    }

    /// Whether `host` (a `Host` header value) names this broker.
    fn host_allowed(&self, host: &str) -> bool {
        let Some(names) = &self.host_names else {
            return true;
        };
        let Some(name) = host_name(host) else {
            return false;
        };
        is_ip_literal(&name) || name == "localhost" || names.contains(&name)
    }

    /// Why an unsafe request is a cross-origin browser write, if it is one.
    fn cross_origin(&self, headers: &HeaderMap, host: Option<&str>) -> Option<String> {
        match header_str(headers, "sec-fetch-site") {
            Some(site @ ("cross-site" | "same-site")) => {
                return Some(format!(
                    "This write came from another site's page (Sec-Fetch-Site: {site}); the broker accepts writes from its own pages and from API clients only."
                ));
            }
            // The browser itself says the page is the broker's own.
            Some("same-origin") => return None,
            _ => {}
        }
        let origin = header_str(headers, "origin")?;
        let refuse = || {
            Some(format!(
                "This write came from a page at {origin:?}, which is not this broker; the broker accepts writes from its own pages and from API clients only."
            ))
        };
        let Ok(url) = url::Url::parse(origin) else {
            return refuse();
        };
        let (Some(origin_host), Some(origin_port)) = (url.host_str(), url.port_or_known_default())
        else {
            return refuse();
        };
        let origin_host = normalise(origin_host);
        if let Some((scheme, public_host, public_port)) = &self.public_origin
            && url.scheme() == scheme
            && &origin_host == public_host
            && origin_port == *public_port
        {
            return None;
        }
        let same_as_host =
            host.and_then(|h| Authority::from_str(h).ok())
                .is_some_and(|authority| {
                    normalise(authority.host()) == origin_host
                        && authority.port_u16().unwrap_or(match url.scheme() {
                            "https" => 443,
                            _ => 80,
                        }) == origin_port
                });
        if same_as_host { None } else { refuse() }
    }
}

/// The host name of a `host[:port]` value, lower case, without a trailing dot.
fn host_name(value: &str) -> Option<String> {
    let authority = Authority::from_str(value.trim()).ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    Some(normalise(authority.host()))
}

fn normalise(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn is_ip_literal(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// An answer in the API's error shape.
fn refuse(status: StatusCode, message: String) -> Response {
    let mut response = (status, json!({ "error": message }).to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::http::HAL_JSON),
    );
    response
}

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// A forwarded scheme the broker links with: `http` or `https`, nothing else.
fn valid_proto(value: &str) -> Option<&'static str> {
    match value.to_ascii_lowercase().as_str() {
        "http" => Some("http"),
        "https" => Some("https"),
        _ => None,
    }
}

/// A forwarded `host[:port]`: letters, digits, `-`, `.`, an IPv6 literal in
/// brackets, an optional port; no user info, path or anything else.
fn valid_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'))
        && Authority::from_str(value).is_ok_and(|a| !a.host().is_empty())
}

/// A forwarded path prefix: `/` and unreserved characters only.
fn valid_prefix(value: &str) -> bool {
    value.starts_with('/')
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~'))
}

/// The first element's `key=value` in a `Forwarded` header (RFC 7239).
fn forwarded_param(value: &str, key: &str) -> Option<String> {
    let first = value.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Keeps the forwarded headers of a trusted proxy that are valid, as one clean
/// value each (`Forwarded` read into the `X-Forwarded-*` it stands for), and drops
/// every forwarded header of anyone else.
fn sanitise_forwarded(headers: &mut HeaderMap, trusted: bool) {
    if !trusted {
        for name in [
            X_FORWARDED_PROTO,
            X_FORWARDED_HOST,
            X_FORWARDED_PREFIX,
            X_FORWARDED_PORT,
            X_FORWARDED_FOR,
            FORWARDED,
        ] {
            headers.remove(name);
        }
        return;
    }
    let first = |headers: &HeaderMap, name: &HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let forwarded = first(headers, &FORWARDED).and_then(|_| {
        headers
            .get(&FORWARDED)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let proto = first(headers, &X_FORWARDED_PROTO).or_else(|| {
        forwarded
            .as_deref()
            .and_then(|f| forwarded_param(f, "proto"))
    });
    let host = first(headers, &X_FORWARDED_HOST).or_else(|| {
        forwarded
            .as_deref()
            .and_then(|f| forwarded_param(f, "host"))
    });
    let prefix = first(headers, &X_FORWARDED_PREFIX);
    headers.remove(X_FORWARDED_PROTO);
    headers.remove(X_FORWARDED_HOST);
    headers.remove(X_FORWARDED_PREFIX);
    if let Some(proto) = proto.as_deref().and_then(valid_proto) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if let Some(host) = host.filter(|h| valid_host(h))
        && let Ok(value) = HeaderValue::from_str(&host.to_ascii_lowercase())
    {
        headers.insert(X_FORWARDED_HOST, value);
    }
    if let Some(prefix) = prefix.filter(|p| valid_prefix(p))
        && let Ok(value) = HeaderValue::from_str(&prefix)
    {
        headers.insert(X_FORWARDED_PREFIX, value);
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether a `Content-Type` value is JSON (`application/json` or any `+json` type).
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || header_str(headers, "content-length").is_some_and(|n| n != "0")
}

/// The middleware applying the request rules above, in order: forwarded headers,
/// `Host`, cross-origin writes, JSON media types.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let edge = &state.edge;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let from_proxy = edge.trusts(peer);
    sanitise_forwarded(request.headers_mut(), from_proxy);

    let host = header_str(request.headers(), "host")
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    // Links are built from `Host` when no public base URL is set: it must at least
    // be a host name or address.
    if let Some(host) = &host
        && !valid_host(host)
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The Host header is not a valid host[:port].".to_string(),
        );
    }
    // A trusted proxy has already chosen this site by its own name, and may name the
    // broker by its upstream address (nginx sends `proxy_pass`'s host by default).
    if let Some(host) = &host
        && !from_proxy
        && !edge.host_allowed(host)
    {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host {host:?} is not a name of this broker. If it is, start the broker with --allowed-host {} (or set --public-base-url).",
                host_name(host).unwrap_or_default()
            ),
        );
    }

    if is_unsafe(request.method()) {
        // The host the browser's page was loaded from, as the client sees it.
        let seen_host = header_str(request.headers(), "x-forwarded-host")
            .map(str::to_string)
            .or(host);
        if let Some(reason) = edge.cross_origin(request.headers(), seen_host.as_deref()) {
            return refuse(StatusCode::FORBIDDEN, reason);
        }
        // The UI's forms post form data (with a CSRF token); everything else is the
        // JSON API.
        let ui = request.uri().path().starts_with("/ui/");
        if !ui && has_body(request.headers()) {
            let content_type = header_str(request.headers(), "content-type").unwrap_or_default();
            if !is_json(content_type) {
                return refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    unsupported_media_type(content_type),
                );
            }
        }
    }
    next.run(request).await
}

/// The 415 message for a body sent with `content_type`.
pub(crate) fn unsupported_media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.is_empty() {
        "The request has a body but no Content-Type: send the body as application/json (Content-Type: application/json).".to_string()
    } else {
        format!(
            "Content-Type {essence:?} is not accepted: send the body as application/json (Content-Type: application/json)."
        )
    }
}

/// The policy of the web UI's pages: no scripts at all, the one inline style sheet
/// by its hash, forms posting back to the broker only, never framed.
static UI_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(crate::ui::html::STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// The policy of everything else (JSON, SVG badges, metrics): nothing may load.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Adds the security headers to every answer that has not set its own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if html {
            HeaderValue::from_str(&UI_POLICY).ok()
        } else {
            Some(HeaderValue::from_static(API_POLICY))
        };
        if let Some(policy) = policy {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The name of the UI's CSRF cookie and of the forms' hidden field.
const CSRF_COOKIE: &str = "accord_csrf";
pub const CSRF_FIELD: &str = "csrf";

/// The web UI's CSRF protection, a signed double submit: a random value in a
/// `SameSite=Strict`, `HttpOnly` cookie, and in each form the HMAC of that value
/// under the broker's key. Another site can neither read the cookie nor compute the
/// HMAC, and nothing is kept on the server, so any replica sharing the key checks it.
pub struct CsrfToken {
    nonce: String,
    /// The cookie is new: the answer must set it.
    fresh: bool,
    key: [u8; 32],
    secure: bool,
}

impl CsrfToken {
    fn mac(&self) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"accord-broker csrf\0");
        mac.update(self.nonce.as_bytes());
        mac
    }

    /// The value forms carry.
    pub fn value(&self) -> String {
        hex::encode(self.mac().finalize().into_bytes())
    }

    /// The hidden form field carrying the token.
    pub fn hidden_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
            self.value()
        )
    }

    /// Whether a posted token matches the cookie (compared in constant time).
    pub fn verify(&self, posted: &str) -> bool {
        if self.fresh {
            return false;
        }
        match hex::decode(posted) {
            Ok(bytes) => self.mac().verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// Sets the cookie on `response` when it is new.
    pub fn set_cookie(&self, response: &mut Response) {
        if !self.fresh {
            return;
        }
        let secure = if self.secure { "; Secure" } else { "" };
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.nonce
        )) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let existing = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == CSRF_COOKIE
                    && value.len() == 32
                    && value.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| value.to_string())
            });
        let (nonce, fresh) = match existing {
            Some(nonce) => (nonce, false),
            None => {
                let mut bytes = [0u8; 16];
                rand::rng().fill_bytes(&mut bytes);
                (hex::encode(bytes), true)
            }
        };
        Ok(CsrfToken {
            nonce,
            fresh,
            key: state.edge.csrf_key,
            secure: state.edge.secure_cookie,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(configure: impl FnOnce(&mut Config), bound: &str) -> Edge {
        let mut config = Config::new("sqlite::memory:");
        configure(&mut config);
        Edge::new(&config, bound.parse().unwrap())
    }

    #[test]
    fn host_names_are_checked_when_the_broker_knows_its_names() {
        let wildcard = edge(|_| {}, "0.0.0.0:9292");
        assert!(wildcard.host_allowed("evil.example"));
        let local = edge(|_| {}, "127.0.0.1:9292");
        assert!(local.host_allowed("127.0.0.1:9292"));
        assert!(local.host_allowed("localhost:9292"));
        assert!(local.host_allowed("[::1]:9292"));
        assert!(!local.host_allowed("evil.example:9292"));
        let public = edge(
            |c| {
                c.public_base_url = Some("https://broker.example.com/".parse().unwrap());
                c.edge.allowed_hosts = vec!["broker.internal:9292".into()];
            },
            "0.0.0.0:9292",
        );
        assert!(public.host_allowed("Broker.Example.COM."));
        assert!(public.host_allowed("broker.internal"));
        assert!(public.host_allowed("10.0.0.5:9292"));
        assert!(!public.host_allowed("evil.example"));
        assert!(!public.host_allowed("user@broker.example.com"));
    }

    #[test]
    fn cross_origin_writes_are_recognised() {
        let e = edge(|_| {}, "127.0.0.1:9292");
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, HeaderValue::from_static(v));
            }
            map
        };
        let host = Some("127.0.0.1:9292");
        assert!(e.cross_origin(&headers(&[]), host).is_none());
        assert!(
            e.cross_origin(&headers(&[("origin", "http://127.0.0.1:9292")]), host)
                .is_none()
        );
        assert!(
            e.cross_origin(&headers(&[("origin", "http://evil.example")]), host)
                .is_some()
        );
        assert!(
            e.cross_origin(&headers(&[("origin", "http://127.0.0.1:9293")]), host)
                .is_some()
        );
        assert!(
            e.cross_origin(&headers(&[("origin", "null")]), host)
                .is_some()
        );
        assert!(
            e.cross_origin(&headers(&[("sec-fetch-site", "cross-site")]), host)
                .is_some()
        );
        assert!(
            e.cross_origin(&headers(&[("sec-fetch-site", "same-site")]), host)
                .is_some()
        );
        assert!(
            e.cross_origin(&headers(&[("sec-fetch-site", "same-origin")]), host)
                .is_none()
        );
        let public = edge(
            |c| c.public_base_url = Some("https://broker.example.com".parse().unwrap()),
            "0.0.0.0:9292",
        );
        assert!(
            public
                .cross_origin(
                    &headers(&[("origin", "https://broker.example.com")]),
                    Some("10.0.0.5:9292")
                )
                .is_none()
        );
        assert!(
            public
                .cross_origin(
                    &headers(&[("origin", "http://broker.example.com")]),
                    Some("10.0.0.5:9292")
                )
                .is_some()
        );
    }

    #[test]
    fn forwarded_values_are_kept_only_from_trusted_peers_and_only_when_valid() {
        let forwarded = |pairs: &[(&'static str, &'static str)], trusted: bool| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, HeaderValue::from_static(v));
            }
            sanitise_forwarded(&mut map, trusted);
            (
                map.get("x-forwarded-proto")
                    .map(|v| v.to_str().unwrap().to_string()),
                map.get("x-forwarded-host")
                    .map(|v| v.to_str().unwrap().to_string()),
            )
        };
        let valid = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "b.example:8443"),
        ];
        assert_eq!(forwarded(&valid, false), (None, None));
        assert_eq!(
            forwarded(&valid, true),
            (Some("https".into()), Some("b.example:8443".into()))
        );
        assert_eq!(
            forwarded(
                &[
                    ("x-forwarded-proto", "javascript"),
                    ("x-forwarded-host", "evil.example/x?"),
                ],
                true
            ),
            (None, None)
        );
        assert_eq!(
            forwarded(&[("x-forwarded-host", "user@evil.example")], true),
            (None, None)
        );
        assert_eq!(
            forwarded(
                &[(
                    "forwarded",
                    "for=10.0.0.1;proto=https;host=\"b.example\", for=1.2.3.4"
                )],
                true
            ),
            (Some("https".into()), Some("b.example".into()))
        );
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/hal+json"));
        assert!(is_json("Application/Merge-Patch+JSON"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("multipart/form-data; boundary=x"));
        assert!(!is_json("text/x+json"));
        assert!(!is_json(""));
    }

    #[test]
    fn trusted_proxies_match_by_network() {
        let e = edge(
            |c| c.edge.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()],
            "0.0.0.0:9292",
        );
        assert!(e.trusts(Some("10.1.2.3".parse().unwrap())));
        assert!(e.trusts(Some("::ffff:10.1.2.3".parse().unwrap())));
        assert!(!e.trusts(Some("192.168.1.1".parse().unwrap())));
        assert!(!e.trusts(None));
    }
}
