//! Provider contracts with the official tools: `pact pactflow publish-provider-contract`
//! publishes an OpenAPI document (and an AsyncAPI document, for message pacts) to
//! `accord broker`, and `pact broker can-i-deploy` says yes for a consumer whose pact the
//! document satisfies and no, with the reason, for one whose pact it does not, with no
//! provider verification ever run. The official client's
//! own pact with PactFlow (`broker_client_pact/pact_broker_client_v2-pactflow.json`,
//! from pact-foundation/pact_broker-client `spec/pacts/`, unchanged) is verified against
//! the broker too, for the interactions about provider contracts.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use accord_e2e::{Running, accord_bin, official_command, official_pact_bin, run};
use serde_json::{Value, json};

fn start_broker(dir: &Path) -> Running {
    let mut command = Command::new(accord_bin());
    command
        .arg("broker")
        .args(["--bind", "127.0.0.1:0"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join("broker.db").display()));
    Running::start(command, Duration::from_secs(20))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Publishes one pact of `consumer` (on branch main) with the official client.
fn publish_pact(dir: &Path, url: &str, consumer: &str, version: &str, pact: &Value) {
    let pacts = dir.join(consumer);
    std::fs::create_dir_all(&pacts).unwrap();
    let provider = pact["provider"]["name"].as_str().unwrap();
    std::fs::write(
        pacts.join(format!("{consumer}-{provider}.json")),
        pact.to_string(),
    )
    .unwrap();
    let published = run(official_command(official_pact_bin())
        .args(["broker", "publish"])
        .arg(&pacts)
        .args(["--consumer-app-version", version, "--branch", "main"])
        .args(["--broker-base-url", url]));
    assert!(published.status.success(), "{}", text(&published));
}

/// Runs `pact broker ARGS` against the broker.
fn broker_cli(url: &str, args: &[&str]) -> Output {
    run(official_command(official_pact_bin())
        .arg("broker")
        .args(args)
        .args(["--broker-base-url", url]))
}

/// Records, with the official client, that `version` of `pacticipant` runs in production.
fn deploy_to_production(url: &str, pacticipant: &str, version: &str) {
    let created = broker_cli(url, &["create-environment", "--name", "production"]);
    assert!(created.status.success(), "{}", text(&created));
    let deployed = broker_cli(
        url,
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
    assert!(deployed.status.success(), "{}", text(&deployed));
}

/// `pact broker can-i-deploy` for `version` of `pacticipant` to production.
fn can_i_deploy(url: &str, pacticipant: &str, version: &str) -> Output {
    broker_cli(
        url,
        &[
            "can-i-deploy",
            "--pacticipant",
            pacticipant,
            "--version",
            version,
            "--to-environment",
            "production",
        ],
    )
}

fn pact(consumer: &str, created_at: Value) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": "orders"},
        "interactions": [{
            "description": "a request for order 1",
            "request": {"method": "GET", "path": "/orders/1"},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {"id": 1, "createdAt": created_at}
            }
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

const DOCUMENT: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "orders", "version": "2.0.0"},
  "paths": {"/orders/{id}": {"get": {
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "an order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}}
  }}},
  "components": {"schemas": {"Order": {"type": "object", "properties": {
    "id": {"type": "integer"}, "createdAt": {"type": "string", "format": "date-time"}
  }}}}
}"##;

#[tokio::test(flavor = "multi_thread")]
async fn the_official_client_publishes_provider_contracts_and_can_i_deploy_follows() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path());
    let url = broker.url.clone();
    for (consumer, version, created_at) in [
        ("dashboard", "1", json!("2024-05-01T10:00:00Z")),
        ("billing", "7", json!(1714557600)),
    ] {
        publish_pact(
            dir.path(),
            &url,
            consumer,
            version,
            &pact(consumer, created_at),
        );
    }
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, DOCUMENT).unwrap();
    let results = dir.path().join("self-check.txt");
    std::fs::write(&results, "12 examples, 0 failures").unwrap();
    let published = run(official_command(official_pact_bin())
        .args(["pactflow", "publish-provider-contract"])
        .arg(&document)
        .args([
            "--provider",
            "orders",
            "--provider-app-version",
            "2.0.0",
            "--branch",
            "main",
        ])
        .args([
            "--content-type",
            "application/json",
            "--verification-success",
        ])
        .arg("--verification-results")
        .arg(&results)
        .args([
            "--verification-results-content-type",
            "text/plain",
            "--verifier",
            "schemathesis",
        ])
        .args(["--broker-base-url", &url]));
    let said = text(&published);
    assert!(published.status.success(), "{said}");
    assert!(said.contains("dashboard (1): compatible"), "{said}");
    assert!(said.contains("billing (7): not compatible"), "{said}");

    deploy_to_production(&url, "orders", "2.0.0");
    let yes = can_i_deploy(&url, "dashboard", "1");
    assert!(yes.status.success(), "{}", text(&yes));
    assert!(text(&yes).contains("Computer says yes"), "{}", text(&yes));
    let no = can_i_deploy(&url, "billing", "7");
    let reason = text(&no);
    assert_eq!(no.status.code(), Some(1), "{reason}");
    assert!(
        reason.contains("The provider contract of orders 2.0.0"),
        "{reason}"
    );
    assert!(
        reason.contains("/response/body/createdAt the pact expects integer 1714557600; the document allows type string"),
        "{reason}"
    );
    // No provider verification ran: every result came from the provider contract.
    let shown: Value = reqwest::get(format!(
        "{url}/provider-contracts/provider/orders/version/2.0.0"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        shown["selfVerification"]["content"],
        "12 examples, 0 failures"
    );
    assert_eq!(shown["comparisons"].as_array().unwrap().len(), 2, "{shown}");
}

