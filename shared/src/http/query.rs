//! Query strings: read into `T`, or answered with the API's own 400 (axum's `Query` answers
//! plain text). A parameter given twice is refused by name: which one was meant is not ours to
//! guess.

use super::error::ApiError;
use axum::{
    extract::{rejection::QueryRejection, FromRequestParts, Query},
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

/// The query string as `T`; a repeated or unreadable parameter is a 400 in the API's shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(unreadable)?;
        if let Some(name) = repeated(&pairs) {
            return Err(ApiError::field(
                name,
                format!("`{name}` is given more than once; give it once"),
            ));
        }
        let Query(value) = Query::<T>::try_from_uri(&parts.uri).map_err(unreadable)?;
        Ok(ApiQuery(value))
    }
}

/// The query of a list that takes no parameters: any one given is refused by name (a client's
/// `?limit=5` silently ignored would look like a short list).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

fn repeated(pairs: &[(String, String)]) -> Option<&str> {
    pairs.iter().enumerate().find_map(|(i, (k, _))| {
        pairs[..i]
            .iter()
            .any(|(seen, _)| seen == k)
            .then_some(k.as_str())
    })
}

/// The query's 400; a parameter the route does not take is named, as the analytics routes do
/// (`deny_unknown_fields` says "unknown field `x`, expected …").
fn unreadable(e: QueryRejection) -> ApiError {
    let text = e.body_text();
    let unknown = text.split_once("unknown field `").and_then(|(_, rest)| {
        let (name, tail) = rest.split_once('`')?;
        let expected = tail.split_once("expected ").map_or("", |(_, e)| e);
        Some((name.to_owned(), expected.replace('`', "")))
    });
    match unknown {
        Some((name, expected)) => {
            let message = if expected.is_empty() {
                format!("unknown parameter `{name}`; this route takes none")
            } else {
                format!("unknown parameter `{name}`; use {expected}")
            };
            ApiError::field(name, message)
        }
        None => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("the query string cannot be read: {text}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        limit: Option<String>,
    }

    async fn read<T: DeserializeOwned>(uri: &str) -> Result<T, ApiError> {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .unwrap()
            .into_parts();
        ApiQuery::<T>::from_request_parts(&mut parts, &())
            .await
            .map(|ApiQuery(v)| v)
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        limit: Option<String>,
        template: Option<String>,
    }

    #[tokio::test]
    async fn a_parameter_the_route_does_not_take_is_named() {
        let e = read::<Strict>("/v1/awards?template_id=tpl_x")
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("template_id"));
        assert!(
            e.message.ends_with("use limit or template"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn reads_the_query() {
        let p: Page = read("/v1/x?limit=5&other=1").await.unwrap();
        assert_eq!(p.limit.as_deref(), Some("5"));
        let m: HashMap<String, String> = read("/v1/x?from=2026-03-01&to=").await.unwrap();
        assert_eq!(m["from"], "2026-03-01");
        let none: Page = read("/v1/x").await.unwrap();
        assert!(none.limit.is_none());
    }

    #[tokio::test]
    async fn a_repeated_parameter_is_a_400_naming_it() {
        for uri in ["/v1/x?limit=1&limit=2", "/v1/x?a=1&limit=&b=2&limit="] {
            let e = read::<Page>(uri).await.unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(e.field.as_deref(), Some("limit"));
        }
        let e = read::<HashMap<String, String>>("/v1/x?from=1&from=2")
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("from"));
    }

    #[tokio::test]
    async fn a_query_that_does_not_fit_is_a_400_in_the_api_shape() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Numbered {
            n: u32,
        }
        let e = read::<Numbered>("/v1/x?n=minus").await.unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_query")
        );
    }
}
