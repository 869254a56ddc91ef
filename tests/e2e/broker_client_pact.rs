//! The broker acceptance suite: the official broker client's own consumer pact
//! against the broker (`broker_client_pact/pact_broker_client-pact_broker.json`,
//! from pact-foundation/pact_broker-client `spec/pacts/`, unchanged), verified by
//! the official verifier against a real Accord broker.
//!
//! The verifier talks to a small proxy ([`harness`]) that sets up each provider
//! state on a fresh broker ([`seed`]) and maps the pact's placeholder paths to real
//! ones. The test prints one line per interaction and fails when an interaction
//! outside [`KNOWN_FAILURES`] fails, or when one inside it passes, so the list
//! always says exactly what the broker still gets wrong.
//!
//! To see the table: `cargo test -p accord-e2e --test e2e broker_client_pact -- --nocapture`.

mod harness;
mod seed;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use accord_e2e::{official_command, official_pact_bin, run};
use serde_json::Value;

use harness::{Harness, STATES_PATH};

/// Interactions the broker fails today, by [`interaction_key`], each with what
/// the broker does wrong. Remove an entry when the broker is fixed (the test
/// fails until you do).
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// How an interaction is named here: its description and its provider state
/// (descriptions alone repeat across states).
fn interaction_key(description: &str, state: Option<&str>) -> String {
    match state {
        Some(state) => format!("{description} / given {state}"),
        None => format!("{description} / no state"),
    }
}

fn pact_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/broker_client_pact/pact_broker_client-pact_broker.json")
}

