//! Which pacts a provider must verify (`/pacts/provider/{p}/for-verification`): the
//! consumer version selectors, the pending rule and work-in-progress pacts.
//!
//! The rules have the gather/decide shape of the matrix: [`gather`] reads what a
//! question needs in a few batched store reads into plain data ([`ConsumerData`] per
//! consumer, the successes behind a [`PendingRule`]), and the functions here decide
//! over that data without a store, so the tables of tests below run without a
//! database. The route (`routes/for_verification.rs`) only parses and renders:
//!
//! 1. [`choose`]: what every selector picks for every consumer (with the defaults when
//!    the request gave none), grouped by pact content, and the work-in-progress
//!    candidates (branch and tag heads published after the date, not picked);
//! 2. [`PendingRule`]: which of those contents the provider has not verified yet in the
//!    way the request asks about (its branch, its tags, or at all);
//! 3. [`entries`] and [`wip_picks`]: the answer's pacts, with their labels, reasons and
//!    pending status, then the candidates that are still pending.

pub(crate) mod gather;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::store::batch::{ContentSuccesses, HeadKind, HeadRef, PendingBy, Success};
use crate::store::{Pacticipant, Publication, Tag};

/// One consumer version selector, validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub(crate) main_branch: bool,
    pub(crate) branch: Option<String>,
    pub(crate) matching_branch: bool,
    pub(crate) fallback_branch: Option<String>,
    pub(crate) tag: Option<String>,
    pub(crate) fallback_tag: Option<String>,
    pub(crate) latest: Option<bool>,
    pub(crate) deployed: bool,
    pub(crate) released: bool,
    pub(crate) environment: Option<String>,
    pub(crate) consumer: Option<String>,
}

/// The request, validated.
#[derive(Debug, Default)]
pub(crate) struct Request {
    pub(crate) selectors: Vec<Selector>,
    pub(crate) provider_branch: Option<String>,
    pub(crate) provider_tags: Vec<String>,
    pub(crate) include_pending: bool,
    pub(crate) wip_since: Option<DateTime<Utc>>,
}

impl Request {
    /// How the request judges pending, when it can: by its provider branch, else by
    /// its provider tags.
    pub(crate) fn pending_by(&self) -> Option<PendingBy> {
        if let Some(branch) = self.provider_branch.as_ref().filter(|b| !b.is_empty()) {
            Some(PendingBy::Branch(branch.clone()))
        } else if !self.provider_tags.is_empty() {
            Some(PendingBy::Tags(self.provider_tags.clone()))
        } else {
            None
        }
    }

    /// Work-in-progress pacts need a provider branch or tags to judge pending by.
    pub(crate) fn wip_possible(&self) -> bool {
        self.pending_by().is_some()
    }

    /// What work-in-progress pacts the request asks for and can have: published after
    /// this date, and pending by this rule.
    pub(crate) fn wip(&self) -> Option<(DateTime<Utc>, PendingBy)> {
        self.wip_since.zip(self.pending_by())
    }

    /// Whether the request asks for work-in-progress pacts and can have them.
    #[cfg(test)]
    pub(crate) fn wip_wanted(&self) -> bool {
        self.wip().is_some()
    }
}

/// The selectors of a request that gave none: the main branch, and what is deployed
/// or released. (Consumers without a main branch fall back to their latest pact.)
pub(crate) fn default_selectors() -> Vec<Selector> {
    vec![
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
    ]
}

/// What the selectors need to know about one consumer of the provider: only the
/// heads, tags, deployments and publications they can select, never the history.
pub(crate) struct ConsumerData {
    pub(crate) pacticipant: Pacticipant,
    /// Publications for the provider of the versions the selectors can pick, by
    /// consumer version id.
    pub(crate) publications: BTreeMap<i64, Publication>,
    /// Every branch and tag head with a publication for the provider, when
    /// work-in-progress pacts are wanted: references, read in full only for those the
    /// rule picks.
    pub(crate) wip_heads: Vec<HeadRef>,
    /// The consumer's latest publication for the provider, when a selector asks for it.
    pub(crate) latest_publication: Option<i64>,
    /// Branch heads by branch name (the branches the selectors name).
    pub(crate) branch_heads: BTreeMap<String, i64>,
    /// The latest version with each tag the selectors name.
    pub(crate) tag_heads: BTreeMap<String, i64>,
    /// Every tag of the consumer, only when a selector asks for all versions with a tag.
    pub(crate) tags: Vec<Tag>,
    pub(crate) deployed: Vec<(i64, i64)>,
    pub(crate) released: Vec<(i64, i64)>,
}

