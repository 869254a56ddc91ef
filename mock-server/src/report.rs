//! What a mock provider saw: which interactions were exercised, and which requests did not
//! match. Also the JSON shape of a mismatch, shared by the 500 answers and the reports.

use std::fmt;

use bytes::Bytes;
use pact_matching::Mismatch;
use serde::Serialize;
use serde_json::Value;

/// Longest expected/actual value kept in a mismatch, in characters. Bodies can be large and a
/// report is for reading, so longer values are cut (and say so).
const MAX_VALUE_CHARS: usize = 2_000;

/// One difference between a request and an expected interaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MismatchDetail {
    /// What part differs: `method`, `path`, `query`, `header`, `body`, or `status`.
    pub kind: &'static str,
    /// Where: a JSON path such as `$.items[0].id` for bodies, the name for headers and query
    /// parameters, or the part name for the method and path.
    pub path: String,
    /// The expected value (JSON when it parses as JSON, otherwise text).
    pub expected: Value,
    /// The value received.
    pub actual: Value,
    /// The explanation given by the matcher.
    pub mismatch: String,
}

impl MismatchDetail {
    pub(crate) fn from_pact(mismatch: &Mismatch) -> Self {
        match mismatch {
            Mismatch::MethodMismatch {
                expected,
                actual,
                mismatch,
            } => Self::text("method", "method", expected, actual, mismatch),
            Mismatch::PathMismatch {
                expected,
                actual,
                mismatch,
            } => Self::text("path", "path", expected, actual, mismatch),
            Mismatch::StatusMismatch {
                expected,
                actual,
                mismatch,
            } => MismatchDetail {
                kind: "status",
                path: "status".into(),
                expected: Value::from(*expected),
                actual: Value::from(*actual),
                mismatch: mismatch.clone(),
            },
            Mismatch::QueryMismatch {
                parameter,
                expected,
                actual,
                mismatch,
            } => Self::text("query", parameter, expected, actual, mismatch),
            Mismatch::HeaderMismatch {
                key,
                expected,
                actual,
                mismatch,
            } => Self::text("header", key, expected, actual, mismatch),
            Mismatch::BodyTypeMismatch {
                expected,
                actual,
                mismatch,
                ..
            } => Self::text("body", "$", expected, actual, mismatch),
            Mismatch::BodyMismatch {
                path,
                expected,
                actual,
                mismatch,
            } => MismatchDetail {
                kind: "body",
                path: path.clone(),
                expected: bytes_value(expected.as_ref()),
                actual: bytes_value(actual.as_ref()),
                mismatch: mismatch.clone(),
            },
            other => MismatchDetail {
                kind: "other",
                path: String::new(),
                expected: Value::Null,
                actual: Value::Null,
                mismatch: other.description(),
            },
        }
    }

    fn text(kind: &'static str, path: &str, expected: &str, actual: &str, mismatch: &str) -> Self {
        MismatchDetail {
            kind,
            path: path.to_string(),
            expected: Value::String(cut(expected)),
            actual: Value::String(cut(actual)),
            mismatch: mismatch.to_string(),
        }
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        text.to_string()
    } else {
        let kept: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{kept}… (cut)")
    }
}

fn bytes_value(bytes: Option<&Bytes>) -> Value {
    match bytes {
        None => Value::Null,
        Some(bytes) if bytes.len() <= MAX_VALUE_CHARS => serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
        Some(bytes) => Value::String(cut(&String::from_utf8_lossy(bytes))),
    }
}

/// The mismatches of a request against one interaction that has the same method and path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateMismatches {
    /// The description of the interaction the request came closest to.
    pub interaction: String,
    /// The differences.
    pub mismatches: Vec<MismatchDetail>,
}

/// A request that no interaction matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestProblem {
    /// HTTP method of the request.
    pub method: String,
    /// Path and query of the request.
    pub path: String,
    /// The interactions with this method and path, and how the request differed from each;
    /// empty when no interaction has this method and path at all.
    pub candidates: Vec<CandidateMismatches>,
    /// Set when the request carried a provider state that no matching interaction declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_state: Option<String>,
}

