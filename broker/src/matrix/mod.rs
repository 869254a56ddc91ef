//! The matrix and can-i-deploy: which pacts and verification results join the
//! versions a query names, and whether those versions can be deployed together.
//!
//! A query names versions with selectors (`Foo 1.2.3`, `Bar latest tagged prod`,
//! `Baz in production`). The broker finds the integrations those versions take
//! part in, infers the versions on the other side of each integration from the
//! options (`environment`, `tag`, `latest`, `mainBranch`), and builds one row per
//! pact and verification result: each pact of a selected consumer version, joined
//! with the verifications of the same content by the selected provider versions
//! (a pact nobody in the selection verified gives a row without a result).
//!
//! The decision follows the Pact Broker: `false` when a named version does not
//! exist or a considered result failed, `null` (unknown) when a result is
//! missing, `true` otherwise. Beyond the Pact Broker, every blocker comes with one
//! line saying which versions and which pact are involved and the command that
//! would fix it.

mod decide;
mod links;
mod model;
mod query;
mod reader;
mod words;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::domain::{PacticipantName, VersionNumber};
use crate::drift::{self, CandidatePact, CandidateProvider, DriftMode};
use crate::store::{Pacticipant, Publication, PublicationFilter, Store, StoreError, Verification};

use decide::{Decision, Gathered, decide, ignores_pacticipant, ignores_version};
pub use model::{DriftOutcome, Notice, NoticeKind, Outcome, Row};
use model::{IgnoreRule, Link, Scope, Side, VersionRef};
pub use query::{IgnoreSpec, LatestBy, MatrixError, MatrixQuery, Options, SelectorSpec};
use reader::Reader;
use words::Words;

fn scope_of(spec: &SelectorSpec, pacticipant: &Pacticipant) -> Scope {
    if let Some(version) = &spec.version {
        Scope::Version(version.clone())
    } else if spec.main_branch {
        let main = pacticipant.main_branch.clone();
        if spec.latest {
            Scope::MainBranchHead(main)
        } else {
            Scope::OnMainBranch(main)
        }
    } else if let Some(branch) = &spec.branch {
        if spec.latest {
            Scope::BranchHead(branch.clone())
        } else {
            Scope::OnBranch(branch.clone())
        }
    } else if let Some(tag) = &spec.tag {
        if spec.latest {
            Scope::LatestWithTag(tag.clone())
        } else {
            Scope::WithTag(tag.clone())
        }
    } else if let Some(environment) = &spec.environment {
        Scope::InEnvironment(environment.clone())
    } else if spec.latest {
        Scope::Latest
    } else {
        Scope::Every
    }
}

/// The scope the options give the other side of an integration.
fn inferred_scope(options: &Options, pacticipant: &Pacticipant) -> Scope {
    if let Some(environment) = &options.environment {
        Scope::InEnvironment(environment.clone())
    } else if let Some(tag) = &options.tag {
        Scope::LatestWithTag(tag.clone())
    } else if options.main_branch {
        Scope::MainBranchHead(pacticipant.main_branch.clone())
    } else if options.latest {
        Scope::Latest
    } else {
        Scope::Every
    }
}

