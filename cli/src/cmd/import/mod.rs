//! `accord import`: copies an existing Pact Broker's history into an Accord broker
//! through the source's public HAL API.
//!
//! 1. Both brokers are read ([`history`]): the source fully, the target to learn what
//!    it has already. What is new is the plan ([`plan`]).
//! 2. `--dry-run` prints the plan and stops.
//! 3. Otherwise the new records are sent to the target's `POST /admin/import` in
//!    batches, in dependency order (environments and pacticipants, versions, pacts,
//!    verification results, deployments and releases), each batch one transaction
//!    there. Pact contents and result details are fetched from the source only for
//!    what is copied. Webhooks go through the target's webhook API.
//! 4. A sample of pacticipants is asked can-i-deploy and for-verification on both
//!    brokers ([`check`]); differences are listed.
//!
//! Creation times are kept. An interrupted import is resumed by running it again:
//! what arrived is found in the target and not sent again.

mod check;
mod history;
mod plan;
mod progress;

use std::process::ExitCode;

use accord_broker_client::{BrokerClient, BrokerClientConfig, BrokerError, RetryPolicy};
use clap::Args;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use url::Url;

use super::client::{BrokerArgs, TextOrJson, broker_auth, broker_failure, non_blank, outln, usage};
use history::History;
use plan::{Kind, Plan, Tally};

/// Records per batch sent to the target.
const BATCH_RECORDS: usize = 500;
/// Pact documents per batch (each may be large).
const BATCH_PACTS: usize = 100;
/// The most JSON one batch carries, well under the broker's default body limit.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The broker to copy from: a Pact Broker, PactFlow or another Accord broker.
    #[arg(
        long = "from",
        env = "ACCORD_IMPORT_FROM",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub from: Url,

    /// Bearer token for the source broker.
    #[arg(long = "from-token", env = "ACCORD_IMPORT_FROM_TOKEN", hide_env_values = true, value_parser = non_blank, value_name = "TOKEN")]
    pub from_token: Option<String>,

    /// Basic credentials for the source broker.
    #[arg(long = "from-user", env = "ACCORD_IMPORT_FROM_USER", hide_env_values = true, value_parser = non_blank, value_name = "USER:PASSWORD")]
    pub from_user: Option<String>,

    /// Read both brokers and report what would be copied, without copying anything.
    #[arg(long)]
    pub dry_run: bool,

    /// How many pacticipants the closing check compares on both brokers (0: no check).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub check_sample: usize,

    /// How many requests to send to the source at once.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Output format of the summary.
    #[arg(short = 'o', long, value_enum, default_value_t = TextOrJson::Text)]
    pub output: TextOrJson,

    /// The Accord broker to copy into (it needs administrator credentials).
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// What copying did, for the summary.
#[derive(Debug, Default)]
struct Copied {
    tally: Tally,
    skipped: Vec<Value>,
    webhooks: WebhookOutcome,
}

impl Copied {
    /// Counts one answer of `POST /admin/import` and keeps the records it skipped.
    fn record(&mut self, answer: &Value) {
        self.tally.add_answer(answer);
        if let Some(Value::Array(skipped)) = answer.get("skipped") {
            self.skipped.extend(skipped.iter().cloned());
        }
    }

    /// Keeps a record the import left out itself (the target refused it).
    fn refuse(&mut self, record: Value) {
        let kind = record.get("kind").and_then(Value::as_str).unwrap_or("");
        self.tally.add_skipped(kind);
        self.skipped.push(record);
    }
}

