//! Which integrations a question is about, in tables over plain data: pacticipants by
//! id (web 1, orders 2, payments 3, mobile 4), their integrations, and the pacts of
//! versions by version id. No store, no database.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};

use super::*;
use crate::matrix::model::{Scope, VersionRef};
use crate::store::{Integration, Pacticipant, Publication};

const WEB: i64 = 1;
const ORDERS: i64 = 2;
const PAYMENTS: i64 = 3;
const MOBILE: i64 = 4;

fn name(id: i64) -> &'static str {
    match id {
        WEB => "web",
        ORDERS => "orders",
        PAYMENTS => "payments",
        _ => "mobile",
    }
}

fn side(id: i64, versions: Option<&[i64]>) -> Side {
    Side {
        pacticipant: Pacticipant {
            id,
            name: name(id).into(),
            display_name: None,
            repository_url: None,
            repository_name: None,
            repository_namespace: None,
            main_branch: None,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
            updated_at: Utc.timestamp_opt(0, 0).unwrap(),
        },
        scope: Scope::Every,
        versions: versions.map(|vs| {
            vs.iter()
                .map(|v| VersionRef {
                    id: *v,
                    number: v.to_string(),
                })
                .collect()
        }),
        ignored: false,
    }
}

fn integration(consumer: i64, provider: i64) -> Integration {
    Integration {
        consumer_id: consumer,
        consumer_name: name(consumer).into(),
        provider_id: provider,
        provider_name: name(provider).into(),
    }
}

/// Version `version` of `consumer` has a pact with `provider`.
fn pact(version: i64, consumer: i64, provider: i64) -> Publication {
    Publication {
        id: version * 10 + provider,
        consumer_id: consumer,
        consumer_name: name(consumer).into(),
        provider_id: provider,
        provider_name: name(provider).into(),
        consumer_version_id: version,
        consumer_version_number: version.to_string(),
        pact_version_id: version * 10 + provider,
        sha: String::new(),
        created_at: Utc.timestamp_opt(version, 0).unwrap(),
    }
}

/// The integrations every named pacticipant has, as the store reads them (each
/// pacticipant's list holds those it takes part in, either way), and the pacts of
/// web's versions 10 (orders, payments), 11 (orders) and 12 (none), and of mobile's 40
/// (orders).
fn world() -> (
    HashMap<i64, Vec<Integration>>,
    HashMap<i64, Vec<Publication>>,
) {
    let all = [
        integration(WEB, ORDERS),
        integration(WEB, PAYMENTS),
        integration(MOBILE, ORDERS),
        integration(ORDERS, PAYMENTS),
    ];
    let mut integrations: HashMap<i64, Vec<Integration>> = HashMap::new();
    for i in all {
        integrations
            .entry(i.consumer_id)
            .or_default()
            .push(i.clone());
        integrations.entry(i.provider_id).or_default().push(i);
    }
    let mut publications: HashMap<i64, Vec<Publication>> = HashMap::new();
    for pp in [
        pact(10, WEB, PAYMENTS),
        pact(10, WEB, ORDERS),
        pact(11, WEB, ORDERS),
        pact(40, MOBILE, ORDERS),
    ] {
        publications
            .entry(pp.consumer_version_id)
            .or_default()
            .push(pp);
    }
    (integrations, publications)
}

fn described(partners: &[Partner]) -> Vec<(usize, &'static str, bool)> {
    partners
        .iter()
        .map(|p| (p.side, name(p.other), p.as_consumer))
        .collect()
}

fn pairs(links: &[Link], sides: &[Side]) -> Vec<(&'static str, &'static str, bool)> {
    links
        .iter()
        .map(|l| {
            (
                name(sides[l.consumer].pacticipant.id),
                name(sides[l.provider].pacticipant.id),
                l.required,
            )
        })
        .collect()
}

