//! `accord verify`: verifies a provider against its contracts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use accord_verifier::{
    BrokerClientConfig, BrokerSource, ConsumerVersionSelector, InteractionFilter, PactSource,
    RetryPolicy, StateChange, VerificationReport, Verifier, VerifyOptions, exit_code,
};
use clap::Args;
use url::Url;

use super::client::{broker_auth, out, parse_seconds};

/// Exit codes of `accord verify`, shown at the end of its help.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   every interaction that is not pending passed (and results, if asked, were published)
  1   verification failed: an interaction of a pact that is not pending failed
  2   broker error: unreachable, 401/403, 404, a refused selector, results that could not
      be published; also a report file that cannot be written
  3   no pact was found (or a pact folder could not be read)
  4   the provider did not answer within --provider-ready-timeout
  64  bad usage, including a pact that is missing or not a valid pact (the error names
      the file and the JSON pointer), as for accord stub and accord monitor";

/// Replays each interaction of the provider's contracts against the running provider and
/// reports what differs. Exit codes: see [`EXIT_CODES_HELP`] (kept equal to
/// `accord_verifier::exit_code`, and 0/1 as in `cmd/mod.rs`).
#[derive(Debug, Args)]
// `-h` is the official verifier's `--hostname`, so help is `--help` alone here: a
// pipeline's `-h HOST -p PORT` must not print help and exit 0 without verifying.
#[command(after_help = EXIT_CODES_HELP, disable_help_flag = true)]
pub struct VerifyArgs {
    /// Boxed because the flags are many: the CLI's command enum stays small.
    #[command(flatten)]
    pub flags: Box<VerifyFlags>,

    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// The flags of `accord verify`.
#[derive(Debug, Args)]
pub struct VerifyFlags {
    /// The provider's name, as the pacts and the broker spell it.
    #[arg(
        long,
        visible_alias = "provider-name",
        short = 'n',
        env = "PACT_PROVIDER_NAME"
    )]
    pub provider: String,

    /// Where the provider listens, e.g. http://127.0.0.1:8080 (a path is a prefix for every request).
    #[arg(
        long,
        env = "ACCORD_PROVIDER_BASE_URL",
        hide_env_values = true,
        value_name = "URL",
        required_unless_present_any = ["hostname", "port"]
    )]
    pub provider_base_url: Option<Url>,

    /// The provider's host, as the official verifier takes it (with --port and
    /// --scheme); the same as --provider-base-url SCHEME://HOST:PORT.
    #[arg(
        short = 'h',
        long,
        value_name = "HOST",
        conflicts_with = "provider_base_url"
    )]
    pub hostname: Option<String>,

    /// The provider's port (with --hostname; default 8080).
    #[arg(
        short = 'p',
        long,
        value_name = "PORT",
        conflicts_with = "provider_base_url"
    )]
    pub port: Option<u16>,

    /// The provider's scheme (with --hostname and --port).
    #[arg(long, value_name = "SCHEME", default_value = "http", value_parser = ["http", "https"])]
    pub scheme: String,

    /// The path of the provider's message endpoint when messages are served apart from the
    /// base URL's path, e.g. /_pact/messages: each message interaction is POSTed there as
    /// {"description", "providerStates"} and the answer is the message (body, Content-Type,
    /// metadata as base64 JSON in Pact-Message-Metadata).
    #[arg(long, env = "ACCORD_MESSAGES_PATH", value_name = "PATH")]
    pub messages_path: Option<String>,

    /// The provider's state change URL: POSTed {"state", "params", "action"} before each
    /// interaction that has provider states.
    #[arg(
        short = 's',
        long,
        env = "PACT_PROVIDER_STATE_CHANGE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub state_change_url: Option<Url>,

    /// Also call the state change URL after each interaction, with "action": "teardown".
    #[arg(long, env = "PACT_PROVIDER_STATE_CHANGE_TEARDOWN")]
    pub state_change_teardown: bool,

    /// A pact file to verify; repeat for several.
    #[arg(
        short = 'f',
        long = "pact-file",
        visible_alias = "file",
        env = "ACCORD_PACT_FILES",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub pact_files: Vec<PathBuf>,

    /// A folder of pact files: those for this provider are verified; repeat for several.
    #[arg(
        short = 'd',
        long = "pact-dir",
        visible_alias = "dir",
        env = "ACCORD_PACT_DIRS",
        value_delimiter = ',',
        value_name = "DIR"
    )]
    pub pact_dirs: Vec<PathBuf>,

    /// A pact URL (e.g. from a broker webhook); repeat for several. Uses the broker credentials.
    #[arg(
        short = 'u',
        long = "pact-url",
        visible_alias = "url",
        env = "ACCORD_PACT_URLS",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub pact_urls: Vec<Url>,

    /// A broker to fetch the pacts to verify from (Accord's or any Pact Broker).
    #[arg(
        short = 'b',
        long,
        visible_alias = "broker-base-url",
        env = "PACT_BROKER_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub broker_url: Option<Url>,

    /// Username for the broker and pact URLs.
    #[arg(long, visible_alias = "user", env = "PACT_BROKER_USERNAME")]
    pub broker_username: Option<String>,

    /// Password for the broker and pact URLs.
    #[arg(
        long,
        visible_alias = "password",
        env = "PACT_BROKER_PASSWORD",
        hide_env_values = true
    )]
    pub broker_password: Option<String>,

    /// Bearer token for the broker and pact URLs.
    #[arg(
        short = 't',
        long,
        visible_alias = "token",
        env = "PACT_BROKER_TOKEN",
        hide_env_values = true
    )]
    pub broker_token: Option<String>,

    /// How many times to retry broker requests that fail with 5xx or a network error.
    #[arg(
        long,
        env = "PACT_BROKER_HTTP_RETRIES",
        default_value_t = 3,
        value_name = "N"
    )]
    pub retries: u32,

    /// Consumer version selectors as JSON: one selector object or an array; repeatable.
    /// Example: '{"mainBranch": true}'. See https://docs.pact.io/selectors.
    #[arg(
        long = "consumer-version-selectors",
        env = "ACCORD_CONSUMER_VERSION_SELECTORS",
        value_name = "JSON"
    )]
    pub consumer_version_selectors: Vec<String>,

    /// Selector: the latest pact from each consumer's main branch.
    #[arg(long, env = "ACCORD_SELECT_MAIN_BRANCH")]
    pub main_branch: bool,

    /// Selector: the pacts of every consumer version deployed or released.
    #[arg(long, env = "ACCORD_SELECT_DEPLOYED_OR_RELEASED")]
    pub deployed_or_released: bool,

    /// Selector: the latest pact from the consumer branch named like --provider-branch.
    #[arg(long, env = "ACCORD_SELECT_MATCHING_BRANCH")]
    pub matching_branch: bool,

    /// Selector: the latest pact from this consumer branch; repeatable.
    #[arg(
        long,
        env = "ACCORD_SELECT_CONSUMER_BRANCH",
        value_delimiter = ',',
        value_name = "BRANCH"
    )]
    pub consumer_branch: Vec<String>,

    /// Selector (legacy): the latest pact from consumer versions with these tags.
    #[arg(
        long,
        env = "ACCORD_CONSUMER_VERSION_TAGS",
        value_delimiter = ',',
        value_name = "TAG"
    )]
    pub consumer_version_tags: Vec<String>,

    /// Ask the broker which pacts are pending: their failures are reported but do not
    /// fail the build.
    #[arg(long, env = "ACCORD_ENABLE_PENDING")]
    pub enable_pending: bool,

    /// Also verify work-in-progress pacts published after this date (YYYY-MM-DD); they are
    /// pending. Needs --provider-branch.
    #[arg(long, env = "ACCORD_INCLUDE_WIP_PACTS_SINCE", value_name = "DATE")]
    pub include_wip_pacts_since: Option<String>,

    /// The provider version being verified (required with --publish), e.g. the git commit.
    #[arg(long, env = "ACCORD_PROVIDER_VERSION")]
    pub provider_version: Option<String>,

    /// The provider version's branch (used for pending and WIP pacts, and recorded with results).
    #[arg(long, env = "ACCORD_PROVIDER_BRANCH")]
    pub provider_branch: Option<String>,

    /// Provider version tags (legacy); repeat or separate with commas.
    #[arg(
        long,
        env = "ACCORD_PROVIDER_TAGS",
        value_delimiter = ',',
        value_name = "TAG"
    )]
    pub provider_tags: Vec<String>,

    /// Publish the results to the broker. Only pacts that were verified are published.
    #[arg(long, env = "ACCORD_PUBLISH_VERIFICATION_RESULTS")]
    pub publish: bool,

    /// The CI build URL recorded with published results.
    #[arg(long, env = "ACCORD_BUILD_URL", value_name = "URL")]
    pub build_url: Option<String>,

    /// Write a JUnit XML report to this file.
    #[arg(
        short = 'x',
        long,
        env = "PACT_VERIFIER_JUNIT_REPORT",
        value_name = "FILE"
    )]
    pub junit: Option<PathBuf>,

    /// Write a JSON report to this file.
    #[arg(
        short = 'j',
        long,
        env = "PACT_VERIFIER_JSON_REPORT",
        value_name = "FILE"
    )]
    pub json: Option<PathBuf>,

    /// How long to wait for the provider to start answering, in seconds (or `500ms`, `1m`);
    /// `0` tries once. A provider already up costs one request, not a wait.
    #[arg(long, env = "ACCORD_PROVIDER_READY_TIMEOUT", default_value = "30", value_parser = parse_seconds, value_name = "SECS")]
    pub provider_ready_timeout: Duration,

    /// Time allowed for each request to the provider and the state change URL, in
    /// milliseconds (or with a unit: `5s`).
    #[arg(long, env = "PACT_PROVIDER_REQUEST_TIMEOUT", default_value = "5000", value_parser = parse_millis, value_name = "MS")]
    pub request_timeout: Duration,

    /// A header sent with every request to the provider: 'Name: value' (or NAME=VALUE); repeatable.
    #[arg(short = 'H', long = "header", env = "ACCORD_PROVIDER_HEADER", hide_env_values = true, value_parser = parse_header, value_name = "HEADER")]
    pub headers: Vec<(String, String)>,

    /// Only verify pacts from this consumer; repeatable.
    #[arg(
        short = 'c',
        long,
        env = "ACCORD_FILTER_CONSUMER",
        value_delimiter = ',',
        value_name = "CONSUMER"
    )]
    pub filter_consumer: Vec<String>,

    /// Only verify interactions whose description matches this regular expression.
    #[arg(long, env = "PACT_DESCRIPTION", value_name = "REGEX")]
    pub filter_description: Option<String>,

    /// Only verify interactions with a provider state matching this regular expression.
    #[arg(
        long,
        env = "PACT_PROVIDER_STATE",
        value_name = "REGEX",
        conflicts_with = "filter_no_state"
    )]
    pub filter_state: Option<String>,

    /// Only verify interactions without provider states.
    #[arg(long, env = "PACT_PROVIDER_NO_STATE")]
    pub filter_no_state: bool,

    /// How many pacts to verify at the same time.
    #[arg(long, env = "ACCORD_VERIFY_PARALLEL", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..), value_name = "N")]
    pub parallel: u16,

    /// Succeed when no pact is found instead of failing.
    #[arg(long, env = "ACCORD_IGNORE_NO_PACTS_ERROR")]
    pub ignore_no_pacts_error: bool,
}

