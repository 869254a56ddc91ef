//! HTTP plumbing shared by the routes: the JSON body extractor, the base URL
//! extractor, HAL responses and link building.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::domain::ValidationError;
use crate::error::ApiError;
use crate::startup::AppState;

/// The media type of every successful JSON response.
pub const HAL_JSON: &str = "application/hal+json;charset=utf-8";

/// A JSON response with the HAL media type.
pub fn hal(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    response
}

/// A 201 HAL response with a `Location` header.
pub fn created(location: &str, body: Value) -> Response {
    let mut response = hal(StatusCode::CREATED, body);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// 201 + Location when `was_created`, else 200.
pub fn created_or_ok(was_created: bool, location: &str, body: Value) -> Response {
    if was_created {
        created(location, body)
    } else {
        hal(StatusCode::OK, body)
    }
}

/// A request body parsed as JSON. Syntax errors, oversized bodies and non-JSON
/// content types (415) become [`ApiError`]s, so they share the API's error shape.
/// An empty body reads as `{}`, because several endpoints accept "no body".
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("unreadable").to_string())
            .unwrap_or_default();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(state.config.body_limit_bytes)
            } else {
                ApiError::BadRequest(format!("Could not read the request body: {rejection}"))
            }
        })?;
        // Some clients send form encoding, or nothing, on empty-bodied PUTs: an empty
        // body is "no body" whatever its type.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(Map::new())));
        }
        // A body in any other type is what a browser sends cross-site without asking
        // first (form fields, text/plain): only JSON types are read.
        if !crate::edge::is_json(&content_type) {
            return Err(ApiError::UnsupportedMediaType(
                crate::edge::unsupported_media_type(&content_type),
            ));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|err| {
            ApiError::BadRequest(format!(
                "Request body is not valid JSON: {err} (line {}, column {})",
                err.line(),
                err.column()
            ))
        })
    }
}

/// The externally visible base URL of the broker, without a trailing slash.
#[derive(Debug, Clone)]
pub struct Base(pub String);

impl FromRequestParts<AppState> for Base {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(url) = &state.config.public_base_url {
            return Ok(Base(url.as_str().trim_end_matches('/').to_string()));
        }
        // The edge (`edge::guard`) has removed the forwarded headers of peers that are
        // not trusted proxies, and those of trusted ones that are not a valid scheme,
        // host or path prefix.
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or_default().trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let scheme = header("x-forwarded-proto").unwrap_or_else(|| "http".to_string());
        let host = header("x-forwarded-host")
            .or_else(|| header("host"))
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| format!("127.0.0.1:{}", state.port));
        let prefix = header("x-forwarded-prefix").unwrap_or_default();
        Ok(Base(format!(
            "{scheme}://{host}{}",
            prefix.trim_end_matches('/')
        )))
    }
}

/// Characters escaped in a path segment: everything but the unreserved set, so a
/// `/` inside a name survives as `%2F`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment.
pub fn enc(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Percent-encodes a query value.
pub fn enc_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A HAL link.
pub fn link(href: impl Into<String>) -> Value {
    json!({ "href": href.into() })
}

/// A HAL link with title and name.
pub fn named_link(href: impl Into<String>, title: &str, name: &str) -> Value {
    json!({ "href": href.into(), "title": title, "name": name })
}

/// A templated HAL link.
pub fn templated(href: impl Into<String>, title: &str) -> Value {
    json!({ "href": href.into(), "title": title, "templated": true })
}

/// The `curies` link array, pointing at relation documentation.
pub fn curies(base: &str, context: &str) -> Value {
    json!([
        { "name": "pb", "href": format!("{base}/doc/{{rel}}?context={context}"), "templated": true },
        { "name": "beta", "href": format!("{base}/doc/{{rel}}?context={context}"), "templated": true }
    ])
}

/// Reads fields from a JSON object, collecting every validation error so the client
/// learns about all of them at once.
pub struct Fields<'a> {
    object: Option<&'a Map<String, Value>>,
    prefix: String,
    pub errors: Vec<ValidationError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `value`, which must be an object (else one error for `prefix`).
    pub fn new(value: &'a Value, prefix: &str) -> Self {
        let mut errors = Vec::new();
        let object = value.as_object();
        if object.is_none() {
            errors.push(ValidationError::new(
                if prefix.is_empty() { "body" } else { prefix },
                "must be a JSON object",
            ));
        }
        Self {
            object,
            prefix: prefix.to_string(),
            errors,
        }
    }

    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let name = self.name(key);
        self.errors.push(ValidationError::new(name, message));
    }

    /// The raw value of `key`, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.object
            .and_then(|o| o.get(key))
            .filter(|v| !v.is_null())
    }

    pub fn optional_str(&mut self, key: &str) -> Option<&'a str> {
        match self.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.error(key, "must be a string");
                None
            }
        }
    }

    pub fn required_str(&mut self, key: &str) -> Option<&'a str> {
        match self.get(key) {
            None => {
                self.error(key, "is missing");
                None
            }
            Some(_) => self.optional_str(key),
        }
    }

    pub fn optional_bool(&mut self, key: &str) -> Option<bool> {
        match self.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(key, "must be a boolean (true or false)");
                None
            }
        }
    }

    pub fn required_bool(&mut self, key: &str) -> Option<bool> {
        match self.get(key) {
            None => {
                self.error(key, "is missing");
                None
            }
            Some(_) => self.optional_bool(key),
        }
    }

    /// Parses a string field with a domain parser.
    pub fn parse<T>(
        &mut self,
        key: &str,
        required: bool,
        parser: impl Fn(&str, &str) -> Result<T, ValidationError>,
    ) -> Option<T> {
        let value = if required {
            self.required_str(key)
        } else {
            self.optional_str(key)
        }?;
        let name = self.name(key);
        match parser(&name, value) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                self.errors.push(err);
                None
            }
        }
    }

    /// Ends reading: the collected errors, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// The page of a collection a request asks for with `page` and `size` (or the
