//! What an import copies: the records of the source the target lacks, and the JSON
//! each becomes in a `POST /admin/import` batch.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::history::{
    Environment, History, PactListing, Pacticipant, Record, VerificationRow, Version, parse_time,
};

/// The kinds of record, in the order they are copied (the target's batch keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Environment,
    Pacticipant,
    Version,
    Pact,
    Verification,
    Deployment,
    Release,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Environment,
        Kind::Pacticipant,
        Kind::Version,
        Kind::Pact,
        Kind::Verification,
        Kind::Deployment,
        Kind::Release,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Environment => "environments",
            Kind::Pacticipant => "pacticipants",
            Kind::Version => "versions",
            Kind::Pact => "pacts",
            Kind::Verification => "verifications",
            Kind::Deployment => "deployments",
            Kind::Release => "releases",
        }
    }
}

/// What the target answered, summed over the batches.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    created: BTreeMap<Kind, usize>,
    existing: BTreeMap<Kind, usize>,
    skipped: BTreeMap<Kind, usize>,
}

impl Tally {
    /// Adds one answer of `POST /admin/import`.
    pub fn add_answer(&mut self, answer: &Value) {
        for kind in Kind::ALL {
            let count = |section: &str| {
                answer
                    .pointer(&format!("/{section}/{}", kind.key()))
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0)
            };
            *self.created.entry(kind).or_default() += count("created");
            *self.existing.entry(kind).or_default() += count("existing");
        }
        if let Some(Value::Array(skipped)) = answer.get("skipped") {
            for skip in skipped {
                let key = skip.get("kind").and_then(Value::as_str);
                if let Some(kind) = Kind::ALL.iter().find(|k| Some(k.key()) == key) {
                    *self.skipped.entry(*kind).or_default() += 1;
                }
            }
        }
    }

    /// Counts a record left out by the import itself (refused by the target).
    pub fn add_skipped(&mut self, key: &str) {
        if let Some(kind) = Kind::ALL.iter().find(|k| k.key() == key) {
            *self.skipped.entry(*kind).or_default() += 1;
        }
    }

    pub fn created(&self, kind: Kind) -> usize {
        self.created.get(&kind).copied().unwrap_or(0)
    }

    pub fn existing(&self, kind: Kind) -> usize {
        self.existing.get(&kind).copied().unwrap_or(0)
    }

    pub fn skipped(&self, kind: Kind) -> usize {
        self.skipped.get(&kind).copied().unwrap_or(0)
    }
}

