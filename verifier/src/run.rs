//! The verification run: wait for the provider, load the pacts, verify each with
//! `pact_verifier`, publish the results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use accord_broker_client::{
    InteractionResult, ProviderVersion, ResultException, ResultMismatch, VerificationResults,
    VerifiedBy,
};
use futures::StreamExt;
use pact_verifier::verification_result::VerificationInteractionResult;
use pact_verifier::{
    MismatchResult, NullRequestFilterExecutor, ProviderInfo, ProviderTransport, VerificationOptions,
};
use tracing::{info, warn};
use url::Url;

use crate::error::{VerifyError, humanize};
use crate::load::{LoadedPact, load_all};
use crate::options::VerifyOptions;
use crate::producer::{MessageProducers, ProducerFailures, ProducerServer};
use crate::ready::wait_for_provider;
use crate::report::{
    InteractionReport, InteractionStatus, MismatchReport, PactReport, Publication,
    VerificationReport,
};
use crate::state::StateChangeExecutor;

/// Prefix of the interaction ids assigned for the duration of a run (see `verify_pact`).
const RUN_ID_PREFIX: &str = "accord-run-";

/// Verifies a provider against its pacts. See the crate documentation for an example.
#[derive(Debug, Clone)]
pub struct Verifier {
    options: VerifyOptions,
    producers: Option<MessageProducers>,
}

impl Verifier {
    pub fn new(options: VerifyOptions) -> Self {
        Self {
            options,
            producers: None,
        }
    }

    /// Produces messages in process: message interactions are answered by these functions
    /// (served on a loopback port for the run) instead of the provider's message endpoint.
    pub fn with_producers(mut self, producers: MessageProducers) -> Self {
        self.producers = Some(producers);
        self
    }

    /// The options this verifier runs with.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Verifies the provider at `options.provider_base_url` (a verifier with only in-process
    /// producers needs none).
    pub async fn verify(&self) -> Result<VerificationReport, VerifyError> {
        match (self.options.provider_base_url.clone(), &self.producers) {
            (Some(base_url), _) => self.run(Some(base_url)).await,
            (None, Some(_)) => self.run(None).await,
            (None, None) => Err(VerifyError::InvalidOptions {
                problem: "the provider's base URL is missing (--provider-base-url)".into(),
            }),
        }
    }

    /// Verifies the provider listening at `base_url`, e.g. an in-process server bound
    /// to port 0 in a test.
    pub async fn verify_against(&self, base_url: Url) -> Result<VerificationReport, VerifyError> {
        self.run(Some(base_url)).await
    }

    async fn run(&self, base_url: Option<Url>) -> Result<VerificationReport, VerifyError> {
        let options = &self.options;
        options.validate()?;
        // Pacts first: a malformed one is a usage error to report at once, not after
        // waiting for a provider that may not be up yet.
        let pacts = load_all(options).await?;
        let producer_server = match &self.producers {
            Some(producers) => Some(ProducerServer::start(producers.clone()).await.map_err(
                |err| VerifyError::InvalidOptions {
                    problem: format!("cannot serve the in-process message producers: {err}"),
                },
            )?),
            None => None,
        };
        let messages_url = match (&producer_server, &base_url) {
            (Some(server), _) => server.url.clone(),
            (None, Some(base_url)) => messages_url(base_url, options.messages_path.as_deref())?,
            (None, None) => unreachable_base_url()?,
        };
        let base_url = match base_url {
            Some(base_url) => {
                wait_for_provider(
                    &base_url,
                    options.provider_ready_timeout,
                    options.request_timeout.min(Duration::from_secs(5)),
                )
                .await?;
                base_url
            }
            None => messages_url.clone(),
        };
        info!(count = pacts.len(), provider = %options.provider, "verifying pacts");

        // pact_verifier installs the process-wide TLS crypto provider (ring) lazily, for
        // every interaction; pacts verified in parallel race to do it and the losers log a
        // warning. Installing the same provider once, first, removes the race.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let context = Arc::new(RunContext {
            options: options.clone(),
            provider: provider_info(&options.provider, &base_url, &messages_url),
            messages_url: messages_url.clone(),
            producer_failures: producer_server
                .as_ref()
                .map(|server| server.failures.clone()),
        });
        // pact_verifier's futures are not `Send`, so they cannot be spawned as tasks. Each
        // pact is verified on a blocking-pool thread that drives its future with the
        // runtime's handle: several pacts then use several cores. `buffered` keeps the
        // report in the order the pacts were loaded.
        let runtime = tokio::runtime::Handle::current();
        let reports = futures::stream::iter(pacts)
            .map(|pact| {
                let context = Arc::clone(&context);
                let runtime = runtime.clone();
                async move {
                    let consumer = pact.consumer.clone();
                    let source = pact.source.clone();
                    let provider = pact.provider.clone();
                    let task = tokio::task::spawn_blocking(move || {
                        runtime.block_on(verify_and_publish(context, pact))
                    });
                    match task.await {
                        Ok(report) => report,
                        Err(join_error) => PactReport {
                            consumer,
                            provider,
                            source,
                            pending: false,
                            wip: false,
                            selection: None,
                            notices: Vec::new(),
                            interactions: Vec::new(),
                            error: Some(format!("the verification task failed: {join_error}")),
                            publication: Publication::Skipped {
                                reason: "the pact was not verified".into(),
                            },
                        },
                    }
                }
            })
            .buffered(options.parallel.max(1))
            .collect::<Vec<_>>()
            .await;
        drop(producer_server);
        Ok(VerificationReport {
            provider: options.provider.clone(),
            pacts: reports,
        })
    }
}

