//! What changed between two versions of one consumer's pact, from the provider's side:
//! which changes ask more of the provider (an interaction added, a response field newly
//! read, a matcher tightened, a different request) and which ask less (an interaction
//! dropped, a field no longer read, a matcher loosened).
//!
//! Interactions are paired by description and provider states, as pact verification
//! names them. Response fields are the leaves of the example bodies (`*` for every item
//! of an array); matchers are compared by how much they allow: an exact value (no
//! matcher, or `equality`) allows least, a pattern, date or `include` more, a type or
//! number matcher most.

use std::collections::{BTreeMap, BTreeSet};

use pact_models::matchingrules::{MatchingRule, RuleList};
use pact_models::v4::synch_http::SynchronousHttp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Contract;
use crate::openapi::escape;
use crate::openapi::json_of;

/// What kind of change a [`PactChange`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PactChangeKind {
    InteractionAdded,
    InteractionRemoved,
    RequestChanged,
    StatusChanged,
    FieldNewlyRequired,
    FieldNoLongerRead,
    MatcherTightened,
    MatcherLoosened,
}

impl PactChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PactChangeKind::InteractionAdded => "interaction added",
            PactChangeKind::InteractionRemoved => "interaction removed",
            PactChangeKind::RequestChanged => "request changed",
            PactChangeKind::StatusChanged => "status changed",
            PactChangeKind::FieldNewlyRequired => "field newly required",
            PactChangeKind::FieldNoLongerRead => "field no longer read",
            PactChangeKind::MatcherTightened => "matcher tightened",
            PactChangeKind::MatcherLoosened => "matcher loosened",
        }
    }

    /// Whether the provider has to do more (or something else) than before.
    pub fn asks_more(self) -> bool {
        !matches!(
            self,
            PactChangeKind::InteractionRemoved
                | PactChangeKind::FieldNoLongerRead
                | PactChangeKind::MatcherLoosened
        )
    }
}

/// One change between the two pacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PactChange {
    pub kind: PactChangeKind,
    pub interaction: String,
    /// Where in the interaction (`/response/body/createdAt`); empty for a whole one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pointer: String,
    pub detail: String,
}

/// Every change, those that ask more of the provider first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PactDiff {
    pub changes: Vec<PactChange>,
}

impl PactDiff {
    /// Whether the new pact asks more of the provider than the old one.
    pub fn asks_more(&self) -> bool {
        self.changes.iter().any(|c| c.kind.asks_more())
    }
}

fn key(http: &SynchronousHttp) -> String {
    let states: Vec<&str> = http
        .provider_states
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    if states.is_empty() {
        http.description.clone()
    } else {
        format!("{} (given {})", http.description, states.join(", "))
    }
}

fn interactions(contract: &Contract) -> BTreeMap<String, SynchronousHttp> {
    contract
        .pact()
        .interactions()
        .iter()
        .filter_map(|i| i.as_v4_http())
        .map(|http| (key(&http), http))
        .collect()
}

