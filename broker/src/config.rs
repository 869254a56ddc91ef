//! Broker configuration: what the CLI (or an embedding program) decides.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Everything the broker needs to start. Build it with [`Config::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://user@host/db`.
    pub database_url: String,
    /// Who may read and write.
    pub auth: AuthConfig,
    /// Let a consumer version publish different content for a provider it already
    /// published a pact for (the official broker's "dangerous contract modification").
    pub allow_contract_overwrite: bool,
    /// Request bodies larger than this are refused with 413.
    pub body_limit_bytes: usize,
    /// The externally visible base URL used in links (e.g. behind a reverse proxy).
    /// Without it links are built from the request's `Host`, and from the
    /// `X-Forwarded-*` headers of a trusted proxy (`edge.trusted_proxies`).
    pub public_base_url: Option<Url>,
    /// Requests taking longer than this are cut off.
    pub request_timeout: Duration,
    /// Which hosts webhooks may call, and how deliveries are retried.
    pub webhooks: crate::webhooks::WebhookConfig,
    /// What retention keeps, and whether it runs on a schedule.
    pub retention: crate::retention::RetentionConfig,
    /// Connection limits: header-read and idle timeouts, and how many connections at once.
    pub serve: accord_net::ServeOptions,
    /// Trusted proxies, allowed host names and the UI's CSRF key.
    pub edge: crate::edge::EdgeConfig,
}

impl Config {
    /// The default body limit: large pacts are a few megabytes at most.
    pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

    /// A configuration with defaults: no authentication, no overwriting, 10 MiB bodies.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            auth: AuthConfig::default(),
            allow_contract_overwrite: false,
            body_limit_bytes: Self::DEFAULT_BODY_LIMIT,
            public_base_url: None,
            request_timeout: Duration::from_secs(30),
            webhooks: crate::webhooks::WebhookConfig::default(),
            retention: crate::retention::RetentionConfig::default(),
            serve: accord_net::ServeOptions::default(),
            edge: crate::edge::EdgeConfig::default(),
        }
    }
}

/// Credentials. Without any, the broker is open to everyone.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Basic credentials allowed to read and write.
    pub basic: Option<BasicCredentials>,
    /// Basic credentials allowed to read only.
    pub read_only_basic: Option<BasicCredentials>,
    /// A bearer token allowed to read and write.
    pub token: Option<SecretString>,
    /// A bearer token allowed to read only.
    pub read_only_token: Option<SecretString>,
    /// Reads (including the for-verification POST) need no credentials.
    pub public_read: bool,
}

/// A credential the broker refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {0} is empty: give a non-empty value or leave it out")]
pub struct EmptyCredential(pub &'static str);

impl AuthConfig {
    /// Refuses empty credentials: an empty token or password would otherwise turn an
    /// unset environment variable into a credential anyone can present.
    pub fn validate(&self) -> Result<(), EmptyCredential> {
        use secrecy::ExposeSecret;
        let blank = |s: &str| s.trim().is_empty();
        let basic =
            |c: &Option<BasicCredentials>, user: &'static str, password: &'static str| match c {
                Some(c) if blank(&c.username) => Err(EmptyCredential(user)),
                Some(c) if blank(c.password.expose_secret()) => Err(EmptyCredential(password)),
                _ => Ok(()),
            };
        basic(&self.basic, "Basic user name", "Basic password")?;
        basic(
            &self.read_only_basic,
            "read-only Basic user name",
            "read-only Basic password",
        )?;
        if self
            .token
            .as_ref()
            .is_some_and(|t| blank(t.expose_secret()))
        {
            return Err(EmptyCredential("token"));
        }
        if self
            .read_only_token
            .as_ref()
            .is_some_and(|t| blank(t.expose_secret()))
        {
            return Err(EmptyCredential("read-only token"));
        }
        Ok(())
    }

    /// Whether any credential is configured.
    pub fn is_enabled(&self) -> bool {
        self.basic.is_some()
            || self.read_only_basic.is_some()
            || self.token.is_some()
            || self.read_only_token.is_some()
    }
}

/// A username and password for HTTP Basic authentication.
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    pub username: String,
    pub password: SecretString,
}
