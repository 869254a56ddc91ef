//! The pact fuzzer: structure-aware mutations of real pacts (the committed fixtures of
//! every specification version, written by the official clients) thrown at every place
//! a pact enters Accord. Nothing may panic, the broker may not answer 5xx,
//! and the process's heap may not grow by more than 512 MiB.
//!
//! Entry points: `Contract::from_json` (the door the broker, `accord stub`, the verifier
//! and the monitor share), the monitor's schema derivation (HTTP and event expectations),
//! the mock admin API's interaction and message parsers (with the message's generated
//! example), and the broker's publish API and pact PUT over HTTP. The seeds include the
//! official clients' message pacts (V3 `messages`, V4 `Asynchronous/Messages`).
//!
//! A bounded run (`ACCORD_FUZZ_SECONDS`, 60 by default) with a fixed seed is part of
//! every test run. The long run draws a random seed and prints it, so a failure can be
//! replayed with `ACCORD_FUZZ_SEED=<seed>`:
//!
//! ```sh
//! ACCORD_FUZZ_SECONDS=3600 ACCORD_FUZZ_SEED=random cargo test -p accord-e2e --test e2e fuzz -- --nocapture
//! ```
//!
//! Every input that ever broke something is kept in `tests/fuzz/regressions/` and
//! replayed first.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

fn seeds() -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/official");
    let mut files = Vec::new();
    for tool in ["pact-js", "pact-python"] {
        for entry in std::fs::read_dir(root.join(tool).join("pacts")).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    assert!(files.len() >= 6, "the official fixtures are missing");
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

fn regressions() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut cases: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                        .unwrap_or_else(|err| panic!("{}: {err}", p.display()));
                    (p, value)
                })
                .collect()
        })
        .unwrap_or_default();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// A value of a kind a pact field is unlikely to expect.
fn odd_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(1.5e300),
        6 => json!("404"),
        7 => json!(""),
        8 => json!("x".repeat(rng.random_range(1000..100_000))),
        9 => json!("\u{0}\u{202e}\u{1f4a5}\n\r\t\"\\"),
        10 => json!([]),
        11 => json!({}),
        12 => {
            let mut nested = json!(1);
            for _ in 0..rng.random_range(10..120) {
                nested = json!([nested]);
            }
            nested
        }
        _ => json!({"$.body": {"match": "regex", "regex": "(("}, "matchers": "type"}),
    }
}

/// One to three structural mutations of `seed`.
fn mutate(seed: &Value, rng: &mut StdRng) -> Value {
    let mut doc = seed.clone();
    for _ in 0..rng.random_range(1..=3) {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let target = all[rng.random_range(0..all.len())].clone();
        let Some(node) = doc.pointer_mut(&target) else {
            continue;
        };
        match rng.random_range(0..6) {
            // Replace the value with one of another kind.
            0..=2 => *node = odd_value(rng),
            // Delete a key or an item.
            3 => match node {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(rng.random_range(0..map.len())).cloned();
                    if let Some(key) = key {
                        map.remove(&key);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    items.remove(rng.random_range(0..items.len()));
                }
                other => *other = Value::Null,
            },
            // Duplicate an item, or add a key the specification does not know.
            4 => match node {
                Value::Array(items) if !items.is_empty() => {
                    let item = items[rng.random_range(0..items.len())].clone();
                    items.push(item);
                }
                Value::Object(map) => {
                    let key = [
                        "status",
                        "matchingRules",
                        "generators",
                        "body",
                        "headers",
                        "query",
                        "providerStates",
                        "contents",
                        "metadata",
                        "type",
                        "pending",
                    ][rng.random_range(0..11)];
                    map.insert(key.to_string(), odd_value(rng));
                }
                other => *other = json!([other.clone()]),
            },
            // Wrap the value.
            _ => *node = json!({ "value": node.clone() }),
        }
    }
    doc
}

/// A panic message, for the report.
fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// The in-process entry points: any panic is a failure.
fn check_in_process(doc: &Value) -> Result<(), String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(contract) = accord_contract::Contract::from_json(doc.clone(), "fuzz.json") {
            let _ = accord_monitor::schema::derive_pact(&contract);
            let _ = accord_monitor::events::EventContracts::from_contracts(&[contract]);
        }
        for key in ["interactions", "messages"] {
            if let Some(items) = doc.get(key).and_then(Value::as_array) {
                for (i, item) in items.iter().enumerate() {
                    let pointer = format!("/{key}/{i}");
                    let is_message = key == "messages"
                        || item.get("type").and_then(Value::as_str)
                            == Some("Asynchronous/Messages");
                    if is_message {
                        if let Ok(message) = accord_mock_server::message_from_json(item, &pointer) {
                            let _ = futures_lite_block_on(accord_mock_server::example_message(
                                &message,
                            ));
                        }
                    } else {
                        let _ = accord_mock_server::interaction_from_json(item, &pointer);
                    }
                }
            }
        }
    }));
    result.map_err(|panic| format!("panicked: {}", panic_text(panic)))
}

/// Runs a future to completion from the fuzz loop's synchronous in-process checks (the
/// test runs on the multi-threaded runtime, which lets a worker block).
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

