//! Webhook settings, and the allow-list that keeps webhooks from reaching internal
//! services.
//!
//! A webhook URL is checked twice: when the webhook is saved or test-executed
//! ([`WebhookConfig::check_url`]: scheme, host, and an IP written in the URL), and
//! at delivery time after DNS resolution ([`GuardedResolver`]), so a public-looking
//! host name that resolves to a loopback or private address is refused as well; the
//! connection then uses only the addresses the resolver approved (no second lookup
//! between check and dial). A URL naming an IP address never reaches the resolver:
//! the worker checks it with [`WebhookConfig::check_url`] before every attempt, and
//! redirects are not followed. By default only public addresses are reachable: every
//! range of [`SPECIAL_PURPOSE`] needs `allow_private`, an entry in
//! `allowed_networks`, or the host named in `allowed_hosts`.

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
    /// Allow every special-purpose address (private, loopback, link-local, ...).
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
    /// The key webhook secrets are encrypted with at rest (`--secrets-key`). Without
    /// one they are stored in plain text, and a broker requiring credentials refuses
    /// new ones.
    pub secrets_key: Option<super::secrets::SecretsKey>,
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
            secrets_key: None,
        }
    }
}

/// The special-purpose ranges of the IANA IPv4 and IPv6 Special-Purpose Address
/// Registries (and the multicast and deprecated site-local blocks), each with its
/// name. Webhooks may not reach any of them unless the configuration allows it:
/// besides loopback and private networks, they hold addresses that translate to
/// or tunnel into IPv4 (NAT64, 6to4, Teredo, IPv4-compatible), which would reach
/// an internal IPv4 address through a gateway. A more specific range comes before
/// the block that holds it, so the error names the narrower one.
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged by their IPv4 address.
pub const SPECIAL_PURPOSE: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("10.0.0.0/8", "private-use"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private-use"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.31.196.0/24", "AS112-v4"),
    ("192.52.193.0/24", "AMT"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
    ("192.168.0.0/16", "private-use"),
    ("192.175.48.0/24", "direct delegation AS112 service"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "limited broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible IPv6 (deprecated)"),
    ("64:ff9b::/96", "NAT64 (IPv4/IPv6 translation)"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "dummy IPv6 prefix"),
    ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"),
    ("2001:3::/32", "AMT"),
    ("2001:4:112::/48", "AS112-v6"),
    ("2001:10::/28", "ORCHID (deprecated)"),
    ("2001:20::/28", "ORCHIDv2"),
    ("2001:30::/28", "drone remote ID (DET)"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("2620:4f:8000::/48", "direct delegation AS112 service"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6) SIDs"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
];

static SPECIAL: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    SPECIAL_PURPOSE
        .iter()
        .map(|(net, name)| (net.parse().expect("the built-in ranges are valid"), *name))
        .collect()
});

/// The special-purpose range `ip` is in, with its name; `None` for a public
/// internet address. An IPv4-mapped IPv6 address is judged by its IPv4 address.
pub fn special_range(ip: IpAddr) -> Option<(IpNet, &'static str)> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    SPECIAL
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(net, name)| (*net, *name))
}

