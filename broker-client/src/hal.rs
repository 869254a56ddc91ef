//! HAL documents and links: how the broker tells clients where things are.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::error::BrokerError;

/// Characters left as they are in an expanded template value: RFC 3986 "unreserved".
/// Everything else is percent-encoded, so a `/` or a space inside a name stays one
/// path segment (`/` becomes `%2F`, space `%20`), as the official clients do.
const TEMPLATE_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A HAL link object: `{"href": ..., "name"?, "title"?, "templated"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub templated: bool,
}

impl Link {
    /// The href with each `{name}` placeholder replaced by its percent-encoded value.
    /// Placeholders without a value are left as they are.
    pub fn expand(&self, params: &[(&str, &str)]) -> String {
        expand_template(&self.href, params)
    }
}

/// Replaces `{name}` placeholders in a URL template with percent-encoded values.
pub fn expand_template(template: &str, params: &[(&str, &str)]) -> String {
    let mut expanded = template.to_string();
    for (name, value) in params {
        let placeholder = format!("{{{name}}}");
        if expanded.contains(&placeholder) {
            let encoded = utf8_percent_encode(value, TEMPLATE_VALUE).to_string();
            expanded = expanded.replace(&placeholder, &encoded);
        }
    }
    expanded
}

/// A JSON document fetched from the broker, with the URL it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct HalDocument {
    url: Url,
    body: Value,
}

impl HalDocument {
    /// Wraps a body fetched from `url`.
    pub fn new(url: Url, body: Value) -> Self {
        Self { url, body }
    }

    /// Where the document was fetched from.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The JSON body.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// Takes the JSON body.
    pub fn into_body(self) -> Value {
        self.body
    }

    /// The first link with this relation (relations may hold one link or an array).
    pub fn link(&self, relation: &str) -> Option<Link> {
        self.links(relation).into_iter().next()
    }

    /// Every link with this relation.
    pub fn links(&self, relation: &str) -> Vec<Link> {
        links_in(&self.body, relation)
    }

    /// The link with this relation, or an error naming the relation and the resource.
    pub fn require_link(&self, relation: &str) -> Result<Link, BrokerError> {
        self.link(relation)
            .ok_or_else(|| BrokerError::MissingRelation {
                relation: relation.to_string(),
                url: self.url.to_string(),
            })
    }

    /// The items of `_embedded.<name>` (a single object counts as one item).
    pub fn embedded(&self, name: &str) -> Vec<Value> {
        match self.body.pointer(&format!("/_embedded/{name}")) {
            Some(Value::Array(items)) => items.clone(),
            Some(item @ Value::Object(_)) => vec![item.clone()],
            _ => Vec::new(),
        }
    }
}

/// The links with a relation in any JSON document with `_links`.
pub fn links_in(document: &Value, relation: &str) -> Vec<Link> {
    let Some(value) = document.get("_links").and_then(|links| links.get(relation)) else {
        return Vec::new();
    };
    let parse = |item: &Value| match item {
        Value::String(href) => Some(Link {
            href: href.clone(),
            name: None,
            title: None,
            templated: false,
        }),
        other => serde_json::from_value::<Link>(other.clone()).ok(),
    };
    match value {
        Value::Array(items) => items.iter().filter_map(parse).collect(),
        single => parse(single).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expands_templates_with_encoded_values() {
        let link = Link {
            href: "http://b/pacticipants/{pacticipant}/versions/{version}".into(),
            name: None,
            title: None,
            templated: true,
        };
        assert_eq!(
            link.expand(&[("pacticipant", "Foo Bar/baz"), ("version", "1.0+build")]),
            "http://b/pacticipants/Foo%20Bar%2Fbaz/versions/1.0%2Bbuild"
        );
    }

    #[test]
    fn reads_single_and_array_links() {
        let doc = HalDocument::new(
            Url::parse("http://b/").unwrap(),
            json!({"_links": {
                "self": {"href": "http://b/"},
                "pb:record-deployment": [
                    {"href": "http://b/d/1", "name": "test"},
                    {"href": "http://b/d/2", "name": "prod"}
                ]
            }, "_embedded": {"environments": [{"name": "test"}]}}),
        );
        assert_eq!(doc.link("self").unwrap().href, "http://b/");
        assert_eq!(doc.links("pb:record-deployment").len(), 2);
        assert_eq!(
            doc.links("pb:record-deployment")[1].name.as_deref(),
            Some("prod")
        );
        assert!(doc.link("missing").is_none());
        assert!(
            doc.require_link("missing")
                .unwrap_err()
                .to_string()
                .contains("`missing`")
        );
        assert_eq!(doc.embedded("environments").len(), 1);
    }
}
