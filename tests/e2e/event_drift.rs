//! Event drift against real brokers: RabbitMQ on 127.0.0.1:5672 (guest/guest) and Kafka
//! (tansu, a Kafka-protocol broker, started here on a free port with SQLite storage). The
//! events are produced by Python clients (pika, kafka-python), not by the monitor's own, so
//! the monitor reads what real producers send (`tests/fixtures/producers/`). The broker loop
//! runs from a captured events file through to can-i-deploy.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use accord_e2e::{accord_bin, official_python, run};
use serde_json::Value;

const RABBITMQ: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn producers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/producers")
}

/// A producer script running in the background; killed when dropped.
struct Producer(Child);

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn producer(script: &str, args: &[&str]) -> Producer {
    Producer(
        Command::new(official_python())
            .arg(producers_dir().join(script))
            .args(args)
            .current_dir(producers_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the producer"),
    )
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn monitor(pact: &Path, source: &[&str], json: &Path) -> Output {
    run(Command::new(accord_bin())
        .args(["monitor", "--once", "--pact-file"])
        .arg(pact)
        .args(source)
        .arg("--json")
        .arg(json))
}

/// [`monitor`] on a blocking thread, so the test's own servers keep answering meanwhile.
async fn monitor_off_thread(pact: &Path, source: &[&str], json: &Path) -> Output {
    let (pact, json) = (pact.to_path_buf(), json.to_path_buf());
    let source: Vec<String> = source.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let source: Vec<&str> = source.iter().map(String::as_str).collect();
        monitor(&pact, &source, &json)
    })
    .await
    .unwrap()
}

async fn shipping_pact(dir: &Path) -> PathBuf {
    crate::messages::shipping_pact(dir, false).await
}

