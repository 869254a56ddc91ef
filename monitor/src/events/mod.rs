//! Event drift: sampled live events (Kafka, RabbitMQ, CloudEvents over HTTP, captured files)
//! checked against the message contracts their consumers published.
//!
//! 1. [`EventContracts::from_contracts`] derives, from every message interaction of the
//!    pacts, what an event must look like: its CloudEvents `type` (from the pact's structured
//!    contents or binary-mode metadata), its channel (`kafka_topic`, `topic`, `routing_key`,
//!    …), a JSON Schema of its payload (the same derivation as HTTP bodies:
//!    [`crate::schema::derive_body_schema`]), and the metadata it must carry.
//! 2. A source ([`sources`]) samples events read-only and hands each to an [`EventRun`].
//! 3. [`EventRun::observe`] matches the event to the contracts that describe it (by type,
//!    else by channel), checks payload and metadata, and keeps counts and findings only:
//!    **payload values are never kept**. A finding says what the contract expects and which
//!    kind of value came (`integer`, `string of 10 characters`), never the value.
//! 4. [`EventRun::report`] gives a [`DriftReport`]: the same findings, table, JSON, alerts,
//!    broker records and can-i-deploy gate as HTTP drift.

pub mod service;
pub mod sources;

use std::collections::{BTreeMap, HashMap};

use accord_contract::Contract;
use chrono::Utc;
use pact_models::content_types::ContentType;
use pact_models::matchingrules::{Category, MatchingRule};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::{DriftReport, Finding, FindingClass, PactRef, ProbeError, Skipped};
use crate::schema::{JsonBodySchema, derive_body_schema};

/// One sampled event, as a source hands it over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampledEvent {
    /// The source it came from, as [`sources::Source::describe`] names it.
    pub source: String,
    /// Where it was read, to find it again (`kafka topic orders partition 0 offset 12`).
    pub location: String,
    /// The topic, routing key or path it came through, if the source has one.
    pub channel: Option<String>,
    /// Its headers (Kafka record headers, AMQP headers, HTTP headers).
    pub headers: BTreeMap<String, String>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// A CloudEvents attribute name without its binding prefix: `ce_type`, `ce-type` and
/// `cloudEvents:type` are all `type`.
fn cloud_event_attribute(key: &str) -> Option<&str> {
    ["ce_", "ce-", "cloudEvents:", "cloudEvents_"]
        .iter()
        .find_map(|prefix| {
            let head = key.get(..prefix.len())?;
            (key.len() > prefix.len() && head.eq_ignore_ascii_case(prefix))
                .then(|| &key[prefix.len()..])
        })
}

/// How one metadata entry of a contract is checked.
#[derive(Debug, Clone)]
enum MetadataRule {
    /// Must equal the pact's example.
    Equal(String),
    /// Must match the regular expression.
    Regex(String, regex::Regex),
    /// Must be present.
    Present,
}

#[derive(Debug, Clone)]
struct MetadataExpectation {
    /// The key as the pact writes it.
    key: String,
    /// The CloudEvents attribute it stands for, if it is one.
    attribute: Option<String>,
    rule: MetadataRule,
}

/// What one message interaction says an event must look like.
#[derive(Debug, Clone)]
pub struct EventExpectation {
    /// The consumers whose pacts contain this expectation.
    pub consumers: Vec<String>,
    /// The message description.
    pub description: String,
    /// The CloudEvents `type`, when the message is a CloudEvent.
    pub event_type: Option<String>,
    /// The channel the pact names (topic, routing key), if any.
    pub channel: Option<String>,
    body: Option<JsonBodySchema>,
    metadata: Vec<MetadataExpectation>,
}

impl EventExpectation {
    /// What events of this expectation are called in reports: the type, else the channel,
    /// else the description.
    pub fn name(&self) -> String {
        self.event_type
            .clone()
            .or_else(|| self.channel.clone())
            .unwrap_or_else(|| self.description.clone())
    }
}

