//! Whole console answers shared by every area: the error pages.

use super::ui::{bare, html_response};
use crate::{domain::locale::Locale, http::error::ApiError};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::Response,
};
use maud::html;

/// The console's one mapping of a failure that is not the admin's doing to a page, with the
/// status the API gives the same error: throttling is 503 (try again shortly, `Retry-After`),
/// anything else 500 (logged). The page is in both languages: it may come before a session.
pub fn failed(e: impl Into<ApiError>) -> Response {
    let e = e.into();
    if e.status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(error = %e.message, "console request throttled");
        let mut r = html_response(
            StatusCode::SERVICE_UNAVAILABLE,
            bare(
                Locale::En,
                "Busy",
                html! { h1 { "Too many requests / 요청이 많습니다" } p { "Please try again in a moment. / 잠시 후 다시 시도하세요." } },
            ),
            None,
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return r;
    }
    tracing::error!(error = %e.message, code = e.code, "console request failed");
    html_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        bare(
            Locale::En,
            "Error",
            html! { h1 { "Something went wrong / 오류가 발생했습니다" } p { "It has been logged. Please try again." } },
        ),
        None,
    )
}
