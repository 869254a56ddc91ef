//! SVG badges of the latest verification status of a pact, for a README:
//! `/pacts/provider/{p}/consumer/{c}/latest/badge` (and `/latest/{tag}/badge`,
//! `/latest-untagged/badge`), each also with a `.svg` suffix, as the official
//! broker serves them.
//!
//! Like the official broker, the badge says `verified` (bright green) when the
//! latest verification verified the latest pact, `failed` (red) when it failed,
//! `changed` (orange) when the pact changed since the last successful
//! verification, and `unknown` (grey) when nothing was verified; an unknown
//! pacticipant or pact answers 200 with a grey `pact not found` badge, so a README
//! never shows a broken image. `?label=consumer` or `?label=provider` shortens the
//! title to that name; `?initials=true` abbreviates names to their initials.
//! The SVG is drawn here, in the flat style of shields.io: nothing is fetched.

use std::collections::HashSet;
use std::fmt::Write;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::tagged_version_ids;
use crate::domain::{PacticipantName, TagName};
use crate::error::ApiError;
use crate::query::NestedQuery;
use crate::startup::AppState;
use crate::store::{Pacticipant, Publication, PublicationFilter, VerificationFilter};

pub fn router() -> Router<AppState> {
    let integration = "/pacts/provider/{provider}/consumer/{consumer}";
    let mut router = Router::new();
    for suffix in ["badge", "badge.svg"] {
        router = router
            .route(&format!("{integration}/latest/{suffix}"), get(latest))
            .route(
                &format!("{integration}/latest/{{tag}}/{suffix}"),
                get(latest_with_tag),
            )
            .route(
                &format!("{integration}/latest-untagged/{suffix}"),
                get(latest_untagged),
            );
    }
    router
}

/// Which consumer versions' pacts a badge is about.
enum Which {
    Latest,
    Tagged(String),
    Untagged,
}

/// The verification status a badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadgeStatus {
    /// The latest verification verified the pact's current content.
    Verified,
    /// The latest verification failed.
    Failed,
    /// The content changed since the latest (successful) verification.
    Changed,
    /// Never verified.
    Unknown,
}

impl BadgeStatus {
    fn text(self) -> &'static str {
        match self {
            BadgeStatus::Verified => "verified",
            BadgeStatus::Failed => "failed",
            BadgeStatus::Changed => "changed",
            BadgeStatus::Unknown => "unknown",
        }
    }

    /// The shields.io colours of the official broker's badges.
    fn colour(self) -> &'static str {
        match self {
            BadgeStatus::Verified => "#4c1",
            BadgeStatus::Failed => "#e05d44",
            BadgeStatus::Changed => "#fe7d37",
            BadgeStatus::Unknown => "#9f9f9f",
        }
    }
}

async fn latest(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    badge(&state, &provider, &consumer, Which::Latest, raw.as_deref()).await
}

