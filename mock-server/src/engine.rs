//! The matching engine shared by the in-process mock, `accord mock` and `accord stub`.
//!
//! Everything that can be computed once per interaction is computed when it is registered
//! ([`Expectation::new`]): the upper-cased method, whether the path is compared exactly, the
//! `pact_matching` contexts for each part, and — when the response has no generators — the
//! response itself as ready-to-send status, headers and bytes. Serving a request then costs a
//! cheap method/path filter over the interactions, the `pact_matching` comparison of query,
//! headers and body for the few that pass it, and a reference-counted copy of the response.
//!
//! Memory stays bounded however long the server runs: per interaction a request counter, and
//! for unmatched requests a counter plus the first [`MAX_PROBLEMS_KEPT`] problems.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use pact_matching::headers::match_headers;
use pact_matching::{
    CoreMatchingContext, DiffConfig, HeaderMatchingContext, Mismatch, match_body, match_path,
    match_query,
};
use pact_models::bodies::OptionalBody;
use pact_models::content_types::ContentType;
use pact_models::generators::GeneratorTestMode;
use pact_models::matchingrules::{Category, MatchingRuleCategory};
use pact_models::v4::http_parts::{HttpRequest, HttpResponse};
use pact_models::v4::synch_http::SynchronousHttp;
use serde_json::{Value, json};

use crate::report::{
    CandidateMismatches, InteractionUse, MismatchDetail, RequestProblem, VerificationReport,
};

/// How many unmatched requests are kept with their mismatches; later ones are only counted.
pub const MAX_PROBLEMS_KEPT: usize = 20;
/// How many mismatches are kept per request and candidate interaction.
const MAX_MISMATCHES_KEPT: usize = 20;

/// How the engine chooses among interactions that all match a request.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Consumer tests: prefer an interaction that has not been requested yet, so that two
    /// interactions with the same request (in different provider states) are both used.
    PreferUnused,
    /// Stub provider: the first match, unless the request names a provider state (in the
    /// header the server was configured with), in which case only interactions declaring that
    /// state are considered.
    ByState,
}

/// One interaction, prepared for fast matching.
pub(crate) struct Expectation {
    pub(crate) interaction: SynchronousHttp,
    method: String,
    /// The expected path when it is compared for equality (no path matching rule).
    exact_path: Option<String>,
    path_context: CoreMatchingContext,
    query_context: CoreMatchingContext,
    body_context: CoreMatchingContext,
    header_context: HeaderMatchingContext,
    has_query: bool,
    state_names: Vec<String>,
    response: PreparedResponse,
    requests: AtomicU64,
}

enum PreparedResponse {
    Fixed(ResponseParts),
    /// The response has generators and is generated for every request.
    Generated,
}

/// A response ready to be sent.
#[derive(Clone)]
pub(crate) struct ResponseParts {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Expectation {
    pub(crate) fn new(interaction: SynchronousHttp) -> Self {
        let request = &interaction.request;
        let category = |name: Category| {
            request
                .matching_rules
                .rules_for_category(name.clone())
                .unwrap_or_else(|| MatchingRuleCategory::empty(name))
        };
        let context = |name: Category| {
            CoreMatchingContext::new(DiffConfig::NoUnexpectedKeys, &category(name))
        };
        let path_context = context(Category::PATH);
        let exact_path = path_context
            .matchers
            .is_empty()
            .then(|| request.path.clone());
        let header_context = HeaderMatchingContext::new(&context(Category::HEADER));
        let response = if interaction.response.generators.is_empty() {
            PreparedResponse::Fixed(response_parts(&interaction.response))
        } else {
            PreparedResponse::Generated
        };
        Expectation {
            method: request.method.to_ascii_uppercase(),
            exact_path,
            query_context: context(Category::QUERY),
            body_context: context(Category::BODY),
            path_context,
            header_context,
            has_query: request.query.as_ref().is_some_and(|q| !q.is_empty()),
            state_names: interaction
                .provider_states
                .iter()
                .map(|state| state.name.clone())
                .collect(),
            response,
            requests: AtomicU64::new(0),
            interaction,
        }
    }

    /// The cheap part of matching: method and path.
    fn method_and_path_match(&self, actual: &ActualRequest) -> bool {
        if !self.method.eq_ignore_ascii_case(&actual.request.method) {
            return false;
        }
        match &self.exact_path {
            Some(path) => *path == actual.request.path,
            None => match_path(
                &self.interaction.request.path,
                &actual.request.path,
                &self.path_context,
            )
            .is_ok(),
        }
    }

