//! The matrix and can-i-deploy: which pacts and verification results join the
//! versions a query names, and whether those versions can be deployed together.
//!
//! A query names versions with selectors (`Foo 1.2.3`, `Bar latest tagged prod`,
//! `Baz in production`). The broker finds the integrations those versions take
//! part in, infers the versions on the other side of each integration from the
//! options (`environment`, `tag`, `latest`, `mainBranch`), and builds one row per
//! pact and verification result: each pact of a selected consumer version, joined
//! with the verifications of the same content by the selected provider versions
//! (a pact nobody in the selection verified gives a row without a result).
//!
//! The decision follows the Pact Broker: `false` when a named version does not
//! exist or a considered result failed, `null` (unknown) when a result is
//! missing, `true` otherwise. Beyond the Pact Broker, every blocker comes with one
//! line saying which versions and which pact are involved and the command that
//! would fix it.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::domain::{BranchName, EnvironmentName, PacticipantName, TagName, VersionNumber};
use crate::drift::{self, CandidatePact, CandidateProvider, DriftConcern, DriftMode};
use crate::query::{Group, NestedQuery, field};
use crate::repr::Urls;
use crate::store::{
    Environment, EnvironmentRecordFilter, Integration, Pacticipant, Publication, PublicationFilter,
    Store, StoreError, Verification, VerificationFilter,
};

/// Which versions of one pacticipant a query names, as the client wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorSpec {
    pub pacticipant: String,
    pub version: Option<String>,
    pub latest: bool,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub main_branch: bool,
    pub environment: Option<String>,
}

/// Which rows survive when several share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestBy {
    /// The latest result per consumer version and provider version (`cvpv`).
    Cvpv,
    /// The latest result per consumer version and provider (`cvp`).
    Cvp,
    /// The latest row per consumer and provider (`cp`).
    Cp,
}

/// The query-wide options of the matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub latestby: Option<LatestBy>,
    /// The other side of each integration is its latest version (with `tag`: latest with the tag).
    pub latest: bool,
    pub tag: Option<String>,
    /// The other side of each integration is what is currently in this environment.
    pub environment: Option<String>,
    /// The other side of each integration is the head of its main branch.
    pub main_branch: bool,
    /// Keep only rows whose verification succeeded (true) or failed (false).
    pub success: Vec<bool>,
    /// At most this many rows in the answer (the decision still sees every row).
    pub limit: Option<usize>,
    /// How open drift in `environment` counts (`drift=`, `ignoreDrift=`).
    pub drift: DriftMode,
}

impl Options {
    fn infers(&self) -> bool {
        self.latest || self.tag.is_some() || self.environment.is_some() || self.main_branch
    }
}

/// Versions whose rows do not count towards the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreSpec {
    pub pacticipant: String,
    pub version: Option<String>,
}

/// A whole matrix query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatrixQuery {
    pub selectors: Vec<SelectorSpec>,
    pub options: Options,
    pub ignore: Vec<IgnoreSpec>,
}

fn boolean(name: &str, value: &str, errors: &mut Vec<String>) -> bool {
    match value {
        "true" => true,
        "false" | "" => false,
        other => {
            errors.push(format!("{name} must be true or false, not {other:?}"));
            false
        }
    }
}

fn non_blank(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty()).map(str::to_string)
}

impl MatrixQuery {
    /// Reads the parameters of `GET /matrix`. Errors are whole sentences, for the
    /// `{"errors": [...]}` answer.
    pub fn from_query(query: &NestedQuery) -> Result<MatrixQuery, Vec<String>> {
        let mut errors = Vec::new();
        let mut selectors = Vec::new();
        for group in query.groups("q") {
            if let Some(selector) = selector_from_group(group, &mut errors) {
                selectors.push(selector);
            }
        }
        if selectors.is_empty() && errors.is_empty() {
            errors.push("Please provide 1 or more version selectors.".to_string());
        }
        let latestby = match query.get("latestby") {
            None | Some("") => None,
            Some("cvpv") => Some(LatestBy::Cvpv),
            Some("cvp") => Some(LatestBy::Cvp),
            Some("cp") => Some(LatestBy::Cp),
            Some(other) => {
                errors.push(format!("latestby must be cvpv, cvp or cp, not {other:?}"));
                None
            }
        };
        let limit = match query.get("limit") {
            None | Some("") => Some(100),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    errors.push(format!("limit must be a number of 1 or more, not {text:?}"));
                    None
                }
            },
        };
        let mut success = Vec::new();
        for value in query.list("success") {
            success.push(boolean("success[]", value, &mut errors));
        }
        let drift = DriftMode::from_params(query.get("drift"), query.get("ignoreDrift"))
            .unwrap_or_else(|error| {
                errors.push(error);
                DriftMode::default()
            });
        let options = Options {
            drift,
            latestby,
            latest: query
                .get("latest")
                .is_some_and(|v| boolean("latest", v, &mut errors)),
            tag: non_blank(query.get("tag")),
            environment: non_blank(query.get("environment")),
            main_branch: query
                .get("mainBranch")
                .is_some_and(|v| boolean("mainBranch", v, &mut errors)),
            success,
            limit,
        };
        let mut ignore = Vec::new();
        for group in query.groups("ignore") {
            match non_blank(field(group, "pacticipant")) {
                Some(pacticipant) => ignore.push(IgnoreSpec {
                    pacticipant,
                    version: non_blank(field(group, "version")),
                }),
                None => errors.push("Please specify the pacticipant name to ignore".to_string()),
            }
        }
        // `ignore[]=Name` ignores every version of a pacticipant.
        for name in query.list("ignore") {
            if !name.trim().is_empty() {
                ignore.push(IgnoreSpec {
                    pacticipant: name.clone(),
                    version: None,
                });
            }
        }
        let query = MatrixQuery {
            selectors,
            options,
            ignore,
        };
        errors.extend(query.option_errors());
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }

    /// Rules about combining options.
    pub fn option_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let o = &self.options;
        if o.tag.is_some() && o.environment.is_some() {
            errors.push("Cannot specify both a tag and an environment.".to_string());
        }
        if o.latest && o.environment.is_some() {
            errors.push("Cannot specify latest=true with an environment: the versions in the environment are used.".to_string());
        }
        if o.main_branch && (o.tag.is_some() || o.environment.is_some()) {
            errors.push("Cannot specify mainBranch=true with a tag or an environment.".to_string());
        }
        errors
    }
}

