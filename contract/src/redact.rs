//! Redacting URLs before they are printed or put in an error: a URL can carry a
//! password (`postgres://user:PASSWORD@host/db`) or a token in its query
//! (`https://hooks.example/x?token=SECRET`). Every part of Accord that shows a URL
//! passes it through [`redact_url`], or a whole message through [`redact_urls`].
//!
//! Both work on text, not on a parsed URL, so a URL that does not parse (the very
//! one an error is about) is redacted too.

/// What a redacted secret is shown as.
pub const MASK: &str = "****";

/// `url` with the password of its user info and every query value masked:
/// `postgres://me:****@db/x`, `https://h/p?token=****&page=****`. User names, hosts,
/// paths and query names stay, so the URL is still recognisable.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_query(url);
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    // The authority ends at the first `/`, `?` or `#`; its user info at its last `@`.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user_info, host) = authority.split_at(at);
            match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:{MASK}{host}"),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    format!("{scheme}{authority}{}", redact_query(tail))
}

/// Masks every query value of a path-and-query (`/p?a=1&b` → `/p?a=****&b`).
fn redact_query(text: &str) -> String {
    let Some(start) = text.find('?') else {
        return text.to_string();
    };
    let (path, rest) = text.split_at(start + 1);
    let (query, fragment) = match rest.find('#') {
        Some(hash) => rest.split_at(hash),
        None => (rest, ""),
    };
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() => format!("{name}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}{query}{fragment}")
}

/// `text` with every URL in it (`scheme://…` up to white space or a quote)
/// redacted by [`redact_url`]. For error messages that may quote a URL.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        // The scheme: the letters, digits, `+`, `-` and `.` just before `://`.
        let scheme_start = rest[..found]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[found..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(rest.len(), |i| found + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_query_values_are_masked() {
        for (url, shown) in [
            ("postgres://me:secret@db/x", "postgres://me:****@db/x"),
            ("postgres://me@db/x", "postgres://me@db/x"),
            (
                "postgres://u:hunter2@bad host/db",
                "postgres://u:****@bad host/db",
            ),
            ("https://u:p@ss@h/x", "https://u:****@h/x"),
            (
                "https://h.example/hook?token=abc&x=&flag#top",
                "https://h.example/hook?token=****&x=&flag#top",
            ),
            ("https://h.example/p:q@r", "https://h.example/p:q@r"),
            ("sqlite://accord.db", "sqlite://accord.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn urls_inside_messages_are_masked() {
        assert_eq!(
            redact_urls("cannot open \"postgres://u:hunter2@db/x\": refused; see https://h/?k=v."),
            "cannot open \"postgres://u:****@db/x\": refused; see https://h/?k=****"
        );
        assert_eq!(redact_urls("no url here"), "no url here");
    }
}
