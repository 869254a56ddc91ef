//! How to reach a broker: its URL, credentials, timeout and retry policy.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use secrecy::SecretString;
use url::Url;

/// Everything [`crate::BrokerClient::new`] needs.
#[derive(Debug, Clone)]
pub struct BrokerClientConfig {
    /// The broker's base URL, e.g. `http://127.0.0.1:9292` or `https://ci.example.com/pact`
    /// (a path is kept as the broker's context path).
    pub base_url: Url,
    /// Credentials sent with every request, if the broker needs them.
    pub auth: Option<BrokerAuth>,
    /// Time allowed for one request, connection included.
    pub timeout: Duration,
    /// What to do when the broker answers 5xx or cannot be reached.
    pub retry: RetryPolicy,
    /// How the user gave the broker URL, named in the hint of an unreachable broker
    /// (each command spells its flag its own way).
    pub url_flag: &'static str,
}

impl BrokerClientConfig {
    /// A configuration with no credentials, a 30 s timeout and the default retry policy.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            auth: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            url_flag: "--broker-base-url / PACT_BROKER_BASE_URL",
        }
    }

    /// The same configuration, naming the broker URL's flag this way in error hints
    /// (e.g. `"--broker-url / PACT_BROKER_BASE_URL"`).
    pub fn with_url_flag(mut self, url_flag: &'static str) -> Self {
        self.url_flag = url_flag;
        self
    }

    /// The same configuration with credentials.
    pub fn with_auth(mut self, auth: Option<BrokerAuth>) -> Self {
        self.auth = auth;
        self
    }

    /// The same configuration with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same configuration with another request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Credentials for the broker. `Debug` never shows the secret part.
#[derive(Clone)]
pub enum BrokerAuth {
    /// HTTP Basic authentication (`PACT_BROKER_USERNAME` / `PACT_BROKER_PASSWORD`).
    Basic {
        username: String,
        password: SecretString,
    },
    /// A bearer token (`PACT_BROKER_TOKEN`).
    Bearer(SecretString),
}

impl fmt::Debug for BrokerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&"[redacted]").finish(),
        }
    }
}

/// Exponential backoff with full jitter for server errors (5xx) and network errors.
/// Client errors (4xx) are never retried: asking again would get the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total number of attempts, the first one included (at least 1).
    pub max_attempts: u32,
    /// Upper bound of the delay before the first retry; it doubles on every retry.
    pub initial_backoff: Duration,
    /// The delay before a retry never exceeds this.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, waiting up to 0.5 s, 1 s and 2 s between them.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// A policy that tries once and never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The default delays with `retries` retries after the first attempt (the official
    /// clients' `--retries` flag counts the same way).
    pub fn with_retries(retries: u32) -> Self {
        Self {
            max_attempts: retries.saturating_add(1),
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1 for the first retry): a random duration
    /// between zero and `min(max_backoff, initial_backoff * 2^(retry-1))`. Full jitter
    /// spreads out clients that failed together, so they do not come back together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let ceiling_micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        if ceiling_micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::rng().random_range(0..=ceiling_micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_doubling_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
        };
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(2) <= Duration::from_millis(200));
            assert!(policy.backoff(3) <= Duration::from_millis(400));
            assert!(policy.backoff(4) <= Duration::from_millis(700));
            assert!(policy.backoff(40) <= Duration::from_millis(700));
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let policy = RetryPolicy::default();
        let delays: std::collections::HashSet<_> = (0..20).map(|_| policy.backoff(3)).collect();
        assert!(delays.len() > 1, "{delays:?}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let basic = BrokerAuth::Basic {
            username: "ci".into(),
            password: SecretString::from("hunter2"),
        };
        let bearer = BrokerAuth::Bearer(SecretString::from("tok-123"));
        let text = format!("{basic:?} {bearer:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("tok-123"),
            "{text}"
        );
        assert!(text.contains("ci"), "{text}");
    }
}
