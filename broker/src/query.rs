//! Query strings with Rack's nested-query rules, as Pact clients write them.
//!
//! The matrix and the GET form of "pacts for verification" take arrays of objects
//! in the query string: `q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar`.
//! Rack (the Ruby broker's web layer) reads such pairs left to right and adds each
//! value to the last object of the array unless that object already has the key,
//! in which case a new object starts. Clients rely on that order, so it is
//! reproduced exactly here. Brackets may arrive percent-encoded.

use std::collections::BTreeMap;

/// One object of an array parameter (`q[][k]=v`), keys in the order they came.
pub type Group = Vec<(String, String)>;

/// A query string split into plain values, lists and lists of objects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NestedQuery {
    /// `key=value`, every occurrence in order.
    scalars: Vec<(String, String)>,
    /// `key[]=value`, by key.
    lists: BTreeMap<String, Vec<String>>,
    /// `key[][field]=value`, by key.
    groups: BTreeMap<String, Vec<Group>>,
}

impl NestedQuery {
    /// Parses a raw query string (without the leading `?`).
    pub fn parse(raw: &str) -> NestedQuery {
        let mut query = NestedQuery::default();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            if let Some((name, field)) = split_group_key(&key) {
                let groups = query.groups.entry(name.to_string()).or_default();
                let start_new = groups
                    .last()
                    .is_none_or(|group| group.iter().any(|(k, _)| k == field));
                if start_new {
                    groups.push(Vec::new());
                }
                if let Some(group) = groups.last_mut() {
                    group.push((field.to_string(), value));
                }
            } else if let Some(name) = key.strip_suffix("[]") {
                query.lists.entry(name.to_string()).or_default().push(value);
            } else {
                query.scalars.push((key, value));
            }
        }
        query
    }

    /// The last value of a plain key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.scalars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The values of `key[]`.
    pub fn list(&self, key: &str) -> &[String] {
        self.lists.get(key).map(Vec::as_slice).unwrap_or_default()
    }

    /// The objects of `key[][field]`.
    pub fn groups(&self, key: &str) -> &[Group] {
        self.groups.get(key).map(Vec::as_slice).unwrap_or_default()
    }
}

/// The value of `field` in a group (the first, as a group holds each key once).
pub fn field<'a>(group: &'a Group, field: &str) -> Option<&'a str> {
    group
        .iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.as_str())
}

/// `name[][field]` -> `(name, field)`.
fn split_group_key(key: &str) -> Option<(&str, &str)> {
    let open = key.find("[][")?;
    let name = &key[..open];
    let field = key[open + 3..].strip_suffix(']')?;
    if name.is_empty() || field.is_empty() || field.contains(['[', ']']) {
        return None;
    }
    Some((name, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_starts_a_new_group_as_rack_does() {
        let q = NestedQuery::parse(
            "q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.2.3&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv",
        );
        let groups = q.groups("q");
        assert_eq!(groups.len(), 2);
        assert_eq!(field(&groups[0], "pacticipant"), Some("Foo"));
        assert_eq!(field(&groups[0], "version"), Some("1.2.3"));
        assert_eq!(field(&groups[1], "pacticipant"), Some("Bar"));
        assert_eq!(field(&groups[1], "tag"), Some("prod"));
        assert_eq!(q.get("latestby"), Some("cvpv"));
    }

    #[test]
    fn order_decides_the_grouping() {
        // A version before its pacticipant belongs to the same group until a key repeats.
        let q = NestedQuery::parse("q[][version]=1&q[][pacticipant]=Foo&q[][version]=2");
        let groups = q.groups("q");
        assert_eq!(groups.len(), 2);
        assert_eq!(field(&groups[0], "pacticipant"), Some("Foo"));
        assert_eq!(field(&groups[1], "version"), Some("2"));
        assert_eq!(field(&groups[1], "pacticipant"), None);
    }

    #[test]
    fn lists_and_plain_values() {
        let q = NestedQuery::parse("success[]=true&success%5B%5D=false&name=Foo+Thing&name=x");
        assert_eq!(q.list("success"), ["true", "false"]);
        assert_eq!(q.get("name"), Some("x"));
        assert_eq!(q.list("missing"), [] as [String; 0]);
    }
}
