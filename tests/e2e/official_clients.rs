//! The official Pact clients work against `accord broker` unchanged: the official
//! broker CLI publishes, manages environments, records deployments and releases,
//! describes versions and asks can-i-deploy; the official verifier fetches pacts
//! for verification with selectors, pending and WIP, and publishes results, after
//! which can-i-deploy turns green.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{
    Running, accord_bin, official_command, official_pact_bin, run, spawn_example_provider,
};
use example_provider::{AppState, Behaviour, DateFormat};
use serde_json::{Value, json};

const CONSUMER: &str = "order-dashboard";
const PROVIDER: &str = "order-service";

/// A pact the example provider honours, written as a consumer's test would.
fn pact() -> Value {
    json!({
        "consumer": {"name": CONSUMER},
        "provider": {"name": PROVIDER},
        "interactions": [{
            "description": "a request for order 1",
            "providerStates": [{"name": "an order exists", "params": {"id": 1}}],
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {"id": 1, "status": "shipped", "createdAt": "2024-05-01T10:00:00Z"},
                "matchingRules": {"body": {
                    "$.id": {"matchers": [{"match": "integer"}]},
                    "$.status": {"matchers": [{"match": "type"}]},
                    "$.createdAt": {"matchers": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss'Z'"}]}
                }}
            }
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

fn start_broker(dir: &Path) -> Running {
    let mut command = Command::new(accord_bin());
    command
        .arg("broker")
        .args(["--bind", "127.0.0.1:0"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("broker.db").display()));
    Running::start(command, Duration::from_secs(20))
}

/// Runs `pact broker <args>` against the broker and returns its output.
fn pact_broker(broker: &str, args: &[&str]) -> Output {
    run(official_command(official_pact_bin())
        .arg("broker")
        .args(args)
        .args(["--broker-base-url", broker]))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(output.status.success(), "{}", text(output));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_broker_cli_and_verifier_work_against_accord_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path());
    let url = broker.url.clone();
    let pacts = dir.path().join("pacts");
    std::fs::create_dir_all(&pacts).unwrap();
    std::fs::write(
        pacts.join(format!("{CONSUMER}-{PROVIDER}.json")),
        serde_json::to_vec_pretty(&pact()).unwrap(),
    )
    .unwrap();
    let provider =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;

    let steps = tokio::task::spawn_blocking(move || {
        let pacts = pacts.to_str().unwrap();
        // Publish with branch and tag, as a consumer pipeline does.
        let published = pact_broker(
            &url,
            &[
                "publish",
                pacts,
                "--consumer-app-version",
                "1.0.0",
                "--branch",
                "main",
                "--tag",
                "dev",
            ],
        );
        assert_ok(&published);

        // Environments.
        assert_ok(&pact_broker(
            &url,
            &["create-environment", "--name", "production", "--production"],
        ));
        let environments = pact_broker(&url, &["list-environments", "--output", "json"]);
        assert_ok(&environments);
        assert!(
            String::from_utf8_lossy(&environments.stdout).contains("production"),
            "{}",
            text(&environments)
        );

        // Before verification, can-i-deploy must say no (the pact was never verified).
        let before = pact_broker(
            &url,
            &[
                "can-i-deploy",
                "--pacticipant",
                CONSUMER,
                "--version",
                "1.0.0",
                "--to-environment",
                "production",
            ],
        );
        assert!(
            !before.status.success(),
            "can-i-deploy before verification:\n{}",
            text(&before)
        );

        // The official verifier selects pacts with selectors, pending and WIP, verifies
        // the provider and publishes the results.
        let provider_url = reqwest::Url::parse(&provider).unwrap();
        let verified = run(official_command(official_pact_bin())
            .arg("verifier")
            .args(["--broker-url", &url])
            .args(["--provider-name", PROVIDER])
            .args(["--hostname", provider_url.host_str().unwrap()])
            .args(["--port", &provider_url.port().unwrap().to_string()])
            .args([
                "--state-change-url",
                &format!("{provider}/_pact/provider-states"),
            ])
            .args(["--consumer-version-selectors", r#"{"mainBranch": true}"#])
            .args([
                "--consumer-version-selectors",
                r#"{"deployedOrReleased": true}"#,
            ])
            .arg("--enable-pending")
            .args(["--include-wip-pacts-since", "2020-01-01"])
            .args(["--provider-version", "2.0.0", "--provider-branch", "main"])
            .arg("--publish"));
        assert_ok(&verified);
        assert!(
            String::from_utf8_lossy(&verified.stdout).contains("a request for order 1"),
            "{}",
            text(&verified)
        );

        // The provider is deployed; now the consumer may follow.
        assert_ok(&pact_broker(
            &url,
            &[
                "record-deployment",
                "--pacticipant",
                PROVIDER,
                "--version",
                "2.0.0",
                "--environment",
                "production",
            ],
        ));
        let after = pact_broker(
            &url,
            &[
                "can-i-deploy",
                "--pacticipant",
                CONSUMER,
                "--version",
                "1.0.0",
                "--to-environment",
                "production",
            ],
        );
        assert_ok(&after);

        assert_ok(&pact_broker(
            &url,
            &[
                "record-release",
                "--pacticipant",
                CONSUMER,
                "--version",
                "1.0.0",
                "--environment",
                "production",
            ],
        ));
        let described = pact_broker(
            &url,
            &[
                "describe-version",
                "--pacticipant",
                CONSUMER,
                "--output",
                "json",
            ],
        );
        assert_ok(&described);
        assert!(
            String::from_utf8_lossy(&described.stdout).contains("1.0.0"),
            "{}",
            text(&described)
        );
    });
    steps.await.unwrap();
    drop(broker);
}
