//! `accord mock`, `accord stub` and `accord record`: thin entry points over the servers of
//! `accord-mock-server`. Each parses its flags into the library's config, builds the server,
//! prints one line `accord <command> listening on <url>` to stdout (so scripts can find a port
//! chosen with `--port 0`), and serves until Ctrl-C or SIGTERM.
//!
//! Exit codes: 0 after a clean stop; 2 when the server cannot start (port in use, target down,
//! pact file not writable at the end); 64 for bad input (a pact that cannot be loaded, a flag
//! that does not parse).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use accord_mock_server::admin::{MockApplication, MockConfig, parse_specification};
use accord_mock_server::browser::{AllowedOrigin, AllowedOrigins};
use accord_mock_server::record::{RecordApplication, RecordConfig};
use accord_mock_server::stub::{StubApplication, StubConfig};
use accord_mock_server::{Error, PactFileOptions, PactSpecification};
use clap::Args;

use super::serve::{MockServeArgs, RecordServeArgs, StubServeArgs};
use super::{EXIT_RUNTIME, EXIT_USAGE};

fn parse_spec(text: &str) -> Result<PactSpecification, String> {
    parse_specification(text).ok_or_else(|| format!("{text:?} is not one of V2, V3, V4"))
}

/// Where to listen.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on.
    #[arg(long, env = "ACCORD_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
}

/// How pact files are written.
#[derive(Debug, Args)]
pub struct PactOutputArgs {
    /// Directory the pact file is written to (merged with a pact of the same pair already there).
    #[arg(long, env = "PACT_DIR", default_value = "target/pacts")]
    pact_dir: PathBuf,

    /// Pact specification version to write: V2, V3 or V4.
    #[arg(long, env = "ACCORD_PACT_SPEC", default_value = "V3", value_parser = parse_spec)]
    pact_spec: PactSpecification,
}

impl PactOutputArgs {
    fn options(&self) -> PactFileOptions {
        PactFileOptions {
            dir: self.pact_dir.clone(),
            specification: self.pact_spec,
        }
    }
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Port to listen on; 0 picks a free port (the chosen URL is printed).
    #[arg(long, env = "ACCORD_MOCK_PORT", default_value_t = 0)]
    port: u16,

    #[command(flatten)]
    listen: ListenArgs,

    /// Consumer name written in the pact (the admin API can override it when writing).
    #[arg(long, env = "ACCORD_MOCK_CONSUMER", default_value = "consumer")]
    consumer: String,

    /// Provider name written in the pact (the admin API can override it when writing).
    #[arg(long, env = "ACCORD_MOCK_PROVIDER", default_value = "provider")]
    provider: String,

    #[command(flatten)]
    output: PactOutputArgs,

    /// Do not answer CORS preflight requests or add CORS headers (they are on by default, for
    /// tests running in a browser, for loopback origins and those given with --cors-origin).
    #[arg(long, env = "ACCORD_MOCK_NO_CORS")]
    no_cors: bool,

    /// A web origin besides the loopback ones (localhost, 127.0.0.0/8, [::1]) allowed to use
    /// the mock from a browser and to drive its admin API, such as https://app.test:8443.
    /// Repeat for several; * allows every origin, without credentials.
    #[arg(
        long,
        env = "ACCORD_MOCK_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    cors_origin: Vec<AllowedOrigin>,

    #[command(flatten)]
    serve: MockServeArgs,
}

#[derive(Debug, Args)]
pub struct StubArgs {
    /// Pact files or http(s) URLs of pacts to serve.
    #[arg(required = true, env = "ACCORD_STUB_PACTS", value_delimiter = ',')]
    pacts: Vec<String>,

    /// Port to listen on; 0 picks a free port (the chosen URL is printed).
    #[arg(long, env = "ACCORD_STUB_PORT", default_value_t = 0)]
    port: u16,

    #[command(flatten)]
    listen: ListenArgs,

