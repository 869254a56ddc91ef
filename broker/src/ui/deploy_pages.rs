//! The matrix and can-i-deploy pages (`/ui/matrix`, `/ui/can-i-deploy`) and the form
//! and table pieces they share with the other pages.

use std::fmt::Write;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::html::{Status, a, esc, page};
use super::*;
use crate::http::{Base, enc, enc_query};
use crate::matrix::{
    self, LatestBy, MatrixError, MatrixQuery, NoticeKind, Options, Row, SelectorSpec,
};
use crate::query::NestedQuery;
use crate::repr::time;
use crate::startup::AppState;

/// One text input of a form, keeping what was typed.
pub(super) fn input(name: &str, label: &str, value: Option<&str>) -> String {
    format!(
        "<label>{label}<input name=\"{name}\" value=\"{}\"></label>",
        esc(value.unwrap_or_default())
    )
}

/// The matrix rows as a table.
pub(super) fn rows_table(body: &mut String, base: &str, rows: &[Row]) {
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">No rows.</p>");
        return;
    }
    body.push_str(
        "<table id=\"matrix\"><tr><th>Consumer</th><th>Consumer version</th><th>Provider</th>\
         <th>Provider version</th><th>Published</th><th>Verified</th><th>Result</th></tr>",
    );
    for row in rows {
        let p = &row.publication;
        let doc = format!(
            "{base}/ui/pacts/provider/{}/consumer/{}/version/{}",
            enc(&p.provider_name),
            enc(&p.consumer_name),
            enc(&p.consumer_version_number)
        );
        let (provider_version, verified_at) = match &row.verification {
            Some(v) => (esc(&v.provider_version_number), esc(&time(&v.created_at))),
            None => (String::new(), String::new()),
        };
        let _ = write!(
            body,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            if row.ignored { " class=\"muted\"" } else { "" },
            esc(&p.consumer_name),
            a(&doc, &p.consumer_version_number),
            esc(&p.provider_name),
            provider_version,
            esc(&time(&p.created_at)),
            verified_at,
            Status::of(row.verification.as_ref().map(|v| v.success)).badge(),
            if row.ignored { " (ignored)" } else { "" }
        );
    }
    body.push_str("</table>");
}

pub(super) fn non_blank<'a>(query: &'a NestedQuery, key: &str) -> Option<&'a str> {
    query.get(key).map(str::trim).filter(|v| !v.is_empty())
}

/// `/ui/matrix?pacticipant=&version=&branch=`.
pub(super) async fn matrix_page(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let pacticipant = non_blank(&query, "pacticipant");
    let version = non_blank(&query, "version");
    let branch = non_blank(&query, "branch");
    let mut body = String::new();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{}\">{}{}{}<button type=\"submit\">Show</button></form>",
        esc(&format!("{base}/ui/matrix")),
        input("pacticipant", "Pacticipant", pacticipant),
        input("version", "Version (optional)", version),
        input("branch", "Branch (optional)", branch),
    );
    let Some(name) = pacticipant else {
        body.push_str("<p>Name a pacticipant to see its pacts and verification results.</p>");
        return Ok(html::html(StatusCode::OK, page(&base, "Matrix", &body)));
    };
    let matrix_query = MatrixQuery {
        selectors: vec![SelectorSpec {
            pacticipant: name.to_string(),
            version: version.map(str::to_string),
            branch: branch.map(str::to_string),
            ..Default::default()
        }],
        options: Options {
            latestby: Some(LatestBy::Cvpv),
            limit: Some(MAX_ROWS),
            ..Default::default()
        },
        ignore: vec![],
    };
    let mut api = format!("{base}/matrix?q[][pacticipant]={}", enc_query(name));
    for (key, value) in [("version", version), ("branch", branch)] {
        if let Some(value) = value {
            let _ = write!(api, "&q[][{key}]={}", enc_query(value));
        }
    }
    api.push_str("&latestby=cvpv");
    let status = match matrix::evaluate(state.store.as_ref(), &base, &matrix_query).await {
        Ok(outcome) => {
            let c = &outcome.counts;
            let _ = write!(
                body,
                "<p>{} verified, {} failed, {} not verified. {}</p>",
                c.success,
                c.failed,
                c.unknown,
                a(&api, "This matrix as JSON (API)")
            );
            rows_table(&mut body, &base, &outcome.rows);
            if outcome.rows.len() >= MAX_ROWS {
                let _ = write!(
                    body,
                    "<p class=\"muted\">Showing the first {MAX_ROWS} rows.</p>"
                );
            }
            StatusCode::OK
        }
        Err(MatrixError::Invalid(errors)) => {
            errors_list(&mut body, &errors);
            StatusCode::BAD_REQUEST
        }
        Err(MatrixError::Store(err)) => return Err(err.into()),
    };
    let title = format!("Matrix of {name}");
    Ok(html::html(status, page(&base, &title, &body)))
}

