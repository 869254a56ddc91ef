//! What a matrix question and its answer are made of: the sides (a pacticipant and the
//! versions selected), the links between them, the rows, and the outcome with its
//! notices.

use crate::drift::{DriftConcern, DriftMode};
use crate::store::{Pacticipant, Publication, Verification};

/// What a selector stands for, kept to describe versions in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    Version(String),
    Latest,
    LatestWithTag(String),
    WithTag(String),
    BranchHead(String),
    OnBranch(String),
    MainBranchHead(Option<String>),
    OnMainBranch(Option<String>),
    InEnvironment(String),
    Every,
}

/// A version, by id and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VersionRef {
    pub(super) id: i64,
    pub(super) number: String,
}

/// One side of the query: a pacticipant and the versions selected.
#[derive(Debug, Clone)]
pub(super) struct Side {
    pub(super) pacticipant: Pacticipant,
    pub(super) scope: Scope,
    /// `None`: every version.
    pub(super) versions: Option<Vec<VersionRef>>,
    /// Whether an ignore selector covers it (then a missing version does not block).
    pub(super) ignored: bool,
}

impl Side {
    pub(super) fn name(&self) -> &str {
        &self.pacticipant.name
    }

    pub(super) fn contains(&self, version_id: i64) -> bool {
        self.versions
            .as_ref()
            .is_none_or(|vs| vs.iter().any(|v| v.id == version_id))
    }

    /// `Foo 1.2.3 (currently in prod)`.
    pub(super) fn describe(&self, number: &str) -> String {
        let name = self.name();
        match &self.scope {
            Scope::Version(_) | Scope::Every => format!("{name} {number}"),
            Scope::Latest => format!("{name} {number} (its latest version)"),
            Scope::LatestWithTag(t) => format!("{name} {number} (its latest version tagged {t})"),
            Scope::WithTag(t) => format!("{name} {number} (tagged {t})"),
            Scope::BranchHead(b) => format!("{name} {number} (the latest version of branch {b})"),
            Scope::OnBranch(b) => format!("{name} {number} (on branch {b})"),
            Scope::MainBranchHead(_) => {
                format!("{name} {number} (the latest version of its main branch)")
            }
            Scope::OnMainBranch(_) => format!("{name} {number} (on its main branch)"),
            Scope::InEnvironment(e) => format!("{name} {number} (currently in {e})"),
        }
    }

    /// The selected versions as one phrase: `Bar 1.0 or 2.0 (currently in prod)`.
    pub(super) fn describe_versions(&self) -> String {
        match &self.versions {
            None => format!("any version of {}", self.name()),
            Some(vs) => {
                let numbers: Vec<&str> = vs.iter().map(|v| v.number.as_str()).collect();
                self.describe(&numbers.join(" or "))
            }
        }
    }

    /// Why the selection is empty, as a sentence without a final period.
    pub(super) fn emptiness(&self) -> String {
        let name = self.name();
        match &self.scope {
            Scope::Version(n) => {
                format!("No pacts or verifications have been published for version {n} of {name}")
            }
            Scope::Latest | Scope::Every => {
                format!("No pacts or verifications have been published for {name}")
            }
            Scope::LatestWithTag(t) | Scope::WithTag(t) => {
                format!("No version with tag {t} exists for {name}")
            }
            Scope::BranchHead(b) | Scope::OnBranch(b) => {
                format!("No version of {name} exists on branch {b}")
            }
            Scope::MainBranchHead(Some(b)) | Scope::OnMainBranch(Some(b)) => {
                format!("No version of {name} exists on its main branch {b}")
            }
            Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => {
                format!("{name} has no main branch configured")
            }
            Scope::InEnvironment(e) => {
                format!("No version of {name} is currently deployed or released in {e}")
            }
        }
    }
}

/// One row of the matrix: a pact and, when one matches, a verification of it.
#[derive(Debug, Clone)]
pub struct Row {
    pub publication: Publication,
    pub verification: Option<Verification>,
    pub ignored: bool,
    /// The integration (index into the query's links) that produced the row.
    pub(super) link: usize,
}

impl Row {
    pub(super) fn success(&self) -> Option<bool> {
        self.verification.as_ref().map(|v| v.success)
    }
}

/// How a message should be shown (`notices[].type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Success,
    Info,
    Warning,
    Error,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Success => "success",
            NoticeKind::Info => "info",
            NoticeKind::Warning => "warning",
            NoticeKind::Error => "error",
        }
    }
}

/// A message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub(super) fn new(kind: NoticeKind, text: impl Into<String>) -> Self {
        Notice {
            kind,
            text: text.into(),
        }
    }
}

/// The `summary` counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub success: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Present only when the query ignores something.
    pub ignored: Option<usize>,
}

/// The answer to a matrix query.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `Some(true)` yes, `Some(false)` no, `None` unknown (results missing).
    pub deployable: Option<bool>,
    pub counts: Counts,
    /// The lines of `summary.reason`, each also a notice.
    pub reasons: Vec<Notice>,
    /// Notices that are not part of the reason (advice, partial results).
    pub notices: Vec<Notice>,
    /// Considered rows, then ignored rows, cut to the query's limit.
    pub rows: Vec<Row>,
    /// What open drift in the query's environment means for the answer; `None` when the
    /// query names no environment.
    pub drift: Option<DriftOutcome>,
}

/// Open drift that concerns the versions being deployed.
#[derive(Debug, Clone)]
pub struct DriftOutcome {
    pub mode: DriftMode,
    pub environment: String,
    /// Open findings against the pacts of the consumer versions being deployed (empty
    /// when the mode is `ignore`: nothing was looked up).
    pub concerns: Vec<DriftConcern>,
}

impl Outcome {
    /// `summary.reason`: every reason line.
    pub fn reason(&self) -> String {
        self.reasons
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An integration of the query: indices into the sides, and whether the consumer
/// needs the provider (a specified consumer needs its providers; a specified
/// provider does not need its consumers, but must not break them).
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub(super) consumer: usize,
    pub(super) provider: usize,
    pub(super) required: bool,
}

/// Ignore rules that name something that exists.
#[derive(Debug, Clone)]
pub(super) struct IgnoreRule {
    pub(super) pacticipant_id: i64,
    pub(super) version_id: Option<i64>,
}