/// Milliseconds (as the official verifier's --request-timeout) or a duration with a unit.
fn parse_millis(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(millis) => Ok(Duration::from_millis(millis)),
        Err(_) => humantime::parse_duration(text.trim()).map_err(|error| {
            format!("{text:?} is neither milliseconds nor a duration like 5s: {error}")
        }),
    }
}

/// `Name: value` (curl style) or `NAME=VALUE` (the official verifier's style).
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .or_else(|| text.split_once('='))
        .ok_or_else(|| format!("{text:?} is not a header: write 'Name: value'"))?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return Err(format!("{text:?} has no header name: write 'Name: value'"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// The consumer version selectors from the JSON flags and the shortcut flags.
fn selectors(args: &VerifyFlags) -> Result<Vec<ConsumerVersionSelector>, String> {
    let mut selectors = Vec::new();
    for text in &args.consumer_version_selectors {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
            format!("--consumer-version-selectors {text:?} is not JSON: {error}")
        })?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            let selector = serde_json::from_value::<ConsumerVersionSelector>(item.clone())
                .map_err(|error| {
                    format!(
                        "--consumer-version-selectors: {item} is not a selector ({error}); \
                         keys are mainBranch, branch, matchingBranch, fallbackBranch, \
                         deployedOrReleased, deployed, released, environment, tag, \
                         fallbackTag, latest, consumer"
                    )
                })?;
            selectors.push(selector);
        }
    }
    if args.main_branch {
        selectors.push(ConsumerVersionSelector::main_branch());
    }
    if args.matching_branch {
        selectors.push(ConsumerVersionSelector::matching_branch());
    }
    for branch in &args.consumer_branch {
        selectors.push(ConsumerVersionSelector::branch(branch.clone()));
    }
    if args.deployed_or_released {
        selectors.push(ConsumerVersionSelector::deployed_or_released());
    }
    for tag in &args.consumer_version_tags {
        selectors.push(ConsumerVersionSelector {
            tag: Some(tag.clone()),
            latest: Some(true),
            ..ConsumerVersionSelector::default()
        });
    }
    Ok(selectors)
}