/// Compares two versions of a pact.
pub fn diff_pacts(old: &Contract, new: &Contract) -> PactDiff {
    let (old, new) = (interactions(old), interactions(new));
    let mut changes = Vec::new();
    let change = |kind, interaction: &str, pointer: &str, detail: String| PactChange {
        kind,
        interaction: interaction.to_string(),
        pointer: pointer.to_string(),
        detail,
    };
    for (name, http) in &new {
        if !old.contains_key(name) {
            changes.push(change(
                PactChangeKind::InteractionAdded,
                name,
                "",
                format!(
                    "{} {} → {}",
                    http.request.method, http.request.path, http.response.status
                ),
            ));
        }
    }
    for (name, http) in &old {
        let Some(next) = new.get(name) else {
            changes.push(change(
                PactChangeKind::InteractionRemoved,
                name,
                "",
                format!(
                    "{} {} is no longer called",
                    http.request.method, http.request.path
                ),
            ));
            continue;
        };
        let request = |h: &SynchronousHttp| {
            (
                h.request.method.to_uppercase(),
                h.request.path.clone(),
                h.request
                    .query
                    .clone()
                    .map(|q| q.into_iter().collect::<BTreeMap<_, _>>()),
                json_of(&h.request.body),
            )
        };
        if request(http) != request(next) {
            changes.push(change(
                PactChangeKind::RequestChanged,
                name,
                "/request",
                format!(
                    "{} {} → {} {} (or its query or body)",
                    http.request.method, http.request.path, next.request.method, next.request.path
                ),
            ));
        }
        if http.response.status != next.response.status {
            changes.push(change(
                PactChangeKind::StatusChanged,
                name,
                "/response/status",
                format!("{} → {}", http.response.status, next.response.status),
            ));
        }
        let (a, b) = (
            leaves(json_of(&http.response.body).as_ref()),
            leaves(json_of(&next.response.body).as_ref()),
        );
        for field in b.difference(&a) {
            changes.push(change(
                PactChangeKind::FieldNewlyRequired,
                name,
                &format!("/response/body{field}"),
                "the consumer now reads it: the provider must send it".into(),
            ));
        }
        for field in a.difference(&b) {
            changes.push(change(
                PactChangeKind::FieldNoLongerRead,
                name,
                &format!("/response/body{field}"),
                "the consumer no longer reads it".into(),
            ));
        }
        let (ra, rb) = (body_rules(http), body_rules(next));
        for field in a.intersection(&b) {
            let (before, after) = (rule_at(&ra, field), rule_at(&rb, field));
            let (sa, sb) = (strictness(before.as_ref()), strictness(after.as_ref()));
            let kind = match sb.cmp(&sa) {
                std::cmp::Ordering::Greater => PactChangeKind::MatcherTightened,
                std::cmp::Ordering::Less => PactChangeKind::MatcherLoosened,
                std::cmp::Ordering::Equal => continue,
            };
            changes.push(change(
                kind,
                name,
                &format!("/response/body{field}"),
                format!(
                    "{} → {}",
                    describe(before.as_ref()),
                    describe(after.as_ref())
                ),
            ));
        }
    }
    changes.sort_by(|a, b| {
        b.kind
            .asks_more()
            .cmp(&a.kind.asks_more())
            .then_with(|| a.interaction.cmp(&b.interaction))
            .then_with(|| a.pointer.cmp(&b.pointer))
    });
    PactDiff { changes }
}

/// The leaf pointers of a body: `/a/b`, `/items/*/sku`.
fn leaves(value: Option<&Value>) -> BTreeSet<String> {
    fn walk(value: &Value, at: String, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    walk(v, format!("{at}/{}", escape(k)), out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    walk(item, format!("{at}/*"), out);
                }
            }
            _ => {
                out.insert(at);
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Some(value) = value {
        walk(value, String::new(), &mut out);
    }
    out
}

/// The response body's matching rules by JSON pointer (`$.items[*].sku` → `/items/*/sku`).
fn body_rules(http: &SynchronousHttp) -> BTreeMap<String, RuleList> {
    http.response
        .matching_rules
        .rules_for_category("body")
        .map(|category| {
            category
                .rules
                .into_iter()
                .map(|(path, rules)| (pointer_of(&path.to_string()), rules))
                .collect()
        })
        .unwrap_or_default()
}

/// `$.items[*].sku` or `$['a b'][0]` as a pointer with `*` for array items.
fn pointer_of(path: &str) -> String {
    let mut out = String::new();
    let rest = path.strip_prefix('$').unwrap_or(path);
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                out.push('/');
                out.push_str(&escape(&name));
            }
            '[' => {
                let mut inside = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inside.push(n);
                }
                let inside = inside.trim_matches(|c| c == '\'' || c == '"');
                out.push('/');
                if inside.chars().all(|c| c.is_ascii_digit()) || inside == "*" {
                    out.push('*');
                } else {
                    out.push_str(&escape(inside));
                }
            }
            _ => {}
        }
    }
    out
}

