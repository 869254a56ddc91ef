//! Credentials through the `accord` binary: an empty `--token` (an unset variable in
//! `--token "$WRITE_TOKEN"`) stops the broker at start with a usage error naming the
//! flag and its variable; `accord token` mints a scoped token that a pipeline then uses
//! to publish, and that is refused, naming the scope, outside what it was given.

use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{Running, accord_bin, run};

use crate::common::write_pact;

const ADMIN_TOKEN: &str = "an-admin-token-for-the-e2e-test";

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a broker command that must exit on its own; one that starts serving instead is
/// killed after a while and reported.
fn run_expecting_exit(command: &mut Command) -> Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start accord");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("poll accord").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("accord output");
            panic!(
                "the broker started instead of refusing: {}",
                describe(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("accord output")
}

fn accord(broker: &str, token: &str, args: &[&str]) -> Output {
    run(Command::new(accord_bin())
        .args(args)
        .env("PACT_BROKER_BASE_URL", broker)
        .env("PACT_BROKER_TOKEN", token))
}

#[test]
fn an_empty_token_stops_the_broker_with_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("broker.db").display());
    // As the README's `--token "$WRITE_TOKEN"` runs with the variable unset.
    let output = run_expecting_exit(Command::new(accord_bin()).args([
        "broker",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &database,
        "--token",
        "",
        "--read-only-token",
        "",
    ]));
    assert_eq!(output.status.code(), Some(64), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--token") && stderr.contains("ACCORD_BROKER_TOKEN"),
        "{}",
        describe(&output)
    );
    // The same through the environment, and for a Basic password.
    let output = run_expecting_exit(
        Command::new(accord_bin())
            .args([
                "broker",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                &database,
            ])
            .env("ACCORD_BROKER_BASIC_AUTH_USERNAME", "admin")
            .env("ACCORD_BROKER_BASIC_AUTH_PASSWORD", ""),
    );
    assert_eq!(output.status.code(), Some(64), "{}", describe(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_token_publishes_its_consumer_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let pacts = dir.path().join("pacts");
    write_pact(&pacts).await;
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--token", ADMIN_TOKEN])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("broker.db").display()
        ));
    let broker = Running::start(command, Duration::from_secs(20));
    let url = broker.url.clone();

    let created = accord(
        &url,
        ADMIN_TOKEN,
        &[
            "token",
            "create",
            "--name",
            "ci-dashboard",
            "--scope",
            "publish:order-dashboard",
            "--expires-in",
            "30d",
        ],
    );
    assert!(created.status.success(), "{}", describe(&created));
    let token = String::from_utf8(created.stdout.clone())
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("accord_"), "{}", describe(&created));
    assert!(
        String::from_utf8_lossy(&created.stderr).contains("not shown again")
            || String::from_utf8_lossy(&created.stderr).contains("cannot show it again"),
        "{}",
        describe(&created)
    );

    let published = accord(
        &url,
        &token,
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

    let environment = accord(
        &url,
        ADMIN_TOKEN,
        &["create-environment", "--name", "production", "--production"],
    );
    assert!(environment.status.success(), "{}", describe(&environment));
    let deployed = accord(
        &url,
        &token,
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
    assert_eq!(deployed.status.code(), Some(2), "{}", describe(&deployed));
    assert!(
        String::from_utf8_lossy(&deployed.stderr).contains("deploy:order-dashboard@production"),
        "the refusal names the missing scope: {}",
        describe(&deployed)
    );

    let listed = accord(&url, ADMIN_TOKEN, &["token", "list"]);
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listing.contains("ci-dashboard") && listing.contains("publish:order-dashboard"),
        "{}",
        describe(&listed)
    );
    assert!(!listing.contains(&token), "a listing never shows a token");

    let revoked = accord(&url, ADMIN_TOKEN, &["token", "revoke", "ci-dashboard"]);
    assert!(revoked.status.success(), "{}", describe(&revoked));
    let refused = accord(
        &url,
        &token,
        &[
            "publish",
            pacts.to_str().unwrap(),
            "--consumer-app-version",
            "1.0.1",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
}