fn selector_from_group(group: &Group, errors: &mut Vec<String>) -> Option<SelectorSpec> {
    let Some(pacticipant) = non_blank(field(group, "pacticipant")) else {
        errors.push("Please specify the pacticipant name".to_string());
        return None;
    };
    let latest = field(group, "latest")
        .is_some_and(|v| boolean(&format!("q[][latest] for {pacticipant}"), v, errors));
    let version = non_blank(field(group, "version"));
    if version.is_some() && latest {
        errors.push(format!(
            "A version number and latest flag cannot both be specified for {pacticipant}"
        ));
    }
    let main_branch = field(group, "mainBranch")
        .is_some_and(|v| boolean(&format!("q[][mainBranch] for {pacticipant}"), v, errors));
    Some(SelectorSpec {
        version,
        latest,
        tag: non_blank(field(group, "tag")),
        branch: non_blank(field(group, "branch")),
        main_branch,
        environment: non_blank(field(group, "environment")),
        pacticipant,
    })
}

/// Why a matrix query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The query names things that do not exist or breaks a rule; sentences for the client.
    #[error("invalid matrix query: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a selector stands for, kept to describe versions in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
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
struct VersionRef {
    id: i64,
    number: String,
}

/// One side of the query: a pacticipant and the versions selected.
#[derive(Debug, Clone)]
struct Side {
    pacticipant: Pacticipant,
    scope: Scope,
    /// `None`: every version.
    versions: Option<Vec<VersionRef>>,
    /// Whether an ignore selector covers it (then a missing version does not block).
    ignored: bool,
}

impl Side {
    fn name(&self) -> &str {
        &self.pacticipant.name
    }

    fn contains(&self, version_id: i64) -> bool {
        self.versions
            .as_ref()
            .is_none_or(|vs| vs.iter().any(|v| v.id == version_id))
    }