/// The source's records the target lacks, in the order they are copied.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    pub environments: Vec<&'a Environment>,
    /// Every pacticipant (the target fills in only what it lacks); `new_pacticipants`
    /// counts those it does not have at all.
    pub pacticipants: Vec<&'a Pacticipant>,
    new_pacticipants: usize,
    /// New versions, and known ones missing a branch or tag, oldest first per pacticipant.
    pub versions: Vec<(&'a str, &'a Version)>,
    /// (consumer, provider, pact).
    pub pacts: Vec<(&'a str, &'a str, &'a PactListing)>,
    /// (consumer, provider, result).
    pub verifications: Vec<(&'a str, &'a str, &'a VerificationRow)>,
    /// (environment name, deployment).
    pub deployments: Vec<(&'a str, &'a Record)>,
    /// (environment name, release).
    pub releases: Vec<(&'a str, &'a Record)>,
    source_counts: BTreeMap<Kind, usize>,
}

impl<'a> Plan<'a> {
    /// Compares the source `from` with the target `into`.
    pub fn new(from: &'a History, into: &History) -> Self {
        let mut plan = Plan::default();
        let env_names: BTreeSet<&str> = into.environments.iter().map(|e| e.name.as_str()).collect();
        plan.environments = from
            .environments
            .iter()
            .filter(|e| !env_names.contains(e.name.as_str()))
            .collect();
        plan.pacticipants = from.pacticipants.iter().collect();
        plan.new_pacticipants = from
            .pacticipants
            .iter()
            .filter(|p| into.pacticipant(&p.name).is_none())
            .count();
        for p in &from.pacticipants {
            let known: BTreeMap<&str, &Version> = into
                .pacticipant(&p.name)
                .map(|t| t.versions.iter().map(|v| (v.number.as_str(), v)).collect())
                .unwrap_or_default();
            for v in &p.versions {
                let complete = known.get(v.number.as_str()).is_some_and(|t| {
                    v.branches.is_subset(&t.branches) && v.tags.is_subset(&t.tags)
                });
                if !complete {
                    plan.versions.push((p.name.as_str(), v));
                }
            }
        }
        for ((consumer, provider), integration) in &from.integrations {
            let there = into.integrations.get(&(consumer.clone(), provider.clone()));
            let pacts: BTreeSet<&str> = there
                .map(|i| {
                    i.pacts
                        .iter()
                        .map(|p| p.consumer_version.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let results = there.map(|i| &i.result_keys);
            for pact in &integration.pacts {
                if !pacts.contains(pact.consumer_version.as_str()) {
                    plan.pacts.push((consumer, provider, pact));
                }
            }
            for row in &integration.verifications {
                if !results.is_some_and(|keys| keys.contains(&row.key())) {
                    plan.verifications.push((consumer, provider, row));
                }
            }
        }
        // Results are sent oldest first, as they were made: a broker takes the result
        // stored last as the latest (matrices list them newest first).
        plan.verifications
            .sort_by_key(|(_, _, row)| (parse_time(&row.verified_at), row.number()));
        let deployed: BTreeSet<&str> = into
            .environments
            .iter()
            .flat_map(|e| e.deployed.iter().map(|d| d.uuid.as_str()))
            .collect();
        let released: BTreeSet<(&str, &str, &str)> = into
            .environments
            .iter()
            .flat_map(|e| {
                e.released
                    .iter()
                    .map(|r| (r.pacticipant.as_str(), r.version.as_str(), e.name.as_str()))
            })
            .collect();
        for e in &from.environments {
            for d in &e.deployed {
                if !deployed.contains(d.uuid.as_str()) {
                    plan.deployments.push((e.name.as_str(), d));
                }
            }
            for r in &e.released {
                if !released.contains(&(
                    r.pacticipant.as_str(),
                    r.version.as_str(),
                    e.name.as_str(),
                )) {
                    plan.releases.push((e.name.as_str(), r));
                }
            }
        }
        let counts = [
            (Kind::Environment, from.environments.len()),
            (Kind::Pacticipant, from.pacticipants.len()),
            (
                Kind::Version,
                from.pacticipants.iter().map(|p| p.versions.len()).sum(),
            ),
            (
                Kind::Pact,
                from.integrations.values().map(|i| i.pacts.len()).sum(),
            ),
            (
                Kind::Verification,
                from.integrations
                    .values()
                    .map(|i| i.verifications.len())
                    .sum(),
            ),
            (
                Kind::Deployment,
                from.environments.iter().map(|e| e.deployed.len()).sum(),
            ),
            (
                Kind::Release,
                from.environments.iter().map(|e| e.released.len()).sum(),
            ),
        ];
        plan.source_counts = counts.into_iter().collect();
        plan
    }

    /// How many records of a kind the source has.
    pub fn source_count(&self, kind: Kind) -> usize {
        self.source_counts.get(&kind).copied().unwrap_or(0)
    }

    /// How many records of a kind are sent to the target: the new ones, and for
    /// pacticipants every one (the target fills in what it lacks).
    pub fn sent_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Pacticipant => self.pacticipants.len(),
            other => self.new_count(other),
        }
    }

    /// How many records of a kind are to be copied.
    pub fn new_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Environment => self.environments.len(),
            Kind::Pacticipant => self.new_pacticipants,
            Kind::Version => self.versions.len(),
            Kind::Pact => self.pacts.len(),
            Kind::Verification => self.verifications.len(),
            Kind::Deployment => self.deployments.len(),
            Kind::Release => self.releases.len(),
        }
    }
}

