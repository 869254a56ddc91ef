//! The matrix's store reads, memoised: the same version or pact content comes up in many
//! rows of one question.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::domain::{BranchName, EnvironmentName, TagName, VersionNumber};
use crate::store::{
    Environment, EnvironmentRecordFilter, Integration, Publication, PublicationFilter, Store,
    StoreError, Verification, VerificationFilter,
};

use super::*;

/// Store reads with memoisation: the same version or pact content comes up
/// in many rows.
pub(super) struct Reader<'a> {
    pub(super) store: &'a dyn Store,
    pub(super) integrations: HashMap<i64, Vec<Integration>>,
    pub(super) publications_of_version: HashMap<i64, Vec<Publication>>,
    pub(super) verifications_of_content: HashMap<(i64, i64), Vec<Verification>>,
    pub(super) environments: HashMap<String, Option<Environment>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(store: &'a dyn Store) -> Self {
        Reader {
            store,
            integrations: HashMap::new(),
            publications_of_version: HashMap::new(),
            verifications_of_content: HashMap::new(),
            environments: HashMap::new(),
        }
    }

    /// The environment with a name (`None` for an invalid or unknown name).
    pub(super) async fn environment(
        &mut self,
        name: &str,
    ) -> Result<Option<Environment>, StoreError> {
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

    pub(super) async fn integrations(
        &mut self,
        pacticipant_id: i64,
    ) -> Result<Vec<Integration>, StoreError> {
        if let Some(found) = self.integrations.get(&pacticipant_id) {
            return Ok(found.clone());
        }
        let found = self.store.integrations_of(pacticipant_id).await?;
        self.integrations.insert(pacticipant_id, found.clone());
        Ok(found)
    }

    pub(super) async fn publications_of_version(
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
    pub(super) async fn prefetch_publications(
        &mut self,
        version_ids: &[i64],
    ) -> Result<(), StoreError> {
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
    pub(super) async fn prefetch_verifications(
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
    pub(super) async fn verifications(
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
    pub(super) async fn resolve(
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
