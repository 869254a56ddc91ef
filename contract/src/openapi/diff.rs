//! Consumer-aware breaking-change reports: two versions of a provider's document
//! compared with each other, each change set against the pacts that rely on it.
//!
//! [`diff_specs`] walks every operation of the old document and finds what a consumer
//! could notice in the new one: an operation or status gone, a response field removed,
//! retyped, reformatted or made optional, an enum value removed, a request field or
//! parameter newly required. Then, for every interaction of every pact that the old
//! document routes to that operation, it asks whether the pact relies on what changed:
//! whether its response example holds the field, its request sends the parameter (or
//! fails to send a newly required one), its status is the one removed. A change nobody
//! relies on is safe; the others name the consumers, their versions and where they run.

use std::collections::{BTreeMap, BTreeSet};

use pact_models::v4::synch_http::SynchronousHttp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paths::PathTemplate;
use super::schema::METHODS;
use super::{ProviderSpec, escape};
use crate::Contract;

/// What kind of change a [`Change`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    OperationRemoved,
    StatusRemoved,
    FieldRemoved,
    TypeChanged,
    FormatChanged,
    EnumValueRemoved,
    FieldMadeOptional,
    NewRequiredField,
    NewRequiredParameter,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::OperationRemoved => "operation removed",
            ChangeKind::StatusRemoved => "status removed",
            ChangeKind::FieldRemoved => "field removed",
            ChangeKind::TypeChanged => "type changed",
            ChangeKind::FormatChanged => "format changed",
            ChangeKind::EnumValueRemoved => "enum value removed",
            ChangeKind::FieldMadeOptional => "field made optional",
            ChangeKind::NewRequiredField => "new required request field",
            ChangeKind::NewRequiredParameter => "new required parameter",
        }
    }
}

/// One change between the two documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub kind: ChangeKind,
    /// `GET /orders/{id}`.
    pub operation: String,
    /// The response status key it concerns (`200`, `4XX`, `default`), for response changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Where in an interaction it shows: `/response/body/createdAt`,
    /// `/request/query/limit`; `*` stands for every item of an array.
    pub pointer: String,
    /// What changed, in words: `string (date-time) → integer`.
    pub detail: String,
    /// The pacts that rely on what changed.
    pub usages: Vec<Usage>,
}

/// A consumer interaction that relies on a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub consumer: String,
    pub version: String,
    /// Where that version runs or why it was chosen (`deployed to production`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    pub interaction: String,
}

/// A pact to weigh the changes against, with who it belongs to.
#[derive(Debug)]
pub struct ConsumerPact {
    pub consumer: String,
    pub version: String,
    pub context: String,
    pub contract: Contract,
}

/// The report: every change, those that break a consumer first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecDiff {
    pub changes: Vec<Change>,
}

impl SpecDiff {
    /// The report of these changes: those that break somebody first, then by operation
    /// and place.
    pub(crate) fn sorted(mut changes: Vec<Change>) -> Self {
        changes.sort_by(|a, b| {
            a.usages
                .is_empty()
                .cmp(&b.usages.is_empty())
                .then_with(|| a.operation.cmp(&b.operation))
                .then_with(|| a.pointer.cmp(&b.pointer))
        });
        Self { changes }
    }

    /// Whether any change breaks a consumer.
    pub fn breaking(&self) -> bool {
        self.changes.iter().any(|c| !c.usages.is_empty())
    }

    /// The changes that break somebody.
    pub fn breaking_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.usages.is_empty())
    }

    /// The changes nobody relies on.
    pub fn safe_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.usages.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

/// A document whose `$ref`s can be followed: what comparing two schemas needs of it.
pub(crate) trait Resolve {
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value;
}

impl Resolve for ProviderSpec {
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        self.deref(value)
    }
}

