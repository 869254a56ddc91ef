//! `accord-bench`: the tools behind the benchmark scripts in `bench/`.
//!
//! - `seed` fills a fresh broker database (SQLite or PostgreSQL) with a deterministic
//!   history; `pg-create`/`pg-drop` make and remove the PostgreSQL database for it;
//! - `broker` measures a running `accord broker` on that data (cold start, idle memory,
//!   can-i-deploy, pacts for verification, publishing);
//! - `provider` serves a fast provider for the verifier and monitor benchmarks, and
//!   `pact` writes the pacts they use;
//! - `monitor-derive` and `monitor-probe` time the monitor inside one process.
//!
//! Every loop is bounded by a count and a time limit, and everything binds loopback only.
//! Results go to stdout, one line per figure.

mod broker;
mod contracts;
mod events;
mod message_test;
mod monitor;
mod pacts;
mod provider;
mod seed;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::seed::Shape;

#[derive(Debug, Parser)]
#[command(
    name = "accord-bench",
    about = "Benchmark tools for Accord (see bench/ and BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// The seeded data's size; the defaults are the "1x" data set.
#[derive(Debug, Clone, Copy, clap::Args)]
struct ShapeArgs {
    /// Pacticipants.
    #[arg(long, env = "BENCH_PACTICIPANTS", default_value_t = 200)]
    pacticipants: usize,
    /// Versions per pacticipant.
    #[arg(long, env = "BENCH_VERSIONS", default_value_t = 1000)]
    versions: usize,
    /// Verification results in all.
    #[arg(long, env = "BENCH_VERIFICATIONS", default_value_t = 100_000)]
    verifications: usize,
}