    /// `Foo 1.2.3 (currently in prod)`.
    fn describe(&self, number: &str) -> String {
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
    fn describe_versions(&self) -> String {
        match &self.versions {
            None => format!("any version of {}", self.name()),
            Some(vs) => {
                let numbers: Vec<&str> = vs.iter().map(|v| v.number.as_str()).collect();
                self.describe(&numbers.join(" or "))
            }
        }
    }

    /// Why the selection is empty, as a sentence without a final period.
    fn emptiness(&self) -> String {
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
    link: usize,
}

impl Row {
    fn success(&self) -> Option<bool> {
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
    fn new(kind: NoticeKind, text: impl Into<String>) -> Self {
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
struct Link {
    consumer: usize,
    provider: usize,
    required: bool,
}

/// Ignore rules that name something that exists.
#[derive(Debug, Clone)]
struct IgnoreRule {
    pacticipant_id: i64,
    version_id: Option<i64>,
}

/// Store reads with memoisation: the same version or pact content comes up
/// in many rows.
struct Reader<'a> {
    store: &'a dyn Store,
    integrations: HashMap<i64, Vec<Integration>>,
    publications_of_version: HashMap<i64, Vec<Publication>>,
    verifications_of_content: HashMap<(i64, i64), Vec<Verification>>,
    environments: HashMap<String, Option<Environment>>,
}

impl<'a> Reader<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Reader {
            store,
            integrations: HashMap::new(),
            publications_of_version: HashMap::new(),
            verifications_of_content: HashMap::new(),
            environments: HashMap::new(),
        }
    }

    /// The environment with a name (`None` for an invalid or unknown name).
    async fn environment(&mut self, name: &str) -> Result<Option<Environment>, StoreError> {
        if let Some(found) = self.environments.get(name) {
            return Ok(found.clone());
        }
        let found = match EnvironmentName::parse("environment", name) {
            Ok(parsed) => self.store.environment_by_name(&parsed).await?,
            Err(_) => None,
        };
        self.environments.insert(name.to_string(), found.clone());
        Ok(found)
    }

    async fn integrations(&mut self, pacticipant_id: i64) -> Result<Vec<Integration>, StoreError> {
        if let Some(found) = self.integrations.get(&pacticipant_id) {
            return Ok(found.clone());
        }
        let found = self.store.integrations_of(pacticipant_id).await?;
        self.integrations.insert(pacticipant_id, found.clone());
        Ok(found)
    }

    async fn publications_of_version(
        &mut self,
        version_id: i64,
    ) -> Result<Vec<Publication>, StoreError> {
        if let Some(found) = self.publications_of_version.get(&version_id) {
            return Ok(found.clone());
        }
        let found = self
            .store
            .publications(PublicationFilter {
                consumer_version_id: Some(version_id),
                ..Default::default()
            })
            .await?;
        self.publications_of_version
            .insert(version_id, found.clone());
        Ok(found)
    }

    /// Reads the publications of many versions at once (those not read before).
    async fn prefetch_publications(&mut self, version_ids: &[i64]) -> Result<(), StoreError> {
        let mut missing: Vec<i64> = version_ids
            .iter()
            .copied()
            .filter(|id| !self.publications_of_version.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        for id in &missing {
            self.publications_of_version.insert(*id, Vec::new());
        }
        for pp in self.store.publications_of_versions(None, &missing).await? {
            self.publications_of_version
                .entry(pp.consumer_version_id)
                .or_default()
                .push(pp);
        }
        Ok(())
    }

    /// Reads the verifications of many pact contents, each by its provider, in one go
    /// (the pairs not read before).
    async fn prefetch_verifications(
        &mut self,
        contents_by_provider: &BTreeMap<i64, Vec<i64>>,
    ) -> Result<(), StoreError> {
        let mut providers: Vec<i64> = Vec::new();
        let mut contents: Vec<i64> = Vec::new();
        for (provider_id, ids) in contents_by_provider {
            for id in ids {
                if let Entry::Vacant(slot) =
                    self.verifications_of_content.entry((*id, *provider_id))
                {
                    slot.insert(Vec::new());
                    providers.push(*provider_id);
                    contents.push(*id);
                }
            }
        }
        if contents.is_empty() {
            return Ok(());
        }
        providers.sort_unstable();
        providers.dedup();
        contents.sort_unstable();
        contents.dedup();
        for v in self
            .store
            .verifications_by_providers(&providers, &contents)
            .await?
        {
            if let Some(found) = self
                .verifications_of_content
                .get_mut(&(v.pact_version_id, v.provider_id))
            {
                found.push(v);
            }
        }
        Ok(())
    }

    /// Every verification of a pact content by a provider, oldest first.
    async fn verifications(
        &mut self,
        pact_version_id: i64,
        provider_id: i64,
    ) -> Result<Vec<Verification>, StoreError> {
        let key = (pact_version_id, provider_id);
        if let Some(found) = self.verifications_of_content.get(&key) {
            return Ok(found.clone());
        }
        let found = self
            .store
            .verifications(VerificationFilter {
                pact_version_id: Some(pact_version_id),
                provider_id: Some(provider_id),
                ..Default::default()
            })
            .await?;
        self.verifications_of_content.insert(key, found.clone());
        Ok(found)
    }

    /// The versions a scope selects (`None`: every version).
    async fn resolve(
        &mut self,
        pacticipant: &Pacticipant,
        scope: &Scope,
    ) -> Result<Option<Vec<VersionRef>>, StoreError> {
        let store = self.store;
        let id = pacticipant.id;
        let one = |v: Option<crate::store::Version>| {
            Some(
                v.map(|v| VersionRef {
                    id: v.id,
                    number: v.number,
                })
                .into_iter()
                .collect(),
            )
        };
        let head = |b: &str| BranchName::parse("branch", b);
        Ok(match scope {
            Scope::Every => None,
            Scope::Version(n) => match VersionNumber::parse("version", n) {
                Ok(number) => one(store.version(id, &number).await?),
                Err(_) => Some(vec![]),
            },
            Scope::Latest => one(store.latest_version(id).await?),
            Scope::LatestWithTag(t) => match TagName::parse("tag", t) {
                Ok(tag) => one(store.latest_version_with_tag(id, &tag).await?),
                Err(_) => Some(vec![]),
            },
            Scope::WithTag(t) => match TagName::parse("tag", t) {
                Ok(tag) => Some(
                    store
                        .versions_with_tag(id, &tag)
                        .await?
                        .into_iter()
                        .map(|v| VersionRef {
                            id: v.id,
                            number: v.number,
                        })
                        .collect(),
                ),
                Err(_) => Some(vec![]),
            },
            Scope::BranchHead(b) | Scope::MainBranchHead(Some(b)) => match head(b) {
                Ok(branch) => one(store.branch_head(id, &branch).await?),
                Err(_) => Some(vec![]),
            },
            Scope::OnBranch(b) | Scope::OnMainBranch(Some(b)) => match head(b) {
                Ok(branch) => match store.branch(id, &branch).await? {
                    Some(branch) => Some(
                        store
                            .branch_versions(branch.id)
                            .await?
                            .into_iter()
                            .map(|bv| VersionRef {
                                id: bv.version_id,
                                number: bv.version_number,
                            })
                            .collect(),
                    ),
                    None => Some(vec![]),
                },
                Err(_) => Some(vec![]),
            },
            Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => Some(vec![]),
            Scope::InEnvironment(e) => {
                let Some(environment) = self.environment(e).await? else {
                    return Ok(Some(vec![]));
                };
                let filter = EnvironmentRecordFilter {
                    environment_id: Some(environment.id),
                    pacticipant_id: Some(id),
                    current_only: true,
                    ..Default::default()
                };
                let mut found: Vec<VersionRef> = Vec::new();
                for d in store.deployed_versions(filter).await? {
                    found.push(VersionRef {
                        id: d.version_id,
                        number: d.version_number,
                    });
                }
                for r in store.released_versions(filter).await? {
                    found.push(VersionRef {
                        id: r.version_id,
                        number: r.version_number,
                    });
                }
                found.sort_by_key(|v| std::cmp::Reverse(v.id));
                found.dedup_by_key(|v| v.id);
                Some(found)
            }
        })
    }
}

fn scope_of(spec: &SelectorSpec, pacticipant: &Pacticipant) -> Scope {
    if let Some(version) = &spec.version {
        Scope::Version(version.clone())
    } else if spec.main_branch {
        let main = pacticipant.main_branch.clone();
        if spec.latest {
            Scope::MainBranchHead(main)
        } else {
            Scope::OnMainBranch(main)
        }
    } else if let Some(branch) = &spec.branch {
        if spec.latest {
            Scope::BranchHead(branch.clone())
        } else {
            Scope::OnBranch(branch.clone())
        }
    } else if let Some(tag) = &spec.tag {
        if spec.latest {
            Scope::LatestWithTag(tag.clone())
        } else {
            Scope::WithTag(tag.clone())
        }
    } else if let Some(environment) = &spec.environment {
        Scope::InEnvironment(environment.clone())
    } else if spec.latest {
        Scope::Latest
    } else {
        Scope::Every
    }
}

/// The scope the options give the other side of an integration.
fn inferred_scope(options: &Options, pacticipant: &Pacticipant) -> Scope {
    if let Some(environment) = &options.environment {
        Scope::InEnvironment(environment.clone())
    } else if let Some(tag) = &options.tag {
        Scope::LatestWithTag(tag.clone())
    } else if options.main_branch {
        Scope::MainBranchHead(pacticipant.main_branch.clone())
    } else if options.latest {
        Scope::Latest
    } else {
        Scope::Every
    }
}

/// Answers a matrix query. `base` is the broker's base URL, used in the links and
/// commands of the messages.
pub async fn evaluate(
    store: &dyn Store,
    base: &str,
    query: &MatrixQuery,
) -> Result<Outcome, MatrixError> {
    let mut reader = Reader::new(store);
    let mut errors = Vec::new();
    let mut specified: Vec<(SelectorSpec, Pacticipant)> = Vec::new();
    for spec in &query.selectors {
        let found = match PacticipantName::parse("pacticipant", &spec.pacticipant) {
            Ok(name) => store.pacticipant(&name).await?,
            Err(_) => None,
        };
        match found {
            Some(p) => specified.push((spec.clone(), p)),
            None => errors.push(format!("Pacticipant {} not found", spec.pacticipant)),
        }
    }
    if let Some(environment) = &query.options.environment
        && reader.environment(environment).await?.is_none()
    {
        errors.push(format!(
            "Environment with name '{environment}' does not exist"
        ));
    }
    errors.extend(query.option_errors());
    if !errors.is_empty() {
        return Err(MatrixError::Invalid(errors));
    }

    // Ignore selectors: those naming nothing become warnings.
    let mut warnings = Vec::new();
    let mut rules = Vec::new();
    for spec in &query.ignore {
        let pacticipant = match PacticipantName::parse("pacticipant", &spec.pacticipant) {
            Ok(name) => store.pacticipant(&name).await?,
            Err(_) => None,
        };
        let Some(pacticipant) = pacticipant else {
            warnings.push(format!(
                "WARNING: Cannot ignore {}: no pacticipant with that name exists",
                spec.pacticipant
            ));
            continue;
        };
        let version_id = match &spec.version {
            None => None,
            Some(number) => {
                let found = match VersionNumber::parse("version", number) {
                    Ok(n) => store.version(pacticipant.id, &n).await?,
                    Err(_) => None,
                };
                match found {
                    Some(v) => Some(v.id),
                    None => {
                        warnings.push(format!(
                            "WARNING: Cannot ignore version {number} of {}: it does not exist",
                            pacticipant.name
                        ));
                        continue;
                    }
                }
            }
        };
        rules.push(IgnoreRule {
            pacticipant_id: pacticipant.id,
            version_id,
        });
    }
    let ignores_pacticipant = |id: i64| {
        rules
            .iter()
            .any(|r| r.pacticipant_id == id && r.version_id.is_none())
    };
    let ignores_version = |pacticipant_id: i64, version_id: i64| {
        rules.iter().any(|r| {
            r.pacticipant_id == pacticipant_id && r.version_id.is_none_or(|v| v == version_id)
        })
    };

    // The specified sides.
    let mut sides: Vec<Side> = Vec::new();
    for (spec, pacticipant) in specified {
        let scope = scope_of(&spec, &pacticipant);
        let versions = reader.resolve(&pacticipant, &scope).await?;
        let ignored = ignores_pacticipant(pacticipant.id)
            || versions.as_ref().is_some_and(|vs| {
                !vs.is_empty() && vs.iter().all(|v| ignores_version(pacticipant.id, v.id))
            });
        sides.push(Side {
            pacticipant,
            scope,
            versions,
            ignored,
        });
    }
    let specified_count = sides.len();

    // The integrations, and the sides they need on the other end.
    let infer = query.options.infers() || specified_count == 1;
    let mut links: Vec<Link> = Vec::new();
    let mut inferred: HashMap<i64, usize> = HashMap::new();
    if infer {
        let specified_versions: Vec<i64> = sides
            .iter()
            .filter_map(|s| s.versions.as_ref())
            .flatten()
            .map(|v| v.id)
            .collect();
        reader.prefetch_publications(&specified_versions).await?;
        // Who each specified side integrates with, in the order the links are made:
        // (side, other pacticipant, whether the side is the consumer).
        let mut partners: Vec<(usize, i64, bool)> = Vec::new();
        for (index, side) in sides.iter().enumerate() {
            let me = &side.pacticipant;
            let integrations = reader.integrations(me.id).await?;
            // As a consumer: the providers this version's pacts name.
            let providers: Vec<i64> = match side.versions.clone() {
                Some(versions) => {
                    let mut found = BTreeMap::new();
                    for v in versions {
                        for pp in reader.publications_of_version(v.id).await? {
                            found.insert(pp.provider_name.clone(), pp.provider_id);
                        }
                    }
                    found.into_values().collect()
                }
                None => integrations
                    .iter()
                    .filter(|i| i.consumer_id == me.id)
                    .map(|i| i.provider_id)
                    .collect(),
            };
            partners.extend(
                providers
                    .into_iter()
                    .filter(|id| *id != me.id)
                    .map(|id| (index, id, true)),
            );
            // As a provider: every consumer with a pact for it.
            partners.extend(
                integrations
                    .iter()
                    .filter(|i| i.provider_id == me.id && i.consumer_id != me.id)
                    .map(|i| (index, i.consumer_id, false)),
            );
        }
        let others: Vec<i64> = partners.iter().map(|(_, id, _)| *id).collect();
        add_inferred_sides(
            &others,
            &mut sides,
            specified_count,
            &mut inferred,
            &query.options,
            &mut reader,
        )
        .await?;
        for (index, other_id, as_consumer) in partners {
            // A pacticipant deleted while the query ran has no side.
            let other = match sides[..specified_count]
                .iter()
                .position(|s| s.pacticipant.id == other_id)
            {
                Some(specified) => specified,
                None => match inferred.get(&other_id) {
                    Some(found) => *found,
                    None => continue,
                },
            };
            links.push(if as_consumer {
                Link {
                    consumer: index,
                    provider: other,
                    required: true,
                }
            } else {
                Link {
                    consumer: other,
                    provider: index,
                    required: false,
                }
            });
        }
    } else {
        // Several selectors and no option: only the integrations between them.
        for c in 0..specified_count {
            for p in 0..specified_count {
                let (consumer, provider) = (&sides[c], &sides[p]);
                if consumer.pacticipant.id == provider.pacticipant.id {
                    continue;
                }
                let integrations = reader.integrations(consumer.pacticipant.id).await?;
                let integrated = integrations.iter().any(|i| {
                    i.consumer_id == consumer.pacticipant.id
                        && i.provider_id == provider.pacticipant.id
                });
                if !integrated {
                    continue;
                }
                let provider_id = provider.pacticipant.id;
                let has_pact = match consumer.versions.clone() {
                    None => true,
                    Some(versions) => {
                        let mut any = false;
                        for v in versions {
                            any |= reader
                                .publications_of_version(v.id)
                                .await?
                                .iter()
                                .any(|pp| pp.provider_id == provider_id);
                        }
                        any
                    }
                };
                if has_pact {
                    links.push(Link {
                        consumer: c,
                        provider: p,
                        required: true,
                    });
                }
            }
        }
    }
    // One link per pair of sides, required if any duplicate is.
    let mut unique: Vec<Link> = Vec::new();
    for link in links {
        match unique
            .iter_mut()
            .find(|l| l.consumer == link.consumer && l.provider == link.provider)
        {
            Some(existing) => existing.required |= link.required,
            None => unique.push(link),
        }
    }
    let links = unique;

    // The rows. The publications of every selected consumer version, and then the
    // results for every content they name, are read in one go.
    let selected_versions: Vec<i64> = links
        .iter()
        .filter_map(|l| sides[l.consumer].versions.as_ref())
        .flatten()
        .map(|v| v.id)
        .collect();
    reader.prefetch_publications(&selected_versions).await?;
    let mut contents_by_provider: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for link in &links {
        let provider_id = sides[link.provider].pacticipant.id;
        if let Some(versions) = &sides[link.consumer].versions {
            for v in versions {
                for pp in &reader.publications_of_version[&v.id] {
                    if pp.provider_id == provider_id {
                        contents_by_provider
                            .entry(provider_id)
                            .or_default()
                            .push(pp.pact_version_id);
                    }
                }
            }
        }
    }
    reader.prefetch_verifications(&contents_by_provider).await?;
    let mut rows: Vec<Row> = Vec::new();
    let mut seen: HashSet<(i64, Option<i64>)> = HashSet::new();
    for (link_index, link) in links.iter().enumerate() {
        let consumer = &sides[link.consumer];
        let provider = &sides[link.provider];
        let provider_id = provider.pacticipant.id;
        let publications: Vec<Publication> = match &consumer.versions {
            Some(versions) => {
                let mut found = Vec::new();
                for v in versions {
                    found.extend(
                        reader
                            .publications_of_version(v.id)
                            .await?
                            .into_iter()
                            .filter(|pp| pp.provider_id == provider_id),
                    );
                }
                found
            }
            None => {
                store
                    .publications(PublicationFilter {
                        consumer_id: Some(consumer.pacticipant.id),
                        provider_id: Some(provider_id),
                        ..Default::default()
                    })
                    .await?
            }
        };
        // A pact without a matching result is a row of its own, unless every
        // consumer version is selected against particular provider versions: then
        // only what those provider versions verified is of interest.
        let unverified_rows = consumer.versions.is_some() || provider.versions.is_none();
        for pp in publications {
            let verifications: Vec<Verification> = reader
                .verifications(pp.pact_version_id, provider_id)
                .await?
                .into_iter()
                .filter(|v| provider.contains(v.provider_version_id))
                .collect();
            if verifications.is_empty() {
                if unverified_rows && seen.insert((pp.id, None)) {
                    rows.push(Row {
                        publication: pp,
                        verification: None,
                        ignored: false,
                        link: link_index,
                    });
                }
                continue;
            }
            for v in verifications {
                if seen.insert((pp.id, Some(v.id))) {
                    rows.push(Row {
                        publication: pp.clone(),
                        verification: Some(v),
                        ignored: false,
                        link: link_index,
                    });
                }
            }
        }
    }
    // Most recent first: consumer name, consumer version (newest first), provider
    // name, then the newest verification first (a missing one before any).
    rows.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.publication.consumer_name.clone(),
                std::cmp::Reverse(r.publication.consumer_version_id),
                r.publication.provider_name.clone(),
                std::cmp::Reverse(r.verification.as_ref().map_or(i64::MAX, |v| v.id)),
            )
        };
        key(a).cmp(&key(b))
    });
    let rows = apply_latestby(query.options.latestby, rows);
    let mut rows: Vec<Row> = if query.options.success.is_empty() {
        rows
    } else {
        rows.into_iter()
            .filter(|r| {
                r.success()
                    .is_some_and(|s| query.options.success.contains(&s))
            })
            .collect()
    };
    for row in &mut rows {
        let pp = &row.publication;
        row.ignored = ignores_version(pp.consumer_id, pp.consumer_version_id)
            || row
                .verification
                .as_ref()
                .is_some_and(|v| ignores_version(v.provider_id, v.provider_version_id))
            || (row.verification.is_none() && ignores_pacticipant(pp.provider_id));
    }
    let (considered, ignored): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| !r.ignored);

    // Required integrations without any row (possible when `success[]` filtered
    // them away).
    let all_rows: Vec<&Row> = considered.iter().chain(ignored.iter()).collect();
    let missing_links: Vec<&Link> = links
        .iter()
        .filter(|l| l.required)
        .filter(|l| {
            !ignores_pacticipant(sides[l.consumer].pacticipant.id)
                && !ignores_pacticipant(sides[l.provider].pacticipant.id)
        })
        .filter(|l| {
            let (c, p) = (
                &sides[l.consumer].pacticipant,
                &sides[l.provider].pacticipant,
            );
            !all_rows
                .iter()
                .any(|r| r.publication.consumer_id == c.id && r.publication.provider_id == p.id)
        })
        .collect();

    // Specified selectors that name no version.
    let empty_sides: Vec<&Side> = sides[..specified_count]
        .iter()
        .filter(|s| s.versions.as_ref().is_some_and(Vec::is_empty))
        .collect();

    let mut deployable = if empty_sides.iter().any(|s| !s.ignored) {
        Some(false)
    } else if considered.iter().any(|r| r.success().is_none()) || !missing_links.is_empty() {
        None
    } else {
        Some(considered.iter().all(|r| r.success() == Some(true)))
    };
    let counts = Counts {
        success: considered
            .iter()
            .filter(|r| r.success() == Some(true))
            .count(),
        failed: considered
            .iter()
            .filter(|r| r.success() == Some(false))
            .count(),
        unknown: considered.iter().filter(|r| r.success().is_none()).count() + missing_links.len(),
        ignored: (!query.ignore.is_empty()).then_some(ignored.len()),
    };

    // The reasons, one actionable line each.
    let words = Words {
        base,
        sides: &sides,
        links: &links,
    };
    let mut reasons: Vec<Notice> = Vec::new();
    if !empty_sides.is_empty() {
        for side in &empty_sides {
            let line = words.empty_side(side, &mut reader).await?;
            if side.ignored {
                reasons.push(Notice::new(NoticeKind::Info, format!("Ignoring: {line}")));
            } else {
                reasons.push(Notice::new(NoticeKind::Error, line));
            }
        }
    } else {
        for link in &missing_links {
            reasons.push(Notice::new(NoticeKind::Warning, words.missing_link(link)));
        }
        for row in considered.iter().filter(|r| r.success() == Some(false)) {
            reasons.push(Notice::new(NoticeKind::Error, words.failed(row)));
        }
        for row in considered.iter().filter(|r| r.success().is_none()) {
            let line = words.unverified(row, &mut reader).await?;
            reasons.push(Notice::new(NoticeKind::Warning, line));
        }
        if deployable == Some(true) {
            let text = if considered.is_empty() {
                "There are no missing dependencies"
            } else {
                "All required verification results are published and successful"
            };
            reasons.insert(0, Notice::new(NoticeKind::Success, text));
        }
        for row in ignored.iter().filter(|r| r.success() != Some(true)) {
            let line = match row.success() {
                Some(_) => words.failed(row),
                None => words.unverified(row, &mut reader).await?,
            };
            reasons.push(Notice::new(NoticeKind::Info, format!("Ignoring: {line}")));
        }
    }
    let mut unique_reasons: Vec<Notice> = Vec::new();
    for notice in reasons {
        if !unique_reasons.contains(&notice) {
            unique_reasons.push(notice);
        }
    }
    let mut reasons = unique_reasons;
    for warning in warnings {
        reasons.push(Notice::new(NoticeKind::Warning, warning));
    }

    // Advice and partial results: notices that are not reasons.
    let mut notices = Vec::new();
    let o = &query.options;
    if specified_count == 1 && o.tag.is_none() && o.environment.is_none() && !o.main_branch {
        notices.push(Notice::new(
            NoticeKind::Warning,
            "WARN: It is recommended to specify the environment into which you are deploying. Without it, the answer is about the latest versions of the other applications, not about what is deployed.",
        ));
    }
    if sides[..specified_count]
        .iter()
        .all(|s| !matches!(s.scope, Scope::Version(_)))
    {
        notices.push(Notice::new(
            NoticeKind::Warning,
            "WARN: It is recommended to specify the version number (rather than latest) of the pacticipant you wish to deploy, as the latest version may change between this check and the deployment.",
        ));
    }
    notices.extend(words.partially_verified(&considered));

    // Open drift in the target environment (an Accord extension).
    let drift = match &o.environment {
        None => None,
        Some(environment) if o.drift == DriftMode::Ignore => Some(DriftOutcome {
            mode: o.drift,
            environment: environment.clone(),
            concerns: vec![],
        }),
        Some(environment) => {
            let mut pacts = Vec::new();
            let mut providers = Vec::new();
            for side in &sides[..specified_count] {
                let Some(versions) = side.versions.as_ref().filter(|vs| !vs.is_empty()) else {
                    continue;
                };
                for version in versions {
                    for pp in reader.publications_of_version(version.id).await? {
                        if !ignores_pacticipant(pp.provider_id) {
                            pacts.push(CandidatePact {
                                consumer: pp.consumer_name,
                                consumer_version: pp.consumer_version_number,
                                provider_id: pp.provider_id,
                                provider: pp.provider_name,
                                pact_version_id: pp.pact_version_id,
                            });
                        }
                    }
                }
                let id = side.pacticipant.id;
                let consumed = reader
                    .integrations(id)
                    .await?
                    .iter()
                    .any(|i| i.provider_id == id && i.consumer_id != id);
                if consumed {
                    providers.push(CandidateProvider {
                        pacticipant_id: id,
                        name: side.name().to_string(),
                        version: versions
                            .iter()
                            .map(|v| v.number.as_str())
                            .collect::<Vec<_>>()
                            .join(" or "),
                    });
                }
            }
            let assessment = match reader.environment(environment).await? {
                Some(env) => drift::assess(store, base, &env, o.drift, &pacts, &providers).await?,
                None => drift::Assessment::default(),
            };
            for concern in &assessment.concerns {
                match o.drift {
                    DriftMode::Block => {
                        reasons.push(Notice::new(NoticeKind::Error, concern.text.clone()));
                        deployable = Some(false);
                    }
                    DriftMode::Warn | DriftMode::Ignore => {
                        notices.push(Notice::new(NoticeKind::Warning, concern.text.clone()));
                    }
                }
            }
            for note in assessment.notes {
                notices.push(Notice::new(NoticeKind::Info, note));
            }
            Some(DriftOutcome {
                mode: o.drift,
                environment: environment.clone(),
                concerns: assessment.concerns,
            })
        }
    };

    let total = considered.len() + ignored.len();
    let mut rows: Vec<Row> = considered.into_iter().chain(ignored).collect();
    if let Some(limit) = query.options.limit
        && rows.len() > limit
    {
        rows.truncate(limit);
        notices.push(Notice::new(
            NoticeKind::Info,
            format!(
                "Showing {limit} of {total} rows (limit={limit}); the answer takes every row into account."
            ),
        ));
    }
    Ok(Outcome {
        deployable,
        counts,
        reasons,
        notices,
        rows,
        drift,
    })
}