/// One interaction of the pact and what the verifier said about it.
struct Outcome {
    key: String,
    passed: bool,
    /// The mismatches or errors the verifier reported, first first.
    problems: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_broker_honours_the_official_broker_clients_pact() {
    let pact: Value =
        serde_json::from_str(&std::fs::read_to_string(pact_path()).expect("read the pact"))
            .expect("the pact is JSON");
    let interactions = pact["interactions"]
        .as_array()
        .expect("the pact has interactions");
    let matrix_queries = interactions
        .iter()
        .filter(|i| i["request"]["path"] == "/matrix")
        .filter_map(|i| i["request"]["query"].as_str().map(str::to_string))
        .collect();

    let harness = Harness::start(matrix_queries).await;
    let reports = tempfile::tempdir().unwrap();
    let report_path = reports.path().join("report.json");
    let port = harness.port;
    let output = tokio::task::spawn_blocking({
        let report_path = report_path.clone();
        move || {
            run(official_command(official_pact_bin())
                .arg("verifier")
                .arg("--file")
                .arg(pact_path())
                .args(["--hostname", "127.0.0.1"])
                .args(["--port", &port.to_string()])
                .args([
                    "--state-change-url",
                    &format!("http://127.0.0.1:{port}{STATES_PATH}"),
                ])
                .arg("--no-colour")
                .arg("--json")
                .arg(&report_path))
        }
    })
    .await
    .expect("the verifier ran");
    let notes = harness.notes();
    harness.stop().await;

    let report: Value = match std::fs::read_to_string(&report_path) {
        Ok(text) => serde_json::from_str(&text).expect("the verifier's report is JSON"),
        Err(err) => panic!(
            "the verifier wrote no report ({err}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    let mut outcomes = outcomes(&pact, &report);
    for (outcome, interaction) in outcomes.iter_mut().zip(interactions) {
        let state = interaction["providerState"].as_str().unwrap_or_default();
        let place = format!("state '{state}'");
        if !outcome.passed {
            for (_, what) in notes.iter().filter(|(p, _)| *p == place) {
                outcome.problems.insert(0, format!("set-up: {what}"));
            }
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();

    println!("\nThe official broker client's pact against Accord's broker:\n");
    for outcome in &outcomes {
        let mark = if outcome.passed { "pass" } else { "FAIL" };
        println!("{mark}  {}", outcome.key);
        for problem in outcome.problems.iter().take(5) {
            println!("        {}", one_line(problem, 300));
        }
    }
    if !notes.is_empty() {
        println!("\nSet-up and proxy problems:");
        for (place, what) in &notes {
            println!("  {place}: {}", one_line(what, 400));
        }
    }
    println!("\n{passed}/{} interactions pass\n", outcomes.len());

    let known: BTreeMap<&str, &str> = KNOWN_FAILURES.iter().copied().collect();
    let keys: HashSet<&str> = outcomes.iter().map(|o| o.key.as_str()).collect();
    let mut problems = Vec::new();
    for name in known.keys() {
        if !keys.contains(name) {
            problems.push(format!(
                "KNOWN_FAILURES names an interaction the pact does not have: {name}"
            ));
        }
    }
    for outcome in &outcomes {
        match (outcome.passed, known.get(outcome.key.as_str())) {
            (false, None) => problems.push(format!(
                "regression: {} fails: {}",
                outcome.key,
                one_line(
                    outcome
                        .problems
                        .first()
                        .map_or("(no detail)", String::as_str),
                    300
                )
            )),
            (true, Some(reason)) => problems.push(format!(
                "now passes, remove it from KNOWN_FAILURES: {} (was: {reason})",
                outcome.key
            )),
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{passed}/{} interactions pass; the known-failure list is out of date:\n{}",
        outcomes.len(),
        problems.join("\n")
    );
}

/// Pairs each interaction of the pact with the verifier's verdict. The report lists
/// results in pact order, by description only; its errors name the state too.
fn outcomes(pact: &Value, report: &Value) -> Vec<Outcome> {
    let interactions = pact["interactions"].as_array().expect("interactions");
    let results = report["interactionResults"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has no interactionResults: {report}"));
    assert_eq!(
        results.len(),
        interactions.len(),
        "the verifier reported {} interactions, the pact has {}",
        results.len(),
        interactions.len()
    );
    let consumer = pact["consumer"]["name"].as_str().unwrap_or_default();
    let provider = pact["provider"]["name"].as_str().unwrap_or_default();
    let errors: Vec<(&str, &Value)> = ["errors", "pendingErrors"]
        .iter()
        .flat_map(|field| report[*field].as_array().into_iter().flatten())
        .map(|error| {
            (
                error["interaction"].as_str().unwrap_or_default(),
                &error["mismatch"],
            )
        })
        .collect();
    interactions
        .iter()
        .zip(results)
        .map(|(interaction, result)| {
            let description = interaction["description"].as_str().unwrap_or_default();
            let state = interaction["providerState"].as_str();
            assert_eq!(
                result["description"].as_str(),
                Some(description),
                "the report's results are not in pact order"
            );
            let given = state.map(|s| format!(" Given {s}")).unwrap_or_default();
            let name = format!(
                "Verifying a pact between {consumer} and {provider}{given} - {description}"
            );
            let mut problems: Vec<String> = errors
                .iter()
                .filter(|(interaction, _)| *interaction == name)
                .flat_map(|(_, mismatch)| describe(mismatch))
                .collect();
            let verdict = result["result"].as_str().unwrap_or_default();
            // The verifier says "OK" for an interaction that passed.
            let passed = verdict == "OK" && problems.is_empty();
            if !passed && problems.is_empty() {
                problems.push(format!("the verifier's verdict: {verdict}"));
            }
            Outcome {
                key: interaction_key(description, state),
                passed,
                problems,
            }
        })
        .collect()
}

/// What is wrong in a reported mismatch, in words, one entry per difference.
fn describe(mismatch: &Value) -> Vec<String> {
    if let Some(all) = mismatch["mismatches"].as_array() {
        // Status first, then headers, then the body: the verifier lists the body
        // first, which hides a 404 behind "wrong content type".
        let rank = |m: &Value| match m["type"].as_str().unwrap_or_default() {
            "StatusMismatch" => 0,
            "HeaderMismatch" => 1,
            _ => 2,
        };
        let mut all: Vec<&Value> = all.iter().collect();
        all.sort_by_key(|m| rank(m));
        return all
            .into_iter()
            .map(|m| {
                let text = m["mismatch"].as_str().or(m["description"].as_str());
                match (text, m["path"].as_str()) {
                    (Some(text), Some(path)) if !path.is_empty() => format!("{path}: {text}"),
                    (Some(text), _) => text.to_string(),
                    (None, _) => m.to_string(),
                }
            })
            .collect();
    }
    vec![match mismatch["message"].as_str() {
        Some(message) => message.to_string(),
        None => mismatch.to_string(),
    }]
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}