/// Answers a matrix query. `base` is the broker's base URL, used in the links and
/// commands of the messages.
pub async fn evaluate(
    store: &dyn Store,
    base: &str,
    query: &MatrixQuery,
) -> Result<Outcome, MatrixError> {
    let mut reader = Reader::new(store);
    let mut errors = Vec::new();
    let mut specified: Vec<(SelectorSpec, Pacticipant)> = Vec::new();
    for spec in &query.selectors {
        let found = match PacticipantName::parse("pacticipant", &spec.pacticipant) {
            Ok(name) => store.pacticipant(&name).await?,
            Err(_) => None,
        };
        match found {
            Some(p) => specified.push((spec.clone(), p)),
            None => errors.push(format!("Pacticipant {} not found", spec.pacticipant)),
        }
    }
    if let Some(environment) = &query.options.environment
        && reader.environment(environment).await?.is_none()
    {
        errors.push(format!(
            "Environment with name '{environment}' does not exist"
        ));
    }
    errors.extend(query.option_errors());
    if !errors.is_empty() {
        return Err(MatrixError::Invalid(errors));
    }

    // Ignore selectors: those naming nothing become warnings.
    let mut warnings = Vec::new();
    let mut rules = Vec::new();
    for spec in &query.ignore {
        let pacticipant = match PacticipantName::parse("pacticipant", &spec.pacticipant) {
            Ok(name) => store.pacticipant(&name).await?,
            Err(_) => None,
        };
        let Some(pacticipant) = pacticipant else {
            warnings.push(format!(
                "WARNING: Cannot ignore {}: no pacticipant with that name exists",
                spec.pacticipant
            ));
            continue;
        };
        let version_id = match &spec.version {
            None => None,
            Some(number) => {
                let found = match VersionNumber::parse("version", number) {
                    Ok(n) => store.version(pacticipant.id, &n).await?,
                    Err(_) => None,
                };
                match found {
                    Some(v) => Some(v.id),
                    None => {
                        warnings.push(format!(
                            "WARNING: Cannot ignore version {number} of {}: it does not exist",
                            pacticipant.name
                        ));
                        continue;
                    }
                }
            }
        };
        rules.push(IgnoreRule {
            pacticipant_id: pacticipant.id,
            version_id,
        });
    }
    let ignores_pacticipant = |id: i64| ignores_pacticipant(&rules, id);

    // The specified sides.
    let mut sides: Vec<Side> = Vec::new();
    for (spec, pacticipant) in specified {
        let scope = scope_of(&spec, &pacticipant);
        let versions = reader.resolve(&pacticipant, &scope).await?;
        let ignored = ignores_pacticipant(pacticipant.id)
            || versions.as_ref().is_some_and(|vs| {
                !vs.is_empty()
                    && vs
                        .iter()
                        .all(|v| ignores_version(&rules, pacticipant.id, v.id))
            });
        sides.push(Side {
            pacticipant,
            scope,
            versions,
            ignored,
        });
    }
    let specified_count = sides.len();

    // The integrations, and the sides they need on the other end: what deciding them
    // needs is read first (each named pacticipant's integrations, the pacts of each
    // selected version), then `links` decides.
    let named_versions: Vec<i64> = sides
        .iter()
        .filter_map(|s| s.versions.as_ref())
        .flatten()
        .map(|v| v.id)
        .collect();
    reader.prefetch_publications(&named_versions).await?;
    for side in &sides {
        reader.integrations(side.pacticipant.id).await?;
    }
    let known = links::Known {
        integrations: &reader.integrations,
        publications: &reader.publications_of_version,
    };
    let mut inferred: HashMap<i64, usize> = HashMap::new();
    let links = if query.options.infers() || specified_count == 1 {
        let partners = links::partners(&sides, specified_count, &known);
        let others: Vec<i64> = partners.iter().map(|p| p.other).collect();
        add_inferred_sides(
            &others,
            &mut sides,
            specified_count,
            &mut inferred,
            &query.options,
            &mut reader,
        )
        .await?;
        links::to_partners(&partners, &sides, specified_count, &inferred)
    } else {
        // Several selectors and no option: only the integrations between them.
        links::between(&sides, &known)
    };

    // The rows. The publications of every selected consumer version, and then the
    // results for every content they name, are read in one go.
    let selected_versions: Vec<i64> = links
        .iter()
        .filter_map(|l| sides[l.consumer].versions.as_ref())
        .flatten()
        .map(|v| v.id)
        .collect();
    reader.prefetch_publications(&selected_versions).await?;
    let mut contents_by_provider: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for link in &links {
        let provider_id = sides[link.provider].pacticipant.id;
        if let Some(versions) = &sides[link.consumer].versions {
            for v in versions {
                for pp in &reader.publications_of_version[&v.id] {
                    if pp.provider_id == provider_id {
                        contents_by_provider
                            .entry(provider_id)
                            .or_default()
                            .push(pp.pact_version_id);
                    }
                }
            }
        }
    }
    reader.prefetch_verifications(&contents_by_provider).await?;
    let mut rows: Vec<Row> = Vec::new();
    let mut seen: HashSet<(i64, Option<i64>)> = HashSet::new();
    for (link_index, link) in links.iter().enumerate() {
        let consumer = &sides[link.consumer];
        let provider = &sides[link.provider];
        let provider_id = provider.pacticipant.id;
        let publications: Vec<Publication> = match &consumer.versions {
            Some(versions) => {
                let mut found = Vec::new();
                for v in versions {
                    found.extend(
                        reader
                            .publications_of_version(v.id)
                            .await?
                            .into_iter()
                            .filter(|pp| pp.provider_id == provider_id),
                    );
                }
                found
            }
            None => {
                let all = store
                    .publications(PublicationFilter {
                        consumer_id: Some(consumer.pacticipant.id),
                        provider_id: Some(provider_id),
                        ..Default::default()
                    })
                    .await?;
                // Every version of the consumer: their results in one read too.
                let contents = all.iter().map(|pp| pp.pact_version_id).collect();
                reader
                    .prefetch_verifications(&BTreeMap::from([(provider_id, contents)]))
                    .await?;
                all
            }
        };
        // A pact without a matching result is a row of its own, unless every
        // consumer version is selected against particular provider versions: then
        // only what those provider versions verified is of interest.
        let unverified_rows = consumer.versions.is_some() || provider.versions.is_none();
        for pp in publications {
            let verifications: Vec<Verification> = reader
                .verifications(pp.pact_version_id, provider_id)
                .await?
                .into_iter()
                .filter(|v| provider.contains(v.provider_version_id))
                .collect();
            if verifications.is_empty() {
                if unverified_rows && seen.insert((pp.id, None)) {
                    rows.push(Row {
                        publication: pp,
                        verification: None,
                        ignored: false,
                        link: link_index,
                    });
                }
                continue;
            }
            for v in verifications {
                if seen.insert((pp.id, Some(v.id))) {
                    rows.push(Row {
                        publication: pp.clone(),
                        verification: Some(v),
                        ignored: false,
                        link: link_index,
                    });
                }
            }
        }
    }
    let Decision {
        considered,
        ignored,
        missing_links,
        empty_sides,
        mut deployable,
        counts,
    } = decide(Gathered {
        rows,
        sides: &sides,
        specified: specified_count,
        links: &links,
        rules: &rules,
        latestby: query.options.latestby,
        success: &query.options.success,
        ignore_given: !query.ignore.is_empty(),
    });
    let missing_links: Vec<&Link> = missing_links.iter().map(|&i| &links[i]).collect();
    let empty_sides: Vec<&Side> = empty_sides.iter().map(|&i| &sides[i]).collect();

    // The reasons, one actionable line each.
    let words = Words {
        base,
        sides: &sides,
        links: &links,
    };
    let mut reasons: Vec<Notice> = Vec::new();
    if !empty_sides.is_empty() {
        for side in &empty_sides {
            let line = words.empty_side(side, &mut reader).await?;
            if side.ignored {
                reasons.push(Notice::new(NoticeKind::Info, format!("Ignoring: {line}")));
            } else {
                reasons.push(Notice::new(NoticeKind::Error, line));
            }
        }
    } else {
        for link in &missing_links {
            reasons.push(Notice::new(NoticeKind::Warning, words.missing_link(link)));
        }
        for row in considered.iter().filter(|r| r.success() == Some(false)) {
            reasons.push(Notice::new(NoticeKind::Error, words.failed(row)));
        }
        for row in considered.iter().filter(|r| r.success().is_none()) {
            let line = words.unverified(row, &mut reader).await?;
            reasons.push(Notice::new(NoticeKind::Warning, line));
        }
        if deployable == Some(true) {
            let text = if considered.is_empty() {
                "There are no missing dependencies"
            } else {
                "All required verification results are published and successful"
            };
            reasons.insert(0, Notice::new(NoticeKind::Success, text));
        }
        for row in ignored.iter().filter(|r| r.success() != Some(true)) {
            let line = match row.success() {
                Some(_) => words.failed(row),
                None => words.unverified(row, &mut reader).await?,
            };
            reasons.push(Notice::new(NoticeKind::Info, format!("Ignoring: {line}")));
        }
    }
    let mut unique_reasons: Vec<Notice> = Vec::new();
    for notice in reasons {
        if !unique_reasons.contains(&notice) {
            unique_reasons.push(notice);
        }
    }
    let mut reasons = unique_reasons;
    for warning in warnings {
        reasons.push(Notice::new(NoticeKind::Warning, warning));
    }

    // Advice and partial results: notices that are not reasons.
    let mut notices = Vec::new();
    let o = &query.options;
    if specified_count == 1 && o.tag.is_none() && o.environment.is_none() && !o.main_branch {
        notices.push(Notice::new(
            NoticeKind::Warning,
            "WARN: It is recommended to specify the environment into which you are deploying. Without it, the answer is about the latest versions of the other applications, not about what is deployed.",
        ));
    }
    if sides[..specified_count]
        .iter()
        .all(|s| !matches!(s.scope, Scope::Version(_)))
    {
        notices.push(Notice::new(
            NoticeKind::Warning,
            "WARN: It is recommended to specify the version number (rather than latest) of the pacticipant you wish to deploy, as the latest version may change between this check and the deployment.",
        ));
    }
    notices.extend(words.partially_verified(&considered));

    // Open drift in the target environment (an Accord extension).
    let drift = match &o.environment {
        None => None,
        Some(environment) if o.drift == DriftMode::Ignore => Some(DriftOutcome {
            mode: o.drift,
            environment: environment.clone(),
            concerns: vec![],
        }),
        Some(environment) => {
            let mut pacts = Vec::new();
            let mut providers = Vec::new();
            for side in &sides[..specified_count] {
                let Some(versions) = side.versions.as_ref().filter(|vs| !vs.is_empty()) else {
                    continue;
                };
                for version in versions {
                    for pp in reader.publications_of_version(version.id).await? {
                        if !ignores_pacticipant(pp.provider_id) {
                            pacts.push(CandidatePact {
                                consumer: pp.consumer_name,
                                consumer_version: pp.consumer_version_number,
                                provider_id: pp.provider_id,
                                provider: pp.provider_name,
                                pact_version_id: pp.pact_version_id,
                            });
                        }
                    }
                }
                let id = side.pacticipant.id;
                let consumed = reader
                    .integrations(id)
                    .await?
                    .iter()
                    .any(|i| i.provider_id == id && i.consumer_id != id);
                if consumed {
                    providers.push(CandidateProvider {
                        pacticipant_id: id,
                        name: side.name().to_string(),
                        version: versions
                            .iter()
                            .map(|v| v.number.as_str())
                            .collect::<Vec<_>>()
                            .join(" or "),
                    });
                }
            }
            let assessment = match reader.environment(environment).await? {
                Some(env) => drift::assess(store, base, &env, o.drift, &pacts, &providers).await?,
                None => drift::Assessment::default(),
            };
            for concern in &assessment.concerns {
                match o.drift {
                    DriftMode::Block => {
                        reasons.push(Notice::new(NoticeKind::Error, concern.text.clone()));
                        deployable = Some(false);
                    }
                    DriftMode::Warn | DriftMode::Ignore => {
                        notices.push(Notice::new(NoticeKind::Warning, concern.text.clone()));
                    }
                }
            }
            for note in assessment.notes {
                notices.push(Notice::new(NoticeKind::Info, note));
            }
            Some(DriftOutcome {
                mode: o.drift,
                environment: environment.clone(),
                concerns: assessment.concerns,
            })
        }
    };

    let total = considered.len() + ignored.len();
    let mut rows: Vec<Row> = considered.into_iter().chain(ignored).collect();
    if let Some(limit) = query.options.limit
        && rows.len() > limit
    {
        rows.truncate(limit);
        notices.push(Notice::new(
            NoticeKind::Info,
            format!(
                "Showing {limit} of {total} rows (limit={limit}); the answer takes every row into account."
            ),
        ));
    }
    Ok(Outcome {
        deployable,
        counts,
        reasons,
        notices,
        rows,
        drift,
    })
}