impl RequestProblem {
    /// The one-line headline used in logs and in the 500 answer.
    pub fn headline(&self) -> String {
        match (&self.provider_state, self.candidates.is_empty()) {
            (Some(state), _) => format!(
                "{} {} matched no interaction with provider state {state:?}",
                self.method, self.path
            ),
            (None, true) => format!(
                "unexpected request {} {}: no interaction has this method and path",
                self.method, self.path
            ),
            (None, false) => format!(
                "request {} {} did not match the interaction(s) with this method and path",
                self.method, self.path
            ),
        }
    }

    /// The JSON body of the 500 answer.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "error": self.headline(),
            "request": {"method": self.method, "path": self.path},
            "mismatches": self.candidates.iter().flat_map(|candidate| {
                candidate.mismatches.iter().map(move |detail| {
                    let mut value = serde_json::to_value(detail).unwrap_or_default();
                    value["interaction"] = Value::String(candidate.interaction.clone());
                    value
                })
            }).collect::<Vec<_>>(),
        })
    }
}

/// How often one expected interaction was requested.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionUse {
    /// The interaction's description.
    pub description: String,
    /// Its provider states, by name.
    pub provider_states: Vec<String>,
    /// `METHOD /path` of its request.
    pub request: String,
    /// How many requests it answered.
    pub requests: u64,
}

/// What a mock provider saw, and whether that is what the test declared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    /// The consumer named in the pact.
    pub consumer: String,
    /// The provider named in the pact.
    pub provider: String,
    /// Every expected interaction and how often it was requested.
    pub interactions: Vec<InteractionUse>,
    /// How many requests matched no interaction.
    pub unmatched_requests: u64,
    /// The first of those requests, with their mismatches (the rest are counted, not kept).
    pub problems: Vec<RequestProblem>,
}

impl VerificationReport {
    /// True when every interaction was requested and no request went unmatched.
    pub fn is_ok(&self) -> bool {
        self.unmatched_requests == 0 && self.interactions.iter().all(|i| i.requests > 0)
    }

    /// The interactions that were never requested.
    pub fn missing(&self) -> impl Iterator<Item = &InteractionUse> {
        self.interactions.iter().filter(|i| i.requests == 0)
    }
}

impl fmt::Display for VerificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                f,
                "mock provider {} for consumer {}: all {} interaction(s) exercised",
                self.provider,
                self.consumer,
                self.interactions.len()
            );
        }
        writeln!(
            f,
            "mock provider {} for consumer {} was not used as declared:",
            self.provider, self.consumer
        )?;
        let missing: Vec<_> = self.missing().collect();
        if !missing.is_empty() {
            writeln!(f, "  expected but never requested ({}):", missing.len())?;
            for interaction in missing {
                write!(
                    f,
                    "    - {:?}: {}",
                    interaction.description, interaction.request
                )?;
                if !interaction.provider_states.is_empty() {
                    write!(f, " (given {})", interaction.provider_states.join(", "))?;
                }
                writeln!(f)?;
            }
        }
        if self.unmatched_requests > 0 {
            writeln!(
                f,
                "  requests that matched no interaction ({} in all{}):",
                self.unmatched_requests,
                if (self.problems.len() as u64) < self.unmatched_requests {
                    format!(", the first {} shown", self.problems.len())
                } else {
                    String::new()
                }
            )?;
            for problem in &self.problems {
                writeln!(f, "    - {}", problem.headline())?;
                for candidate in &problem.candidates {
                    writeln!(f, "      against {:?}:", candidate.interaction)?;
                    for detail in &candidate.mismatches {
                        writeln!(
                            f,
                            "        {} {}: expected {} but got {} ({})",
                            detail.kind,
                            detail.path,
                            detail.expected,
                            detail.actual,
                            detail.mismatch
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}