fn unreachable_base_url() -> Result<Url, VerifyError> {
    Err(VerifyError::InvalidOptions {
        problem: "the provider's base URL is missing (--provider-base-url)".into(),
    })
}

/// Where message interactions are asked for: the base URL, or its origin with
/// `messages_path` (`--messages-path`) when the provider serves messages apart.
fn messages_url(base_url: &Url, messages_path: Option<&str>) -> Result<Url, VerifyError> {
    let Some(path) = messages_path else {
        return Ok(base_url.clone());
    };
    if !path.starts_with('/') {
        return Err(VerifyError::InvalidOptions {
            problem: format!(
                "--messages-path {path:?} must be a path starting with / (e.g. /_pact/messages)"
            ),
        });
    }
    let mut url = base_url.clone();
    url.set_path(path);
    url.set_query(None);
    Ok(url)
}

struct RunContext {
    options: VerifyOptions,
    provider: ProviderInfo,
    messages_url: Url,
    producer_failures: Option<ProducerFailures>,
}

fn transport(kind: &str, url: &Url) -> ProviderTransport {
    let path = url.path().trim_end_matches('/');
    ProviderTransport {
        transport: kind.to_string(),
        port: url.port_or_known_default(),
        path: (!path.is_empty()).then(|| path.to_string()),
        scheme: Some(url.scheme().to_string()),
    }
}

/// HTTP interactions go to `base_url`, messages to `messages_url` (pact_verifier picks the
/// `message` transport for them; without one it would fall back to localhost:8080).
fn provider_info(name: &str, base_url: &Url, messages_url: &Url) -> ProviderInfo {
    // Messages of a V4 pact may name a transport of their own (`kafka`, …): pact_verifier then
    // looks for it and, finding none, falls back to these deprecated fields.
    #[allow(deprecated)]
    ProviderInfo {
        name: name.to_string(),
        host: base_url.host_str().unwrap_or("localhost").to_string(),
        transports: vec![
            transport("http", base_url),
            transport("message", messages_url),
        ],
        protocol: messages_url.scheme().to_string(),
        port: messages_url.port_or_known_default(),
        path: messages_url.path().to_string(),
    }
}

async fn verify_and_publish(context: Arc<RunContext>, pact: LoadedPact) -> PactReport {
    let options = &context.options;
    let LoadedPact {
        consumer,
        provider,
        source,
        pact,
        broker,
        pending,
        wip,
        selection,
        notices,
    } = pact;
    let (interactions, error) = verify_pact(&context, pact, pending).await;
    let mut report = PactReport {
        consumer,
        provider,
        source,
        pending,
        wip,
        selection,
        notices: notices
            .iter()
            .filter(|notice| notice.when == "before_verification")
            .map(|notice| notice.text.clone())
            .collect(),
        interactions,
        error,
        publication: Publication::NotRequested,
    };
    if options.publish
        && let Some(broker) = broker
    {
        report.publication = publish(&context, &broker, &report).await;
    }
    report
}

