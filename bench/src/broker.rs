//! The broker benchmark: cold start, idle memory, and the latency of can-i-deploy,
//! pacts for verification and publishing, against a running `accord broker` on seeded
//! data. Requests go one at a time, so each latency is the broker's own work; every loop
//! stops at a request count or a time limit, whichever comes first.

use std::cell::Cell;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use crate::seed::Shape;
use crate::stats::Summary;

/// A request taking longer than this fails its scenario.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How many versions the retention scenario's run deletes.
const RETENTION_DELETIONS: usize = 2000;

/// What to run and how much of it.
#[derive(Debug, Clone)]
pub struct BrokerBench {
    pub accord: String,
    pub database_url: String,
    pub shape: Shape,
    pub requests: usize,
    pub max_seconds: u64,
    pub cold_starts: usize,
    /// The scenarios to run (`can-i-deploy`, `for-verification`, `publish`, `hub`,
    /// `retention`); empty runs them all.
    pub scenarios: Vec<String>,
    /// The broker's `--log` filter.
    pub broker_log: String,
}

impl BrokerBench {
    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

/// A broker process started by the benchmark.
struct Broker {
    child: Child,
    base: String,
}

impl Broker {
    fn start(bench: &BrokerBench) -> anyhow::Result<(Broker, Instant)> {
        let accord = bench.accord.as_str();
        let port = free_port()?;
        let started = Instant::now();
        let child = Command::new(accord)
            .args(["--log", bench.broker_log.as_str(), "broker", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--database-url", bench.database_url.as_str()])
            // The retention scenario's run deletes this many versions.
            .env(
                "ACCORD_BROKER_RETENTION_DELETION_LIMIT",
                RETENTION_DELETIONS.to_string(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {accord} broker"))?;
        Ok((
            Broker {
                child,
                base: format!("http://127.0.0.1:{port}"),
            },
            started,
        ))
    }

    /// Polls the heartbeat until it answers 200 and returns the time since `started`.
    async fn wait_ready(&mut self, started: Instant) -> anyhow::Result<Duration> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/diagnostic/status/heartbeat", self.base);
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the broker exited with {status} before answering its heartbeat");
            }
            if Instant::now() > deadline {
                bail!("the broker did not answer {url} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn rss(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        Ok(Memory {
            rss: field("VmRSS:"),
            peak: field("VmHWM:"),
            anon: field("RssAnon:"),
            file: field("RssFile:"),
        })
    }

    /// SIGTERM (a graceful stop), then SIGKILL if it has not stopped after ten seconds.
    fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A small deterministic generator, so every run asks about the same pacticipants.
/// Resident memory of the broker process, in MB.
struct Memory {
    rss: f64,
    peak: f64,
    /// Heap and stacks: the broker's own memory.
    anon: f64,
    /// Mapped files: the binary, and the database pages read through SQLite's map.
    file: f64,
}

struct Picker(u64);

impl Picker {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }

    /// A pacticipant other than the hub `svc-0000`.
    fn ordinary(&mut self, shape: &Shape) -> usize {
        1 + self.next(shape.pacticipants - 1)
    }
}

/// The query `accord can-i-deploy --pacticipant P --version V --to-environment production` sends.
fn can_i_deploy_url(base: &str, pacticipant: &str, version: &str) -> anyhow::Result<url::Url> {
    let mut url = url::Url::parse(&format!("{base}/matrix"))?;
    url.query_pairs_mut()
        .append_pair("q[][pacticipant]", pacticipant)
        .append_pair("q[][version]", version)
        .append_pair("environment", "production")
        .append_pair("latestby", "cvpv");
    Ok(url)
}

/// The selectors a provider build on `main` typically sends.
fn for_verification_body() -> Value {
    json!({
        "consumerVersionSelectors": [
            {"mainBranch": true},
            {"deployedOrReleased": true},
            {"matchingBranch": true}
        ],
        "providerVersionBranch": "main",
        "includePendingStatus": true,
        "includeWipPactsSince": "2024-01-01"
    })
}

/// A pact of about 50 KB: forty interactions with matcher-rich bodies. `salt` makes the
/// content new, so every publish stores new content.
pub fn large_pact(consumer: &str, provider: &str, salt: &str) -> Value {
    let interactions: Vec<Value> = (0..40)
        .map(|i| {
            let lines: Vec<Value> = (0..6)
                .map(|l| json!({"sku": format!("SKU-{i}-{l}"), "quantity": l + 1, "unitPrice": 3.25, "note": "handle with care"}))
                .collect();
            json!({
                "description": format!("a request for order {i} ({salt})"),
                "providerStates": [{"name": format!("order {i} exists"), "params": {"id": i}}],
                "request": {"method": "GET", "path": format!("/orders/{i}"),
                            "headers": {"Accept": "application/json"}},
                "response": {
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"id": i, "status": "open", "createdAt": "2024-05-01T10:00:00Z",
                             "customer": {"id": 1000 + i, "email": format!("c{i}@example.com")},
                             "lines": lines},
                    "matchingRules": {"body": {
                        "$.id": {"matchers": [{"match": "integer"}]},
                        "$.status": {"matchers": [{"match": "regex", "regex": "^(open|closed)$"}]},
                        "$.createdAt": {"matchers": [{"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ss'Z'"}]},
                        "$.customer.email": {"matchers": [{"match": "regex", "regex": "^[^@]+@[^@]+$"}]},
                        "$.lines": {"matchers": [{"match": "type", "min": 1}]},
                        "$.lines[*].sku": {"matchers": [{"match": "regex", "regex": "^SKU-\\d+-\\d+$"}]},
                        "$.lines[*].quantity": {"matchers": [{"match": "integer"}]}
                    }}
                }
            })
        })
        .collect();
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "3.0.0"}}
    })
}

