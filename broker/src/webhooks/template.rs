//! Request templates: the `${pactbroker.X}` placeholders a webhook's URL, headers,
//! body and credentials may use, checking them when a webhook is saved, and
//! filling them in when a delivery is queued.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Every placeholder the broker fills in (reference §9.4). Values that do not
/// apply to an event render as empty strings.
pub const PLACEHOLDERS: &[&str] = &[
    "consumerName",
    "providerName",
    "consumerVersionNumber",
    "providerVersionNumber",
    "providerVersionTags",
    "providerVersionBranch",
    "providerVersionDescriptions",
    "consumerVersionTags",
    "consumerVersionBranch",
    "pactUrl",
    "verificationResultUrl",
    "githubVerificationStatus",
    "bitbucketVerificationStatus",
    "azureDevOpsVerificationStatus",
    "gitlabVerificationStatus",
    "consumerLabels",
    "providerLabels",
    "eventName",
    "buildUrl",
    "currentlyDeployedProviderVersionNumber",
];

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{pactbroker\.([^}]*)\}").expect("the placeholder pattern is valid")
});

/// The placeholders in `text` the broker does not know, in order of appearance.
pub fn unknown_placeholders(text: &str) -> Vec<String> {
    PLACEHOLDER
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .filter(|name| !PLACEHOLDERS.contains(&name.as_str()))
        .collect()
}

/// Whether `text` contains any placeholder.
pub fn has_placeholder(text: &str) -> bool {
    PLACEHOLDER.is_match(text)
}

/// The values placeholders stand for, for one event.
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: BTreeMap<&'static str, String>,
}

impl Context {
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        debug_assert!(PLACEHOLDERS.contains(&name), "unknown placeholder {name}");
        self.values.insert(name, value.into());
    }

    pub fn get(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// `text` with every placeholder replaced by its raw value.
    pub fn render(&self, text: &str) -> String {
        self.render_with(text, |value| value.to_string())
    }

    /// `text` (a URL) with every placeholder replaced by its value, escaped for a
    /// query string or path.
    pub fn render_url(&self, text: &str) -> String {
        self.render_with(text, |value| {
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
        })
    }

    fn render_with(&self, text: &str, escape: impl Fn(&str) -> String) -> String {
        PLACEHOLDER
            .replace_all(text, |c: &regex::Captures<'_>| escape(self.get(&c[1])))
            .into_owned()
    }

    /// A JSON body with placeholders replaced in every string (keys included).
    pub fn render_json(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.render(text)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.render_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.render(k), self.render_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_placeholders_are_named() {
        assert_eq!(
            unknown_placeholders("${pactbroker.consumerName} ${pactbroker.nope} ${other}"),
            vec!["nope".to_string()]
        );
        assert!(unknown_placeholders("${pactbroker.pactUrl}").is_empty());
    }

    #[test]
    fn urls_are_escaped_and_bodies_are_not() {
        let mut ctx = Context::default();
        ctx.set("consumerName", "web app/1");
        assert_eq!(
            ctx.render_url("https://ci/build?c=${pactbroker.consumerName}"),
            "https://ci/build?c=web+app%2F1"
        );
        assert_eq!(
            ctx.render_json(&json!({"c": "${pactbroker.consumerName}", "n": 1, "missing": "${pactbroker.buildUrl}"})),
            json!({"c": "web app/1", "n": 1, "missing": ""})
        );
    }
}