fn assert_no_values(report: &Path) {
    let text = std::fs::read_to_string(report).unwrap();
    for value in ["ada@example.com", "1764842400", "BOOK-42"] {
        assert!(
            !text.contains(value),
            "a payload value ({value}) reached the report:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rabbitmq_traffic_is_clean_and_the_unix_timestamp_drift_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let report = dir.path().join("report.json");

    // Compliant traffic, with an event type no contract names in the mix.
    let exchange = unique("accord-test-orders");
    let _clean = producer(
        "rabbitmq_producer.py",
        &[RABBITMQ, &exchange, "iso,invoice"],
    );
    std::thread::sleep(Duration::from_secs(2));
    let source = [
        "--amqp",
        RABBITMQ,
        "--exchange",
        &exchange,
        "--binding-key",
        "#",
        "--max-events",
        "10",
        "--max-wait",
        "20s",
    ];
    let clean = monitor_off_thread(&pact, &source, &report).await;
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{}", describe(&clean));
    assert!(stdout.contains("10 events sampled"), "{stdout}");
    assert!(
        stdout.contains("com.example.invoice.sent"),
        "uncontracted types are listed: {stdout}"
    );

    // The producer's upgrade turns createdAt into a Unix timestamp.
    let exchange = unique("accord-test-orders");
    let _drifted = producer("rabbitmq_producer.py", &[RABBITMQ, &exchange, "unix"]);
    std::thread::sleep(Duration::from_secs(2));
    let source = [
        "--amqp",
        RABBITMQ,
        "--exchange",
        &exchange,
        "--binding-key",
        "order.*",
        "--max-events",
        "5",
        "--max-wait",
        "20s",
    ];
    let drift = monitor_off_thread(&pact, &source, &report).await;
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{}", describe(&drift));
    assert!(stdout.contains("/data/createdAt"), "{stdout}");
    assert!(
        stdout.contains("format changed") || stdout.contains("type changed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("5 of 5 sampled com.example.order.created"),
        "{stdout}"
    );
    assert!(stdout.contains("routing key order.created"), "{stdout}");
    assert_no_values(&report);
}

#[tokio::test(flavor = "multi_thread")]
async fn undecodable_payloads_are_their_own_finding() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let report = dir.path().join("report.json");
    let events = dir.path().join("events.ndjson");
    // Binary mode: the type in a header, a payload that is not JSON.
    std::fs::write(
        &events,
        "{\"headers\": {\"ce_type\": \"com.example.order.created\"}, \"value\": \"\\u0000 not json\", \"topic\": \"orders\"}\n",
    )
    .unwrap();
    let output = monitor(&pact, &["--events-file", events.to_str().unwrap()], &report);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(stdout.contains("undecodable payload"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_is_down_is_not_drift() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let report = dir.path().join("report.json");
    let output = monitor_off_thread(
        &pact,
        &[
            "--amqp",
            "amqp://guest:secret-pw@127.0.0.1:1/%2f",
            "--exchange",
            "orders",
            "--max-wait",
            "10s",
        ],
        &report,
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let text = describe(&output);
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("secret-pw"), "the password leaked: {text}");
}

/// A tansu broker on a free port with SQLite storage in `dir`; killed when dropped.
struct Tansu {
    child: Child,
    bootstrap: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_tansu(dir: &Path) -> Tansu {
    let bin = std::env::var_os("ACCORD_TANSU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs_home().join(".cache/accord/tools/tansu/bin/tansu"));
    assert!(
        bin.exists(),
        "tansu (the Kafka-protocol test broker) is not installed at {}: run `scripts/test`, which installs it (or set ACCORD_TANSU_BIN)",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        // tansu resolves the SQLite path against its working directory.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "tansu did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Tansu {
        child,
        bootstrap: format!("127.0.0.1:{port}"),
    }
}

fn dirs_home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_topics_are_sampled_without_a_consumer_group() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let report = dir.path().join("report.json");
    let tansu = start_tansu(dir.path());
    let bootstrap = tansu.bootstrap.clone();

    // A topic with history: 30 drifted events, then the producer stops.
    let history = unique("orders-history");
    let output = run(Command::new(official_python())
        .arg(producers_dir().join("kafka_producer.py"))
        .args([&bootstrap, &history, "unix", "1.5", "0.02"])
        .current_dir(producers_dir()));
    assert!(output.status.success(), "{}", describe(&output));
    let from_beginning = monitor_off_thread(
        &pact,
        &[
            "--kafka",
            &bootstrap,
            "--topic",
            &history,
            "--from-beginning",
            "--max-events",
            "10",
            "--max-wait",
            "20s",
        ],
        &report,
    )
    .await;
    let stdout = String::from_utf8_lossy(&from_beginning.stdout);
    assert_eq!(
        from_beginning.status.code(),
        Some(1),
        "{}",
        describe(&from_beginning)
    );
    assert!(
        stdout.contains("10 events sampled"),
        "only what it samples: {stdout}"
    );
    assert!(stdout.contains("/data/createdAt"), "{stdout}");
    assert!(
        stdout.contains(&format!("kafka topic {history} partition")),
        "{stdout}"
    );
    assert_no_values(&report);
    // The sampler's lag is reported per partition.
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let lag = written["events"]["lag"]
        .as_object()
        .expect("lag per partition");
    assert!(
        lag.keys()
            .any(|k| k.starts_with(&format!("kafka://{bootstrap}/{history}/"))),
        "{written:#}"
    );
    // By record time: the last hour holds the whole history.
    let since = monitor(
        &pact,
        &[
            "--kafka",
            &bootstrap,
            "--topic",
            &history,
            "--since",
            "1h",
            "--max-events",
            "10",
            "--max-wait",
            "20s",
        ],
        &report,
    );
    assert_eq!(since.status.code(), Some(1), "{}", describe(&since));
    assert!(
        String::from_utf8_lossy(&since.stdout).contains("10 events sampled"),
        "{}",
        describe(&since)
    );

    // Live, compliant traffic: only events arriving during the run.
    let live = unique("orders-live");
    let _producer = producer("kafka_producer.py", &[&bootstrap, &live, "iso,invoice"]);
    std::thread::sleep(Duration::from_secs(3));
    let clean = monitor_off_thread(
        &pact,
        &[
            "--kafka",
            &bootstrap,
            "--topic",
            &live,
            "--max-events",
            "8",
            "--max-wait",
            "25s",
        ],
        &report,
    )
    .await;
    assert_eq!(clean.status.code(), Some(0), "{}", describe(&clean));

    // No consumer group, so no committed offset, was left behind.
    let groups = run(Command::new(official_python())
        .arg(producers_dir().join("kafka_producer.py"))
        .args(["--groups", &bootstrap])
        .current_dir(producers_dir()));
    assert!(groups.status.success(), "{}", describe(&groups));
    let groups: Value = serde_json::from_slice(&groups.stdout).unwrap();
    assert_eq!(
        groups,
        serde_json::json!([]),
        "the monitor joined a consumer group"
    );

    // A topic that does not exist is a source error, not drift.
    let missing = monitor(
        &pact,
        &[
            "--kafka",
            &bootstrap,
            "--topic",
            "no-such-topic",
            "--max-wait",
            "5s",
        ],
        &report,
    );
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
    assert!(
        describe(&missing).contains("does not exist"),
        "{}",
        describe(&missing)
    );
}

fn accord(args: &[&str]) -> Output {
    run(Command::new(accord_bin()).args(args))
}

/// The broker loop: the shipping service's message pact is published and verified, both
/// sides deployed; sampled events with Unix timestamps are posted as drift, can-i-deploy
/// blocks the shipping service naming the field, and clean events resolve it.
#[tokio::test(flavor = "multi_thread")]
async fn event_drift_reaches_the_broker_and_blocks_can_i_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let pacts = dir.path().join("pacts");
    shipping_pact(&pacts).await;
    let mut command = Command::new(accord_bin());
    command
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("broker.db").display()
        ));
    let broker = accord_e2e::Running::start(command, Duration::from_secs(20));
    let provider = accord_e2e::spawn_example_provider(example_provider::AppState::new(
        example_provider::Behaviour::Correct,
        example_provider::DateFormat::Iso8601,
    ))
    .await;
    let b = broker.url.clone();
    let events = dir.path().join("events.ndjson");
    let write_events = |variant: &str| {
        let script = format!(
            "import json, sys; sys.path.insert(0, {:?}); from events import payload; \
             [print(payload(n, {variant:?})[1].decode()) for n in range(20)]",
            producers_dir().display().to_string()
        );
        let output = run(Command::new(official_python()).args(["-c", &script]));
        assert!(output.status.success(), "{}", describe(&output));
        std::fs::write(&events, &output.stdout).unwrap();
    };

    let setup = {
        let (b, provider, pacts) = (b.clone(), provider.clone(), pacts.clone());
        move || {
            let pacts = pacts.to_str().unwrap().to_string();
            let messages_url = provider.clone();
            for step in [
                vec![
                    "publish",
                    &pacts,
                    "-b",
                    &b,
                    "--consumer-app-version",
                    "1.0.0",
                    "--branch",
                    "main",
                ],
                vec!["create-environment", "-b", &b, "--name", "production"],
                vec![
                    "verify",
                    "--provider",
                    "order-service",
                    "--provider-base-url",
                    &messages_url,
                    "--messages-path",
                    "/_pact/messages",
                    "--broker-url",
                    &b,
                    "--provider-version",
                    "2.0.0",
                    "--publish",
                ],
                vec![
                    "record-deployment",
                    "-b",
                    &b,
                    "--pacticipant",
                    "order-service",
                    "--version",
                    "2.0.0",
                    "--environment",
                    "production",
                ],
                vec![
                    "record-deployment",
                    "-b",
                    &b,
                    "--pacticipant",
                    "shipping-service",
                    "--version",
                    "1.0.0",
                    "--environment",
                    "production",
                ],
            ] {
                let output = accord(&step);
                assert!(output.status.success(), "{step:?}\n{}", describe(&output));
            }
        }
    };
    tokio::task::spawn_blocking(setup).await.unwrap();
    let monitor_broker = {
        let (b, events) = (b.clone(), events.clone());
        move || {
            accord(&[
                "monitor",
                "--broker-url",
                &b,
                "--provider",
                "order-service",
                "--environment",
                "production",
                "--events-file",
                events.to_str().unwrap(),
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
                "shipping-service",
                "--version",
                "1.0.0",
                "--to-environment",
                "production",
            ])
        }
    };

    write_events("unix");
    let drift = tokio::task::spawn_blocking(monitor_broker.clone())
        .await
        .unwrap();
    assert_eq!(drift.status.code(), Some(1), "{}", describe(&drift));
    assert!(
        describe(&drift).contains("Report posted to the broker"),
        "{}",
        describe(&drift)
    );
    let shown: Value = reqwest::get(format!(
        "{b}/drift/provider/order-service?environment=production"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(shown["drifting"], true, "{shown:#}");
    assert!(shown.to_string().contains("/data/createdAt"), "{shown:#}");
    assert!(!shown.to_string().contains("ada@example.com"), "{shown:#}");
    // The UI's drift page shows the event finding like an HTTP one.
    let page = reqwest::Client::new()
        .get(format!("{b}/ui/drift?provider=order-service"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/data/createdAt"), "{page}");
    assert!(page.contains("event com.example.order.created"), "{page}");
    let blocked = tokio::task::spawn_blocking(can_i_deploy.clone())
        .await
        .unwrap();
    assert_eq!(blocked.status.code(), Some(1), "{}", describe(&blocked));
    let said = String::from_utf8_lossy(&blocked.stdout);
    assert!(said.contains("createdAt"), "{}", describe(&blocked));
    assert!(
        said.contains("com.example.order.created"),
        "{}",
        describe(&blocked)
    );

    write_events("iso");
    let clean = tokio::task::spawn_blocking(monitor_broker).await.unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", describe(&clean));
    let allowed = tokio::task::spawn_blocking(can_i_deploy).await.unwrap();
    assert_eq!(allowed.status.code(), Some(0), "{}", describe(&allowed));
    drop(broker);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloudevents_sink_takes_structured_batch_and_binary_events() {
    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let report = dir.path().join("report.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let monitor = tokio::task::spawn_blocking({
        let (pact, report, listen) = (pact.clone(), report.clone(), listen.clone());
        move || {
            monitor(
                &pact,
                &[
                    "--listen",
                    &listen,
                    "--max-events",
                    "4",
                    "--max-wait",
                    "20s",
                ],
                &report,
            )
        }
    });
    let sink = format!("http://{listen}/events");
    let http = reqwest::Client::new();
    let started = Instant::now();
    let event = |n: u64| {
        serde_json::json!({"specversion": "1.0", "type": "com.example.order.created", "source": "/orders",
            "id": format!("order-{n}-created"), "time": "2026-12-04T10:00:00Z", "datacontenttype": "application/json",
            "data": {"orderId": n, "customer": "x", "items": [{"sku": "A", "quantity": 1}], "createdAt": "2026-12-04T10:00:00Z"}})
    };
    // Structured, once the sink listens.
    loop {
        let sent = http
            .post(&sink)
            .header("Content-Type", "application/cloudevents+json")
            .body(event(1).to_string())
            .send()
            .await;
        if matches!(&sent, Ok(response) if response.status() == 202) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the sink never answered: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let batch = http
        .post(&sink)
        .header("Content-Type", "application/cloudevents-batch+json")
        .body(serde_json::json!([event(2), event(3)]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 202);
    let binary = http
        .post(&sink)
        .header("ce-specversion", "1.0")
        .header("ce-type", "com.example.invoice.sent")
        .header("ce-source", "/billing")
        .header("ce-id", "invoice-1")
        .header("Content-Type", "application/json")
        .body("{\"invoiceId\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(binary.status(), 202);
    let output = monitor.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout.contains("4 events sampled"), "{stdout}");
    assert!(stdout.contains("com.example.invoice.sent"), "{stdout}");
}

/// Without --once the monitor samples window after window: counts per event type and
/// source in /metrics, a finding alerted once (not again in the next windows).
#[tokio::test(flavor = "multi_thread")]
async fn as_a_service_it_counts_events_and_alerts_once_per_finding() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let dir = tempfile::tempdir().unwrap();
    let pact = shipping_pact(dir.path()).await;
    let events = dir.path().join("events.ndjson");
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); from events import payload; \
         [print(payload(n, 'unix')[1].decode()) for n in range(20)]",
        producers_dir().display().to_string()
    );
    let output = run(Command::new(official_python()).args(["-c", &script]));
    assert!(output.status.success(), "{}", describe(&output));
    std::fs::write(&events, &output.stdout).unwrap();
    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&webhook)
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut service = Command::new(accord_bin())
        .args(["monitor", "--every", "1s", "--pact-file"])
        .arg(&pact)
        .arg("--events-file")
        .arg(&events)
        .args(["--metrics-bind", &format!("127.0.0.1:{port}")])
        .args(["--alert-webhook", &webhook.uri()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let broken = |text: &str| -> u64 {
        text.lines()
            .find(|line| {
                line.starts_with("accord_monitor_events_broken_total")
                    && line.contains("com.example.order.created")
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let started = Instant::now();
    let mut text = String::new();
    while broken(&text) < 60 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "three windows of 20 broken events never showed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        text = match reqwest::get(&metrics_url).await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
    }
    let _ = service.kill();
    let _ = service.wait();
    assert!(text.contains("accord_monitor_events_read_total"), "{text}");
    assert!(
        text.contains("accord_monitor_events_sampled_total"),
        "{text}"
    );
    // Two findings (/time and /data/createdAt), each alerted once over three windows.
    let alerts = webhook.received_requests().await.unwrap();
    assert_eq!(
        alerts.len(),
        2,
        "{:#?}",
        alerts
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect::<Vec<_>>()
    );
    for alert in &alerts {
        let body = String::from_utf8_lossy(&alert.body);
        assert!(
            !body.contains("1764842400"),
            "a payload value reached an alert: {body}"
        );
    }
}
