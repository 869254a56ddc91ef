//! Webhook settings, and the allow-list that keeps webhooks from reaching internal
//! services.
//!
//! A webhook URL is checked twice: when the webhook is saved or test-executed
//! ([`WebhookConfig::check_url`]: scheme, host, and an IP written in the URL), and
//! at delivery time after DNS resolution ([`GuardedResolver`]), so a public-looking
//! host name that resolves to a loopback or private address is refused as well. By
//! default only public addresses are reachable; private and loopback ranges need
//! `allow_private`, an entry in `allowed_networks`, or the host named in
//! `allowed_hosts`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

/// How webhooks are allowed and delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// URL schemes a webhook may use.
    pub allowed_schemes: Vec<String>,
    /// When not empty, the only hosts webhooks may call: exact names or `*.domain`
    /// (one label). A host named here may resolve to a private or loopback address.
    pub allowed_hosts: Vec<String>,
    /// Private or loopback ranges webhooks may reach anyway (e.g. `10.1.0.0/16`).
    pub allowed_networks: Vec<IpNet>,
    /// Allow every private, loopback and link-local address.
    pub allow_private: bool,
    /// Attempts per delivery before it goes to the dead-letter list.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each later one up to twice as long.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_max_delay: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How often the dispatcher and the workers look for work.
    pub poll_interval: Duration,
    /// Deliveries one broker sends at the same time.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allowed_schemes: vec!["https".into(), "http".into()],
            allowed_hosts: Vec::new(),
            allowed_networks: Vec::new(),
            allow_private: false,
            max_attempts: 7,
            retry_base: Duration::from_secs(10),
            retry_max_delay: Duration::from_secs(20 * 60),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// Ranges that are not the public internet: loopback, private, link-local, shared
/// address space, unique local, and the unspecified/broadcast/documentation blocks.
static NON_PUBLIC: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .map(|net| net.parse().expect("the built-in ranges are valid"))
    .collect()
});

/// Whether `ip` is a public internet address.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    !NON_PUBLIC.iter().any(|net| net.contains(&ip))
}

impl WebhookConfig {
    /// The delay before attempt `attempt + 1` after `attempt` failed ones: exponential
    /// backoff with full jitter (a uniformly random wait up to the exponential bound),
    /// so receivers coming back are not hit by every broker at once.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let bound = self
            .retry_base
            .saturating_mul(1u32 << exponent)
            .min(self.retry_max_delay);
        let millis = bound.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(rand::random_range(0..=millis))
    }

    fn host_allowed_explicitly(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts.iter().any(|entry| {
            let entry = entry.to_ascii_lowercase();
            match entry.strip_prefix("*.") {
                Some(domain) => host
                    .strip_suffix(domain)
                    .and_then(|rest| rest.strip_suffix('.'))
                    .is_some_and(|label| !label.is_empty() && !label.contains('.')),
                None => host == entry,
            }
        })
    }

    /// Whether `host` may be reached at `ip`; the reason when not.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        if is_public(ip)
            || self.allow_private
            || self.host_allowed_explicitly(host)
            || self.allowed_networks.iter().any(|net| net.contains(&ip))
        {
            return Ok(());
        }
        Err(format!(
            "{host} is {ip}, a private, loopback or link-local address, which webhooks may not \
             reach; allow it with --webhook-allow-host {host}, --webhook-allow-network or \
             --webhook-allow-private"
        ))
    }

    /// Checks a webhook URL (placeholders already filled in) against the allowed
    /// schemes and hosts, and an IP address written in it against the allowed ranges.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if !self
            .allowed_schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(url.scheme()))
        {
            return Err(format!(
                "scheme '{}' is not allowed; use one of: {}",
                url.scheme(),
                self.allowed_schemes.join(", ")
            ));
        }
        let Some(host) = url.host() else {
            return Err("the URL has no host".into());
        };
        let name = host.to_string();
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if !self.allowed_hosts.is_empty() && !self.host_allowed_explicitly(name) {
            return Err(format!(
                "host '{name}' is not in the allowed hosts ({})",
                self.allowed_hosts.join(", ")
            ));
        }
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            // `localhost` never leaves the machine, whatever DNS says.
            url::Host::Domain(domain)
                if {
                    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                    domain == "localhost" || domain.ends_with(".localhost")
                } =>
            {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            url::Host::Domain(_) => None,
        };
        match literal {
            Some(ip) => self.check_ip(name, ip),
            None => Ok(()),
        }
    }
}

/// A DNS resolver for delivery requests that drops addresses the allow-list
/// refuses, and fails when none is left. The request then connects only to the
/// addresses checked here, so a name cannot resolve differently between the check
/// and the connection.
pub struct GuardedResolver {
    pub config: Arc<WebhookConfig>,
}

/// Why a host name was refused after resolution.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let config = self.config.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match config.check_ip(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusal.get_or_insert(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason =
                    refusal.unwrap_or_else(|| format!("{host} did not resolve to any address"));
                return Err(Box::new(Refused(reason)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn private_and_loopback_addresses_are_refused_by_default() {
        let config = WebhookConfig::default();
        assert!(
            config
                .check_url(&url("https://ci.example.com/build"))
                .is_ok()
        );
        for denied in [
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://localhost./",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let err = config.check_url(&url(denied)).unwrap_err();
            assert!(err.contains("private, loopback"), "{denied}: {err}");
        }
        assert!(config.check_url(&url("ftp://example.com/")).is_err());
    }

    #[test]
    fn explicit_hosts_networks_and_allow_private_open_the_way() {
        let mut config = WebhookConfig {
            allowed_hosts: vec!["localhost".into(), "*.ci.internal".into()],
            ..WebhookConfig::default()
        };
        assert!(config.check_url(&url("http://localhost:9000/")).is_ok());
        assert!(
            config
                .check_ip("build.ci.internal", "10.0.0.5".parse().unwrap())
                .is_ok()
        );
        assert!(config.check_url(&url("http://a.b.ci.internal/")).is_err());
        assert!(config.check_url(&url("https://example.com/")).is_err());

        config.allowed_hosts.clear();
        config.allowed_networks = vec!["10.1.0.0/16".parse().unwrap()];
        assert!(config.check_url(&url("http://10.1.2.3/")).is_ok());
        assert!(config.check_url(&url("http://10.2.0.1/")).is_err());

        config.allow_private = true;
        assert!(config.check_url(&url("http://127.0.0.1/")).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_after_resolution() {
        use reqwest::dns::Resolve;
        let strict = GuardedResolver {
            config: Arc::new(WebhookConfig::default()),
        };
        let err = match strict.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(err) => err.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let open = GuardedResolver {
            config: Arc::new(WebhookConfig {
                allowed_networks: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
                ..WebhookConfig::default()
            }),
        };
        let addrs: Vec<SocketAddr> = open
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[test]
    fn retry_delays_grow_and_stay_under_the_cap() {
        let config = WebhookConfig {
            retry_base: Duration::from_millis(100),
            retry_max_delay: Duration::from_millis(350),
            ..WebhookConfig::default()
        };
        for _ in 0..50 {
            assert!(config.retry_delay(1) <= Duration::from_millis(100));
            assert!(config.retry_delay(2) <= Duration::from_millis(200));
            assert!(config.retry_delay(10) <= Duration::from_millis(350));
        }
    }
}