/// Whether `ip` is a public internet address.
pub fn is_public(ip: IpAddr) -> bool {
    special_range(ip).is_none()
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
        let Some((net, name)) = special_range(ip) else {
            return Ok(());
        };
        if self.allow_private
            || self.host_allowed_explicitly(host)
            || self
                .allowed_networks
                .iter()
                .any(|allowed| allowed.contains(&ip))
        {
            return Ok(());
        }
        let (subject, allow_host) = if host == ip.to_string() {
            (ip.to_string(), String::new())
        } else {
            (
                format!("{host} is at {ip}, which"),
                format!("--webhook-allow-host {host}, "),
            )
        };
        Err(format!(
            "{subject} is in {net} ({name}), a special-purpose range which webhooks may not \
             reach; allow it with {allow_host}--webhook-allow-network or --webhook-allow-private"
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
            let allowed = approve(&config, &host, resolved)
                .map_err(|refused| Box::new(refused) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The addresses `host` resolved to that the allow-list admits: the only ones the
/// connection may use. Refused when none is left.
pub fn approve(
    config: &WebhookConfig,
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut refusal = None;
    let allowed: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| match config.check_ip(host, addr.ip()) {
            Ok(()) => true,
            Err(reason) => {
                refusal.get_or_insert(reason);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        return Err(Refused(refusal.unwrap_or_else(|| {
            format!("{host} did not resolve to any address")
        })));
    }
    Ok(allowed)
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
            assert!(err.contains("special-purpose range"), "{denied}: {err}");
        }
        assert!(config.check_url(&url("ftp://example.com/")).is_err());
    }

    #[test]
    fn every_special_purpose_spelling_is_refused_naming_its_range() {
        let config = WebhookConfig::default();
        for (denied, range) in [
            ("http://[::127.0.0.1]/", "IPv4-compatible"),
            ("http://[::ffff:127.0.0.1]/", "loopback"),
            ("http://[::ffff:10.0.0.1]/", "private-use"),
            ("http://[64:ff9b::7f00:1]/", "NAT64"),
            (
                "http://[64:ff9b:1::a00:1]/",
                "local-use IPv4/IPv6 translation",
            ),
            ("http://[2002:7f00:1::]/", "6to4"),
            ("http://[2001:0:4136:e378::1]/", "Teredo"),
            ("http://[2001:2::1]/", "benchmarking"),
            ("http://[2001:20::1]/", "ORCHIDv2"),
            ("http://[2001:db8::1]/", "documentation"),
            ("http://[3fff::1]/", "documentation"),
            ("http://[fd00::1]/", "unique-local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://[ff02::1]/", "multicast"),
            ("http://[::]/", "unspecified"),
            ("http://0177.0.0.1/", "loopback"),
            ("http://2130706433/", "loopback"),
            ("http://0x7f.1/", "loopback"),
            ("http://127.1/", "loopback"),
            ("http://0.0.0.0/", "this network"),
            ("http://100.64.0.1/", "shared address space"),
            ("http://192.0.0.170/", "IETF protocol assignments"),
            ("http://192.0.2.1/", "TEST-NET-1"),
            ("http://198.51.100.7/", "TEST-NET-2"),
            ("http://203.0.113.9/", "TEST-NET-3"),
            ("http://198.18.0.1/", "benchmarking"),
            ("http://198.19.255.1/", "benchmarking"),
            ("http://224.0.0.1/", "multicast"),
            ("http://240.0.0.1/", "reserved"),
            ("http://255.255.255.255/", "limited broadcast"),
            ("http://192.88.99.1/", "6to4 relay"),
        ] {
            let err = config.check_url(&url(denied)).unwrap_err();
            assert!(err.contains(range), "{denied}: {err}");
        }
        for allowed in [
            "http://8.8.8.8/",
            "http://[2606:4700:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://100.128.0.1/",
        ] {
            assert!(config.check_url(&url(allowed)).is_ok(), "{allowed}");
        }
    }

    #[test]
    fn a_name_resolving_to_a_refused_address_keeps_only_the_allowed_ones() {
        let config = WebhookConfig::default();
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 443);
        let err = approve(
            &config,
            "ci.example.com",
            vec![at("192.0.2.10"), at("64:ff9b::a9fe:a9fe")],
        )
        .unwrap_err()
        .0;
        assert!(
            err.contains("ci.example.com is at 192.0.2.10") && err.contains("TEST-NET-1"),
            "{err}"
        );
        // Only the approved addresses are handed to the connection.
        let kept = approve(
            &config,
            "ci.example.com",
            vec![at("10.0.0.1"), at("93.184.215.14"), at("::ffff:127.0.0.1")],
        )
        .unwrap();
        assert_eq!(kept, vec![at("93.184.215.14")]);
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
