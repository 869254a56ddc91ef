//! Scoped tokens: minted here, stored as their SHA-256 only, recognised on each request.
//!
//! A token is `accord_` followed by 32 random bytes in URL-safe base64 (256 bits, so a
//! plain SHA-256 is a safe way to store it: there is nothing to guess by brute force,
//! unlike a password). The prefix lets secret scanners recognise a leaked one. The
//! token is shown once, in the answer that creates it.

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Caller;
use super::scope::{Grants, Scope};
use crate::error::ApiError;
use crate::startup::AppState;

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "accord_";

/// A new random token.
pub fn mint() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The hex SHA-256 under which a token is stored and looked up.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller a presented bearer token stands for, if it is a stored scoped token
/// that has not expired. Tokens without the prefix are not looked up.
pub(super) async fn caller_for(state: &AppState, token: &str) -> Result<Option<Caller>, ApiError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let Some(stored) = state.store.token_by_hash(&hash(token)).await? else {
        return Ok(None);
    };
    if stored.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Ok(None);
    }
    // Scopes were checked when the token was created; one that no longer parses (a
    // scope kind removed in a later version) grants nothing rather than failing.
    let grants = Grants(
        stored
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s).ok())
            .collect(),
    );
    Ok(Some(Caller {
        name: format!("token:{}", stored.name),
        grants,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = mint();
        let b = mint();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }
}
