//! Public OpenAPI documents (`tests/fixtures/openapi/`, see its `SOURCES.md`) checked
//! against pacts that fit them and pacts that break them in each way a pact can.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use accord_contract::Contract;
use accord_contract::openapi::{MismatchKind, ProviderSpec};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi")
}

#[derive(Debug, Deserialize)]
struct Case {
    spec: String,
    pact: String,
    interaction: String,
    expect: Vec<MismatchKind>,
    pointer: Option<String>,
}

fn spec(name: &str) -> ProviderSpec {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    ProviderSpec::parse(&text).unwrap_or_else(|err| panic!("{name}: {err}"))
}

#[test]
fn every_case_of_every_document_gets_the_expected_mismatches() {
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap())
            .unwrap();
    let mut by_pact: BTreeMap<(String, String), Vec<&Case>> = BTreeMap::new();
    for case in &cases {
        by_pact
            .entry((case.spec.clone(), case.pact.clone()))
            .or_default()
            .push(case);
    }
    let mut failures = Vec::new();
    let mut kinds_seen = std::collections::BTreeSet::new();
    for ((spec_name, pact_name), cases) in &by_pact {
        let spec = spec(spec_name);
        let pact = Contract::from_file(fixtures().join(pact_name)).unwrap();
        let comparison = spec.check(&pact);
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
    // Every class is exercised by at least one real document.
    assert_eq!(kinds_seen.len(), 10, "{kinds_seen:?}");
}

#[test]
fn a_mismatch_says_what_the_pact_expects_and_what_the_document_allows() {
    let spec = spec("petstore-expanded.yaml");
    let pact = Contract::from_file(fixtures().join("petstore-expanded-fails.json")).unwrap();
    let comparison = spec.check(&pact);
    assert!(!comparison.success());
    let (interaction, mismatch) = comparison
        .mismatches()
        .find(|(_, m)| m.kind == MismatchKind::ResponseBodyInvalid)
        .expect("a response body mismatch");
    assert!(!interaction.description.is_empty());
    assert!(mismatch.pointer.starts_with("/response/body"), "{mismatch}");
    assert!(
        !mismatch.expected.is_empty() && !mismatch.allowed.is_empty(),
        "{mismatch}"
    );
    assert!(
        mismatch
            .spec_pointer
            .as_deref()
            .is_some_and(|p| p.starts_with("#/paths/")),
        "{mismatch}"
    );
}

#[test]
fn documents_that_cannot_be_checked_are_refused_with_the_reason() {
    let err = ProviderSpec::parse("swagger: '2.0'\npaths: {}\n").unwrap_err();
    assert!(err.to_string().contains("Swagger 2.0"), "{err}");
    let err = ProviderSpec::parse(
        "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: 'other.yaml#/x'\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("outside the document"), "{err}");
    let err = ProviderSpec::parse(
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Missing'\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not resolve"), "{err}");
    assert!(ProviderSpec::parse("{not json").is_err());
    assert!(ProviderSpec::parse("openapi: [").is_err());
}
