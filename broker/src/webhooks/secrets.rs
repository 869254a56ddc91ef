//! Webhook secrets at rest: the basic-auth password, the value of every header not
//! marked public, and the password of the URL's user info are stored encrypted when
//! the broker has a secrets key (`--secrets-key`).
//!
//! Each value is sealed on its own with ChaCha20-Poly1305 under a fresh random nonce
//! and stored as `enc:v1:<base64url(nonce ‖ ciphertext ‖ tag)>`, so plain and
//! encrypted values are told apart, and a later scheme can take `v2`. Templates are
//! sealed when a webhook is saved; the dispatcher opens a template, fills it in and
//! seals the result for the delivery queue; the worker opens a delivery's request
//! just before sending it. Nothing shown (API, UI, logs) needs the key: those places
//! mask every secret anyway.
//!
//! At start ([`prepare`]): with a key, every template must open with it (a wrong
//! key fails the start instead of sending garbage), and every plain secret left in
//! the database is sealed in place, in one transaction. Without a key, an encrypted
//! template fails the start, and plain secrets are reported with a warning.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde_json::{Value, json};

use super::model::{is_public_header, map_url_password, url_password};
use crate::store::Store;

/// The prefix of a sealed value, with the scheme's version.
pub const SEALED_PREFIX: &str = "enc:v1:";

const NONCE_LEN: usize = 12;

/// The key webhook secrets are encrypted with: 32 bytes. Never shown by `Debug`.
#[derive(Clone)]
pub struct SecretsKey(Key);

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

/// Why a secrets key given on the command line or in the environment is not one.
#[derive(Debug, thiserror::Error)]
#[error(
    "the secrets key must be 32 random bytes written in base64 or hex (e.g. the output of \
     `openssl rand -base64 32`); the one given {0}"
)]
pub struct KeyError(&'static str);

/// Why secrets cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A sealed value does not open with the configured key.
    #[error(
        "a webhook secret in the database cannot be decrypted with the configured secrets key: \
         it was encrypted with another key. Start the broker with the --secrets-key \
         (ACCORD_BROKER_SECRETS_KEY) it was saved with"
    )]
    WrongKey,
    /// Sealed values exist, and the broker has no key.
    #[error(
        "webhook secrets in the database are encrypted, and the broker has no secrets key: \
         start it with the --secrets-key (ACCORD_BROKER_SECRETS_KEY) they were saved with"
    )]
    KeyMissing,
}

impl SecretsKey {
    /// Reads a key written in hex (64 digits) or base64 (standard or URL-safe, with
    /// or without padding).
    pub fn parse(text: &str) -> Result<SecretsKey, KeyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(KeyError("is empty"));
        }
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        match bytes {
            Some(bytes) if bytes.len() == 32 => Ok(SecretsKey(*Key::from_slice(&bytes))),
            Some(_) => Err(KeyError("is not 32 bytes long")),
            None => Err(KeyError("is neither base64 nor hex")),
        }
    }

    /// `plain` encrypted under a fresh random nonce, as stored text.
    pub fn seal(&self, plain: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = ChaCha20Poly1305::new(&self.0)
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The plain text of a value [`SecretsKey::seal`] produced with this key.
    pub fn open(&self, stored: &str) -> Result<String, SecretsError> {
        let encoded = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SecretsError::WrongKey)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| SecretsError::WrongKey)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretsError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = ChaCha20Poly1305::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SecretsError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretsError::WrongKey)
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The secrets of a request (template or rendered), each with the field that holds
/// it: the URL's password, the value of each header not marked public, and the
/// basic-auth password. Empty values are no secrets.
pub fn secrets(request: &Value) -> Vec<(String, &str)> {
    let mut found = Vec::new();
    if let Some(password) = request
        .get("url")
        .and_then(Value::as_str)
        .and_then(url_password)
    {
        found.push(("request.url".to_string(), password));
    }
    if let Some(headers) = request.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(value) = value.as_str()
                && !is_public_header(request, name)
            {
                found.push((format!("request.headers.{name}"), value));
            }
        }
    }
    if let Some(password) = request.get("password").and_then(Value::as_str) {
        found.push(("request.password".to_string(), password));
    }
    found.retain(|(_, value)| !value.is_empty());
    found
}

/// `request` with `f` applied to each of its [`secrets`].
fn map_secrets<E>(
    request: &Value,
    mut f: impl FnMut(&str) -> Result<String, E>,
) -> Result<Value, E> {
    let mut out = request.clone();
    let mut apply = |value: &str| {
        if value.is_empty() {
            Ok(String::new())
        } else {
            f(value)
        }
    };
    if let Some(url) = out.get_mut("url")
        && let Some(text) = url.as_str()
    {
        *url = json!(map_url_password(text, &mut apply)?);
    }
    if let Some(headers) = out.get_mut("headers").and_then(Value::as_object_mut) {
        for (name, value) in headers.iter_mut() {
            if let Some(text) = value.as_str()
                && !is_public_header(request, name)
            {
                *value = json!(apply(text)?);
            }
        }
    }
    if let Some(password) = out.get_mut("password")
        && let Some(text) = password.as_str()
    {
        *password = json!(apply(text)?);
    }
    Ok(out)
}

