//! JSON representations of the broker's resources, shaped as the Pact Broker
//! shapes them (HAL links, deprecated duplicates clients still read).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::{curies, enc, link, named_link, templated};
use crate::startup::AppState;
use crate::store::{
    BranchVersion, DeployedVersion, Environment, EnvironmentRecordFilter, Pacticipant,
    PublicationFilter, ReleasedVersion, Tag, Version,
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

/// A version with its branches, tags, pacts and the links that record deployments
/// and releases (arrays keyed by environment name, as clients expect).
pub async fn version(state: &AppState, base: &str, v: &Version) -> Result<Value, ApiError> {
    let urls = Urls(base);
    let p = &v.pacticipant_name;
    let self_url = urls.version(p, &v.number);
    let branches: Vec<Value> = state
        .store
        .branches_of_version(v.id)
        .await?
        .iter()
        .map(|bv| branch_version(base, p, bv))
        .collect();
    let tags: Vec<Value> = state
        .store
        .tags_of_version(v.id)
        .await?
        .iter()
        .map(|t| tag(base, p, t))
        .collect();
    let publications = state
        .store
        .publications(PublicationFilter {
            consumer_version_id: Some(v.id),
            ..Default::default()
        })
        .await?;
    let pact_links: Vec<Value> = publications
        .iter()
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
    let environments = state.store.environments().await?;
    let filter = EnvironmentRecordFilter {
        version_id: Some(v.id),
        current_only: true,
        ..Default::default()
    };
    let mut deployed = Vec::new();
    for d in state.store.deployed_versions(filter).await? {
        if let Some(env) = environments.iter().find(|e| e.id == d.environment_id) {
            deployed.push(json!({
                "title": "Deployed version",
                "name": env.display_name.clone().unwrap_or_else(|| generated_display_name(&env.name)),
                "href": urls.deployed_version(&d.uuid),
                "currently_deployed": true,
                "application_instance": d.application_instance,
            }));
        }
    }
    let mut released = Vec::new();
    for r in state.store.released_versions(filter).await? {
        if let Some(env) = environments.iter().find(|e| e.id == r.environment_id) {
            released.push(json!({
                "title": "Released version",
                "name": env.display_name.clone().unwrap_or_else(|| generated_display_name(&env.name)),
                "href": urls.released_version(&r.uuid),
                "currently_supported": true,
            }));
        }
    }
    let display = |e: &Environment| {
        e.display_name
            .clone()
            .unwrap_or_else(|| generated_display_name(&e.name))
    };
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
    Ok(json!({
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
    }))
}