/// Runs one scenario: `request(i)` for i = 0.. until `count` samples or `max` time,
/// timing only the future it returns (building the request is the client's work),
/// after `warmup` requests that are not counted (and stop early past `max` too). A failed
/// request ends the scenario with a line saying so; the others still run.
async fn scenario<F, Fut>(
    name: &str,
    warmup: usize,
    count: usize,
    max: Duration,
    mut request: F,
) -> Option<Summary>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    for i in 0..warmup {
        if let Err(err) = request(i).await {
            println!("{name:<44} FAILED during warm-up: {err:#}");
            return None;
        }
        if started.elapsed() > max {
            break;
        }
    }
    let mut samples = Vec::with_capacity(count);
    let started = Instant::now();
    for i in warmup..warmup + count {
        // The request is built before the clock starts: only the broker's answer is timed.
        let pending = request(i);
        let t = Instant::now();
        if let Err(err) = pending.await {
            println!(
                "{name:<44} FAILED after {} requests: {err:#}",
                samples.len()
            );
            break;
        }
        samples.push(t.elapsed());
        if started.elapsed() > max {
            break;
        }
    }
    let summary = Summary::of(&samples)?;
    println!("{}", summary.line(name));
    Some(summary)
}

async fn expect_ok(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{what} answered {status}: {body}");
    }
    Ok(body)
}

pub async fn run(bench: BrokerBench) -> anyhow::Result<()> {
    let shape = bench.shape;
    println!(
        "broker on {} — {} pacticipants x {} versions, {} verification results",
        redact(&bench.database_url),
        shape.pacticipants,
        shape.versions,
        shape.verifications
    );

    // Cold starts: process start to the first 200 from the heartbeat.
    let mut starts = Vec::new();
    for _ in 0..bench.cold_starts {
        let (mut broker, started) = Broker::start(&bench)?;
        starts.push(broker.wait_ready(started).await?);
        broker.stop()?;
    }
    if let Some(summary) = Summary::of(&starts) {
        println!("{}", summary.line("cold start (spawn -> heartbeat 200)"));
    }

    let (mut broker, started) = Broker::start(&bench)?;
    broker.wait_ready(started).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = broker.rss()?;
    println!(
        "idle RSS after start: {:.1} MB ({:.1} MB anonymous, {:.1} MB file-backed)",
        idle.rss, idle.anon, idle.file
    );

    let result = load(&bench, &broker.base).await;
    let after = broker.rss()?;
    println!(
        "RSS after the load: {:.1} MB (peak {:.1} MB; {:.1} MB anonymous, {:.1} MB file-backed: \
         the binary and, on SQLite, the database pages read through its memory map, \
         which the kernel shares and can drop)",
        after.rss, after.peak, after.anon, after.file
    );
    broker.stop()?;
    result
}

