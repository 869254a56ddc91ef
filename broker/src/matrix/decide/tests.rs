//! The matrix's decision in tables over plain data (the API reference, section 7.4):
//! a consumer "web" (id 1) and a provider "orders" (id 2), their versions by id, pacts
//! by content id and results by provider version. No store, no database.

use chrono::{TimeZone, Utc};

use super::*;
use crate::matrix::model::{Scope, VersionRef};
use crate::store::{Pacticipant, Publication, Verification};

const WEB: i64 = 1;
const ORDERS: i64 = 2;

fn pacticipant(id: i64) -> Pacticipant {
    Pacticipant {
        id,
        name: if id == WEB { "web" } else { "orders" }.into(),
        display_name: None,
        repository_url: None,
        repository_name: None,
        repository_namespace: None,
        main_branch: None,
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        updated_at: Utc.timestamp_opt(0, 0).unwrap(),
    }
}

/// A side of pacticipant `id` with these version ids (`None`: every version).
fn side(id: i64, versions: Option<&[i64]>, ignored: bool) -> Side {
    Side {
        pacticipant: pacticipant(id),
        scope: Scope::Every,
        versions: versions.map(|vs| {
            vs.iter()
                .map(|v| VersionRef {
                    id: *v,
                    number: v.to_string(),
                })
                .collect()
        }),
        ignored,
    }
}

/// Web version `consumer_version` published content `content` (pact id `consumer_version`),
/// and orders version `provider_version` verified it with `success` (result `result_id`).
fn row(consumer_version: i64, content: i64, result: Option<(i64, i64, bool)>) -> Row {
    let publication = Publication {
        id: consumer_version,
        consumer_id: WEB,
        consumer_name: "web".into(),
        provider_id: ORDERS,
        provider_name: "orders".into(),
        consumer_version_id: consumer_version,
        consumer_version_number: consumer_version.to_string(),
        pact_version_id: content,
        sha: content.to_string(),
        created_at: Utc.timestamp_opt(consumer_version, 0).unwrap(),
    };
    let verification = result.map(|(id, provider_version, success)| Verification {
        id,
        pact_version_id: content,
        sha: content.to_string(),
        consumer_id: WEB,
        consumer_name: "web".into(),
        provider_id: ORDERS,
        provider_name: "orders".into(),
        provider_version_id: provider_version,
        provider_version_number: provider_version.to_string(),
        success,
        build_url: None,
        test_results: None,
        verified_by: None,
        wip: false,
        pending: None,
        created_at: Utc.timestamp_opt(id, 0).unwrap(),
    });
    Row {
        publication,
        verification,
        ignored: false,
        link: 0,
    }
}

/// One question: web (named, side 0) needs orders (side 1).
struct Case {
    name: &'static str,
    rows: Vec<Row>,
    web_versions: Option<Vec<i64>>,
    rules: Vec<IgnoreRule>,
    latestby: Option<LatestBy>,
    success: Vec<bool>,
    deployable: Option<bool>,
    /// (success, failed, unknown) counts.
    counts: (usize, usize, usize),
}

impl Default for Case {
    fn default() -> Self {
        Self {
            name: "",
            rows: vec![],
            web_versions: Some(vec![10]),
            rules: vec![],
            latestby: Some(LatestBy::Cvpv),
            success: vec![],
            deployable: Some(true),
            counts: (0, 0, 0),
        }
    }
}

fn run(case: &Case) -> Decision {
    let sides = [
        side(WEB, case.web_versions.as_deref(), false),
        side(ORDERS, None, false),
    ];
    let links = [Link {
        consumer: 0,
        provider: 1,
        required: true,
    }];
    decide(Gathered {
        rows: case.rows.clone(),
        sides: &sides,
        specified: 1,
        links: &links,
        rules: &case.rules,
        latestby: case.latestby,
        success: &case.success,
        ignore_given: !case.rules.is_empty(),
    })
}

