//! The broker's scripted attack list (`tests/attacks/broker.json`) against a real
//! `accord broker`: hostile requests (empty credentials, form-encoded and cross-site
//! writes, DNS rebinding, huge names, a pact that made the pact library panic), the
//! webhook destinations an attacker would try (special-purpose addresses in every
//! spelling, placeholders where the host is read), slow clients holding connections,
//! and a webhook receiver that answers a gigabyte. Each entry says what a safe broker
//! answers; a new finding becomes a new entry.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use accord_e2e::{Running, accord_bin};
use serde_json::{Value, json};

const ADMIN: &str = "attack-list-admin-token";
const READER: &str = "attack-list-read-token";

fn attacks() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("attacks/broker.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the attack list")).unwrap()
}

/// A string field of an entry, or a `{"prefix", "repeat", "times", "suffix"}` recipe.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(recipe) => {
            let part = |key: &str| recipe.get(key).and_then(Value::as_str).unwrap_or("");
            let times = recipe["times"].as_u64().unwrap() as usize;
            format!(
                "{}{}{}",
                part("prefix"),
                part("repeat").repeat(times),
                part("suffix")
            )
        }
        other => panic!("not text: {other}"),
    }
}

fn start_broker(dir: &Path, name: &str, extra: &[&str]) -> Running {
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--token", ADMIN])
        .args(["--read-only-token", READER])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.join(name).display()))
        .args(extra);
    Running::start(command, Duration::from_secs(20))
}

fn client() -> reqwest::Client {
    // Every attack on a connection of its own, as attackers send them: a connection the
    // broker closed after refusing the previous attack's body early is never reused.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scripted_attack_gets_the_safe_answer() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), "attacks.db", &[]);
    let http = client();
    let list = attacks();
    let mut failures = Vec::new();
    for attack in list["requests"].as_array().unwrap() {
        let name = attack["name"].as_str().unwrap();
        let method =
            reqwest::Method::from_bytes(attack["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut request = http.request(method, format!("{}{}", broker.url, text(&attack["path"])));
        match attack["as"].as_str().unwrap() {
            "admin" => request = request.bearer_auth(ADMIN),
            "read-only" => request = request.bearer_auth(READER),
            _ => {}
        }
        if let Some(headers) = attack["headers"].as_object() {
            for (header, value) in headers {
                request = request.header(header, value.as_str().unwrap());
            }
        }
        if let Some(content_type) = attack["contentType"].as_str() {
            request = request.header("Content-Type", content_type);
        }
        if !attack["body"].is_null() {
            request = request.body(text(&attack["body"]));
        }
        let expected: Vec<u64> = match &attack["expect"] {
            Value::Array(codes) => codes.iter().filter_map(Value::as_u64).collect(),
            code => vec![code.as_u64().unwrap()],
        };
        let (status, body) = match request.send().await {
            Ok(response) => {
                let status = u64::from(response.status().as_u16());
                (status, response.text().await.unwrap_or_default())
            }
            Err(err) => {
                let err = err.to_string();
                failures.push(format!(
                    "{name}: no answer ({})",
                    err.chars().take(300).collect::<String>()
                ));
                continue;
            }
        };
        if !expected.contains(&status) {
            failures.push(format!(
                "{name}: answered {status}, expected {expected:?}: {}",
                body.chars().take(300).collect::<String>()
            ));
            continue;
        }
        if let Some(mention) = attack["mentions"].as_str()
            && !body.contains(mention)
        {
            failures.push(format!(
                "{name}: the answer does not name {mention}: {body}"
            ));
        }
        if body.len() > 64 * 1024 {
            failures.push(format!(
                "{name}: a {} byte answer echoes the input",
                body.len()
            ));
        }
    }

    // Webhook destinations: each refused when saved, naming the field.
    for url in list["webhookUrls"]["refused"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        let response = http
            .post(format!("{}/webhooks", broker.url))
            .bearer_auth(ADMIN)
            .json(&json!({
                "events": [{ "name": "contract_published" }],
                "request": { "method": "POST", "url": url }
            }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status != 400 || !body.contains("request.url") {
            failures.push(format!("webhook to {url}: answered {status}: {body}"));
        }
    }

    // Nothing the attacks sent was stored.
    let read = |path: &str| {
        http.get(format!("{}{path}", broker.url))
            .bearer_auth(ADMIN)
            .send()
    };
    let pacticipants: Value = read("/pacticipants").await.unwrap().json().await.unwrap();
    let stored = pacticipants["_embedded"]["pacticipants"]
        .as_array()
        .map_or(0, Vec::len);
    if stored != 0 {
        failures.push(format!("{stored} pacticipants were stored: {pacticipants}"));
    }
    let webhooks: Value = read("/webhooks").await.unwrap().json().await.unwrap();
    if webhooks["_links"]["pb:webhooks"]
        .as_array()
        .is_some_and(|w| !w.is_empty())
    {
        failures.push(format!("webhooks were stored: {webhooks}"));
    }
    assert!(
        failures.is_empty(),
        "attacks that got through:\n{}",
        failures.join("\n")
    );
}

#[test]
fn slow_clients_cannot_hold_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), "slow.db", &["--header-read-timeout", "1s"]);
    let address = broker.url.trim_start_matches("http://").to_string();
    // 300 connections: half send nothing, half an unfinished request head.
    let mut held: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut stream = TcpStream::connect(&address).expect("connect");
            if i % 2 == 0 {
                let _ = stream.write_all(b"GET /pacticipants HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            }
            stream
        })
        .collect();
    let started = Instant::now();
    let mut probe = TcpStream::connect(&address).expect("connect for the heartbeat");
    probe
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        probe,
        "GET /diagnostic/status/heartbeat HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = probe.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the heartbeat did not answer while slow clients waited: {answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the heartbeat took {:?}",
        started.elapsed()
    );
    // Every held connection is closed once its header time is up.
    for stream in &mut held {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buffer = [0u8; 512];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(err) => panic!("a slow connection was still open after 10 s: {err}"),
            }
        }
    }
}