/// The rule that applies at a field: its own, else the nearest enclosing one (a `type`
/// matcher on an object applies to its fields).
fn rule_at(rules: &BTreeMap<String, RuleList>, field: &str) -> Option<MatchingRule> {
    let mut at = field;
    loop {
        if let Some(rule) = rules.get(at).and_then(|list| list.rules.first()) {
            return Some(rule.clone());
        }
        if at.is_empty() {
            return None;
        }
        at = &at[..at.rfind('/').unwrap_or(0)];
    }
}

/// How little a rule allows: 3 an exact value, 2 a pattern or format, 1 a type.
fn strictness(rule: Option<&MatchingRule>) -> u8 {
    match rule {
        None | Some(MatchingRule::Equality) => 3,
        Some(
            MatchingRule::Regex(_)
            | MatchingRule::Timestamp(_)
            | MatchingRule::Time(_)
            | MatchingRule::Date(_)
            | MatchingRule::Include(_)
            | MatchingRule::Semver
            | MatchingRule::ContentType(_),
        ) => 2,
        Some(_) => 1,
    }
}

fn describe(rule: Option<&MatchingRule>) -> String {
    match rule {
        None => "the exact value".into(),
        Some(MatchingRule::Regex(pattern)) => format!("regex /{pattern}/"),
        Some(MatchingRule::Timestamp(format)) => format!("datetime {format:?}"),
        Some(rule) => format!("{} matcher", rule.name()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pact(interactions: Value) -> Contract {
        Contract::from_json(
            json!({
                "consumer": {"name": "dashboard"}, "provider": {"name": "orders"},
                "interactions": interactions,
                "metadata": {"pactSpecification": {"version": "3.0.0"}}
            }),
            "test",
        )
        .unwrap()
    }

    fn order(body: Value, rules: Value) -> Value {
        json!({
            "description": "an order",
            "providerStates": [{"name": "an order exists"}],
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body,
                         "matchingRules": {"body": rules}}
        })
    }

    #[test]
    fn changes_are_classified_from_the_providers_side() {
        let old = pact(json!([
            order(
                json!({"id": 1, "status": "shipped", "note": "x", "items": [{"sku": "A"}]}),
                json!({"$.id": {"matchers": [{"match": "integer"}]}, "$.status": {"matchers": [{"match": "regex", "regex": "^(shipped|pending)$"}]}, "$.items": {"matchers": [{"match": "type", "min": 1}]}})
            ),
            {"description": "every order", "request": {"method": "GET", "path": "/orders"}, "response": {"status": 200}}
        ]));
        let new = pact(json!([
            order(
                json!({"id": 1, "status": "shipped", "createdAt": "2024-05-01T10:00:00Z", "items": [{"sku": "A"}]}),
                json!({"$.status": {"matchers": [{"match": "type"}]}, "$.items": {"matchers": [{"match": "type", "min": 1}]}})
            ),
            {"description": "a new order", "request": {"method": "POST", "path": "/orders"}, "response": {"status": 201}}
        ]));
        let diff = diff_pacts(&old, &new);
        let found: Vec<(PactChangeKind, &str)> = diff
            .changes
            .iter()
            .map(|c| (c.kind, c.pointer.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (PactChangeKind::InteractionAdded, ""),
                (
                    PactChangeKind::FieldNewlyRequired,
                    "/response/body/createdAt"
                ),
                (PactChangeKind::MatcherTightened, "/response/body/id"),
                (PactChangeKind::FieldNoLongerRead, "/response/body/note"),
                (PactChangeKind::MatcherLoosened, "/response/body/status"),
                (PactChangeKind::InteractionRemoved, ""),
            ],
            "{:#?}",
            diff.changes
        );
        assert!(diff.asks_more());
        assert!(!diff_pacts(&old, &old).asks_more());
        assert!(diff_pacts(&old, &old).changes.is_empty());
    }

    #[test]
    fn matching_rule_paths_become_pointers() {
        assert_eq!(pointer_of("$.items[*].sku"), "/items/*/sku");
        assert_eq!(pointer_of("$['a b'][0]"), "/a b/*");
        assert_eq!(pointer_of("$"), "");
    }
}
