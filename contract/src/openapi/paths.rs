//! Path templates (`/orders/{id}`) and the servers' base paths.

use std::cmp::Ordering;

use regex::Regex;
use serde_json::Value;

/// One key of the document's `paths`, split into segments: a request path is matched
/// segment by segment, so most templates are ruled out by their segment count or first
/// literal segment without a regular expression.
#[derive(Debug)]
pub(crate) struct PathTemplate {
    pub(crate) template: String,
    pub(crate) params: Vec<String>,
    segments: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    /// A segment holding parameters (`{id}` or `{id}.json`), as a regular expression
    /// whose groups are the parameters in order.
    Pattern(Regex),
}

/// A template (`{id}.json`, `orders.{region}.created`) as an anchored regular
/// expression: its literal parts escaped, each `{name}` as `parameter` (a group), the
/// names pushed to `names` in order.
pub(crate) fn template_pattern(template: &str, parameter: &str, names: &mut Vec<String>) -> Regex {
    let mut pattern = String::from("^");
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..open]));
        match rest[open..].find('}') {
            Some(close) => {
                names.push(rest[open + 1..open + close].to_string());
                pattern.push_str(parameter);
                rest = &rest[open + close + 1..];
            }
            None => {
                pattern.push_str(&regex::escape(&rest[open..]));
                rest = "";
            }
        }
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    // Every literal part is escaped, so the pattern compiles unless `parameter` does not.
    Regex::new(&pattern).unwrap_or_else(|_| Regex::new("^$").expect("empty"))
}

impl PathTemplate {
    pub(crate) fn new(template: &str) -> Self {
        let mut params = Vec::new();
        let segments = template
            .split('/')
            .map(|segment| {
                if !segment.contains('{') {
                    return Segment::Literal(segment.to_string());
                }
                let pattern = template_pattern(segment, "(.+?)", &mut params);
                // Every literal part is escaped, so the pattern always compiles.
                Segment::Pattern(pattern)
            })
            .collect();
        Self {
            template: template.to_string(),
            params,
            segments,
        }
    }

    /// The path parameters' values (percent-decoded) when `path` fits.
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut parts = path.split('/');
        let mut raw = Vec::new();
        for segment in &self.segments {
            let part = parts.next()?;
            match segment {
                Segment::Literal(literal) => {
                    if literal != part {
                        return None;
                    }
                }
                Segment::Pattern(regex) => {
                    let captures = regex.captures(part)?;
                    raw.extend(
                        captures
                            .iter()
                            .skip(1)
                            .map(|m| m.map_or("", |m| m.as_str())),
                    );
                }
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(
            self.params
                .iter()
                .zip(raw)
                .map(|(name, raw)| {
                    let value = percent_encoding::percent_decode_str(raw)
                        .decode_utf8_lossy()
                        .into_owned();
                    (name.clone(), value)
                })
                .collect(),
        )
    }

    /// Concrete paths come before templated ones (`/orders/mine` before
    /// `/orders/{id}`), as OpenAPI says; then fewer parameters, then longer literal text.
    pub(crate) fn precedence(a: &Self, b: &Self) -> Ordering {
        a.params
            .len()
            .cmp(&b.params.len())
            .then_with(|| literal_len(b).cmp(&literal_len(a)))
            .then_with(|| a.template.cmp(&b.template))
    }
}

fn literal_len(t: &PathTemplate) -> usize {
    t.template.len() - t.params.iter().map(|p| p.len() + 2).sum::<usize>()
}

/// The path parts of the document's server URLs (server variables at their defaults),
/// longest first and without a trailing slash; a request path may start with any.
pub(crate) fn base_paths(doc: &Value) -> Vec<String> {
    let mut bases: Vec<String> = doc
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|server| {
            let mut url = server.get("url")?.as_str()?.to_string();
            if let Some(Value::Object(variables)) = server.get("variables") {
                for (name, variable) in variables {
                    let default = variable
                        .get("default")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    url = url.replace(&format!("{{{name}}}"), default);
                }
            }
            let path = match url.find("://") {
                Some(scheme) => {
                    let after = &url[scheme + 3..];
                    after
                        .find('/')
                        .map(|slash| after[slash..].to_string())
                        .unwrap_or_default()
                }
                None => url,
            };
            let path = path
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .trim_end_matches('/');
            (!path.is_empty() && path.starts_with('/')).then(|| path.to_string())
        })
        .collect();
    bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
    bases.dedup();
    bases
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn templates_match_segments_and_decode_values() {
        let t = PathTemplate::new("/orders/{id}/items/{item}.json");
        assert_eq!(
            t.matches("/orders/a%20b/items/7.json"),
            Some(vec![
                ("id".into(), "a b".into()),
                ("item".into(), "7".into())
            ])
        );
        assert_eq!(t.matches("/orders/1/2/items/7.json"), None);
        assert_eq!(t.matches("/orders//items/7.json"), None);
    }

    #[test]
    fn concrete_paths_come_first() {
        let mut ts = [
            PathTemplate::new("/orders/{id}"),
            PathTemplate::new("/orders/mine"),
        ];
        ts.sort_by(PathTemplate::precedence);
        assert_eq!(ts[0].template, "/orders/mine");
    }

    #[test]
    fn base_paths_come_from_servers() {
        let doc = json!({"servers": [
            {"url": "http://petstore.swagger.io/api"},
            {"url": "https://{host}/{base}/", "variables": {"host": {"default": "x"}, "base": {"default": "v2"}}},
            {"url": "/relative"},
            {"url": "https://example.com"}
        ]});
        assert_eq!(base_paths(&doc), vec!["/relative", "/api", "/v2"]);
    }
}
