//! `accord can-i-deploy --plan`: whether several versions can go out one service at a
//! time, and in which order.
//!
//! Deploying a set of versions one by one passes through intermediate states: after each
//! step, the versions deployed so far run beside the old versions of the rest and beside
//! everything else in the target. A state is determined by *which* versions of the set
//! are out, not by the order they went in, so the broker is asked once per subset
//! ("can these go together into the target?", the same matrix question as a plain
//! several-pair can-i-deploy), and [`decide`] then finds, without the broker, the path
//! from nothing deployed to everything deployed whose every state is verified, with as
//! many steps as possible. Where no single version can go next, the smallest group that
//! can is a step of its own, and the answer says why each of its members cannot go alone.

use std::process::ExitCode;

use accord_broker_client::{DeployTarget, Matrix, Selection, VersionSelector};
use serde_json::{Value, json};

use super::super::client::{TableOrJson, out, outln, usage};
use super::{CanIDeployArgs, answer_code, matrix_failure, matrix_json, matrix_table};

/// More versions than this make too many states to ask about (2^n).
pub const MAX_VERSIONS: usize = 8;

/// One step of a plan: the versions (indices into the selections) that go out
/// together, and why each of them could not go out alone at that point (for a group)
/// or earlier (for a version that had to wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub deploy: Vec<usize>,
    /// (version, the state it was tried in) for each member that could not go alone
    /// there; the state is a subset bitmask.
    pub not_alone: Vec<(usize, u32)>,
}

/// What [`decide`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every state along these steps is verified.
    Steps(Vec<Step>),
    /// The whole set cannot go into the target, not even at once.
    Never,
}

/// Finds the plan with the most steps over the states' verdicts. `safe[mask]` says
/// whether the versions in `mask` (bit i = selection i) can be out together with the
/// old versions of the rest; nothing deployed (`mask` 0) is the current state and
/// always safe. Ties go to the plan whose first differing step is smaller, then to the
/// one that follows the order the versions were given in.
pub fn decide(count: usize, safe: &[bool]) -> Plan {
    assert!(count <= MAX_VERSIONS && safe.len() == 1 << count);
    let full: u32 = (1u32 << count) - 1;
    if !safe[full as usize] {
        return Plan::Never;
    }
    // best[mask]: the longest way from `mask` to everything, as a list of step masks.
    let mut best: Vec<Option<Vec<u32>>> = vec![None; 1 << count];
    best[full as usize] = Some(Vec::new());
    for mask in (0..full).rev() {
        if mask != 0 && !safe[mask as usize] {
            continue;
        }
        let rest = full & !mask;
        let mut chosen: Option<Vec<u32>> = None;
        // Every non-empty subset of what is still to go.
        let mut group = rest;
        while group != 0 {
            let next = mask | group;
            if safe[next as usize]
                && let Some(tail) = &best[next as usize]
            {
                let mut candidate = Vec::with_capacity(tail.len() + 1);
                candidate.push(group);
                candidate.extend_from_slice(tail);
                if chosen
                    .as_ref()
                    .is_none_or(|current| better(&candidate, current))
                {
                    chosen = Some(candidate);
                }
            }
            group = (group - 1) & rest;
        }
        best[mask as usize] = chosen;
    }
    let Some(masks) = best[0].take() else {
        // Unreachable while everything is safe: the whole set is one step.
        return Plan::Never;
    };
    let mut state = 0u32;
    let mut steps = Vec::new();
    for group in masks {
        let deploy = members(group);
        let mut not_alone = Vec::new();
        for &member in &deploy {
            let bit = 1u32 << member;
            if deploy.len() > 1 && !safe[(state | bit) as usize] {
                not_alone.push((member, state));
            } else if state != 0 && !safe[bit as usize] {
                not_alone.push((member, 0));
            }
        }
        steps.push(Step { deploy, not_alone });
        state |= group;
    }
    Plan::Steps(steps)
}

/// More steps first; then smaller steps early; then the given order.
fn better(candidate: &[u32], current: &[u32]) -> bool {
    if candidate.len() != current.len() {
        return candidate.len() > current.len();
    }
    for (a, b) in candidate.iter().zip(current) {
        if a != b {
            let (sa, sb) = (a.count_ones(), b.count_ones());
            if sa != sb {
                return sa < sb;
            }
            return members(*a) < members(*b);
        }
    }
    false
}