/// Compares two documents and weighs every change against the pacts.
pub fn diff_specs(old: &ProviderSpec, new: &ProviderSpec, pacts: &[ConsumerPact]) -> SpecDiff {
    let mut changes = Vec::new();
    for template in &old.paths {
        let new_template = new
            .paths
            .iter()
            .find(|t| shape(&t.template) == shape(&template.template));
        let old_item = item(old, template);
        for method in METHODS {
            if old_item.get(method).is_none() {
                continue;
            }
            let operation = format!("{} {}", method.to_uppercase(), template.template);
            let old_pointer = format!("/paths/{}/{method}", escape(&template.template));
            let new_pointer = new_template
                .filter(|t| item(new, t).get(method).is_some())
                .map(|t| format!("/paths/{}/{method}", escape(&t.template)));
            let mut found = Vec::new();
            match new_pointer {
                None => found.push(change(
                    ChangeKind::OperationRemoved,
                    "/request/path",
                    "the new document has no such operation".into(),
                )),
                Some(new_pointer) => {
                    compare_operation(old, &old_pointer, new, &new_pointer, &mut found);
                }
            }
            for mut c in found {
                c.operation = operation.clone();
                changes.push(c);
            }
        }
    }
    for c in &mut changes {
        c.usages = usages(old, c, pacts);
    }
    SpecDiff::sorted(changes)
}

pub(crate) fn change(kind: ChangeKind, pointer: &str, detail: String) -> Change {
    Change {
        kind,
        operation: String::new(),
        status: None,
        pointer: pointer.to_string(),
        detail,
        usages: Vec::new(),
    }
}

/// A template with its parameter names left out: `/orders/{}`.
pub(crate) fn shape(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in template.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

fn item<'a>(spec: &'a ProviderSpec, template: &PathTemplate) -> &'a Value {
    let pointer = format!("/paths/{}", escape(&template.template));
    spec.deref(spec.doc.pointer(&pointer).unwrap_or(&Value::Null))
}

fn compare_operation(
    old: &ProviderSpec,
    old_op: &str,
    new: &ProviderSpec,
    new_op: &str,
    out: &mut Vec<Change>,
) {
    // Parameters: newly required ones, and the type of those both have.
    let old_params = params(old, old_op);
    let new_params = params(new, new_op);
    for ((location, name), (required, schema)) in &new_params {
        if location == "path" || location == "cookie" {
            continue;
        }
        let pointer = param_pointer(location, name);
        match old_params.get(&(location.clone(), name.clone())) {
            Some((was_required, old_schema)) => {
                if *required && !was_required {
                    out.push(change(
                        ChangeKind::NewRequiredParameter,
                        &pointer,
                        format!("the {location} parameter {name:?} is now required"),
                    ));
                }
                if let (Some(a), Some(b)) = (old_schema, schema) {
                    compare_schema(old, a, new, b, Side::Request, &pointer, 0, out);
                }
            }
            None if *required => out.push(change(
                ChangeKind::NewRequiredParameter,
                &pointer,
                format!("a new required {location} parameter {name:?}"),
            )),
            None => {}
        }
    }
    // The request body.
    let old_body = json_schema(old, &format!("{old_op}/requestBody"));
    let new_body = json_schema(new, &format!("{new_op}/requestBody"));
    if let (Some(a), Some(b)) = (old_body, new_body) {
        compare_schema(old, a, new, b, Side::Request, "/request/body", 0, out);
    }
    // Responses.
    let Some(old_responses) = old
        .doc
        .pointer(&format!("{old_op}/responses"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let new_responses = new
        .doc
        .pointer(&format!("{new_op}/responses"))
        .and_then(Value::as_object);
    for status in old_responses.keys() {
        let new_status = new_responses.and_then(|all| {
            all.keys()
                .find(|k| *k == status)
                .or_else(|| {
                    let range = format!("{}XX", &status[..1.min(status.len())]);
                    all.keys().find(|k| k.eq_ignore_ascii_case(&range))
                })
                .or_else(|| all.keys().find(|k| *k == "default"))
        });
        let Some(new_status) = new_status else {
            let mut c = change(
                ChangeKind::StatusRemoved,
                "/response/status",
                format!("the response {status} is no longer declared"),
            );
            c.status = Some(status.clone());
            out.push(c);
            continue;
        };
        let a = json_schema(old, &format!("{old_op}/responses/{}", escape(status)));
        let b = json_schema(new, &format!("{new_op}/responses/{}", escape(new_status)));
        if let (Some(a), Some(b)) = (a, b) {
            let mut found = Vec::new();
            compare_schema(
                old,
                a,
                new,
                b,
                Side::Response,
                "/response/body",
                0,
                &mut found,
            );
            for mut c in found {
                c.status = Some(status.clone());
                out.push(c);
            }
        }
    }
}

fn param_pointer(location: &str, name: &str) -> String {
    match location {
        "query" => format!("/request/query/{}", escape(name)),
        _ => format!("/request/headers/{}", escape(&name.to_ascii_lowercase())),
    }
}

type Params<'a> = BTreeMap<(String, String), (bool, Option<&'a Value>)>;

fn params<'a>(spec: &'a ProviderSpec, op_pointer: &str) -> Params<'a> {
    let item_pointer = op_pointer
        .rsplit_once('/')
        .map(|(item, _)| item)
        .unwrap_or("");
    let mut out: Params<'a> = BTreeMap::new();
    for owner in [op_pointer, item_pointer] {
        let Some(list) = spec
            .doc
            .pointer(&format!("{owner}/parameters"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for raw in list {
            let def = spec.deref(raw);
            let (Some(name), Some(location)) = (
                def.get("name").and_then(Value::as_str),
                def.get("in").and_then(Value::as_str),
            ) else {
                continue;
            };
            let key = (location.to_string(), name.to_string());
            if out.contains_key(&key) {
                continue;
            }
            let required = location == "path" || def.get("required") == Some(&Value::Bool(true));
            out.insert(key, (required, def.get("schema").map(|s| spec.deref(s))));
        }
    }
    out
}

/// The JSON schema of a request body or response at `pointer` (resolved).
fn json_schema<'a>(spec: &'a ProviderSpec, pointer: &str) -> Option<&'a Value> {
    let holder = spec.deref(spec.doc.pointer(pointer)?);
    let content = holder.get("content")?.as_object()?;
    let (_, media) = content.iter().find(|(media, _)| {
        let essence = media
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence.ends_with("/json") || essence.ends_with("+json")
    })?;
    media.get("schema").map(|s| spec.deref(s))
}

