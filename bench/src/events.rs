//! Event drift checking throughput: `accord-bench event-check` derives the expectations of a
//! pact with 20 event types (structured CloudEvents of about 1 KB, 17 matchers each: the envelope's two and the item's 15), then
//! times `EventRun::observe` over generated events (a tenth of them drifted) on one thread,
//! and reports events per second and the process's peak memory.

use std::time::Instant;

use accord_contract::Contract;
use accord_monitor::events::{EventContracts, EventRun, SampledEvent};
use serde_json::{Value, json};

use crate::provider::item;

const TYPES: u64 = 20;

fn envelope(kind: u64, n: u64, drifted: bool) -> Value {
    let mut data = item(n);
    if drifted {
        data["createdAt"] = json!(1_714_557_600);
    }
    json!({
        "specversion": "1.0",
        "type": format!("com.example.item.event{kind}"),
        "source": "/items",
        "id": format!("event-{n}"),
        "time": "2026-12-04T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    })
}

fn pact() -> Value {
    // The item's rules, moved under the envelope's `data`, plus the envelope's own.
    let mut rules = json!({
        "$.id": {"matchers": [{"match": "regex", "regex": "^\\S.*$"}]},
        "$.time": {"matchers": [{"match": "regex", "regex": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$"}]}
    });
    if let (Value::Object(rules), Value::Object(item)) = (&mut rules, crate::pacts::item_rules()) {
        for (path, rule) in item {
            if let Some(rest) = path.strip_prefix("$.")
                && path != "$.links.self"
            {
                rules.insert(format!("$.data.{rest}"), rule);
            }
        }
    }
    let messages: Vec<Value> = (0..TYPES)
        .map(|kind| {
            json!({
                "description": format!("an item event {kind}"),
                "contents": envelope(kind, 0, false),
                "metadata": {"contentType": "application/cloudevents+json", "kafka_topic": "items"},
                "matchingRules": {"body": rules.clone()}
            })
        })
        .collect();
    json!({"consumer": {"name": "bench-consumer"}, "provider": {"name": "bench-provider"},
           "messages": messages, "metadata": {"pactSpecification": {"version": "3.0.0"}}})
}

pub fn run(events: u64) -> anyhow::Result<()> {
    let contract = Contract::from_json(pact(), "bench")?;
    let contracts = EventContracts::from_contracts(&[contract]);
    // Distinct payloads, prepared before timing: the loop measures the check, not the
    // generator.
    let samples: Vec<SampledEvent> = (0..1000u64)
        .map(|n| SampledEvent {
            source: String::new(),
            location: format!("kafka topic items partition 0 offset {n}"),
            channel: Some("items".into()),
            headers: Default::default(),
            payload: envelope(n % TYPES, n, n % 10 == 0).to_string().into_bytes(),
        })
        .collect();
    let size: usize = samples.iter().map(|s| s.payload.len()).sum::<usize>() / samples.len();
    let mut run = EventRun::new(contracts, "bench-provider", None, vec!["bench".into()]);
    let started = Instant::now();
    for n in 0..events {
        run.observe(&samples[(n % 1000) as usize]);
    }
    let elapsed = started.elapsed();
    let report = run.report();
    println!(
        "event check: {events} events of {TYPES} types (about {size} bytes each, 1 in 10 drifted) in {:.3} s on one thread: {:.0} events/s; {} findings; peak RSS {} MB",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        report.findings.len(),
        peak_rss_mb()
    );
    Ok(())
}

/// The process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or_default()
}
