//! An HTTP router behind API Gateway's HTTP API (payload format 2.0): the request through
//! lambda_http's own mapping, the response mapped here.
//!
//! Why not lambda_http's response mapping: it decodes every text-typed body (`text/*`, JSON, XML)
//! with BOM sniffing, so a `text/csv` export loses the UTF-8 BOM that Excel needs to read Korean,
//! and it keeps only the first value of a repeated header. Here a text-typed body that is valid
//! UTF-8 goes as text as it is, a BOM included (U+FEFF at the start of the string, which API
//! Gateway writes back as the same three bytes); anything else is base64 (a third larger, which
//! matters under Lambda's 6 MB response limit, so text stays text). Repeated headers are joined
//! with commas and `Set-Cookie` goes to `cookies`, as the payload 2.0 format asks.

use crate::events::BoxError;
use axum::{body::Body, http::header, response::Response, Router};
use base64::Engine;
use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use lambda_http::RequestExt;
use lambda_runtime::Context;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

/// One API Gateway event through `router`: the response as the JSON API Gateway reads.
pub async fn serve(router: &Router, mut event: Value, context: Context) -> Result<Value, BoxError> {
    encode_raw_url(&mut event);
    let request: LambdaRequest = serde_json::from_value(event)?;
    let request: lambda_http::Request = request.into();
    let (parts, body) = request.with_lambda_context(context).into_parts();
    let request = axum::http::Request::from_parts(parts, Body::new(body));
    let response = match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    response_json(response).await
}

/// Bytes a URI may not hold as they are (controls, space, non-ASCII, and the characters the URL
/// standard encodes in a query, `#` among them); `%` stays, so what was encoded stays so.
const NOT_IN_URI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// API Gateway passes `rawPath` and `rawQueryString` as the client sent them, and a client that
/// does not percent-encode (curl, some HTTP libraries) can send a quote, a space or Korean text
/// as is; lambda_http builds the request's URI from them and panics on such bytes. They are
/// percent-encoded here first, which the router decodes back to what was sent.
fn encode_raw_url(event: &mut Value) {
    for key in ["rawPath", "rawQueryString"] {
        if let Some(Value::String(raw)) = event.get_mut(key) {
            let encoded = percent_encoding::utf8_percent_encode(raw, NOT_IN_URI).to_string();
            *raw = encoded;
        }
    }
}

/// A content type API Gateway and lambda_http treat as text (else a body is base64).
pub fn is_text_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json" | "application/javascript" | "application/xml"
        )
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
}

/// Headers as payload 2.0 carries them: lower-case names, repeated values joined with commas,
/// except `cookie_header` (`Cookie` in a request, `Set-Cookie` in a response), whose values are
/// returned apart, one each (API Gateway's `cookies`).
pub fn joined_headers<'a>(
    headers: &'a axum::http::HeaderMap,
    cookie_header: &header::HeaderName,
) -> (Map<String, Value>, Vec<&'a str>) {
    let mut joined = Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == cookie_header {
            cookies.extend(values);
        } else {
            joined.insert(name.as_str().to_owned(), json!(values.join(",")));
        }
    }
    (joined, cookies)
}

