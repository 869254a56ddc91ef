//! The matrix's decision, over plain data: given every row the question's sides and
//! links produced, which rows count (`latestby`, `success[]`, ignore rules), which
//! required integrations have no row, which named selectors name no version, and so
//! whether the versions can be deployed together, with the summary's counts. No store:
//! the tables of tests below exercise the rules of the API reference (section 7.4)
//! without a database. `evaluate` gathers what this needs and words the answer.

use std::collections::HashMap;

use super::model::{Counts, IgnoreRule, Link, Row, Side};
use super::query::LatestBy;

/// Whether a rule ignores every version of the pacticipant.
pub(super) fn ignores_pacticipant(rules: &[IgnoreRule], id: i64) -> bool {
    rules
        .iter()
        .any(|r| r.pacticipant_id == id && r.version_id.is_none())
}

/// Whether a rule ignores this version of the pacticipant.
pub(super) fn ignores_version(rules: &[IgnoreRule], pacticipant_id: i64, version_id: i64) -> bool {
    rules
        .iter()
        .any(|r| r.pacticipant_id == pacticipant_id && r.version_id.is_none_or(|v| v == version_id))
}

/// What the decision needs, gathered from the store.
pub(super) struct Gathered<'a> {
    /// Every row the links produced, in any order.
    pub(super) rows: Vec<Row>,
    /// The sides: the named ones first (`specified` of them), then the inferred ones.
    pub(super) sides: &'a [Side],
    pub(super) specified: usize,
    pub(super) links: &'a [Link],
    pub(super) rules: &'a [IgnoreRule],
    pub(super) latestby: Option<LatestBy>,
    /// `success[]`: only rows whose result is one of these (all rows when empty).
    pub(super) success: &'a [bool],
    /// Whether the question named anything to ignore (the summary then counts them).
    pub(super) ignore_given: bool,
}

/// What the decision found.
pub(super) struct Decision {
    /// The rows that count, newest first.
    pub(super) considered: Vec<Row>,
    /// The rows an ignore rule covers.
    pub(super) ignored: Vec<Row>,
    /// Required links (indices) without any row.
    pub(super) missing_links: Vec<usize>,
    /// Named sides (indices) whose selector names no version.
    pub(super) empty_sides: Vec<usize>,
    /// `Some(false)`: a named version does not exist or a considered result failed;
    /// `None`: a considered result or a required integration is missing; else `Some(true)`.
    pub(super) deployable: Option<bool>,
    pub(super) counts: Counts,
}

/// Decides. The order of the rules is the API reference's: a named version that does
/// not exist makes the answer no, then a missing result makes it unknown (even beside a
/// failure), then every considered result must have succeeded.
pub(super) fn decide(g: Gathered<'_>) -> Decision {
    let mut rows = g.rows;
    // Most recent first: consumer name, consumer version (newest first), provider
    // name, then the newest verification first (a missing one before any).
    rows.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.publication.consumer_name.clone(),
                std::cmp::Reverse(r.publication.consumer_version_id),
                r.publication.provider_name.clone(),
                std::cmp::Reverse(r.verification.as_ref().map_or(i64::MAX, |v| v.id)),
            )
        };
        key(a).cmp(&key(b))
    });
    let rows = apply_latestby(g.latestby, rows);
    let mut rows: Vec<Row> = if g.success.is_empty() {
        rows
    } else {
        rows.into_iter()
            .filter(|r| r.success().is_some_and(|s| g.success.contains(&s)))
            .collect()
    };
    for row in &mut rows {
        let pp = &row.publication;
        row.ignored = ignores_version(g.rules, pp.consumer_id, pp.consumer_version_id)
            || row
                .verification
                .as_ref()
                .is_some_and(|v| ignores_version(g.rules, v.provider_id, v.provider_version_id))
            || (row.verification.is_none() && ignores_pacticipant(g.rules, pp.provider_id));
    }
    let (considered, ignored): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| !r.ignored);

    // Required integrations without any row (possible when `success[]` filtered
    // them away, or when nothing was published between the two).
    let missing_links: Vec<usize> = g
        .links
        .iter()
        .enumerate()
        .filter(|(_, l)| l.required)
        .filter(|(_, l)| {
            !ignores_pacticipant(g.rules, g.sides[l.consumer].pacticipant.id)
                && !ignores_pacticipant(g.rules, g.sides[l.provider].pacticipant.id)
        })
        .filter(|(_, l)| {
            let (c, p) = (
                &g.sides[l.consumer].pacticipant,
                &g.sides[l.provider].pacticipant,
            );
            !considered
                .iter()
                .chain(ignored.iter())
                .any(|r| r.publication.consumer_id == c.id && r.publication.provider_id == p.id)
        })
        .map(|(i, _)| i)
        .collect();

    // Named selectors that name no version.
    let empty_sides: Vec<usize> = g.sides[..g.specified]
        .iter()
        .enumerate()
        .filter(|(_, s)| s.versions.as_ref().is_some_and(Vec::is_empty))
        .map(|(i, _)| i)
        .collect();

    let deployable = if empty_sides.iter().any(|&i| !g.sides[i].ignored) {
        Some(false)
    } else if considered.iter().any(|r| r.success().is_none()) || !missing_links.is_empty() {
        None
    } else {
        Some(considered.iter().all(|r| r.success() == Some(true)))
    };
    let counts = Counts {
        success: considered
            .iter()
            .filter(|r| r.success() == Some(true))
            .count(),
        failed: considered
            .iter()
            .filter(|r| r.success() == Some(false))
            .count(),
        unknown: considered.iter().filter(|r| r.success().is_none()).count() + missing_links.len(),
        ignored: g.ignore_given.then_some(ignored.len()),
    };
    Decision {
        considered,
        ignored,
        missing_links,
        empty_sides,
        deployable,
        counts,
    }
}

/// Keeps the latest row per key; rows without a verification are all kept, as
/// each is a pact waiting for a result.
fn apply_latestby(latestby: Option<LatestBy>, rows: Vec<Row>) -> Vec<Row> {
    let Some(latestby) = latestby else {
        return rows;
    };
    let key = |r: &Row| {
        let pp = &r.publication;
        let provider_version = r.verification.as_ref().map(|v| v.provider_version_id);
        match latestby {
            LatestBy::Cvpv => (
                pp.consumer_id,
                Some(pp.consumer_version_id),
                pp.provider_id,
                provider_version,
            ),
            LatestBy::Cvp => (
                pp.consumer_id,
                Some(pp.consumer_version_id),
                pp.provider_id,
                None,
            ),
            LatestBy::Cp => (pp.consumer_id, None, pp.provider_id, None),
        }
    };
    let mut first_of_group: HashMap<(i64, Option<i64>, i64, Option<i64>), bool> = HashMap::new();
    let mut kept = Vec::new();
    for row in rows {
        match first_of_group.get(&key(&row)) {
            None => {
                first_of_group.insert(key(&row), row.verification.is_none());
                kept.push(row);
            }
            // The group's first row had no result: keep the whole group.
            Some(true) => kept.push(row),
            Some(false) => {}
        }
    }
    kept
}

#[cfg(test)]
mod tests;
