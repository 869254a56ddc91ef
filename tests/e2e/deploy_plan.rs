//! can-i-deploy for several versions at once, and `--plan`, through the `accord`
//! binary against a real broker, with verification results from `accord verify` run
//! against the example provider (honest, and with `status` renamed to `state`).
//!
//! Production runs order-dashboard 1.0.0 (reads `status`) and order-service 1.0.0.
//! Dashboard 2.0.0 no longer reads the status; dashboard 3.0.0 reads `state`; order-service
//! 1.1.0 renames `status` to `state`. So 2.0.0 must go before 1.1.0, and 3.0.0 and 1.1.0
//! only work together.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{Running, accord_bin, spawn_example_provider};
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::Value;

use crate::common::{accord, describe, write_dashboard_pact};

fn publish(broker: &str, pacts: &Path, version: &str) {
    let published = accord(
        broker,
        &[
            "publish",
            pacts.to_str().unwrap(),
            "--consumer-app-version",
            version,
            "--branch",
            "main",
        ],
    );
    assert!(published.status.success(), "{}", describe(&published));
}

/// Verifies the provider against the main branch's latest pact and what is deployed;
/// returns the exit code.
fn verify(broker: &str, provider: &str, version: &str) -> Option<i32> {
    accord(
        broker,
        &[
            "verify",
            "--provider",
            "order-service",
            "--provider-base-url",
            provider,
            "--state-change-url",
            &format!("{provider}/_pact/provider-states"),
            "--broker-url",
            broker,
            "--main-branch",
            "--deployed-or-released",
            "--provider-version",
            version,
            "--provider-branch",
            "main",
            "--publish",
        ],
    )
    .status
    .code()
}

fn deploy(broker: &str, pacticipant: &str, version: &str) {
    let deployed = accord(
        broker,
        &[
            "record-deployment",
            "--pacticipant",
            pacticipant,
            "--version",
            version,
            "--environment",
            "production",
        ],
    );
    assert!(deployed.status.success(), "{}", describe(&deployed));
}

fn can_i_deploy(broker: &str, pairs: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut args = vec!["can-i-deploy"];
    for (pacticipant, version) in pairs {
        args.extend(["--pacticipant", pacticipant, "--version", version]);
    }
    args.extend(["--to-environment", "production"]);
    args.extend(extra);
    accord(broker, &args)
}