/// Adds a side for each pacticipant at the other end of an integration that the query
/// does not name (and that has none yet), in the order given, with the versions the
/// options select. Read in a few queries for all of them: the pacticipants, and for an
/// environment what is deployed or released there. Pacticipants deleted while the query
/// runs get no side.
async fn add_inferred_sides(
    pacticipant_ids: &[i64],
    sides: &mut Vec<Side>,
    specified_count: usize,
    inferred: &mut HashMap<i64, usize>,
    options: &Options,
    reader: &mut Reader<'_>,
) -> Result<(), StoreError> {
    let mut new_ids: Vec<i64> = Vec::new();
    for id in pacticipant_ids {
        let known = sides[..specified_count]
            .iter()
            .any(|s| s.pacticipant.id == *id)
            || inferred.contains_key(id)
            || new_ids.contains(id);
        if !known {
            new_ids.push(*id);
        }
    }
    if new_ids.is_empty() {
        return Ok(());
    }
    // Every inferred side has the same environment scope, when there is one.
    let environment = match &options.environment {
        Some(name) => reader.environment(name).await?,
        None => None,
    };
    // The pacticipants and what is in the environment, at once.
    let (found, mut records) =
        tokio::try_join!(reader.store.pacticipants_by_ids(&new_ids), async {
            if environment.is_some() {
                reader.store.current_records_of(&new_ids).await
            } else {
                Ok(vec![])
            }
        })?;
    let mut found: HashMap<i64, Pacticipant> = found.into_iter().map(|p| (p.id, p)).collect();
    let mut in_environment: Option<HashMap<i64, Vec<VersionRef>>> = None;
    if options.environment.is_some() {
        let mut current: HashMap<i64, Vec<VersionRef>> = HashMap::new();
        if let Some(environment) = environment {
            records.retain(|r| r.environment_id == environment.id);
            // Newest first, each version once (deployed and released count alike).
            records.sort_by_key(|r| std::cmp::Reverse(r.version_id));
            records.dedup_by_key(|r| r.version_id);
            for r in records {
                current
                    .entry(r.pacticipant_id)
                    .or_default()
                    .push(VersionRef {
                        id: r.version_id,
                        number: r.version_number,
                    });
            }
        }
        in_environment = Some(current);
    }
    for id in new_ids {
        let Some(pacticipant) = found.remove(&id) else {
            continue;
        };
        let scope = inferred_scope(options, &pacticipant);
        let versions = match (&scope, in_environment.as_mut()) {
            (Scope::InEnvironment(_), Some(current)) => {
                Some(current.remove(&id).unwrap_or_default())
            }
            _ => reader.resolve(&pacticipant, &scope).await?,
        };
        sides.push(Side {
            pacticipant,
            scope,
            versions,
            ignored: false,
        });
        inferred.insert(id, sides.len() - 1);
    }
    Ok(())
}

