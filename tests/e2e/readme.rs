//! The README runs as written: every shell block marked `<!-- readme-test: NAME ... -->` is
//! extracted and run with `bash -e -o pipefail` from the repository root, and must print
//! what the README says it shows.

use std::path::Path;
use std::process::Command;

/// The marked blocks: (name, script).
fn marked_blocks() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("<!-- readme-test:") else {
            continue;
        };
        let name = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            lines.next().map(str::trim),
            Some("```sh"),
            "{name}: a marked block must follow its marker"
        );
        let mut script = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            script.push_str(line);
            script.push('\n');
        }
        blocks.push((name, script));
    }
    blocks
}

fn run_block(name: &str) -> String {
    let (_, script) = marked_blocks()
        .into_iter()
        .find(|(block, _)| block == name)
        .unwrap_or_else(|| panic!("README.md has no block marked {name}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Whatever the block started in the background stops with it, even when it fails.
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}");
    let output = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(&root)
        .output()
        .expect("run bash");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the README block {name} failed as written (exit {:?}):\n{text}",
        output.status.code()
    );
    text
}

#[test]
fn the_readme_marks_its_tested_blocks() {
    let names: Vec<String> = marked_blocks().into_iter().map(|(name, _)| name).collect();
    for name in [
        "official-verifier",
        "messages-verify",
        "http-drift-monitor",
        "event-drift-rabbitmq",
        "deploy-plan",
        "import",
        "monitor-config",
        "audit-retention",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} is not marked: {names:?}"
        );
    }
}

#[test]
fn the_official_verifier_walk_through_runs_as_written() {
    let text = run_block("official-verifier");
    assert!(text.contains("a request for order 1"), "{text}");
    assert!(!text.contains("Failures:"), "{text}");
}

#[test]
fn the_messages_walk_through_runs_as_written() {
    let text = run_block("messages-verify");
    assert!(text.contains("5 passed, 0 failed"), "{text}");
    assert!(text.contains("an order.created event"), "{text}");
    assert!(!text.contains("Failures:"), "{text}");
}

#[test]
fn the_http_drift_walk_through_runs_as_written() {
    let text = run_block("http-drift-monitor");
    assert!(text.contains("drift found (exit 1)"), "{text}");
    assert!(text.contains("/body/createdAt"), "{text}");
}

#[test]
fn the_event_drift_walk_through_runs_as_written() {
    let text = run_block("event-drift-rabbitmq");
    for expected in [
        "5 events sampled",
        "drift found (exit 1)",
        "/data/createdAt",
        "drifting: True open findings: 2",
        "Drift blocks this deployment",
        "blocked (exit 1)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the block's output:\n{text}"
        );
    }
}

#[test]
fn the_deploy_plan_walk_through_runs_as_written() {
    let text = run_block("deploy-plan");
    for expected in [
        "order-service 1.1.0 breaks order-dashboard 1.0.0",
        "one at a time, in this order",
        "  1. order-dashboard 2.0.0\n",
        "  2. order-service 1.1.0\n",
        "order-dashboard 1.0.0 with order-service 1.1.0: verification failed",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the block's output:\n{text}"
        );
    }
}

#[test]
fn the_provider_contract_walk_through_runs_as_written() {
    let text = run_block("provider-contracts");
    // Both consumers: order-dashboard against the OpenAPI document, shipping-service
    // against the AsyncAPI one.
    assert_eq!(text.matches("Computer says yes").count(), 2, "{text}");
    for expected in [
        "Published the OpenAPI provider contract of order-service version 1.0.0 (self-verification succeeded).",
        "shipping-service (1.0.0): not checked: 1 interaction(s) no contract of this provider version speaks for",
        "Published the AsyncAPI provider contract of order-service version 1.0.0 (self-verification succeeded).",
        "Compared with 2 consumer pact(s): 2 compatible, 0 not compatible.",
        "shipping-service (1.0.0): compatible",
        "order-dashboard (1.0.0): compatible",
        "BREAKING: 3 change(s) break consumers of order-service (1 pact(s) weighed):",
        "type changed at GET /orders/{id} → 200 /response/body/createdAt: string (date-time) → integer (int64)",
        "breaks order-dashboard 1.0.0, deployed to production: \"a request for order 1\"",
        "exit 1",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the block's output:\n{text}"
        );
    }
}

#[test]
fn the_import_walk_through_runs_as_written() {
    let text = run_block("import");
    for shown in [
        "Dry run: nothing was copied",
        "Check: both brokers give the same answers for order-dashboard, order-service",
    ] {
        assert!(text.contains(shown), "{shown:?} missing from:\n{text}");
    }
    // The second run finds the version there and copies nothing.
    let again: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("versions "))
        .collect();
    assert_eq!(
        again
            .last()
            .map(|line| line.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["versions", "1", "0", "1", "0"]),
        "{text}"
    );
}

#[test]
fn the_monitor_config_walk_through_runs_as_written() {
    let text = run_block("monitor-config");
    for expected in [
        "2 interactions checked, 0 findings, 0 probe errors, 2 skipped",
        "a request for an order that does not exist  provider state \"no orders exist\" is marked skip: production always has orders",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the block's output:\n{text}"
        );
    }
}

/// The config file reference in the README is a file the monitor reads: every key it
/// shows exists and takes the value shown.
#[test]
fn the_monitor_config_reference_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme
        .split_once("**The config file.**")
        .expect("README.md documents the monitor's config file")
        .1;
    let toml = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block follows")
        .0;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("monitor.toml"), toml).unwrap();
    std::fs::write(
        dir.path().join("monitor-secrets.toml"),
        "[headers]\nX-Api-Key = \"k\"\n",
    )
    .unwrap();
    let config = accord_monitor::config::MonitorConfig::load_with_env(
        url::Url::parse("https://orders.example.com").unwrap(),
        &dir.path().join("monitor.toml"),
        |name| {
            assert_eq!(name, "ORDERS_API_TOKEN");
            Ok("Bearer t".to_string())
        },
    )
    .unwrap_or_else(|error| panic!("the README's config does not load: {error}"));
    assert_eq!(config.probe.concurrency, 8);
    assert_eq!(config.probe.timeout, std::time::Duration::from_secs(5));
    assert!(config.states["a cancelled order"].skip.is_some());
    assert_eq!(config.auth_headers.len(), 2);
}

#[test]
fn the_audit_and_retention_examples_run_as_written() {
    let text = run_block("audit-retention");
    for expected in [
        r#""actor":"admin","method":"POST","path":"/environments""#,
        r#"{"dryRun":true,"policy":"#,
        "\n401\n",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the block's output:\n{text}"
        );
    }
}
