//! Writing pact files: merged, locked, atomic.
//!
//! Several tests of one consumer/provider pair write to the same file, possibly from parallel
//! threads or processes. Each writer takes an exclusive lock on a sidecar lock file, reads the
//! pact already there, merges its interactions in, writes the result to a temporary file in the
//! same directory and renames it over the pact. Readers therefore never see a half-written file,
//! and no writer loses another's interactions. The lock is taken on a sidecar file rather than on
//! the pact itself because the rename replaces the pact's inode.
//!
//! Two interactions are the same when they have the same description and provider states
//! (names and parameters). The same interaction written twice with identical content is kept
//! once; with different content it is a [`Error::Conflict`] naming both versions' differences.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use pact_models::PactSpecification;
use pact_models::pact::Pact;
use pact_models::v4::interaction::V4Interaction;
use pact_models::v4::pact::V4Pact;
use pact_models::v4::synch_http::SynchronousHttp;
use pact_models::{Consumer, Provider};
use serde_json::Value;

use crate::error::Error;

/// Where and how pact files are written.
#[derive(Debug, Clone, PartialEq)]
pub struct PactFileOptions {
    /// The directory pact files are written to.
    pub dir: PathBuf,
    /// The pact specification version to write (V3 by default; V2, V3 and V4 are accepted).
    pub specification: PactSpecification,
}

impl Default for PactFileOptions {
    /// `$PACT_DIR` when set, otherwise `target/pacts`; specification V3.
    fn default() -> Self {
        PactFileOptions {
            dir: default_pact_dir(),
            specification: PactSpecification::V3,
        }
    }
}

/// `$PACT_DIR` when set and not empty, otherwise `target/pacts` (relative to the working
/// directory, which `cargo test` sets to the package's root).
pub fn default_pact_dir() -> PathBuf {
    match std::env::var_os("PACT_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("target").join("pacts"),
    }
}

/// The file name of a pair's pact, `<consumer>-<provider>.json`.
pub fn pact_file_name(consumer: &str, provider: &str) -> String {
    let clean = |name: &str| {
        name.chars()
            .map(|c| {
                if matches!(c, '/' | '\\' | '\0') {
                    '_'
                } else {
                    c
                }
            })
            .collect::<String>()
    };
    format!("{}-{}.json", clean(consumer), clean(provider))
}

/// An interaction of any kind (HTTP or message) as the pact file holds it.
pub type BoxedInteraction = Box<dyn V4Interaction + Send + Sync + std::panic::RefUnwindSafe>;

/// Merges HTTP `interactions` into the pair's pact file in `options.dir` and returns its path.
pub fn write_pact(
    consumer: &str,
    provider: &str,
    interactions: &[SynchronousHttp],
    options: &PactFileOptions,
) -> Result<PathBuf, Error> {
    let boxed: Vec<BoxedInteraction> = interactions
        .iter()
        .map(|interaction| interaction.boxed_v4())
        .collect();
    write_interactions(consumer, provider, &boxed, options)
}

/// Merges `interactions` of any kind (HTTP interactions, messages) into the pair's pact file
/// in `options.dir` and returns its path. A V3 file holds either HTTP interactions or messages;
/// a pair with both needs V4, and asking for V3 then is an [`Error::MixedNeedsV4`].
pub fn write_interactions(
    consumer: &str,
    provider: &str,
    interactions: &[BoxedInteraction],
    options: &PactFileOptions,
) -> Result<PathBuf, Error> {
    let dir = &options.dir;
    let path = dir.join(pact_file_name(consumer, provider));
    let io_error = |source| Error::PactIo {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_error)?;
    let lock_path = dir.join(format!(".{}.lock", pact_file_name(consumer, provider)));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error)?;
    lock.lock().map_err(io_error)?;

    let (mut merged, metadata) = read_existing(&path)?;
    for interaction in interactions {
        merge_one(
            &mut merged,
            interaction.as_ref(),
            &path,
            options.specification,
        )?;
    }
    let messages = merged
        .iter()
        .filter(|interaction| !interaction.is_v4_http())
        .count();
    if messages > 0 && options.specification < PactSpecification::V4 {
        let http = merged.len() - messages;
        if http > 0 || options.specification < PactSpecification::V3 {
            return Err(Error::MixedNeedsV4 {
                path: path.clone(),
                specification: options.specification,
                http,
                messages,
            });
        }
    }

    let mut pact = V4Pact {
        consumer: Consumer {
            name: consumer.to_string(),
        },
        provider: Provider {
            name: provider.to_string(),
        },
        interactions: merged,
        metadata,
        ..V4Pact::default()
    };
    pact.metadata.insert(
        "accord".to_string(),
        serde_json::json!({"version": env!("CARGO_PKG_VERSION")}),
    );
    let json = pact
        .to_json(options.specification)
        .map_err(|source| Error::PactSerialize {
            path: path.clone(),
            source,
        })?;
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');

    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io_error)?;
    temp.write_all(text.as_bytes()).map_err(io_error)?;
    temp.as_file().sync_all().map_err(io_error)?;
    temp.persist(&path).map_err(|err| io_error(err.error))?;
    drop(lock);
    tracing::info!(path = %path.display(), interactions = interactions.len(), "pact file written");
    Ok(path)
}

