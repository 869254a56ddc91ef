//! The monitor's configuration: where the provider runs, how to probe it, and how provider
//! states map to real production data.
//!
//! Everything but the base URL has a default; a TOML file can change it:
//!
//! ```toml
//! [probe]
//! timeout = "5s"            # per request
//! concurrency = 8           # requests in flight at once
//! rate_limit = 20.0         # requests per second, all hosts together
//! probe_unsafe = ["create an order"]   # non-GET/HEAD/OPTIONS interactions to probe anyway
//!
//! [circuit_breaker]
//! failure_threshold = 5     # consecutive timeouts/resets that open a host's circuit
//! open_for = "30s"          # how long it stays open before one trial request
//!
//! [auth]
//! headers_from_env = { Authorization = "ORDERS_API_TOKEN" }  # header = variable
//! secrets_file = "monitor-secrets.toml"  # a [headers] table; relative to this file
//!
//! [states."order 1 exists"]
//! path_segments = { "1" = "8841" }      # whole path segments to replace
//! paths = { "/orders/1/items" = "/orders/8841/items" }  # whole recorded paths to replace
//! query = { tenant = "acme" }            # parameters to set
//! headers = { X-Tenant = "acme" }        # headers to add
//!
//! [states."a cancelled order"]
//! skip = true
//! reason = "production has no cancelled order we may read"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::MonitorError;

/// Methods probed without being listed: they do not change the provider's state.
pub const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// Everything the monitor needs to probe one provider.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Where the provider runs; the pact's paths are appended to its path.
    pub base_url: Url,
    /// The environment the provider runs in, recorded in reports (and later in the broker).
    pub environment: Option<String>,
    pub probe: ProbeSettings,
    pub circuit: CircuitSettings,
    /// Headers sent with every probe, typically credentials. Never logged or printed.
    pub auth_headers: Vec<AuthHeader>,
    /// Provider state name → how to reach production data for it.
    pub states: BTreeMap<String, StateMapping>,
}

/// How probes are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSettings {
    pub timeout: Duration,
    pub concurrency: usize,
    /// Requests per second over all probes; `None` sends as fast as concurrency allows.
    pub rate_limit: Option<f64>,
    /// Descriptions of interactions with unsafe methods that may be probed anyway.
    pub probe_unsafe: BTreeSet<String>,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            concurrency: 8,
            rate_limit: None,
            probe_unsafe: BTreeSet::new(),
        }
    }
}

/// When a host's circuit opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitSettings {
    /// Consecutive transport failures (timeouts, refused or reset connections, 502/503/504)
    /// that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit rejects requests before letting one trial through.
    pub open_for: Duration,
}

impl Default for CircuitSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// A header whose value is a secret.
#[derive(Clone)]
pub struct AuthHeader {
    pub name: HeaderName,
    pub value: SecretString,
}

impl std::fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthHeader")
            .field("name", &self.name)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

impl AuthHeader {
    /// The header value, marked sensitive so that HTTP libraries do not log it.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, MonitorError> {
        let mut value = HeaderValue::from_str(self.value.expose_secret()).map_err(|source| {
            MonitorError::InvalidHeader {
                setting: format!("auth header {}", self.name),
                source: source.into(),
            }
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// How the requests of interactions in one provider state are changed to reach real data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateMapping {
    /// `Some(reason)` when interactions in this state must not be probed.
    pub skip: Option<String>,
    /// Recorded path → path to request instead.
    pub paths: BTreeMap<String, String>,
    /// Recorded path segment → segment to use instead (whole segments only).
    pub path_segments: BTreeMap<String, String>,
    /// Query parameters to set, replacing recorded values of the same name.
    pub query: Vec<(String, String)>,
    /// Headers to add, replacing recorded values of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl MonitorConfig {
    /// Defaults for everything but the base URL.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            environment: None,
            probe: ProbeSettings::default(),
            circuit: CircuitSettings::default(),
            auth_headers: Vec::new(),
            states: BTreeMap::new(),
        }
    }

    /// Reads a config file, resolving environment variables with the process environment.
    pub fn load(base_url: Url, path: &Path) -> Result<Self, MonitorError> {
        Self::load_with_env(base_url, path, |name| std::env::var(name))
    }

