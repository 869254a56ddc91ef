//! What a webhook is: its events, the body the API accepts (validated field by
//! field), and how it is shown back with its secrets hidden.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};
use url::Url;

use super::policy::WebhookConfig;
use super::template;
use crate::domain::ValidationError;

/// The events of the Pact Broker (reference §9.3).
pub const OFFICIAL_EVENTS: &[&str] = &[
    "contract_content_changed",
    "contract_published",
    "contract_requiring_verification_published",
    "provider_verification_published",
    "provider_verification_succeeded",
    "provider_verification_failed",
];

/// Accord's own events: a drift run of the monitor opened findings, or resolved some.
pub const ACCORD_EVENTS: &[&str] = &["drift_detected", "drift_resolved"];

pub fn is_event(name: &str) -> bool {
    OFFICIAL_EVENTS.contains(&name) || ACCORD_EVENTS.contains(&name)
}

/// The value shown instead of a secret.
pub const REDACTED: &str = "**********";

/// What a URL shows instead of a password or a query value.
pub const URL_MASK: &str = "****";

/// The request key naming the headers whose values may be shown (Accord's own;
/// the Pact Broker and its clients ignore it).
pub const PUBLIC_HEADERS: &str = "publicHeaders";

/// Headers shown without being listed in [`PUBLIC_HEADERS`]: they say how the body
/// is encoded, never who is calling, and webhooks nearly always set them.
pub const PUBLIC_BY_DEFAULT: &[&str] = &["Accept", "Content-Type"];

static SECRET_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)authorization|token|secret|api[-_]?key|password|cookie|auth|session|signature")
        .expect("the secret header pattern is valid")
});

/// Whether a header's name says its value is a credential: such a header can never
/// be marked public, and a receiver's answer shows it masked.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADER.is_match(name)
}

/// Whether the value of header `name` of `request` may be shown: one of
/// [`PUBLIC_BY_DEFAULT`] or listed in the request's [`PUBLIC_HEADERS`]. Every
/// other header value is a secret: masked wherever it is shown, and encrypted at
/// rest when the broker has a secrets key.
pub fn is_public_header(request: &Value, name: &str) -> bool {
    PUBLIC_BY_DEFAULT
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
        || request
            .get(PUBLIC_HEADERS)
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .any(|h| h.eq_ignore_ascii_case(name))
            })
}

/// Where the parts of a URL are in its text, found the way a WHATWG parser finds
/// them for http(s) (any run of `/` or `\\` before the host, the last `@` ending
/// the user info). Works on templates too, whose placeholders are not valid URL
/// text yet.
struct UrlParts<'a> {
    /// Up to the host (scheme, slashes, and the user name with its `:`).
    head: &'a str,
    /// The password, when the user info has one.
    password: Option<&'a str>,
    /// From the `@` (or the host) up to the query.
    middle: &'a str,
    query: Option<&'a str>,
    /// `#` and the fragment, or empty.
    fragment: &'a str,
}

fn url_parts(url: &str) -> Option<UrlParts<'_>> {
    let scheme_end = url.find(':')? + 1;
    let after_scheme = &url[scheme_end..];
    let authority_start =
        scheme_end + after_scheme.len() - after_scheme.trim_start_matches(['/', '\\']).len();
    let authority_end = url[authority_start..]
        .find(['/', '\\', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let (head_end, password) = match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => (authority_start + colon + 1, Some(&authority[colon + 1..at])),
            None => (authority_start + at, None),
        },
        None => (authority_start, None),
    };
    let middle_start = head_end + password.map_or(0, str::len);
    let fragment_start = url[authority_end..]
        .find('#')
        .map_or(url.len(), |i| authority_end + i);
    let (middle_end, query) = match url[authority_end..fragment_start].find('?') {
        Some(q) => (
            authority_end + q,
            Some(&url[authority_end + q + 1..fragment_start]),
        ),
        None => (fragment_start, None),
    };
    Some(UrlParts {
        head: &url[..head_end],
        password,
        middle: &url[middle_start..middle_end],
        query,
        fragment: &url[fragment_start..],
    })
}

