//! Request bodies: size-limited, JSON objects only, errors that say what is wrong and where.

use super::error::ApiError;
use crate::app::App;
use axum::{
    extract::{FromRequest, Request},
    http::{header, StatusCode},
};
use serde_json::{Map, Value};

pub const MAX_JSON_BODY: usize = 256 * 1024;

/// A JSON object body. Anything else is answered with 400, 413 or 415 before a handler runs.
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest<App> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &App) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = read_limited(req, MAX_JSON_BODY).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        if !ct.is_empty() && !ct.starts_with("application/json") && !ct.contains("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send the body as application/json, not `{ct}`"),
            ));
        }
        object_from(&bytes).map(JsonObject)
    }
}

/// The body as a JSON object. Nesting deeper than 127 is refused by serde_json's recursion limit
/// (`recursion limit exceeded`), so nothing downstream (merge patch, parsers) recurses deeper.
pub(crate) fn object_from(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    // A UTF-8 byte order mark (Windows tools, PowerShell) may be ignored (RFC 8259 §8.1).
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// Reads at most `limit` bytes; more is 413.
pub async fn read_limited(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
        .ko(format!("보낸 내용이 {limit}바이트를 넘습니다."))
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| too_large())
}