/// Adds a side for each pacticipant at the other end of an integration that the query
/// does not name (and that has none yet), in the order given, with the versions the
/// options select. Read in a few queries for all of them: the pacticipants, and for an
/// environment what is deployed or released there. Pacticipants deleted while the query
/// runs get no side.
async fn add_inferred_sides(
    pacticipant_ids: &[i64],
    sides: &mut Vec<Side>,
    specified_count: usize,
    inferred: &mut HashMap<i64, usize>,
    options: &Options,
    reader: &mut Reader<'_>,
) -> Result<(), StoreError> {
    let mut new_ids: Vec<i64> = Vec::new();
    for id in pacticipant_ids {
        let known = sides[..specified_count]
            .iter()
            .any(|s| s.pacticipant.id == *id)
            || inferred.contains_key(id)
            || new_ids.contains(id);
        if !known {
            new_ids.push(*id);
        }
    }
    if new_ids.is_empty() {
        return Ok(());
    }
    // Every inferred side has the same environment scope, when there is one.
    let environment = match &options.environment {
        Some(name) => reader.environment(name).await?,
        None => None,
    };
    // The pacticipants and what is in the environment, at once.
    let (found, mut records) =
        tokio::try_join!(reader.store.pacticipants_by_ids(&new_ids), async {
            if environment.is_some() {
                reader.store.current_records_of(&new_ids).await
            } else {
                Ok(vec![])
            }
        })?;
    let mut found: HashMap<i64, Pacticipant> = found.into_iter().map(|p| (p.id, p)).collect();
    let mut in_environment: Option<HashMap<i64, Vec<VersionRef>>> = None;
    if options.environment.is_some() {
        let mut current: HashMap<i64, Vec<VersionRef>> = HashMap::new();
        if let Some(environment) = environment {
            records.retain(|r| r.environment_id == environment.id);
            // Newest first, each version once (deployed and released count alike).
            records.sort_by_key(|r| std::cmp::Reverse(r.version_id));
            records.dedup_by_key(|r| r.version_id);
            for r in records {
                current
                    .entry(r.pacticipant_id)
                    .or_default()
                    .push(VersionRef {
                        id: r.version_id,
                        number: r.version_number,
                    });
            }
        }
        in_environment = Some(current);
    }
    for id in new_ids {
        let Some(pacticipant) = found.remove(&id) else {
            continue;
        };
        let scope = inferred_scope(options, &pacticipant);
        let versions = match (&scope, in_environment.as_mut()) {
            (Scope::InEnvironment(_), Some(current)) => {
                Some(current.remove(&id).unwrap_or_default())
            }
            _ => reader.resolve(&pacticipant, &scope).await?,
        };
        sides.push(Side {
            pacticipant,
            scope,
            versions,
            ignored: false,
        });
        inferred.insert(id, sides.len() - 1);
    }
    Ok(())
}
