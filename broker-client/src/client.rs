//! The client itself: transport, retries, error mapping and HAL navigation.
//! The API calls live in the sibling modules, each adding methods to [`BrokerClient`].

use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{Instrument, debug, info_span, warn};
use url::Url;

use crate::config::{BrokerAuth, BrokerClientConfig, RetryPolicy};
use crate::error::{BrokerError, error_message, notices};
use crate::hal::{HalDocument, Link};

const ACCEPT_HAL: &str = "application/hal+json, application/json";

/// A typed client for one broker. Cheap to share behind an `Arc`; the index resource
/// is fetched once and remembered.
#[derive(Debug)]
pub struct BrokerClient {
    http: reqwest::Client,
    base_url: Url,
    auth: Option<BrokerAuth>,
    retry: RetryPolicy,
    index: OnceCell<HalDocument>,
    url_flag: &'static str,
}

impl BrokerClient {
    /// Builds a client. Credentials written into the URL (`https://user:pass@host`) are
    /// used as Basic credentials when no other credentials are given, and removed from
    /// the URL so they never appear in messages.
    pub fn new(config: BrokerClientConfig) -> Result<Self, BrokerError> {
        let BrokerClientConfig {
            mut base_url,
            mut auth,
            timeout,
            retry,
            url_flag,
        } = config;
        if !base_url.username().is_empty() || base_url.password().is_some() {
            if auth.is_none() {
                let decode = |text: &str| {
                    percent_encoding::percent_decode_str(text)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                auth = Some(BrokerAuth::Basic {
                    username: decode(base_url.username()),
                    password: SecretString::from(decode(base_url.password().unwrap_or(""))),
                });
            }
            // Both calls only fail for URLs that cannot have credentials at all.
            let _ = base_url.set_username("");
            let _ = base_url.set_password(None);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("accord/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|source| BrokerError::Client {
                url: base_url.to_string(),
                source,
            })?;
        Ok(Self {
            http,
            base_url,
            auth,
            retry: RetryPolicy {
                max_attempts: retry.max_attempts.max(1),
                ..retry
            },
            index: OnceCell::new(),
            url_flag,
        })
    }

    /// The broker's base URL (without credentials).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The index resource (`GET /`), fetched once.
    pub async fn index(&self) -> Result<&HalDocument, BrokerError> {
        self.index
            .get_or_try_init(|| async {
                let url = self.base_url.clone();
                self.get_document(url, "the broker's index resource").await
            })
            .await
    }

    /// GETs any broker resource by href (absolute or relative to the broker).
    pub async fn get(&self, href: &str) -> Result<HalDocument, BrokerError> {
        let url = self.resolve(href)?;
        let what = format!("the resource {}", url.path());
        self.get_document(url, &what).await
    }

    /// The link of an index relation, e.g. `pb:environments`.
    pub async fn index_link(&self, relation: &str) -> Result<Link, BrokerError> {
        self.index().await?.require_link(relation)
    }

    /// The URL of an index relation with its template placeholders filled in.
    pub async fn relation_url(
        &self,
        relation: &str,
        params: &[(&str, &str)],
    ) -> Result<Url, BrokerError> {
        let link = self.index_link(relation).await?;
        self.resolve(&link.expand(params))
    }

    /// Turns an href from the broker into a URL on the configured broker.
    ///
    /// The path and query are kept and the scheme, host and port are those of the
    /// configured base URL, as `pact_verifier` does: links then work behind proxies that
    /// rewrite hosts, and credentials only ever go to the host the user configured.
    /// A context path in the base URL (`https://host/pact`) is prefixed to hrefs that
    /// lack it.
    pub fn resolve(&self, href: &str) -> Result<Url, BrokerError> {
        let (path, query) = match Url::parse(href) {
            Ok(absolute) => (
                absolute.path().to_string(),
                absolute.query().map(str::to_string),
            ),
            Err(url::ParseError::RelativeUrlWithoutBase) => match href.split_once('?') {
                Some((path, query)) => (path.to_string(), Some(query.to_string())),
                None => (href.to_string(), None),
            },
            Err(source) => {
                return Err(BrokerError::InvalidUrl {
                    url: href.to_string(),
                    source,
                });
            }
        };
        let context = self.base_url.path().trim_end_matches('/');
        let path = if path.starts_with('/') {
            if context.is_empty() || path == context || path.starts_with(&format!("{context}/")) {
                path
            } else {
                format!("{context}{path}")
            }
        } else {
            format!("{context}/{path}")
        };
        let mut url = self.base_url.clone();
        url.set_path(&path);
        url.set_query(query.as_deref());
        Ok(url)
    }

    /// GETs a URL and wraps the body as a HAL document. `what` names the resource in a 404.
    pub(crate) async fn get_document(
        &self,
        url: Url,
        what: &str,
    ) -> Result<HalDocument, BrokerError> {
        let body = self
            .send(Method::GET, url.clone(), None::<&Value>, what)
            .await?;
        Ok(HalDocument::new(url, body))
    }

    /// Sends one request with the retry policy and maps the answer.
    ///
    /// 2xx: the JSON body (`Null` when empty). 401/403: `Unauthorized`. 404: `NotFound`
    /// naming `what`. Other 4xx: `Refused` with the broker's message, never retried.
    /// 5xx and network errors: retried with backoff, then `Server` / `Unreachable`.
    pub(crate) async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        what: &str,
    ) -> Result<Value, BrokerError> {
        let span = info_span!("broker_request", method = %method, url = %url);
        async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = self.attempt(&method, &url, body).await;
                let retryable = match &result {
                    Ok((status, _)) => status.is_server_error(),
                    Err(error) => !error.is_builder(),
                };
                if retryable && attempt < self.retry.max_attempts {
                    let delay = self.retry.backoff(attempt);
                    match &result {
                        Ok((status, _)) => warn!(%status, attempt, ?delay, "broker answered a server error; retrying"),
                        Err(error) => warn!(error = %error, attempt, ?delay, "broker request failed; retrying"),
                    }
                    tokio::time::sleep(delay).await;
                    continue;
                }
                return match result {
                    Err(source) if source.is_builder() => Err(BrokerError::Client {
                        url: url.to_string(),
                        source,
                    }),
                    Err(source) => Err(BrokerError::Unreachable {
                        url: url.to_string(),
                        attempts: attempt,
                        source,
                        url_flag: self.url_flag,
                    }),
                    Ok((status, text)) => self.map_response(status, &url, &text, what, attempt),
                };
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt<B: Serialize + ?Sized>(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&B>,
    ) -> Result<(StatusCode, String), reqwest::Error> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, HeaderValue::from_static(ACCEPT_HAL));
        if let Some(body) = body {
            request = request.json(body);
        }
        request = match &self.auth {
            Some(BrokerAuth::Basic { username, password }) => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
            Some(BrokerAuth::Bearer(token)) => request.bearer_auth(token.expose_secret()),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        debug!(%status, "broker answered");
        Ok((status, text))
    }

    fn map_response(
        &self,
        status: StatusCode,
        url: &Url,
        text: &str,
        what: &str,
        attempts: u32,
    ) -> Result<Value, BrokerError> {
        let url_text = url.to_string();
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(text).map_err(|source| BrokerError::BadResponse {
                url: url_text,
                source,
            });
        }
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => BrokerError::Unauthorized {
                url: url_text,
                status,
                message: (status == StatusCode::FORBIDDEN && !text.trim().is_empty())
                    .then(|| error_message(text)),
            },
            StatusCode::NOT_FOUND => BrokerError::NotFound {
                what: what.to_string(),
                url: url_text,
            },
            status if status.is_server_error() => BrokerError::Server {
                url: url_text,
                status,
                attempts,
                message: error_message(text),
            },
            status => BrokerError::Refused {
                url: url_text,
                status,
                message: error_message(text),
                notices: serde_json::from_str::<Value>(text)
                    .map(|json| notices(&json))
                    .unwrap_or_default(),
            },
        })
    }
}