fn members(mask: u32) -> Vec<usize> {
    (0..32).filter(|i| mask & (1 << i) != 0).collect()
}

/// Asks the broker about every state, decides, and prints the plan.
pub async fn run(args: &CanIDeployArgs, target: DeployTarget) -> anyhow::Result<ExitCode> {
    let count = args.selections.len();
    if count > MAX_VERSIONS {
        return Ok(usage(format!(
            "--plan orders at most {MAX_VERSIONS} versions ({count} given): plan the ones that depend on each other, or ask without --plan whether all can go at once"
        )));
    }
    let client = args.broker.client()?;
    let full = (1usize << count) - 1;
    let mut answers: Vec<Option<Matrix>> = vec![None; 1 << count];
    // The whole set first: when it cannot go at all, nothing else needs asking.
    for mask in std::iter::once(full).chain(1..full) {
        let selections: Vec<Selection> = members(mask as u32)
            .into_iter()
            .map(|i| args.selections[i].clone())
            .collect();
        match client
            .can_i_deploy_together(&selections, &target, &args.ignore, Some(args.drift.into()))
            .await
        {
            Ok(matrix) => answers[mask] = Some(matrix),
            Err(error) => return Ok(matrix_failure(&error, &target)),
        }
        if mask == full && !is_safe(answers[full].as_ref()) {
            break;
        }
    }
    let safe: Vec<bool> = (0..answers.len())
        .map(|mask| mask == 0 || is_safe(answers[mask].as_ref()))
        .collect();
    let plan = decide(count, &safe);
    let labels: Vec<String> = args
        .selections
        .iter()
        .map(|s| label(s, answers[full].as_ref()))
        .collect();
    let target_name = match &target {
        DeployTarget::Environment(environment) => environment.clone(),
        DeployTarget::Tag(tag) => format!("the versions tagged {tag}"),
        DeployTarget::Latest => "the latest versions".to_string(),
    };
    let full_matrix = answers[full].as_ref();
    match args.output {
        TableOrJson::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&plan_json(
                &plan,
                &args.selections,
                &labels,
                &answers,
                &target
            ))?
        ),
        TableOrJson::Table => out!(
            "{}",
            plan_text(&plan, &labels, &answers, &target_name, full_matrix)
        ),
    }
    Ok(answer_code(matches!(plan, Plan::Steps(_)), args.dry_run))
}

fn is_safe(matrix: Option<&Matrix>) -> bool {
    matrix.is_some_and(|m| m.summary.deployable == Some(true))
}

/// "orders 2.1", with the version the broker resolved for a `--latest`/`--branch`.
fn label(selection: &Selection, full: Option<&Matrix>) -> String {
    let resolved = full.and_then(|matrix| {
        matrix.matrix.iter().find_map(|row| {
            [&row.consumer, &row.provider]
                .into_iter()
                .find(|party| party.name == selection.pacticipant)
                .and_then(|party| party.version.as_ref())
                .map(|v| v.number.clone())
        })
    });
    let version = match (&selection.version, resolved) {
        (VersionSelector::Number(number), _) => number.clone(),
        (_, Some(number)) => number,
        (VersionSelector::Latest { tag: None }, None) => "(latest)".to_string(),
        (VersionSelector::Latest { tag: Some(tag) }, None) => format!("(latest {tag})"),
        (VersionSelector::LatestOnBranch(branch), None) => format!("(latest on {branch})"),
        (VersionSelector::MainBranch, None) => "(latest on the main branch)".to_string(),
    };
    format!("{} {version}", selection.pacticipant)
}

