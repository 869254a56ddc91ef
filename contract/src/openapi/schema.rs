//! OpenAPI schemas as JSON Schema 2020-12, one copy of the document per view.
//!
//! A request is checked as the provider will read it: every field the schema requires
//! must be there, read-only fields must not be sent. A response is checked as the
//! consumer reads it: a pact holds only the fields its consumer relies on, so nothing
//! is required, but every field it holds must be one the schema declares (objects are
//! closed with `unevaluatedProperties: false` where they are used, so `allOf`
//! composition still sees the fields of every branch), and write-only fields never
//! come back.
//!
//! OpenAPI 3.0 schemas are an extended subset of JSON Schema draft 4 and are converted
//! faithfully: `nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`, a `$ref`'s
//! siblings ignored, and a `discriminator` that chooses the `oneOf`/`anyOf` branch by
//! the value of its property. OpenAPI 3.1 schemas are already 2020-12 and only get the
//! view's rules. Every local `$ref` becomes absolute (the view's base URI), so each
//! schema can be compiled on its own against a registry that holds the whole document.

use serde_json::{Map, Value, json};

use super::OasVersion;

/// Which side of an exchange a copy of the document checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum View {
    Request,
    Response,
}

impl View {
    /// The base URI the view's copy of the document is registered under.
    pub(crate) fn base(self) -> &'static str {
        match self {
            View::Request => "urn:accord:openapi:request",
            View::Response => "urn:accord:openapi:response",
        }
    }
}

/// Which flavour of JSON Schema a document's schemas are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// OpenAPI 3.0: an extended subset of draft 4 (`nullable`, boolean exclusive bounds).
    Oas30,
    /// OpenAPI 3.1: JSON Schema 2020-12.
    Oas31,
    /// AsyncAPI 2.x and 3.0 schemas: a superset of draft 7 (tuple `items`,
    /// `additionalItems`, `definitions`, a `$ref`'s siblings ignored, `discriminator` a
    /// property name).
    Draft7,
}

impl From<OasVersion> for Dialect {
    fn from(version: OasVersion) -> Self {
        match version {
            OasVersion::V30 => Dialect::Oas30,
            OasVersion::V31 => Dialect::Oas31,
        }
    }
}

/// Converts one schema of `original` in place for `view`; `used` as in
/// [`Converter::schema`].
pub(crate) fn convert_schema(
    original: &Value,
    dialect: Dialect,
    view: View,
    schema: &mut Value,
    used: bool,
) {
    Converter {
        original,
        dialect,
        view,
    }
    .schema(schema, used);
}

/// The whole document with every schema converted for `view`.
pub(crate) fn convert_document(doc: &Value, version: OasVersion, view: View) -> Value {
    let converter = Converter {
        original: doc,
        dialect: version.into(),
        view,
    };
    let mut out = doc.clone();
    if let Some(components) = out.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for schema in schemas.values_mut() {
                converter.schema(schema, false);
            }
        }
        for kind in ["parameters", "headers"] {
            for parameter in values_mut(components.get_mut(kind)) {
                converter.parameter(parameter);
            }
        }
        for body in values_mut(components.get_mut("requestBodies")) {
            converter.content(body);
        }
        for response in values_mut(components.get_mut("responses")) {
            converter.response(response);
        }
    }
    for item in values_mut(out.get_mut("paths")) {
        converter.path_item(item);
    }
    out
}

fn values_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|map| map.values_mut())
}

fn items_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|items| items.iter_mut())
}

/// The HTTP methods an OpenAPI path item can hold, in the order they are listed.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Converter<'a> {
    original: &'a Value,
    dialect: Dialect,
    view: View,
}

