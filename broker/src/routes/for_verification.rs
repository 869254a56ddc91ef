//! `/pacts/provider/{p}/for-verification`: which pacts a provider should verify,
//! with consumer version selectors, pending status and work-in-progress pacts.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::find_pacticipant;
use crate::domain::{EnvironmentName, ValidationError};
use crate::error::ApiError;
use crate::http::{Base, JsonBody, enc, hal};
use crate::metadata::PactMetadata;
use crate::query::NestedQuery;
use crate::repr::Urls;
use crate::startup::AppState;
use crate::store::batch::{HeadKind, HeadRef, Success};
use crate::store::{Pacticipant, Publication, Tag};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pacts/provider/{provider}/for-verification",
        get(get_pacts).post(post_pacts),
    )
}

/// One consumer version selector, validated.
#[derive(Debug, Clone, Default)]
struct Selector {
    main_branch: bool,
    branch: Option<String>,
    matching_branch: bool,
    fallback_branch: Option<String>,
    tag: Option<String>,
    fallback_tag: Option<String>,
    latest: Option<bool>,
    deployed: bool,
    released: bool,
    environment: Option<String>,
    consumer: Option<String>,
}

/// The request, validated.
#[derive(Debug, Default)]
struct Request {
    selectors: Vec<Selector>,
    provider_branch: Option<String>,
    provider_tags: Vec<String>,
    include_pending: bool,
    wip_since: Option<DateTime<Utc>>,
}

fn parse_selector(value: &Value, index: usize, errors: &mut Vec<ValidationError>) -> Vec<Selector> {
    let field = "consumerVersionSelectors";
    let mut fail = |message: &str| {
        errors.push(ValidationError::new(
            field,
            format!("{message} (at index {index})"),
        ))
    };
    let Some(object) = value.as_object() else {
        fail("must be an object");
        return vec![];
    };
    let string = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} must be a non-blank string")),
        }
    };
    let truth = |key: &str| -> Result<Option<bool>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{key} must be a boolean")),
        }
    };
    let parsed = (|| -> Result<(Selector, bool), String> {
        let selector = Selector {
            main_branch: truth("mainBranch")?.unwrap_or(false),
            branch: string("branch")?,
            matching_branch: truth("matchingBranch")?.unwrap_or(false),
            fallback_branch: string("fallbackBranch")?,
            tag: string("tag")?,
            fallback_tag: string("fallbackTag")?,
            latest: truth("latest")?,
            deployed: truth("deployed")?.unwrap_or(false),
            released: truth("released")?.unwrap_or(false),
            environment: string("environment")?,
            consumer: string("consumer")?,
        };
        let deployed_or_released = truth("deployedOrReleased")?.unwrap_or(false);
        Ok((selector, deployed_or_released))
    })();
    let (selector, deployed_or_released) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            fail(&message);
            return vec![];
        }
    };
    let s = &selector;
    let branch_kind = s.main_branch
        || s.branch.is_some()
        || s.matching_branch
        || s.fallback_branch.is_some()
        || s.tag.is_some()
        || s.fallback_tag.is_some()
        || s.latest.is_some();
    let environment_kind =
        s.environment.is_some() || s.deployed || s.released || deployed_or_released;
    let rule = if !(s.main_branch
        || s.tag.is_some()
        || s.branch.is_some()
        || s.environment.is_some()
        || s.matching_branch
        || s.deployed
        || s.released
        || deployed_or_released
        || s.latest == Some(true))
    {
        Some(
            "must specify one of mainBranch, branch, matchingBranch, tag, environment, deployed, released, deployedOrReleased or latest=true",
        )
    } else if branch_kind && environment_kind {
        Some(
            "cannot combine branch, tag or latest keys with environment, deployed, released or deployedOrReleased",
        )
    } else if [s.deployed, s.released, deployed_or_released]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        Some("deployed, released and deployedOrReleased cannot be combined")
    } else if s.main_branch
        && (s.branch.is_some() || s.tag.is_some() || s.matching_branch || s.latest == Some(false))
    {
        Some("mainBranch can only be combined with consumer and latest=true")
    } else if s.matching_branch && (s.branch.is_some() || s.tag.is_some()) {
        Some("matchingBranch can only be combined with consumer")
    } else if s.tag.is_some() && s.branch.is_some() {
        Some("tag and branch cannot be combined")
    } else if s.fallback_branch.is_some() && s.branch.is_none() {
        Some("fallbackBranch requires branch")
    } else if (s.branch.is_some() || s.fallback_branch.is_some()) && s.latest == Some(false) {
        Some("branch and fallbackBranch cannot be used with latest=false")
    } else if s.fallback_tag.is_some() && (s.tag.is_none() || s.latest != Some(true)) {
        Some("fallbackTag requires tag and latest=true")
    } else {
        None
    };
    if let Some(rule) = rule {
        fail(rule);
        return vec![];
    }
    if deployed_or_released {
        // Split into one deployed and one released selector, as the reference does.
        let deployed = Selector {
            deployed: true,
            ..selector.clone()
        };
        let released = Selector {
            released: true,
            ..selector
        };
        return vec![deployed, released];
    }
    vec![selector]
}

