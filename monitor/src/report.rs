//! The drift report: what one check found, in a shape that can be printed as a table,
//! written as JSON, and posted as-is to the broker.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kinds of drift the monitor recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// A field the consumer relies on is absent.
    FieldMissing,
    /// A value has another JSON type than the contract expects.
    TypeChanged,
    /// A date, time or timestamp no longer has the expected format (for example an
    /// ISO 8601 string that became a Unix timestamp), or a number lost its decimals.
    FormatChanged,
    /// A string no longer matches the contract's regular expression, included text or
    /// version pattern.
    PatternMismatch,
    /// An array the contract expects to hold items is empty.
    ArrayEmpty,
    /// An array has fewer or more items than the contract allows (but is not empty).
    ArrayLength,
    /// No item of an array matches a variant the contract says it must contain.
    ItemMissing,
    /// A value the contract asks to be equal to its example differs, or is empty where
    /// the contract asks for a non-empty value.
    ValueChanged,
    /// The response status code is not the expected one.
    StatusCodeChanged,
    /// The response media type is not the expected one.
    ContentTypeChanged,
    /// An event lacks a metadata entry (header, CloudEvents attribute) its contract names.
    MetadataMissing,
    /// An event's metadata entry has another value than its contract expects.
    MetadataChanged,
    /// An event's payload cannot be decoded as its contract's content type (not JSON where
    /// JSON is expected).
    Undecodable,
}

impl FindingClass {
    /// Every class, in report order.
    pub const ALL: [FindingClass; 13] = [
        FindingClass::FieldMissing,
        FindingClass::TypeChanged,
        FindingClass::FormatChanged,
        FindingClass::PatternMismatch,
        FindingClass::ArrayEmpty,
        FindingClass::ArrayLength,
        FindingClass::ItemMissing,
        FindingClass::ValueChanged,
        FindingClass::StatusCodeChanged,
        FindingClass::ContentTypeChanged,
        FindingClass::MetadataMissing,
        FindingClass::MetadataChanged,
        FindingClass::Undecodable,
    ];

    /// The snake_case name used in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingClass::FieldMissing => "field_missing",
            FindingClass::TypeChanged => "type_changed",
            FindingClass::FormatChanged => "format_changed",
            FindingClass::PatternMismatch => "pattern_mismatch",
            FindingClass::ArrayEmpty => "array_empty",
            FindingClass::ArrayLength => "array_length",
            FindingClass::ItemMissing => "item_missing",
            FindingClass::ValueChanged => "value_changed",
            FindingClass::StatusCodeChanged => "status_code_changed",
            FindingClass::ContentTypeChanged => "content_type_changed",
            FindingClass::MetadataMissing => "metadata_missing",
            FindingClass::MetadataChanged => "metadata_changed",
            FindingClass::Undecodable => "undecodable",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            FindingClass::FieldMissing => "field missing",
            FindingClass::TypeChanged => "type changed",
            FindingClass::FormatChanged => "format changed",
            FindingClass::PatternMismatch => "pattern mismatch",
            FindingClass::ArrayEmpty => "array empty",
            FindingClass::ArrayLength => "array length",
            FindingClass::ItemMissing => "item missing",
            FindingClass::ValueChanged => "value changed",
            FindingClass::StatusCodeChanged => "status code changed",
            FindingClass::ContentTypeChanged => "content type changed",
            FindingClass::MetadataMissing => "metadata missing",
            FindingClass::MetadataChanged => "metadata changed",
            FindingClass::Undecodable => "undecodable payload",
        }
    }
}

impl std::fmt::Display for FindingClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One place where the provider's answer differs from what consumers rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The consumers whose pacts contain this interaction and expectation.
    pub consumers: Vec<String>,
    /// The interaction's description, as written in the pact.
    pub interaction: String,
    /// The request that was sent, as `METHOD /path?query`.
    pub request: String,
    /// A JSON pointer into the response seen as `{"status", "headers", "body"}`:
    /// `/status`, `/headers/content-type`, `/body/items/0/created`. When the same drift
    /// occurs in several items of an array this is the first one.
    pub pointer: String,
    /// What kind of drift this is.
    pub class: FindingClass,
    /// What the contract expects there, in words (`string in date-time format
    /// "yyyy-MM-dd'T'HH:mm:ssX"`, `integer`, `status 200`).
    pub expected: String,
    /// What the provider answered there (a short rendering of the value, or `absent`).
    pub actual: String,
    /// How many places in the response show this same drift (array items share one finding).
    pub occurrences: usize,
    /// Advice for the operator, when the cause may be the probe rather than the provider
    /// (for example: the provider state is not mapped to production data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    /// A stable identity for alerting: the same drift seen in two runs has the same
    /// fingerprint, so it is alerted once.
    pub fn fingerprint(&self) -> String {
        accord_contract::drift::fingerprint_text(
            &self.consumers,
            &self.interaction,
            &self.pointer,
            self.class.as_str(),
        )
    }
}

/// Why a probe got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeErrorKind {
    /// The provider did not answer within the per-request timeout.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// The connection was reset or closed before a full answer arrived.
    Connection,
    /// The provider answered 502, 503 or 504: it is unavailable, which says nothing about
    /// the contract.
    Unavailable,
    /// The host's circuit breaker is open after repeated failures; the request was not sent.
    CircuitOpen,
    /// The request could not be built (for example a mapped path that is not a valid URL).
    InvalidRequest,
}

impl ProbeErrorKind {
    /// The snake_case name used in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeErrorKind::Timeout => "timeout",
            ProbeErrorKind::Connect => "connect",
            ProbeErrorKind::Connection => "connection",
            ProbeErrorKind::Unavailable => "unavailable",
            ProbeErrorKind::CircuitOpen => "circuit_open",
            ProbeErrorKind::InvalidRequest => "invalid_request",
        }
    }
}

