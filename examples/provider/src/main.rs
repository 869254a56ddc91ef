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
    example_provider::serve(listener, AppState::new(behaviour, args.date_format)).await?;
    Ok(())
}