/// A time the source gave, or now when it gave none (the record then counts as new
/// for pending and work-in-progress rules).
fn time_or_now(at: Option<&str>) -> String {
    at.map(str::to_string)
        .unwrap_or_else(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

pub fn environment_json(e: &Environment) -> Value {
    json!({
        "uuid": e.uuid,
        "name": e.name,
        "displayName": e.display_name,
        "production": e.production,
        "contacts": e.contacts,
        "createdAt": time_or_now(e.created_at.as_deref()),
    })
}

pub fn pacticipant_json(p: &Pacticipant) -> Value {
    let created = p
        .created_at
        .as_deref()
        .or_else(|| p.versions.first().and_then(|v| v.created_at.as_deref()));
    json!({
        "name": p.name,
        "displayName": p.display_name,
        "repositoryUrl": p.repository_url,
        "repositoryName": p.repository_name,
        "repositoryNamespace": p.repository_namespace,
        "mainBranch": p.main_branch,
        "labels": p.labels,
        "createdAt": time_or_now(created),
    })
}

pub fn version_json(pacticipant: &str, v: &Version) -> Value {
    let at = time_or_now(v.created_at.as_deref());
    // Brokers do not show when a tag was added: the version's time stands in.
    let tags: Vec<Value> = v
        .tags
        .iter()
        .map(|t| json!({ "name": t, "createdAt": at }))
        .collect();
    json!({
        "pacticipant": pacticipant,
        "number": v.number,
        "buildUrl": v.build_url,
        "createdAt": at,
        "branches": v.branches,
        "tags": tags,
    })
}

/// When a consumer version was created, for a pact listed without a time.
pub fn version_time(from: &History, consumer: &str, number: &str) -> Option<String> {
    from.pacticipant(consumer)?
        .versions
        .iter()
        .find(|v| v.number == number)?
        .created_at
        .clone()
}

/// A pact record: the document as the source serves it, without what the broker adds
/// to it (`_links`, `createdAt`).
pub fn pact_json(
    consumer: &str,
    provider: &str,
    listing: &PactListing,
    mut document: Value,
    at: Option<String>,
) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.remove("_links");
        object.remove("_embedded");
        object.remove("createdAt");
    }
    json!({
        "consumer": consumer,
        "consumerVersion": listing.consumer_version,
        "provider": provider,
        "createdAt": time_or_now(at.as_deref()),
        "content": document,
    })
}

/// A verification record from its matrix row and (when readable) its own resource.
pub fn verification_json(
    consumer: &str,
    provider: &str,
    row: &VerificationRow,
    details: &Value,
) -> Value {
    let detail = |key: &str| details.get(key).filter(|v| !v.is_null()).cloned();
    json!({
        "consumer": consumer,
        "consumerVersion": row.consumer_version,
        "provider": provider,
        "providerVersion": row.provider_version,
        "success": row.success,
        "buildUrl": detail("buildUrl").filter(Value::is_string),
        "testResults": detail("testResults"),
        "verifiedBy": detail("verifiedBy"),
        "verifiedAt": row.verified_at,
    })
}

pub fn record_json(environment: &str, r: &Record, deployment: bool) -> Value {
    let mut record = json!({
        "uuid": r.uuid,
        "pacticipant": r.pacticipant,
        "version": r.version,
        "environment": environment,
        "createdAt": time_or_now(r.created_at.as_deref()),
    });
    if deployment {
        record["applicationInstance"] = json!(r.application_instance);
    }
    record
}

/// The records a refusal of the target names (`versions[3].number: cannot contain a
/// new line`): each kind and index once, in order.
pub fn refused_records(message: &str) -> Vec<(String, usize)> {
    let mut found: BTreeSet<(String, usize)> = BTreeSet::new();
    for kind in Kind::ALL {
        let key = kind.key();
        let mut rest = message;
        while let Some(at) = rest.find(&format!("{key}[")) {
            let after = &rest[at + key.len() + 1..];
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(index) = digits.parse::<usize>()
                && after[digits.len()..].starts_with(']')
            {
                found.insert((key.to_string(), index));
            }
            rest = after;
        }
    }
    found.into_iter().collect()
}

/// A batch split in two halves of its records (each kind's list cut in the middle,
/// the earlier records in the first half); `None` for a batch of one record.
pub fn halves(batch: &Value) -> Option<(Value, Value)> {
    let records: usize = Kind::ALL
        .iter()
        .filter_map(|kind| batch.get(kind.key()).and_then(Value::as_array))
        .map(Vec::len)
        .sum();
    if records < 2 {
        return None;
    }
    let mut first = Map::new();
    let mut second = Map::new();
    let mut left = records / 2;
    for kind in Kind::ALL {
        let Some(items) = batch.get(kind.key()).and_then(Value::as_array) else {
            continue;
        };
        let cut = left.min(items.len());
        left -= cut;
        first.insert(kind.key().to_string(), Value::Array(items[..cut].to_vec()));
        second.insert(kind.key().to_string(), Value::Array(items[cut..].to_vec()));
    }
    Some((Value::Object(first), Value::Object(second)))
}