/// The broker process's resident memory, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_receiver_answering_a_gigabyte_costs_the_broker_nothing() {
    // The receiver answers every request with a 1 GiB body, written as fast as the
    // broker reads it, and counts what it got out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let sent_tx = sent_tx.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n";
                let mut sent = 0u64;
                if socket.write_all(head.as_bytes()).await.is_ok() {
                    let chunk = vec![b'x'; 64 * 1024];
                    while sent < 1 << 30 {
                        if socket.write_all(&chunk).await.is_err() {
                            break;
                        }
                        sent += chunk.len() as u64;
                    }
                }
                let _ = sent_tx.send(sent);
            });
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        "webhooks.db",
        &[
            "--webhook-allow-host",
            "localhost",
            "--webhook-timeout",
            "10s",
        ],
    );
    let http = client();
    let created = http
        .post(format!("{}/webhooks", broker.url))
        .bearer_auth(ADMIN)
        .json(&json!({
            "events": [{ "name": "contract_published" }],
            "request": { "method": "POST", "url": format!("http://localhost:{port}/hook") }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let execute = created["_links"]["pb:execute"]["href"]
        .as_str()
        .expect("an execute link")
        .to_string();
    let before = rss_mib(broker.id());
    let started = Instant::now();
    let executed = http.post(&execute).bearer_auth(ADMIN).send().await.unwrap();
    let elapsed = started.elapsed();
    let status = executed.status().as_u16();
    let body = executed.text().await.unwrap();
    assert!(status < 500, "the test call answered {status}: {body}");
    assert!(
        body.len() < 64 * 1024,
        "the broker kept {} bytes of the answer",
        body.len()
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "the call took {elapsed:?}"
    );
    let sent = tokio::time::timeout(Duration::from_secs(15), sent_rx.recv())
        .await
        .expect("the receiver's connection was closed")
        .unwrap();
    assert!(
        sent < 64 << 20,
        "the broker read {} MiB of the answer before closing",
        sent >> 20
    );
    let after = rss_mib(broker.id());
    assert!(
        after < before + 64,
        "the broker's memory grew from {before} MiB to {after} MiB"
    );
}