/// Keeps the latest row per key; rows without a verification are all kept, as
/// each is a pact waiting for a result.
fn apply_latestby(latestby: Option<LatestBy>, rows: Vec<Row>) -> Vec<Row> {
    let Some(latestby) = latestby else {
        return rows;
    };
    let key = |r: &Row| {
        let pp = &r.publication;
        let provider_version = r.verification.as_ref().map(|v| v.provider_version_id);
        match latestby {
            LatestBy::Cvpv => (
                pp.consumer_id,
                Some(pp.consumer_version_id),
                pp.provider_id,
                provider_version,
            ),
            LatestBy::Cvp => (
                pp.consumer_id,
                Some(pp.consumer_version_id),
                pp.provider_id,
                None,
            ),
            LatestBy::Cp => (pp.consumer_id, None, pp.provider_id, None),
        }
    };
    let mut first_of_group: HashMap<(i64, Option<i64>, i64, Option<i64>), bool> = HashMap::new();
    let mut kept = Vec::new();
    for row in rows {
        match first_of_group.get(&key(&row)) {
            None => {
                first_of_group.insert(key(&row), row.verification.is_none());
                kept.push(row);
            }
            // The group's first row had no result: keep the whole group.
            Some(true) => kept.push(row),
            Some(false) => {}
        }
    }
    kept
}