/// A schema's type in words, and the parts compared.
#[derive(Debug, PartialEq, Eq)]
struct TypeOf {
    types: BTreeSet<String>,
    format: Option<String>,
}

impl TypeOf {
    fn of(schema: &Value) -> Self {
        let mut types: BTreeSet<String> = match schema.get("type") {
            Some(Value::String(t)) => [t.clone()].into(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ if schema.get("properties").is_some() => ["object".to_string()].into(),
            _ if schema.get("items").is_some() => ["array".to_string()].into(),
            _ => BTreeSet::new(),
        };
        types.remove("null");
        Self {
            types,
            format: schema
                .get("format")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    fn words(&self) -> String {
        let types = self.types.iter().cloned().collect::<Vec<_>>().join(" or ");
        match &self.format {
            Some(format) => format!("{types} ({format})"),
            None => types,
        }
    }
}

/// The properties of an object schema, its `allOf` branches' included, resolved.
fn properties<'a>(
    spec: &'a dyn Resolve,
    schema: &'a Value,
    depth: usize,
) -> BTreeMap<String, &'a Value> {
    let mut out = BTreeMap::new();
    if depth > 16 {
        return out;
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (name, property) in props {
            out.insert(name.clone(), spec.resolve(property));
        }
    }
    for branch in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(properties(spec, spec.resolve(branch), depth + 1));
    }
    out
}