impl ShapeArgs {
    fn shape(self) -> Shape {
        Shape {
            pacticipants: self.pacticipants.max(3),
            versions: self.versions.max(1),
            verifications: self.verifications,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Seeds a fresh broker database.
    Seed {
        /// `sqlite://path` or `postgres://...`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// Creates (dropping any old one) a PostgreSQL database and prints its URL.
    PgCreate {
        /// A URL of the server to connect to for CREATE DATABASE.
        #[arg(long, env = "BENCH_PG_ADMIN_URL")]
        admin_url: String,
        #[arg(long)]
        name: String,
    },
    /// Drops a PostgreSQL database.
    PgDrop {
        #[arg(long, env = "BENCH_PG_ADMIN_URL")]
        admin_url: String,
        #[arg(long)]
        name: String,
    },
    /// Measures `accord broker` on a seeded database.
    Broker {
        /// The `accord` binary.
        #[arg(long, env = "BENCH_ACCORD")]
        accord: String,
        #[arg(long, env = "BENCH_DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        shape: ShapeArgs,
        /// Requests per scenario (the hub scenarios send a fifth of this).
        #[arg(long, default_value_t = 300)]
        requests: usize,
        /// Time limit per scenario, in seconds.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
        /// Cold starts to time.
        #[arg(long, default_value_t = 10)]
        cold_starts: usize,
        /// Only these scenarios (comma-separated: can-i-deploy, for-verification,
        /// publish, hub, retention); all of them when not given. Retention runs last:
        /// it deletes part of the history.
        #[arg(long, env = "BENCH_SCENARIOS", value_delimiter = ',', value_parser = ["can-i-deploy", "for-verification", "publish", "hub", "retention"])]
        scenarios: Vec<String>,
        /// The broker's `--log` filter; its logs go to this command's standard error
        /// (with `ACCORD_LOG_SPAN_TIMINGS=true` each request and store call is timed).
        #[arg(long, env = "BENCH_BROKER_LOG", default_value = "warn")]
        broker_log: String,
    },
    /// Serves the bench provider on 127.0.0.1.
    Provider {
        /// 0 picks a free port; the URL is printed.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Delay before each item answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Stop after this many seconds at the latest.
        #[arg(long, default_value_t = 1800)]
        max_seconds: u64,
    },
    /// Writes a pact of GET /items/{i} interactions to stdout.
    Pact {
        #[arg(long, default_value = "bench-consumer")]
        consumer: String,
        #[arg(long, default_value = "bench-provider")]
        provider: String,
        #[arg(long)]
        interactions: usize,
        /// Give every interaction a provider state.
        #[arg(long)]
        states: bool,
        /// Write a V3 message pact (`messages`) instead of HTTP interactions.
        #[arg(long)]
        messages: bool,
    },
    /// Times event drift checking: events per second on one thread, 20 event types.
    EventCheck {
        #[arg(long, default_value_t = 500_000)]
        events: u64,
    },
    /// Times a consumer message test with the Rust builder, from declaring the message to
    /// the pact written (a fresh pact file each run), and prints p50/p99.
    MessageTest {
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Times schema derivation and monitor preparation for a pact.
    MonitorDerive {
        #[arg(long)]
        pact: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Times checking a pact against a generated OpenAPI document (about 1.1 KB a resource).
    ContractCheck {
        #[arg(long, default_value_t = 900)]
        resources: usize,
        #[arg(long, default_value_t = 200)]
        interactions: usize,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Times checking a message pact against a generated AsyncAPI document.
    ContractCheckEvents {
        #[arg(long, default_value_t = 900)]
        resources: usize,
        #[arg(long, default_value_t = 200)]
        messages: usize,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Times publishing a provider contract to a broker whose provider has many consumers.
    ContractPublish {
        /// The `accord` binary.
        #[arg(long, env = "BENCH_ACCORD")]
        accord: String,
        #[arg(long, default_value_t = 50)]
        consumers: usize,
        #[arg(long, default_value_t = 900)]
        resources: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Times complete monitor checks against a provider.
    MonitorProbe {
        #[arg(long)]
        pact: PathBuf,
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Seed {
            database_url,
            shape,
        } => seed::seed(&database_url, shape.shape()).await,
        Cmd::PgCreate { admin_url, name } => {
            println!("{}", seed::fresh_postgres(&admin_url, &name).await?);
            Ok(())
        }
        Cmd::PgDrop { admin_url, name } => seed::drop_postgres(&admin_url, &name).await,
        Cmd::ContractCheck {
            resources,
            interactions,
            runs,
        } => contracts::check(resources, interactions, runs),
        Cmd::ContractCheckEvents {
            resources,
            messages,
            runs,
        } => contracts::check_events(resources, messages, runs),
        Cmd::ContractPublish {
            accord,
            consumers,
            resources,
            runs,
        } => contracts::publish(&accord, consumers, resources, runs).await,
        Cmd::Broker {
            accord,
            database_url,
            shape,
            requests,
            max_seconds,
            cold_starts,
            scenarios,
            broker_log,
        } => {
            broker::run(broker::BrokerBench {
                accord,
                database_url,
                shape: shape.shape(),
                requests,
                max_seconds,
                cold_starts,
                scenarios,
                broker_log,
            })
            .await
        }
        Cmd::Provider {
            port,
            delay_ms,
            max_seconds,
        } => provider::run(port, Duration::from_millis(delay_ms), max_seconds).await,
        Cmd::Pact {
            consumer,
            provider,
            interactions,
            states,
            messages,
        } => {
            let pact = if messages {
                pacts::items_message_pact(&consumer, &provider, interactions, states)
            } else {
                pacts::items_pact(&consumer, &provider, interactions, states)
            };
            println!("{}", serde_json::to_string_pretty(&pact)?);
            Ok(())
        }
        Cmd::EventCheck { events } => events::run(events),
        Cmd::MessageTest { runs } => message_test::run(runs.max(1)).await,
        Cmd::MonitorDerive { pact, runs } => monitor::derive(&pact, runs.max(1)),
        Cmd::MonitorProbe {
            pact,
            base_url,
            concurrency,
            runs,
        } => monitor::probe(&pact, &base_url, concurrency, runs.max(1)).await,
    }
}