#[tokio::test(flavor = "multi_thread")]
async fn several_versions_are_decided_together_and_planned_in_a_safe_order() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2, v3) = (
        dir.path().join("v1"),
        dir.path().join("v2"),
        dir.path().join("v3"),
    );
    write_dashboard_pact(&v1, Some("status")).await;
    write_dashboard_pact(&v2, None).await;
    write_dashboard_pact(&v3, Some("state")).await;
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("broker.db").display()
        ));
    let broker = Running::start(command, Duration::from_secs(20));
    let url = broker.url.clone();
    let honest =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let renamed =
        spawn_example_provider(AppState::new(Behaviour::Breaking, DateFormat::Iso8601)).await;

    tokio::task::spawn_blocking(move || {
        // Production today.
        publish(&url, &v1, "1.0.0");
        // Before anything created the environment, the answer says how to.
        let missing = can_i_deploy(&url, &[("order-dashboard", "1.0.0")], &[]);
        assert_eq!(missing.status.code(), Some(64), "{}", describe(&missing));
        assert!(
            String::from_utf8_lossy(&missing.stderr)
                .contains("accord create-environment --name production"),
            "{}",
            describe(&missing)
        );
        let created = accord(
            &url,
            &["create-environment", "--name", "production", "--production"],
        );
        assert!(created.status.success(), "{}", describe(&created));
        assert_eq!(verify(&url, &honest, "1.0.0"), Some(0));
        deploy(&url, "order-service", "1.0.0");
        deploy(&url, "order-dashboard", "1.0.0");

        // Dashboard 2.0.0 stops reading the status: both providers serve it; the
        // renaming provider still breaks the dashboard in production.
        publish(&url, &v2, "2.0.0");
        assert_eq!(verify(&url, &honest, "1.0.0"), Some(0));
        assert_eq!(verify(&url, &renamed, "1.1.0"), Some(1));

        let alone = can_i_deploy(&url, &[("order-service", "1.1.0")], &[]);
        assert_eq!(alone.status.code(), Some(1), "{}", describe(&alone));
        let together = can_i_deploy(
            &url,
            &[("order-service", "1.1.0"), ("order-dashboard", "2.0.0")],
            &[],
        );
        assert_eq!(together.status.code(), Some(0), "{}", describe(&together));
        let table = String::from_utf8_lossy(&together.stdout);
        assert!(
            table.contains("order-dashboard | 2.0.0")
                && table.contains("order-service | 1.1.0")
                && !table.contains("| 1.0.0"),
            "the two versions are checked against each other, not against what they replace:\n{table}"
        );

        let plan = can_i_deploy(
            &url,
            &[("order-service", "1.1.0"), ("order-dashboard", "2.0.0")],
            &["--plan"],
        );
        assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
        let text = String::from_utf8_lossy(&plan.stdout);
        assert!(
            text.contains("one at a time, in this order")
                && text.contains("  1. order-dashboard 2.0.0\n")
                && text.contains("  2. order-service 1.1.0\n"),
            "{text}"
        );
        assert!(
            text.contains("order-service 1.1.0 cannot go first:")
                && text.contains("order-dashboard 1.0.0 with order-service 1.1.0: verification failed"),
            "the plan says why the provider waits:\n{text}"
        );

        let json = can_i_deploy(
            &url,
            &[("order-service", "1.1.0"), ("order-dashboard", "2.0.0")],
            &["--plan", "--output", "json"],
        );
        assert_eq!(json.status.code(), Some(0), "{}", describe(&json));
        let answer: Value = serde_json::from_slice(&json.stdout).expect("JSON plan");
        assert_eq!(answer["deployable"], true);
        assert_eq!(answer["oneAtATime"], true);
        let order: Vec<&str> = answer["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|step| step["deploy"][0]["pacticipant"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["order-dashboard", "order-service"], "{answer}");

        // Dashboard 3.0.0 reads `state`: it needs the renaming provider, which breaks
        // the dashboard in production: the two must go out together.
        publish(&url, &v3, "3.0.0");
        assert_eq!(verify(&url, &honest, "1.0.0"), Some(1));
        assert_eq!(verify(&url, &renamed, "1.1.0"), Some(1));
        let locked = can_i_deploy(
            &url,
            &[("order-dashboard", "3.0.0"), ("order-service", "1.1.0")],
            &["--plan"],
        );
        assert_eq!(locked.status.code(), Some(0), "{}", describe(&locked));
        let text = String::from_utf8_lossy(&locked.stdout);
        assert!(
            text.contains("all at once")
                && text.contains("1. together: order-dashboard 3.0.0 and order-service 1.1.0"),
            "{text}"
        );
        assert!(
            text.contains("order-dashboard 3.0.0 with order-service 1.0.0: verification failed")
                && text.contains("order-dashboard 1.0.0 with order-service 1.1.0: verification failed"),
            "each member says why it cannot go alone:\n{text}"
        );

        // A set that cannot go even together: the old provider with the dashboard
        // that needs the new one.
        let never = can_i_deploy(
            &url,
            &[("order-dashboard", "3.0.0"), ("order-service", "1.0.0")],
            &["--plan"],
        );
        assert_eq!(never.status.code(), Some(1), "{}", describe(&never));
        assert!(
            String::from_utf8_lossy(&never.stdout).contains("not even together"),
            "{}",
            describe(&never)
        );
        let dry = can_i_deploy(
            &url,
            &[("order-dashboard", "3.0.0"), ("order-service", "1.0.0")],
            &["--plan", "--dry-run"],
        );
        assert_eq!(dry.status.code(), Some(0), "{}", describe(&dry));
    })
    .await
    .unwrap();
    drop(broker);
}