fn required(spec: &dyn Resolve, schema: &Value, depth: usize) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if depth <= 16 {
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(required(spec, spec.resolve(branch), depth + 1));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)] // one recursive walk over two documents at once
pub(crate) fn compare_schema(
    old: &dyn Resolve,
    a: &Value,
    new: &dyn Resolve,
    b: &Value,
    side: Side,
    pointer: &str,
    depth: usize,
    out: &mut Vec<Change>,
) {
    if depth > 16 {
        return;
    }
    let (ta, tb) = (TypeOf::of(a), TypeOf::of(b));
    if !ta.types.is_empty() && !tb.types.is_empty() && ta.types != tb.types {
        out.push(change(
            ChangeKind::TypeChanged,
            pointer,
            format!("{} → {}", ta.words(), tb.words()),
        ));
        return;
    }
    if ta.format.is_some() && ta.format != tb.format {
        out.push(change(
            ChangeKind::FormatChanged,
            pointer,
            format!("{} → {}", ta.words(), tb.words()),
        ));
    }
    if let (Some(Value::Array(old_values)), new_values) = (a.get("enum"), b.get("enum")) {
        let removed: Vec<&Value> = match new_values {
            Some(Value::Array(new_values)) => old_values
                .iter()
                .filter(|v| !new_values.contains(v))
                .collect(),
            _ => Vec::new(),
        };
        if !removed.is_empty() {
            let list = removed
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            out.push(change(
                ChangeKind::EnumValueRemoved,
                pointer,
                format!("no longer allowed: {list}"),
            ));
        }
    }
    let (pa, pb) = (properties(old, a, 0), properties(new, b, 0));
    let (ra, rb) = (required(old, a, 0), required(new, b, 0));
    let added: Vec<&String> = pb.keys().filter(|k| !pa.contains_key(*k)).collect();
    for (name, old_property) in &pa {
        let field = format!("{pointer}/{}", escape(name));
        match pb.get(name) {
            None => {
                let renamed = match added.as_slice() {
                    [only] if TypeOf::of(old_property) == TypeOf::of(pb[*only]) => {
                        format!(" (renamed to {only:?}?)")
                    }
                    _ => String::new(),
                };
                out.push(change(
                    ChangeKind::FieldRemoved,
                    &field,
                    format!("{name:?} is gone{renamed}"),
                ));
            }
            Some(new_property) => {
                if side == Side::Response && ra.contains(name) && !rb.contains(name) {
                    out.push(change(
                        ChangeKind::FieldMadeOptional,
                        &field,
                        format!("{name:?} is no longer required: the provider may leave it out"),
                    ));
                }
                compare_schema(
                    old,
                    old_property,
                    new,
                    new_property,
                    side,
                    &field,
                    depth + 1,
                    out,
                );
            }
        }
    }
    if side == Side::Request {
        for name in rb.difference(&ra) {
            out.push(change(
                ChangeKind::NewRequiredField,
                &format!("{pointer}/{}", escape(name)),
                format!("{name:?} is now required in the request"),
            ));
        }
    }
    if let (Some(ia), Some(ib)) = (a.get("items"), b.get("items")) {
        compare_schema(
            old,
            old.resolve(ia),
            new,
            new.resolve(ib),
            side,
            &format!("{pointer}/*"),
            depth + 1,
            out,
        );
    }
}

/// The interactions (of pacts the old document routes to the change's operation) that
/// rely on what changed.
fn usages(old: &ProviderSpec, change: &Change, pacts: &[ConsumerPact]) -> Vec<Usage> {
    let mut out = Vec::new();
    for pact in pacts {
        for interaction in pact.contract.pact().interactions() {
            let Some(http) = interaction.as_v4_http() else {
                continue;
            };
            let Ok(operation) = old.find_operation(&http.request.method, &http.request.path) else {
                continue;
            };
            if operation.name() != change.operation
                || !relies(old, change, &operation.pointer, &http)
            {
                continue;
            }
            out.push(Usage {
                consumer: pact.consumer.clone(),
                version: pact.version.clone(),
                context: pact.context.clone(),
                interaction: http.description.clone(),
            });
        }
    }
    out
}

