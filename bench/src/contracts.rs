//! Provider contracts: checking pacts against an OpenAPI document, and publishing a
//! document to a broker whose provider has many consumers.
//!
//! The document is generated: `resources` resources, each with a list, a read and an
//! update operation and a component schema of twenty fields of every type (formats,
//! enums, a nested object, an array of objects), composed with `allOf` from a shared
//! base and referenced through `$ref`s, so parsing, reference resolution and schema
//! compilation all have work to do. The pact reads and updates those resources.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accord_contract::Contract;
use accord_contract::openapi::ProviderSpec;
use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use crate::stats::{Summary, ms};

/// A generated OpenAPI 3.0 document of `resources` resources (about 1.1 KB each).
pub fn document(resources: usize) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    schemas.insert(
        "Base".into(),
        json!({
            "type": "object",
            "required": ["id", "createdAt"],
            "properties": {
                "id": {"type": "integer", "format": "int64"},
                "createdAt": {"type": "string", "format": "date-time"},
                "updatedAt": {"type": "string", "format": "date-time", "nullable": true}
            }
        }),
    );
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}),
    );
    for r in 0..resources {
        let name = format!("Resource{r}");
        let mut properties = serde_json::Map::new();
        for f in 0..16 {
            let schema = match f % 6 {
                0 => json!({"type": "string", "maxLength": 200}),
                1 => json!({"type": "integer", "minimum": 0}),
                2 => json!({"type": "number"}),
                3 => json!({"type": "boolean"}),
                4 => json!({"type": "string", "enum": ["draft", "active", "retired"]}),
                _ => json!({"type": "string", "format": "date"}),
            };
            properties.insert(format!("field{f}"), schema);
        }
        properties.insert(
            "owner".into(),
            json!({"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"}}}),
        );
        properties.insert(
            "lines".into(),
            json!({"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}}}}),
        );
        schemas.insert(
            name.clone(),
            json!({"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": properties}]}),
        );
        let reference = json!({"$ref": format!("#/components/schemas/{name}")});
        let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        paths.insert(
            format!("/resources{r}"),
            json!({"get": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
                "responses": {
                    "200": {"description": "list", "content": {"application/json": {"schema": {"type": "array", "items": reference}}}},
                    "default": error
                }
            }}),
        );
        paths.insert(
            format!("/resources{r}/{{id}}"),
            json!({
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"responses": {
                    "200": {"description": "one", "content": {"application/json": {"schema": reference}}},
                    "404": error
                }},
                "put": {
                    "requestBody": {"required": true, "content": {"application/json": {"schema": reference}}},
                    "responses": {"200": {"description": "updated", "content": {"application/json": {"schema": reference}}}}
                }
            }),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "bench", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas}
    })
}

/// A resource as a consumer reads it: some of the fields.
fn body(id: usize) -> Value {
    json!({
        "id": id, "createdAt": "2024-05-01T10:00:00Z",
        "field0": "a name", "field1": 3, "field2": 2.5, "field3": true, "field4": "active",
        "field5": "2024-05-01",
        "owner": {"name": "Ada", "email": "ada@example.com"},
        "lines": [{"sku": "BOOK-42", "quantity": 2}]
    })
}

