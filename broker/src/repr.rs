//! JSON representations of the broker's resources, shaped as the Pact Broker
//! shapes them (HAL links, deprecated duplicates clients still read).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::{curies, enc, link, named_link, templated};
use crate::startup::AppState;
use crate::store::batch::TagOfVersion;
use crate::store::{
    BranchVersion, DeployedVersion, Environment, EnvironmentRecordFilter, Pacticipant, Publication,
    ReleasedVersion, Tag, Version,
};

/// ISO-8601 in UTC with an offset, as the Pact Broker writes times.
pub fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// URLs of the resources, built from the base URL.
pub struct Urls<'a>(pub &'a str);

impl Urls<'_> {
    pub fn pacticipant(&self, name: &str) -> String {
        format!("{}/pacticipants/{}", self.0, enc(name))
    }
    pub fn version(&self, pacticipant: &str, version: &str) -> String {
        format!(
            "{}/versions/{}",
            self.pacticipant(pacticipant),
            enc(version)
        )
    }
    pub fn tag(&self, pacticipant: &str, version: &str, tag: &str) -> String {
        format!("{}/tags/{}", self.version(pacticipant, version), enc(tag))
    }
    pub fn branch(&self, pacticipant: &str, branch: &str) -> String {
        format!("{}/branches/{}", self.pacticipant(pacticipant), enc(branch))
    }
    pub fn branch_version(&self, pacticipant: &str, branch: &str, version: &str) -> String {
        format!(
            "{}/versions/{}",
            self.branch(pacticipant, branch),
            enc(version)
        )
    }
    pub fn integration(&self, provider: &str, consumer: &str) -> String {
        format!(
            "{}/pacts/provider/{}/consumer/{}",
            self.0,
            enc(provider),
            enc(consumer)
        )
    }
    pub fn pact(&self, provider: &str, consumer: &str, version: &str) -> String {
        format!(
            "{}/version/{}",
            self.integration(provider, consumer),
            enc(version)
        )
    }
    pub fn pact_version(&self, provider: &str, consumer: &str, sha: &str) -> String {
        format!(
            "{}/pact-version/{}",
            self.integration(provider, consumer),
            enc(sha)
        )
    }
    pub fn verification(&self, provider: &str, consumer: &str, sha: &str, id: i64) -> String {
        format!(
            "{}/verification-results/{id}",
            self.pact_version(provider, consumer, sha)
        )
    }
    pub fn environment(&self, uuid: &str) -> String {
        format!("{}/environments/{}", self.0, enc(uuid))
    }
    pub fn deployed_version(&self, uuid: &str) -> String {
        format!("{}/deployed-versions/{}", self.0, enc(uuid))
    }
    pub fn released_version(&self, uuid: &str) -> String {
        format!("{}/released-versions/{}", self.0, enc(uuid))
    }
}