async fn load(bench: &BrokerBench, base: &str) -> anyhow::Result<()> {
    let shape = bench.shape;
    let client = &reqwest::Client::builder()
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS))
        .build()?;
    let max = Duration::from_secs(bench.max_seconds);
    let latest = Shape::version_number(shape.latest_main_version());
    let hub_count = (bench.requests / 5).max(20);

    let mut picker = Picker(0x9E37_79B9_7F4A_7C15);
    let answers = &[Cell::new(0usize), Cell::new(0), Cell::new(0)];
    let targets = &(0..bench.requests + 20)
        .map(|_| picker.ordinary(&shape))
        .collect::<Vec<usize>>();
    let latest = &latest;
    if bench.runs("can-i-deploy") {
        scenario(
            "can-i-deploy (one pacticipant)",
            10,
            bench.requests,
            max,
            move |i| async move {
                let url = can_i_deploy_url(base, &Shape::name(targets[i]), latest)?;
                let body = expect_ok(client.get(url).send().await?, "GET /matrix").await?;
                let slot = match body.pointer("/summary/deployable") {
                    Some(Value::Bool(true)) => 0,
                    Some(Value::Bool(false)) => 1,
                    _ => 2,
                };
                answers[slot].set(answers[slot].get() + 1);
                Ok(())
            },
        )
        .await;
        println!(
            "  answers: {} deployable, {} not deployable, {} unknown",
            answers[0].get(),
            answers[1].get(),
            answers[2].get()
        );
    }

    let body = &for_verification_body();
    if bench.runs("for-verification") {
        let pacts = &Cell::new(0usize);
        let asked = &Cell::new(0usize);
        scenario(
            "for-verification (one provider)",
            10,
            bench.requests,
            max,
            move |i| async move {
                let url = format!(
                    "{base}/pacts/provider/{}/for-verification",
                    Shape::name(targets[i])
                );
                let answer = expect_ok(
                    client.post(url).json(body).send().await?,
                    "POST for-verification",
                )
                .await?;
                let found = answer
                    .pointer("/_embedded/pacts")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                pacts.set(pacts.get() + found);
                asked.set(asked.get() + 1);
                Ok(())
            },
        )
        .await;
        println!(
            "  {:.1} pacts to verify per answer on average",
            pacts.get() as f64 / asked.get().max(1) as f64
        );
    }

    // Publishing: a new consumer version with new 50 KB content each time.
    if bench.runs("publish") {
        let run = chrono::Utc::now().timestamp_millis();
        let sample = large_pact("svc-0001", "svc-0002", "size check").to_string();
        println!(
            "  publish pact size: {:.1} KB",
            sample.len() as f64 / 1024.0
        );
        scenario(
            "publish a 50 KB pact (POST /contracts/publish)",
            10,
            bench.requests,
            max,
            move |i| {
                let p = targets[i];
                let consumer = Shape::name(p);
                let provider = Shape::name((p + 1) % shape.pacticipants);
                let pact = large_pact(&consumer, &provider, &format!("run {run} publish {i}"));
                let body = serde_json::to_vec(&json!({
                "pacticipantName": consumer,
                "pacticipantVersionNumber": format!("bench-{run}-{i}"),
                "branch": "main",
                "buildUrl": format!("https://ci.example.com/bench/{run}/{i}"),
                "contracts": [{
                    "consumerName": consumer,
                    "providerName": provider,
                    "specification": "pact",
                    "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string()),
                }]
            }))
            .expect("a JSON value serialises");
                async move {
                    expect_ok(
                        client
                            .post(format!("{base}/contracts/publish"))
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body)
                            .send()
                            .await?,
                        "POST /contracts/publish",
                    )
                    .await?;
                    Ok(())
                }
            },
        )
        .await;
    }

    // The hub next to last: its answers can take longer than the broker's request
    // timeout, and work the broker may still be doing after a 408 must not slow the
    // other scenarios.
    if bench.runs("hub") {
        hub(bench, client, base, body, latest, hub_count, max).await;
    }
    // Retention last: it deletes part of the history the other scenarios read.
    if bench.runs("retention") {
        retention(bench, client, base).await?;
    }
    Ok(())
}