#[test]
fn the_answer_follows_the_api_reference() {
    let cases = vec![
        Case {
            name: "a verified pact: yes",
            rows: vec![row(10, 100, Some((1, 20, true)))],
            counts: (1, 0, 0),
            ..Case::default()
        },
        Case {
            name: "a failed result: no",
            rows: vec![row(10, 100, Some((1, 20, false)))],
            deployable: Some(false),
            counts: (0, 1, 0),
            ..Case::default()
        },
        Case {
            name: "a pact without a result: unknown",
            rows: vec![row(10, 100, None)],
            deployable: None,
            counts: (0, 0, 1),
            ..Case::default()
        },
        Case {
            name: "a missing result beside a failure: unknown, not no",
            rows: vec![row(10, 100, Some((1, 20, false))), row(10, 101, None)],
            deployable: None,
            counts: (0, 1, 1),
            ..Case::default()
        },
        Case {
            name: "a required integration without a row: unknown",
            rows: vec![],
            deployable: None,
            counts: (0, 0, 1),
            ..Case::default()
        },
        Case {
            name: "a named selector that names no version: no, whatever the rows",
            rows: vec![row(10, 100, Some((1, 20, true)))],
            web_versions: Some(vec![]),
            deployable: Some(false),
            counts: (1, 0, 0),
            ..Case::default()
        },
        Case {
            name: "the latest result per provider version counts (cvpv)",
            rows: vec![
                row(10, 100, Some((1, 20, false))),
                row(10, 100, Some((2, 20, true))),
            ],
            counts: (1, 0, 0),
            ..Case::default()
        },
        Case {
            name: "every provider version counts with cvpv",
            rows: vec![
                row(10, 100, Some((1, 20, true))),
                row(10, 100, Some((2, 21, false))),
            ],
            deployable: Some(false),
            counts: (1, 1, 0),
            ..Case::default()
        },
        Case {
            name: "only the latest result per consumer version counts with cvp",
            rows: vec![
                row(10, 100, Some((1, 20, false))),
                row(10, 100, Some((2, 21, true))),
            ],
            latestby: Some(LatestBy::Cvp),
            counts: (1, 0, 0),
            ..Case::default()
        },
        Case {
            name: "without latestby every row counts",
            rows: vec![
                row(10, 100, Some((1, 20, false))),
                row(10, 100, Some((2, 20, true))),
            ],
            latestby: None,
            deployable: Some(false),
            counts: (1, 1, 0),
            ..Case::default()
        },
        Case {
            name: "success[] keeps only matching rows; the integration is then missing",
            rows: vec![row(10, 100, Some((1, 20, false)))],
            success: vec![true],
            deployable: None,
            counts: (0, 0, 1),
            ..Case::default()
        },
        Case {
            name: "an ignored provider's failure does not count",
            rows: vec![row(10, 100, Some((1, 20, false)))],
            rules: vec![IgnoreRule {
                pacticipant_id: ORDERS,
                version_id: None,
            }],
            counts: (0, 0, 0),
            ..Case::default()
        },
        Case {
            name: "an ignored provider version's failure does not count, others do",
            rows: vec![
                row(10, 100, Some((1, 20, false))),
                row(10, 100, Some((2, 21, true))),
            ],
            rules: vec![IgnoreRule {
                pacticipant_id: ORDERS,
                version_id: Some(20),
            }],
            counts: (1, 0, 0),
            ..Case::default()
        },
        Case {
            name: "every version of a consumer without a pact: the provider is a missing dependency",
            rows: vec![],
            web_versions: None,
            deployable: None,
            counts: (0, 0, 1),
            ..Case::default()
        },
    ];
    for case in &cases {
        let decision = run(case);
        assert_eq!(decision.deployable, case.deployable, "{}", case.name);
        let counts = (
            decision.counts.success,
            decision.counts.failed,
            decision.counts.unknown,
        );
        assert_eq!(counts, case.counts, "{}", case.name);
        assert_eq!(
            decision.counts.ignored.is_some(),
            !case.rules.is_empty(),
            "{}",
            case.name
        );
    }
}

#[test]
fn an_ignored_selector_that_names_no_version_does_not_block() {
    let sides = [side(WEB, Some(&[]), true), side(ORDERS, None, false)];
    let decision = decide(Gathered {
        rows: vec![],
        sides: &sides,
        specified: 1,
        links: &[],
        rules: &[IgnoreRule {
            pacticipant_id: WEB,
            version_id: None,
        }],
        latestby: Some(LatestBy::Cvpv),
        success: &[],
        ignore_given: true,
    });
    assert_eq!(decision.empty_sides, [0]);
    assert_eq!(
        decision.deployable,
        Some(true),
        "vacuously yes: no missing dependencies"
    );
}

#[test]
fn a_provider_need_not_find_its_consumers_but_must_not_break_them() {
    // orders is named (side 0); web, its consumer, is inferred (side 1): the link is
    // not required, so no row is not a missing dependency.
    let sides = [
        side(ORDERS, Some(&[20]), false),
        side(WEB, Some(&[]), false),
    ];
    let links = [Link {
        consumer: 1,
        provider: 0,
        required: false,
    }];
    let decide_with = |rows: Vec<Row>| {
        decide(Gathered {
            rows,
            sides: &sides,
            specified: 1,
            links: &links,
            rules: &[],
            latestby: Some(LatestBy::Cvpv),
            success: &[],
            ignore_given: false,
        })
    };
    let nobody = decide_with(vec![]);
    assert_eq!(nobody.deployable, Some(true));
    assert!(nobody.missing_links.is_empty());
    let broken = decide_with(vec![row(10, 100, Some((1, 20, false)))]);
    assert_eq!(broken.deployable, Some(false));
}

#[test]
fn considered_rows_come_newest_first() {
    let decision = run(&Case {
        rows: vec![
            row(10, 100, Some((1, 20, true))),
            row(12, 102, Some((3, 20, true))),
            row(11, 101, Some((2, 20, true))),
        ],
        web_versions: Some(vec![10, 11, 12]),
        ..Case::default()
    });
    let order: Vec<i64> = decision
        .considered
        .iter()
        .map(|r| r.publication.consumer_version_id)
        .collect();
    assert_eq!(order, [12, 11, 10]);
}