/// Every message contract of a provider, ready to check events against.
#[derive(Debug, Clone, Default)]
pub struct EventContracts {
    expectations: Vec<EventExpectation>,
    pacts: Vec<PactRef>,
    skipped: Vec<Skipped>,
}

impl EventContracts {
    /// Derives the expectations of every message interaction of `contracts`.
    pub fn from_contracts(contracts: &[Contract]) -> Self {
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut compiled: HashMap<String, JsonBodySchema> = HashMap::new();
        let mut out = EventContracts::default();
        for contract in contracts {
            out.pacts.push(PactRef {
                consumer: contract.consumer().to_string(),
                provider: contract.provider().to_string(),
                origin: contract.origin().to_string(),
                content_hash: contract.content_hash(),
            });
            for interaction in contract.pact().interactions() {
                let Some(message) = interaction.as_v4_async_message() else {
                    continue;
                };
                match derive(&message, &mut compiled) {
                    Ok((mut expectation, key)) => {
                        let key = format!("{}\u{1f}{key}", message.description);
                        match by_key.get(&key) {
                            Some(&index) => {
                                let consumers = &mut out.expectations[index].consumers;
                                if !consumers.iter().any(|c| c == contract.consumer()) {
                                    consumers.push(contract.consumer().to_string());
                                }
                            }
                            None => {
                                expectation.consumers = vec![contract.consumer().to_string()];
                                by_key.insert(key, out.expectations.len());
                                out.expectations.push(expectation);
                            }
                        }
                    }
                    Err(reason) => out.skipped.push(Skipped {
                        consumer: contract.consumer().to_string(),
                        interaction: message.description.clone(),
                        reason,
                    }),
                }
            }
        }
        out
    }

    /// The derived expectations.
    pub fn expectations(&self) -> &[EventExpectation] {
        &self.expectations
    }

    /// Whether any pact has a message interaction.
    pub fn is_empty(&self) -> bool {
        self.expectations.is_empty()
    }
}

fn derive(
    message: &pact_models::v4::async_message::AsynchronousMessage,
    compiled: &mut HashMap<String, JsonBodySchema>,
) -> Result<(EventExpectation, String), String> {
    let contents = &message.contents;
    let content_type = contents.message_content_type();
    let example: Option<Value> = contents
        .contents
        .value()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|_| content_type.as_ref().is_none_or(ContentType::is_json));
    let structured = example.as_ref().is_some_and(|example| {
        example.get("specversion").is_some() && example.get("type").is_some()
    });
    let mut event_type = example
        .as_ref()
        .filter(|_| structured)
        .and_then(|example| example.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let rules = contents.matching_rules.rules_for_category(Category::BODY);
    let body = match &example {
        Some(example) => {
            let schema = derive_body_schema(example, rules.as_ref());
            let key = schema.to_string();
            Some(match compiled.get(&key) {
                Some(known) => known.clone(),
                None => {
                    let fresh = JsonBodySchema::compile(schema).map_err(|err| {
                        format!("the contents cannot be turned into a schema: {err}")
                    })?;
                    compiled.insert(key, fresh.clone());
                    fresh
                }
            })
        }
        None => None,
    };
    let metadata_rules = contents
        .matching_rules
        .rules_for_category(Category::METADATA);
    let mut channel = None;
    let mut metadata = Vec::new();
    let mut keys: Vec<&String> = contents.metadata.keys().collect();
    keys.sort();
    for key in keys {
        let value = &contents.metadata[key];
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if accord_contract::message::is_channel_key(key) {
            channel.get_or_insert(text);
            continue;
        }
        if accord_contract::message::is_transport_key(key) {
            continue;
        }
        let attribute = cloud_event_attribute(key).map(str::to_ascii_lowercase);
        if attribute.as_deref() == Some("type") && event_type.is_none() {
            event_type = Some(text.clone());
        }
        let path = pact_models::path_exp::DocPath::root().join(key.as_str());
        let rule = metadata_rules
            .as_ref()
            .and_then(|category| category.rules.get(&path))
            .and_then(|list| list.rules.first().cloned());
        let rule = match rule {
            Some(MatchingRule::Regex(pattern)) => match regex::Regex::new(&pattern) {
                Ok(compiled) => MetadataRule::Regex(pattern, compiled),
                Err(_) => MetadataRule::Present,
            },
            Some(MatchingRule::Equality) | None => MetadataRule::Equal(text),
            Some(_) => MetadataRule::Present,
        };
        metadata.push(MetadataExpectation {
            key: key.clone(),
            attribute,
            rule,
        });
    }
    let key = format!(
        "{:?}\u{1f}{:?}\u{1f}{}\u{1f}{:?}",
        event_type,
        channel,
        body.as_ref()
            .map(|b| b.schema().to_string())
            .unwrap_or_default(),
        metadata
            .iter()
            .map(|m| (&m.key, format!("{:?}", m.rule)))
            .collect::<Vec<_>>()
    );
    Ok((
        EventExpectation {
            consumers: Vec::new(),
            description: message.description.clone(),
            event_type,
            channel,
            body,
            metadata,
        },
        key,
    ))
}