/// How long writes wait while a retention run deletes old versions: tag writes one
/// after another, before the run and during it.
async fn retention(
    bench: &BrokerBench,
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<()> {
    let shape = bench.shape;
    let tag = |i: usize| {
        let p = 1 + i % (shape.pacticipants - 1);
        format!(
            "{base}/pacticipants/{}/versions/{}/tags/bench-retention-{i}",
            Shape::name(p),
            Shape::version_number(shape.latest_main_version())
        )
    };
    let write = |i: usize| {
        let url = tag(i);
        async move {
            let started = Instant::now();
            let response = client.put(url).json(&json!({})).send().await?;
            if !response.status().is_success() {
                bail!("PUT tag answered {}", response.status());
            }
            anyhow::Ok(started.elapsed())
        }
    };
    let mut quiet = Vec::new();
    for i in 0..50 {
        quiet.push(write(i).await?);
    }
    if let Some(summary) = Summary::of(&quiet) {
        println!("{}", summary.line("tag write, no retention run"));
    }
    // Runs audited so far: a run whose request times out has finished when there is one
    // more (its audit entry is written by its last transaction).
    let audited = |client: reqwest::Client, base: String| async move {
        let audit: Value = client
            .get(format!("{base}/audit?path=/admin/retention"))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(audit.pointer("/page/totalElements").and_then(Value::as_u64))
    };
    let before = audited(client.clone(), base.to_string()).await?;
    let run = {
        let client = client.clone();
        let base = base.to_string();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .post(format!("{base}/admin/retention"))
                .json(&json!({}))
                .send()
                .await?;
            let status = response.status();
            if status == reqwest::StatusCode::REQUEST_TIMEOUT {
                // The run outlives its request.
                loop {
                    if audited(client.clone(), base.clone()).await? > before {
                        return anyhow::Ok((started.elapsed(), Value::Null));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            let text = response.text().await?;
            if !status.is_success() {
                bail!("POST /admin/retention answered {status}: {text}");
            }
            anyhow::Ok((started.elapsed(), serde_json::from_str(&text)?))
        })
    };
    let mut during = Vec::new();
    let mut i = 50;
    while !run.is_finished() {
        during.push(write(i).await?);
        i += 1;
    }
    let (took, body) = run.await??;
    if body.is_null() {
        println!(
            "retention run: {:.2} s (the request timed out first; the run finished on its own)",
            took.as_secs_f64()
        );
    } else {
        let count = |name: &str| body.pointer(&format!("/counts/{name}")).cloned();
        println!(
            "retention run: {:.2} s, {} versions deleted ({} publications, {} contents, {} \
             results; at most {RETENTION_DELETIONS} per run)",
            took.as_secs_f64(),
            count("versions").unwrap_or_default(),
            count("pactPublications").unwrap_or_default(),
            count("pactVersions").unwrap_or_default(),
            count("verifications").unwrap_or_default(),
        );
    }
    match Summary::of(&during) {
        Some(summary) => println!("{}", summary.line("tag write, during the retention run")),
        None => println!("tag write, during the retention run: none finished before it"),
    }
    Ok(())
}

async fn hub(
    bench: &BrokerBench,
    client: &reqwest::Client,
    base: &str,
    body: &Value,
    latest: &str,
    hub_count: usize,
    max: Duration,
) {
    let shape = bench.shape;
    let hub = format!("the hub, {} consumers", shape.pacticipants - 1);
    scenario(
        &format!("can-i-deploy ({hub})"),
        1,
        hub_count,
        max,
        move |_| {
            let url = can_i_deploy_url(base, &Shape::name(0), latest);
            async move {
                expect_ok(client.get(url?).send().await?, "GET /matrix").await?;
                Ok(())
            }
        },
    )
    .await;
    scenario(
        &format!("for-verification ({hub})"),
        1,
        hub_count,
        max,
        move |_| {
            let url = format!("{base}/pacts/provider/{}/for-verification", Shape::name(0));
            async move {
                expect_ok(
                    client.post(url).json(body).send().await?,
                    "POST for-verification",
                )
                .await?;
                Ok(())
            }
        },
    )
    .await;
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
