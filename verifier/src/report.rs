//! The result of a verification run: per pact and interaction, with every mismatch, as
//! readable text, JUnit XML and JSON, and the outcome CI acts on.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::error::exit_code;

/// Everything a verification run found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    pub provider: String,
    pub pacts: Vec<PactReport>,
}

/// One pact's verification.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PactReport {
    pub consumer: String,
    pub provider: String,
    /// The file or URL the pact came from.
    pub source: String,
    /// Failures of a pending pact are reported but do not fail the build.
    pub pending: bool,
    /// A work-in-progress pact (always pending).
    pub wip: bool,
    /// Why the broker selected this pact, when it came from a broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<String>,
    /// The broker's notices for this pact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    pub interactions: Vec<InteractionReport>,
    /// Set when the pact could not be verified at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What happened to the results in the broker.
    pub publication: Publication,
}

impl PactReport {
    /// All interactions passed and nothing stopped the verification.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.interactions.iter().all(InteractionReport::passed)
    }

    /// Failures here fail the build: the pact is not pending and something failed.
    pub fn fails_build(&self) -> bool {
        (self.error.is_some() && !self.pending)
            || self.interactions.iter().any(InteractionReport::fails_build)
    }
}

/// What happened to a pact's results in the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Publication {
    /// Publishing was not asked for, or the pact did not come from a broker.
    NotRequested,
    /// The results were recorded by the broker.
    Published {
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// Not published because the pact was not verified.
    Skipped { reason: String },
    /// The broker did not accept the results.
    Failed { message: String },
}

/// One interaction's verification.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionReport {
    pub description: String,
    pub provider_states: Vec<String>,
    /// The broker's interaction id (`_id`), when the pact came from a broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    pub status: InteractionStatus,
    /// A pending interaction (or an interaction of a pending pact).
    pub pending: bool,
    #[serde(serialize_with = "as_millis", rename = "durationMs")]
    pub duration: Duration,
    pub mismatches: Vec<MismatchReport>,
    /// What stopped the interaction from being checked (a failed provider state, a
    /// provider that did not answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InteractionReport {
    pub fn passed(&self) -> bool {
        self.status == InteractionStatus::Passed
    }

    pub fn fails_build(&self) -> bool {
        !self.passed() && !self.pending
    }
}

/// Passed or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InteractionStatus {
    Passed,
    Failed,
}

/// One difference between what the pact expects and what the provider answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MismatchReport {
    /// `status`, `header`, `body`, `body-type`, `query`, `method`, `path` or `metadata`.
    pub kind: String,
    /// Where: a JSON path for bodies (`$.items[0].id`), a header or parameter name.
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// pact_matching's explanation.
    pub description: String,
}

impl MismatchReport {
    /// The order mismatches are listed in: request parts, then status, headers and body,
    /// as a person reads an HTTP exchange.
    pub(crate) fn rank(&self) -> u8 {
        match self.kind.as_str() {
            "method" => 0,
            "path" => 1,
            "query" => 2,
            "status" => 3,
            "header" => 4,
            "body-type" => 5,
            "body" => 6,
            _ => 7,
        }
    }

    pub(crate) fn from_pact(mismatch: &pact_matching::Mismatch) -> Self {
        use pact_matching::Mismatch::*;
        let make =
            |kind: &str, path: &str, expected: String, actual: String, description: &str| Self {
                kind: kind.to_string(),
                path: path.to_string(),
                expected,
                actual,
                description: description.to_string(),
            };
        match mismatch {
            MethodMismatch {
                expected,
                actual,
                mismatch,
            } => make(
                "method",
                "method",
                expected.clone(),
                actual.clone(),
                mismatch,
            ),
            PathMismatch {
                expected,
                actual,
                mismatch,
            } => make("path", "path", expected.clone(), actual.clone(), mismatch),
            StatusMismatch {
                expected,
                actual,
                mismatch,
            } => make(
                "status",
                "status",
                expected.to_string(),
                actual.to_string(),
                mismatch,
            ),
            QueryMismatch {
                parameter,
                expected,
                actual,
                mismatch,
            } => make(
                "query",
                parameter,
                expected.clone(),
                actual.clone(),
                mismatch,
            ),
            HeaderMismatch {
                key,
                expected,
                actual,
                mismatch,
            } => make("header", key, expected.clone(), actual.clone(), mismatch),
            BodyTypeMismatch {
                expected,
                actual,
                mismatch,
                ..
            } => make("body-type", "$", expected.clone(), actual.clone(), mismatch),
            BodyMismatch {
                path,
                expected,
                actual,
                mismatch,
            } => make(
                "body",
                path,
                bytes_text(expected),
                bytes_text(actual),
                mismatch,
            ),
            MetadataMismatch {
                key,
                expected,
                actual,
                mismatch,
            } => make("metadata", key, expected.clone(), actual.clone(), mismatch),
        }
    }
}

/// What CI should conclude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Every interaction that is not pending passed, and results (if asked) were published.
    Passed,
    /// An interaction that is not pending failed.
    Failed,
    /// Verification passed but the broker did not accept the results.
    PublishFailed,
}

