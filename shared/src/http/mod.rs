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

/// The versions `If-Match` accepts: `"3"` → [3], `"3", "4"` → [3, 4] (RFC 9110: any of them).
/// `*` (any current version) is no condition. `W/"3"` is taken as `"3"`: the tag is the item's
/// version whatever the bytes, and proxies that compress an answer (nginx, CloudFront) weaken
/// its ETag, which a client then echoes.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Vec<u64>>, error::ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = v.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Ok(None);
    }
    let tag = |t: &str| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        let digits = t.trim_matches('"');
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u64>().ok())
            .flatten()
    };
    raw.split(',')
        .map(tag)
        .collect::<Option<Vec<u64>>>()
        .filter(|v| !v.is_empty())
        .map(Some)
        .ok_or_else(|| {
            error::ApiError::field(
                "If-Match",
                "If-Match must be the ETag from a previous GET, e.g. \"3\"",
            )
        })
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
        assert_eq!(with("\"3\", W/\"5\" ,\"7\"").unwrap(), Some(vec![3, 5, 7]));
        for bad in ["", "\"\"", "\"3\",", "\"x\"", "\"-1\"", "\"3\" \"4\""] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("If-Match"), "{bad:?}");
        }
    }
}
