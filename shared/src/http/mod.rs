//! HTTP entry points: the authenticated `/v1` API and the public verification routes. Each is an
//! `axum::Router` built by a function here, run by `lambda_http` in AWS and by a plain tokio
//! listener locally and in tests (the same code).

pub mod analytics;
pub mod api;
pub mod auth;
pub mod body;
pub mod console;
pub mod error;
pub mod lambda;
pub mod query;
pub mod routes;
pub mod verify;
pub(crate) mod versioned;

use axum::{
    http::{header, HeaderMap, HeaderValue},
    response::Response,
    Router,
};
use std::collections::HashMap;

/// Every answer of every HTTP function carries `Strict-Transport-Security`: a browser that has
/// once reached the deployment over HTTPS never falls back to plain HTTP for it (a year; without
/// `includeSubDomains`: the institution's other subdomains are its own business).
pub fn with_hsts(router: Router) -> Router {
    router.layer(axum::middleware::map_response(hsts))
}

async fn hsts(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    r
}

/// A query parameter, trimmed; `None` when absent or blank.
pub fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Query parameters from `(name, value)` pairs.
#[cfg(test)]
pub(crate) fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Pagination query parameters shared by list routes; any other parameter is refused, naming
/// it (a filter misspelt would otherwise list everything).
#[derive(Debug, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i32, error::ApiError> {
        match self.limit.as_deref() {
            None | Some("") => Ok(50),
            Some(s) => match s.parse::<i32>() {
                Ok(n) if (1..=200).contains(&n) => Ok(n),
                _ => Err(error::ApiError::field(
                    "limit",
                    "limit must be a number from 1 to 200",
                )),
            },
        }
    }
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// The versions `If-Match` accepts (RFC 9110 §13.1.1): `"3"` → [3]; a list, across header
/// lines too, `"3", "4"` → [3, 4] (any of them; empty elements ignored). `*` (any current
/// version) is no condition. `W/"3"` and a bare `3` are taken as `"3"`: the tag is the item's
/// version whatever the bytes, and proxies that compress an answer (nginx, CloudFront) weaken
/// its ETag, which a client then echoes. A well-formed tag that is no version (`"abc"`) matches
/// nothing (412); a malformed one is 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Vec<u64>>, error::ApiError> {
    let bad = || {
        error::ApiError::field(
            "If-Match",
            "If-Match must be the ETag from a previous GET, e.g. \"3\"",
        )
    };
    let lines = headers.get_all(header::IF_MATCH);
    if lines.iter().next().is_none() {
        return Ok(None);
    }
    let mut elements = Vec::new();
    for line in lines {
        let line = line.to_str().map_err(|_| bad())?;
        elements.extend(line.split(',').map(str::trim).filter(|e| !e.is_empty()));
    }
    if elements == ["*"] {
        return Ok(None);
    }
    let mut versions = Vec::new();
    for e in &elements {
        let tag = e.strip_prefix("W/").unwrap_or(e);
        let opaque = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
        match (opaque, opaque.unwrap_or(tag).parse::<u64>()) {
            (_, Ok(n)) => versions.push(n),
            (Some(o), Err(_)) if !o.contains(['"', ' ']) => {}
            _ => return Err(bad()),
        }
    }
    match elements.is_empty() {
        true => Err(bad()),
        false => Ok(Some(versions)),
    }
}

pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> Result<Option<Vec<u64>>, error::ApiError> {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, v.parse().unwrap());
        if_match(&h)
    }

    #[test]
    fn if_match_takes_a_tag_a_weak_tag_a_list_or_any() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(with("*").unwrap(), None);
        assert_eq!(with("\"3\"").unwrap(), Some(vec![3]));
        assert_eq!(with("W/\"3\"").unwrap(), Some(vec![3]));
        assert_eq!(with("3").unwrap(), Some(vec![3]));
        assert_eq!(with("\"3\", W/\"5\" ,\"7\"").unwrap(), Some(vec![3, 5, 7]));
        // RFC 9110 §5.6.1: empty list elements are ignored.
        assert_eq!(with("\"3\",, \"4\",").unwrap(), Some(vec![3, 4]));
        // A well-formed tag that is no version matches nothing: 412, not 400.
        assert_eq!(with("\"abc\"").unwrap(), Some(vec![]));
        assert_eq!(with("\"abc\", \"2\"").unwrap(), Some(vec![2]));
        for bad in ["", ",", "abc", "\"-1", "\"3\" \"4\"", "\"a\"b\""] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("If-Match"), "{bad:?}");
        }
        // Several header lines are one list.
        let mut h = HeaderMap::new();
        h.append(header::IF_MATCH, "\"1\"".parse().unwrap());
        h.append(header::IF_MATCH, "\"2\"".parse().unwrap());
        assert_eq!(if_match(&h).unwrap(), Some(vec![1, 2]));
    }
}