impl Outcome {
    /// The process exit code (see [`crate::exit_code`]).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Passed => exit_code::PASSED,
            Self::Failed => exit_code::FAILED,
            Self::PublishFailed => exit_code::BROKER,
        }
    }
}

/// Totals over a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub pacts: usize,
    pub interactions: usize,
    pub passed: usize,
    /// Failures that fail the build.
    pub failed: usize,
    /// Failures of pending pacts or interactions, which do not.
    pub pending_failed: usize,
}

impl VerificationReport {
    /// What CI should conclude. A failed verification wins over a failed publication.
    pub fn outcome(&self) -> Outcome {
        if self.pacts.iter().any(PactReport::fails_build) {
            Outcome::Failed
        } else if self
            .pacts
            .iter()
            .any(|pact| matches!(pact.publication, Publication::Failed { .. }))
        {
            Outcome::PublishFailed
        } else {
            Outcome::Passed
        }
    }

    /// Whether every interaction that is not pending passed.
    pub fn passed(&self) -> bool {
        self.outcome() == Outcome::Passed
    }

    /// Totals for the summary line.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            pacts: self.pacts.len(),
            ..Counts::default()
        };
        for interaction in self.pacts.iter().flat_map(|pact| &pact.interactions) {
            counts.interactions += 1;
            if interaction.passed() {
                counts.passed += 1;
            } else if interaction.pending {
                counts.pending_failed += 1;
            } else {
                counts.failed += 1;
            }
        }
        for pact in &self.pacts {
            if pact.error.is_some() {
                if pact.pending {
                    counts.pending_failed += 1;
                } else {
                    counts.failed += 1;
                }
            }
        }
        counts
    }

    /// Panics with the readable summary unless every interaction that is not pending
    /// passed. For provider crates verifying themselves in `cargo test`.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("provider verification failed\n\n{}", self.summary());
        }
    }

    /// The readable summary: each pact, each interaction, each mismatch.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for pact in &self.pacts {
            let mut flags = Vec::new();
            if pact.wip {
                flags.push("work in progress");
            }
            if pact.pending {
                flags.push("pending: failures do not fail the build");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join(", "))
            };
            let _ = writeln!(
                out,
                "Verifying the pact between {} and {}{flags}",
                pact.consumer, pact.provider
            );
            let _ = writeln!(out, "  from {}", pact.source);
            if let Some(selection) = &pact.selection {
                let _ = writeln!(out, "  selected as: {selection}");
            }
            // The broker's explanations of why the pact is verified and whether it is pending.
            for notice in &pact.notices {
                for line in notice.lines() {
                    let _ = writeln!(out, "  | {line}");
                }
            }
            if let Some(error) = &pact.error {
                let _ = writeln!(out, "  ERROR   {error}");
            }
            if pact.interactions.is_empty() && pact.error.is_none() {
                let _ = writeln!(out, "  (the pact has no interactions to verify)");
            }
            for interaction in &pact.interactions {
                let label = match (interaction.passed(), interaction.pending) {
                    (true, _) => "OK     ",
                    (false, false) => "FAILED ",
                    (false, true) => "FAILED (pending)",
                };
                let states = if interaction.provider_states.is_empty() {
                    String::new()
                } else {
                    format!(" (given {})", interaction.provider_states.join(" and "))
                };
                let _ = writeln!(
                    out,
                    "  {label} {}{states} [{} ms]",
                    interaction.description,
                    interaction.duration.as_millis()
                );
                if let Some(error) = &interaction.error {
                    let _ = writeln!(out, "            {error}");
                }
                for mismatch in &interaction.mismatches {
                    let _ = writeln!(
                        out,
                        "            {} {}: expected {}, actual {}",
                        mismatch.kind,
                        mismatch.path,
                        shorten(&mismatch.expected, 120),
                        shorten(&mismatch.actual, 120)
                    );
                    let _ = writeln!(out, "              {}", mismatch.description);
                }
            }
            match &pact.publication {
                Publication::NotRequested => {}
                Publication::Published { .. } => {
                    let _ = writeln!(out, "  results published to the broker");
                }
                Publication::Skipped { reason } => {
                    let _ = writeln!(out, "  results not published: {reason}");
                }
                Publication::Failed { message } => {
                    let _ = writeln!(out, "  results NOT published: {message}");
                }
            }
            out.push('\n');
        }
        let counts = self.counts();
        let _ = write!(
            out,
            "{} interaction(s) in {} pact(s): {} passed, {} failed, {} pending failure(s) (not failing the build).",
            counts.interactions, counts.pacts, counts.passed, counts.failed, counts.pending_failed
        );
        match self.outcome() {
            Outcome::Passed => out.push_str(" Verification passed."),
            Outcome::Failed => out.push_str(" Verification FAILED."),
            Outcome::PublishFailed => {
                out.push_str(" Verification passed but the results could not be published.")
            }
        }
        out.push('\n');
        out
    }

    /// The report as JSON: the report itself plus `outcome` and `counts`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.insert(
                "outcome".into(),
                serde_json::to_value(self.outcome()).unwrap_or_default(),
            );
            map.insert(
                "counts".into(),
                serde_json::to_value(self.counts()).unwrap_or_default(),
            );
        }
        value
    }

    /// The report as JUnit XML: one test suite per pact, one test case per interaction.
    /// Failures of pending pacts are reported as skipped, so CI does not count them.
    pub fn to_junit_xml(&self) -> String {
        let counts = self.counts();
        let total_time: Duration = self
            .pacts
            .iter()
            .flat_map(|pact| &pact.interactions)
            .map(|interaction| interaction.duration)
            .sum();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            xml,
            "<testsuites name=\"accord verify {}\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
            escape(&self.provider),
            counts.interactions,
            counts.failed,
            total_time.as_secs_f64()
        );
        for pact in &self.pacts {
            let failures = pact.interactions.iter().filter(|i| i.fails_build()).count()
                + usize::from(pact.error.is_some() && !pact.pending);
            let skipped = pact
                .interactions
                .iter()
                .filter(|i| !i.passed() && i.pending)
                .count();
            let time: Duration = pact.interactions.iter().map(|i| i.duration).sum();
            let suite = format!("{} -> {}", pact.consumer, pact.provider);
            let _ = writeln!(
                xml,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
                escape(&suite),
                pact.interactions.len() + usize::from(pact.error.is_some()),
                time.as_secs_f64()
            );
            let _ = writeln!(
                xml,
                "    <properties><property name=\"source\" value=\"{}\"/><property name=\"pending\" value=\"{}\"/></properties>",
                escape(&pact.source),
                pact.pending
            );
            let classname = escape(&format!("{}.{}", pact.provider, pact.consumer));
            if let Some(error) = &pact.error {
                let element = if pact.pending { "skipped" } else { "failure" };
                let _ = writeln!(
                    xml,
                    "    <testcase classname=\"{classname}\" name=\"verify the pact\"><{element} message=\"{}\"/></testcase>",
                    escape(error)
                );
            }
            for interaction in &pact.interactions {
                let name = if interaction.provider_states.is_empty() {
                    interaction.description.clone()
                } else {
                    format!(
                        "{} (given {})",
                        interaction.description,
                        interaction.provider_states.join(" and ")
                    )
                };
                let _ = write!(
                    xml,
                    "    <testcase classname=\"{classname}\" name=\"{}\" time=\"{:.3}\"",
                    escape(&name),
                    interaction.duration.as_secs_f64()
                );
                if interaction.passed() {
                    xml.push_str("/>\n");
                    continue;
                }
                xml.push_str(">\n");
                let message = interaction_problem(interaction);
                let details = interaction_details(interaction);
                if interaction.pending {
                    let _ = writeln!(
                        xml,
                        "      <skipped message=\"pending: {}\"/>\n      <system-out>{}</system-out>",
                        escape(&message),
                        escape(&details)
                    );
                } else {
                    let _ = writeln!(
                        xml,
                        "      <failure message=\"{}\" type=\"verification\">{}</failure>",
                        escape(&message),
                        escape(&details)
                    );
                }
                xml.push_str("    </testcase>\n");
            }
            xml.push_str("  </testsuite>\n");
        }
        xml.push_str("</testsuites>\n");
        xml
    }
}

