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

static SECRET_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)authorization|token|secret|api[-_]?key|password|cookie")
        .expect("the secret header pattern is valid")
});

/// Whether a header's value is a secret that is never shown or logged.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADER.is_match(name)
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
    // Every placeholder filled with a harmless value: what remains must be a URL.
    let mut sample = template::Context::default();
    for name in template::PLACEHOLDERS {
        sample.set(name, "x");
    }
    let parsed = match Url::parse(&sample.render_url(url)) {
        Ok(parsed) => parsed,
        Err(err) => {
            errors.push(ValidationError::new(
                FIELD,
                format!("'{url}' is not a valid URL ({err}); give an absolute http(s) URL"),
            ));
            return;
        }
    };
    // The host may not come from a placeholder: data would choose where it goes.
    let authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    if authority.contains("${") {
        errors.push(ValidationError::new(
            FIELD,
            format!("the host of '{url}' may not contain a placeholder"),
        ));
        return;
    }
    if let Err(reason) = config.check_url(&parsed) {
        errors.push(ValidationError::new(
            FIELD,
            format!("'{url}' is not allowed: {reason}"),
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
    let mut errors = Vec::new();
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

/// A request (template or rendered) as it may be shown: secret header values
/// and the password replaced by [`REDACTED`]. Template headers whose value is only
/// a placeholder reference stay visible, as in the Pact Broker.
pub fn redact_request(request: &Value, is_template: bool) -> Value {
    let mut shown = request.clone();
    if let Some(headers) = shown.get_mut("headers").and_then(Value::as_object_mut) {
        for (name, value) in headers.iter_mut() {
            let templated = is_template && value.as_str().is_some_and(template::has_placeholder);
            if is_secret_header(name) && !templated {
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
    fn secrets_are_redacted() {
        let shown = redact_request(
            &json!({"headers": {"Authorization": "Bearer abc", "X-Token": "${pactbroker.pactUrl}", "Accept": "x"}, "password": "p"}),
            true,
        );
        assert_eq!(shown["headers"]["Authorization"], REDACTED);
        assert_eq!(shown["headers"]["X-Token"], "${pactbroker.pactUrl}");
        assert_eq!(shown["headers"]["Accept"], "x");
        assert_eq!(shown["password"], REDACTED);
    }
}