/// Writes the messages.
struct Words<'a> {
    base: &'a str,
    sides: &'a [Side],
    links: &'a [Link],
}

impl Words<'_> {
    fn pact_url(&self, pp: &Publication) -> String {
        Urls(self.base).pact(
            &pp.provider_name,
            &pp.consumer_name,
            &pp.consumer_version_number,
        )
    }

    fn sides_of(&self, row: &Row) -> (&Side, &Side) {
        let link = self.links[row.link];
        (&self.sides[link.consumer], &self.sides[link.provider])
    }

    fn verify_command(&self, provider: &str, pact_url: &str, version: &str) -> String {
        format!(
            "accord verify --provider {} --provider-base-url URL_OF_{} --pact-url {pact_url} --provider-version {} --publish",
            shell_word(provider),
            placeholder(provider),
            shell_word(version)
        )
    }

    fn failed(&self, row: &Row) -> String {
        let (consumer, provider) = self.sides_of(row);
        let pp = &row.publication;
        let pact_url = self.pact_url(pp);
        let verification = row.verification.as_ref();
        let provider_version = verification.map_or("?", |v| v.provider_version_number.as_str());
        let result_url = verification.map_or(String::new(), |v| {
            Urls(self.base).verification(&v.provider_name, &v.consumer_name, &v.sha, v.id)
        });
        format!(
            "The verification of the pact between {} and {} failed (result: {result_url}). Fix {} or change the pact, then publish a passing result: {}",
            consumer.describe(&pp.consumer_version_number),
            provider.describe(provider_version),
            pp.provider_name,
            self.verify_command(&pp.provider_name, &pact_url, "NEW_PROVIDER_VERSION"),
        )
    }

    async fn unverified(&self, row: &Row, reader: &mut Reader<'_>) -> Result<String, StoreError> {
        let (consumer, provider) = self.sides_of(row);
        let pp = &row.publication;
        let pact_url = self.pact_url(pp);
        let consumer_text = consumer.describe(&pp.consumer_version_number);
        let provider_name = &pp.provider_name;
        Ok(match &provider.versions {
            None => format!(
                "The pact between {consumer_text} and {provider_name} has never been verified by any version of {provider_name} ({pact_url}). Verify it and publish the result: {}",
                self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION")
            ),
            Some(versions) if !versions.is_empty() => {
                let first = &versions[0].number;
                let more = if versions.len() > 1 {
                    format!(
                        " (then again with --provider-version {})",
                        versions[1..]
                            .iter()
                            .map(|v| v.number.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                };
                format!(
                    "{} has not verified the pact of {consumer_text} ({pact_url}). Verify it and publish the result: {}{more}",
                    provider.describe_versions(),
                    self.verify_command(provider_name, &pact_url, first)
                )
            }
            Some(_) => {
                // Nothing selected on the provider side: say why, and what would fix it.
                let verified_by = reader
                    .verifications(pp.pact_version_id, pp.provider_id)
                    .await?
                    .into_iter()
                    .rev()
                    .find(|v| v.success)
                    .map(|v| v.provider_version_number);
                let candidate = verified_by.clone().unwrap_or_else(|| "VERSION".to_string());
                let already = verified_by
                    .map(|v| format!(" ({provider_name} {v} has verified it)"))
                    .unwrap_or_default();
                let hint = match &provider.scope {
                    Scope::InEnvironment(e) => format!(
                        "Deploy a version of {provider_name} that has verified this pact{already} and record it: accord record-deployment --pacticipant {} --version {} --environment {} --broker-base-url {}",
                        shell_word(provider_name),
                        shell_word(&candidate),
                        shell_word(e),
                        self.base
                    ),
                    Scope::LatestWithTag(t) | Scope::WithTag(t) => format!(
                        "Verify the pact from a version of {provider_name} tagged {t}{already}: {} --provider-tags {}",
                        self.verify_command(provider_name, &pact_url, &candidate),
                        shell_word(t)
                    ),
                    Scope::BranchHead(b)
                    | Scope::OnBranch(b)
                    | Scope::MainBranchHead(Some(b))
                    | Scope::OnMainBranch(Some(b)) => format!(
                        "Verify the pact from a version of {provider_name} on branch {b}: {} --provider-branch {}",
                        self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION"),
                        shell_word(b)
                    ),
                    Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => format!(
                        "Set the main branch of {provider_name} (PATCH {} with {{\"mainBranch\": \"main\"}}) and publish results from it",
                        Urls(self.base).pacticipant(provider_name)
                    ),
                    _ => format!(
                        "Verify it and publish the result: {}",
                        self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION")
                    ),
                };
                format!(
                    "{consumer_text} has a pact with {provider_name} ({pact_url}), but {}. {hint}",
                    lowercase_first(&provider.emptiness())
                )
            }
        })
    }

    fn missing_link(&self, link: &Link) -> String {
        let consumer = &self.sides[link.consumer];
        let provider = &self.sides[link.provider];
        format!(
            "There is no verified pact between {} and {} among the rows selected (success[] filters the rows). Ask without success[] to see what is missing.",
            consumer.describe_versions(),
            provider.describe_versions()
        )
    }

    async fn empty_side(&self, side: &Side, reader: &mut Reader<'_>) -> Result<String, StoreError> {
        let name = side.name();
        let hint = match &side.scope {
            Scope::Version(number) => {
                let integrations = reader.integrations(side.pacticipant.id).await?;
                let consumer = integrations
                    .iter()
                    .any(|i| i.consumer_id == side.pacticipant.id);
                let provider = integrations
                    .iter()
                    .any(|i| i.provider_id == side.pacticipant.id);
                let publish = format!(
                    "accord publish PACTS_DIR --consumer-app-version {} --broker-base-url {}",
                    shell_word(number),
                    self.base
                );
                let verify = format!(
                    "accord verify --provider {} --provider-base-url URL_OF_{} --broker-url {} --provider-version {} --publish",
                    shell_word(name),
                    placeholder(name),
                    self.base,
                    shell_word(number)
                );
                match (consumer, provider) {
                    (true, false) => {
                        format!("Check the version number, or publish its pacts first: {publish}")
                    }
                    (false, true) => format!(
                        "Check the version number, or publish its verification results first: {verify}"
                    ),
                    _ => format!(
                        "Check the version number, or publish its pacts ({publish}) or its verification results ({verify}) first"
                    ),
                }
            }
            Scope::InEnvironment(e) => format!(
                "Record the deployment first: accord record-deployment --pacticipant {} --version VERSION --environment {} --broker-base-url {}",
                shell_word(name),
                shell_word(e),
                self.base
            ),
            Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => format!(
                "Set it with PATCH {} and {{\"mainBranch\": \"main\"}}",
                Urls(self.base).pacticipant(name)
            ),
            _ => "Check the name, or publish a version with it first".to_string(),
        };
        Ok(format!("{}. {hint}", side.emptiness()))
    }

    /// Warnings for pacts that some, but not all, of several selected provider
    /// versions verified: the answer counts the ones that did (as the Pact Broker
    /// does), but the others run beside them.
    fn partially_verified(&self, considered: &[Row]) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut by_publication: BTreeMap<(i64, usize), Vec<&Row>> = BTreeMap::new();
        for row in considered.iter().filter(|r| r.verification.is_some()) {
            by_publication
                .entry((row.publication.id, row.link))
                .or_default()
                .push(row);
        }
        for ((_, link), rows) in by_publication {
            let provider = &self.sides[self.links[link].provider];
            let Some(versions) = &provider.versions else {
                continue;
            };
            if versions.len() < 2 {
                continue;
            }
            let pp = &rows[0].publication;
            let verified: HashSet<i64> = rows
                .iter()
                .filter_map(|r| r.verification.as_ref().map(|v| v.provider_version_id))
                .collect();
            let consumer = &self.sides[self.links[link].consumer];
            for version in versions.iter().filter(|v| !verified.contains(&v.id)) {
                let pact_url = self.pact_url(pp);
                notices.push(Notice::new(
                    NoticeKind::Warning,
                    format!(
                        "{} has not verified the pact of {} ({pact_url}); the answer relies on the other selected version(s) of {} that did. Verify it too: {}",
                        provider.describe(&version.number),
                        consumer.describe(&pp.consumer_version_number),
                        pp.provider_name,
                        self.verify_command(&pp.provider_name, &pact_url, &version.number)
                    ),
                ));
            }
        }
        notices
    }
}