pub(super) fn errors_list(body: &mut String, errors: &[String]) {
    body.push_str("<div class=\"errors\"><ul>");
    for error in errors {
        let _ = write!(body, "<li>{}</li>", esc(error));
    }
    body.push_str("</ul></div>");
}

/// `/ui/can-i-deploy?pacticipant=&version=&environment=`: a form, and the answer.
pub(super) async fn can_i_deploy_page(
    State(state): State<AppState>,
    Base(base): Base,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query = NestedQuery::parse(raw.as_deref().unwrap_or_default());
    let pacticipant = non_blank(&query, "pacticipant");
    let version = non_blank(&query, "version");
    let environment = non_blank(&query, "environment");
    let environments = state.store.environments().await?;
    let mut body = String::new();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{}\">{}{}<label>Environment<select name=\"environment\">",
        esc(&format!("{base}/ui/can-i-deploy")),
        input("pacticipant", "Pacticipant", pacticipant),
        input("version", "Version", version),
    );
    body.push_str("<option value=\"\">(choose)</option>");
    for env in &environments {
        let _ = write!(
            body,
            "<option value=\"{}\"{}>{}</option>",
            esc(&env.name),
            if Some(env.name.as_str()) == environment {
                " selected"
            } else {
                ""
            },
            esc(&env.name)
        );
    }
    body.push_str("</select></label><button type=\"submit\">Ask</button></form>");
    if pacticipant.is_none() && version.is_none() && environment.is_none() {
        body.push_str("<p>Name a pacticipant version and the environment it is going to.</p>");
        return Ok(html::html(
            StatusCode::OK,
            page(&base, "Can I deploy?", &body),
        ));
    }
    let mut missing = Vec::new();
    for (key, value) in [
        ("pacticipant", pacticipant),
        ("version", version),
        ("environment", environment),
    ] {
        if value.is_none() {
            missing.push(format!("{key} is missing"));
        }
    }
    let (Some(pacticipant), Some(version), Some(environment)) = (pacticipant, version, environment)
    else {
        errors_list(&mut body, &missing);
        return Ok(html::html(
            StatusCode::BAD_REQUEST,
            page(&base, "Can I deploy?", &body),
        ));
    };
    let matrix_query = MatrixQuery {
        selectors: vec![SelectorSpec {
            pacticipant: pacticipant.to_string(),
            version: Some(version.to_string()),
            ..Default::default()
        }],
        options: Options {
            environment: Some(environment.to_string()),
            latestby: Some(LatestBy::Cvpv),
            limit: Some(MAX_ROWS),
            ..Default::default()
        },
        ignore: vec![],
    };
    let api = format!(
        "{base}/can-i-deploy?pacticipant={}&version={}&environment={}",
        enc_query(pacticipant),
        enc_query(version),
        enc_query(environment)
    );
    let title = format!("Can I deploy {pacticipant} {version} to {environment}?");
    let status = match matrix::evaluate(state.store.as_ref(), &base, &matrix_query).await {
        Ok(outcome) => {
            let (class, answer) = match outcome.deployable {
                Some(true) => ("ok", "Yes"),
                Some(false) => ("fail", "No"),
                None => ("none", "Unknown: some results are missing"),
            };
            let _ = write!(
                body,
                "<p id=\"answer\" class=\"answer {class}\" data-deployable=\"{}\">{answer}</p>\
                 <h2>Why</h2><ul id=\"reasons\">",
                match outcome.deployable {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "unknown",
                }
            );
            for reason in &outcome.reasons {
                let _ = write!(
                    body,
                    "<li class=\"{}\">{}</li>",
                    kind_class(reason.kind),
                    esc(&reason.text)
                );
            }
            body.push_str("</ul>");
            if !outcome.notices.is_empty() {
                body.push_str("<h2>Notices</h2><ul id=\"notices\">");
                for notice in &outcome.notices {
                    let _ = write!(
                        body,
                        "<li class=\"{}\">{}</li>",
                        kind_class(notice.kind),
                        esc(&notice.text)
                    );
                }
                body.push_str("</ul>");
            }
            let _ = write!(
                body,
                "<p>{}</p><h2>Matrix</h2>",
                a(&api, "This answer as JSON (API)")
            );
            rows_table(&mut body, &base, &outcome.rows);
            StatusCode::OK
        }
        Err(MatrixError::Invalid(errors)) => {
            errors_list(&mut body, &errors);
            StatusCode::BAD_REQUEST
        }
        Err(MatrixError::Store(err)) => return Err(err.into()),
    };
    Ok(html::html(status, page(&base, &title, &body)))
}

pub(super) fn kind_class(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Success => "ok",
        NoticeKind::Error => "fail",
        NoticeKind::Info | NoticeKind::Warning => "none",
    }
}
