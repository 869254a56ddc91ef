//! The for-verification rules in tables over plain data: each row is a consumer's
//! history, a request, and what the answer must hold. No store, no database.

use chrono::TimeZone;

use super::*;
use crate::store::batch::PublicationRef;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + minute * 60, 0).unwrap()
}

/// A consumer "web" (id 1, main branch `main`) whose versions 10.. published contents
/// to the provider; version `v` published content `content_of(v)` at minute `v`.
struct History {
    data: ConsumerData,
}

impl History {
    fn new(name: &str, main: Option<&str>) -> Self {
        let pacticipant = Pacticipant {
            id: 1,
            name: name.to_string(),
            display_name: None,
            repository_url: None,
            repository_name: None,
            repository_namespace: None,
            main_branch: main.map(str::to_string),
            created_at: at(0),
            updated_at: at(0),
        };
        Self {
            data: ConsumerData {
                pacticipant,
                publications: BTreeMap::new(),
                wip_heads: vec![],
                latest_publication: None,
                branch_heads: BTreeMap::new(),
                tag_heads: BTreeMap::new(),
                tags: vec![],
                deployed: vec![],
                released: vec![],
            },
        }
    }

    /// Version `version` (number "1.<version>") published content `content`.
    fn published(mut self, version: i64, content: i64) -> Self {
        self.data.publications.insert(
            version,
            Publication {
                id: version,
                consumer_id: 1,
                consumer_name: self.data.pacticipant.name.clone(),
                provider_id: 2,
                provider_name: "orders".into(),
                consumer_version_id: version,
                consumer_version_number: format!("1.{version}"),
                pact_version_id: content,
                sha: format!("sha{content}"),
                created_at: at(version),
            },
        );
        self.data.latest_publication = Some(
            self.data
                .latest_publication
                .map_or(version, |v| v.max(version)),
        );
        self
    }

    fn branch_head(mut self, branch: &str, version: i64) -> Self {
        self.data.branch_heads.insert(branch.into(), version);
        self
    }

    fn tag(mut self, tag: &str, version: i64) -> Self {
        self.data.tags.push(Tag {
            version_id: version,
            version_number: format!("1.{version}"),
            name: tag.into(),
            created_at: at(version),
        });
        let head = self.data.tag_heads.entry(tag.into()).or_insert(version);
        *head = (*head).max(version);
        self
    }

    fn deployed(mut self, version: i64, environment: i64) -> Self {
        self.data.deployed.push((version, environment));
        self
    }

    fn released(mut self, version: i64, environment: i64) -> Self {
        self.data.released.push((version, environment));
        self
    }

    fn wip_head(mut self, kind: HeadKind, name: &str, version: i64, content: i64) -> Self {
        self.data.wip_heads.push(HeadRef {
            pacticipant_id: 1,
            kind,
            name: name.into(),
            publication: PublicationRef {
                consumer_version_id: version,
                pact_version_id: content,
                created_at: at(version),
            },
        });
        self
    }
}

fn environments() -> HashMap<String, i64> {
    HashMap::from([("production".to_string(), 1), ("test".to_string(), 2)])
}

/// (label, consumer version id) of every pick, in order.
fn picks(selector: Selector, history: &History) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    select(&selector, &history.data, &environments(), &mut out);
    out.into_iter()
        .map(|s| (s.label, s.publication.consumer_version_id))
        .collect()
}

fn history() -> History {
    History::new("web", Some("main"))
        .published(10, 100)
        .published(11, 101)
        .published(12, 102)
        .published(13, 103)
        .branch_head("main", 12)
        .branch_head("feat-x", 13)
        .tag("prod", 10)
        .tag("prod", 11)
        .deployed(10, 1)
        .deployed(11, 2)
        .released(12, 1)
}

/// A case, the selector, and the (label, consumer version id) of every pick.
type Row = (&'static str, Selector, Vec<(&'static str, i64)>);