#[derive(Debug, Default)]
struct WebhookOutcome {
    copied: usize,
    existing: usize,
    /// Copied disabled: their secrets must be entered again.
    need_secrets: Vec<(String, String, Vec<String>)>,
    failed: Vec<(String, String)>,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let source = match source_client(&args) {
        Ok(client) => client,
        Err(message) => return Ok(usage(message)),
    };
    let target = args.broker.client()?;
    if args.broker.broker_base_url.as_str() == source.base_url().as_str() {
        return Ok(usage(
            "--from and --broker-base-url are the same broker: give the broker to copy from and the Accord broker to copy into",
        ));
    }
    match target.takes_imports().await {
        Ok(true) => {}
        Ok(false) => {
            return Ok(usage(format!(
                "{} takes no imports (its index has no accord:import relation): import into an Accord broker",
                target.base_url()
            )));
        }
        Err(error) => return Ok(broker_failure(&error)),
    }
    let concurrency = usize::from(args.concurrency);
    let bars = progress::Bars::new(args.output == TextOrJson::Text);
    bars.say(&format!("Reading {}", source.base_url()));
    let from = match history::read(&source, concurrency, None, &|step| bars.step(step)).await {
        Ok(history) => history,
        Err(error) => return Ok(failure("reading the source broker", &error)),
    };
    bars.say(&format!("Reading {}", target.base_url()));
    let pairs = from.integrations.keys().cloned().collect();
    let into =
        match history::read(&target, concurrency, Some(&pairs), &|step| bars.step(step)).await {
            Ok(history) => history,
            Err(error) => return Ok(failure("reading the target broker", &error)),
        };
    let plan = Plan::new(&from, &into);
    if args.dry_run {
        bars.finish();
        print_plan(&args, &source, &target, &plan);
        return Ok(ExitCode::SUCCESS);
    }
    let mut copied = Copied::default();
    if let Err(error) = copy(
        &source,
        &target,
        &from,
        &plan,
        concurrency,
        &bars,
        &mut copied,
    )
    .await
    {
        bars.finish();
        return Ok(failure("copying", &error));
    }
    bars.finish();
    let differences = if args.check_sample > 0 {
        bars.say("Checking that both brokers give the same answers");
        match check::compare(&source, &target, &from, args.check_sample).await {
            Ok(outcome) => Some(outcome),
            Err(error) => return Ok(failure("checking the copy", &error)),
        }
    } else {
        None
    };
    print_summary(
        &args,
        &source,
        &target,
        &plan,
        &copied,
        differences.as_ref(),
    );
    Ok(match differences {
        Some(outcome) if !outcome.differences.is_empty() => ExitCode::from(super::EXIT_FAILURE),
        _ => ExitCode::SUCCESS,
    })
}

fn source_client(args: &ImportArgs) -> Result<BrokerClient, String> {
    let (username, password) = match &args.from_user {
        Some(user) => match user.split_once(':') {
            Some((username, password)) => (Some(username), Some(password)),
            None => return Err("--from-user must be USER:PASSWORD".into()),
        },
        None => (None, None),
    };
    let config = BrokerClientConfig::new(args.from.clone())
        .with_auth(broker_auth(username, password, args.from_token.as_deref()))
        .with_retry(RetryPolicy::with_retries(args.broker.retries))
        .with_url_flag("--from");
    BrokerClient::new(config).map_err(|error| error.to_string())
}

/// Reports a failure of one of the brokers: what was being done, and the broker's
/// error (which names the broker and what to do).
fn failure(doing: &str, error: &BrokerError) -> ExitCode {
    eprintln!("error while {doing}:");
    let code = broker_failure(error);
    eprintln!(
        "Nothing copied is lost: run the same command again to continue where this one stopped."
    );
    code
}

