//! A pact as readable documentation: each interaction's description, provider
//! states, request and response, with the matching rules and generators beside the
//! values they apply to.
//!
//! Pact files come in several specification versions (v1 to v4, HTTP interactions
//! and messages); this reads the fields they share loosely, from the JSON, so a pact
//! of any version renders and nothing in it is lost: whatever is not understood is
//! shown as JSON.

use std::fmt::Write;

use serde_json::Value;

use super::html::esc;

/// The interactions of a pact (and messages of a v3 message pact), as HTML.
pub fn render(pact: &Value) -> String {
    let mut out = String::new();
    if let Some(spec) = pact
        .pointer("/metadata/pactSpecification/version")
        .or_else(|| pact.pointer("/metadata/pact-specification/version"))
        .and_then(Value::as_str)
    {
        let _ = write!(
            out,
            "<p class=\"muted\">Pact specification {}</p>",
            esc(spec)
        );
    }
    let interactions = pact
        .get("interactions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            pact.get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .collect::<Vec<_>>();
    if interactions.is_empty() {
        out.push_str("<p>This pact has no interactions.</p>");
    }
    let _ = write!(
        out,
        "<p>{} interaction{}:</p><ol>",
        interactions.len(),
        if interactions.len() == 1 { "" } else { "s" }
    );
    for (i, interaction) in interactions.iter().enumerate() {
        let description = interaction
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("(no description)");
        let _ = write!(out, "<li><a href=\"#i{i}\">{}</a></li>", esc(description));
    }
    out.push_str("</ol>");
    for (i, interaction) in interactions.iter().enumerate() {
        render_interaction(&mut out, i, interaction);
    }
    out
}

fn render_interaction(out: &mut String, index: usize, interaction: &Value) {
    let description = interaction
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("(no description)");
    let _ = write!(
        out,
        "<section class=\"interaction\" id=\"i{index}\"><h2>{}</h2>",
        esc(description)
    );
    if let Some(kind) = interaction.get("type").and_then(Value::as_str) {
        let _ = write!(out, "<p class=\"muted\">{}</p>", esc(kind));
    }
    let states = provider_states(interaction);
    if states.is_empty() {
        out.push_str("<p>Given no provider state.</p>");
    } else {
        out.push_str("<p>Given:</p><ul class=\"states\">");
        for (name, params) in states {
            let _ = write!(out, "<li>{}", esc(&name));
            if let Some(params) = params {
                let _ = write!(out, " with <code>{}</code>", esc(&params.to_string()));
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    if let Some(request) = interaction.get("request") {
        out.push_str("<h3>Upon receiving</h3>");
        render_request(out, request);
    }
    if let Some(response) = interaction.get("response") {
        // A v4 synchronous message answers with a list of messages.
        if let Some(list) = response.as_array() {
            out.push_str("<h3>Respond with messages</h3>");
            for message in list {
                render_part(out, message);
            }
        } else {
            out.push_str("<h3>Respond with</h3>");
            render_response(out, response);
        }
    }
    if interaction.get("contents").is_some() || interaction.get("content").is_some() {
        out.push_str("<h3>Message</h3>");
        if let Some(event) = cloud_event(interaction) {
            let _ = write!(
                out,
                "<p class=\"cloudevent\">CloudEvent <code>{}</code> from <code>{}</code>, {} mode</p>",
                esc(&event.kind),
                esc(&event.source),
                event.mode
            );
        }
        render_part(out, interaction);
    }
    out.push_str("</section>");
}

/// What the page calls out about a message that is a CloudEvent.
struct CloudEventSummary {
    kind: String,
    source: String,
    mode: &'static str,
}

/// A structured CloudEvent (`specversion` and `type` in the contents) or a binary one
/// (`ce_type` / `ce-type` / `cloudEvents:type` in the metadata).
fn cloud_event(message: &Value) -> Option<CloudEventSummary> {
    let text = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "(no source)".to_string(),
    };
    let contents = message.get("contents").map(|contents| {
        // A V4 message holds `{"content": …, "contentType": …}`.
        match contents.get("content") {
            Some(content) if contents.get("contentType").is_some() => content,
            _ => contents,
        }
    });
    if let Some(envelope) = contents.and_then(Value::as_object)
        && envelope.contains_key("specversion")
        && let Some(kind) = envelope.get("type")
    {
        return Some(CloudEventSummary {
            kind: text(Some(kind)),
            source: text(envelope.get("source")),
            mode: "structured",
        });
    }
    let metadata = message.get("metadata")?.as_object()?;
    ["ce_", "ce-", "cloudEvents:"].iter().find_map(|prefix| {
        let kind = metadata.get(&format!("{prefix}type"))?;
        Some(CloudEventSummary {
            kind: text(Some(kind)),
            source: text(metadata.get(&format!("{prefix}source"))),
            mode: "binary",
        })
    })
}

/// `providerState` (v1, v2) or `providerStates` (v3, v4), with their parameters.
fn provider_states(interaction: &Value) -> Vec<(String, Option<&Value>)> {
    let mut states = Vec::new();
    if let Some(name) = interaction.get("providerState").and_then(Value::as_str) {
        states.push((name.to_string(), None));
    }
    for state in interaction
        .get("providerStates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = state
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed state)");
        let params = state
            .get("params")
            .filter(|p| p.as_object().is_some_and(|o| !o.is_empty()));
        states.push((name.to_string(), params));
    }
    states
}

fn render_request(out: &mut String, request: &Value) {
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET");
    let path = request.get("path").and_then(Value::as_str).unwrap_or("/");
    let query = match request.get("query") {
        Some(Value::String(q)) if !q.is_empty() => format!("?{q}"),
        Some(Value::Object(map)) if !map.is_empty() => {
            let pairs: Vec<String> = map
                .iter()
                .flat_map(|(k, v)| match v {
                    Value::Array(values) => values
                        .iter()
                        .map(|v| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>(),
                    other => vec![format!("{k}={}", other.as_str().unwrap_or_default())],
                })
                .collect();
            format!("?{}", pairs.join("&"))
        }
        _ => String::new(),
    };
    let _ = write!(
        out,
        "<p class=\"request-line\"><code>{} {}{}</code></p>",
        esc(&method.to_uppercase()),
        esc(path),
        esc(&query)
    );
    render_part(out, request);
}

fn render_response(out: &mut String, response: &Value) {
    let status = response
        .get("status")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "200".to_string());
    let _ = write!(
        out,
        "<p class=\"status-line\"><code>status {}</code></p>",
        esc(&status)
    );
    render_part(out, response);
}

/// Headers, metadata, body (or message contents), matching rules and generators of
/// a request, response or message.
fn render_part(out: &mut String, part: &Value) {
    for key in ["headers", "metadata"] {
        if let Some(map) = part.get(key).and_then(Value::as_object)
            && !map.is_empty()
        {
            let _ = write!(out, "<table><tr><th colspan=\"2\">{key}</th></tr>");
            for (name, value) in map {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td></tr>",
                    esc(name),
                    esc(&value)
                );
            }
            out.push_str("</table>");
        }
    }
    let body = part
        .get("body")
        .or_else(|| part.get("contents"))
        .or_else(|| part.get("content"));
    if let Some(body) = body.filter(|b| !b.is_null()) {
        // A v4 body is `{"content": ..., "contentType": ..., "encoded": ...}`.
        let shown = match body {
            Value::Object(map)
                if map.contains_key("content") && map.contains_key("contentType") =>
            {
                &map["content"]
            }
            other => other,
        };
        let text = match shown {
            Value::String(s) => s.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        let _ = write!(out, "<pre class=\"body\">{}</pre>", esc(&text));
    }
    for (key, title) in [
        ("matchingRules", "Matching rules"),
        ("generators", "Generators"),
    ] {
        if let Some(rules) = part
            .get(key)
            .filter(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        {
            render_rules(out, title, rules);
        }
    }
}

/// Matching rules or generators as a table of where they apply and what they say.
/// v2 keys rules by JSON path (`$.body.id`); v3 and v4 group them by category
/// (`body`, `header`, ...) and then by path, each with a list of matchers.
fn render_rules(out: &mut String, title: &str, rules: &Value) {
    let _ = write!(
        out,
        "<table class=\"rules\"><tr><th colspan=\"2\">{title}</th></tr>"
    );
    let Some(map) = rules.as_object() else {
        return;
    };
    for (key, value) in map {
        if key.starts_with('$') {
            row(out, key, value);
            continue;
        }
        match value.as_object() {
            // A category whose value is one rule (v3 `path`, `status`).
            Some(inner) if inner.contains_key("matchers") || inner.contains_key("type") => {
                row(out, key, value);
            }
            Some(inner) => {
                for (path, rule) in inner {
                    row(out, &format!("{key} {path}"), rule);
                }
            }
            None => row(out, key, value),
        }
    }
    out.push_str("</table>");
}

fn row(out: &mut String, place: &str, rule: &Value) {
    let described = match rule.get("matchers").and_then(Value::as_array) {
        Some(matchers) => {
            let combine = rule.get("combine").and_then(Value::as_str).unwrap_or("AND");
            let parts: Vec<String> = matchers.iter().map(describe_matcher).collect();
            parts.join(&format!(" {combine} "))
        }
        None => describe_matcher(rule),
    };
    let _ = write!(
        out,
        "<tr><td><code>{}</code></td><td>{}</td></tr>",
        esc(place),
        esc(&described)
    );
}

/// `type`, `regex /\d+/`, `min 1` ..., falling back to the JSON.
fn describe_matcher(matcher: &Value) -> String {
    let Some(map) = matcher.as_object() else {
        return matcher.to_string();
    };
    let kind = map
        .get("match")
        .or_else(|| map.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let extras: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "match" && *k != "type")
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} {s}"),
            other => format!("{k} {other}"),
        })
        .collect();
    match (kind.is_empty(), extras.is_empty()) {
        (true, _) => matcher.to_string(),
        (false, true) => kind.to_string(),
        (false, false) => format!("{kind} ({})", extras.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::render;

    #[test]
    fn shows_states_request_response_and_matchers_of_a_v3_pact() {
        let html = render(&json!({
            "interactions": [{
                "description": "a request for <b>things</b>",
                "providerStates": [{ "name": "things exist", "params": { "id": 1 } }],
                "request": { "method": "get", "path": "/things", "query": { "q": ["a"] } },
                "response": {
                    "status": 200,
                    "headers": { "Content-Type": "application/json" },
                    "body": { "id": 1 },
                    "matchingRules": { "body": { "$.id": { "matchers": [{ "match": "integer" }], "combine": "AND" } } }
                }
            }],
            "metadata": { "pactSpecification": { "version": "3.0.0" } }
        }));
        assert!(html.contains("a request for &lt;b&gt;things&lt;/b&gt;"));
        assert!(html.contains("things exist"));
        assert!(html.contains("GET /things?q=a"));
        assert!(html.contains("status 200"));
        assert!(html.contains("body $.id"));
        assert!(html.contains("integer"));
        assert!(html.contains("Pact specification 3.0.0"));
    }

    #[test]
    fn reads_v2_flat_matching_rules_and_provider_state() {
        let html = render(&json!({
            "interactions": [{
                "description": "d",
                "providerState": "a state",
                "request": { "method": "GET", "path": "/" },
                "response": { "status": 404, "matchingRules": { "$.body.name": { "match": "regex", "regex": "\\w+" } } }
            }]
        }));
        assert!(html.contains("a state"));
        assert!(html.contains("$.body.name"));
        assert!(html.contains("regex (regex \\w+)"));
    }
}