    /// The full comparison of query, headers and body.
    async fn mismatches(&self, actual: &ActualRequest) -> Vec<Mismatch> {
        let expected = &self.interaction.request;
        let mut found = Vec::new();
        if self.has_query || actual.request.query.is_some() {
            for (_, list) in match_query(
                expected.query.clone(),
                actual.request.query.clone(),
                &self.query_context,
            ) {
                found.extend(list);
            }
        }
        if expected.headers.is_some() {
            for (_, list) in match_headers(
                expected.headers.clone(),
                actual.request.headers.clone(),
                &self.header_context,
            ) {
                found.extend(list);
            }
        }
        found.extend(
            match_body(
                expected,
                &actual.request,
                &self.body_context,
                &self.header_context,
            )
            .await
            .mismatches(),
        );
        found
    }

    fn usage(&self) -> InteractionUse {
        InteractionUse {
            description: self.interaction.description.clone(),
            provider_states: self.state_names.clone(),
            request: format!("{} {}", self.method, self.interaction.request.path),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

/// Turns a `pact_models` response into what goes on the wire.
pub(crate) fn response_parts(response: &HttpResponse) -> ResponseParts {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (name, values) in response.headers.iter().flatten() {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        // pact_models splits header values on commas when it loads a pact; joining them again
        // gives back the header as it was written.
        if let Ok(value) = HeaderValue::from_str(&values.join(", ")) {
            headers.insert(name, value);
        }
    }
    let body = match &response.body {
        OptionalBody::Present(bytes, content_type, _) => {
            if !headers.contains_key(CONTENT_TYPE) {
                let content_type = content_type
                    .clone()
                    .or_else(|| response.content_type())
                    .map(|ct| ct.to_string());
                if let Some(value) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
                    headers.insert(CONTENT_TYPE, value);
                }
            }
            bytes.clone()
        }
        _ => Bytes::new(),
    };
    ResponseParts {
        status,
        headers,
        body,
    }
}

/// A request as received, in the `pact_models` form `pact_matching` compares.
pub(crate) struct ActualRequest {
    pub request: HttpRequest,
    /// Path and query as received, for reports.
    pub target: String,
    /// The provider state named by the request, in stub mode.
    pub state: Option<String>,
}

impl ActualRequest {
    pub(crate) fn from_parts(
        parts: &http::request::Parts,
        body: Bytes,
        state_header: Option<&HeaderName>,
    ) -> Self {
        let raw_path = parts.uri.path();
        let path = percent_encoding::percent_decode_str(raw_path)
            .decode_utf8_lossy()
            .into_owned();
        let query = parts
            .uri
            .query()
            .filter(|q| !q.is_empty())
            .and_then(pact_models::query_strings::parse_query_string);
        let mut headers: HashMap<String, Vec<String>> =
            HashMap::with_capacity(parts.headers.keys_len());
        for (name, value) in &parts.headers {
            headers
                .entry(name.as_str().to_string())
                .or_default()
                .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
        }
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| ContentType::parse(v).ok());
        let body = if body.is_empty() {
            OptionalBody::Missing
        } else {
            OptionalBody::Present(body, content_type, None)
        };
        let state = state_header
            .and_then(|name| parts.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let target = match parts.uri.query() {
            Some(query) => format!("{raw_path}?{query}"),
            None => raw_path.to_string(),
        };
        ActualRequest {
            request: HttpRequest {
                method: parts.method.as_str().to_string(),
                path,
                query,
                headers: Some(headers),
                body,
                ..HttpRequest::default()
            },
            target,
            state,
        }
    }
}

/// The outcome of one request.
pub(crate) enum Outcome {
    Matched(ResponseParts),
    Unmatched(RequestProblem),
}

#[derive(Default)]
struct ProblemLog {
    kept: Vec<RequestProblem>,
    total: u64,
}

/// The set of expected interactions and what happened to them.
pub struct Engine {
    consumer: String,
    provider: String,
    expectations: RwLock<Arc<Vec<Arc<Expectation>>>>,
    problems: Mutex<ProblemLog>,
    selection: Selection,
    /// The server's own base URL, for the `MockServerURL` generator.
    base_url: RwLock<Option<String>>,
}

impl Engine {
    pub(crate) fn new(
        consumer: impl Into<String>,
        provider: impl Into<String>,
        interactions: Vec<SynchronousHttp>,
        selection: Selection,
    ) -> Self {
        Engine {
            consumer: consumer.into(),
            provider: provider.into(),
            expectations: RwLock::new(Arc::new(
                interactions
                    .into_iter()
                    .map(|i| Arc::new(Expectation::new(i)))
                    .collect(),
            )),
            problems: Mutex::default(),
            selection,
            base_url: RwLock::new(None),
        }
    }

    pub(crate) fn consumer(&self) -> &str {
        &self.consumer
    }

    pub(crate) fn provider(&self) -> &str {
        &self.provider
    }

    pub(crate) fn set_base_url(&self, url: String) {
        *self
            .base_url
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(url);
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Expectation>>> {
        self.expectations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds interactions (the admin API registers them while the server runs).
    pub(crate) fn add(&self, interactions: Vec<SynchronousHttp>) {
        let mut guard = self
            .expectations
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next: Vec<Arc<Expectation>> = guard.as_ref().clone();
        next.extend(
            interactions
                .into_iter()
                .map(|i| Arc::new(Expectation::new(i))),
        );
        *guard = Arc::new(next);
    }

    /// Forgets every interaction, count and problem.
    pub(crate) fn reset(&self) {
        *self
            .expectations
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Vec::new());
        *self.problems.lock().unwrap_or_else(PoisonError::into_inner) = ProblemLog::default();
    }

    /// The interactions, in the order they were registered.
    pub(crate) fn interactions(&self) -> Vec<SynchronousHttp> {
        self.snapshot()
            .iter()
            .map(|e| e.interaction.clone())
            .collect()
    }

    /// What was requested so far.
    pub fn report(&self) -> VerificationReport {
        let problems = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        VerificationReport {
            consumer: self.consumer.clone(),
            provider: self.provider.clone(),
            interactions: self.snapshot().iter().map(|e| e.usage()).collect(),
            unmatched_requests: problems.total,
            problems: problems.kept.clone(),
        }
    }

    /// Finds the interaction for a request and produces its response.
    pub(crate) async fn handle(&self, actual: &ActualRequest) -> Outcome {
        let expectations = self.snapshot();
        let mut fallback: Option<&Arc<Expectation>> = None;
        let mut candidates = Vec::new();
        let mut state_rejected = false;
        for expectation in expectations.iter() {
            if !expectation.method_and_path_match(actual) {
                continue;
            }
            let mismatches = expectation.mismatches(actual).await;
            if !mismatches.is_empty() {
                candidates.push(CandidateMismatches {
                    interaction: expectation.interaction.description.clone(),
                    mismatches: mismatches
                        .iter()
                        .take(MAX_MISMATCHES_KEPT)
                        .map(MismatchDetail::from_pact)
                        .collect(),
                });
                continue;
            }
            match &self.selection {
                Selection::PreferUnused => {
                    if expectation.requests.load(Ordering::Relaxed) == 0 {
                        fallback = Some(expectation);
                        break;
                    }
                    fallback.get_or_insert(expectation);
                }
                Selection::ByState => match &actual.state {
                    Some(state) if !expectation.state_names.iter().any(|s| s == state) => {
                        state_rejected = true;
                    }
                    _ => {
                        fallback = Some(expectation);
                        break;
                    }
                },
            }
        }
        match fallback {
            Some(expectation) => {
                expectation.requests.fetch_add(1, Ordering::Relaxed);
                Outcome::Matched(self.respond(expectation).await)
            }
            None => {
                let problem = RequestProblem {
                    method: actual.request.method.clone(),
                    path: actual.target.clone(),
                    candidates,
                    provider_state: state_rejected.then(|| actual.state.clone()).flatten(),
                };
                tracing::warn!(
                    consumer = %self.consumer,
                    provider = %self.provider,
                    mismatches = %problem.to_json()["mismatches"],
                    "{}",
                    problem.headline()
                );
                let mut log = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
                log.total += 1;
                if log.kept.len() < MAX_PROBLEMS_KEPT {
                    log.kept.push(problem.clone());
                }
                Outcome::Unmatched(problem)
            }
        }
    }

    async fn respond(&self, expectation: &Expectation) -> ResponseParts {
        match &expectation.response {
            PreparedResponse::Fixed(parts) => parts.clone(),
            PreparedResponse::Generated => {
                let base_url = self
                    .base_url
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
                    .unwrap_or_default();
                let port = base_url
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
                let mock_server = json!({"url": base_url, "href": base_url, "port": port});
                let context: HashMap<&str, Value> = HashMap::from([("mockServer", mock_server)]);
                let generated = pact_matching::generate_response(
                    &expectation.interaction.response,
                    &GeneratorTestMode::Consumer,
                    &context,
                )
                .await;
                response_parts(&generated)
            }
        }
    }
}