/// A URL (or URL template) as it may be shown: the password of its user info and
/// every query value masked (`https://ci:****@host/b?token=****&v=****`), names kept.
/// A query item without `=` may be a bare token and is masked whole.
pub fn mask_url(url: &str) -> String {
    let Some(parts) = url_parts(url) else {
        return url.to_string();
    };
    let mut shown = String::with_capacity(url.len());
    shown.push_str(parts.head);
    if parts.password.is_some() {
        shown.push_str(URL_MASK);
    }
    shown.push_str(parts.middle);
    if let Some(query) = parts.query {
        shown.push('?');
        let items: Vec<String> = query
            .split('&')
            .map(|item| match item.split_once('=') {
                Some((name, "")) => format!("{name}="),
                Some((name, _)) => format!("{name}={URL_MASK}"),
                None if item.is_empty() => String::new(),
                None => URL_MASK.to_string(),
            })
            .collect();
        shown.push_str(&items.join("&"));
    }
    shown.push_str(parts.fragment);
    shown
}

/// The password of a URL's user info, if it has one.
pub fn url_password(url: &str) -> Option<&str> {
    url_parts(url).and_then(|parts| parts.password)
}

/// `url` with the password of its user info replaced by `f(password)`.
pub fn map_url_password<E>(
    url: &str,
    f: impl FnOnce(&str) -> Result<String, E>,
) -> Result<String, E> {
    let Some(parts) = url_parts(url) else {
        return Ok(url.to_string());
    };
    let Some(password) = parts.password else {
        return Ok(url.to_string());
    };
    Ok(format!(
        "{}{}{}",
        parts.head,
        f(password)?,
        &url[parts.head.len() + password.len()..]
    ))
}

/// How a webhook names a consumer or provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacticipantRef {
    Name(String),
    Label(String),
}

/// A webhook body that passed validation; pacticipant names are not looked up yet.
#[derive(Debug, Clone)]
pub struct WebhookInput {
    pub description: Option<String>,
    pub consumer: Option<PacticipantRef>,
    pub provider: Option<PacticipantRef>,
    pub enabled: bool,
    pub events: Vec<String>,
    /// `method`, `url`, and optionally `headers`, `body`, `username`, `password`.
    pub request: Value,
}

fn pacticipant_ref(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<ValidationError>,
) -> Option<PacticipantRef> {
    let value = body.get(field)?;
    if value.is_null() {
        return None;
    }
    let Some(object) = value.as_object() else {
        errors.push(ValidationError::new(
            field,
            "must be an object with a name or a label",
        ));
        return None;
    };
    let mut text = |key: &str| -> Option<String> {
        match object.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(_) => {
                errors.push(ValidationError::new(
                    format!("{field}.{key}"),
                    "must be a non-empty string",
                ));
                None
            }
        }
    };
    let name = text("name");
    let label = text("label");
    match (name, label) {
        (Some(name), None) => Some(PacticipantRef::Name(name)),
        (None, Some(label)) => Some(PacticipantRef::Label(label)),
        (Some(_), Some(_)) => {
            errors.push(ValidationError::new(
                field,
                "give either a name or a label, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(ValidationError::new(
                format!("{field}.name"),
                "is required (or give a label)",
            ));
            None
        }
    }
}

