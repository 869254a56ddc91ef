//! The `accord` command line: one binary for every part of Accord.
//!
//! Each subcommand lives in its own module under `cmd/`, parses its flags with
//! clap (every flag can also come from an environment variable) and returns the
//! process exit code. Only this crate prints to stdout.

mod cmd;
mod logging;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// mimalloc instead of the system allocator: the broker and the mock servers allocate
/// and free many short-lived buffers per request (a 50 KB pact is decoded, parsed and
/// written several times over), which the system allocator serves more slowly and
/// with longer pauses when it returns memory to the operating system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Consumer-driven contract testing: mock provider, broker, verifier and drift monitor.
#[derive(Debug, Parser)]
#[command(name = "accord", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    logging: logging::LogArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a standalone mock provider driven over an HTTP admin API.
    Mock(cmd::mock::MockArgs),
    /// Serve one or more pact files as a stub provider.
    Stub(cmd::mock::StubArgs),
    /// Proxy a real provider and record the traffic into a pact file.
    Record(cmd::mock::RecordArgs),
    /// Run the contract broker (Pact Broker compatible HTTP API).
    Broker(Box<cmd::broker::BrokerArgs>),
    /// Publish pact files to a broker.
    Publish(cmd::publish::PublishArgs),
    /// Publish a provider's OpenAPI or AsyncAPI document; the broker checks the consumers' pacts against it.
    PublishProviderContract(Box<cmd::provider_contract::PublishProviderContractArgs>),
    /// Say which consumers a change to a provider's OpenAPI or AsyncAPI document breaks.
    DiffSpec(Box<cmd::provider_contract::DiffSpecArgs>),
    /// Say what changed between two versions of a pact, from the provider's side.
    DiffPact(cmd::provider_contract::DiffPactArgs),
    /// Ask the broker whether a pacticipant version can be deployed.
    CanIDeploy(cmd::can_i_deploy::CanIDeployArgs),
    /// Create an environment in the broker.
    CreateEnvironment(cmd::deployments::CreateEnvironmentArgs),
    /// Record that a pacticipant version was deployed to an environment.
    RecordDeployment(cmd::deployments::RecordDeploymentArgs),
    /// Record that a pacticipant version was released to an environment.
    RecordRelease(cmd::deployments::RecordReleaseArgs),
    /// Describe a pacticipant version known to the broker.
    DescribeVersion(cmd::describe_version::DescribeVersionArgs),
    /// Copy an existing Pact Broker's history into an Accord broker.
    Import(Box<cmd::import::ImportArgs>),
    /// Create, list and revoke the broker's scoped API tokens.
    Token(cmd::token::TokenArgs),
    /// Verify a provider against its contracts.
    Verify(cmd::verify::VerifyArgs),
    /// Probe a running provider and report drift from its contracts.
    Monitor(Box<cmd::monitor::MonitorArgs>),
}

/// The command line, with can-i-deploy's version flags paired with their pacticipants
/// (which needs the positions clap saw them at).
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Command::CanIDeploy(args) = &mut cli.command
        && let Some(("can-i-deploy", sub)) = matches.subcommand()
    {
        args.pair_up(sub).map_err(
            |message| match command.find_subcommand_mut("can-i-deploy") {
                Some(sub) => sub.error(clap::error::ErrorKind::ArgumentConflict, message),
                None => command.error(clap::error::ErrorKind::ArgumentConflict, message),
            },
        )?;
    }
    Ok(cli)
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        // Help and version requests are not errors; everything else clap refuses is
        // a usage error, reported with Accord's usage exit code rather than clap's 2,
        // which `accord monitor` uses for probe errors.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // A refused value may be a URL with a password in it.
            eprint!(
                "{}",
                accord_contract::redact::redact_urls(&err.render().to_string())
            );
            return ExitCode::from(cmd::EXIT_USAGE);
        }
    };
    logging::init(&cli.logging);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::from(cmd::EXIT_USAGE);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Mock(args) => cmd::mock::run_mock(args).await,
            Command::Stub(args) => cmd::mock::run_stub(args).await,
            Command::Record(args) => cmd::mock::run_record(args).await,
            Command::Broker(args) => cmd::broker::run(*args).await,
            Command::Publish(args) => cmd::publish::publish(args).await,
            Command::PublishProviderContract(args) => cmd::provider_contract::publish(*args).await,
            Command::DiffSpec(args) => cmd::provider_contract::diff_spec(*args).await,
            Command::DiffPact(args) => cmd::provider_contract::diff_pact(args).await,
            Command::CanIDeploy(args) => cmd::can_i_deploy::run(args).await,
            Command::CreateEnvironment(args) => cmd::deployments::create_environment(args).await,
            Command::RecordDeployment(args) => cmd::deployments::record_deployment(args).await,
            Command::RecordRelease(args) => cmd::deployments::record_release(args).await,
            Command::DescribeVersion(args) => cmd::describe_version::describe_version(args).await,
            Command::Import(args) => cmd::import::run(*args).await,
            Command::Token(args) => cmd::token::run(args).await,
            Command::Verify(args) => cmd::verify::run(args).await,
            Command::Monitor(args) => cmd::monitor::run(*args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "error: {}",
                accord_contract::redact::redact_urls(&format!("{err:#}"))
            );
            // A failure no command turned into its own code is a runtime error, never
            // 1: that means "no" to can-i-deploy and "failed" to verify and monitor.
            ExitCode::from(cmd::EXIT_RUNTIME)
        }
    }
}