/// A kind of value without the value: what a finding may say about production data.
pub fn describe_kind(value: Option<&Value>) -> String {
    match value {
        None => "absent".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Bool(_)) => "a boolean".to_string(),
        Some(Value::Number(number)) if number.is_i64() || number.is_u64() => {
            "an integer".to_string()
        }
        Some(Value::Number(_)) => "a decimal number".to_string(),
        Some(Value::String(text)) => format!("a string of {} characters", text.chars().count()),
        Some(Value::Array(items)) => format!("an array of {} items", items.len()),
        Some(Value::Object(_)) => "an object".to_string(),
    }
}

/// An event type (or channel) no contract names, and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uncontracted {
    /// The CloudEvents type, else the channel, else `(unknown)`.
    pub event_type: String,
    pub count: u64,
}

/// Counts per event type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeCounts {
    pub sampled: u64,
    pub broken: u64,
}

#[derive(Debug)]
struct Aggregate {
    finding: Finding,
    location: String,
    name: String,
    /// The first offending value, kept only with [`EventRun::show_values`].
    value: Option<String>,
}

/// A value kept for local debugging (`--show-values`): never in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalValue {
    pub interaction: String,
    pub pointer: String,
    pub location: String,
    pub value: String,
}

/// The state of one sampling run: counts and findings, never payloads.
#[derive(Debug)]
pub struct EventRun {
    contracts: EventContracts,
    provider: String,
    environment: Option<String>,
    sources: Vec<String>,
    started_at: chrono::DateTime<Utc>,
    sampled: u64,
    per_type: BTreeMap<String, TypeCounts>,
    per_source: BTreeMap<String, u64>,
    lag: BTreeMap<String, i64>,
    matched: Vec<bool>,
    uncontracted: BTreeMap<String, u64>,
    findings: Vec<Aggregate>,
    finding_index: HashMap<String, usize>,
    source_errors: Vec<ProbeError>,
    show_values: bool,
    mappings: Vec<(String, String)>,
}

/// Findings kept at most per run; counts go on beyond it.
const MAX_FINDINGS: usize = 1000;
/// Distinct uncontracted types kept at most per run.
const MAX_UNCONTRACTED: usize = 1000;

