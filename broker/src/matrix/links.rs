//! Which integrations a matrix question is about, decided over data read before:
//! the integrations of each named pacticipant and the pacts of each selected version.
//!
//! With options (or one selector), every integration of a named side counts: as a
//! consumer, with each provider its selected versions have a pact with (every provider
//! it ever had a pact with, when all its versions are selected); as a provider, with
//! every consumer that has a pact with it. The pacticipants at the other ends become
//! inferred sides ([`partners`], then [`to_partners`] once those sides exist).
//! Without options, only the integrations between the named sides count, each when
//! the consumer's selected versions have a pact with that provider ([`between`]).

use std::collections::{BTreeMap, HashMap};

use crate::store::{Integration, Publication};

use super::model::{Link, Side};

/// What deciding the links needs, read before: each named pacticipant's integrations
/// (by pacticipant id), and the pacts of each selected version (by version id; a
/// version without an entry has none).
pub(super) struct Known<'a> {
    pub(super) integrations: &'a HashMap<i64, Vec<Integration>>,
    pub(super) publications: &'a HashMap<i64, Vec<Publication>>,
}

impl Known<'_> {
    fn integrations(&self, pacticipant_id: i64) -> &[Integration] {
        self.integrations
            .get(&pacticipant_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn publications(&self, version_id: i64) -> &[Publication] {
        self.publications
            .get(&version_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// A named side's counterpart in an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Partner {
    /// The named side (an index into the sides).
    pub(super) side: usize,
    /// The pacticipant at the other end.
    pub(super) other: i64,
    /// Whether the named side is the consumer.
    pub(super) as_consumer: bool,
}

/// Who each of the first `named` sides integrates with, in the order the links are
/// made: first as a consumer (providers by name), then as a provider.
pub(super) fn partners(sides: &[Side], named: usize, known: &Known) -> Vec<Partner> {
    let mut partners = Vec::new();
    for (index, side) in sides[..named].iter().enumerate() {
        let me = side.pacticipant.id;
        let integrations = known.integrations(me);
        let providers: Vec<i64> = match &side.versions {
            Some(versions) => {
                let mut found = BTreeMap::new();
                for v in versions {
                    for pp in known.publications(v.id) {
                        found.insert(pp.provider_name.clone(), pp.provider_id);
                    }
                }
                found.into_values().collect()
            }
            None => integrations
                .iter()
                .filter(|i| i.consumer_id == me)
                .map(|i| i.provider_id)
                .collect(),
        };
        partners.extend(
            providers
                .into_iter()
                .filter(|id| *id != me)
                .map(|other| Partner {
                    side: index,
                    other,
                    as_consumer: true,
                }),
        );
        partners.extend(
            integrations
                .iter()
                .filter(|i| i.provider_id == me && i.consumer_id != me)
                .map(|i| Partner {
                    side: index,
                    other: i.consumer_id,
                    as_consumer: false,
                }),
        );
    }
    partners
}

/// The links to the partners, once every partner has a side: a named one, or the
/// inferred one in `inferred` (by pacticipant id). A partner without a side (deleted
/// while the question was answered) gets no link. What the named side consumes is
/// required; its consumers are not (a provider must not break them, but does not
/// need them).
pub(super) fn to_partners(
    partners: &[Partner],
    sides: &[Side],
    named: usize,
    inferred: &HashMap<i64, usize>,
) -> Vec<Link> {
    let mut links = Vec::new();
    for partner in partners {
        let other = match sides[..named]
            .iter()
            .position(|s| s.pacticipant.id == partner.other)
        {
            Some(found) => found,
            None => match inferred.get(&partner.other) {
                Some(found) => *found,
                None => continue,
            },
        };
        links.push(if partner.as_consumer {
            Link {
                consumer: partner.side,
                provider: other,
                required: true,
            }
        } else {
            Link {
                consumer: other,
                provider: partner.side,
                required: false,
            }
        });
    }
    unique(links)
}

/// The links between the named sides only (a question with several selectors and no
/// options): each integration between two of them whose consumer's selected versions
/// have a pact with that provider (any, when all versions are selected).
pub(super) fn between(sides: &[Side], known: &Known) -> Vec<Link> {
    let mut links = Vec::new();
    for (c, consumer) in sides.iter().enumerate() {
        for (p, provider) in sides.iter().enumerate() {
            let (consumer_id, provider_id) = (consumer.pacticipant.id, provider.pacticipant.id);
            if consumer_id == provider_id {
                continue;
            }
            let integrated = known
                .integrations(consumer_id)
                .iter()
                .any(|i| i.consumer_id == consumer_id && i.provider_id == provider_id);
            let has_pact = match &consumer.versions {
                None => true,
                Some(versions) => versions.iter().any(|v| {
                    known
                        .publications(v.id)
                        .iter()
                        .any(|pp| pp.provider_id == provider_id)
                }),
            };
            if integrated && has_pact {
                links.push(Link {
                    consumer: c,
                    provider: p,
                    required: true,
                });
            }
        }
    }
    unique(links)
}

/// One link per pair of sides, in first-seen order, required if any duplicate is.
fn unique(links: Vec<Link>) -> Vec<Link> {
    let mut unique: Vec<Link> = Vec::new();
    for link in links {
        match unique
            .iter_mut()
            .find(|l| l.consumer == link.consumer && l.provider == link.provider)
        {
            Some(existing) => existing.required |= link.required,
            None => unique.push(link),
        }
    }
    unique
}

#[cfg(test)]
mod tests;
