//! `GET /audit`: the audit log, newest first (an Accord extension, linked from the
//! index as `accord:audit`).
//!
//! Every committed write made through the API leaves one entry: who (the Basic user
//! name, `token`, `token:NAME` for a scoped token, or `anonymous` when authentication
//! is off), the method and path, the `X-Request-ID`, and when. Who changed what is
//! sensitive, so when authentication is on, reading the log needs the `admin` scope:
//! other credentials get 403 and `--public-read` does not open it.
//!
//! Filters, all optional and combined: `actor`, `method`, `path` (a prefix),
//! `requestId`, `since` and `until` (RFC 3339 times; `since` inclusive, `until`
//! exclusive); `page` and `size` page through the result (100 a page by default).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::ValidationError;
use crate::error::ApiError;
use crate::http::{Base, Page, enc_query, hal, link};
use crate::query::NestedQuery;
use crate::repr::time;
use crate::startup::AppState;
use crate::store::events::AuditEntry;
use crate::store::ops::AuditFilter;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// The largest page a client may ask for.
const MAX_PAGE_SIZE: usize = 1000;

/// The filters of the query string, every bad value reported at once.
/// Query parameters as applied, for links that repeat them.
type Echoed = Vec<(&'static str, String)>;

fn filter(query: &NestedQuery) -> Result<(AuditFilter, Echoed), ApiError> {
    let mut errors = Vec::new();
    let mut echoed = Vec::new();
    let mut text = |key: &'static str| {
        let value = query.get(key).map(str::trim).filter(|v| !v.is_empty())?;
        echoed.push((key, value.to_string()));
        Some(value.to_string())
    };
    let actor = text("actor");
    let method = text("method").map(|m| m.to_ascii_uppercase());
    let path_prefix = text("path");
    let request_id = text("requestId");
    let since_raw = text("since");
    let until_raw = text("until");
    let mut at = |key: &str, raw: Option<String>| -> Option<DateTime<Utc>> {
        let raw = raw?;
        match DateTime::parse_from_rfc3339(&raw) {
            Ok(parsed) => Some(parsed.with_timezone(&Utc)),
            Err(_) => {
                errors.push(ValidationError::new(
                    key,
                    format!("must be an RFC 3339 time such as 2024-05-01T10:00:00Z, not {raw:?}"),
                ));
                None
            }
        }
    };
    let since = at("since", since_raw);
    let until = at("until", until_raw);
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        errors.push(ValidationError::new("until", "must be later than since"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // Links repeat the filters as applied.
    for (key, value) in &mut echoed {
        if *key == "method" {
            *value = value.to_ascii_uppercase();
        }
    }
    Ok((
        AuditFilter {
            actor,
            method,
            path_prefix,
            request_id,
            since,
            until,
        },
        echoed,
    ))
}

fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "id": entry.id,
        "actor": entry.actor,
        "method": entry.method,
        "path": entry.path,
        "requestId": entry.request_id,
        "createdAt": time(&entry.created_at),
    })
}

async fn list(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // Only administrators get here: the audit log is an `AdminRead` (see `auth::scope`),
    // also when reads are public.
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let (filter, echoed) = filter(&query)?;
    let page = Page::from_query(raw.as_deref())?.unwrap_or(Page {
        number: 1,
        size: Page::DEFAULT_SIZE,
    });
    if page.size > MAX_PAGE_SIZE {
        return Err(ApiError::validation(
            "size",
            format!("must be at most {MAX_PAGE_SIZE}"),
        ));
    }
    let total = state.store.audit_count(&filter).await?;
    let offset = (page.number - 1).saturating_mul(page.size);
    let entries = state
        .store
        .audit_entries(
            &filter,
            i64::try_from(offset).unwrap_or(i64::MAX),
            i64::try_from(page.size).unwrap_or(i64::MAX),
        )
        .await?;
    // The self link keeps the filters, so `next` and `previous` page through the
    // same selection.
    let mut self_url = format!("{base}/audit");
    for (i, (key, value)) in echoed.iter().enumerate() {
        self_url.push(if i == 0 { '?' } else { '&' });
        self_url.push_str(key);
        self_url.push('=');
        self_url.push_str(&enc_query(value));
    }
    let items: Vec<Value> = entries.iter().map(entry_json).collect();
    let mut body = json!({
        "_embedded": { "entries": items },
        "_links": {
            "self": link(self_url.clone()),
            "index": link(base.clone()),
        },
    });
    page.describe(&mut body, &self_url, usize::try_from(total).unwrap_or(0));
    Ok(hal(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_and_bad_times_name_their_field() {
        let query = NestedQuery::parse(
            "actor=rw&method=put&path=/pacticipants&since=2024-05-01T10:00:00%2B02:00",
        );
        let (filter, echoed) = filter(&query).unwrap();
        assert_eq!(filter.actor.as_deref(), Some("rw"));
        assert_eq!(filter.method.as_deref(), Some("PUT"));
        assert_eq!(filter.path_prefix.as_deref(), Some("/pacticipants"));
        assert_eq!(
            filter.since.unwrap().to_rfc3339(),
            "2024-05-01T08:00:00+00:00"
        );
        assert_eq!(echoed.len(), 4);

        let Err(ApiError::Validation(errors)) =
            filter_of("since=yesterday&until=2024-01-01T00:00:00Z")
        else {
            panic!("a bad time is refused");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "since");

        let Err(ApiError::Validation(errors)) =
            filter_of("since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z")
        else {
            panic!("an empty window is refused");
        };
        assert_eq!(errors[0].field, "until");
    }

    fn filter_of(raw: &str) -> Result<AuditFilter, ApiError> {
        filter(&NestedQuery::parse(raw)).map(|(f, _)| f)
    }
}