impl EventRun {
    /// A run over `contracts` for `provider`, reading from `sources` (their descriptions).
    pub fn new(
        contracts: EventContracts,
        provider: impl Into<String>,
        environment: Option<String>,
        sources: Vec<String>,
    ) -> Self {
        let matched = vec![false; contracts.expectations.len()];
        EventRun {
            contracts,
            provider: provider.into(),
            environment,
            sources,
            started_at: Utc::now(),
            sampled: 0,
            per_type: BTreeMap::new(),
            per_source: BTreeMap::new(),
            lag: BTreeMap::new(),
            matched,
            uncontracted: BTreeMap::new(),
            findings: Vec::new(),
            finding_index: HashMap::new(),
            source_errors: Vec::new(),
            show_values: false,
            mappings: Vec::new(),
        }
    }

    /// Explicit mappings, for events neither their type nor their channel match to a
    /// contract (a dead-letter queue, a topic the pact does not name): an event whose
    /// channel or type is a mapping's key is checked against the message with the mapped
    /// description.
    pub fn with_mappings(mut self, mappings: Vec<(String, String)>) -> Self {
        self.mappings = mappings;
        self
    }

    /// Keeps the first offending value of each finding for [`Self::local_values`] (printed
    /// locally with `--show-values`; reports never carry them).
    pub fn show_values(mut self) -> Self {
        self.show_values = true;
        self
    }

    /// The first offending value of each finding, when [`Self::show_values`] is on.
    pub fn local_values(&self) -> Vec<LocalValue> {
        self.findings
            .iter()
            .filter_map(|aggregate| {
                Some(LocalValue {
                    interaction: aggregate.finding.interaction.clone(),
                    pointer: aggregate.finding.pointer.clone(),
                    location: aggregate.location.clone(),
                    value: aggregate.value.clone()?,
                })
            })
            .collect()
    }

    /// How many events were observed.
    pub fn sampled(&self) -> u64 {
        self.sampled
    }

    /// Counts per event type (sampled, broken).
    pub fn per_type(&self) -> &BTreeMap<String, TypeCounts> {
        &self.per_type
    }

    /// Records how far the sampler is behind on a Kafka partition (records it holds beyond
    /// the sampler's position); the latest value per partition is kept.
    pub fn record_lag(&mut self, partition: String, lag: i64) {
        self.lag.insert(partition, lag);
    }

    /// Records that a source could not be read (not drift).
    pub fn source_failed(&mut self, source: &str, message: String) {
        let mut consumers: Vec<String> = self
            .contracts
            .pacts
            .iter()
            .map(|pact| pact.consumer.clone())
            .collect();
        consumers.sort();
        consumers.dedup();
        self.source_errors.push(ProbeError {
            consumers,
            interaction: "(event source)".to_string(),
            request: source.to_string(),
            kind: crate::report::ProbeErrorKind::Connect,
            message,
        });
    }