/// `request` with every plain secret sealed; sealed ones stay as they are.
pub fn seal_stored(key: &SecretsKey, request: &Value) -> Value {
    map_secrets(request, |value| {
        Ok::<_, std::convert::Infallible>(if is_sealed(value) {
            value.to_string()
        } else {
            key.seal(value)
        })
    })
    .unwrap_or_else(|never| match never {})
}

/// `request` (just filled in, so every secret plain) with every secret sealed,
/// whatever it looks like: a value filled in from event data that happens to start
/// with [`SEALED_PREFIX`] is sealed like any other.
pub fn seal_all(key: &SecretsKey, request: &Value) -> Value {
    map_secrets(request, |value| {
        Ok::<_, std::convert::Infallible>(key.seal(value))
    })
    .unwrap_or_else(|never| match never {})
}

/// `request` with its sealed secrets opened. Without a key nothing was sealed by
/// this broker, and the request is used as it is.
pub fn open_request(key: Option<&SecretsKey>, request: &Value) -> Result<Value, SecretsError> {
    let Some(key) = key else {
        return Ok(request.clone());
    };
    map_secrets(request, |value| {
        if is_sealed(value) {
            key.open(value)
        } else {
            Ok(value.to_string())
        }
    })
}

/// Checks the stored webhooks against the key and seals the plain secrets left in
/// the database, before the broker serves (see the module documentation).
pub async fn prepare(store: &dyn Store, key: Option<&SecretsKey>) -> Result<(), PrepareError> {
    let webhooks = store.webhooks().await?;
    let mut plain = 0usize;
    for webhook in &webhooks {
        for (_, value) in secrets(&webhook.request) {
            match (is_sealed(value), key) {
                (true, Some(key)) => {
                    key.open(value)?;
                }
                (true, None) => return Err(SecretsError::KeyMissing.into()),
                (false, _) => plain += 1,
            }
        }
    }
    match key {
        Some(key) => {
            let sealed = store
                .rewrite_requests(&|request: &Value| {
                    let sealed = seal_stored(key, request);
                    (sealed != *request).then_some(sealed)
                })
                .await?;
            if sealed > 0 {
                tracing::info!(
                    requests = sealed,
                    "webhook secrets stored in plain text were encrypted with the secrets key"
                );
            }
        }
        None if plain > 0 => tracing::warn!(
            secrets = plain,
            "webhook secrets are stored in plain text in the database; start the broker with \
             --secrets-key (ACCORD_BROKER_SECRETS_KEY) to encrypt them"
        ),
        None => {}
    }
    Ok(())
}

/// Why [`prepare`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("cannot read or update the webhook secrets")]
    Store(#[from] crate::store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretsKey {
        SecretsKey::parse(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn keys_are_read_in_base64_or_hex_and_never_shown() {
        let bytes = [7u8; 32];
        for text in [
            hex::encode(bytes),
            STANDARD.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
        ] {
            let parsed = SecretsKey::parse(&text).unwrap();
            assert_eq!(parsed.0.as_slice(), bytes);
            assert_eq!(format!("{parsed:?}"), "SecretsKey(..)");
        }
        for bad in ["", "not a key", &STANDARD.encode([1u8; 16])] {
            let err = SecretsKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("32 random bytes"), "{err}");
        }
    }

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let sealed = key(1).seal("hunter2");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("hunter2"));
        assert_ne!(sealed, key(1).seal("hunter2"), "a fresh nonce each time");
        assert_eq!(key(1).open(&sealed).unwrap(), "hunter2");
        assert!(matches!(key(2).open(&sealed), Err(SecretsError::WrongKey)));
        assert!(key(1).open("enc:v1:!!").is_err());
    }

    #[test]
    fn every_secret_of_a_request_is_sealed_and_opened() {
        let request = json!({
            "method": "POST",
            "url": "https://ci:url-pass@ci.example.com/b?token=q",
            "headers": {"Authorization": "Bearer t", "X-Build": "7", "Content-Type": "application/json", "X-Empty": ""},
            "publicHeaders": ["X-Build"],
            "body": {"secret": "bodies stay"},
            "username": "ci",
            "password": "basic-pass"
        });
        let fields: Vec<String> = secrets(&request).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            vec![
                "request.url",
                "request.headers.Authorization",
                "request.password"
            ]
        );
        let sealed = seal_stored(&key(1), &request);
        let text = sealed.to_string();
        for secret in ["url-pass", "Bearer t", "basic-pass"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(sealed["headers"]["X-Build"], "7");
        assert_eq!(sealed["username"], "ci");
        assert!(
            sealed["url"]
                .as_str()
                .unwrap()
                .starts_with("https://ci:enc:v1:")
        );
        assert_eq!(
            seal_stored(&key(1), &sealed),
            sealed,
            "sealing twice changes nothing"
        );
        assert_eq!(open_request(Some(&key(1)), &sealed).unwrap(), request);
        assert!(open_request(Some(&key(2)), &sealed).is_err());
        // A value from event data that looks sealed is sealed all the same.
        let odd = json!({"headers": {"X-Consumer": "enc:v1:AAAA"}});
        let sealed = seal_all(&key(1), &odd);
        assert_eq!(open_request(Some(&key(1)), &sealed).unwrap(), odd);
    }
}