/// Quotes a word for a shell command line when it needs quoting.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `order-service` -> `ORDER_SERVICE`, for placeholders in commands.
fn placeholder(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A sentence used inside another: "No version ..." becomes "no version ...";
/// sentences starting with a name keep it.
fn lowercase_first(text: &str) -> String {
    match text.strip_prefix("No ") {
        Some(rest) => format!("no {rest}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_options_from_a_query_string() {
        let q = NestedQuery::parse(
            "q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv&ignore[][pacticipant]=Baz&success[]=true&limit=5",
        );
        let query = MatrixQuery::from_query(&q).unwrap();
        assert_eq!(query.selectors.len(), 2);
        assert_eq!(query.selectors[0].version.as_deref(), Some("1"));
        assert!(query.selectors[1].latest);
        assert_eq!(query.selectors[1].tag.as_deref(), Some("prod"));
        assert_eq!(query.options.latestby, Some(LatestBy::Cvpv));
        assert_eq!(query.options.success, vec![true]);
        assert_eq!(query.options.limit, Some(5));
        assert_eq!(query.ignore[0].pacticipant, "Baz");
    }

    #[test]
    fn invalid_queries_list_every_problem() {
        let q = NestedQuery::parse(
            "q[][version]=1&q[][pacticipant]=Foo&q[][version]=2&q[][latest]=true&latestby=x&limit=0&environment=prod&tag=t",
        );
        let errors = MatrixQuery::from_query(&q).unwrap_err();
        let text = errors.join("\n");
        assert!(
            text.contains("Please specify the pacticipant name"),
            "{text}"
        );
        assert!(text.contains("latestby must be"), "{text}");
        assert!(text.contains("limit must be"), "{text}");
        assert!(text.contains("both a tag and an environment"), "{text}");
        let none = MatrixQuery::from_query(&NestedQuery::parse("latestby=cvpv")).unwrap_err();
        assert_eq!(none, vec!["Please provide 1 or more version selectors."]);
        let both = MatrixQuery::from_query(&NestedQuery::parse(
            "q[][pacticipant]=Foo&q[][version]=1&q[][latest]=true",
        ))
        .unwrap_err();
        assert_eq!(
            both,
            vec!["A version number and latest flag cannot both be specified for Foo"]
        );
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("order-service"), "order-service");
        assert_eq!(shell_word("Foo Thing"), "'Foo Thing'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(placeholder("order-service"), "ORDER_SERVICE");
    }
}