    /// Checks one event against the contracts that describe it.
    pub fn observe(&mut self, event: &SampledEvent) {
        self.sampled += 1;
        if !event.source.is_empty() {
            match self.per_source.get_mut(&event.source) {
                Some(count) => *count += 1,
                None => {
                    self.per_source.insert(event.source.clone(), 1);
                }
            }
        }
        let headers: Vec<(String, &String)> = event
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let header_attribute = |name: &str| {
            event.headers.iter().find_map(|(key, value)| {
                cloud_event_attribute(key)
                    .filter(|attribute| attribute.eq_ignore_ascii_case(name))
                    .map(|_| value.clone())
            })
        };
        let parsed: Result<Value, serde_json::Error> = serde_json::from_slice(&event.payload);
        let structured_type = parsed
            .as_ref()
            .ok()
            .filter(|json| json.get("specversion").is_some())
            .and_then(|json| json.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let event_type = header_attribute("type").or(structured_type);
        let candidates: Vec<usize> = match &event_type {
            Some(kind) => self
                .contracts
                .expectations
                .iter()
                .enumerate()
                .filter(|(_, e)| e.event_type.as_deref() == Some(kind.as_str()))
                .map(|(i, _)| i)
                .collect(),
            None => self
                .contracts
                .expectations
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.event_type.is_none() && e.channel.is_some() && e.channel == event.channel
                })
                .map(|(i, _)| i)
                .collect(),
        };
        let candidates = if candidates.is_empty() {
            self.mapped(event_type.as_deref(), event.channel.as_deref())
        } else {
            candidates
        };
        let name = event_type
            .clone()
            .or_else(|| event.channel.clone())
            .unwrap_or_else(|| "(unknown)".to_string());
        if candidates.is_empty() {
            if self.uncontracted.len() < MAX_UNCONTRACTED || self.uncontracted.contains_key(&name) {
                *self.uncontracted.entry(name).or_default() += 1;
            }
            return;
        }
        let counts = self.per_type.entry(name.clone()).or_default();
        counts.sampled += 1;
        let mut broken = false;
        for index in candidates {
            self.matched[index] = true;
            let expectation = &self.contracts.expectations[index];
            let show = self.show_values;
            let render = |value: Option<&Value>| -> Option<String> {
                show.then(|| {
                    let text = value
                        .map(Value::to_string)
                        .unwrap_or_else(|| "absent".into());
                    text.chars().take(200).collect()
                })
            };
            let mut drifts: Vec<(String, FindingClass, String, String, Option<String>)> =
                Vec::new();
            if let Some(schema) = &expectation.body {
                match &parsed {
                    Ok(json) => {
                        for drift in schema.check(json) {
                            let value = json.pointer(&drift.pointer);
                            let actual = describe_kind(value);
                            let shown = render(value);
                            drifts.push((
                                drift.pointer,
                                drift.class,
                                drift.expected,
                                actual,
                                shown,
                            ));
                        }
                    }
                    Err(err) => drifts.push((
                        String::new(),
                        FindingClass::Undecodable,
                        "a JSON payload".to_string(),
                        format!(
                            "{} bytes that are not JSON ({})",
                            event.payload.len(),
                            err.classify_kind()
                        ),
                        show.then(|| {
                            String::from_utf8_lossy(&event.payload)
                                .chars()
                                .take(200)
                                .collect()
                        }),
                    )),
                }
            }
            for expected in &expectation.metadata {
                let found = match &expected.attribute {
                    Some(attribute) => header_attribute(attribute).or_else(|| {
                        // A structured event carries its attributes in the envelope.
                        parsed
                            .as_ref()
                            .ok()
                            .and_then(|json| json.get(attribute.as_str()))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    }),
                    None => {
                        let wanted = expected.key.to_ascii_lowercase();
                        headers
                            .iter()
                            .find(|(key, _)| *key == wanted)
                            .map(|(_, value)| (*value).clone())
                    }
                };
                let pointer = format!("/metadata/{}", expected.key);
                match (found, &expected.rule) {
                    (None, rule) => drifts.push((
                        pointer,
                        FindingClass::MetadataMissing,
                        describe_rule(rule),
                        "absent".to_string(),
                        show.then(|| "absent".to_string()),
                    )),
                    (Some(value), MetadataRule::Equal(want)) if &value != want => drifts.push((
                        pointer,
                        FindingClass::MetadataChanged,
                        describe_rule(&expected.rule),
                        format!("another value ({} characters)", value.chars().count()),
                        show.then(|| value.chars().take(200).collect()),
                    )),
                    (Some(value), MetadataRule::Regex(_, regex)) if !regex.is_match(&value) => {
                        drifts.push((
                            pointer,
                            FindingClass::MetadataChanged,
                            describe_rule(&expected.rule),
                            format!(
                                "a value not matching it ({} characters)",
                                value.chars().count()
                            ),
                            show.then(|| value.chars().take(200).collect()),
                        ))
                    }
                    _ => {}
                }
            }
            if drifts.is_empty() {
                continue;
            }
            broken = true;
            let consumers = expectation.consumers.clone();
            let description = expectation.description.clone();
            for (pointer, class, expected, actual, value) in drifts {
                let finding = Finding {
                    consumers: consumers.clone(),
                    interaction: description.clone(),
                    request: format!("event {name}"),
                    pointer,
                    class,
                    expected,
                    actual,
                    occurrences: 1,
                    hint: None,
                };
                let fingerprint = finding.fingerprint();
                match self.finding_index.get(&fingerprint) {
                    Some(&at) => self.findings[at].finding.occurrences += 1,
                    None if self.findings.len() < MAX_FINDINGS => {
                        self.finding_index.insert(fingerprint, self.findings.len());
                        self.findings.push(Aggregate {
                            finding,
                            location: event.location.clone(),
                            name: name.clone(),
                            value,
                        });
                    }
                    None => {}
                }
            }
        }
        if broken && let Some(counts) = self.per_type.get_mut(&name) {
            counts.broken += 1;
        }
    }

    /// The expectations an explicit mapping names for this type or channel.
    fn mapped(&self, event_type: Option<&str>, channel: Option<&str>) -> Vec<usize> {
        let Some((_, description)) = self
            .mappings
            .iter()
            .find(|(key, _)| Some(key.as_str()) == channel || Some(key.as_str()) == event_type)
        else {
            return Vec::new();
        };
        self.contracts
            .expectations
            .iter()
            .enumerate()
            .filter(|(_, e)| &e.description == description)
            .map(|(i, _)| i)
            .collect()
    }

    /// The run so far as a drift report (findings with how many sampled events broke them
    /// and where one is; uncontracted types; sources that could not be read).
    pub fn report(&self) -> DriftReport {
        let findings = self
            .findings
            .iter()
            .map(|aggregate| {
                let mut finding = aggregate.finding.clone();
                let sampled = self
                    .per_type
                    .get(&aggregate.name)
                    .map(|c| c.sampled)
                    .unwrap_or_default();
                finding.hint = Some(format!(
                    "{} of {} sampled {} event(s) break this; one is at {}",
                    finding.occurrences, sampled, aggregate.name, aggregate.location
                ));
                finding
            })
            .collect();
        let skipped = self
            .contracts
            .skipped
            .iter()
            .cloned()
            .chain(
                self.contracts
                    .expectations
                    .iter()
                    .zip(&self.matched)
                    .filter(|(_, matched)| !**matched)
                    .flat_map(|(expectation, _)| {
                        expectation.consumers.iter().map(|consumer| Skipped {
                            consumer: consumer.clone(),
                            interaction: expectation.description.clone(),
                            reason: format!("no {} event was sampled", expectation.name()),
                        })
                    }),
            )
            .collect();
        DriftReport {
            provider: self.provider.clone(),
            environment: self.environment.clone(),
            base_url: self.sources.join(", "),
            started_at: self.started_at,
            finished_at: Utc::now(),
            pacts: self.contracts.pacts.clone(),
            probes: usize::try_from(self.sampled).unwrap_or(usize::MAX),
            interactions_checked: self.matched.iter().filter(|m| **m).count(),
            findings,
            probe_errors: self.source_errors.clone(),
            skipped,
            events: Some(crate::report::EventSummary {
                per_type: self.per_type.clone(),
                per_source: self.per_source.clone(),
                lag: self.lag.clone(),
                uncontracted: self
                    .uncontracted
                    .iter()
                    .map(|(event_type, count)| Uncontracted {
                        event_type: event_type.clone(),
                        count: *count,
                    })
                    .collect(),
            }),
        }
    }
}

fn describe_rule(rule: &MetadataRule) -> String {
    match rule {
        MetadataRule::Equal(value) => format!("{value:?}"),
        MetadataRule::Regex(pattern, _) => format!("a value matching /{pattern}/"),
        MetadataRule::Present => "present".to_string(),
    }
}

trait ClassifyKind {
    fn classify_kind(&self) -> &'static str;
}

impl ClassifyKind for serde_json::Error {
    fn classify_kind(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

#[cfg(test)]
mod tests;