    /// Reads a config file, resolving environment variables with `env` (tests pass a map
    /// rather than touch the process environment).
    pub fn load_with_env(
        base_url: Url,
        path: &Path,
        env: impl Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<Self, MonitorError> {
        let text = read(path)?;
        let file: ConfigFile = toml::from_str(&text).map_err(|source| MonitorError::ParseFile {
            path: path.to_path_buf(),
            what: "monitor config file",
            source: Box::new(source),
        })?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        file.into_config(base_url, base_dir, &env)
    }
}

fn read(path: &Path) -> Result<String, MonitorError> {
    std::fs::read_to_string(path).map_err(|source| MonitorError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    probe: ProbeSection,
    #[serde(default)]
    circuit_breaker: CircuitSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    states: BTreeMap<String, StateSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeSection {
    timeout: Option<String>,
    concurrency: Option<usize>,
    rate_limit: Option<f64>,
    #[serde(default)]
    probe_unsafe: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircuitSection {
    failure_threshold: Option<u32>,
    open_for: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    #[serde(default)]
    headers_from_env: BTreeMap<String, String>,
    secrets_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateSection {
    #[serde(default)]
    skip: bool,
    reason: Option<String>,
    #[serde(default)]
    paths: BTreeMap<String, String>,
    #[serde(default)]
    path_segments: BTreeMap<String, String>,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The secrets file: a table of header values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    #[serde(default)]
    headers: BTreeMap<String, SecretString>,
}

fn invalid(setting: impl Into<String>, problem: impl Into<String>) -> MonitorError {
    MonitorError::InvalidSetting {
        setting: setting.into(),
        problem: problem.into(),
    }
}

fn duration(setting: &str, text: &str) -> Result<Duration, MonitorError> {
    let value = humantime::parse_duration(text).map_err(|err| {
        invalid(
            setting,
            format!("{text:?} is not a duration ({err}); write it like \"5s\" or \"500ms\""),
        )
    })?;
    if value.is_zero() {
        return Err(invalid(setting, "must be longer than zero"));
    }
    Ok(value)
}

fn header_name(setting: &str, name: &str) -> Result<HeaderName, MonitorError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|source| MonitorError::InvalidHeader {
        setting: setting.to_string(),
        source: source.into(),
    })
}

impl ConfigFile {
    fn into_config(
        self,
        base_url: Url,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<MonitorConfig, MonitorError> {
        let mut config = MonitorConfig::new(base_url);

        if let Some(text) = &self.probe.timeout {
            config.probe.timeout = duration("probe.timeout", text)?;
        }
        if let Some(concurrency) = self.probe.concurrency {
            if concurrency == 0 {
                return Err(invalid("probe.concurrency", "must be at least 1"));
            }
            config.probe.concurrency = concurrency;
        }
        if let Some(rate) = self.probe.rate_limit {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(
                    "probe.rate_limit",
                    "must be a positive number of requests per second",
                ));
            }
            config.probe.rate_limit = Some(rate);
        }
        config.probe.probe_unsafe = self.probe.probe_unsafe.into_iter().collect();

        if let Some(threshold) = self.circuit_breaker.failure_threshold {
            if threshold == 0 {
                return Err(invalid(
                    "circuit_breaker.failure_threshold",
                    "must be at least 1",
                ));
            }
            config.circuit.failure_threshold = threshold;
        }
        if let Some(text) = &self.circuit_breaker.open_for {
            config.circuit.open_for = duration("circuit_breaker.open_for", text)?;
        }

        for (name, variable) in &self.auth.headers_from_env {
            let setting = format!("auth.headers_from_env.{name}");
            let value = env(variable).map_err(|source| MonitorError::MissingEnv {
                variable: variable.clone(),
                setting: setting.clone(),
                source,
            })?;
            let header = AuthHeader {
                name: header_name(&setting, name)?,
                value: SecretString::from(value),
            };
            header.header_value()?;
            config.auth_headers.push(header);
        }
        if let Some(file) = &self.auth.secrets_file {
            let path = base_dir.join(file);
            let text = read(&path)?;
            let secrets: SecretsFile =
                toml::from_str(&text).map_err(|source| MonitorError::ParseFile {
                    path: path.clone(),
                    what: "secrets file (a [headers] table of header = \"value\")",
                    source: Box::new(source),
                })?;
            for (name, value) in secrets.headers {
                let setting = format!("headers.{name} in {}", path.display());
                let header = AuthHeader {
                    name: header_name(&setting, &name)?,
                    value,
                };
                header.header_value()?;
                config.auth_headers.push(header);
            }
        }

        for (state, section) in self.states {
            let setting = |key: &str| format!("states.\"{state}\".{key}");
            if !section.skip && section.reason.is_some() {
                return Err(invalid(
                    setting("reason"),
                    "is only used with `skip = true`",
                ));
            }
            for (from, to) in &section.paths {
                if !from.starts_with('/') || !to.starts_with('/') {
                    return Err(invalid(
                        setting("paths"),
                        format!("{from:?} = {to:?}: both paths must start with '/'"),
                    ));
                }
            }
            for (from, to) in &section.path_segments {
                if from.is_empty() || from.contains('/') || to.is_empty() || to.contains('/') {
                    return Err(invalid(
                        setting("path_segments"),
                        format!("{from:?} = {to:?}: segments must be non-empty and contain no '/'"),
                    ));
                }
            }
            let mut headers = Vec::new();
            for (name, value) in &section.headers {
                let key = setting(&format!("headers.{name}"));
                let value =
                    HeaderValue::from_str(value).map_err(|source| MonitorError::InvalidHeader {
                        setting: key.clone(),
                        source: source.into(),
                    })?;
                headers.push((header_name(&key, name)?, value));
            }
            let skip = section.skip.then(|| {
                section
                    .reason
                    .clone()
                    .unwrap_or_else(|| "marked skip in the config file".to_string())
            });
            config.states.insert(
                state.clone(),
                StateMapping {
                    skip,
                    paths: section.paths,
                    path_segments: section.path_segments,
                    query: section.query.into_iter().collect(),
                    headers,
                },
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::env::VarError;

    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<MonitorConfig, MonitorError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(
            dir.path().join("secrets.toml"),
            "[headers]\nX-Api-Key = \"s3cr3t\"\n",
        )
        .unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MonitorConfig::load_with_env(
            Url::parse("http://127.0.0.1:1").unwrap(),
            &path,
            move |name| env.get(name).cloned().ok_or(VarError::NotPresent),
        )
    }

    #[test]
    fn a_full_file_is_read() {
        let config = load(
            r#"
[probe]
timeout = "2s"
concurrency = 4
rate_limit = 50.0
probe_unsafe = ["create an order"]

[circuit_breaker]
failure_threshold = 3
open_for = "1m"

[auth]
headers_from_env = { Authorization = "TOKEN" }
secrets_file = "secrets.toml"

[states."order 1 exists"]
path_segments = { "1" = "8841" }
query = { tenant = "acme" }
headers = { X-Tenant = "acme" }

[states."a cancelled order"]
skip = true
reason = "none in production"
"#,
            &[("TOKEN", "Bearer abc")],
        )
        .unwrap();
        assert_eq!(config.probe.timeout, Duration::from_secs(2));
        assert_eq!(config.probe.concurrency, 4);
        assert_eq!(config.probe.rate_limit, Some(50.0));
        assert!(config.probe.probe_unsafe.contains("create an order"));
        assert_eq!(config.circuit.failure_threshold, 3);
        assert_eq!(config.circuit.open_for, Duration::from_secs(60));
        assert_eq!(config.auth_headers.len(), 2);
        assert_eq!(config.auth_headers[0].name, "authorization");
        assert_eq!(config.auth_headers[0].value.expose_secret(), "Bearer abc");
        assert_eq!(config.auth_headers[1].name, "x-api-key");
        let mapping = &config.states["order 1 exists"];
        assert_eq!(mapping.path_segments["1"], "8841");
        assert_eq!(
            mapping.query,
            vec![("tenant".to_string(), "acme".to_string())]
        );
        assert_eq!(
            config.states["a cancelled order"].skip.as_deref(),
            Some("none in production")
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = load(
            "[auth]\nheaders_from_env = { Authorization = \"TOKEN\" }\nsecrets_file = \"secrets.toml\"\n",
            &[("TOKEN", "Bearer abc")],
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("Bearer abc"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }

    #[test]
    fn bad_settings_are_named() {
        let err = load("[probe]\ntimeout = \"soon\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("probe.timeout"), "{err}");
        let err = load("[probe]\nconcurrency = 0\n", &[]).unwrap_err();
        assert!(err.to_string().contains("probe.concurrency"), "{err}");
        let err = load("[probes]\n", &[]).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let err = load(
            "[auth]\nheaders_from_env = { Authorization = \"NOPE\" }\n",
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
        let err = load("[states.\"x\"]\npath_segments = { \"a/b\" = \"c\" }\n", &[]).unwrap_err();
        assert!(
            err.to_string().contains("states.\"x\".path_segments"),
            "{err}"
        );
    }
}