/// A probe that got no usable answer; not drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeError {
    pub consumers: Vec<String>,
    pub interaction: String,
    pub request: String,
    pub kind: ProbeErrorKind,
    pub message: String,
}

/// An interaction that was not probed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub consumer: String,
    pub interaction: String,
    pub reason: String,
}

/// Which pact a check used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PactRef {
    pub consumer: String,
    pub provider: String,
    /// Where the pact came from (a file path or a broker URL).
    pub origin: String,
    /// The SHA-256 of the pact's canonical JSON.
    pub content_hash: String,
}

/// Everything one check found. Serialises to the JSON the monitor writes with `--json` and
/// will post to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub base_url: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub pacts: Vec<PactRef>,
    /// How many distinct requests were sent.
    pub probes: usize,
    /// Interactions whose response was checked (with or without findings).
    pub interactions_checked: usize,
    pub findings: Vec<Finding>,
    pub probe_errors: Vec<ProbeError>,
    pub skipped: Vec<Skipped>,
    /// For event drift: counts per event type and the uncontracted types seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventSummary>,
}

/// What an event sampling run saw, beside its findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    /// Sampled and broken events per event type (types some contract names).
    pub per_type: std::collections::BTreeMap<String, crate::events::TypeCounts>,
    /// Events sampled per source.
    #[serde(default)]
    pub per_source: std::collections::BTreeMap<String, u64>,
    /// For Kafka: records each partition held beyond the sampler's position when it last
    /// fetched (the lag of the sampler).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub lag: std::collections::BTreeMap<String, i64>,
    /// Event types no contract names, with how many were seen: counted, not drift.
    pub uncontracted: Vec<crate::events::Uncontracted>,
}

/// The verdict of one check, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every probed interaction answered as the contracts expect.
    Clean,
    /// At least one finding.
    Drift,
    /// No finding, but some probes got no usable answer.
    ProbeErrors,
}

impl DriftReport {
    /// Drift wins over probe errors: a finding is actionable whatever else failed.
    pub fn outcome(&self) -> Outcome {
        if !self.findings.is_empty() {
            Outcome::Drift
        } else if !self.probe_errors.is_empty() {
            Outcome::ProbeErrors
        } else {
            Outcome::Clean
        }
    }

    /// A plain-text rendering for terminals: a summary line, then one table per section.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let env = self
            .environment
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let (probes, what) = if self.events.is_some() {
            ("events sampled", "message contracts")
        } else {
            ("probes", "interactions")
        };
        let _ = writeln!(
            out,
            "Drift check of {}{} at {}: {} {probes}, {} {what} checked, {} findings, {} probe errors, {} skipped",
            self.provider,
            env,
            self.base_url,
            self.probes,
            self.interactions_checked,
            self.findings.len(),
            self.probe_errors.len(),
            self.skipped.len()
        );
        if !self.findings.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .findings
                .iter()
                .map(|f| {
                    let mut actual = f.actual.clone();
                    if f.occurrences > 1 {
                        let _ = write!(actual, " (x{})", f.occurrences);
                    }
                    if let Some(hint) = &f.hint {
                        let _ = write!(actual, "; {hint}");
                    }
                    vec![
                        f.class.label().to_string(),
                        f.consumers.join(", "),
                        f.interaction.clone(),
                        f.pointer.clone(),
                        f.expected.clone(),
                        actual,
                    ]
                })
                .collect();
            table(
                &mut out,
                &[
                    "CLASS",
                    "CONSUMERS",
                    "INTERACTION",
                    "POINTER",
                    "EXPECTED",
                    "ACTUAL",
                ],
                &rows,
            );
        }
        if !self.probe_errors.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .probe_errors
                .iter()
                .map(|e| {
                    vec![
                        e.kind.as_str().to_string(),
                        e.interaction.clone(),
                        e.request.clone(),
                        e.message.clone(),
                    ]
                })
                .collect();
            table(
                &mut out,
                &["PROBE ERROR", "INTERACTION", "REQUEST", "MESSAGE"],
                &rows,
            );
        }
        if !self.skipped.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .skipped
                .iter()
                .map(|s| vec![s.consumer.clone(), s.interaction.clone(), s.reason.clone()])
                .collect();
            table(&mut out, &["SKIPPED", "INTERACTION", "REASON"], &rows);
        }
        if let Some(events) = &self.events {
            if !events.per_type.is_empty() {
                out.push('\n');
                let rows: Vec<Vec<String>> = events
                    .per_type
                    .iter()
                    .map(|(kind, counts)| {
                        vec![
                            kind.clone(),
                            counts.sampled.to_string(),
                            counts.broken.to_string(),
                        ]
                    })
                    .collect();
                table(&mut out, &["EVENT TYPE", "SAMPLED", "BROKEN"], &rows);
            }
            if !events.uncontracted.is_empty() {
                out.push('\n');
                let rows: Vec<Vec<String>> = events
                    .uncontracted
                    .iter()
                    .map(|u| vec![u.event_type.clone(), u.count.to_string()])
                    .collect();
                table(&mut out, &["UNCONTRACTED TYPE", "EVENTS"], &rows);
            }
        }
        out
    }
}

/// Writes a left-aligned table; long cells are not wrapped, so copying a pointer or a
/// value from the terminal gives the whole of it.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (index, cell) in cells.enumerate() {
            if index > 0 {
                text.push_str("  ");
            }
            let _ = write!(text, "{cell:<width$}", width = widths[index]);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(out, &mut headers.iter().copied());
    for row in rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}