/// Records an error for each unknown placeholder in `text`.
fn check_placeholders(text: &str, field: &str, errors: &mut Vec<ValidationError>) {
    for name in template::unknown_placeholders(text) {
        errors.push(ValidationError::new(
            field,
            format!(
                "unknown placeholder ${{pactbroker.{name}}}; known placeholders are {}",
                template::PLACEHOLDERS
                    .iter()
                    .map(|p| format!("${{pactbroker.{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
}

fn check_json_placeholders(value: &Value, field: &str, errors: &mut Vec<ValidationError>) {
    match value {
        Value::String(text) => check_placeholders(text, field, errors),
        Value::Array(items) => items
            .iter()
            .for_each(|v| check_json_placeholders(v, field, errors)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            check_placeholders(k, field, errors);
            check_json_placeholders(v, field, errors);
        }),
        _ => {}
    }
}

/// What a placeholder stands for while a URL template is checked: letters only, so
/// it stays as it is wherever the parser puts it (a host is lower-cased).
const MARKER: &str = "accordplaceholdermarker";

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Checks `request.url`: present, placeholders known, host not a placeholder, a
/// valid URL once filled in, and allowed by the configuration.
fn check_url(url: Option<&Value>, config: &WebhookConfig, errors: &mut Vec<ValidationError>) {
    const FIELD: &str = "request.url";
    let url = match url {
        Some(Value::String(url)) if !url.trim().is_empty() => url,
        None | Some(Value::Null) => {
            errors.push(ValidationError::new(FIELD, "is required"));
            return;
        }
        Some(_) => {
            errors.push(ValidationError::new(FIELD, "must be a URL string"));
            return;
        }
    };
    let before = errors.len();
    check_placeholders(url, FIELD, errors);
    if errors.len() > before {
        return;
    }
    // Every placeholder filled with a marker, and the URL parsed as the HTTP client
    // will parse it (WHATWG: `http:x`, `http:/x` and `http:\\x` all name host x):
    // what remains must be a URL whose destination no placeholder takes part in, or
    // the event's data (a consumer name) would choose where the request and its
    // credentials go. Filled-in values are escaped, so they cannot add structure.
    let mut sample = template::Context::default();
    for name in template::PLACEHOLDERS {
        sample.set(name, MARKER);
    }
    let parsed = match Url::parse(&sample.render_url(url)) {
        Ok(parsed) => parsed,
        Err(err) => {
            errors.push(ValidationError::new(
                FIELD,
                format!(
                    "'{}' is not a valid URL ({err}); give an absolute http(s) URL, with \
                     placeholders only in its path, query or fragment",
                    mask_url(url)
                ),
            ));
            return;
        }
    };
    let marked = |part: &str| part.to_ascii_lowercase().contains(MARKER);
    if marked(parsed.scheme())
        || parsed.host_str().is_some_and(marked)
        || marked(parsed.username())
        || parsed.password().is_some_and(marked)
    {
        errors.push(ValidationError::new(
            FIELD,
            format!(
                "the scheme, host and user info of '{}' may not contain a placeholder: \
                 the event's data would choose where the request goes; use placeholders \
                 only in the path, query or fragment",
                mask_url(url)
            ),
        ));
        return;
    }
    if let Err(reason) = config.check_url(&parsed) {
        errors.push(ValidationError::new(
            FIELD,
            format!("'{}' is not allowed: {reason}", mask_url(url)),
        ));
    }
}

/// Checks the `request` object and returns it with only the known keys.
fn check_request(
    request: Option<&Value>,
    config: &WebhookConfig,
    errors: &mut Vec<ValidationError>,
) -> Value {
    let Some(request) = request.and_then(Value::as_object) else {
        errors.push(ValidationError::new(
            "request",
            "is required: an object with method and url",
        ));
        return Value::Null;
    };
    let mut out = Map::new();
    match request.get("method") {
        Some(Value::String(method)) if METHODS.contains(&method.to_ascii_uppercase().as_str()) => {
            out.insert("method".into(), json!(method.to_ascii_uppercase()));
        }
        Some(Value::String(method)) => errors.push(ValidationError::new(
            "request.method",
            format!(
                "'{method}' is not an HTTP method; use one of {}",
                METHODS.join(", ")
            ),
        )),
        None | Some(Value::Null) => {
            errors.push(ValidationError::new("request.method", "is required"))
        }
        Some(_) => errors.push(ValidationError::new("request.method", "must be a string")),
    }
    check_url(request.get("url"), config, errors);
    if let Some(url) = request.get("url") {
        out.insert("url".into(), url.clone());
    }
    match request.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(headers)) => {
            for (name, value) in headers {
                let field = format!("request.headers.{name}");
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    errors.push(ValidationError::new(&field, "is not a valid header name"));
                }
                match value {
                    Value::String(text) => check_placeholders(text, &field, errors),
                    _ => errors.push(ValidationError::new(&field, "must be a string")),
                }
            }
            out.insert("headers".into(), Value::Object(headers.clone()));
        }
        Some(_) => errors.push(ValidationError::new(
            "request.headers",
            "must be an object of header names to values",
        )),
    }
    match request.get(PUBLIC_HEADERS) {
        None | Some(Value::Null) => {}
        Some(Value::Array(names)) => {
            const FIELD: &str = "request.publicHeaders";
            for name in names {
                match name.as_str() {
                    Some(name) if http::HeaderName::from_bytes(name.as_bytes()).is_err() => errors
                        .push(ValidationError::new(
                            FIELD,
                            format!("'{name}' is not a valid header name"),
                        )),
                    Some(name) if is_secret_header(name) => errors.push(ValidationError::new(
                        FIELD,
                        format!(
                            "'{name}' names a credential, whose value is never shown; leave it \
                             out of publicHeaders"
                        ),
                    )),
                    Some(_) => {}
                    None => errors.push(ValidationError::new(FIELD, "must list header names")),
                }
            }
            out.insert(PUBLIC_HEADERS.into(), Value::Array(names.clone()));
        }
        Some(_) => errors.push(ValidationError::new(
            "request.publicHeaders",
            "must be a list of header names whose values may be shown",
        )),
    }
    if let Some(body) = request.get("body") {
        check_json_placeholders(body, "request.body", errors);
        out.insert("body".into(), body.clone());
    }
    for key in ["username", "password"] {
        match request.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                check_placeholders(text, &format!("request.{key}"), errors);
                out.insert(key.into(), json!(text));
            }
            Some(_) => errors.push(ValidationError::new(
                format!("request.{key}"),
                "must be a string",
            )),
        }
    }
    Value::Object(out)
}