/// A message pact whose consumer reads `orderId` from the `orders` topic.
fn message_pact(consumer: &str, order_id: Value) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": "order-events"},
        "messages": [{
            "description": "an order created event",
            "contents": {"orderId": order_id, "createdAt": "2024-05-01T10:00:00Z"},
            "metadata": {"kafka_topic": "orders", "contentType": "application/json"}
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

const EVENTS_DOCUMENT: &str = r##"
asyncapi: 2.6.0
info: {title: order events, version: 2.0.0}
channels:
  orders:
    subscribe:
      message:
        contentType: application/json
        payload:
          type: object
          properties:
            orderId: {type: integer}
            createdAt: {type: string, format: date-time}
"##;

#[test]
fn the_official_client_publishes_an_asyncapi_document_and_can_i_deploy_follows() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path());
    let url = broker.url.clone();
    for (consumer, order_id) in [("shipping", json!(1)), ("ledger", json!("A-1"))] {
        publish_pact(
            dir.path(),
            &url,
            consumer,
            "1",
            &message_pact(consumer, order_id),
        );
    }
    let document = dir.path().join("asyncapi.yaml");
    std::fs::write(&document, EVENTS_DOCUMENT).unwrap();
    // The official client sends `specification: oas` (its default); the document says
    // what it is. Without any other detail it leaves `--verification-success` out: the
    // broker keeps the document and says the result is missing.
    let publish = |extra: &[&str]| {
        run(official_command(official_pact_bin())
            .args(["pactflow", "publish-provider-contract"])
            .arg(&document)
            .args([
                "--provider",
                "order-events",
                "--provider-app-version",
                "2.0.0",
                "--branch",
                "main",
                "--content-type",
                "application/yaml",
                "--verification-success",
            ])
            .args(extra)
            .args(["--broker-base-url", &url]))
    };
    let unstated = publish(&[]);
    let said = text(&unstated);
    assert!(unstated.status.success(), "{said}");
    assert!(said.contains("self-verification not stated"), "{said}");
    let published = publish(&["--verifier", "asyncapi-validator"]);
    let said = text(&published);
    assert!(published.status.success(), "{said}");
    assert!(said.contains("shipping (1): compatible"), "{said}");
    assert!(said.contains("ledger (1): not compatible"), "{said}");
    deploy_to_production(&url, "order-events", "2.0.0");
    let yes = can_i_deploy(&url, "shipping", "1");
    assert!(yes.status.success(), "{}", text(&yes));
    let no = can_i_deploy(&url, "ledger", "1");
    let reason = text(&no);
    assert_eq!(no.status.code(), Some(1), "{reason}");
    assert!(
        reason.contains(
            "/contents/orderId the pact expects string \"A-1\"; the document allows type integer"
        ),
        "{reason}"
    );
}

/// The interactions of the client's PactFlow pact about provider contracts (and the
/// index). Left out: "a request to create a webhook for a team" (teams are PactFlow's
/// own; Accord has none).
const PROVIDER_CONTRACT_INTERACTIONS: &str = "^a request (for the index resource|to create a provider contract|to publish a provider contract)$";

#[test]
fn the_broker_honours_the_official_clients_pactflow_pact_for_provider_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path());
    let address = broker.url.trim_start_matches("http://").to_string();
    let (host, port) = address.split_once(':').unwrap();
    let pact = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/broker_client_pact/pact_broker_client_v2-pactflow.json");
    let report = dir.path().join("report.json");
    let verified = run(official_command(official_pact_bin())
        .arg("verifier")
        .arg("--file")
        .arg(&pact)
        .args(["--hostname", host, "--port", port.trim_end_matches('/')])
        .args(["--filter-description", PROVIDER_CONTRACT_INTERACTIONS])
        .arg("--no-colour")
        .arg("--json")
        .arg(&report));
    let said = text(&verified);
    assert!(verified.status.success(), "{said}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let checked = report
        .to_string()
        .matches("\"interactionDescription\"")
        .count();
    assert!(
        checked >= 5 || said.matches("OK").count() >= 5,
        "too few interactions checked:\n{said}"
    );
}