fn read_existing(path: &Path) -> Result<(Vec<BoxedInteraction>, BTreeMap<String, Value>), Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), BTreeMap::new()));
        }
        Err(source) => {
            return Err(Error::PactIo {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    let contract = accord_contract::Contract::from_json_text(&text, &path.display().to_string())
        .map_err(|source| Error::PactExisting {
            path: path.to_path_buf(),
            source,
        })?;
    let existing = contract
        .pact()
        .as_v4_pact()
        .map_err(|source| Error::PactSerialize {
            path: path.to_path_buf(),
            source,
        })?;
    // The metadata is carried over except what the writer sets itself.
    let mut metadata = existing.metadata.clone();
    metadata.remove("pactSpecification");
    metadata.remove("pactRust");
    Ok((existing.interactions, metadata))
}

fn same_key(a: &dyn V4Interaction, b: &dyn V4Interaction) -> bool {
    let (left, right) = (a.provider_states(), b.provider_states());
    a.description() == b.description()
        && left.len() == right.len()
        && left
            .iter()
            .zip(&right)
            .all(|(x, y)| x.name == y.name && x.params == y.params)
}

/// The parts of an interaction that must agree for two versions to be the same, in the form
/// they take in the file (so that a V3 round trip does not count as a difference).
fn comparable(interaction: &dyn V4Interaction, spec: PactSpecification) -> Value {
    if !interaction.is_v4_http() {
        let json = interaction.to_json();
        return serde_json::json!({
            "type": json.get("type"),
            "contents": json.get("contents"),
            "metadata": json.get("metadata"),
            "matchingRules": json.get("matchingRules"),
            "generators": json.get("generators"),
        });
    }
    let json = match (spec, interaction.as_request_response()) {
        (PactSpecification::V4, _) | (_, None) => interaction.to_json(),
        (spec, Some(rr)) => rr.to_json(&spec),
    };
    serde_json::json!({"request": json.get("request"), "response": json.get("response")})
}

fn merge_one(
    merged: &mut Vec<BoxedInteraction>,
    interaction: &(dyn V4Interaction + Send + Sync + std::panic::RefUnwindSafe),
    path: &Path,
    spec: PactSpecification,
) -> Result<(), Error> {
    match merged
        .iter()
        .find(|existing| same_key(existing.as_ref(), interaction))
    {
        None => {
            merged.push(interaction.boxed_v4());
            Ok(())
        }
        Some(existing) => {
            let old = comparable(existing.as_ref(), spec);
            let new = comparable(interaction, spec);
            if old == new {
                return Ok(());
            }
            let mut differences = Vec::new();
            diff(&old, &new, String::new(), &mut differences);
            Err(Error::Conflict {
                path: path.to_path_buf(),
                description: interaction.description(),
                states: interaction
                    .provider_states()
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                differences: differences.join("; "),
            })
        }
    }
}

/// Lists where two JSON values differ (the first few places), as `pointer: old vs new`.
fn diff(old: &Value, new: &Value, pointer: String, out: &mut Vec<String>) {
    const MAX: usize = 5;
    if out.len() >= MAX || old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let left = a.get(key.as_str()).unwrap_or(&Value::Null);
                let right = b.get(key.as_str()).unwrap_or(&Value::Null);
                diff(left, right, format!("{pointer}/{key}"), out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (left, right)) in a.iter().zip(b).enumerate() {
                diff(left, right, format!("{pointer}/{index}"), out);
            }
        }
        _ => out.push(format!("{pointer}: {old} vs {new}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse::interaction_from_json;

    fn interaction(description: &str, status: u16) -> SynchronousHttp {
        interaction_from_json(
            &json!({"description": description, "providerStates": [{"name": "s"}],
                "request": {"method": "GET", "path": "/x"},
                "response": {"status": status, "body": {"id": {"pact:matcher:type": "integer", "value": 1}}}}),
            "",
        )
        .unwrap()
    }

    fn options(dir: &Path, specification: PactSpecification) -> PactFileOptions {
        PactFileOptions {
            dir: dir.to_path_buf(),
            specification,
        }
    }

    #[test]
    fn merges_and_deduplicates_across_writes() {
        for spec in [PactSpecification::V3, PactSpecification::V4] {
            let dir = tempfile::tempdir().unwrap();
            let options = options(dir.path(), spec);
            write_pact("c", "p", &[interaction("a", 200)], &options).unwrap();
            write_pact(
                "c",
                "p",
                &[interaction("b", 200), interaction("a", 200)],
                &options,
            )
            .unwrap();
            let path = write_pact("c", "p", &[interaction("a", 200)], &options).unwrap();
            let contract = accord_contract::Contract::from_file(&path).unwrap();
            assert_eq!(contract.pact().interactions().len(), 2, "{spec:?}");
            assert_eq!(contract.specification(), spec);
        }
    }

    #[test]
    fn conflicts_name_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let options = options(dir.path(), PactSpecification::V3);
        write_pact("c", "p", &[interaction("a", 200)], &options).unwrap();
        let err = write_pact("c", "p", &[interaction("a", 201)], &options).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Conflict { .. }), "{message}");
        assert!(message.contains("\"a\" (given s)"), "{message}");
        assert!(
            message.contains("/response/status: 200 vs 201"),
            "{message}"
        );
    }

    #[test]
    fn parallel_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let options = options(dir.path(), PactSpecification::V3);
        std::thread::scope(|scope| {
            for n in 0..8 {
                let options = options.clone();
                scope.spawn(move || {
                    write_pact("c", "p", &[interaction(&format!("i{n}"), 200)], &options).unwrap();
                });
            }
        });
        let contract = accord_contract::Contract::from_file(dir.path().join("c-p.json")).unwrap();
        assert_eq!(contract.pact().interactions().len(), 8);
    }
}
