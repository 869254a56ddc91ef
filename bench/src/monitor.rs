//! Monitor timings inside one process: schema derivation for a pact, preparing a monitor
//! (derivation, compiling the JSON Schema validators, planning the probes), and one check
//! (every probe sent and its answer checked) against a running provider.

use std::path::Path;
use std::time::{Duration, Instant};

use accord_contract::Contract;
use accord_monitor::config::MonitorConfig;
use accord_monitor::{Monitor, Outcome, schema};
use anyhow::{Context, bail};

use crate::stats::Summary;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

pub fn derive(pact: &Path, runs: usize) -> anyhow::Result<()> {
    let mut parse = Vec::new();
    let mut derive = Vec::new();
    let mut prepare = Vec::new();
    let config = MonitorConfig::new(url::Url::parse("http://127.0.0.1:9")?);
    let mut interactions = 0;
    for _ in 0..runs {
        let (contract, d) = timed(|| Contract::from_file(pact));
        let contract = contract.with_context(|| format!("reading {}", pact.display()))?;
        parse.push(d);
        let (derived, d) = timed(|| schema::derive_pact(&contract));
        derive.push(d);
        interactions = derived.interactions.len();
        let (monitor, d) =
            timed(|| Monitor::from_contracts(std::slice::from_ref(&contract), config.clone()));
        monitor?;
        prepare.push(d);
    }
    println!(
        "pact {} with {interactions} interactions, {runs} runs",
        pact.display()
    );
    for (name, samples) in [
        ("load the pact file (Contract::from_file)", &parse),
        ("schema::derive_pact", &derive),
        (
            "Monitor::from_contracts (derive + compile + plan)",
            &prepare,
        ),
    ] {
        println!("{}", Summary::of(samples).context("no runs")?.line(name));
    }
    Ok(())
}

pub async fn probe(
    pact: &Path,
    base_url: &str,
    concurrency: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let contract =
        Contract::from_file(pact).with_context(|| format!("reading {}", pact.display()))?;
    let mut config = MonitorConfig::new(url::Url::parse(base_url)?);
    config.probe.concurrency = concurrency;
    let monitor = Monitor::from_contracts(&[contract], config)?;
    let mut checks = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let report = monitor.check().await;
        checks.push(started.elapsed());
        if report.outcome() != Outcome::Clean {
            bail!("run {run}: the check was not clean:\n{}", report.to_table());
        }
        if run == 0 {
            println!(
                "{} probes, {} interactions checked, concurrency {concurrency}",
                report.probes, report.interactions_checked
            );
        }
    }
    println!(
        "{}",
        Summary::of(&checks)
            .context("no runs")?
            .line("Monitor::check (all probes)")
    );
    Ok(())
}