impl Converter<'_> {
    fn path_item(&self, item: &mut Value) {
        for parameter in items_mut(item.get_mut("parameters")) {
            self.parameter(parameter);
        }
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            for parameter in items_mut(operation.get_mut("parameters")) {
                self.parameter(parameter);
            }
            if let Some(body) = operation.get_mut("requestBody") {
                self.content(body);
            }
            for response in values_mut(operation.get_mut("responses")) {
                self.response(response);
            }
        }
    }

    fn parameter(&self, parameter: &mut Value) {
        if let Some(schema) = parameter.get_mut("schema") {
            self.schema(schema, true);
        }
        self.content(parameter);
    }

    fn content(&self, holder: &mut Value) {
        for media in values_mut(holder.get_mut("content")) {
            if let Some(schema) = media.get_mut("schema") {
                self.schema(schema, true);
            }
        }
    }

    fn response(&self, response: &mut Value) {
        self.content(response);
        for header in values_mut(response.get_mut("headers")) {
            self.parameter(header);
        }
    }

    /// Converts one schema and everything under it. `used` says whether it sits where a
    /// value is described (a property, an item, a body), rather than as a branch of a
    /// composition or a named definition: only there is an object closed.
    fn schema(&self, schema: &mut Value, used: bool) {
        let Value::Object(map) = schema else {
            return;
        };
        match self.dialect {
            Dialect::Oas30 => convert_30_keywords(map),
            Dialect::Draft7 => convert_draft7_keywords(map),
            Dialect::Oas31 => {}
        }
        if let Some(Value::String(reference)) = map.get_mut("$ref")
            && reference.starts_with('#')
        {
            *reference = format!("{}{reference}", self.view.base());
        }
        self.children(map);
        self.view_rules(map);
        self.discriminator(map);
        if is_free_form_object(map) {
            map.insert("additionalProperties".into(), Value::Bool(true));
        }
        if used && self.view == View::Response {
            close(map);
        }
        if self.dialect == Dialect::Oas30 && map.remove("nullable") == Some(Value::Bool(true)) {
            make_nullable(schema);
        }
    }

    fn children(&self, map: &mut Map<String, Value>) {
        for key in ["properties", "patternProperties"] {
            for child in values_mut(map.get_mut(key)) {
                self.schema(child, true);
            }
        }
        for key in ["$defs", "definitions", "dependentSchemas"] {
            for child in values_mut(map.get_mut(key)) {
                self.schema(child, false);
            }
        }
        for key in [
            "additionalProperties",
            "items",
            "contains",
            "unevaluatedItems",
        ] {
            if let Some(child) = map.get_mut(key) {
                self.schema(child, true);
            }
        }
        for child in items_mut(map.get_mut("prefixItems")) {
            self.schema(child, true);
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for child in items_mut(map.get_mut(key)) {
                self.schema(child, false);
            }
        }
        for key in ["not", "if", "then", "else", "propertyNames"] {
            if let Some(child) = map.get_mut(key) {
                self.schema(child, false);
            }
        }
    }

    /// Read-only fields are never sent in a request, write-only fields never come back
    /// in a response; a response pact requires nothing (see the module's doc).
    fn view_rules(&self, map: &mut Map<String, Value>) {
        let hidden = match self.view {
            View::Request => "readOnly",
            View::Response => "writeOnly",
        };
        let mut hidden_fields = Vec::new();
        if let Some(Value::Object(properties)) = map.get_mut("properties") {
            for (name, property) in properties.iter_mut() {
                if self.flag(property, hidden) {
                    hidden_fields.push(name.clone());
                    *property = Value::Bool(false);
                }
            }
        }
        if self.view == View::Response {
            map.remove("required");
            if let Some(one_of) = map.remove("oneOf") {
                add_any_of(map, one_of);
            }
        } else if let Some(Value::Array(required)) = map.get_mut("required") {
            required.retain(|name| {
                !name
                    .as_str()
                    .is_some_and(|n| hidden_fields.iter().any(|h| h == n))
            });
        }
    }

    /// Whether a property schema carries `flag: true`, directly or through its `$ref`.
    fn flag(&self, property: &Value, flag: &str) -> bool {
        if property.get(flag) == Some(&Value::Bool(true)) {
            return true;
        }
        let Some(reference) = property.get("$ref").and_then(Value::as_str) else {
            return false;
        };
        let local = reference
            .strip_prefix(self.view.base())
            .unwrap_or(reference);
        resolve_local(self.original, local)
            .is_some_and(|target| target.get(flag) == Some(&Value::Bool(true)))
    }

    /// A discriminator picks the branch by its property's value: each mapped value
    /// (explicit, or the schema's name for an unmapped `$ref`) requires its branch, and
    /// no other value is allowed. The branches themselves become an `anyOf`, since
    /// the discriminator, not exclusivity, decides.
    fn discriminator(&self, map: &mut Map<String, Value>) {
        let Some(property) = map
            .get("discriminator")
            .and_then(|d| d.get("propertyName"))
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return;
        };
        if let Some(one_of) = map.remove("oneOf") {
            add_any_of(map, one_of);
        }
        let branches: Vec<String> = map
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|branch| branch.get("$ref").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        if branches.is_empty() {
            return;
        }
        let base = self.view.base();
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(Value::Object(mapping)) =
            map.get("discriminator").and_then(|d| d.get("mapping"))
        {
            for (value, target) in mapping {
                let Some(target) = target.as_str() else {
                    continue;
                };
                let target = if target.starts_with('#') {
                    format!("{base}{target}")
                } else if target.contains('/') || target.contains(':') {
                    target.to_string()
                } else {
                    format!("{base}#/components/schemas/{target}")
                };
                pairs.push((value.clone(), target));
            }
        }
        for branch in &branches {
            if pairs.iter().any(|(_, target)| target == branch) {
                continue;
            }
            if let Some(name) = branch.rsplit('/').next() {
                pairs.push((name.to_string(), branch.clone()));
            }
        }
        let mut rules: Vec<Value> = pairs
            .iter()
            .map(|(value, target)| {
                json!({
                    "if": {"properties": {&property: {"const": value}}, "required": [&property]},
                    "then": {"$ref": target}
                })
            })
            .collect();
        let values: Vec<&String> = pairs.iter().map(|(value, _)| value).collect();
        rules.push(json!({"properties": {&property: {"enum": values}}}));
        if self.view == View::Request {
            rules.push(json!({"required": [&property]}));
        }
        match map.get_mut("allOf") {
            Some(Value::Array(all_of)) => all_of.extend(rules),
            _ => {
                map.insert("allOf".into(), Value::Array(rules));
            }
        }
    }
}

