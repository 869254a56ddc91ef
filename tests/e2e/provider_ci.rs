//! The provider pipeline from the README, through the `accord` binary: publish a
//! consumer's pact, verify the example provider against what the broker selects,
//! publish the results (with a JUnit report into a folder a fresh checkout does not
//! have yet), and watch can-i-deploy follow: yes for the honest provider, no for the
//! one with a breaking change.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{Running, accord_bin, spawn_example_provider};
use example_provider::{AppState, Behaviour, DateFormat};

use crate::common::{accord, describe, write_pact};

fn verify(broker: &str, provider: &str, version: &str, junit: &Path) -> Output {
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
            "--matching-branch",
            "--enable-pending",
            "--include-wip-pacts-since",
            "2024-01-01",
            "--provider-version",
            version,
            "--provider-branch",
            "main",
            "--publish",
            "--junit",
            junit.to_str().unwrap(),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_results_published_by_accord_verify_drive_can_i_deploy() {
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
    let broker = Running::start(command, Duration::from_secs(20));
    let url = broker.url.clone();
    let honest =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let breaking =
        spawn_example_provider(AppState::new(Behaviour::Breaking, DateFormat::Iso8601)).await;
    let junit = dir.path().join("reports/nested/pact-junit.xml");

    tokio::task::spawn_blocking(move || {
        let published = accord(
            &url,
            &[
                "publish",
                pacts.to_str().unwrap(),
                "--consumer-app-version",
                "1.0.0",
                "--branch",
                "main",
            ],
        );
        assert!(published.status.success(), "{}", describe(&published));
        let created = accord(
            &url,
            &["create-environment", "--name", "production", "--production"],
        );
        assert!(created.status.success(), "{}", describe(&created));
        let deployed = accord(
            &url,
            &[
                "record-deployment",
                "--pacticipant",
                "order-dashboard",
                "--version",
                "1.0.0",
                "--environment",
                "production",
            ],
        );
        assert!(deployed.status.success(), "{}", describe(&deployed));

        // Never verified: the provider cannot go to production yet.
        let unknown = accord(
            &url,
            &[
                "can-i-deploy",
                "--pacticipant",
                "order-service",
                "--version",
                "2.0.0",
                "--to-environment",
                "production",
            ],
        );
        assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));

        let passed = verify(&url, &honest, "2.0.0", &junit);
        assert_eq!(passed.status.code(), Some(0), "{}", describe(&passed));
        let xml =
            std::fs::read_to_string(&junit).expect("the JUnit report is written, folders and all");
        assert!(
            xml.contains("<testcase") && xml.contains("a request for order 1"),
            "{xml}"
        );
        let yes = accord(
            &url,
            &[
                "can-i-deploy",
                "--pacticipant",
                "order-service",
                "--version",
                "2.0.0",
                "--to-environment",
                "production",
            ],
        );
        assert_eq!(yes.status.code(), Some(0), "{}", describe(&yes));

        let failed = verify(&url, &breaking, "2.1.0", &junit);
        assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
        let no = accord(
            &url,
            &[
                "can-i-deploy",
                "--pacticipant",
                "order-service",
                "--version",
                "2.1.0",
                "--to-environment",
                "production",
            ],
        );
        assert_eq!(no.status.code(), Some(1), "{}", describe(&no));
        let answer = String::from_utf8_lossy(&no.stdout);
        assert!(
            answer.contains("accord verify"),
            "each blocker says how to fix it:\n{answer}"
        );
    })
    .await
    .unwrap();
    drop(broker);
}