struct Broker {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start_broker() -> Broker {
    let dir = tempfile::tempdir().unwrap();
    let config =
        accord_broker::Config::new(format!("sqlite://{}", dir.path().join("fuzz.db").display()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = accord_broker::Application::build(config, listener)
        .await
        .unwrap();
    let base = app.base_url();
    tokio::spawn(app.run_until(std::future::pending()));
    Broker {
        base,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        _dir: dir,
    }
}

/// The broker's entry points: an answer of 5xx (or none) is a failure.
async fn check_broker(broker: &Broker, doc: &Value, n: u64) -> Result<(), String> {
    let consumer = doc
        .pointer("/consumer/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() < 200 && !s.contains(['/', '\n', '\r', '?', '#', '%']))
        .unwrap_or("fuzz-consumer");
    let provider = doc
        .pointer("/provider/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() < 200 && !s.contains(['/', '\n', '\r', '?', '#', '%']))
        .unwrap_or("fuzz-provider");
    let publish = json!({
        "pacticipantName": consumer,
        "pacticipantVersionNumber": format!("v{n}"),
        "contracts": [{
            "consumerName": consumer, "providerName": provider,
            "specification": "pact", "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(doc.to_string()),
        }]
    });
    let requests = [
        broker
            .http
            .post(format!("{}/contracts/publish", broker.base))
            .json(&publish),
        broker
            .http
            .put(format!(
                "{}/pacts/provider/{provider}/consumer/{consumer}/version/p{n}",
                broker.base
            ))
            .json(doc),
    ];
    for request in requests {
        match request.send().await {
            Ok(response) if response.status().is_server_error() => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                return Err(format!("broker answered {status}: {body}"));
            }
            Ok(_) => {}
            Err(err) => return Err(format!("broker gave no answer: {err}")),
        }
    }
    Ok(())
}

/// The seed of the bounded run in the test suite.
const DEFAULT_SEED: u64 = 20_261_204;

/// How much the process's anonymous memory may grow over a fuzz run.
const MEMORY_GROWTH_LIMIT_KIB: u64 = 512 * 1024;

/// The process's anonymous resident memory (`RssAnon` in `/proc/self/status`), in KiB;
/// `None` where the kernel does not say.
fn anonymous_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn mutated_pacts_never_crash_or_5xx_anything() {
    let seconds: u64 = std::env::var("ACCORD_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    // A fixed seed by default, so the bounded run in the test suite tries the same inputs
    // every time and a red build is never luck; `ACCORD_FUZZ_SEED=random` (or a number)
    // explores further.
    let seed: u64 = match std::env::var("ACCORD_FUZZ_SEED").ok().as_deref() {
        None | Some("") => DEFAULT_SEED,
        Some("random") => rand::random(),
        Some(number) => number.parse().unwrap_or_else(|_| {
            panic!("ACCORD_FUZZ_SEED {number:?} is neither a number nor random")
        }),
    };
    eprintln!("fuzzing pacts for {seconds} s with ACCORD_FUZZ_SEED={seed}");
    let broker = start_broker().await;
    let mut failures = Vec::new();

    // Every input that ever broke something, first.
    for (n, (path, doc)) in regressions().into_iter().enumerate() {
        if let Err(problem) = check_in_process(&doc) {
            failures.push(format!("{}: {problem}", path.display()));
        }
        if let Err(problem) = check_broker(&broker, &doc, n as u64).await {
            failures.push(format!("{}: {problem}", path.display()));
        }
    }

    // Memory stays bounded: the process's anonymous memory (the heap; the SQLite file's
    // mapped pages are not counted) may not grow by more than this over the run.
    let baseline = anonymous_memory_kib();
    let mut peak = baseline;

    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tried = 0u64;
    while Instant::now() < deadline && failures.len() < 10 {
        let doc = mutate(&seeds[rng.random_range(0..seeds.len())], &mut rng);
        tried += 1;
        let mut problem = check_in_process(&doc).err();
        // The broker is slower; it gets every fourth input.
        if problem.is_none() && tried.is_multiple_of(4) {
            problem = check_broker(&broker, &doc, 1_000_000 + tried).await.err();
        }
        if tried.is_multiple_of(1_000)
            && let (Some(start), Some(now)) = (baseline, anonymous_memory_kib())
        {
            peak = peak.max(Some(now));
            if now > start + MEMORY_GROWTH_LIMIT_KIB {
                failures.push(format!(
                    "input {tried}: the process's anonymous memory grew from {start} KiB to {now} KiB (limit: {MEMORY_GROWTH_LIMIT_KIB} KiB more)"
                ));
            }
        }
        if let Some(problem) = problem {
            let text = doc.to_string();
            failures.push(format!(
                "input {tried}: {}\n    {}",
                problem.chars().take(500).collect::<String>(),
                text.chars().take(2000).collect::<String>()
            ));
        }
    }
    eprintln!(
        "fuzzed {tried} mutated pacts ({} through the broker), {} failures; anonymous memory {} KiB at the start, {} KiB at the peak",
        tried / 4,
        failures.len(),
        baseline.map_or("?".to_string(), |k| k.to_string()),
        peak.map_or("?".to_string(), |k| k.to_string()),
    );
    assert!(
        failures.is_empty(),
        "inputs that broke something (add each to tests/fuzz/regressions/ once fixed; replay with ACCORD_FUZZ_SEED={seed}):\n{}",
        failures.join("\n")
    );
}
