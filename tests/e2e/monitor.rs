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

fn accord(args: &[&str]) -> Output {
    run(Command::new(accord_bin()).args(args))
}

/// The whole loop: the monitor reads the pacts deployed in production from the broker,
/// catches the drift, posts it; the broker shows it and can-i-deploy blocks the consumer
/// until a clean run resolves it.
#[tokio::test(flavor = "multi_thread")]
async fn drift_reaches_the_broker_and_blocks_can_i_deploy_until_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let pacts = dir.path().join("pacts");
    write_pact(&pacts).await;
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("broker.db").display()
        ));
    let broker = accord_e2e::Running::start(command, std::time::Duration::from_secs(20));
    let state = AppState::new(Behaviour::Correct, DateFormat::Iso8601);
    let provider = spawn_example_provider(state.clone()).await;
    let b = broker.url.clone();

    let setup = {
        let (b, provider) = (b.clone(), provider.clone());
        move || {
            let steps: Vec<Vec<String>> = vec![
                vec![
                    "publish".into(),
                    pacts.to_str().unwrap().into(),
                    "-b".into(),
                    b.clone(),
                    "--consumer-app-version".into(),
                    "1.0.0".into(),
                    "--branch".into(),
                    "main".into(),
                ],
                vec![
                    "create-environment".into(),
                    "-b".into(),
                    b.clone(),
                    "--name".into(),
                    "production".into(),
                ],
                vec![
                    "verify".into(),
                    "--provider".into(),
                    "order-service".into(),
                    "--provider-base-url".into(),
                    provider.clone(),
                    "--state-change-url".into(),
                    format!("{provider}/_pact/provider-states"),
                    "--broker-url".into(),
                    b.clone(),
                    "--provider-version".into(),
                    "2.0.0".into(),
                    "--publish".into(),
                ],
                vec![
                    "record-deployment".into(),
                    "-b".into(),
                    b.clone(),
                    "--pacticipant".into(),
                    "order-service".into(),
                    "--version".into(),
                    "2.0.0".into(),
                    "--environment".into(),
                    "production".into(),
                ],
                vec![
                    "record-deployment".into(),
                    "-b".into(),
                    b.clone(),
                    "--pacticipant".into(),
                    "order-dashboard".into(),
                    "--version".into(),
                    "1.0.0".into(),
                    "--environment".into(),
                    "production".into(),
                ],
            ];
            for step in steps {
                let args: Vec<&str> = step.iter().map(String::as_str).collect();
                let output = accord(&args);
                assert!(output.status.success(), "{args:?}\n{}", describe(&output));
            }
        }
    };
    tokio::task::spawn_blocking(setup).await.unwrap();

    let monitor = {
        let (b, provider) = (b.clone(), provider.clone());
        move || {
            accord(&[
                "monitor",
                "--broker-url",
                &b,
                "--provider",
                "order-service",
                "--environment",
                "production",
                "--base-url",
                &provider,
                "--once",
            ])
        }
    };
    let can_i_deploy = {
        let b = b.clone();
        move || {
            accord(&[
                "can-i-deploy",
                "-b",
                &b,
                "--pacticipant",
                "order-dashboard",
                "--version",
                "1.0.0",
                "--to-environment",
                "production",
            ])
        }
    };

    // Verification ran the provider states, the last of which emptied the store;
    // production has its data.
    state.seed_order(1);
    state.set_date_format(DateFormat::Unix);
    let drift = tokio::task::spawn_blocking(monitor.clone()).await.unwrap();
    assert_eq!(drift.status.code(), Some(1), "{}", describe(&drift));

    let shown: Value = reqwest::get(format!(
        "{b}/drift/provider/order-service?environment=production"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(shown["drifting"], true, "{shown:#}");
    assert!(shown.to_string().contains("/body/createdAt"), "{shown:#}");

    let blocked = tokio::task::spawn_blocking(can_i_deploy.clone())
        .await
        .unwrap();
    assert_eq!(blocked.status.code(), Some(1), "{}", describe(&blocked));
    assert!(
        String::from_utf8_lossy(&blocked.stdout).contains("createdAt"),
        "{}",
        describe(&blocked)
    );

    state.set_date_format(DateFormat::Iso8601);
    let clean = tokio::task::spawn_blocking(monitor).await.unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", describe(&clean));
    let allowed = tokio::task::spawn_blocking(can_i_deploy).await.unwrap();
    assert_eq!(allowed.status.code(), Some(0), "{}", describe(&allowed));
    drop(broker);
}