/// A pact of `interactions` interactions over the document's resources.
pub fn pact(consumer: &str, provider: &str, interactions: usize, resources: usize) -> Value {
    let items: Vec<Value> = (0..interactions)
        .map(|i| {
            let r = (i * 7) % resources;
            let json_header = json!({"Content-Type": "application/json"});
            match i % 3 {
                0 => json!({
                    "description": format!("list {i}"),
                    "request": {"method": "GET", "path": format!("/resources{r}"), "query": {"limit": ["10"]}},
                    "response": {"status": 200, "headers": json_header, "body": [body(i), body(i + 1)]}
                }),
                1 => json!({
                    "description": format!("read {i}"),
                    "request": {"method": "GET", "path": format!("/resources{r}/{i}")},
                    "response": {"status": 200, "headers": json_header, "body": body(i)}
                }),
                _ => json!({
                    "description": format!("update {i}"),
                    "request": {"method": "PUT", "path": format!("/resources{r}/{i}"), "headers": json_header, "body": body(i)},
                    "response": {"status": 200, "headers": json_header, "body": body(i)}
                }),
            }
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": items,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// Times parsing the document and checking the pact against it.
pub fn check(resources: usize, interactions: usize, runs: usize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&document(resources))?;
    let contract = Contract::from_json(
        pact("bench-consumer", "bench-provider", interactions, resources),
        "bench",
    )?;
    println!(
        "document: {} resources, {} operations, {:.2} MB; pact: {interactions} interactions",
        resources,
        resources * 3,
        text.len() as f64 / 1_000_000.0
    );
    time_checks(
        runs,
        || Ok(ProviderSpec::parse(&text)?),
        |spec| spec.check(&contract),
    )
}

/// Times `runs` rounds of parsing a document and checking a pact against it twice (the
/// first check compiles the schemas it uses), and prints the summaries.
fn time_checks<S>(
    runs: usize,
    parse: impl Fn() -> anyhow::Result<S>,
    check: impl Fn(&S) -> accord_contract::openapi::Comparison,
) -> anyhow::Result<()> {
    let mut parsed = Vec::new();
    let mut first = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let spec = parse()?;
        parsed.push(started.elapsed());
        let started = Instant::now();
        let comparison = check(&spec);
        first.push(started.elapsed());
        if !comparison.success() || !comparison.complete() {
            bail!(
                "the bench pact should fit the document: {:?} {:?}",
                comparison.mismatches().next(),
                comparison.skipped.first()
            );
        }
        let started = Instant::now();
        let _ = check(&spec);
        warm.push(started.elapsed());
    }
    let total: Vec<Duration> = parsed.iter().zip(&first).map(|(a, b)| *a + *b).collect();
    for (name, samples) in [
        ("parse the document", &parsed),
        ("first check (compiles the schemas it uses)", &first),
        ("parse + first check", &total),
        ("check again (schemas compiled)", &warm),
    ] {
        if let Some(summary) = Summary::of(samples) {
            println!("{}", summary.line(name));
        }
    }
    Ok(())
}

/// Times publishing a provider contract to a fresh broker whose provider has
/// `consumers` consumers on their main branch.
pub async fn publish(
    accord: &str,
    consumers: usize,
    resources: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(accord)
        .args(["--log", "warn", "broker", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("broker.db").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {accord} broker"))?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let result = async {
        for _ in 0..300 {
            if client.get(format!("{base}/diagnostic/status/heartbeat")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        for c in 0..consumers {
            let consumer = format!("consumer-{c}");
            let pact = pact(&consumer, "bench-provider", 20, resources);
            let response = client
                .post(format!("{base}/contracts/publish"))
                .json(&json!({
                    "pacticipantName": consumer, "pacticipantVersionNumber": "1", "branch": "main",
                    "contracts": [{"consumerName": consumer, "providerName": "bench-provider", "specification": "pact",
                                   "contentType": "application/json", "content": encode(&pact.to_string())}]
                }))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("publishing a pact failed: {}", response.text().await?);
            }
        }
        let document = serde_json::to_string_pretty(&document(resources))?;
        println!(
            "broker on SQLite; {consumers} consumers with a 20-interaction pact each on their main branch; document {:.2} MB",
            document.len() as f64 / 1_000_000.0
        );
        let mut samples = Vec::new();
        for run in 0..runs {
            // Each run a new provider version with a slightly different document, so
            // nothing is cached and every pact is compared again.
            let text = document.replacen("\"version\": \"1\"", &format!("\"version\": \"{run}\""), 1);
            let started = Instant::now();
            let response = client
                .post(format!("{base}/provider-contracts/provider/bench-provider/publish"))
                .json(&json!({
                    "pacticipantVersionNumber": format!("2.{run}"), "branch": "main",
                    "contract": {"content": encode(&text), "contentType": "application/json", "specification": "oas",
                                 "selfVerificationResults": {"success": true}}
                }))
                .send()
                .await?;
            let status = response.status();
            let answer: Value = response.json().await?;
            samples.push(started.elapsed());
            let compared = answer["notices"].to_string();
            if !status.is_success() || !compared.contains(&format!("Compared with {consumers} consumer pact(s): {consumers} compatible")) {
                bail!("unexpected answer ({status}): {answer}");
            }
        }
        if let Some(summary) = Summary::of(&samples) {
            println!("{}", summary.line("publish a provider contract (answer includes every comparison)"));
            println!("first run {}", ms(samples[0]));
        }
        anyhow::Ok(())
    }
    .await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    result
}

/// A generated AsyncAPI 3.0 document: one channel per resource (`resource{r}.updated`),
/// each sending a message whose payload is the resource's schema from [`document`].
pub fn event_document(resources: usize) -> Value {
    let openapi = document(resources);
    let mut channels = serde_json::Map::new();
    let mut operations = serde_json::Map::new();
    for r in 0..resources {
        channels.insert(
            format!("resource{r}"),
            json!({
                "address": format!("resource{r}.updated"),
                "messages": {"updated": {
                    "contentType": "application/json",
                    "payload": {"$ref": format!("#/components/schemas/Resource{r}")}
                }}
            }),
        );
        operations.insert(
            format!("announce{r}"),
            json!({"action": "send", "channel": {"$ref": format!("#/channels/resource{r}")}}),
        );
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": "bench events", "version": "1"},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": openapi["components"]["schemas"]}
    })
}

/// A message pact of `messages` messages over the document's channels.
pub fn event_pact(messages: usize, resources: usize) -> Value {
    let items: Vec<Value> = (0..messages)
        .map(|i| {
            let r = i % resources.max(1);
            json!({
                "description": format!("resource {r} updated, reader {i}"),
                "contents": body(i + 1),
                "metadata": {"kafka_topic": format!("resource{r}.updated"), "contentType": "application/json"}
            })
        })
        .collect();
    json!({
        "consumer": {"name": "bench-consumer"},
        "provider": {"name": "bench-provider"},
        "messages": items,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// Times parsing an AsyncAPI document and checking a message pact against it.
pub fn check_events(resources: usize, messages: usize, runs: usize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&event_document(resources))?;
    let contract = Contract::from_json(event_pact(messages, resources), "bench")?;
    println!(
        "document: {resources} channels, {:.2} MB; pact: {messages} messages",
        text.len() as f64 / 1_000_000.0
    );
    time_checks(
        runs,
        || Ok(accord_contract::asyncapi::EventSpec::parse(&text)?),
        |spec| spec.check(&contract),
    )
}