/// The display name the Pact Broker derives when none is set: words split on
/// separators and case changes, each capitalised (`prod-eu` -> `Prod Eu`).
pub fn generated_display_name(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for ch in name.chars() {
        if ch == '-' || ch == '_' || ch == ' ' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if ch.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = ch.is_lowercase() || ch.is_ascii_digit();
        current.push(ch);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn version_link(base: &str, version: &Version) -> Value {
    named_link(
        Urls(base).version(&version.pacticipant_name, &version.number),
        "Version",
        &version.number,
    )
}

pub async fn pacticipant(state: &AppState, base: &str, p: &Pacticipant) -> Result<Value, ApiError> {
    let urls = Urls(base);
    let self_url = urls.pacticipant(&p.name);
    let latest = state.store.latest_version(p.id).await?;
    let mut embedded = Map::new();
    if let Some(latest) = latest {
        let href = urls.version(&p.name, &latest.number);
        embedded.insert(
            "latestVersion".into(),
            json!({ "number": latest.number, "_links": { "self": { "title": "Version", "name": latest.number, "href": href } } }),
        );
        embedded.insert(
            "latest-version".into(),
            json!({ "number": latest.number, "_links": { "self": { "title": "DEPRECATED - Version", "name": latest.number, "href": href } } }),
        );
    }
    embedded.insert("labels".into(), json!([]));
    let deployed = state
        .store
        .deployed_versions(EnvironmentRecordFilter {
            pacticipant_id: Some(p.id),
            current_only: true,
            ..Default::default()
        })
        .await?;
    let mut deployed_links = Vec::new();
    for record in &deployed {
        if let Some(env) = state.store.environment_by_id(record.environment_id).await? {
            deployed_links.push(json!({
                "title": "Deployed version",
                "name": env.display_name.clone().unwrap_or_else(|| generated_display_name(&env.name)),
                "href": urls.deployed_version(&record.uuid),
                "currently_deployed": true
            }));
        }
    }
    let mut body = json!({
        "name": p.name,
        "displayName": p.display_name.clone().unwrap_or_else(|| generated_display_name(&p.name)),
        "repositoryUrl": p.repository_url,
        "repositoryName": p.repository_name,
        "repositoryNamespace": p.repository_namespace,
        "mainBranch": p.main_branch,
        "createdAt": time(&p.created_at),
        "_embedded": embedded,
        "_links": {
            "self": named_link(self_url.clone(), "Pacticipant", &p.name),
            "pb:versions": link(format!("{self_url}/versions")),
            "pb:branches": link(format!("{self_url}/branches")),
            "pb:deployed-environments": deployed_links,
            "pb:version": templated(format!("{self_url}/versions/{{version}}"), "Get, create or delete a pacticipant version"),
            "pb:version-tag": templated(format!("{self_url}/versions/{{version}}/tags/{{tag}}"), "Get, create or delete a tag for a version of this pacticipant"),
            "pb:branch-version": templated(format!("{self_url}/branches/{{branch}}/versions/{{version}}"), "Get or add/create a version for a branch of this pacticipant"),
            "pb:label": templated(format!("{self_url}/labels/{{label}}"), "Get, create or delete a label for this pacticipant"),
            "versions": { "href": format!("{self_url}/versions"), "title": "Deprecated - use pb:versions" },
            "pb:can-i-deploy-badge": templated(format!("{self_url}/latest-version/{{tag}}/can-i-deploy/to/{{environmentTag}}/badge"), "Can I Deploy badge"),
            "pb:can-i-deploy-branch-to-environment-badge": templated(format!("{self_url}/branches/{{branch}}/latest-version/can-i-deploy/to-environment/{{environment}}/badge"), "Can I Deploy branch to environment badge"),
            "curies": curies(base, "pacticipant"),
        }
    });
    if p.updated_at != p.created_at {
        body["updatedAt"] = json!(time(&p.updated_at));
    }
    Ok(body)
}

pub fn tag(base: &str, pacticipant: &str, t: &Tag) -> Value {
    let urls = Urls(base);
    json!({
        "name": t.name,
        "createdAt": time(&t.created_at),
        "_links": {
            "self": named_link(urls.tag(pacticipant, &t.version_number, &t.name), "Tag", &t.name),
            "version": named_link(urls.version(pacticipant, &t.version_number), "Version", &t.version_number),
            "pacticipant": named_link(urls.pacticipant(pacticipant), "Pacticipant", pacticipant),
        }
    })
}

pub fn branch_version(base: &str, pacticipant: &str, bv: &BranchVersion) -> Value {
    let urls = Urls(base);
    json!({
        "name": bv.branch_name,
        "latest": bv.latest,
        "createdAt": time(&bv.created_at),
        "_links": {
            "self": { "title": "Branch version", "href": urls.branch_version(pacticipant, &bv.branch_name, &bv.version_number) },
            "pb:branch": named_link(urls.branch(pacticipant, &bv.branch_name), "Branch", &bv.branch_name),
            "pb:version": named_link(urls.version(pacticipant, &bv.version_number), "Version", &bv.version_number),
        }
    })
}

pub fn environment(base: &str, env: &Environment) -> Value {
    let urls = Urls(base);
    let self_url = urls.environment(&env.uuid);
    json!({
        "uuid": env.uuid,
        "name": env.name,
        "displayName": env.display_name.clone().unwrap_or_else(|| generated_display_name(&env.name)),
        "production": env.production,
        "contacts": env.contacts.clone().unwrap_or_else(|| json!([])),
        "createdAt": time(&env.created_at),
        "_links": {
            "self": named_link(self_url.clone(), "Environment", &env.name),
            "pb:currently-deployed-deployed-versions": { "title": "Versions currently deployed to this environment", "href": format!("{self_url}/deployed-versions/currently-deployed") },
            "pb:currently-supported-released-versions": { "title": "Versions released and supported in this environment", "href": format!("{self_url}/released-versions/currently-supported") },
            "pb:environments": { "title": "Environments", "href": format!("{base}/environments") },
        }
    })
}

fn small_pacticipant(base: &str, name: &str) -> Value {
    json!({ "name": name, "_links": { "self": link(Urls(base).pacticipant(name)) } })
}

fn small_version(base: &str, pacticipant: &str, number: &str) -> Value {
    json!({ "number": number, "_links": { "self": named_link(Urls(base).version(pacticipant, number), "Version", number) } })
}

pub fn deployed_version(base: &str, d: &DeployedVersion, env: &Environment) -> Value {
    json!({
        "uuid": d.uuid,
        "currentlyDeployed": d.undeployed_at.is_none(),
        "target": d.application_instance,
        "applicationInstance": d.application_instance,
        "undeployedAt": d.undeployed_at.as_ref().map(time),
        "createdAt": time(&d.created_at),
        "_embedded": {
            "pacticipant": small_pacticipant(base, &d.pacticipant_name),
            "version": small_version(base, &d.pacticipant_name, &d.version_number),
            "environment": environment(base, env),
        },
        "_links": { "self": { "title": "Deployed version", "name": d.version_number, "href": Urls(base).deployed_version(&d.uuid) } }
    })
}

pub fn released_version(base: &str, r: &ReleasedVersion, env: &Environment) -> Value {
    json!({
        "uuid": r.uuid,
        "currentlySupported": r.support_ended_at.is_none(),
        "supportEndedAt": r.support_ended_at.as_ref().map(time),
        "createdAt": time(&r.created_at),
        "_embedded": {
            "pacticipant": small_pacticipant(base, &r.pacticipant_name),
            "version": small_version(base, &r.pacticipant_name, &r.version_number),
            "environment": environment(base, env),
        },
        "_links": { "self": { "title": "Released version", "name": r.version_number, "href": Urls(base).released_version(&r.uuid) } }
    })
}

/// What rendering versions needs besides the versions themselves: their branches, tags,
/// pacts, current deployments and releases, and the environments. Read in a fixed
/// number of batched queries however many versions there are, so a list of versions
/// costs what one version does.
#[derive(Debug, Default)]
pub struct VersionsData {
    environments: Vec<Environment>,
    branches: HashMap<i64, Vec<BranchVersion>>,
    tags: HashMap<i64, Vec<TagOfVersion>>,
    publications: HashMap<i64, Vec<Publication>>,
    deployed: HashMap<i64, Vec<DeployedVersion>>,
    released: HashMap<i64, Vec<ReleasedVersion>>,
}

/// Reads what [`version_json`] needs for `versions`.
pub async fn versions_data(
    state: &AppState,
    versions: &[Version],
) -> Result<VersionsData, ApiError> {
    let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    let store = state.store.as_ref();
    let (environments, branches, tags, publications) = tokio::try_join!(
        store.environments(),
        store.branches_of_versions(&ids),
        store.tags_of_versions(&ids),
        store.publications_of_versions(None, &ids),
    )?;
    let mut data = VersionsData {
        environments,
        ..VersionsData::default()
    };
    for bv in branches {
        data.branches.entry(bv.version_id).or_default().push(bv);
    }
    for t in tags {
        data.tags.entry(t.version_id).or_default().push(t);
    }
    for pp in publications {
        data.publications
            .entry(pp.consumer_version_id)
            .or_default()
            .push(pp);
    }
    // The current records of the versions' pacticipants (one, for a list): few rows.
    let pacticipants: BTreeSet<i64> = versions.iter().map(|v| v.pacticipant_id).collect();
    for pacticipant_id in pacticipants {
        let filter = EnvironmentRecordFilter {
            pacticipant_id: Some(pacticipant_id),
            current_only: true,
            ..Default::default()
        };
        let (deployed, released) = tokio::try_join!(
            store.deployed_versions(filter),
            store.released_versions(filter),
        )?;
        for d in deployed
            .into_iter()
            .filter(|d| wanted.contains(&d.version_id))
        {
            data.deployed.entry(d.version_id).or_default().push(d);
        }
        for r in released
            .into_iter()
            .filter(|r| wanted.contains(&r.version_id))
        {
            data.released.entry(r.version_id).or_default().push(r);
        }
    }
    Ok(data)
}

/// One version, read and rendered.
pub async fn version(state: &AppState, base: &str, v: &Version) -> Result<Value, ApiError> {
    let data = versions_data(state, std::slice::from_ref(v)).await?;
    Ok(version_json(base, v, &data))
}

/// A version as the Pact Broker shows it, from data read before ([`versions_data`]).
pub fn version_json(base: &str, v: &Version, data: &VersionsData) -> Value {
    let urls = Urls(base);
    let p = &v.pacticipant_name;
    let self_url = urls.version(p, &v.number);
    let branches: Vec<Value> = data
        .branches
        .get(&v.id)
        .into_iter()
        .flatten()
        .map(|bv| branch_version(base, p, bv))
        .collect();
    let tags: Vec<Value> = data
        .tags
        .get(&v.id)
        .into_iter()
        .flatten()
        .map(|t| {
            tag(
                base,
                p,
                &Tag {
                    version_id: v.id,
                    version_number: v.number.clone(),
                    name: t.name.clone(),
                    created_at: t.created_at,
                },
            )
        })
        .collect();
    let pact_links: Vec<Value> = data
        .publications
        .get(&v.id)
        .into_iter()
        .flatten()
        .map(|pp| {
            named_link(
                urls.pact(
                    &pp.provider_name,
                    &pp.consumer_name,
                    &pp.consumer_version_number,
                ),
                "Pact",
                &format!(
                    "Pact between {} ({}) and {}",
                    pp.consumer_name, pp.consumer_version_number, pp.provider_name
                ),
            )
        })
        .collect();
    let environments = &data.environments;
    let display = |e: &Environment| {
        e.display_name
            .clone()
            .unwrap_or_else(|| generated_display_name(&e.name))
    };
    let deployed: Vec<Value> = data
        .deployed
        .get(&v.id)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let env = environments.iter().find(|e| e.id == d.environment_id)?;
            Some(json!({
                "title": "Deployed version",
                "name": display(env),
                "href": urls.deployed_version(&d.uuid),
                "currently_deployed": true,
                "application_instance": d.application_instance,
            }))
        })
        .collect();
    let released: Vec<Value> = data
        .released
        .get(&v.id)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let env = environments.iter().find(|e| e.id == r.environment_id)?;
            Some(json!({
                "title": "Released version",
                "name": display(env),
                "href": urls.released_version(&r.uuid),
                "currently_supported": true,
            }))
        })
        .collect();
    let record_deployment: Vec<Value> = environments
        .iter()
        .map(|e| {
            json!({
                "title": format!("Record deployment to {}", display(e)),
                "name": e.name,
                "href": format!("{self_url}/deployed-versions/environment/{}", enc(&e.uuid)),
            })
        })
        .collect();
    let record_release: Vec<Value> = environments
        .iter()
        .map(|e| {
            json!({
                "title": format!("Record release to {}", display(e)),
                "name": e.name,
                "href": format!("{self_url}/released-versions/environment/{}", enc(&e.uuid)),
            })
        })
        .collect();
    json!({
        "number": v.number,
        "buildUrl": v.build_url,
        "createdAt": time(&v.created_at),
        "_embedded": { "branchVersions": branches, "branches": branches, "tags": tags },
        "_links": {
            "self": named_link(self_url.clone(), "Version", &v.number),
            "pb:pacticipant": named_link(urls.pacticipant(p), "Pacticipant", p),
            "pb:tag": templated(format!("{self_url}/tags/{{tag}}"), "Get, create or delete a tag for this pacticipant version"),
            "pb:latest-verification-results-where-pacticipant-is-consumer": {
                "title": "Latest verification results for consumer version",
                "href": format!("{base}/verification-results/consumer/{}/version/{}/latest", enc(p), enc(&v.number)),
            },
            "pb:pact-versions": pact_links,
            "pb:deployed-environments": deployed,
            "pb:released-environments": released,
            "pb:record-deployment": record_deployment,
            "pb:record-release": record_release,
            "curies": curies(base, "version"),
        }
    })
}