/// Draft 7's departures from 2020-12: a `$ref` replaces the object it sits in, tuple
/// `items` are `prefixItems`, `additionalItems` is what `items` now says, and a
/// `discriminator` is only the name of a property (a hint, not a rule).
fn convert_draft7_keywords(map: &mut Map<String, Value>) {
    if map.contains_key("$ref") {
        map.retain(|key, _| key == "$ref");
        return;
    }
    if let Some(Value::Array(_)) = map.get("items") {
        if let Some(tuple) = map.remove("items") {
            map.insert("prefixItems".into(), tuple);
        }
        if let Some(rest) = map.remove("additionalItems") {
            map.insert("items".into(), rest);
        }
    } else {
        map.remove("additionalItems");
    }
    if map.get("discriminator").is_some_and(Value::is_string) {
        map.remove("discriminator");
    }
}

/// OpenAPI 3.0's departures from JSON Schema, except `nullable`, which wraps the
/// finished schema.
fn convert_30_keywords(map: &mut Map<String, Value>) {
    if map.contains_key("$ref") {
        // A 3.0 `$ref` replaces the object it sits in: its siblings do not apply.
        map.retain(|key, _| key == "$ref");
        return;
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match map.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(limit) = map.remove(bound) {
                    map.insert(flag.into(), limit);
                } else {
                    map.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                map.remove(flag);
            }
            _ => {}
        }
    }
    // `example` is an annotation in 3.0 and `examples` must be an array in 2020-12.
    map.remove("example");
}

fn add_any_of(map: &mut Map<String, Value>, branches: Value) {
    match map.remove("anyOf") {
        Some(existing) => {
            let both = json!([{"anyOf": existing}, {"anyOf": branches}]);
            match map.get_mut("allOf") {
                Some(Value::Array(all_of)) => {
                    all_of.extend(both.as_array().cloned().unwrap_or_default())
                }
                _ => {
                    map.insert("allOf".into(), both);
                }
            }
        }
        None => {
            map.insert("anyOf".into(), branches);
        }
    }
}

/// An object schema that declares no fields at all allows any: said explicitly, so
/// closing it where it is used (see [`close`]) keeps it open.
fn is_free_form_object(map: &Map<String, Value>) -> bool {
    let is_object = match map.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "object"),
        _ => false,
    };
    is_object
        && ![
            "properties",
            "patternProperties",
            "additionalProperties",
            "unevaluatedProperties",
            "allOf",
            "anyOf",
            "oneOf",
            "$ref",
            "if",
        ]
        .iter()
        .any(|key| map.contains_key(*key))
}