fn parse_request(body: &Value) -> Result<Request, ApiError> {
    let mut errors = Vec::new();
    let mut request = Request::default();
    let Some(object) = body.as_object() else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    match object.get("consumerVersionSelectors") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                request
                    .selectors
                    .extend(parse_selector(item, index, &mut errors));
            }
        }
        Some(_) => errors.push(ValidationError::new(
            "consumerVersionSelectors",
            "must be an array",
        )),
    }
    match object.get("providerVersionBranch") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => request.provider_branch = Some(s.clone()),
        Some(_) => errors.push(ValidationError::new(
            "providerVersionBranch",
            "must be a string",
        )),
    }
    match object.get("providerVersionTags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some(tag) if !tag.trim().is_empty() => {
                        request.provider_tags.push(tag.to_string())
                    }
                    _ => errors.push(ValidationError::new(
                        "providerVersionTags",
                        "must be an array of non-blank strings",
                    )),
                }
            }
        }
        Some(_) => errors.push(ValidationError::new(
            "providerVersionTags",
            "must be an array of strings",
        )),
    }
    match object.get("includePendingStatus") {
        None | Some(Value::Null) => request.include_pending = false,
        Some(Value::Bool(b)) => request.include_pending = *b,
        Some(_) => errors.push(ValidationError::new(
            "includePendingStatus",
            "must be a boolean",
        )),
    }
    match object.get("includeWipPactsSince") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match parse_date(s) {
            Some(date) => request.wip_since = Some(date),
            None => errors.push(ValidationError::new(
                "includeWipPactsSince",
                format!("{s:?} is not a date (use e.g. 2024-01-31 or 2024-01-31T10:00:00Z)"),
            )),
        },
        Some(_) => errors.push(ValidationError::new(
            "includeWipPactsSince",
            "must be a date string",
        )),
    }
    if request.provider_tags.is_empty()
        && (request.include_pending || request.wip_since.is_some())
        && request
            .provider_branch
            .as_ref()
            .is_some_and(|b| b.trim().is_empty())
    {
        errors.push(ValidationError::new(
            "providerVersionBranch",
            "cannot be blank",
        ));
    }
    if request.selectors.iter().any(|s| s.matching_branch)
        && request
            .provider_branch
            .as_ref()
            .is_none_or(|b| b.trim().is_empty())
    {
        errors.push(ValidationError::new(
            "consumerVersionSelectors",
            "matchingBranch requires providerVersionBranch",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    for selector in &mut request.selectors {
        if selector.matching_branch {
            selector.branch = request.provider_branch.clone();
        }
    }
    Ok(request)
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
}

/// What the selectors need to know about one consumer of the provider: only the
/// heads, tags, deployments and publications they can select, never the history.
struct ConsumerData {
    pacticipant: Pacticipant,
    /// Publications for the provider of the versions the selectors can pick, by
    /// consumer version id.
    publications: BTreeMap<i64, Publication>,
    /// Every branch and tag head with a publication for the provider, when
    /// work-in-progress pacts are wanted: references, read in full only for those the
    /// rule picks.
    wip_heads: Vec<HeadRef>,
    /// The consumer's latest publication for the provider, when a selector asks for it.
    latest_publication: Option<i64>,
    /// Branch heads by branch name (the branches the selectors name).
    branch_heads: BTreeMap<String, i64>,
    /// The latest version with each tag the selectors name.
    tag_heads: BTreeMap<String, i64>,
    /// Every tag of the consumer, only when a selector asks for all versions with a tag.
    tags: Vec<Tag>,
    deployed: Vec<(i64, i64)>,
    released: Vec<(i64, i64)>,
}

impl ConsumerData {
    fn branch_head(&self, branch: &str) -> Option<i64> {
        self.branch_heads.get(branch).copied()
    }
    fn latest_with_tag(&self, tag: &str) -> Option<i64> {
        self.tag_heads.get(tag).copied()
    }
}

/// Whether a selector picks the overall latest pact of a consumer.
fn selects_latest(selector: &Selector) -> bool {
    !selector.main_branch
        && selector.branch.is_none()
        && selector.tag.is_none()
        && !(selector.deployed || selector.released || selector.environment.is_some())
        && selector.latest == Some(true)
}

/// Loads, for every consumer with a pact for the provider (`pacticipants`), what the
/// selectors (and the work-in-progress rule, when `wip`) can select.
async fn load_consumers(
    state: &AppState,
    provider: &Pacticipant,
    pacticipants: Vec<Pacticipant>,
    request: &Request,
    defaults: bool,
    wip: bool,
) -> Result<Vec<ConsumerData>, ApiError> {
    let store = &state.store;
    if pacticipants.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = pacticipants.iter().map(|p| p.id).collect();
    // The branches and tags the selectors name.
    let mut branches: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    if defaults || request.selectors.iter().any(|s| s.main_branch) {
        branches.extend(pacticipants.iter().filter_map(|p| p.main_branch.clone()));
    }
    for selector in request.selectors.iter().filter(|s| !s.main_branch) {
        if let Some(branch) = &selector.branch {
            branches.push(branch.clone());
            branches.extend(selector.fallback_branch.clone());
        } else if let Some(tag) = &selector.tag
            && selector.latest == Some(true)
        {
            tags.push(tag.clone());
            tags.extend(selector.fallback_tag.clone());
        }
    }
    branches.sort();
    branches.dedup();
    tags.sort();
    tags.dedup();
    let all_tagged = request
        .selectors
        .iter()
        .any(|s| !s.main_branch && s.branch.is_none() && s.tag.is_some() && s.latest != Some(true));
    let environments_wanted = defaults
        || request
            .selectors
            .iter()
            .any(|s| s.deployed || s.released || s.environment.is_some());
    // Independent reads, at once. Work-in-progress pacts can come from the head of any
    // branch or tag: those heads are read with their publications, apart from the
    // heads the selectors name.
    let (branch_heads, tag_heads, records, wip_heads) = tokio::try_join!(
        store.branch_heads(&ids, Some(branches.as_slice())),
        store.tag_heads(&ids, Some(tags.as_slice())),
        async {
            if environments_wanted {
                store.current_records_of(&ids).await
            } else {
                Ok(vec![])
            }
        },
        async {
            if wip {
                store.head_publication_refs(provider.id, &ids).await
            } else {
                Ok(vec![])
            }
        },
    )?;
    let mut wip_heads_by_consumer: HashMap<i64, Vec<HeadRef>> = HashMap::new();
    for head in wip_heads {
        wip_heads_by_consumer
            .entry(head.pacticipant_id)
            .or_default()
            .push(head);
    }

    let mut consumers = Vec::with_capacity(pacticipants.len());
    for pacticipant in pacticipants {
        let id = pacticipant.id;
        let tags = if all_tagged {
            store.tags_of_pacticipant(id).await?
        } else {
            vec![]
        };
        consumers.push(ConsumerData {
            branch_heads: branch_heads
                .iter()
                .filter(|h| h.pacticipant_id == id)
                .map(|h| (h.branch_name.clone(), h.version_id))
                .collect(),
            tag_heads: tag_heads
                .iter()
                .filter(|h| h.pacticipant_id == id)
                .map(|h| (h.tag_name.clone(), h.version_id))
                .collect(),
            tags,
            deployed: records
                .iter()
                .filter(|d| d.pacticipant_id == id && !d.released)
                .map(|d| (d.version_id, d.environment_id))
                .collect(),
            released: records
                .iter()
                .filter(|r| r.pacticipant_id == id && r.released)
                .map(|r| (r.version_id, r.environment_id))
                .collect(),
            wip_heads: wip_heads_by_consumer.remove(&id).unwrap_or_default(),
            pacticipant,
            publications: BTreeMap::new(),
            latest_publication: None,
        });
    }

    // The publications of every version a selector can pick, in one read.
    let mut version_ids: Vec<i64> = Vec::new();
    for consumer in &consumers {
        version_ids.extend(consumer.branch_heads.values());
        version_ids.extend(consumer.tag_heads.values());
        version_ids.extend(consumer.tags.iter().map(|t| t.version_id));
        version_ids.extend(consumer.deployed.iter().map(|(v, _)| *v));
        version_ids.extend(consumer.released.iter().map(|(v, _)| *v));
    }
    version_ids.sort_unstable();
    version_ids.dedup();
    let publications = store
        .publications_of_versions(Some(provider.id), &version_ids)
        .await?;
    let mut by_consumer: HashMap<i64, BTreeMap<i64, Publication>> = HashMap::new();
    for pp in publications {
        by_consumer
            .entry(pp.consumer_id)
            .or_default()
            .insert(pp.consumer_version_id, pp);
    }
    for consumer in &mut consumers {
        consumer.publications = by_consumer
            .remove(&consumer.pacticipant.id)
            .unwrap_or_default();
        let name = &consumer.pacticipant.name;
        let wants_latest = request
            .selectors
            .iter()
            .filter(|s| s.consumer.as_ref().is_none_or(|c| c == name))
            .any(selects_latest)
            || (defaults
                && consumer
                    .pacticipant
                    .main_branch
                    .as_ref()
                    .and_then(|m| consumer.branch_head(m))
                    .is_none());
        if wants_latest
            && let Some(pp) = store
                .latest_publication(consumer.pacticipant.id, provider.id)
                .await?
        {
            consumer.latest_publication = Some(pp.consumer_version_id);
            consumer.publications.insert(pp.consumer_version_id, pp);
        }
    }
    Ok(consumers)
}

/// A head that may be a work-in-progress pact: its label is formatted only if it is.
struct WipCandidate<'a> {
    consumer: &'a ConsumerData,
    version_id: i64,
    pact_version_id: i64,
    /// "latest from branch" or "latest with tag", and the name.
    label: (&'static str, &'a String),
}

/// A selected pact with why it was selected.
struct Selected {
    publication: Publication,
    label: String,
    reason: String,
}

fn select(
    selector: &Selector,
    consumer: &ConsumerData,
    environments: &HashMap<String, i64>,
    out: &mut Vec<Selected>,
) {
    let name = &consumer.pacticipant.name;
    let push = |version_id: i64, label: String, reason: String, out: &mut Vec<Selected>| {
        if let Some(pp) = consumer.publications.get(&version_id) {
            out.push(Selected {
                publication: pp.clone(),
                label,
                reason,
            });
        }
    };
    if selector.main_branch {
        if let Some(main) = &consumer.pacticipant.main_branch
            && let Some(head) = consumer.branch_head(main)
        {
            let number = consumer
                .publications
                .get(&head)
                .map(|p| p.consumer_version_number.clone())
                .unwrap_or_default();
            push(
                head,
                "latest from main branch".into(),
                format!("latest version of {name} from the main branch '{main}' ({number})"),
                out,
            );
        }
    } else if let Some(branch) = &selector.branch {
        let (head, used) = match consumer
            .branch_head(branch)
            .filter(|h| consumer.publications.contains_key(h))
        {
            Some(head) => (Some(head), branch.clone()),
            None => match &selector.fallback_branch {
                Some(fallback) => (consumer.branch_head(fallback), fallback.clone()),
                None => (None, branch.clone()),
            },
        };
        if let Some(head) = head {
            let number = consumer
                .publications
                .get(&head)
                .map(|p| p.consumer_version_number.clone())
                .unwrap_or_default();
            let fallback_note = if &used != branch {
                format!(" (fallback branch used because no pact was found for branch '{branch}')")
            } else {
                String::new()
            };
            let label = if selector.matching_branch {
                format!("latest from matching branch {used}")
            } else {
                format!("latest from branch {used}")
            };
            push(
                head,
                label,
                format!("latest version of {name} from branch '{used}' ({number}){fallback_note}"),
                out,
            );
        }
    } else if let Some(tag) = &selector.tag {
        if selector.latest == Some(true) {
            let found = consumer
                .latest_with_tag(tag)
                .filter(|v| consumer.publications.contains_key(v));
            match (found, &selector.fallback_tag) {
                (Some(version), _) => push(
                    version,
                    format!("latest with tag {tag}"),
                    format!("latest version of {name} tagged '{tag}'"),
                    out,
                ),
                (None, Some(fallback)) => {
                    if let Some(version) = consumer.latest_with_tag(fallback) {
                        push(
                            version,
                            format!("latest with tag {fallback}"),
                            format!(
                                "latest version of {name} tagged '{fallback}' (fallback tag used as no pact was found with tag '{tag}')"
                            ),
                            out,
                        );
                    }
                }
                (None, None) => {}
            }
        } else {
            let mut versions: Vec<i64> = consumer
                .tags
                .iter()
                .filter(|t| &t.name == tag)
                .map(|t| t.version_id)
                .collect();
            versions.sort_unstable();
            versions.dedup();
            for version in versions {
                let label = if selector.consumer.is_some() {
                    format!("one of {name} {tag}")
                } else {
                    format!("one of {tag}")
                };
                push(
                    version,
                    label,
                    format!("one of the versions of {name} tagged '{tag}'"),
                    out,
                );
            }
        }
    } else if selector.deployed || selector.released || selector.environment.is_some() {
        let environment_id = selector
            .environment
            .as_ref()
            .and_then(|e| environments.get(e).copied());
        if selector.environment.is_some() && environment_id.is_none() {
            return;
        }
        let names: HashMap<i64, &String> = environments.iter().map(|(n, id)| (*id, n)).collect();
        let in_env = |records: &[(i64, i64)]| -> Vec<(i64, i64)> {
            records
                .iter()
                .copied()
                .filter(|(_, env)| environment_id.is_none_or(|id| id == *env))
                .collect()
        };
        let everything = !selector.deployed && !selector.released;
        if selector.deployed || everything {
            for (version, env) in in_env(&consumer.deployed) {
                let env_name = names.get(&env).map(|s| s.as_str()).unwrap_or_default();
                push(
                    version,
                    format!("deployed to {env_name}"),
                    format!("version(s) of {name} currently deployed to {env_name}"),
                    out,
                );
            }
        }
        if selector.released || everything {
            for (version, env) in in_env(&consumer.released) {
                let env_name = names.get(&env).map(|s| s.as_str()).unwrap_or_default();
                push(
                    version,
                    format!("released in {env_name}"),
                    format!("version(s) of {name} released and supported in {env_name}"),
                    out,
                );
            }
        }
    } else if selector.latest == Some(true)
        && let Some(version) = consumer.latest_publication
    {
        push(
            version,
            "latest".into(),
            format!("latest version of {name} that has a pact with the provider"),
            out,
        );
    }
}

/// Which pact contents are still pending for the provider: a content stays pending
/// until it has a successful result (not of a work-in-progress pact) from the
/// provider branch that will publish results (or from before that branch began),
/// from a version with each of the provider tags (or from before the tag was first
/// used), or, when neither is given, from any version of the provider.
struct PendingRule {
    verified: HashSet<i64>,
    /// What it takes to verify a pending pact, for its notice.
    needs: String,
}

impl PendingRule {
    /// Reads what deciding the pending status of `contents` needs: one grouped query
    /// for a provider branch (or none), the results and the provider's tags for tags.
    async fn load(
        state: &AppState,
        provider_id: i64,
        request: &Request,
        contents: &[i64],
    ) -> Result<Self, ApiError> {
        if let Some(branch) = request.provider_branch.as_ref().filter(|b| !b.is_empty()) {
            let verified = state
                .store
                .successes_by_content(provider_id, Some(branch), contents)
                .await?
                .into_iter()
                .filter(|c| {
                    c.from_branch > 0
                        || c.branch_started_at
                            .is_none_or(|started| c.first_success_at < started)
                })
                .map(|c| c.pact_version_id)
                .collect();
            return Ok(Self {
                verified,
                needs: format!("a version of the provider from branch '{branch}'"),
            });
        }
        if !request.provider_tags.is_empty() {
            let successes = state.store.successes_of(contents).await?;
            let tags = state.store.tags_of_pacticipant(provider_id).await?;
            // For each tag asked about: the versions carrying it, and its first use.
            let rules: Vec<(HashSet<i64>, Option<DateTime<Utc>>)> = request
                .provider_tags
                .iter()
                .map(|tag| {
                    let with_tag = tags.iter().filter(|t| &t.name == tag);
                    (
                        with_tag.clone().map(|t| t.version_id).collect(),
                        with_tag.map(|t| t.created_at).min(),
                    )
                })
                .collect();
            let mut by_content: HashMap<i64, Vec<&Success>> = HashMap::new();
            for success in &successes {
                by_content
                    .entry(success.pact_version_id)
                    .or_default()
                    .push(success);
            }
            let verified = by_content
                .into_iter()
                .filter(|(_, successes)| {
                    rules.iter().all(|(tagged, first_used)| {
                        successes.iter().any(|v| {
                            tagged.contains(&v.provider_version_id)
                                || first_used.is_none_or(|first| v.created_at < first)
                        })
                    })
                })
                .map(|(content, _)| content)
                .collect();
            return Ok(Self {
                verified,
                needs: format!(
                    "a version of the provider with tag(s) {}",
                    request.provider_tags.join(", ")
                ),
            });
        }
        let verified = state
            .store
            .successes_by_content(provider_id, None, contents)
            .await?
            .into_iter()
            .map(|c| c.pact_version_id)
            .collect();
        Ok(Self {
            verified,
            needs: "any version of the provider".into(),
        })
    }

    /// Whether `content` is pending.
    fn is_pending(&self, content: i64) -> bool {
        !self.verified.contains(&content)
    }
}

async fn respond(
    state: &AppState,
    base: &str,
    provider_name: &str,
    body: &Value,
) -> Result<Response, ApiError> {
    let provider = find_pacticipant(state, provider_name).await.map_err(|_| {
        ApiError::not_found(format!("No provider with name '{provider_name}' found"))
    })?;
    let mut request = parse_request(body)?;
    if request.selectors.is_empty() {
        request.selectors = vec![
            Selector {
                main_branch: true,
                ..Default::default()
            },
            Selector {
                deployed: true,
                ..Default::default()
            },
            Selector {
                released: true,
                ..Default::default()
            },
        ];
        // Consumers without a main branch fall back to the overall latest pact (below).
    }
    let defaults = body
        .get("consumerVersionSelectors")
        .and_then(Value::as_array)
        .is_none_or(|s| s.is_empty());
    let (environments, pacticipants) = tokio::try_join!(
        state.store.environments(),
        state.store.consumers_of(provider.id)
    )?;
    let environments: HashMap<String, i64> =
        environments.into_iter().map(|e| (e.name, e.id)).collect();
    for selector in &request.selectors {
        if let Some(env) = &selector.environment {
            EnvironmentName::parse("environment", env)?;
            if !environments.contains_key(env) {
                return Err(ApiError::validation(
                    "consumerVersionSelectors",
                    format!("environment '{env}' does not exist"),
                ));
            }
        }
    }
    let wip_possible = request
        .provider_branch
        .as_ref()
        .is_some_and(|b| !b.is_empty())
        || !request.provider_tags.is_empty();
    let wip_wanted = request.wip_since.is_some() && wip_possible;
    let consumers = load_consumers(
        state,
        &provider,
        pacticipants,
        &request,
        defaults,
        wip_wanted,
    )
    .await?;
    let mut selected = Vec::new();
    for consumer in &consumers {
        for selector in &request.selectors {
            if selector
                .consumer
                .as_ref()
                .is_some_and(|c| c != &consumer.pacticipant.name)
            {
                continue;
            }
            select(selector, consumer, &environments, &mut selected);
        }
        if defaults
            && consumer
                .pacticipant
                .main_branch
                .as_ref()
                .and_then(|m| consumer.branch_head(m))
                .is_none()
        {
            select(
                &Selector {
                    latest: Some(true),
                    ..Default::default()
                },
                consumer,
                &environments,
                &mut selected,
            );
        }
    }
    // Group by content: verifying identical content once is the point.
    let mut groups: BTreeMap<(String, i64), Vec<Selected>> = BTreeMap::new();
    for s in selected {
        groups
            .entry((
                s.publication.consumer_name.clone(),
                s.publication.pact_version_id,
            ))
            .or_default()
            .push(s);
    }
    // Work-in-progress candidates: heads of consumer branches and tags published after
    // the given date, not selected explicitly (whether they are pending is decided below).
    let explicit: HashSet<i64> = groups.keys().map(|(_, id)| *id).collect();
    let mut wip_candidates: Vec<WipCandidate> = Vec::new();
    if let (Some(since), true) = (request.wip_since, wip_possible) {
        for consumer in &consumers {
            for head in &consumer.wip_heads {
                let pp = &head.publication;
                if pp.created_at <= since || explicit.contains(&pp.pact_version_id) {
                    continue;
                }
                let kind = match head.kind {
                    HeadKind::Branch => "latest from branch",
                    HeadKind::Tag => "latest with tag",
                };
                wip_candidates.push(WipCandidate {
                    consumer,
                    version_id: pp.consumer_version_id,
                    pact_version_id: pp.pact_version_id,
                    label: (kind, &head.name),
                });
            }
        }
    }
    // Results only for the contents in the answer.
    let pending_wanted = request.include_pending || !wip_candidates.is_empty();
    let rule = if pending_wanted {
        let mut contents: Vec<i64> = explicit.iter().copied().collect();
        contents.extend(wip_candidates.iter().map(|c| c.pact_version_id));
        contents.sort_unstable();
        contents.dedup();
        Some(PendingRule::load(state, provider.id, &request, &contents).await?)
    } else {
        None
    };
    let urls = Urls(base);
    let mut entries: Vec<(String, i64, Value)> = Vec::new();
    for ((consumer_name, pact_version_id), group) in &groups {
        let representative = group
            .iter()
            .map(|s| &s.publication)
            .max_by_key(|p| p.consumer_version_id)
            .cloned()
            .unwrap_or_else(|| group[0].publication.clone());
        let mut labels: Vec<String> = Vec::new();
        for s in group {
            if !labels.contains(&s.label) {
                labels.push(s.label.clone());
            }
        }
        let mut reasons: Vec<String> = Vec::new();
        for s in group {
            let line = format!("    * {}", s.reason);
            if !reasons.contains(&line) {
                reasons.push(line);
            }
        }
        let pending = rule
            .as_ref()
            .filter(|_| request.include_pending)
            .map(|rule| (rule.is_pending(*pact_version_id), rule.needs.clone()));
        let mut versions: Vec<String> = group
            .iter()
            .map(|s| s.publication.consumer_version_number.clone())
            .collect();
        versions.sort();
        versions.dedup();
        let entry = entry_json(
            &urls,
            &provider.name,
            &representative,
            &labels.join(", "),
            &reasons,
            pending,
            false,
            versions,
        );
        entries.push((
            consumer_name.clone(),
            representative.consumer_version_id,
            entry,
        ));
    }
    entries.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut body_entries: Vec<Value> = entries.into_iter().map(|(_, _, e)| e).collect();
    // Work-in-progress pacts: the candidates still pending.
    if let Some(rule) = rule.as_ref().filter(|_| !wip_candidates.is_empty()) {
        // By consumer and content: the newest version with it, and every label.
        let mut wip: BTreeMap<(&str, i64), (&ConsumerData, i64, Vec<String>)> = BTreeMap::new();
        for candidate in wip_candidates {
            if !rule.is_pending(candidate.pact_version_id) {
                continue;
            }
            let consumer = candidate.consumer;
            let entry = wip
                .entry((
                    consumer.pacticipant.name.as_str(),
                    candidate.pact_version_id,
                ))
                .or_insert_with(|| (consumer, candidate.version_id, vec![]));
            entry.1 = entry.1.max(candidate.version_id);
            let label = format!("{} {}", candidate.label.0, candidate.label.1);
            if !entry.2.contains(&label) {
                entry.2.push(label);
            }
        }
        // The chosen publications in full: the numbers and hashes the answer shows.
        let missing: Vec<i64> = wip
            .values()
            .filter(|(consumer, version, _)| !consumer.publications.contains_key(version))
            .map(|(_, version, _)| *version)
            .collect();
        let mut read: HashMap<i64, Publication> = HashMap::new();
        if !missing.is_empty() {
            for pp in state
                .store
                .publications_of_versions(Some(provider.id), &missing)
                .await?
            {
                read.insert(pp.consumer_version_id, pp);
            }
        }
        let wip: Vec<(Publication, Vec<String>)> = wip
            .into_values()
            .filter_map(|(consumer, version, labels)| {
                let pp = consumer
                    .publications
                    .get(&version)
                    .or_else(|| read.get(&version))?;
                Some((pp.clone(), labels))
            })
            .collect();
        for (pp, labels) in wip {
            let reasons: Vec<String> = labels
                .iter()
                .map(|l| format!("    * {l} (work in progress)"))
                .collect();
            let pending = Some((true, "the provider".to_string()));
            body_entries.push(entry_json(
                &urls,
                &provider.name,
                &pp,
                &labels.join(", "),
                &reasons,
                pending,
                true,
                vec![pp.consumer_version_number.clone()],
            ));
        }
    }
    Ok(hal(
        StatusCode::OK,
        json!({
            "_embedded": { "pacts": body_entries },
            "_links": { "self": { "href": format!("{base}/pacts/provider/{}/for-verification", enc(&provider.name)), "title": "Pacts to be verified" } }
        }),
    ))
}

#[allow(clippy::too_many_arguments)] // reason: one call site per kind of entry; a struct would only rename the arguments.
fn entry_json(
    urls: &Urls,
    provider: &str,
    pp: &Publication,
    short_description: &str,
    reasons: &[String],
    pending: Option<(bool, String)>,
    wip: bool,
    consumer_versions: Vec<String>,
) -> Value {
    let metadata = PactMetadata {
        consumer_versions,
        pending: pending.as_ref().map(|(p, _)| *p),
        wip,
    };
    let href = format!(
        "{}/metadata/{}",
        urls.pact_version(provider, &pp.consumer_name, &pp.sha),
        metadata.encode()
    );
    let mut notices = vec![json!({
        "when": "before_verification",
        "text": format!("The pact at {href} is being verified because the pact content belongs to the consumer version matching the following criterion:\n{}", reasons.join("\n")),
    })];
    let mut properties = json!({});
    if let Some((pending, whom)) = &pending {
        properties["pending"] = json!(pending);
        if *pending {
            notices.push(json!({ "when": "before_verification", "text": format!("This pact is in pending state for this version of {provider} because a successful verification result for {whom} has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending") }));
            notices.push(json!({ "when": "after_verification:success_true_published_false", "text": format!("This pact is still in pending state for {provider} as the successful verification results have not yet been published.") }));
            notices.push(json!({ "when": "after_verification:success_false_published_false", "text": format!("This pact is still in pending state for {provider} as a successful verification result has not yet been published.") }));
            notices.push(json!({ "when": "after_verification:success_true_published_true", "text": format!("This pact is no longer in pending state for {provider}, as a successful verification result with this tag has been published. If a verification for a version of {provider} with this tag fails in the future, it will fail the build. Read more at https://docs.pact.io/go/pending") }));
            notices.push(json!({ "when": "after_verification:success_false_published_true", "text": format!("This pact is still in pending state for {provider} as a successful verification result has not yet been published.") }));
        } else {
            notices.push(json!({ "when": "before_verification", "text": format!("This pact has previously been successfully verified by {whom}. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending") }));
        }
    }
    if wip {
        properties["wip"] = json!(true);
        notices.insert(1, json!({ "when": "before_verification", "text": "This pact is being verified because it is a \"work in progress\" pact (ie. it is the pact for the latest version of a consumer branch or tag and has not yet been successfully verified by the provider). Read more at https://docs.pact.io/go/wip" }));
    }
    properties["notices"] = Value::Array(notices);
    json!({
        "shortDescription": short_description,
        "verificationProperties": properties,
        "_links": { "self": { "href": href, "name": format!("Pact between {} ({}) and {provider}", pp.consumer_name, pp.consumer_version_number) } }
    })
}

/// The deprecated GET: clients navigate here first and POST to the `self` link.
/// It takes the POST body's fields as query parameters in snake case
/// (`provider_version_branch`, `consumer_version_selectors[][tag]`,
/// `include_pending_status=true`, ...; camel case is accepted too); without any it
/// answers as a POST with no body would (the default selectors).
async fn get_pacts(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let body = body_from_query(&NestedQuery::parse(raw.as_deref().unwrap_or_default()));
    respond(&state, &base, &provider, &body).await
}

/// Selector keys whose values are booleans.
const BOOLEAN_SELECTOR_KEYS: [&str; 6] = [
    "latest",
    "mainBranch",
    "matchingBranch",
    "deployed",
    "released",
    "deployedOrReleased",
];

/// `include_pending_status` -> `includePendingStatus`.
fn camel_case(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for ch in key.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// `"true"`/`"false"` become booleans; anything else stays a string, so the
/// validation of the body reports it.
fn query_boolean(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        other => Value::String(other.to_string()),
    }
}

/// The POST body the GET query stands for.
fn body_from_query(query: &NestedQuery) -> Value {
    let mut body = serde_json::Map::new();
    let either = |snake: &str| query.get(snake).or_else(|| query.get(&camel_case(snake)));
    if let Some(branch) = either("provider_version_branch") {
        body.insert("providerVersionBranch".into(), json!(branch));
    }
    let mut tags: Vec<String> = query.list("provider_version_tags").to_vec();
    tags.extend(query.list("providerVersionTags").iter().cloned());
    if !tags.is_empty() {
        body.insert("providerVersionTags".into(), json!(tags));
    }
    if let Some(pending) = either("include_pending_status") {
        body.insert("includePendingStatus".into(), query_boolean(pending));
    }
    if let Some(since) = either("include_wip_pacts_since") {
        body.insert("includeWipPactsSince".into(), json!(since));
    }
    let selectors: Vec<Value> = query
        .groups("consumer_version_selectors")
        .iter()
        .chain(query.groups("consumerVersionSelectors"))
        .map(|group| {
            let mut selector = serde_json::Map::new();
            for (key, value) in group {
                let key = camel_case(key);
                let value = if BOOLEAN_SELECTOR_KEYS.contains(&key.as_str()) {
                    query_boolean(value)
                } else {
                    json!(value)
                };
                selector.insert(key, value);
            }
            Value::Object(selector)
        })
        .collect();
    if !selectors.is_empty() {
        body.insert("consumerVersionSelectors".into(), Value::Array(selectors));
    }
    Value::Object(body)
}

async fn post_pacts(
    State(state): State<AppState>,
    Base(base): Base,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    respond(&state, &base, &provider, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_get_query_reads_as_the_post_body() {
        let query = NestedQuery::parse(
            "provider_version_branch=main&provider_version_tags[]=dev&include_pending_status=true\
             &include_wip_pacts_since=2024-01-01&consumer_version_selectors[][main_branch]=true\
             &consumer_version_selectors[][tag]=prod&consumer_version_selectors[][latest]=true\
             &consumerVersionSelectors[][deployedOrReleased]=true",
        );
        assert_eq!(
            body_from_query(&query),
            json!({
                "providerVersionBranch": "main",
                "providerVersionTags": ["dev"],
                "includePendingStatus": true,
                "includeWipPactsSince": "2024-01-01",
                "consumerVersionSelectors": [
                    { "mainBranch": true, "tag": "prod", "latest": true },
                    { "deployedOrReleased": true }
                ]
            })
        );
        assert_eq!(body_from_query(&NestedQuery::parse("")), json!({}));
    }
}