/// Verifies one pact with `pact_verifier`'s per-pact entry point (not `verify_provider`,
/// which also sends usage data).
async fn verify_pact(
    context: &RunContext,
    mut pact: Box<dyn pact_models::pact::Pact + Send + Sync + std::panic::RefUnwindSafe>,
    pending: bool,
) -> (Vec<InteractionReport>, Option<String>) {
    let options = &context.options;
    // Interactions from files have no ids, but pact_verifier reports state change failures
    // only by interaction id. Give every interaction an id for this run; the broker's own
    // ids are kept aside and put back in the report (and in published results).
    let original_ids: Vec<Option<String>> = pact
        .interactions()
        .iter()
        .map(|interaction| interaction.id())
        .collect();
    let messages: Vec<bool> = pact
        .interactions()
        .iter()
        .map(|interaction| interaction.is_message())
        .collect();
    for (index, interaction) in pact.interactions_mut().into_iter().enumerate() {
        interaction.set_id(Some(format!("{RUN_ID_PREFIX}{index}")));
    }

    let executor = Arc::new(StateChangeExecutor::new(options.state_change.clone()));
    let verification_options: VerificationOptions<NullRequestFilterExecutor> =
        VerificationOptions {
            request_filter: None,
            disable_ssl_verification: false,
            request_timeout: u64::try_from(options.request_timeout.as_millis()).unwrap_or(u64::MAX),
            custom_headers: options.headers.iter().cloned().collect::<HashMap<_, _>>(),
            coloured_output: false,
            no_pacts_is_error: true,
            exit_on_first_failure: false,
            run_last_failed_only: false,
            follow_redirects: true,
            broker_request_retries: 0,
        };
    let result = pact_verifier::verify_pact_internal(
        &context.provider,
        &options.filter.to_pact_filter(),
        pact,
        &verification_options,
        &executor,
        pending,
        Duration::ZERO,
    )
    .await;
    match result {
        Ok(result) => (
            result
                .results
                .iter()
                .map(|item| {
                    let mut report = interaction_report(item, &original_ids, &executor, options);
                    let is_message = run_index(item)
                        .and_then(|index| messages.get(index).copied())
                        .unwrap_or(false);
                    if is_message && report.error.is_none() && got_no_message(&report) {
                        report.error = Some(format!(
                            "the provider answered without a message (no content type, no \
                             metadata): is the message endpoint {} right? It must answer \
                             POST {{\"description\", \"providerStates\"}} with the message as \
                             the body, its Content-Type, and its metadata as base64 JSON in \
                             Pact-Message-Metadata (--messages-path sets its path)",
                            context.messages_url
                        ));
                    }
                    if let Some(failures) = &context.producer_failures
                        && let Ok(failures) = failures.lock()
                        && let Some(failure) = failures.get(&report.description)
                    {
                        report.status = InteractionStatus::Failed;
                        report.mismatches.clear();
                        report.error = Some(failure.clone());
                    }
                    report
                })
                .collect(),
            None,
        ),
        Err(error) => (Vec::new(), Some(format!("{error:#}"))),
    }
}

/// The index of an interaction in its pact, from the id it carries for the run.
fn run_index(result: &VerificationInteractionResult) -> Option<usize> {
    result
        .interaction_id
        .as_deref()?
        .strip_prefix(RUN_ID_PREFIX)?
        .parse()
        .ok()
}

/// A message interaction whose answer had no content type at all: an error page, a 404 or
/// 405 of a wrong path, an empty body. pact_verifier compares it anyway (it ignores the
/// status of a message endpoint), so the mismatches alone would not say what happened.
fn got_no_message(report: &InteractionReport) -> bool {
    report
        .mismatches
        .iter()
        .any(|m| m.kind == "body-type" && matches!(m.actual.as_str(), "" | "*/*"))
}