/// A response object may only hold the fields its schema (with every branch it
/// composes) declares, unless the schema says otherwise.
fn close(map: &mut Map<String, Value>) {
    if map.contains_key("additionalProperties") || map.contains_key("unevaluatedProperties") {
        return;
    }
    if [
        "properties",
        "patternProperties",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
    ]
    .iter()
    .any(|key| map.contains_key(*key))
    {
        map.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
}

fn make_nullable(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(options)) = map.get_mut("enum")
        && !options.contains(&Value::Null)
    {
        options.push(Value::Null);
    }
    match map.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = kind.clone();
            map.insert("type".into(), json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) => {
            if !kinds.contains(&json!("null")) {
                kinds.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(map);
            map.insert(
                "anyOf".into(),
                json!([Value::Object(inner), {"type": "null"}]),
            );
        }
    }
}

/// Follows `$ref`s from `value` (in `doc`) to what they point at.
pub(crate) fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => match resolve_local(doc, reference) {
                Some(target) => value = target,
                None => return value,
            },
            None => return value,
        }
    }
    value
}

/// Where `value` (found at `pointer` in `doc`) really is: the JSON pointer of the
/// target of its `$ref`s, or `pointer` when it holds none.
pub(crate) fn resolved_pointer<'a>(
    doc: &'a Value,
    mut value: &'a Value,
    mut pointer: String,
) -> String {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(fragment) = reference.strip_prefix('#') else {
            break;
        };
        let Ok(decoded) = percent_encoding::percent_decode_str(fragment).decode_utf8() else {
            break;
        };
        let Some(target) = doc.pointer(&decoded) else {
            break;
        };
        pointer = decoded.into_owned();
        value = target;
    }
    pointer
}

/// The value a local reference (`#/components/schemas/Pet`) points at.
pub(crate) fn resolve_local<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    doc.pointer(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(schema: Value, version: OasVersion, view: View) -> Value {
        let doc = json!({"components": {"schemas": {"S": schema}}});
        convert_document(&doc, version, view)["components"]["schemas"]["S"].clone()
    }

    #[test]
    fn nullable_joins_null_to_the_type_or_wraps_the_schema() {
        let out = convert(
            json!({"type": "string", "nullable": true}),
            OasVersion::V30,
            View::Request,
        );
        assert_eq!(out, json!({"type": ["string", "null"]}));
        let out = convert(
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true}),
            OasVersion::V30,
            View::Request,
        );
        assert_eq!(out["anyOf"][1], json!({"type": "null"}));
        assert_eq!(
            out["anyOf"][0]["allOf"][0]["$ref"],
            "urn:accord:openapi:request#/components/schemas/T"
        );
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers() {
        let out = convert(
            json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}),
            OasVersion::V30,
            View::Request,
        );
        assert_eq!(
            out,
            json!({"type": "integer", "exclusiveMinimum": 1, "maximum": 9})
        );
    }

    #[test]
    fn responses_require_nothing_and_close_used_objects() {
        let out = convert(
            json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "owner": {"$ref": "#/components/schemas/O"}}}),
            OasVersion::V31,
            View::Response,
        );
        assert!(out.get("required").is_none());
        // A named definition is not closed (it may be an `allOf` branch); its uses are.
        assert!(out.get("unevaluatedProperties").is_none());
        assert_eq!(
            out["properties"]["owner"]["unevaluatedProperties"],
            json!(false)
        );
    }

    #[test]
    fn read_only_fields_are_not_sent_and_write_only_fields_never_come_back() {
        let schema = json!({
            "type": "object",
            "required": ["id", "password"],
            "properties": {"id": {"type": "integer", "readOnly": true}, "password": {"type": "string", "writeOnly": true}}
        });
        let request = convert(schema.clone(), OasVersion::V30, View::Request);
        assert_eq!(request["required"], json!(["password"]));
        assert_eq!(request["properties"]["id"], json!(false));
        let response = convert(schema, OasVersion::V30, View::Response);
        assert_eq!(response["properties"]["password"], json!(false));
        assert_eq!(response["properties"]["id"]["type"], "integer");
    }

    #[test]
    fn a_discriminator_picks_the_branch_by_value() {
        let out = convert(
            json!({
                "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "kind", "mapping": {"dog": "#/components/schemas/Dog"}}
            }),
            OasVersion::V30,
            View::Request,
        );
        assert!(out.get("oneOf").is_none());
        let rules = out["allOf"].as_array().unwrap();
        assert_eq!(rules[0]["if"]["properties"]["kind"]["const"], "dog");
        assert_eq!(rules[1]["if"]["properties"]["kind"]["const"], "Cat");
        assert_eq!(
            rules[2]["properties"]["kind"]["enum"],
            json!(["dog", "Cat"])
        );
        assert_eq!(rules[3], json!({"required": ["kind"]}));
    }
}