/// The kind and record of a batch of one record.
pub fn only_record(batch: &Value) -> (&'static str, Value) {
    Kind::ALL
        .iter()
        .find_map(|kind| {
            let items = batch.get(kind.key())?.as_array()?;
            Some((kind.key(), items.first()?.clone()))
        })
        .unwrap_or(("records", Value::Null))
}

/// A record in a few words, for the list of what was skipped.
pub fn describe_record(record: &Value) -> String {
    let field = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or("");
    let words: Vec<&str> = [
        "name",
        "pacticipant",
        "consumer",
        "number",
        "version",
        "consumerVersion",
        "provider",
        "providerVersion",
        "uuid",
    ]
    .iter()
    .map(|key| field(key))
    .filter(|value| !value.is_empty())
    .collect();
    words.join(" ").escape_debug().to_string()
}

/// A webhook's uuid: the last segment of its `self` link.
pub fn webhook_uuid(webhook: &Value) -> Option<String> {
    let href = webhook.pointer("/_links/self/href")?.as_str()?;
    let uuid = href.trim_end_matches('/').rsplit('/').next()?;
    let valid = uuid.len() >= 16
        && uuid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| uuid.to_string())
}

/// Whether a value is what a broker shows instead of a secret (`****`, `**********`).
fn masked(text: &str) -> bool {
    text.contains("****")
}

