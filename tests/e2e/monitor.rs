//! `accord monitor` against the example provider: clean while the provider honours
//! the pact, drift (exit 1, `format_changed` at `/body/createdAt`) once its dates
//! turn into Unix timestamps, and probe errors (exit 2) when it is gone.

use std::process::{Command, Output};

use accord_e2e::{accord_bin, run, spawn_example_provider};
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::Value;

use crate::common::write_pact;

fn monitor_once(pact: &std::path::Path, base_url: &str, report: &std::path::Path) -> Output {
    run(Command::new(accord_bin())
        .arg("monitor")
        .arg("--pact-file")
        .arg(pact)
        .args(["--base-url", base_url, "--once"])
        .arg("--json")
        .arg(report))
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_catches_dates_turning_into_unix_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;
    let state = AppState::new(Behaviour::Correct, DateFormat::Iso8601);
    let provider = spawn_example_provider(state.clone()).await;
    let report = dir.path().join("drift.json");

    let clean = tokio::task::spawn_blocking({
        let (pact, provider, report) = (pact.clone(), provider.clone(), report.clone());
        move || monitor_once(&pact, &provider, &report)
    })
    .await
    .unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", describe(&clean));

    state.set_date_format(DateFormat::Unix);
    let drift = tokio::task::spawn_blocking({
        let (pact, provider, report) = (pact.clone(), provider.clone(), report.clone());
        move || monitor_once(&pact, &provider, &report)
    })
    .await
    .unwrap();
    assert_eq!(drift.status.code(), Some(1), "{}", describe(&drift));
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert!(stdout.contains("format changed"), "{stdout}");

    let json: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let findings = json["findings"].as_array().expect("findings array");
    let created_at = findings
        .iter()
        .find(|f| f["pointer"] == "/body/createdAt")
        .unwrap_or_else(|| panic!("no finding at /body/createdAt: {json:#}"));
    assert_eq!(created_at["class"], "format_changed");
    assert_eq!(created_at["consumers"][0], "order-dashboard");
    assert_eq!(created_at["interaction"], "a request for order 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_is_gone_is_a_probe_error_not_drift() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;
    // A port that was free a moment ago: nothing listens there now.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let report = dir.path().join("drift.json");
    let output = tokio::task::spawn_blocking(move || {
        monitor_once(&pact, &format!("http://{address}"), &report)
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}
