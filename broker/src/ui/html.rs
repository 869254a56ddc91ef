//! Writing HTML by hand: escaping, the page layout shared by every page, and small
//! pieces (status badges, links) the pages have in common.
//!
//! Pages are built as strings with `write!`; every piece of text that came from a
//! client (names, versions, pact content) goes through [`esc`] and every URL built
//! from it through [`crate::http::enc`] or [`crate::http::enc_query`] first, so a
//! pacticipant named `<script>` shows up as text.

use std::fmt::Write;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for use in HTML content and in double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `<a href="...">text</a>` with both escaped.
pub fn a(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(href), esc(text))
}

/// The verification status of a pact, as a coloured badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure,
    Never,
}

impl Status {
    pub fn of(success: Option<bool>) -> Status {
        match success {
            Some(true) => Status::Success,
            Some(false) => Status::Failure,
            None => Status::Never,
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            Status::Success => "<span class=\"badge ok\" data-status=\"success\">verified</span>",
            Status::Failure => "<span class=\"badge fail\" data-status=\"failure\">failed</span>",
            Status::Never => {
                "<span class=\"badge none\" data-status=\"never\">never verified</span>"
            }
        }
    }
}

/// The UI's one style sheet, inline; the Content-Security-Policy allows it by hash.
pub(crate) const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d2430; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.2rem; align-items: baseline; flex-wrap: wrap; }
header a { color: #cfe3ff; text-decoration: none; }
header a:hover { text-decoration: underline; }
header .brand { font-weight: bold; color: #fff; margin-right: 1rem; }
main { padding: 1rem 1.2rem; max-width: 80rem; }
table { border-collapse: collapse; background: #fff; margin: .5rem 0 1rem; }
th, td { border: 1px solid #d9dde3; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
pre { background: #fff; border: 1px solid #d9dde3; padding: .5rem; overflow-x: auto; margin: .3rem 0; }
.badge { border-radius: .6rem; padding: .05rem .5rem; font-size: .85em; white-space: nowrap; }
.ok { background: #d4f3dc; color: #0d5b22; }
.fail { background: #fbd9d9; color: #8a1010; }
.none { background: #e6e8eb; color: #48505c; }
.answer { font-size: 1.3em; font-weight: bold; padding: .4rem .8rem; display: inline-block; border-radius: .4rem; }
.muted { color: #68707c; }
.errors { background: #fbd9d9; border: 1px solid #e3a0a0; padding: .5rem 1rem; }
.interaction { background: #fff; border: 1px solid #d9dde3; padding: .6rem 1rem; margin-bottom: 1rem; }
form { background: #fff; border: 1px solid #d9dde3; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; }
label { display: flex; flex-direction: column; font-size: .9em; }
nav.pages { margin: .5rem 0; display: flex; gap: 1rem; }
svg text { font-size: 12px; }
"#;

/// A whole HTML document: the navigation, the page's title and its body.
pub fn page(base: &str, title: &str, body: &str) -> String {
    let b = esc(base);
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Accord broker</title><style>{STYLE}</style></head><body>\
         <header><a class=\"brand\" href=\"{b}/ui\">Accord broker</a>\
         <a href=\"{b}/ui\">Pacticipants</a>\
         <a href=\"{b}/ui/matrix\">Matrix</a>\
         <a href=\"{b}/ui/can-i-deploy\">Can I deploy?</a>\
         <a href=\"{b}/ui/environments\">Environments</a>\
         <a href=\"{b}/ui/network\">Network</a>\
         <a href=\"{b}/ui/drift\">Drift</a>\
         <a href=\"{b}/ui/webhooks\">Webhooks</a>\
         <a href=\"{b}/\" title=\"The API index (HAL JSON for API clients)\" data-api=\"index\">API</a>\
         </header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    );
    out
}

/// An HTML response.
pub fn html(status: StatusCode, document: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        document,
    )
        .into_response()
}