    /// Request header naming the provider state to answer from when several interactions match.
    #[arg(
        long,
        env = "ACCORD_STUB_STATE_HEADER",
        default_value = "X-Accord-State"
    )]
    state_header: String,

    /// Do not answer CORS preflight requests or add CORS headers (on by default for loopback
    /// origins and those given with --cors-origin).
    #[arg(long, env = "ACCORD_STUB_NO_CORS")]
    no_cors: bool,

    /// A web origin besides the loopback ones (localhost, 127.0.0.0/8, [::1]) allowed to read
    /// the stub's answers from a browser, such as https://app.test:8443. Repeat for several; *
    /// allows every origin, without credentials.
    #[arg(
        long,
        env = "ACCORD_STUB_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    cors_origin: Vec<AllowedOrigin>,

    #[command(flatten)]
    serve: StubServeArgs,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Base URL of the real provider to forward requests to.
    #[arg(long, env = "ACCORD_RECORD_TARGET", hide_env_values = true)]
    target: url::Url,

    /// Port to listen on; 0 picks a free port (the chosen URL is printed).
    #[arg(long, env = "ACCORD_RECORD_PORT", default_value_t = 0)]
    port: u16,

    #[command(flatten)]
    listen: ListenArgs,

    /// Consumer name written in the pact.
    #[arg(long, env = "ACCORD_RECORD_CONSUMER")]
    consumer: String,

    /// Provider name written in the pact.
    #[arg(long, env = "ACCORD_RECORD_PROVIDER")]
    provider: String,

    #[command(flatten)]
    output: PactOutputArgs,

    /// Turn the concrete values of JSON bodies into type matchers (the pact keeps the shape, not
    /// the data).
    #[arg(long, env = "ACCORD_RECORD_TYPE_MATCHERS")]
    type_matchers: bool,

    #[command(flatten)]
    serve: RecordServeArgs,
}

/// Prints the line scripts wait for, and flushes it at once.
fn announce(command: &str, url: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "accord {command} listening on {url}");
    let _ = stdout.flush();
}

/// Reports a failure to start and picks the exit code.
fn fail(err: Error) -> ExitCode {
    eprintln!(
        "error: {}",
        accord_contract::redact::redact_urls(&err.to_string())
    );
    match err {
        Error::Contract(_) | Error::NotHttp { .. } | Error::StateHeader { .. } => {
            ExitCode::from(EXIT_USAGE)
        }
        _ => ExitCode::from(EXIT_RUNTIME),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn run_mock(args: MockArgs) -> anyhow::Result<ExitCode> {
    let config = MockConfig {
        addr: SocketAddr::new(args.listen.host, args.port),
        consumer: args.consumer,
        provider: args.provider,
        pact: args.output.options(),
        cors: !args.no_cors,
        allowed_origins: AllowedOrigins::new(args.cors_origin),
        serve: args.serve.options(),
    };
    let app = match MockApplication::build(config).await {
        Ok(app) => app,
        Err(err) => return Ok(fail(err)),
    };
    announce("mock", &app.url());
    tokio::select! {
        result = app.run_until_stopped() => {
            result?;
        }
        _ = stop_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_stub(args: StubArgs) -> anyhow::Result<ExitCode> {
    let config = StubConfig {
        addr: SocketAddr::new(args.listen.host, args.port),
        pacts: args.pacts,
        state_header: args.state_header,
        cors: !args.no_cors,
        allowed_origins: AllowedOrigins::new(args.cors_origin),
        serve: args.serve.options(),
    };
    let app = match StubApplication::build(config).await {
        Ok(app) => app,
        Err(err) => return Ok(fail(err)),
    };
    tracing::info!(interactions = app.interaction_count(), "serving pacts");
    announce("stub", &app.url());
    tokio::select! {
        result = app.run_until_stopped() => {
            result?;
        }
        _ = stop_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let config = RecordConfig {
        addr: SocketAddr::new(args.listen.host, args.port),
        target: args.target,
        consumer: args.consumer,
        provider: args.provider,
        pact: args.output.options(),
        type_matchers: args.type_matchers,
        serve: args.serve.options(),
    };
    let app = match RecordApplication::build(config).await {
        Ok(app) => app,
        Err(err) => return Ok(fail(err)),
    };
    announce("record", &app.url());
    stop_signal().await;
    let recorded = app.recorded();
    let written = app.write_pact().await;
    app.stop().await;
    match written {
        Ok(path) => {
            eprintln!(
                "accord record wrote {recorded} interaction(s) to {}",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Ok(fail(err)),
    }
}
