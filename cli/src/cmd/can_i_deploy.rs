//! `accord can-i-deploy`: whether pacticipant versions can go to an environment, asked
//! of the broker's matrix the way the official clients ask it. Several
//! `--pacticipant`/`--version` pairs are decided together, and `--plan` orders them
//! (see [`plan`]).

use std::process::ExitCode;
use std::time::Duration;

use accord_broker_client::{
    BrokerError, DeployTarget, DriftMode, Matrix, MatrixDrift, Selection, VersionSelector,
};
use clap::{ArgAction, ArgMatches, Args, ValueEnum};
use serde_json::json;

use super::client::{
    BrokerArgs, TableOrJson, broker_failure, non_blank, out, outln, parse_seconds, usage,
};
use super::{EXIT_FAILURE, EXIT_USAGE};

pub mod plan;

/// Exit codes of `accord can-i-deploy`, shown at the end of its help.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   the versions can be deployed (with --plan: the set can go out, in the order shown);
      also every answer with --dry-run
  1   they cannot, or the answer is not known yet (results missing)
  2   the broker could not be used: unreachable, 401/403, a refused question
  64  bad usage: a version flag without its --pacticipant, a blank value, --plan without
      a target, an environment the broker does not know (create it first)";

#[derive(Debug, Args)]
// `--version` is the pacticipant version here, as in the official client, so the
// command gives up the `--version` flag that prints Accord's version.
#[command(disable_version_flag = true, after_help = EXIT_CODES_HELP)]
pub struct CanIDeployArgs {
    /// The pacticipant (application) to check. Repeat it, each followed by its own
    /// version flag, to decide several versions together:
    /// `-a orders -e 2.1 -a web -e 3.0`.
    #[arg(short = 'a', long, env = "ACCORD_PACTICIPANT", required = true, action = ArgAction::Append, value_parser = non_blank)]
    pub pacticipant: Vec<String>,

    /// The version of the pacticipant before it.
    #[arg(short = 'e', long, env = "ACCORD_PACTICIPANT_VERSION", action = ArgAction::Append, value_parser = non_blank)]
    pub version: Vec<String>,

    /// Check the latest version of the pacticipant before it, or the latest with this tag.
    #[arg(short = 'l', long, num_args = 0..=1, default_missing_value = "", value_name = "TAG", env = "ACCORD_LATEST", action = ArgAction::Append)]
    pub latest: Vec<String>,

    /// Check the latest version on this branch (of the pacticipant before it).
    #[arg(long, env = "ACCORD_CAN_I_DEPLOY_BRANCH", action = ArgAction::Append, value_parser = non_blank)]
    pub branch: Vec<String>,

    /// Check the latest version on the main branch (of the pacticipant before it).
    #[arg(
        long,
        env = "ACCORD_MAIN_BRANCH",
        action = ArgAction::Append,
        num_args = 0,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub main_branch: Vec<bool>,

    /// With several versions: say whether they can go out one at a time, and in which
    /// order every state along the way stays verified against the target, or which
    /// of them must go together.
    #[arg(long, env = "ACCORD_PLAN")]
    pub plan: bool,

    /// The pacticipant versions, paired up from the flags above in their order.
    #[arg(skip)]
    pub selections: Vec<Selection>,

    /// The environment the version is to be deployed to.
    #[arg(
        long = "to-environment",
        env = "ACCORD_TO_ENVIRONMENT",
        value_parser = non_blank,
        value_name = "ENVIRONMENT",
        conflicts_with = "to"
    )]
    pub to_environment: Option<String>,

    /// The tag of the other applications' versions to check against (legacy, before environments).
    #[arg(long, env = "ACCORD_TO", value_name = "TAG", value_parser = non_blank)]
    pub to: Option<String>,

    /// A pacticipant whose results are ignored; repeat or separate with commas.
    #[arg(
        long = "ignore",
        env = "PACT_BROKER_CAN_I_DEPLOY_IGNORE",
        value_delimiter = ',',
        value_name = "PACTICIPANT"
    )]
    pub ignore: Vec<String>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TableOrJson::Table, env = "ACCORD_OUTPUT")]
    pub output: TableOrJson,

    /// Ask again this many times while the answer is unknown (verification results
    /// still missing, e.g. the provider build is running).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "TIMES",
        env = "ACCORD_RETRY_WHILE_UNKNOWN"
    )]
    pub retry_while_unknown: u32,

    /// Time between those questions, in seconds (or with a unit: `500ms`, `1m`).
    #[arg(long, default_value = "10", value_parser = parse_seconds, value_name = "SECONDS", env = "ACCORD_RETRY_INTERVAL")]
    pub retry_interval: Duration,

    /// How open drift counts (Accord's broker): when the drift monitor has found a
    /// provider in the target environment drifting from this version's pact, `block`
    /// makes the answer no, `warn` reports it without changing the answer, `ignore`
    /// does not look.
    #[arg(long, value_enum, default_value_t = DriftArg::Block, value_name = "MODE", env = "ACCORD_DRIFT_MODE")]
    pub drift: DriftArg,

    /// Always exit 0, whatever the answer (for setting pipelines up, or to knowingly
    /// deploy a breaking change).
    #[arg(long, env = "PACT_BROKER_CAN_I_DEPLOY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// How can-i-deploy treats open drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriftArg {
    /// Open drift against the version's pacts makes the answer no.
    Block,
    /// Open drift is reported as a warning; the answer is unchanged.
    Warn,
    /// Drift is not looked at.
    Ignore,
}

