//! The reads behind the for-verification rules: a few batched store queries into the
//! plain data [`super`] decides over.

use std::collections::{BTreeMap, HashMap};

use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::batch::{HeadRef, PendingBy};
use crate::store::{Pacticipant, Publication};

use super::{ConsumerData, PendingRule, Request, selects_latest};

/// Loads, for every consumer with a pact for the provider (`pacticipants`), what the
/// selectors (and the work-in-progress rule, when `wip`) can select.
pub(crate) async fn load_consumers(
    state: &AppState,
    provider: &Pacticipant,
    pacticipants: Vec<Pacticipant>,
    request: &Request,
    defaults: bool,
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
    // branch or tag: the store finds the heads published after the date whose content
    // is still pending, apart from the heads the selectors name.
    let wip = request.wip();
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
            match &wip {
                Some((since, pending)) => {
                    store
                        .pending_heads(provider.id, &ids, *since, pending)
                        .await
                }
                None => Ok(vec![]),
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

/// Reads what deciding the pending status of `contents` needs: one grouped query for
/// a provider branch (or none), the results and the provider's tags for tags.
pub(crate) async fn pending_rule(
    state: &AppState,
    provider_id: i64,
    request: &Request,
    contents: &[i64],
) -> Result<PendingRule, ApiError> {
    let store = &state.store;
    Ok(match request.pending_by() {
        Some(PendingBy::Branch(branch)) => PendingRule::for_branch(
            &branch,
            store
                .successes_by_content(provider_id, Some(&branch), contents)
                .await?,
        ),
        Some(PendingBy::Tags(tags)) => {
            let successes = store.successes_of(contents).await?;
            let provider_tags = store.tags_of_pacticipant(provider_id).await?;
            PendingRule::for_tags(&tags, &successes, &provider_tags)
        }
        None => PendingRule::for_any(
            store
                .successes_by_content(provider_id, None, contents)
                .await?,
        ),
    })
}