/// legacy `pageNumber` and `pageSize`). Without either, the whole collection is
/// answered, as before pagination existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: usize,
    pub size: usize,
}

impl Page {
    /// The page size when only `page` is given.
    pub const DEFAULT_SIZE: usize = 100;

    /// Reads the page from a raw query string; `None` when none is asked for.
    pub fn from_query(raw: Option<&str>) -> Result<Option<Page>, ApiError> {
        let query = crate::query::NestedQuery::parse(raw.unwrap_or_default());
        let read = |keys: [&str; 2]| -> Result<Option<usize>, ApiError> {
            let Some((key, value)) = keys.iter().find_map(|k| query.get(k).map(|v| (*k, v))) else {
                return Ok(None);
            };
            match value.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(ApiError::validation(
                    key,
                    format!("must be a whole number of 1 or more, not {value:?}"),
                )),
            }
        };
        let number = read(["page", "pageNumber"])?;
        let size = read(["size", "pageSize"])?;
        if number.is_none() && size.is_none() {
            return Ok(None);
        }
        Ok(Some(Page {
            number: number.unwrap_or(1),
            size: size.unwrap_or(Self::DEFAULT_SIZE),
        }))
    }

    /// The items of this page, and how many there were in all.
    pub fn cut<T>(self, items: Vec<T>) -> (Vec<T>, usize) {
        let total = items.len();
        let start = (self.number - 1).saturating_mul(self.size);
        (
            items.into_iter().skip(start).take(self.size).collect(),
            total,
        )
    }

    /// Adds `page` and the `next`/`previous` links to a collection body whose
    /// `self` link is `self_url` (without a query).
    pub fn describe(self, body: &mut Value, self_url: &str, total: usize) {
        let pages = total.div_ceil(self.size);
        body["page"] = json!({
            "number": self.number,
            "size": self.size,
            "totalElements": total,
            "totalPages": pages,
        });
        // The self URL may already carry a query (`?environment=production`).
        let separator = if self_url.contains('?') { '&' } else { '?' };
        let link_to = |number: usize| json!({ "href": format!("{self_url}{separator}size={}&page={number}", self.size), "title": "Page" });
        if self.number < pages {
            body["_links"]["next"] = link_to(self.number + 1);
        }
        if self.number > 1 {
            body["_links"]["previous"] = link_to((self.number - 1).min(pages.max(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_collections_and_link_their_neighbours() {
        assert_eq!(Page::from_query(None).unwrap(), None);
        let page = Page::from_query(Some("page=2&size=2")).unwrap().unwrap();
        let (items, total) = page.cut(vec![1, 2, 3, 4, 5]);
        assert_eq!((items, total), (vec![3, 4], 5));
        let mut body = json!({ "_links": {} });
        page.describe(&mut body, "http://b/things", total);
        assert_eq!(body["page"]["totalPages"], 3);
        assert_eq!(
            body["_links"]["next"]["href"],
            "http://b/things?size=2&page=3"
        );
        assert_eq!(
            body["_links"]["previous"]["href"],
            "http://b/things?size=2&page=1"
        );
        let legacy = Page::from_query(Some("pageNumber=3")).unwrap().unwrap();
        assert_eq!(
            legacy,
            Page {
                number: 3,
                size: 100
            }
        );
        assert!(Page::from_query(Some("size=0")).is_err());
    }
}
