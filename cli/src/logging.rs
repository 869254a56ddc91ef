//! Logging set-up shared by every subcommand: `tracing` with an `EnvFilter`,
//! human-readable by default and JSON lines with `--log-format json`.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter, in `tracing` EnvFilter syntax (e.g. `debug`, `accord_broker=debug`).
    /// The default shows Accord's own information and only warnings from libraries.
    #[arg(
        long,
        global = true,
        env = "ACCORD_LOG",
        default_value = "warn,accord=info"
    )]
    pub log: String,

    /// Log output format.
    #[arg(long, global = true, env = "ACCORD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Installs the global subscriber. Logs go to stderr: stdout belongs to command output.
pub fn init(args: &LogArgs) {
    let filter = EnvFilter::try_new(&args.log).unwrap_or_else(|err| {
        eprintln!(
            "warning: invalid --log filter {:?} ({err}); using `info`",
            args.log
        );
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