#[test]
fn each_selector_form_picks_what_the_api_reference_says() {
    let h = history();
    let rows: Vec<Row> = vec![
        (
            "main branch head",
            Selector {
                main_branch: true,
                ..Default::default()
            },
            vec![("latest from main branch", 12)],
        ),
        (
            "a branch head",
            Selector {
                branch: Some("feat-x".into()),
                ..Default::default()
            },
            vec![("latest from branch feat-x", 13)],
        ),
        (
            "a branch with no pact falls back",
            Selector {
                branch: Some("feat-y".into()),
                fallback_branch: Some("main".into()),
                ..Default::default()
            },
            vec![("latest from branch main", 12)],
        ),
        (
            "a branch with no pact and no fallback picks nothing",
            Selector {
                branch: Some("feat-y".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            "matching branch",
            Selector {
                branch: Some("feat-x".into()),
                matching_branch: true,
                ..Default::default()
            },
            vec![("latest from matching branch feat-x", 13)],
        ),
        (
            "latest with a tag",
            Selector {
                tag: Some("prod".into()),
                latest: Some(true),
                ..Default::default()
            },
            vec![("latest with tag prod", 11)],
        ),
        (
            "a missing tag falls back",
            Selector {
                tag: Some("staging".into()),
                fallback_tag: Some("prod".into()),
                latest: Some(true),
                ..Default::default()
            },
            vec![("latest with tag prod", 11)],
        ),
        (
            "every version with a tag",
            Selector {
                tag: Some("prod".into()),
                ..Default::default()
            },
            vec![("one of prod", 10), ("one of prod", 11)],
        ),
        (
            "deployed anywhere",
            Selector {
                deployed: true,
                ..Default::default()
            },
            vec![("deployed to production", 10), ("deployed to test", 11)],
        ),
        (
            "released anywhere",
            Selector {
                released: true,
                ..Default::default()
            },
            vec![("released in production", 12)],
        ),
        (
            "deployed or released in one environment",
            Selector {
                environment: Some("production".into()),
                ..Default::default()
            },
            vec![
                ("deployed to production", 10),
                ("released in production", 12),
            ],
        ),
        (
            "deployed in one environment",
            Selector {
                environment: Some("test".into()),
                deployed: true,
                ..Default::default()
            },
            vec![("deployed to test", 11)],
        ),
        (
            "an unknown environment picks nothing",
            Selector {
                environment: Some("staging".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            "the latest pact",
            Selector {
                latest: Some(true),
                ..Default::default()
            },
            vec![("latest", 13)],
        ),
    ];
    for (name, selector, expected) in rows {
        let expected: Vec<(String, i64)> = expected
            .into_iter()
            .map(|(l, v)| (l.to_string(), v))
            .collect();
        assert_eq!(picks(selector, &h), expected, "{name}");
    }
}

#[test]
fn without_selectors_a_consumer_without_a_main_branch_head_gets_its_latest_pact() {
    let with_main = history();
    let without_main = History::new("app", None)
        .published(20, 200)
        .published(21, 201);
    let consumers = [with_main.data, without_main.data];
    let request = Request {
        selectors: default_selectors(),
        ..Default::default()
    };
    let choice = choose(&request, true, &consumers, &environments());
    let picked: Vec<(String, i64)> = choice.groups.keys().cloned().collect();
    assert_eq!(
        picked,
        vec![
            ("app".to_string(), 201),
            ("web".to_string(), 100),
            ("web".to_string(), 101),
            ("web".to_string(), 102),
        ],
        "app: its latest pact; web: its main head (102), what is deployed (100, 101) and released (102)"
    );
}

#[test]
fn identical_content_is_one_entry_with_every_reason_and_the_newest_version() {
    // Versions 10 and 11 published the same content.
    let h = History::new("web", Some("main"))
        .published(10, 100)
        .published(11, 100)
        .branch_head("main", 11)
        .deployed(10, 1);
    let consumers = [h.data];
    let request = Request {
        selectors: vec![
            Selector {
                main_branch: true,
                ..Default::default()
            },
            Selector {
                deployed: true,
                ..Default::default()
            },
        ],
        include_pending: true,
        ..Default::default()
    };
    let choice = choose(&request, false, &consumers, &environments());
    let rule = PendingRule::for_any(vec![]);
    let answer = entries(&choice.groups, Some(&rule), true);
    assert_eq!(answer.len(), 1);
    let entry = &answer[0];
    assert_eq!(entry.publication.consumer_version_id, 11);
    assert_eq!(
        entry.labels,
        ["latest from main branch", "deployed to production"]
    );
    assert_eq!(entry.reasons.len(), 2);
    assert_eq!(entry.versions, ["1.10", "1.11"]);
    assert_eq!(
        entry.pending,
        Some((true, "any version of the provider".to_string()))
    );
    // Without pending asked for, no pending status.
    assert_eq!(entries(&choice.groups, Some(&rule), false)[0].pending, None);
}

fn content_successes(
    content: i64,
    first: i64,
    from_branch: i64,
    started: Option<i64>,
) -> ContentSuccesses {
    ContentSuccesses {
        pact_version_id: content,
        first_success_at: at(first),
        from_branch,
        branch_started_at: started.map(at),
    }
}

#[test]
fn pending_follows_the_provider_branch_its_tags_or_any_success() {
    // (case, rule, content, pending?)
    let branch = PendingRule::for_branch(
        "main",
        vec![
            // Verified on the branch.
            content_successes(100, 5, 1, Some(1)),
            // Verified elsewhere, before the branch began: inherited.
            content_successes(101, 0, 0, Some(1)),
            // Verified elsewhere, after the branch began: still pending on it.
            content_successes(102, 5, 0, Some(1)),
            // The branch has no versions yet: any success counts.
            content_successes(103, 5, 0, None),
        ],
    );
    let tag_rule = PendingRule::for_tags(
        &["prod".to_string()],
        &[
            Success {
                pact_version_id: 200,
                provider_version_id: 7,
                created_at: at(9),
            },
            Success {
                pact_version_id: 201,
                provider_version_id: 8,
                created_at: at(2),
            },
            Success {
                pact_version_id: 202,
                provider_version_id: 8,
                created_at: at(9),
            },
        ],
        &[Tag {
            version_id: 7,
            version_number: "7".into(),
            name: "prod".into(),
            created_at: at(5),
        }],
    );
    let any = PendingRule::for_any(vec![content_successes(300, 1, 0, None)]);
    let rows: Vec<(&str, &PendingRule, i64, bool)> = vec![
        ("verified on the branch", &branch, 100, false),
        ("verified before the branch began", &branch, 101, false),
        (
            "verified elsewhere after the branch began",
            &branch,
            102,
            true,
        ),
        ("a branch without versions", &branch, 103, false),
        ("never verified", &branch, 104, true),
        ("verified by a tagged version", &tag_rule, 200, false),
        (
            "verified before the tag was first used",
            &tag_rule,
            201,
            false,
        ),
        (
            "verified by an untagged version after",
            &tag_rule,
            202,
            true,
        ),
        ("verified at all", &any, 300, false),
        ("not verified at all", &any, 301, true),
    ];
    for (case, rule, content, pending) in rows {
        assert_eq!(rule.is_pending(content), pending, "{case}");
    }
    assert!(branch.needs.contains("branch 'main'"));
    assert!(tag_rule.needs.contains("tag(s) prod"));
}

#[test]
fn work_in_progress_pacts_are_recent_unpicked_pending_heads() {
    let h = History::new("web", Some("main"))
        .published(10, 100)
        .published(11, 101)
        .published(12, 102)
        .published(13, 103)
        .branch_head("main", 10)
        // Picked explicitly (the main branch head): never work in progress.
        .wip_head(HeadKind::Branch, "main", 10, 100)
        // Published before the date.
        .wip_head(HeadKind::Branch, "old", 11, 101)
        // Two heads with one content: one pick, both labels, the newest version.
        .wip_head(HeadKind::Branch, "feat-a", 12, 102)
        .wip_head(HeadKind::Tag, "beta", 13, 102)
        // Already verified: not pending, so not work in progress.
        .wip_head(HeadKind::Branch, "feat-b", 13, 103);
    let consumers = [h.data];
    let request = Request {
        selectors: vec![Selector {
            main_branch: true,
            ..Default::default()
        }],
        provider_branch: Some("main".into()),
        wip_since: Some(at(11)),
        ..Default::default()
    };
    assert!(request.wip_wanted());
    let choice = choose(&request, false, &consumers, &environments());
    let candidates: Vec<i64> = choice.wip_candidates.iter().map(|c| c.version_id).collect();
    assert_eq!(candidates, [12, 13, 13]);
    assert_eq!(
        choice.contents_to_judge(&request),
        Some(vec![100, 102, 103])
    );
    let rule = PendingRule::for_branch("main", vec![content_successes(103, 14, 1, Some(0))]);
    let picks = wip_picks(choice.wip_candidates, &rule);
    assert_eq!(picks.len(), 1);
    assert_eq!(picks[0].version_id, 13);
    assert_eq!(
        picks[0].labels,
        ["latest from branch feat-a", "latest with tag beta"]
    );

    // Without a provider branch or tags, pending cannot be judged: no candidates.
    let no_branch = Request {
        provider_branch: None,
        ..request
    };
    assert!(!no_branch.wip_wanted());
    assert!(
        choose(&no_branch, false, &consumers, &environments())
            .wip_candidates
            .is_empty()
    );
}
