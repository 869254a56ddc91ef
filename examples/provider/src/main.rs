//! Runs the example provider: `example-provider --port 8000 [--breaking] [--date-format unix]`.

use clap::Parser;
use example_provider::{AppState, Behaviour, DateFormat};

/// The example orders service.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EXAMPLE_PROVIDER_BIND", default_value = "127.0.0.1:8000")]
    bind: String,
    /// Serve a breaking change: `status` renamed to `state`.
    #[arg(long, env = "EXAMPLE_PROVIDER_BREAKING")]
    breaking: bool,
    /// How `createdAt` is serialised: `iso8601` (what consumers expect) or `unix` (drift).
    #[arg(long, env = "EXAMPLE_PROVIDER_DATE_FORMAT", default_value = "iso8601", value_parser = parse_format)]
    date_format: DateFormat,
    /// Publish order.created events to this RabbitMQ (amqp://user:pass@host:port/vhost) ...
    #[arg(
        long,
        env = "EXAMPLE_PROVIDER_AMQP_URL",
        hide_env_values = true,
        requires = "amqp_exchange"
    )]
    amqp_url: Option<String>,
    /// ... on this topic exchange (declared if missing), routing key `order.created`.
    #[arg(long, env = "EXAMPLE_PROVIDER_AMQP_EXCHANGE")]
    amqp_exchange: Option<String>,
    /// Publish order.created events to this Kafka bootstrap server (HOST:PORT) ...
    #[arg(long, env = "EXAMPLE_PROVIDER_KAFKA", requires = "kafka_topic")]
    kafka: Option<String>,
    /// ... on this topic (created if missing).
    #[arg(long, env = "EXAMPLE_PROVIDER_KAFKA_TOPIC")]
    kafka_topic: Option<String>,
    /// How often to publish an order.created event (of order 1), e.g. 500ms.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    publish_every: std::time::Duration,
}

fn parse_format(value: &str) -> Result<DateFormat, String> {
    match value {
        "iso8601" => Ok(DateFormat::Iso8601),
        "unix" => Ok(DateFormat::Unix),
        other => Err(format!(
            "unknown date format {other:?}: use iso8601 or unix"
        )),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let behaviour = if args.breaking {
        Behaviour::Breaking
    } else {
        Behaviour::Correct
    };
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", args.bind))?;
    println!(
        "example provider listening on http://{}",
        listener.local_addr()?
    );
    let state = AppState::new(behaviour, args.date_format);
    let mut publishers = Vec::new();
    if let (Some(url), Some(exchange)) = (&args.amqp_url, &args.amqp_exchange) {
        publishers.push(example_provider::events::Publisher::amqp(url, exchange).await?);
        println!("publishing order.created to exchange {exchange}");
    }
    if let (Some(bootstrap), Some(topic)) = (&args.kafka, &args.kafka_topic) {
        publishers.push(example_provider::events::Publisher::kafka(bootstrap, topic).await?);
        println!("publishing order.created to kafka topic {topic}");
    }
    if !publishers.is_empty() {
        tokio::spawn(example_provider::events::publish_every(
            state.clone(),
            publishers,
            args.publish_every,
        ));
    }
    example_provider::serve(listener, state).await?;
    Ok(())
}