async fn copy(
    source: &BrokerClient,
    target: &BrokerClient,
    from: &History,
    plan: &Plan<'_>,
    concurrency: usize,
    bars: &progress::Bars,
    copied: &mut Copied,
) -> Result<(), BrokerError> {
    let mut send = async |batch: Value, kind: Kind, count: usize| -> Result<(), BrokerError> {
        send_batch(target, batch, copied).await?;
        bars.advance(kind, count);
        Ok(())
    };
    for kind in Kind::ALL {
        bars.start(kind, plan.new_count(kind));
    }
    // Environments and pacticipants: small, one batch.
    let environments: Vec<Value> = plan
        .environments
        .iter()
        .map(|e| plan::environment_json(e))
        .collect();
    let pacticipants: Vec<Value> = plan
        .pacticipants
        .iter()
        .map(|p| plan::pacticipant_json(p))
        .collect();
    let (environment_count, pacticipant_count) = (environments.len(), pacticipants.len());
    if environment_count + pacticipant_count > 0 {
        send(
            json!({ "environments": environments, "pacticipants": pacticipants }),
            Kind::Environment,
            environment_count,
        )
        .await?;
        bars.advance(Kind::Pacticipant, pacticipant_count);
    }
    for chunk in plan.versions.chunks(BATCH_RECORDS) {
        let versions: Vec<Value> = chunk
            .iter()
            .map(|(p, v)| plan::version_json(p, v))
            .collect();
        send(json!({ "versions": versions }), Kind::Version, chunk.len()).await?;
    }
    // Pacts: fetched from the source as they are sent, a few at once.
    let mut fetched = futures::stream::iter(plan.pacts.iter())
        .map(|(consumer, provider, listing)| async move {
            let document = source.get(&listing.href).await?.into_body();
            let at = listing
                .created_at
                .clone()
                .or_else(|| plan::version_time(from, consumer, &listing.consumer_version));
            Ok::<_, BrokerError>(plan::pact_json(consumer, provider, listing, document, at))
        })
        .buffered(concurrency);
    let mut batch = Batch::new(BATCH_PACTS);
    while let Some(pact) = fetched.next().await {
        if let Some(full) = batch.push(pact?) {
            let count = full.len();
            send(json!({ "pacts": full }), Kind::Pact, count).await?;
        }
    }
    let rest = batch.take();
    if !rest.is_empty() {
        let count = rest.len();
        send(json!({ "pacts": rest }), Kind::Pact, count).await?;
    }
    // Verification results: their details (build URL, test results) from the source.
    let mut fetched = futures::stream::iter(plan.verifications.iter())
        .map(|(consumer, provider, row)| async move {
            let details = match source.get(&row.href).await {
                Ok(document) => document.into_body(),
                // Listed but not readable by itself (some brokers): copy what the
                // matrix showed.
                Err(BrokerError::NotFound { .. }) => Value::Null,
                Err(error) => return Err(error),
            };
            Ok::<_, BrokerError>(plan::verification_json(consumer, provider, row, &details))
        })
        .buffered(concurrency);
    let mut batch = Batch::new(BATCH_RECORDS);
    while let Some(verification) = fetched.next().await {
        if let Some(full) = batch.push(verification?) {
            let count = full.len();
            send(json!({ "verifications": full }), Kind::Verification, count).await?;
        }
    }
    let rest = batch.take();
    if !rest.is_empty() {
        let count = rest.len();
        send(json!({ "verifications": rest }), Kind::Verification, count).await?;
    }
    let deployments: Vec<Value> = plan
        .deployments
        .iter()
        .map(|(env, r)| plan::record_json(env, r, true))
        .collect();
    let releases: Vec<Value> = plan
        .releases
        .iter()
        .map(|(env, r)| plan::record_json(env, r, false))
        .collect();
    if !deployments.is_empty() || !releases.is_empty() {
        let count = deployments.len();
        let released = releases.len();
        send(
            json!({ "deployments": deployments, "releases": releases }),
            Kind::Deployment,
            count,
        )
        .await?;
        bars.advance(Kind::Release, released);
    }
    copy_webhooks(source, target, &mut copied.webhooks).await
}