impl ConsumerData {
    pub(crate) fn branch_head(&self, branch: &str) -> Option<i64> {
        self.branch_heads.get(branch).copied()
    }
    pub(crate) fn latest_with_tag(&self, tag: &str) -> Option<i64> {
        self.tag_heads.get(tag).copied()
    }
}

/// Whether a selector picks the overall latest pact of a consumer.
pub(crate) fn selects_latest(selector: &Selector) -> bool {
    !selector.main_branch
        && selector.branch.is_none()
        && selector.tag.is_none()
        && !(selector.deployed || selector.released || selector.environment.is_some())
        && selector.latest == Some(true)
}

/// A head that may be a work-in-progress pact: its label is formatted only if it is.
pub(crate) struct WipCandidate<'a> {
    pub(crate) consumer: &'a ConsumerData,
    pub(crate) version_id: i64,
    pub(crate) pact_version_id: i64,
    /// "latest from branch" or "latest with tag", and the name.
    pub(crate) label: (&'static str, &'a String),
}

/// A selected pact with why it was selected.
pub(crate) struct Selected {
    pub(crate) publication: Publication,
    pub(crate) label: String,
    pub(crate) reason: String,
}

pub(crate) fn select(
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
pub(crate) struct PendingRule {
    pub(crate) verified: HashSet<i64>,
    /// What it takes to verify a pending pact, for its notice.
    pub(crate) needs: String,
}

impl PendingRule {
    /// With a provider branch: a content is verified by a success from a version on
    /// that branch, or by one from before the branch began.
    pub(crate) fn for_branch(branch: &str, successes: Vec<ContentSuccesses>) -> Self {
        let verified = successes
            .into_iter()
            .filter(|c| {
                c.from_branch > 0
                    || c.branch_started_at
                        .is_none_or(|started| c.first_success_at < started)
            })
            .map(|c| c.pact_version_id)
            .collect();
        Self {
            verified,
            needs: format!("a version of the provider from branch '{branch}'"),
        }
    }

    /// With provider tags: a content is verified when, for every tag, a success came
    /// from a version with that tag or from before the tag was first used.
    pub(crate) fn for_tags(provider_tags: &[String], successes: &[Success], tags: &[Tag]) -> Self {
        // For each tag asked about: the versions carrying it, and its first use.
        let rules: Vec<(HashSet<i64>, Option<DateTime<Utc>>)> = provider_tags
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
        for success in successes {
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
        Self {
            verified,
            needs: format!(
                "a version of the provider with tag(s) {}",
                provider_tags.join(", ")
            ),
        }
    }

    /// With neither: any success verifies a content.
    pub(crate) fn for_any(successes: Vec<ContentSuccesses>) -> Self {
        Self {
            verified: successes.into_iter().map(|c| c.pact_version_id).collect(),
            needs: "any version of the provider".into(),
        }
    }

    /// Whether `content` is pending.
    pub(crate) fn is_pending(&self, content: i64) -> bool {
        !self.verified.contains(&content)
    }
}

/// What the selectors picked: for each consumer and pact content, every selection that
/// picked it; and the work-in-progress candidates.
pub(crate) struct Choice<'a> {
    pub(crate) groups: BTreeMap<(String, i64), Vec<Selected>>,
    pub(crate) wip_candidates: Vec<WipCandidate<'a>>,
}

impl Choice<'_> {
    /// The contents whose pending status the answer needs, when it needs any.
    pub(crate) fn contents_to_judge(&self, request: &Request) -> Option<Vec<i64>> {
        if !request.include_pending && self.wip_candidates.is_empty() {
            return None;
        }
        let mut contents: Vec<i64> = self.groups.keys().map(|(_, id)| *id).collect();
        contents.extend(self.wip_candidates.iter().map(|c| c.pact_version_id));
        contents.sort_unstable();
        contents.dedup();
        Some(contents)
    }
}