/// A webhook body to create in the target, without the secrets the source masked, and
/// the names of those secrets. One with secrets missing is disabled.
pub fn webhook_without_secrets(webhook: &Value) -> (Value, Vec<String>) {
    let mut body = Map::new();
    for key in [
        "description",
        "consumer",
        "provider",
        "events",
        "enabled",
        "request",
    ] {
        if let Some(value) = webhook.get(key).filter(|v| !v.is_null()) {
            body.insert(key.to_string(), value.clone());
        }
    }
    let mut secrets = Vec::new();
    if let Some(request) = body.get_mut("request").and_then(Value::as_object_mut) {
        request.remove("_links");
        if request
            .get("password")
            .and_then(Value::as_str)
            .is_some_and(masked)
        {
            request.remove("password");
            secrets.push("password".to_string());
        }
        if let Some(headers) = request.get_mut("headers").and_then(Value::as_object_mut) {
            let hidden: Vec<String> = headers
                .iter()
                .filter(|(_, value)| value.as_str().is_some_and(masked))
                .map(|(name, _)| name.clone())
                .collect();
            for name in hidden {
                headers.remove(&name);
                secrets.push(format!("header {name}"));
            }
        }
        if request
            .get("url")
            .and_then(Value::as_str)
            .is_some_and(masked)
        {
            secrets.push("credentials in the URL".to_string());
        }
    }
    if !secrets.is_empty() {
        body.insert("enabled".into(), json!(false));
    }
    (Value::Object(body), secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::import::history::Integration;

    fn version(number: &str, branches: &[&str], tags: &[&str]) -> Version {
        Version {
            number: number.into(),
            build_url: None,
            created_at: Some(format!("2024-01-0{number}T00:00:00Z")),
            branches: branches.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn pacticipant(name: &str, versions: Vec<Version>) -> Pacticipant {
        Pacticipant {
            name: name.into(),
            display_name: None,
            repository_url: None,
            repository_name: None,
            repository_namespace: None,
            main_branch: None,
            labels: vec![],
            created_at: None,
            versions,
        }
    }

    fn row(provider_version: &str, at: &str) -> VerificationRow {
        VerificationRow {
            consumer_version: "1".into(),
            provider_version: provider_version.into(),
            success: true,
            verified_at: at.into(),
            href: format!("/v/{provider_version}"),
        }
    }

    #[test]
    fn only_what_the_target_lacks_is_planned() {
        let listing = |v: &str| PactListing {
            consumer_version: v.into(),
            created_at: None,
            href: format!("/p/{v}"),
        };
        let mut from = History {
            pacticipants: vec![pacticipant(
                "web",
                vec![
                    version("1", &["main"], &[]),
                    version("2", &["main"], &["prod"]),
                ],
            )],
            ..History::default()
        };
        from.integrations.insert(
            ("web".into(), "orders".into()),
            Integration {
                pacts: vec![listing("1"), listing("2")],
                // Newest first, as matrices list them.
                verifications: vec![
                    row("9", "2024-01-07T10:00:00Z"),
                    row("9", "2024-01-06T10:00:00Z"),
                    row("9", "2024-01-05T10:00:00Z"),
                ],
                result_keys: BTreeSet::new(),
            },
        );
        let mut into = History {
            // Version 2 is there but lacks its tag; version 1 is complete.
            pacticipants: vec![pacticipant(
                "web",
                vec![version("1", &["main"], &[]), version("2", &["main"], &[])],
            )],
            ..History::default()
        };
        into.integrations.insert(
            ("web".into(), "orders".into()),
            Integration {
                pacts: vec![listing("1")],
                verifications: vec![],
                // The same result, shown with another offset and a fraction.
                result_keys: [row("9", "2024-01-05T12:00:00.4+02:00").key()].into(),
            },
        );
        let plan = Plan::new(&from, &into);
        let versions: Vec<&str> = plan
            .versions
            .iter()
            .map(|(_, v)| v.number.as_str())
            .collect();
        assert_eq!(versions, ["2"]);
        let pacts: Vec<&str> = plan
            .pacts
            .iter()
            .map(|(_, _, p)| p.consumer_version.as_str())
            .collect();
        assert_eq!(pacts, ["2"]);
        let results: Vec<&str> = plan
            .verifications
            .iter()
            .map(|(_, _, r)| r.verified_at.as_str())
            .collect();
        // Oldest first, as they were made; the one the target has is left out.
        assert_eq!(results, ["2024-01-06T10:00:00Z", "2024-01-07T10:00:00Z"]);
        assert_eq!(plan.new_count(Kind::Pacticipant), 0);
        assert_eq!(plan.source_count(Kind::Version), 2);
    }

    #[test]
    fn a_batch_splits_into_halves_in_order() {
        let batch = json!({ "versions": [1, 2, 3], "pacts": [4] });
        let (first, second) = halves(&batch).unwrap();
        assert_eq!(first, json!({ "versions": [1, 2], "pacts": [] }));
        assert_eq!(second, json!({ "versions": [3], "pacts": [4] }));
        assert!(halves(&json!({ "pacts": [4] })).is_none());
        assert_eq!(
            only_record(&json!({ "versions": [], "pacts": [4] })),
            ("pacts", json!(4))
        );
    }

    #[test]
    fn the_records_a_refusal_names_are_found() {
        let message = "versions[3].number: cannot contain a new line; versions[3].createdAt: must be a time; pacts[12].content: bad; versions[x]: no";
        assert_eq!(
            refused_records(message),
            [("pacts".to_string(), 12), ("versions".to_string(), 3)]
        );
        assert!(refused_records("the broker is read-only").is_empty());
    }

    #[test]
    fn masked_secrets_are_dropped_and_the_webhook_disabled() {
        let webhook = json!({
            "description": "build",
            "enabled": true,
            "events": [{ "name": "contract_content_changed" }],
            "request": {
                "method": "POST",
                "url": "https://ci.example.com/build",
                "headers": { "Authorization": "**********", "Content-Type": "application/json" },
                "username": "ci",
                "password": "**********"
            },
            "createdAt": "2024-01-01T00:00:00Z",
            "_links": { "self": { "href": "https://old/webhooks/AbCdEfGhIjKlMnOp1234" } }
        });
        assert_eq!(
            webhook_uuid(&webhook).as_deref(),
            Some("AbCdEfGhIjKlMnOp1234")
        );
        let (body, secrets) = webhook_without_secrets(&webhook);
        assert_eq!(secrets, ["password", "header Authorization"]);
        assert_eq!(body["enabled"], json!(false));
        assert!(body["request"].get("password").is_none());
        assert_eq!(
            body["request"]["headers"],
            json!({ "Content-Type": "application/json" })
        );
        assert!(body.get("_links").is_none() && body.get("createdAt").is_none());
    }

    #[test]
    fn a_pact_loses_what_the_broker_added() {
        let listing = PactListing {
            consumer_version: "1".into(),
            created_at: Some("2024-01-01T00:00:00Z".into()),
            href: "/p".into(),
        };
        let document = json!({
            "consumer": { "name": "web" }, "provider": { "name": "orders" }, "interactions": [],
            "createdAt": "2024-01-01T00:00:00+00:00", "_links": { "self": { "href": "/p" } }
        });
        let record = pact_json(
            "web",
            "orders",
            &listing,
            document,
            listing.created_at.clone(),
        );
        assert_eq!(
            record["content"],
            json!({ "consumer": { "name": "web" }, "provider": { "name": "orders" }, "interactions": [] })
        );
        assert_eq!(record["createdAt"], json!("2024-01-01T00:00:00Z"));
    }
}
