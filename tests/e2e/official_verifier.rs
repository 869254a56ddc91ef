//! A pact written by Accord's mock server is accepted by the official verifier
//! when the provider honours it, and refused when the provider breaks it.

use std::path::Path;

use accord_e2e::{official_command, official_pact_bin, run, spawn_example_provider};
use example_provider::{AppState, Behaviour, DateFormat};

use crate::common::write_pact;

fn official_verify(pact: &Path, provider_url: &str) -> std::process::Output {
    let url = reqwest::Url::parse(provider_url).expect("provider URL");
    run(official_command(official_pact_bin())
        .arg("verifier")
        .arg("--file")
        .arg(pact)
        .args(["--hostname", url.host_str().expect("host")])
        .args(["--port", &url.port().expect("port").to_string()])
        .args([
            "--state-change-url",
            &format!("{provider_url}/_pact/provider-states"),
        ]))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_accepts_an_accord_pact_against_the_example_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;

    let provider =
        spawn_example_provider(AppState::new(Behaviour::Correct, DateFormat::Iso8601)).await;
    let output = tokio::task::spawn_blocking({
        let pact = pact.clone();
        move || official_verify(&pact, &provider)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "official verifier refused the pact:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("a request for order 1"), "{stdout}");
    assert!(
        stdout.contains("a request for an order that does not exist"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_verifier_catches_the_breaking_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pact = write_pact(dir.path()).await;

    let provider =
        spawn_example_provider(AppState::new(Behaviour::Breaking, DateFormat::Iso8601)).await;
    let output = tokio::task::spawn_blocking(move || official_verify(&pact, &provider))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the breaking provider passed:\n{stdout}"
    );
    assert!(stdout.contains("has a matching body"), "{stdout}");
}