/// The HTTP API payload 2.0 response: status, headers (repeated ones joined), cookies, body.
pub async fn response_json(response: Response) -> Result<Value, BoxError> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let (headers, cookies) = joined_headers(&parts.headers, &header::SET_COOKIE);
    let cookies: Vec<Value> = cookies.into_iter().map(|c| json!(c)).collect();
    let text_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_text_type);
    let text = match std::str::from_utf8(&bytes) {
        Ok(s) if text_type => Some(s),
        _ => None,
    };
    let (body, base64) = match text {
        _ if bytes.is_empty() => (String::new(), false),
        Some(s) => (s.to_owned(), false),
        None => (
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            true,
        ),
    };
    Ok(json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "cookies": cookies,
        "body": body,
        "isBase64Encoded": base64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn response(content_type: &str, body: &'static [u8]) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::VARY, "accept-language")
            .header(header::VARY, "cookie")
            .header(header::SET_COOKIE, "a=1; Path=/")
            .header(header::SET_COOKIE, "b=2; Path=/")
            .body(Body::from(body))
            .unwrap()
    }

    /// What a client that does not percent-encode sends (curl, some HTTP libraries): API Gateway
    /// passes `rawPath` and `rawQueryString` as received, and lambda_http would panic building
    /// the URI from them. Here they reach the router encoded, and decode back to what was sent.
    #[tokio::test]
    async fn raw_quotes_spaces_and_korean_in_the_url_are_served() {
        let router = Router::new().route(
            "/b/{id}",
            axum::routing::get(
                |axum::extract::Path(id): axum::extract::Path<String>,
                 axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                    let q = q.unwrap_or_default();
                    let decoded = percent_encoding::percent_decode_str(&q).decode_utf8_lossy();
                    format!("{id}|{decoded}")
                },
            ),
        );
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/b/한 \"x\"",
            "rawQueryString": "src=\"<a b>\"&c={|}^`\\&k=봄학기%20A&h=#x",
            "headers": {"host": "badges.example.ac.kr"},
            "requestContext": {"http": {"method": "GET", "path": "/b/x"}, "stage": "$default"},
            "isBase64Encoded": false
        });
        let v = serve(&router, event, Context::default()).await.unwrap();
        assert_eq!(v["statusCode"], 200, "{v}");
        assert_eq!(
            v["body"],
            "한 \"x\"|src=\"<a b>\"&c={|}^`\\&k=봄학기 A&h=#x"
        );
    }

    /// API Gateway's `cookies` reach the handler as one `Cookie` header, which the badge page
    /// reads for its `seen` cookie — a cookie of UTF-8 bytes beside it included.
    #[tokio::test]
    async fn the_events_cookies_reach_the_page_as_one_header() {
        let router = Router::new().route(
            "/b/{id}",
            axum::routing::get(|headers: axum::http::HeaderMap| async move {
                let all = crate::http::verify::cookies(&headers);
                let seen =
                    crate::domain::visitor::seen_on(all.iter().map(|c| c.as_ref()), "2026-12-07");
                format!("{seen}")
            }),
        );
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/b/x",
            "rawQueryString": "",
            "cookies": ["name=김민수", "seen=2026-12-07"],
            "headers": {"host": "badges.example.ac.kr"},
            "requestContext": {"http": {"method": "GET", "path": "/b/x"}, "stage": "$default"},
            "isBase64Encoded": false
        });
        let v = serve(&router, event, Context::default()).await.unwrap();
        assert_eq!(v["body"], "true", "{v}");
    }

    #[tokio::test]
    async fn csv_with_a_bom_stays_byte_for_byte() {
        let v = response_json(response("text/csv; charset=utf-8", b"\xEF\xBB\xBFa,b\n"))
            .await
            .unwrap();
        assert_eq!(
            v["isBase64Encoded"], false,
            "text stays text (no base64 growth)"
        );
        assert_eq!(v["body"].as_str().unwrap().as_bytes(), b"\xEF\xBB\xBFa,b\n");
    }

    #[tokio::test]
    async fn text_is_text_and_headers_are_joined() {
        let v = response_json(response(
            "text/html; charset=utf-8",
            "<p>배지</p>".as_bytes(),
        ))
        .await
        .unwrap();
        assert_eq!(v["isBase64Encoded"], false);
        assert_eq!(v["body"], "<p>배지</p>");
        assert_eq!(v["headers"]["vary"], "accept-language,cookie");
        assert_eq!(v["cookies"], json!(["a=1; Path=/", "b=2; Path=/"]));
        assert!(v["headers"].get("set-cookie").is_none());
    }

    #[tokio::test]
    async fn binary_is_base64() {
        let v = response_json(response("image/png", b"\x89PNG\r\n"))
            .await
            .unwrap();
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(v["body"], "iVBORw0K");
    }

    /// What lambda_http's own mapping does with the same CSV (why this module exists): the BOM is
    /// gone. If a lambda_http release stops doing this, this test says so.
    #[tokio::test]
    async fn lambda_http_would_drop_the_bom() {
        use lambda_http::IntoResponse;
        let r = lambda_http::Response::builder()
            .header("content-type", "text/csv; charset=utf-8")
            .body(lambda_http::Body::Binary(b"\xEF\xBB\xBFa,b\n".to_vec()))
            .unwrap();
        let out = r.into_response().await;
        assert_eq!(out.body().as_ref(), b"a,b\n");
    }
}
