//! The names of pacticipants by id, kept in memory.
//!
//! A pacticipant's name never changes (display names and the rest may; they are not
//! kept here) and ids are never reused (an identity column on PostgreSQL,
//! `AUTOINCREMENT` on SQLite), so an entry, once read, stays true for as long as the
//! id means anything, on every replica: a deleted pacticipant's entry is never asked
//! for again. Reads that carry ids (publications, above all) take the names from
//! here instead of a query of their own.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Past this many entries the cache starts over (far more pacticipants than any broker
/// holds; it bounds the memory should one ever have that many).
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct NameCache(Arc<RwLock<HashMap<i64, String>>>);

impl NameCache {
    /// The known names among `ids`, and the ids not known yet.
    pub(crate) fn lookup(&self, ids: &[i64]) -> (HashMap<i64, String>, Vec<i64>) {
        let names = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match names.get(id) {
                Some(name) => {
                    found.insert(*id, name.clone());
                }
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    /// Remembers names just read.
    pub(crate) fn remember<'a>(&self, entries: impl IntoIterator<Item = (i64, &'a str)>) {
        let mut names = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, name) in entries {
            if names.len() >= CAPACITY {
                names.clear();
            }
            names.insert(id, name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_what_it_does_not_know() {
        let cache = NameCache::default();
        cache.remember([(1, "orders"), (2, "billing")]);
        let (found, missing) = cache.lookup(&[2, 3, 1]);
        assert_eq!(found.get(&1).map(String::as_str), Some("orders"));
        assert_eq!(found.get(&2).map(String::as_str), Some("billing"));
        assert_eq!(missing, [3]);
    }

    #[test]
    fn stays_bounded() {
        let cache = NameCache::default();
        cache.remember((0..CAPACITY as i64 + 10).map(|id| (id, "p")));
        assert!(cache.0.read().unwrap().len() <= CAPACITY);
        let (found, _) = cache.lookup(&[CAPACITY as i64 + 9]);
        assert_eq!(found.len(), 1, "the newest entry is kept");
    }
}