/// A one-line statement of what went wrong with an interaction.
fn interaction_problem(interaction: &InteractionReport) -> String {
    if let Some(error) = &interaction.error {
        return error.clone();
    }
    match interaction.mismatches.as_slice() {
        [] => "failed".to_string(),
        [only] => format!("{} {}: {}", only.kind, only.path, only.description),
        [first, rest @ ..] => format!(
            "{} {}: {} (and {} more mismatch(es))",
            first.kind,
            first.path,
            first.description,
            rest.len()
        ),
    }
}

fn interaction_details(interaction: &InteractionReport) -> String {
    let mut details = String::new();
    if let Some(error) = &interaction.error {
        let _ = writeln!(details, "{error}");
    }
    for mismatch in &interaction.mismatches {
        let _ = writeln!(
            details,
            "{} {}: expected {}, actual {} ({})",
            mismatch.kind, mismatch.path, mismatch.expected, mismatch.actual, mismatch.description
        );
    }
    details
}

/// Body fragments are bytes (`bytes::Bytes` in pact_matching); shown as text.
fn bytes_text<B: AsRef<[u8]>>(bytes: &Option<B>) -> String {
    match bytes {
        Some(bytes) => String::from_utf8_lossy(bytes.as_ref()).into_owned(),
        None => "(nothing)".to_string(),
    }
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Escapes text for XML attributes and content; control characters XML 1.0 cannot hold
/// are dropped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\n' => escaped.push_str("&#10;"),
            '\t' | '\r' => escaped.push(ch),
            ch if (ch as u32) < 0x20 => {}
            ch => escaped.push(ch),
        }
    }
    escaped
}

/// Shortens long text to `limit` characters.
pub(crate) fn shorten(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The innermost cause of a `reqwest` error ("Connection refused (os error 111)").
pub(crate) use accord_broker_client::cause_text as reqwest_cause;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(
            escape("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;"
        );
    }
}