/// Applies every selector of the request to every consumer (the consumer's latest pact
/// stands in for the main branch when the request gave no selectors and the consumer has
/// no main branch head), groups the picks by content (verifying identical content once
/// is the point), and lists the work-in-progress candidates: heads of branches and tags
/// published after the date and not picked explicitly.
pub(crate) fn choose<'a>(
    request: &Request,
    defaults: bool,
    consumers: &'a [ConsumerData],
    environments: &HashMap<String, i64>,
) -> Choice<'a> {
    let mut selected = Vec::new();
    for consumer in consumers {
        for selector in &request.selectors {
            if selector
                .consumer
                .as_ref()
                .is_some_and(|c| c != &consumer.pacticipant.name)
            {
                continue;
            }
            select(selector, consumer, environments, &mut selected);
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
                environments,
                &mut selected,
            );
        }
    }
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
    let explicit: HashSet<i64> = groups.keys().map(|(_, id)| *id).collect();
    let mut wip_candidates: Vec<WipCandidate> = Vec::new();
    if let (Some(since), true) = (request.wip_since, request.wip_possible()) {
        for consumer in consumers {
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
    Choice {
        groups,
        wip_candidates,
    }
}

/// One pact of the answer.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The newest consumer version that published the content.
    pub(crate) publication: Publication,
    /// Every selection's label, once each, in the order they picked it.
    pub(crate) labels: Vec<String>,
    /// Every selection's reason, once each, as the notice's bullet lines.
    pub(crate) reasons: Vec<String>,
    /// Whether it is pending, and what verifying it takes, when pending was asked for.
    pub(crate) pending: Option<(bool, String)>,
    /// Every consumer version that published the content, sorted.
    pub(crate) versions: Vec<String>,
}

/// The answer's pacts from the picks, ordered by consumer and version.
pub(crate) fn entries(
    groups: &BTreeMap<(String, i64), Vec<Selected>>,
    rule: Option<&PendingRule>,
    include_pending: bool,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for ((_, pact_version_id), group) in groups {
        let Some(publication) = group
            .iter()
            .map(|s| &s.publication)
            .max_by_key(|p| p.consumer_version_id)
            .cloned()
        else {
            continue;
        };
        let mut labels: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for s in group {
            if !labels.contains(&s.label) {
                labels.push(s.label.clone());
            }
            let line = format!("    * {}", s.reason);
            if !reasons.contains(&line) {
                reasons.push(line);
            }
        }
        let pending = rule
            .filter(|_| include_pending)
            .map(|rule| (rule.is_pending(*pact_version_id), rule.needs.clone()));
        let mut versions: Vec<String> = group
            .iter()
            .map(|s| s.publication.consumer_version_number.clone())
            .collect();
        versions.sort();
        versions.dedup();
        entries.push(Entry {
            publication,
            labels,
            reasons,
            pending,
            versions,
        });
    }
    entries.sort_by(|a, b| {
        (
            &a.publication.consumer_name,
            a.publication.consumer_version_id,
        )
            .cmp(&(
                &b.publication.consumer_name,
                b.publication.consumer_version_id,
            ))
    });
    entries
}

/// A work-in-progress pact of the answer: the newest version with the content, and
/// every head label that led to it.
pub(crate) struct WipPick<'a> {
    pub(crate) consumer: &'a ConsumerData,
    pub(crate) version_id: i64,
    pub(crate) labels: Vec<String>,
}

/// The work-in-progress candidates that are still pending, one per consumer and content.
pub(crate) fn wip_picks<'a>(
    candidates: Vec<WipCandidate<'a>>,
    rule: &PendingRule,
) -> Vec<WipPick<'a>> {
    let mut wip: BTreeMap<(&str, i64), WipPick<'a>> = BTreeMap::new();
    for candidate in candidates {
        if !rule.is_pending(candidate.pact_version_id) {
            continue;
        }
        let consumer = candidate.consumer;
        let pick = wip
            .entry((
                consumer.pacticipant.name.as_str(),
                candidate.pact_version_id,
            ))
            .or_insert_with(|| WipPick {
                consumer,
                version_id: candidate.version_id,
                labels: vec![],
            });
        pick.version_id = pick.version_id.max(candidate.version_id);
        let label = format!("{} {}", candidate.label.0, candidate.label.1);
        if !pick.labels.contains(&label) {
            pick.labels.push(label);
        }
    }
    wip.into_values().collect()
}

#[cfg(test)]
mod tests;