/// Validates a webhook body (reference §9.2). Unknown top-level keys are ignored.
pub fn parse_webhook(
    body: &Value,
    config: &WebhookConfig,
) -> Result<WebhookInput, Vec<ValidationError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![ValidationError::new("body", "must be a JSON object")]);
    };
    let mut errors: Vec<ValidationError> = object
        .iter()
        .filter_map(|(key, value)| crate::domain::check_no_nul(key, value).err())
        .collect();
    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            if let Err(err) =
                crate::domain::check_length("description", text, crate::domain::limits::TEXT)
            {
                errors.push(err);
            }
            Some(text.clone())
        }
        Some(_) => {
            errors.push(ValidationError::new("description", "must be a string"));
            None
        }
    };
    let consumer = pacticipant_ref(object, "consumer", &mut errors);
    let provider = pacticipant_ref(object, "provider", &mut errors);
    let enabled = match object.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(enabled)) => *enabled,
        Some(_) => {
            errors.push(ValidationError::new("enabled", "must be true or false"));
            true
        }
    };
    let events = match object.get("events") {
        None | Some(Value::Null) => vec!["contract_content_changed".to_string()],
        Some(Value::Array(items)) if items.is_empty() => {
            errors.push(ValidationError::new(
                "events",
                "must not be empty (leave it out for contract_content_changed)",
            ));
            vec![]
        }
        Some(Value::Array(items)) => {
            let mut events = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match item.get("name").and_then(Value::as_str) {
                    Some(name) if is_event(name) => {
                        if !events.iter().any(|e| e == name) {
                            events.push(name.to_string());
                        }
                    }
                    Some(name) => errors.push(ValidationError::new(
                        "events",
                        format!(
                            "unknown event '{name}' (at index {index}); use one of {}",
                            OFFICIAL_EVENTS
                                .iter()
                                .chain(ACCORD_EVENTS)
                                .copied()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                    None => errors.push(ValidationError::new(
                        "events",
                        format!("each event needs a name (at index {index})"),
                    )),
                }
            }
            events
        }
        Some(_) => {
            errors.push(ValidationError::new(
                "events",
                "must be a list of {\"name\": \"...\"} objects",
            ));
            vec![]
        }
    };
    let request = check_request(object.get("request"), config, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(WebhookInput {
        description,
        consumer,
        provider,
        enabled,
        events,
        request,
    })
}

/// A request (template or rendered) as it may be shown: the URL masked
/// ([`mask_url`]), every header value but the public ones ([`is_public_header`])
/// and the password replaced by [`REDACTED`]. Bodies are shown as they are.
pub fn redact_request(request: &Value) -> Value {
    let mut shown = request.clone();
    if let Some(url) = shown.get_mut("url")
        && let Some(text) = url.as_str()
    {
        *url = json!(mask_url(text));
    }
    if let Some(headers) = shown.get_mut("headers").and_then(Value::as_object_mut) {
        for (name, value) in headers.iter_mut() {
            if !is_public_header(request, name) {
                *value = json!(REDACTED);
            }
        }
    }
    if let Some(password) = shown.get_mut("password")
        && !password.is_null()
    {
        *password = json!(REDACTED);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &[ValidationError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_full_webhook_parses_and_defaults_apply() {
        let config = WebhookConfig::default();
        let input = parse_webhook(
            &json!({
                "description": "build",
                "consumer": {"name": "web"},
                "provider": {"label": "core"},
                "request": {"method": "post", "url": "https://ci.example.com/b?v=${pactbroker.consumerVersionNumber}"},
                "teamUuid": "ignored"
            }),
            &config,
        )
        .unwrap();
        assert_eq!(input.events, vec!["contract_content_changed"]);
        assert!(input.enabled);
        assert_eq!(input.consumer, Some(PacticipantRef::Name("web".into())));
        assert_eq!(input.provider, Some(PacticipantRef::Label("core".into())));
        assert_eq!(input.request["method"], "POST");
    }

    #[test]
    fn bad_urls_events_and_placeholders_name_their_field() {
        let config = WebhookConfig::default();
        let errors = parse_webhook(
            &json!({
                "events": [{"name": "contract_published"}, {"name": "pact_exploded"}],
                "request": {
                    "method": "POST",
                    "url": "https://${pactbroker.consumerName}.example.com/",
                    "body": {"v": "${pactbroker.consumerVersion}"}
                }
            }),
            &config,
        )
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            vec!["events", "request.url", "request.body"]
        );
        assert!(errors[0].message.contains("pact_exploded"));
        assert!(errors[1].message.contains("placeholder"));
        assert!(errors[2].message.contains("${pactbroker.consumerVersion}"));

        let errors = parse_webhook(
            &json!({"request": {"method": "POST", "url": "not a url"}}),
            &config,
        )
        .unwrap_err();
        assert_eq!(fields(&errors), vec!["request.url"]);
        let errors = parse_webhook(&json!({"request": {"method": "POST"}}), &config).unwrap_err();
        assert_eq!(fields(&errors), vec!["request.url"]);
    }

    #[test]
    fn placeholders_may_not_choose_the_destination() {
        let config = WebhookConfig::default();
        let refused = |url: &str| {
            let errors =
                parse_webhook(&json!({"request": {"method": "POST", "url": url}}), &config)
                    .unwrap_err();
            assert_eq!(fields(&errors), vec!["request.url"], "{url}");
            errors[0].message.clone()
        };
        for url in [
            "https://${pactbroker.consumerName}",
            "http:${pactbroker.consumerName}",
            "http:/${pactbroker.consumerName}",
            "http:\\\\${pactbroker.consumerName}",
            "http:\\${pactbroker.consumerName}/x",
            "http:///${pactbroker.consumerName}/x",
            "http://${pactbroker.consumerName}.example.com",
            "http://ci.${pactbroker.consumerName}.example.com/",
            "http://user:${pactbroker.consumerName}@ci.example.com/",
            "http://${pactbroker.consumerName}@ci.example.com/",
            "http://${pactbroker.consumerName}:x@ci.example.com/",
            "http${pactbroker.consumerName}://ci.example.com/",
        ] {
            let message = refused(url);
            assert!(message.contains("placeholder"), "{url}: {message}");
        }
        // A port from a placeholder is no port at all.
        refused("http://ci.example.com:${pactbroker.consumerVersionNumber}/");
        refused("${pactbroker.pactUrl}");
        for url in [
            "https://ci.example.com/${pactbroker.consumerName}/build",
            "https://ci.example.com/b?c=${pactbroker.consumerName}&v=${pactbroker.consumerVersionNumber}",
            "https://ci.example.com/b#${pactbroker.providerName}",
            "https://user:pass@ci.example.com/${pactbroker.consumerName}",
        ] {
            assert!(
                parse_webhook(&json!({"request": {"method": "POST", "url": url}}), &config).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let shown = redact_request(&json!({
            "url": "https://ci:pa55@ci.example.com/b?token=t0k&v=${pactbroker.pactUrl}&flag#frag",
            "headers": {
                "Authorization": "Bearer abc",
                "X-Custom": "${pactbroker.pactUrl}",
                "Accept": "x",
                "content-type": "application/json",
                "X-Build": "7"
            },
            "publicHeaders": ["x-build"],
            "username": "ci",
            "password": "p"
        }));
        assert_eq!(
            shown["url"],
            "https://ci:****@ci.example.com/b?token=****&v=****&****#frag"
        );
        assert_eq!(shown["headers"]["Authorization"], REDACTED);
        assert_eq!(shown["headers"]["X-Custom"], REDACTED);
        assert_eq!(shown["headers"]["Accept"], "x");
        assert_eq!(shown["headers"]["content-type"], "application/json");
        assert_eq!(shown["headers"]["X-Build"], "7");
        assert_eq!(shown["username"], "ci");
        assert_eq!(shown["password"], REDACTED);
    }

    #[test]
    fn urls_are_masked_as_a_browser_parses_them() {
        for (url, shown) in [
            ("https://ci.example.com/b", "https://ci.example.com/b"),
            ("https://u:p@h/", "https://u:****@h/"),
            ("https://u@h/?a=1", "https://u@h/?a=****"),
            ("http:\\\\u:p@h\\x?q", "http:\\\\u:****@h\\x?****"),
            ("http://u:p@ss@h/", "http://u:****@h/"),
            ("http://h/p?a=&b=2#x?y=1", "http://h/p?a=&b=****#x?y=1"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(mask_url(url), shown, "{url}");
        }
        assert_eq!(url_password("http://u:p@ss@h/"), Some("p@ss"));
        assert_eq!(
            map_url_password::<()>("http://u:p@h/?x=1", |p| Ok(format!("<{p}>"))).unwrap(),
            "http://u:<p>@h/?x=1"
        );
    }

    #[test]
    fn credential_headers_cannot_be_marked_public() {
        let config = WebhookConfig::default();
        let errors = parse_webhook(
            &json!({"request": {"method": "POST", "url": "https://ci.example.com/",
                "publicHeaders": ["X-Build", "Authorization", "bad header"]}}),
            &config,
        )
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            vec!["request.publicHeaders", "request.publicHeaders"]
        );
    }
}