#[test]
fn partners_follow_the_selected_versions_pacts_and_every_consumer() {
    let (integrations, publications) = world();
    let known = Known {
        integrations: &integrations,
        publications: &publications,
    };
    type Case = (&'static str, Vec<Side>, Vec<(usize, &'static str, bool)>);
    let cases: Vec<Case> = vec![
        (
            "a version with two pacts: both providers, by name",
            vec![side(WEB, Some(&[10]))],
            vec![(0, "orders", true), (0, "payments", true)],
        ),
        (
            "a version with one pact: only that provider",
            vec![side(WEB, Some(&[11]))],
            vec![(0, "orders", true)],
        ),
        (
            "a version without pacts: no provider, whatever the integrations",
            vec![side(WEB, Some(&[12]))],
            vec![],
        ),
        (
            "no version selected: none",
            vec![side(WEB, Some(&[]))],
            vec![],
        ),
        (
            "every version: every provider it ever had a pact with",
            vec![side(WEB, None)],
            vec![(0, "orders", true), (0, "payments", true)],
        ),
        (
            "a provider: every consumer, whichever versions are selected",
            vec![side(ORDERS, Some(&[]))],
            vec![(0, "web", false), (0, "mobile", false)],
        ),
        (
            "two named sides: each its own partners, in order",
            vec![side(MOBILE, Some(&[40])), side(PAYMENTS, None)],
            vec![(0, "orders", true), (1, "web", false), (1, "orders", false)],
        ),
    ];
    for (case, sides, expected) in cases {
        let named = sides.len();
        assert_eq!(
            described(&partners(&sides, named, &known)),
            expected,
            "{case}"
        );
    }
}

#[test]
fn links_to_partners_use_named_or_inferred_sides_and_merge_duplicates() {
    let (integrations, publications) = world();
    let known = Known {
        integrations: &integrations,
        publications: &publications,
    };
    // web 10 and orders (any version) named; payments inferred; mobile deleted while
    // the question was answered (no side).
    let sides = vec![
        side(WEB, Some(&[10])),
        side(ORDERS, None),
        side(PAYMENTS, None),
    ];
    let inferred = HashMap::from([(PAYMENTS, 2)]);
    let found = partners(&sides, 2, &known);
    assert_eq!(
        pairs(&to_partners(&found, &sides, 2, &inferred), &sides),
        [
            // web consumes orders (required); orders' consumer web is the same pair.
            ("web", "orders", true),
            ("web", "payments", true),
            ("orders", "payments", true),
        ]
    );
    // A consumer of a named provider, on its own, is not required.
    let sides = vec![side(ORDERS, Some(&[])), side(MOBILE, None)];
    let found = partners(&sides[..1], 1, &known);
    assert_eq!(
        pairs(
            &to_partners(&found, &sides, 1, &HashMap::from([(MOBILE, 1)])),
            &sides
        ),
        [("mobile", "orders", false)]
    );
}

#[test]
fn without_options_only_links_between_named_sides_with_a_pact_count() {
    let (integrations, publications) = world();
    let known = Known {
        integrations: &integrations,
        publications: &publications,
    };
    type Case = (
        &'static str,
        Vec<Side>,
        Vec<(&'static str, &'static str, bool)>,
    );
    let cases: Vec<Case> = vec![
        (
            "the consumer's version has a pact with the provider",
            vec![side(WEB, Some(&[11])), side(ORDERS, Some(&[]))],
            vec![("web", "orders", true)],
        ),
        (
            "integrated, but the selected version has no pact with it",
            vec![side(WEB, Some(&[11])), side(PAYMENTS, None)],
            vec![],
        ),
        (
            "every version of the consumer: the integration is enough",
            vec![side(WEB, None), side(PAYMENTS, None)],
            vec![("web", "payments", true)],
        ),
        (
            "not integrated at all",
            vec![side(MOBILE, None), side(PAYMENTS, None)],
            vec![],
        ),
        (
            "three sides: each pair on its own",
            vec![
                side(WEB, Some(&[10])),
                side(ORDERS, None),
                side(PAYMENTS, None),
            ],
            vec![
                ("web", "orders", true),
                ("web", "payments", true),
                ("orders", "payments", true),
            ],
        ),
    ];
    for (case, sides, expected) in cases {
        assert_eq!(pairs(&between(&sides, &known), &sides), expected, "{case}");
    }
}