fn options(args: &VerifyFlags) -> Result<VerifyOptions, String> {
    let auth = || {
        broker_auth(
            args.broker_username.as_deref(),
            args.broker_password.as_deref(),
            args.broker_token.as_deref(),
        )
    };
    let base_url = match &args.provider_base_url {
        Some(url) => url.clone(),
        None => {
            let host = args.hostname.as_deref().unwrap_or("localhost");
            let url = format!("{}://{host}:{}", args.scheme, args.port.unwrap_or(8080));
            Url::parse(&url).map_err(|error| {
                format!("--hostname {host:?} does not make a valid URL ({url}): {error}")
            })?
        }
    };
    let mut options = VerifyOptions::new(args.provider.clone()).provider_base_url(base_url);
    options.messages_path = args.messages_path.clone();
    for file in &args.pact_files {
        options.sources.push(PactSource::File(file.clone()));
    }
    for dir in &args.pact_dirs {
        options.sources.push(PactSource::Dir(dir.clone()));
    }
    for url in &args.pact_urls {
        options.sources.push(PactSource::Url {
            url: url.clone(),
            auth: auth(),
        });
    }
    let selectors = selectors(args)?;
    let wants_broker_pacts =
        !selectors.is_empty() || args.enable_pending || args.include_wip_pacts_since.is_some();
    // PACT_BROKER_BASE_URL is often set for a whole pipeline. When pact files or URLs are
    // given (a webhook-triggered build, say), it must not add every pact of the broker too.
    let explicit_pacts =
        !(args.pact_files.is_empty() && args.pact_dirs.is_empty() && args.pact_urls.is_empty());
    let broker_url = args.broker_url.as_ref().filter(|_| {
        if explicit_pacts && !wants_broker_pacts {
            eprintln!(
                "note: not fetching pacts from the broker (--broker-url / PACT_BROKER_BASE_URL) \
                 because pact files or URLs were given; add consumer version selectors to \
                 verify the broker's pacts too"
            );
            false
        } else {
            true
        }
    });
    if let Some(broker_url) = broker_url {
        let mut source = BrokerSource::new(
            BrokerClientConfig::new(broker_url.clone())
                .with_auth(auth())
                .with_retry(RetryPolicy::with_retries(args.retries))
                .with_url_flag("--broker-url / PACT_BROKER_BASE_URL"),
        );
        source.selectors = selectors;
        source.enable_pending = args.enable_pending;
        source.include_wip_pacts_since = args.include_wip_pacts_since.clone();
        options.sources.push(PactSource::Broker(source));
    } else if !selectors.is_empty() || args.enable_pending || args.include_wip_pacts_since.is_some()
    {
        return Err(
            "consumer version selectors, --enable-pending and --include-wip-pacts-since need \
             --broker-url"
                .into(),
        );
    }
    options.state_change = args.state_change_url.clone().map(|url| StateChange {
        url,
        teardown: args.state_change_teardown,
    });
    options.headers = args.headers.clone();
    options.request_timeout = args.request_timeout;
    options.provider_ready_timeout = args.provider_ready_timeout;
    options.filter = InteractionFilter {
        consumers: args.filter_consumer.clone(),
        description: args.filter_description.clone(),
        state: args.filter_state.clone(),
        no_state: args.filter_no_state,
    };
    options.provider_version = args.provider_version.clone();
    options.provider_branch = args.provider_branch.clone();
    options.provider_tags = args.provider_tags.clone();
    options.publish = args.publish;
    options.build_url = args.build_url.clone();
    options.parallel = usize::from(args.parallel);
    options.ignore_no_pacts = args.ignore_no_pacts_error;
    Ok(options)
}