/// Why a state is not safe, a line per pair that is not verified (or the broker's
/// reasons when no row says it).
fn blockers(matrix: Option<&Matrix>) -> Vec<String> {
    let Some(matrix) = matrix else {
        return vec!["not asked".to_string()];
    };
    let mut lines = Vec::new();
    for row in matrix.matrix.iter().filter(|row| !row.ignored) {
        let version = |party: &accord_broker_client::MatrixParty| {
            party
                .version
                .as_ref()
                .map_or(String::new(), |v| format!(" {}", v.number))
        };
        let pair = format!(
            "{}{} with {}{}",
            row.consumer.name,
            version(&row.consumer),
            row.provider.name,
            version(&row.provider)
        );
        match &row.verification_result {
            Some(result) if result.success => {}
            Some(_) => lines.push(format!("{pair}: verification failed")),
            None if row.provider.version.is_none() => lines.push(format!(
                "{pair}: no verified version of {} for this pact",
                row.provider.name
            )),
            None => lines.push(format!("{pair}: not verified")),
        }
    }
    if let Some(drift) = matrix.drift.as_ref().filter(|d| d.blocking) {
        lines.extend(drift.findings.iter().map(|f| f.text.clone()));
    }
    if lines.is_empty() {
        lines.extend(
            matrix
                .summary
                .reason
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    lines
}

fn state_text(state: u32, labels: &[String]) -> String {
    if state == 0 {
        "first".to_string()
    } else {
        let done: Vec<&str> = members(state)
            .into_iter()
            .map(|i| labels[i].as_str())
            .collect();
        format!("after {}", done.join(", "))
    }
}

fn plan_text(
    plan: &Plan,
    labels: &[String],
    answers: &[Option<Matrix>],
    target: &str,
    full: Option<&Matrix>,
) -> String {
    let mut out = String::new();
    let steps = match plan {
        Plan::Never => {
            out.push_str(&format!(
                "These versions cannot go to {target}, not even together:\n\n"
            ));
            if let Some(matrix) = full {
                out.push_str(&matrix_table(matrix));
            }
            return out;
        }
        Plan::Steps(steps) => steps,
    };
    if steps.len() == labels.len() {
        out.push_str(&format!(
            "Deploy to {target} one at a time, in this order; every state along the way is verified:\n"
        ));
    } else if steps.len() == 1 {
        out.push_str(&format!(
            "Deploy to {target} all at once: no version can go before the others.\n"
        ));
    } else {
        out.push_str(&format!(
            "Deploy to {target} in {} steps; every state along the way is verified:\n",
            steps.len()
        ));
    }
    for (n, step) in steps.iter().enumerate() {
        let names: Vec<&str> = step.deploy.iter().map(|&i| labels[i].as_str()).collect();
        if names.len() == 1 {
            out.push_str(&format!("  {}. {}\n", n + 1, names[0]));
        } else {
            out.push_str(&format!("  {}. together: {}\n", n + 1, names.join(" and ")));
        }
        for (member, state) in &step.not_alone {
            let mask = (state | (1 << member)) as usize;
            out.push_str(&format!(
                "     {} cannot go {}:\n",
                labels[*member],
                state_text(*state, labels)
            ));
            for line in blockers(answers[mask].as_ref()) {
                out.push_str(&format!("       {line}\n"));
            }
        }
    }
    out.push_str("\nComputer says yes \\o/\n");
    out
}

fn plan_json(
    plan: &Plan,
    selections: &[Selection],
    labels: &[String],
    answers: &[Option<Matrix>],
    target: &DeployTarget,
) -> Value {
    let target = match target {
        DeployTarget::Environment(environment) => json!({"environment": environment}),
        DeployTarget::Tag(tag) => json!({"tag": tag}),
        DeployTarget::Latest => json!({"latest": true}),
    };
    let version = |i: usize| {
        let number = labels[i]
            .strip_prefix(&format!("{} ", selections[i].pacticipant))
            .unwrap_or(&labels[i]);
        json!({"pacticipant": selections[i].pacticipant, "version": number})
    };
    match plan {
        Plan::Never => json!({
            "deployable": false,
            "target": target,
            "steps": [],
            "reason": "These versions cannot go into the target, not even together.",
            "matrix": answers[answers.len() - 1].as_ref().map(matrix_json),
        }),
        Plan::Steps(steps) => json!({
            "deployable": true,
            "target": target,
            "oneAtATime": steps.len() == selections.len(),
            "steps": steps.iter().map(|step| json!({
                "deploy": step.deploy.iter().map(|&i| version(i)).collect::<Vec<_>>(),
                "notAlone": step.not_alone.iter().map(|(member, state)| json!({
                    "version": version(*member),
                    "after": members(*state).into_iter().map(version).collect::<Vec<_>>(),
                    "blockers": blockers(answers[(state | (1 << member)) as usize].as_ref()),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdicts from a list of the safe states, written as sets of indices.
    fn safe(count: usize, states: &[&[usize]]) -> Vec<bool> {
        let mut safe = vec![false; 1 << count];
        safe[0] = true;
        for state in states {
            let mask: usize = state.iter().map(|i| 1 << i).sum();
            safe[mask] = true;
        }
        safe
    }

    fn order(plan: &Plan) -> Vec<Vec<usize>> {
        match plan {
            Plan::Steps(steps) => steps.iter().map(|s| s.deploy.clone()).collect(),
            Plan::Never => panic!("no plan"),
        }
    }

    #[test]
    fn a_set_that_cannot_go_even_together_has_no_plan() {
        assert_eq!(decide(2, &safe(2, &[&[0], &[1]])), Plan::Never);
        assert_eq!(decide(1, &safe(1, &[])), Plan::Never);
    }

    #[test]
    fn one_version_is_one_step() {
        assert_eq!(order(&decide(1, &safe(1, &[&[0]]))), vec![vec![0]]);
    }

    #[test]
    fn the_provider_goes_first_when_only_it_is_compatible_with_the_old_consumer() {
        // 0: a consumer that needs the new provider; 1: the new provider, which still
        // serves the old consumer.
        let plan = decide(2, &safe(2, &[&[1], &[0, 1]]));
        assert_eq!(order(&plan), vec![vec![1], vec![0]]);
        let Plan::Steps(steps) = plan else {
            unreachable!()
        };
        // The consumer waited because it could not go first.
        assert_eq!(steps[1].not_alone, vec![(0, 0)]);
        assert!(steps[0].not_alone.is_empty());
    }

    #[test]
    fn either_order_follows_the_given_one() {
        assert_eq!(
            order(&decide(2, &safe(2, &[&[0], &[1], &[0, 1]]))),
            vec![vec![0], vec![1]]
        );
    }

    #[test]
    fn a_pair_that_only_works_together_is_one_step_with_both_reasons() {
        let plan = decide(2, &safe(2, &[&[0, 1]]));
        assert_eq!(order(&plan), vec![vec![0, 1]]);
        let Plan::Steps(steps) = plan else {
            unreachable!()
        };
        assert_eq!(steps[0].not_alone, vec![(0, 0), (1, 0)]);
    }

    #[test]
    fn a_chain_is_ordered_and_a_locked_pair_stays_as_small_as_it_can() {
        // 2 must go first; then 0 and 1 only together.
        let plan = decide(3, &safe(3, &[&[2], &[0, 1, 2]]));
        assert_eq!(order(&plan), vec![vec![2], vec![0, 1]]);
        // A chain 2 -> 1 -> 0.
        let chain = decide(3, &safe(3, &[&[2], &[1, 2], &[0, 1, 2]]));
        assert_eq!(order(&chain), vec![vec![2], vec![1], vec![0]]);
    }

    #[test]
    fn the_longest_path_wins_over_a_greedy_first_step() {
        // Going with 0 first leads to a dead end where 1 and 2 must go together;
        // starting with 1 allows three single steps.
        let plan = decide(3, &safe(3, &[&[0], &[1], &[1, 2], &[0, 1, 2]]));
        assert_eq!(order(&plan), vec![vec![1], vec![2], vec![0]]);
    }

    #[test]
    fn eight_versions_decide_quickly() {
        let count = MAX_VERSIONS;
        // Only the full set and every prefix of the reverse order are safe.
        let mut states: Vec<Vec<usize>> = Vec::new();
        for k in 1..=count {
            states.push((count - k..count).collect());
        }
        let refs: Vec<&[usize]> = states.iter().map(Vec::as_slice).collect();
        let plan = decide(count, &safe(count, &refs));
        let expected: Vec<Vec<usize>> = (0..count).rev().map(|i| vec![i]).collect();
        assert_eq!(order(&plan), expected);
    }
}