fn relies(old: &ProviderSpec, change: &Change, op_pointer: &str, http: &SynchronousHttp) -> bool {
    if let Some(status) = &change.status
        && response_key(old, op_pointer, http.response.status).as_deref() != Some(status.as_str())
    {
        return false;
    }
    match change.kind {
        ChangeKind::OperationRemoved | ChangeKind::StatusRemoved => true,
        ChangeKind::NewRequiredParameter => !sends(http, &change.pointer),
        _ if change.pointer.starts_with("/request/query/")
            || change.pointer.starts_with("/request/headers/") =>
        {
            sends(http, &change.pointer)
        }
        ChangeKind::NewRequiredField => {
            let relative = change.pointer.trim_start_matches("/request/body");
            let (parent, field) = relative.rsplit_once('/').unwrap_or(("", relative));
            match json_of(&http.request.body) {
                None => true,
                Some(value) => values_at(&value, parent).iter().any(|v| {
                    v.as_object()
                        .is_some_and(|o| !o.contains_key(&unescape(field)))
                }),
            }
        }
        _ => {
            let (value, relative) = match change.pointer.strip_prefix("/request/body") {
                Some(relative) => (json_of(&http.request.body), relative),
                None => (
                    json_of(&http.response.body),
                    change.pointer.trim_start_matches("/response/body"),
                ),
            };
            value.is_some_and(|value| holds(&value, relative, change))
        }
    }
}

/// Whether a body an interaction holds (`value`) relies on a change at `relative` (a
/// pointer into the body): it holds the field, or one of the enum values removed.
pub(crate) fn holds(value: &Value, relative: &str, change: &Change) -> bool {
    let found = values_at(value, relative);
    match change.kind {
        ChangeKind::EnumValueRemoved => {
            found.iter().any(|v| change.detail.contains(&v.to_string()))
        }
        _ => !found.is_empty(),
    }
}

pub(crate) fn json_of(body: &pact_models::bodies::OptionalBody) -> Option<Value> {
    body.value()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// The response key (`200`, `2XX`, `default`) the old document gives a status.
fn response_key(spec: &ProviderSpec, op_pointer: &str, status: u16) -> Option<String> {
    let all = spec
        .doc
        .pointer(&format!("{op_pointer}/responses"))?
        .as_object()?;
    let status = status.to_string();
    let range = format!("{}XX", &status[..1]);
    all.keys()
        .find(|k| **k == status)
        .or_else(|| all.keys().find(|k| k.eq_ignore_ascii_case(&range)))
        .or_else(|| all.keys().find(|k| *k == "default"))
        .cloned()
}

fn sends(http: &SynchronousHttp, pointer: &str) -> bool {
    if let Some(name) = pointer.strip_prefix("/request/query/") {
        let name = unescape(name);
        return http
            .request
            .query
            .as_ref()
            .is_some_and(|q| q.contains_key(&name));
    }
    if let Some(name) = pointer.strip_prefix("/request/headers/") {
        let name = unescape(name);
        return http
            .request
            .headers
            .as_ref()
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(&name)));
    }
    false
}

pub(crate) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Every value at a pointer whose `*` segments stand for every item of an array.
pub(crate) fn values_at<'a>(value: &'a Value, pointer: &str) -> Vec<&'a Value> {
    let mut current = vec![value];
    for segment in pointer.split('/').skip(1) {
        let mut next = Vec::new();
        for v in current {
            match (segment, v) {
                ("*", Value::Array(items)) => next.extend(items.iter()),
                (_, Value::Object(map)) => next.extend(map.get(&unescape(segment))),
                _ => {}
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::schema::resolve_local;
    use super::*;

    #[test]
    fn values_at_follows_every_item() {
        let v = json!({"items": [{"a": 1}, {"b": 2}, {"a": 3}]});
        assert_eq!(values_at(&v, "/items/*/a"), vec![&json!(1), &json!(3)]);
        assert_eq!(values_at(&v, ""), vec![&v]);
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        assert_eq!(shape("/orders/{id}"), shape("/orders/{orderId}"));
    }

    #[test]
    fn resolve_local_reads_percent_encoded_pointers() {
        let doc = json!({"paths": {"/a/{b}": {"x": 1}}});
        assert_eq!(
            resolve_local(&doc, "#/paths/~1a~1%7Bb%7D/x"),
            Some(&json!(1))
        );
    }
}
