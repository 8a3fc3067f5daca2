//! Whole answers every area of the console shares: a page with the console's headers, the
//! error pages (one mapping of failures to a status), the JSON of a `/v1` handler's result, and
//! the issuer's templates (or the failure page).

use super::ui::{bare, html_response};
use crate::{
    app::App,
    domain::{ids::IssuerId, locale::Locale, template::Template},
    http::error::ApiError,
    store::StoreError,
};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::html;
use serde_json::Value;

fn endpoint(app: &App) -> Option<&str> {
    app.config.aws_endpoint_url.as_deref()
}

/// An HTML page answer with the console's security headers.
pub fn respond(app: &App, status: StatusCode, page: maud::Markup) -> Response {
    html_response(status, page, endpoint(app))
}

/// Runs a `/v1` handler's result: its JSON on success, its error (with the field) otherwise.
pub async fn api<R: IntoResponse>(r: Result<R, ApiError>) -> Result<Value, ApiError> {
    let resp = r?.into_response();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
        .await
        .map_err(|_| ApiError::internal())?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|_| ApiError::internal())
}

/// A `/v1` error for the console's own scripts, which show its `message`: in the page's
/// language when the error has its Korean.
pub fn script_error(l: Locale, mut e: ApiError) -> Response {
    if l == Locale::Ko {
        if let Some(k) = e.ko.take() {
            e.message = k;
        }
    }
    e.into_response()
}

/// A `/v1` error met by a form or a link (not a script): a page saying it, in the page's
/// language; a failure that is not the admin's doing is [`failed`]'s page.
pub fn refused(app: &App, l: Locale, e: ApiError) -> Response {
    if e.status.is_server_error() {
        return failed(e);
    }
    let said = if l == Locale::Ko {
        e.ko.as_deref()
    } else {
        None
    };
    let title = said.unwrap_or(&e.message).to_owned();
    refusal(app, e.status, l, &title, None)
}

/// A page for a request the console cannot serve: what happened, what to do (if anything), and
/// the way back.
fn refusal(
    app: &App,
    status: StatusCode,
    l: Locale,
    title: &str,
    advice: Option<&str>,
) -> Response {
    let body = html! {
        h1 { (title) }
        @if let Some(a) = advice { p { (a) } }
        p { a href="/console" { (l.t("콘솔로", "Back to the console")) } }
    };
    respond(app, status, bare(l, title, body))
}

pub fn forbidden(app: &App, l: Locale) -> Response {
    let advice = l.t(
        "페이지를 새로 고친 뒤 다시 시도하세요.",
        "Reload the page and try again.",
    );
    let title = l.t("요청이 만료되었습니다", "This form has expired");
    refusal(app, StatusCode::FORBIDDEN, l, title, Some(advice))
}

pub fn not_found(app: &App, l: Locale) -> Response {
    let title = l.t("찾을 수 없습니다", "Not found");
    refusal(app, StatusCode::NOT_FOUND, l, title, None)
}

/// What a look-up of one of the issuer's items found: the item, or the not-found or failure page.
pub fn found<T>(app: &App, l: Locale, r: Result<Option<T>, StoreError>) -> Result<T, Response> {
    match r {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(not_found(app, l)),
        Err(e) => Err(failed(e)),
    }
}

/// The issuer's templates (for the pages that list or choose them), or the failure page.
pub async fn templates(app: &App, issuer: &IssuerId) -> Result<Vec<Template>, Response> {
    app.store.all_templates(issuer).await.map_err(failed)
}

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
            html! { h1 { "Something went wrong / 오류가 발생했습니다" } p { "It has been logged. Please try again. / 기록되었습니다. 잠시 후 다시 시도하세요." } },
        ),
        None,
    )
}