fn write_reports(args: &VerifyFlags, report: &VerificationReport) -> Result<(), String> {
    if let Some(path) = &args.junit {
        write_report_file(path, report.to_junit_xml().as_bytes()).map_err(|error| {
            format!("cannot write the JUnit report {}: {error}", path.display())
        })?;
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        write_report_file(path, text.as_bytes())
            .map_err(|error| format!("cannot write the JSON report {}: {error}", path.display()))?;
    }
    Ok(())
}

/// Writes a report, creating its folder first: CI jobs point reports into build
/// folders (`target/…`) that a fresh checkout does not have yet.
fn write_report_file(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let args = &*args.flags;
    let options = match options(args) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!(
                "error: {}",
                accord_contract::redact::redact_urls(&problem.to_string())
            );
            return Ok(ExitCode::from(exit_code::USAGE));
        }
    };
    let report = match Verifier::new(options).verify().await {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "error: {}",
                accord_contract::redact::redact_urls(&error.to_string())
            );
            return Ok(ExitCode::from(error.exit_code()));
        }
    };
    out!("{}", report.summary());
    if let Err(problem) = write_reports(args, &report) {
        eprintln!(
            "error: {}",
            accord_contract::redact::redact_urls(&problem.to_string())
        );
        return Ok(ExitCode::from(exit_code::BROKER));
    }
    Ok(ExitCode::from(report.outcome().exit_code()))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    #[command(disable_help_flag = true)]
    struct Cli {
        #[command(flatten)]
        verify: VerifyFlags,
    }

    fn parse(args: &[&str]) -> VerifyFlags {
        let mut all = vec![
            "verify",
            "--provider",
            "orders",
            "--provider-base-url",
            "http://127.0.0.1:1",
        ];
        all.extend_from_slice(args);
        // The environment of the test run (PACT_BROKER_BASE_URL in CI, say) must not
        // change what the flags mean here.
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(all).unwrap();
        Cli::from_arg_matches(&matches).unwrap().verify
    }

    /// The official verifier's flags work as they are, and say which Accord flag
    /// they stand for.
    #[test]
    fn the_official_verifiers_flags_work() {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from([
                "verify",
                "--provider-name",
                "orders",
                "-h",
                "provider.internal",
                "-p",
                "9000",
                "--file",
                "a.json",
                "--dir",
                "pacts",
                "--url",
                "http://b/pacts/1",
                "--user",
                "ci",
                "--password",
                "secret",
            ])
            .unwrap();
        let args = Cli::from_arg_matches(&matches).unwrap().verify;
        let options = options(&args).unwrap();
        assert_eq!(
            options.provider_base_url.as_ref().map(Url::as_str),
            Some("http://provider.internal:9000/")
        );
        assert_eq!(args.provider, "orders");
        assert_eq!(args.broker_username.as_deref(), Some("ci"));
        assert_eq!(options.sources.len(), 3);

        let help = Cli::command().render_long_help().to_string();
        for alias in [
            "--provider-name",
            "--file",
            "--dir",
            "--url",
            "--user",
            "--password",
        ] {
            assert!(help.contains(alias), "{alias} is not in --help:\n{help}");
        }

        // A base URL and a host at once is a contradiction; neither is a missing flag.
        let both = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from([
                "verify",
                "-n",
                "orders",
                "--provider-base-url",
                "http://a",
                "--hostname",
                "b",
            ]);
        assert!(both.is_err());
        let neither = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(["verify", "-n", "orders", "--file", "a.json"]);
        let error = neither.unwrap_err().to_string();
        assert!(error.contains("--provider-base-url"), "{error}");
    }

    #[test]
    fn headers_parse_in_both_styles() {
        assert_eq!(
            parse_header("Authorization: Bearer x:y").unwrap(),
            ("Authorization".into(), "Bearer x:y".into())
        );
        assert_eq!(
            parse_header("X-Key=abc").unwrap(),
            ("X-Key".into(), "abc".into())
        );
        assert!(parse_header("nothing").is_err());
        assert!(parse_header(": v").is_err());
    }

    #[test]
    fn selectors_come_from_json_and_shortcut_flags() {
        let args = parse(&[
            "--broker-url",
            "http://b",
            "--consumer-version-selectors",
            r#"[{"deployed": true, "environment": "prod"}]"#,
            "--consumer-version-selectors",
            r#"{"branch": "feat", "consumer": "web"}"#,
            "--main-branch",
            "--matching-branch",
            "--consumer-branch",
            "release",
            "--deployed-or-released",
        ]);
        let selectors = selectors(&args).unwrap();
        assert_eq!(
            selectors,
            vec![
                ConsumerVersionSelector::deployed_to("prod"),
                ConsumerVersionSelector::branch("feat").for_consumer("web"),
                ConsumerVersionSelector::main_branch(),
                ConsumerVersionSelector::matching_branch(),
                ConsumerVersionSelector::branch("release"),
                ConsumerVersionSelector::deployed_or_released(),
            ]
        );
    }

    #[test]
    fn bad_selectors_and_selectors_without_a_broker_are_refused() {
        let args = parse(&[
            "--broker-url",
            "http://b",
            "--consumer-version-selectors",
            r#"{"mainbranch": true}"#,
        ]);
        assert!(selectors(&args).unwrap_err().contains("mainbranch"));
        let args = parse(&["--pact-file", "p.json", "--main-branch"]);
        assert!(options(&args).unwrap_err().contains("--broker-url"));
    }

    #[test]
    fn a_broker_url_adds_the_brokers_pacts_only_when_no_pacts_are_named() {
        let args = parse(&["--pact-url", "http://b/pacts/1", "--broker-url", "http://b"]);
        let sources = options(&args).unwrap().sources;
        assert_eq!(sources.len(), 1);
        assert!(matches!(sources[0], PactSource::Url { .. }));

        let args = parse(&[
            "--pact-url",
            "http://b/pacts/1",
            "--broker-url",
            "http://b",
            "--main-branch",
        ]);
        assert_eq!(options(&args).unwrap().sources.len(), 2);

        let args = parse(&["--broker-url", "http://b"]);
        assert!(matches!(
            options(&args).unwrap().sources[..],
            [PactSource::Broker(_)]
        ));
    }

    #[test]
    fn flags_become_options() {
        let args = parse(&[
            "--pact-file",
            "a.json",
            "--pact-dir",
            "pacts",
            "--state-change-url",
            "http://127.0.0.1:1/state",
            "--header",
            "X-Key: 1",
            "--request-timeout",
            "250",
            "--provider-ready-timeout",
            "30",
            "--filter-consumer",
            "web",
            "--parallel",
            "4",
        ]);
        let options = options(&args).unwrap();
        assert_eq!(options.sources.len(), 2);
        assert_eq!(options.headers, [("X-Key".to_string(), "1".to_string())]);
        assert_eq!(options.request_timeout, Duration::from_millis(250));
        assert_eq!(options.provider_ready_timeout, Duration::from_secs(30));
        assert_eq!(options.filter.consumers, ["web"]);
        assert_eq!(options.parallel, 4);
        assert!(options.state_change.is_some());
    }
}