async fn latest_with_tag(
    State(state): State<AppState>,
    Path((provider, consumer, tag)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    badge(
        &state,
        &provider,
        &consumer,
        Which::Tagged(tag),
        raw.as_deref(),
    )
    .await
}

async fn latest_untagged(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    badge(
        &state,
        &provider,
        &consumer,
        Which::Untagged,
        raw.as_deref(),
    )
    .await
}

/// A pacticipant by name, `None` when the name is invalid or unknown: a badge
/// answers "pact not found" rather than an error.
async fn lookup(state: &AppState, name: &str) -> Result<Option<Pacticipant>, ApiError> {
    let Ok(name) = PacticipantName::parse("pacticipant", name) else {
        return Ok(None);
    };
    Ok(state.store.pacticipant(&name).await?)
}

async fn badge(
    state: &AppState,
    provider: &str,
    consumer: &str,
    which: Which,
    raw_query: Option<&str>,
) -> Result<Response, ApiError> {
    let query = NestedQuery::parse(raw_query.unwrap_or_default());
    // The official broker keeps at most 30 characters of the label.
    let label: Option<String> = query.get("label").map(|l| l.chars().take(30).collect());
    let initials = query.get("initials") == Some("true");
    let (Some(provider), Some(consumer)) = (
        lookup(state, provider).await?,
        lookup(state, consumer).await?,
    ) else {
        return Ok(svg_response("pact not found", BadgeStatus::Unknown));
    };
    let Some((pact, candidates)) = pacts(state, &provider, &consumer, &which).await? else {
        return Ok(svg_response("pact not found", BadgeStatus::Unknown));
    };
    let status = status(state, &provider, &consumer, &pact, &candidates).await?;
    let consumer_name = prepare_name(&consumer.name, initials, tag_of(&which));
    let provider_name = prepare_name(&provider.name, initials, None);
    let title = match label.as_deref().map(str::to_lowercase).as_deref() {
        Some("consumer") => consumer_name,
        Some("provider") => provider_name,
        _ => format!("{consumer_name}/{provider_name}"),
    };
    Ok(svg_response(&format!("{title} pact"), status))
}

fn tag_of(which: &Which) -> Option<&str> {
    match which {
        Which::Tagged(tag) => Some(tag),
        Which::Latest | Which::Untagged => None,
    }
}

/// The pact the badge is about (the latest of the selected consumer versions) and
/// the contents of every selected publication, whose verifications count.
async fn pacts(
    state: &AppState,
    provider: &Pacticipant,
    consumer: &Pacticipant,
    which: &Which,
) -> Result<Option<(Publication, HashSet<i64>)>, ApiError> {
    let publications = state
        .store
        .publications(PublicationFilter {
            consumer_id: Some(consumer.id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    let selected: Vec<Publication> = match which {
        Which::Latest => publications,
        Which::Tagged(tag) => {
            let Ok(tag) = TagName::parse("tag", tag) else {
                return Ok(None);
            };
            let tagged = tagged_version_ids(state, consumer.id, Some(&tag)).await?;
            publications
                .into_iter()
                .filter(|pp| tagged.contains(&pp.consumer_version_id))
                .collect()
        }
        Which::Untagged => {
            let tagged = tagged_version_ids(state, consumer.id, None).await?;
            publications
                .into_iter()
                .filter(|pp| !tagged.contains(&pp.consumer_version_id))
                .collect()
        }
    };
    let candidates = selected.iter().map(|pp| pp.pact_version_id).collect();
    // Publications come oldest consumer version first.
    Ok(selected.last().cloned().map(|pact| (pact, candidates)))
}

/// The official broker's rule: the latest verification of any selected pact
/// decides; a success of other content than the latest pact's means "changed".
async fn status(
    state: &AppState,
    provider: &Pacticipant,
    consumer: &Pacticipant,
    pact: &Publication,
    candidates: &HashSet<i64>,
) -> Result<BadgeStatus, ApiError> {
    let verifications = state
        .store
        .verifications(VerificationFilter {
            consumer_id: Some(consumer.id),
            provider_id: Some(provider.id),
            ..Default::default()
        })
        .await?;
    // Oldest first, so the last matching one is the latest.
    let latest = verifications
        .iter()
        .rev()
        .find(|v| candidates.contains(&v.pact_version_id));
    Ok(match latest {
        None => BadgeStatus::Unknown,
        Some(v) if !v.success => BadgeStatus::Failed,
        Some(v) if v.pact_version_id == pact.pact_version_id => BadgeStatus::Verified,
        Some(_) => BadgeStatus::Changed,
    })
}

/// A name as the title shows it: lower case, optionally as initials (of its words,
/// or of its camel-case parts), with the tag in brackets.
fn prepare_name(name: &str, initials: bool, tag: Option<&str>) -> String {
    let suffix = tag.map(|t| format!(" ({t})")).unwrap_or_default();
    if initials {
        let mut parts: Vec<String> = name
            .split([' ', '\t', '-', '_'])
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if parts.len() == 1 {
            parts = camel_case_parts(name);
        }
        if parts.len() > 1 {
            let letters: String = parts.iter().filter_map(|p| p.chars().next()).collect();
            return letters.to_lowercase() + &suffix;
        }
    }
    name.to_lowercase() + &suffix
}

/// `OrderService` → `Order`, `Service`; `HTTPClient` → `HTTP`, `Client`.
fn camel_case_parts(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && previous.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

fn svg_response(title: &str, status: BadgeStatus) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml;charset=utf-8"),
            ),
            // A README shows the status now, not a cached one.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, max-age=0"),
            ),
        ],
        render(title, status.text(), status.colour()),
    )
        .into_response()
}

/// The width in pixels of `text` in 11px Verdana, estimated per character class
/// (close enough for a badge; shields.io measures the same font).
fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 3,
            'f' | 't' | 'r' | 'I' | ' ' | '(' | ')' | '[' | ']' | '/' | '-' => 5,
            'm' | 'w' | 'M' | 'W' => 10,
            'A'..='Z' => 8,
            _ => 7,
        })
        .sum()
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// A flat two-part badge: `title` on grey, `status` on `colour`.
fn render(title: &str, status: &str, colour: &str) -> String {
    let left = text_width(title) + 10;
    let right = text_width(status) + 10;
    let width = left + right;
    let (title, status) = (xml_escape(title), xml_escape(status));
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"20\" \
         role=\"img\" aria-label=\"{title}: {status}\"><title>{title}: {status}</title>\
         <linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" \
         stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
         <clipPath id=\"r\"><rect width=\"{width}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
         <g clip-path=\"url(#r)\"><rect width=\"{left}\" height=\"20\" fill=\"#555\"/>\
         <rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/>\
         <rect width=\"{width}\" height=\"20\" fill=\"url(#s)\"/></g>\
         <g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" \
         font-size=\"11\"><text x=\"{lx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{title}</text>\
         <text x=\"{lx}\" y=\"14\">{title}</text>\
         <text x=\"{rx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{status}</text>\
         <text x=\"{rx}\" y=\"14\">{status}</text></g></svg>",
        lx = f64::from(left) / 2.0,
        rx = f64::from(left) + f64::from(right) / 2.0,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_lower_case_or_initials() {
        assert_eq!(prepare_name("Order Service", false, None), "order service");
        assert_eq!(prepare_name("order-service", true, None), "os");
        assert_eq!(prepare_name("OrderService", true, None), "os");
        assert_eq!(prepare_name("HTTPClient", true, Some("prod")), "hc (prod)");
        // A single word keeps its name.
        assert_eq!(prepare_name("Orders", true, None), "orders");
    }

    #[test]
    fn the_svg_escapes_names_and_widens_with_the_title() {
        let short = render("a/b pact", "verified", "#4c1");
        let long = render("<consumer>/provider pact", "verified", "#4c1");
        assert!(long.contains("&lt;consumer&gt;/provider pact"));
        assert!(!long.contains("<consumer>"));
        let width = |svg: &str| -> u32 {
            let start = svg.find("width=\"").unwrap() + 7;
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        assert!(width(&long) > width(&short));
    }
}