impl From<DriftArg> for DriftMode {
    fn from(arg: DriftArg) -> Self {
        match arg {
            DriftArg::Block => DriftMode::Block,
            DriftArg::Warn => DriftMode::Warn,
            DriftArg::Ignore => DriftMode::Ignore,
        }
    }
}

impl CanIDeployArgs {
    /// Pairs each version flag with the `--pacticipant` before it, in the order they
    /// were given (with one pacticipant, every version flag is its own, wherever it
    /// stands, so environment variables work too). Call with the subcommand's matches.
    pub fn pair_up(&mut self, matches: &ArgMatches) -> Result<(), String> {
        // (position on the command line, which flag, its value)
        let mut flags: Vec<(Option<usize>, &str, String)> = Vec::new();
        for id in ["pacticipant", "version", "latest", "branch", "main_branch"] {
            let indices: Vec<usize> = matches.indices_of(id).into_iter().flatten().collect();
            let values: Vec<String> = if id == "main_branch" {
                // `false` (from the environment) is no flag at all.
                let given: Vec<bool> = matches
                    .get_many::<bool>(id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                if given.iter().all(|on| !on) {
                    Vec::new()
                } else {
                    vec![String::new(); given.len()]
                }
            } else {
                matches
                    .get_many::<String>(id)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect()
            };
            for (n, value) in values.into_iter().enumerate() {
                flags.push((indices.get(n).copied(), id, value));
            }
        }
        let several = self.pacticipant.len() > 1;
        if several && let Some((_, id, _)) = flags.iter().find(|(index, ..)| index.is_none()) {
            return Err(format!(
                "--{} comes from the environment, which cannot say which of the {} pacticipants it belongs to: pass it on the command line after its --pacticipant",
                id.replace('_', "-"),
                self.pacticipant.len()
            ));
        }
        flags.sort_by_key(|(index, ..)| *index);
        let mut selections: Vec<(String, Option<VersionSelector>)> = Vec::new();
        if !several {
            selections.push((self.pacticipant[0].clone(), None));
        }
        for (_, id, value) in flags {
            if id == "pacticipant" {
                if several {
                    selections.push((value, None));
                }
                continue;
            }
            let Some((pacticipant, version)) = selections.last_mut() else {
                return Err(format!(
                    "--{} comes before any --pacticipant: with several pacticipants, give each its version flag after it (-a orders -e 2.1 -a web -e 3.0)",
                    id.replace('_', "-")
                ));
            };
            let selector = match id {
                "version" => VersionSelector::Number(value),
                "latest" => VersionSelector::Latest {
                    tag: Some(value).filter(|tag| !tag.is_empty()),
                },
                "branch" => VersionSelector::LatestOnBranch(value),
                _ => VersionSelector::MainBranch,
            };
            if version.is_some() {
                return Err(format!(
                    "{pacticipant} has two version flags: give one of --version (-e), --latest [TAG], --branch or --main-branch per --pacticipant"
                ));
            }
            *version = Some(selector);
        }
        let mut seen = std::collections::HashSet::new();
        for (pacticipant, version) in selections {
            let Some(version) = version else {
                return Err(format!(
                    "which version of {pacticipant}? Follow --pacticipant {pacticipant} with --version (-e), --latest [TAG], --branch or --main-branch"
                ));
            };
            if !seen.insert(pacticipant.clone()) {
                return Err(format!(
                    "{pacticipant} is given twice: one version per pacticipant can be deployed at a time"
                ));
            }
            self.selections.push(Selection {
                pacticipant,
                version,
            });
        }
        Ok(())
    }

    fn target(&self) -> DeployTarget {
        match (&self.to_environment, &self.to) {
            (Some(environment), _) => DeployTarget::Environment(environment.clone()),
            (None, Some(tag)) => DeployTarget::Tag(tag.clone()),
            (None, None) => DeployTarget::Latest,
        }
    }
}

/// A refused matrix question; one about an environment the broker does not know is a
/// configuration mistake (64) with a known fix.
pub(crate) fn matrix_failure(error: &BrokerError, target: &DeployTarget) -> ExitCode {
    if let (BrokerError::Refused { message, .. }, DeployTarget::Environment(environment)) =
        (error, target)
        && message.contains(&format!("'{environment}' does not exist"))
    {
        eprintln!(
            "error: the broker has no environment named {environment:?}: create it once with `accord create-environment --name {environment}` (add --production for a production environment), then ask again"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    broker_failure(error)
}

pub async fn run(args: CanIDeployArgs) -> anyhow::Result<ExitCode> {
    if args.selections.is_empty() {
        return Ok(usage(
            "which version? Pass --version (-e), --latest [TAG], --branch or --main-branch",
        ));
    }
    let target = args.target();
    if args.plan {
        if target == DeployTarget::Latest {
            return Ok(usage(
                "--plan needs a target: say where the versions are going with --to-environment ENVIRONMENT (or --to TAG)",
            ));
        }
        return plan::run(&args, target).await;
    }
    let client = args.broker.client()?;
    let mut asked = 0;
    let matrix = loop {
        let matrix = match client
            .can_i_deploy_together(
                &args.selections,
                &target,
                &args.ignore,
                Some(args.drift.into()),
            )
            .await
        {
            Ok(matrix) => matrix,
            Err(error) => return Ok(matrix_failure(&error, &target)),
        };
        asked += 1;
        if matrix.summary.deployable.is_some() || asked > args.retry_while_unknown {
            break matrix;
        }
        eprintln!(
            "The answer is not known yet ({} missing result(s)); asking again in {} ({} of {}).",
            matrix.summary.unknown,
            humantime::format_duration(args.retry_interval),
            asked,
            args.retry_while_unknown
        );
        tokio::time::sleep(args.retry_interval).await;
    };

    match args.output {
        TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&matrix_json(&matrix))?),
        TableOrJson::Table => out!("{}", matrix_table(&matrix)),
    }
    Ok(answer_code(
        matrix.summary.deployable == Some(true),
        args.dry_run,
    ))
}

/// 0 for yes, 1 for no; `--dry-run` always 0, saying so when the answer is no.
pub(crate) fn answer_code(deployable: bool, dry_run: bool) -> ExitCode {
    if dry_run {
        if !deployable {
            eprintln!("dry run: exiting 0 although the answer is no");
        }
        return ExitCode::SUCCESS;
    }
    if deployable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

fn matrix_json(matrix: &Matrix) -> serde_json::Value {
    json!({
        "summary": {
            "deployable": matrix.summary.deployable,
            "reason": matrix.summary.reason,
            "success": matrix.summary.success,
            "failed": matrix.summary.failed,
            "unknown": matrix.summary.unknown,
        },
        "notices": matrix.notices.iter().map(|n| json!({"type": n.kind, "text": n.text})).collect::<Vec<_>>(),
        "matrix": matrix.matrix.iter().map(|row| json!({
            "consumer": {"name": row.consumer.name, "version": row.consumer.version.as_ref().map(|v| &v.number)},
            "provider": {"name": row.provider.name, "version": row.provider.version.as_ref().map(|v| &v.number)},
            "verificationResult": row.verification_result.as_ref().map(|v| json!({"success": v.success, "verifiedAt": v.verified_at})),
        })).collect::<Vec<_>>(),
        "drift": matrix.drift.as_ref().map(|drift| json!({
            "mode": drift.mode,
            "environment": drift.environment,
            "blocking": drift.blocking,
            "findings": drift.findings.iter().map(|f| json!({
                "provider": f.provider,
                "consumer": f.consumer,
                "consumerVersion": f.consumer_version,
                "environment": f.environment,
                "interaction": f.interaction,
                "request": f.request,
                "pointer": f.pointer,
                "class": f.class,
                "expected": f.expected,
                "actual": f.actual,
                "firstSeenAt": f.first_seen_at,
                "lastSeenAt": f.last_seen_at,
                "text": f.text,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The matrix as an aligned table, then the answer and the broker's reasons.
fn matrix_table(matrix: &Matrix) -> String {
    let mut rows = vec![[
        "CONSUMER".to_string(),
        "C.VERSION".to_string(),
        "PROVIDER".to_string(),
        "P.VERSION".to_string(),
        "SUCCESS?".to_string(),
    ]];
    for row in &matrix.matrix {
        let version = |party: &accord_broker_client::MatrixParty| {
            party
                .version
                .as_ref()
                .map_or("???".to_string(), |v| v.number.clone())
        };
        let success = match &row.verification_result {
            Some(result) if row.ignored => format!("{} (ignored)", result.success),
            Some(result) => result.success.to_string(),
            None => "???".to_string(),
        };
        rows.push([
            row.consumer.name.clone(),
            version(&row.consumer),
            row.provider.name.clone(),
            version(&row.provider),
            success,
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if matrix.matrix.is_empty() {
        out.push_str("There are no pacts or verifications to check.\n");
    } else {
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            out.push_str(cells.join(" | ").trim_end());
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(match matrix.summary.deployable {
        Some(true) => "Computer says yes \\o/\n",
        Some(false) => "Computer says no ¯\\_(ツ)_/¯\n",
        None => "Computer says no ¯\\_(ツ)_/¯ (the answer is not known yet: results are missing)\n",
    });
    // Each line once: the reason's lines come back as notices, and drift findings are
    // shown in their own section.
    let drift_lines: Vec<&str> = matrix
        .drift
        .iter()
        .flat_map(|d| d.findings.iter().map(|f| f.text.as_str()))
        .collect();
    let mut printed: Vec<&str> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    for line in matrix
        .summary
        .reason
        .lines()
        .chain(matrix.notices.iter().map(|n| n.text.as_str()))
    {
        if !line.trim().is_empty() && !printed.contains(&line) && !drift_lines.contains(&line) {
            printed.push(line);
            lines.push(line);
        }
    }
    if !lines.is_empty() {
        out.push('\n');
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(drift) = matrix.drift.as_ref().filter(|d| !d.findings.is_empty()) {
        out.push('\n');
        out.push_str(&drift_section(drift));
    }
    out
}

/// Open drift, one block per finding, readable in a terminal.
fn drift_section(drift: &MatrixDrift) -> String {
    let mut out = String::new();
    let heading = if drift.blocking {
        format!(
            "Drift blocks this deployment: the monitor found providers in {} answering differently from the pacts.\n",
            drift.environment
        )
    } else {
        format!(
            "Drift in {} (not blocking, --drift {}):\n",
            drift.environment, drift.mode
        )
    };
    out.push_str(&heading);
    for f in &drift.findings {
        out.push_str(&format!(
            "\n  {} drifts from the pact of {} {}: {} at {}\n",
            f.provider,
            f.consumer,
            f.consumer_version,
            f.class.replace('_', " "),
            if f.pointer.is_empty() {
                "the whole response"
            } else {
                &f.pointer
            }
        ));
        out.push_str(&format!(
            "    interaction: {} ({})\n",
            f.interaction, f.request
        ));
        out.push_str(&format!("    expected:    {}\n", f.expected));
        out.push_str(&format!("    actual:      {}\n", f.actual));
        if let (Some(first), Some(last)) = (&f.first_seen_at, &f.last_seen_at) {
            out.push_str(&format!("    seen:        since {first}, last {last}\n"));
        }
    }
    if drift.blocking {
        out.push_str(
            "\nFix the provider (or deploy a consumer version whose pact tolerates its answer) and let the monitor check again; to deploy anyway, run again with --drift warn.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_blocker_line_is_printed_once() {
        let matrix: Matrix = serde_json::from_value(json!({
            "summary": {"deployable": false, "reason": "first blocker\nsecond blocker"},
            "notices": [
                {"type": "error", "text": "first blocker"},
                {"type": "error", "text": "second blocker"},
                {"type": "warning", "text": "a warning"}
            ],
            "matrix": []
        }))
        .unwrap();
        let table = matrix_table(&matrix);
        assert_eq!(table.matches("first blocker").count(), 1, "{table}");
        assert_eq!(table.matches("second blocker").count(), 1, "{table}");
        assert_eq!(table.matches("a warning").count(), 1, "{table}");
    }

    fn drifting(mode: &str, blocking: bool) -> Matrix {
        let line = "orders drifts in production from the pact of web 1: format changed ...";
        serde_json::from_value(json!({
            "summary": {"deployable": !blocking, "reason": if blocking { line } else { "All required verification results are published and successful" }},
            "notices": [{"type": if blocking { "error" } else { "warning" }, "text": line}],
            "matrix": [],
            "drift": {"mode": mode, "environment": "production", "blocking": blocking, "findings": [{
                "provider": "orders", "consumer": "web", "consumerVersion": "1",
                "environment": "production", "interaction": "get order 1", "request": "GET /orders/1",
                "pointer": "/body/created", "class": "format_changed",
                "expected": "string in date-time format", "actual": "integer 1714557600",
                "firstSeenAt": "2024-05-01T10:00:01+00:00", "lastSeenAt": "2024-05-01T10:05:01+00:00",
                "text": line
            }]}
        }))
        .unwrap()
    }

    #[test]
    fn drift_blockers_get_their_own_readable_section() {
        let table = matrix_table(&drifting("block", true));
        assert!(table.contains("Computer says no"), "{table}");
        assert!(table.contains("Drift blocks this deployment"), "{table}");
        assert!(
            table.contains("orders drifts from the pact of web 1: format changed at /body/created"),
            "{table}"
        );
        assert!(
            table.contains("    expected:    string in date-time format"),
            "{table}"
        );
        assert!(
            table.contains("    actual:      integer 1714557600"),
            "{table}"
        );
        assert!(table.contains("--drift warn"), "{table}");
        // The one-line form is not repeated above the section.
        assert!(!table.contains("format changed ..."), "{table}");

        let warned = matrix_table(&drifting("warn", false));
        assert!(warned.contains("Computer says yes"), "{warned}");
        assert!(
            warned.contains("Drift in production (not blocking, --drift warn)"),
            "{warned}"
        );
        let json = matrix_json(&drifting("warn", false));
        assert_eq!(json["drift"]["findings"][0]["pointer"], "/body/created");
    }

    #[test]
    fn drift_mode_defaults_to_block() {
        use clap::Parser;

        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            args: CanIDeployArgs,
        }
        let parse = |extra: &[&str]| {
            let base = [
                "can-i-deploy",
                "-a",
                "web",
                "-e",
                "1",
                "-b",
                "http://broker",
            ];
            Cli::try_parse_from(base.iter().chain(extra.iter())).map(|cli| cli.args.drift)
        };
        // The environment may set ACCORD_DRIFT_MODE; a flag always wins.
        assert_eq!(parse(&["--drift", "block"]).unwrap(), DriftArg::Block);
        assert_eq!(parse(&["--drift", "warn"]).unwrap(), DriftArg::Warn);
        assert_eq!(DriftMode::from(DriftArg::Ignore), DriftMode::Ignore);
        assert!(parse(&["--drift", "loud"]).is_err());
        if std::env::var_os("ACCORD_DRIFT_MODE").is_none() {
            assert_eq!(parse(&[]).unwrap(), DriftArg::Block);
        }
    }

    #[test]
    fn the_matrix_table_aligns_columns_and_gives_the_answer() {
        let matrix: Matrix = serde_json::from_value(json!({
            "summary": {"deployable": false, "reason": "The verification for web 1 and orders 2 failed"},
            "notices": [],
            "matrix": [
                {"consumer": {"name": "web", "version": {"number": "1"}},
                 "provider": {"name": "orders", "version": {"number": "2"}},
                 "verificationResult": {"success": false}},
                {"consumer": {"name": "mobile-app", "version": {"number": "10"}},
                 "provider": {"name": "orders", "version": null},
                 "verificationResult": null}
            ]
        }))
        .unwrap();
        let table = matrix_table(&matrix);
        assert!(
            table.contains("CONSUMER   | C.VERSION | PROVIDER | P.VERSION | SUCCESS?"),
            "{table}"
        );
        assert!(
            table.contains("web        | 1         | orders   | 2         | false"),
            "{table}"
        );
        assert!(
            table.contains("mobile-app | 10        | orders   | ???       | ???"),
            "{table}"
        );
        assert!(table.contains("Computer says no"), "{table}");
        assert!(table.contains("failed"), "{table}");
    }
}