fn interaction_report(
    result: &VerificationInteractionResult,
    original_ids: &[Option<String>],
    executor: &StateChangeExecutor,
    options: &VerifyOptions,
) -> InteractionReport {
    let run_id = result.interaction_id.clone().unwrap_or_default();
    let original_id = run_id
        .strip_prefix(RUN_ID_PREFIX)
        .and_then(|index| index.parse::<usize>().ok())
        .and_then(|index| original_ids.get(index).cloned().flatten());
    let (status, mismatches, error) = match &result.result {
        Ok(()) => (InteractionStatus::Passed, Vec::new(), None),
        Err(MismatchResult::Mismatches { mismatches, .. }) => {
            let mut mismatches: Vec<_> = mismatches.iter().map(MismatchReport::from_pact).collect();
            // pact_matching's order depends on hash maps; reports must not change between runs.
            mismatches.sort_by(|a, b| (a.rank(), &a.path).cmp(&(b.rank(), &b.path)));
            (InteractionStatus::Failed, mismatches, None)
        }
        Err(MismatchResult::Error(message, _)) => {
            let error = match executor.failures_for(&run_id) {
                Some(failures) => failures.join("; "),
                None => explain_provider_error(message, options),
            };
            (InteractionStatus::Failed, Vec::new(), Some(error))
        }
    };
    InteractionReport {
        description: result.interaction_description.clone(),
        provider_states: result.provider_states.clone(),
        interaction_id: original_id,
        status,
        pending: result.pending,
        duration: result.duration,
        mismatches,
        error,
    }
}

/// pact_verifier's message for a request that got no answer names only the URL; say what
/// that means.
fn explain_provider_error(message: &str, options: &VerifyOptions) -> String {
    if message.starts_with("error sending request") || message.contains("operation timed out") {
        format!(
            "the provider did not answer ({message}): it timed out (--request-timeout is {}), \
             dropped the connection, or stopped",
            humanize(options.request_timeout)
        )
    } else {
        message.to_string()
    }
}

async fn publish(
    context: &RunContext,
    broker: &crate::load::BrokerPact,
    report: &PactReport,
) -> Publication {
    let options = &context.options;
    if let Some(error) = &report.error {
        return Publication::Skipped {
            reason: format!("the pact was not verified ({error})"),
        };
    }
    let Some(version) = options.provider_version.clone() else {
        return Publication::Skipped {
            reason: "no provider version was given".into(),
        };
    };
    let results = VerificationResults {
        success: report.passed(),
        provider_application_version: version.clone(),
        build_url: options.build_url.clone(),
        test_results: report.interactions.iter().map(interaction_result).collect(),
        verified_by: VerifiedBy {
            implementation: "Accord".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    };
    let provider = ProviderVersion {
        number: version,
        branch: options.provider_branch.clone(),
        tags: options.provider_tags.clone(),
    };
    match broker
        .client
        .publish_verification_results(&broker.fetched, &provider, &results)
        .await
    {
        Ok(created) => Publication::Published {
            url: created.link("self").map(|link| link.href),
        },
        Err(error) => {
            warn!(pact = %report.source, error = %error, "publishing verification results failed");
            Publication::Failed {
                message: error.to_string(),
            }
        }
    }
}

fn interaction_result(interaction: &InteractionReport) -> InteractionResult {
    InteractionResult {
        interaction_id: interaction.interaction_id.clone(),
        interaction_description: interaction.description.clone(),
        success: interaction.passed(),
        mismatches: interaction
            .mismatches
            .iter()
            .map(|mismatch| ResultMismatch {
                attribute: match mismatch.kind.as_str() {
                    "body-type" => "body".to_string(),
                    other => other.to_string(),
                },
                identifier: match mismatch.kind.as_str() {
                    "status" | "method" | "path" => None,
                    _ => Some(mismatch.path.clone()),
                },
                description: mismatch.description.clone(),
            })
            .collect(),
        exceptions: interaction
            .error
            .iter()
            .map(|message| ResultException {
                message: message.clone(),
            })
            .collect(),
    }
}