/// Sends one batch and counts what the target answered into `copied`.
///
/// - A record the target refuses as invalid (a name with a line break, a time that is
///   not one) is left out and listed with the target's reason, and the rest of the
///   batch is sent again: one bad record in years of history does not stop the import.
/// - A batch too large for the target's body limit is sent in halves; a single record
///   still too large is left out and listed.
async fn send_batch(
    target: &BrokerClient,
    batch: Value,
    copied: &mut Copied,
) -> Result<(), BrokerError> {
    let mut pending = vec![batch];
    while let Some(mut batch) = pending.pop() {
        match target.import_batch(&batch).await {
            Ok(answer) => copied.record(&answer),
            Err(BrokerError::Refused {
                status, message, ..
            }) if status.as_u16() == 400 => {
                let refused = plan::refused_records(&message);
                let mut removed = false;
                for (kind, index) in refused.iter().rev() {
                    let Some(items) = batch.get_mut(kind.as_str()).and_then(Value::as_array_mut)
                    else {
                        continue;
                    };
                    if *index < items.len() {
                        let record = items.remove(*index);
                        copied.refuse(json!({
                            "kind": kind,
                            "record": plan::describe_record(&record),
                            "reason": format!("refused by the target: {message}"),
                        }));
                        removed = true;
                    }
                }
                if !removed {
                    return Err(BrokerError::Refused {
                        url: String::new(),
                        status,
                        message,
                        notices: Vec::new(),
                    });
                }
                pending.push(batch);
            }
            Err(BrokerError::Refused {
                status, message, ..
            }) if status.as_u16() == 413 => {
                match plan::halves(&batch) {
                    Some((first, second)) => {
                        // The first half is sent first.
                        pending.push(second);
                        pending.push(first);
                    }
                    None => {
                        let (kind, record) = plan::only_record(&batch);
                        copied.refuse(json!({
                            "kind": kind,
                            "record": plan::describe_record(&record),
                            "reason": format!("too large for the target ({message}); start it with a larger --body-limit to copy it"),
                        }));
                    }
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Collects records into batches of at most `records` records and [`BATCH_BYTES`].
struct Batch {
    records: usize,
    items: Vec<Value>,
    bytes: usize,
}

impl Batch {
    fn new(records: usize) -> Self {
        Self {
            records,
            items: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a record; a full batch comes back to be sent.
    fn push(&mut self, item: Value) -> Option<Vec<Value>> {
        let size = item.to_string().len();
        let full = if !self.items.is_empty() && self.bytes + size > BATCH_BYTES {
            Some(self.take())
        } else {
            None
        };
        self.bytes += size;
        self.items.push(item);
        if full.is_none() && self.items.len() >= self.records {
            return Some(self.take());
        }
        full
    }

    fn take(&mut self) -> Vec<Value> {
        self.bytes = 0;
        std::mem::take(&mut self.items)
    }
}

/// Copies the webhooks the target lacks. Brokers never show a webhook's secrets
/// (password, credential headers, credentials in the URL): a webhook that had some is
/// copied disabled and without them, and listed for the operator to enter again.
async fn copy_webhooks(
    source: &BrokerClient,
    target: &BrokerClient,
    outcome: &mut WebhookOutcome,
) -> Result<(), BrokerError> {
    let webhooks = match history::webhooks(source).await {
        Ok(webhooks) => webhooks,
        Err(BrokerError::NotFound { .. }) => return Ok(()),
        // The source hides its webhooks from these credentials: say so.
        Err(BrokerError::Unauthorized { .. }) => {
            outcome.failed.push((
                "-".to_string(),
                "the source does not show its webhooks to these credentials; none were copied"
                    .to_string(),
            ));
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    for webhook in webhooks {
        let Some(uuid) = plan::webhook_uuid(&webhook) else {
            continue;
        };
        let description = webhook
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let href = format!("/webhooks/{uuid}");
        match target.get(&href).await {
            Ok(_) => {
                outcome.existing += 1;
                continue;
            }
            Err(BrokerError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        let (body, secrets) = plan::webhook_without_secrets(&webhook);
        match target.put_json(&href, &body).await {
            Ok(_) if secrets.is_empty() => outcome.copied += 1,
            Ok(_) => {
                outcome.copied += 1;
                outcome.need_secrets.push((uuid, description, secrets));
            }
            Err(BrokerError::Refused { message, .. }) => outcome
                .failed
                .push((uuid, format!("{description}: {message}"))),
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn print_plan(args: &ImportArgs, source: &BrokerClient, target: &BrokerClient, plan: &Plan<'_>) {
    if args.output == TextOrJson::Json {
        let kinds: Map<String, Value> = Kind::ALL
            .iter()
            .map(|kind| (kind.key().to_string(), json!({ "inSource": plan.source_count(*kind), "toCopy": plan.new_count(*kind) })))
            .collect();
        outln!(
            "{}",
            json!({ "dryRun": true, "source": source.base_url().as_str(), "target": target.base_url().as_str(), "kinds": kinds })
        );
        return;
    }
    outln!(
        "Dry run: nothing was copied from {} into {}.",
        source.base_url(),
        target.base_url()
    );
    outln!();
    outln!("{:<14} {:>10} {:>10}", "Kind", "In source", "To copy");
    for kind in Kind::ALL {
        outln!(
            "{:<14} {:>10} {:>10}",
            kind.key(),
            plan.source_count(kind),
            plan.new_count(kind)
        );
    }
    outln!();
    outln!(
        "Webhooks are listed and copied when the import runs (their secrets never leave the source)."
    );
}

fn print_summary(
    args: &ImportArgs,
    source: &BrokerClient,
    target: &BrokerClient,
    plan: &Plan<'_>,
    copied: &Copied,
    check: Option<&check::Outcome>,
) {
    let hooks = &copied.webhooks;
    if args.output == TextOrJson::Json {
        let kinds: Map<String, Value> = Kind::ALL
            .iter()
            .map(|kind| {
                (
                    kind.key().to_string(),
                    json!({
                        "inSource": plan.source_count(*kind),
                        "copied": copied.tally.created(*kind),
                        "alreadyThere": plan.source_count(*kind).saturating_sub(plan.sent_count(*kind)) + copied.tally.existing(*kind),
                        "skipped": copied.tally.skipped(*kind),
                    }),
                )
            })
            .collect();
        let need: Vec<Value> = hooks
            .need_secrets
            .iter()
            .map(|(uuid, description, secrets)| json!({ "uuid": uuid, "description": description, "secrets": secrets }))
            .collect();
        let failed: Vec<Value> = hooks
            .failed
            .iter()
            .map(|(uuid, why)| json!({ "uuid": uuid, "reason": why }))
            .collect();
        let check = check.map(|c| json!({ "compared": c.compared, "differences": c.differences }));
        outln!(
            "{}",
            json!({
                "source": source.base_url().as_str(),
                "target": target.base_url().as_str(),
                "kinds": kinds,
                "skipped": copied.skipped,
                "webhooks": { "copied": hooks.copied, "alreadyThere": hooks.existing, "needSecrets": need, "failed": failed },
                "check": check,
            })
        );
        return;
    }
    outln!("Imported {} into {}.", source.base_url(), target.base_url());
    outln!();
    outln!(
        "{:<14} {:>10} {:>10} {:>13} {:>8}",
        "Kind",
        "In source",
        "Copied",
        "Already there",
        "Skipped"
    );
    for kind in Kind::ALL {
        let already = plan
            .source_count(kind)
            .saturating_sub(plan.sent_count(kind))
            + copied.tally.existing(kind);
        outln!(
            "{:<14} {:>10} {:>10} {:>13} {:>8}",
            kind.key(),
            plan.source_count(kind),
            copied.tally.created(kind),
            already,
            copied.tally.skipped(kind)
        );
    }
    outln!(
        "{:<14} {:>10} {:>10} {:>13} {:>8}",
        "webhooks",
        hooks.copied + hooks.existing + hooks.failed.len(),
        hooks.copied,
        hooks.existing,
        hooks.failed.len()
    );
    if !copied.skipped.is_empty() {
        outln!();
        outln!("Skipped (left as they are in {}):", target.base_url());
        for skip in &copied.skipped {
            let field = |key: &str| skip.get(key).and_then(Value::as_str).unwrap_or("");
            outln!(
                "  {} {}: {}",
                field("kind"),
                field("record"),
                field("reason")
            );
        }
    }
    if !hooks.need_secrets.is_empty() {
        outln!();
        outln!(
            "These webhooks were copied disabled: the source never shows their secrets. Enter them again and enable each with PUT /webhooks/UUID (or in the UI):"
        );
        for (uuid, description, secrets) in &hooks.need_secrets {
            outln!("  {uuid} {description:?}: {}", secrets.join(", "));
        }
    }
    if !hooks.failed.is_empty() {
        outln!();
        outln!("These webhooks were not copied (the target refused them):");
        for (uuid, why) in &hooks.failed {
            outln!("  {uuid} {why}");
        }
    }
    outln!();
    match check {
        None => outln!("Check skipped (--check-sample 0)."),
        Some(outcome) if outcome.differences.is_empty() => outln!(
            "Check: both brokers give the same answers for {} ({}).",
            outcome.compared.join(", "),
            outcome.questions
        ),
        Some(outcome) => {
            outln!(
                "Check: the brokers answer differently for {} of the {}:",
                outcome.differences.len(),
                outcome.questions
            );
            for difference in &outcome.differences {
                outln!("  {difference}");
            }
        }
    }
}
