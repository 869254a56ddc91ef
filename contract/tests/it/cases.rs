//! The fixture cases both document kinds share: `cases.json` lists, for each document
//! and pact, the mismatch kinds each interaction must get (and where).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use accord_contract::Contract;
use accord_contract::openapi::{Comparison, MismatchKind};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    spec: String,
    pact: String,
    interaction: String,
    expect: Vec<MismatchKind>,
    pointer: Option<String>,
}

/// Checks every case of `dir/cases.json` with `check(spec file, pact)`; panics with every
/// case that did not get what it expects, and returns the kinds seen.
pub fn run(dir: &Path, check: impl Fn(&str, &Contract) -> Comparison) -> BTreeSet<MismatchKind> {
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let mut by_pact: BTreeMap<(String, String), Vec<&Case>> = BTreeMap::new();
    for case in &cases {
        by_pact
            .entry((case.spec.clone(), case.pact.clone()))
            .or_default()
            .push(case);
    }
    let mut failures = Vec::new();
    let mut kinds_seen = BTreeSet::new();
    for ((spec_name, pact_name), cases) in &by_pact {
        let pact = Contract::from_file(dir.join(pact_name)).unwrap();
        let comparison = check(spec_name, &pact);
        assert!(
            comparison.complete(),
            "{pact_name}: {:?}",
            comparison.skipped
        );
        assert_eq!(comparison.interactions.len(), cases.len(), "{pact_name}");
        for case in cases {
            let result = comparison
                .interactions
                .iter()
                .find(|i| i.description == case.interaction)
                .unwrap_or_else(|| panic!("{pact_name}: no result for {:?}", case.interaction));
            let mut kinds: Vec<MismatchKind> = result.mismatches.iter().map(|m| m.kind).collect();
            kinds.dedup();
            kinds_seen.extend(kinds.iter().copied());
            let pointer_fits = case
                .pointer
                .as_ref()
                .is_none_or(|pointer| result.mismatches.iter().any(|m| &m.pointer == pointer));
            if kinds != case.expect || !pointer_fits {
                failures.push(format!(
                    "{spec_name} / {pact_name} / {:?}: expected {:?} at {:?}, got {:#?}",
                    case.interaction, case.expect, case.pointer, result.mismatches
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    kinds_seen
}
