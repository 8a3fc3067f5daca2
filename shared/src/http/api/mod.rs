//! The authenticated `/v1` API (the api Lambda): console and integrators.

pub(crate) mod api_keys;
pub(crate) mod awards;
pub(crate) mod batches;
pub(crate) mod issuer;
pub(crate) mod kakao;
pub(crate) mod once;
mod openapi;
pub(crate) mod templates;
pub(crate) mod webhooks;

use super::{
    error::ApiError,
    routes::{Route, Routes},
};
use crate::app::App;
use axum::Router;

pub use awards::award_json;

/// Every route of the `/v1` API, declared once: [`router`] is built from it and [`routes`] lists
/// it (the OpenAPI document must list exactly these; the cross-tenant matrix covers each).
fn declared() -> Routes<App> {
    Routes::new()
        .get("/v1/issuer", issuer::get_issuer)
        .patch("/v1/issuer", issuer::patch_issuer)
        .post("/v1/issuer/signing-keys/rotate", issuer::rotate_signing_key)
        .get("/v1/issuer/kakao", kakao::get)
        .put("/v1/issuer/kakao", kakao::put)
        .get("/v1/templates", templates::list)
        .post("/v1/templates", templates::create)
        .get("/v1/templates/{id}", templates::get_one)
        .patch("/v1/templates/{id}", templates::patch)
        .delete("/v1/templates/{id}", templates::archive)
        .put("/v1/templates/{id}/image", templates::upload_image)
        .put(
            "/v1/templates/{id}/banner-image",
            templates::upload_banner_image,
        )
        .get("/v1/api-keys", api_keys::list)
        .post("/v1/api-keys", api_keys::create)
        .delete("/v1/api-keys/{id}", api_keys::revoke)
        .get("/v1/awards", awards::list)
        .post("/v1/awards", awards::create)
        .get("/v1/awards/{id}", awards::get_one)
        .post("/v1/awards/{id}/revoke", awards::revoke)
        .post("/v1/awards/{id}/reissue", awards::reissue)
        .get("/v1/batches", batches::list)
        .post("/v1/batches", batches::create)
        .get("/v1/batches/template.csv", batches::sample)
        .get("/v1/batches/{id}", batches::get_one)
        .get("/v1/webhooks", webhooks::list)
        .post("/v1/webhooks", webhooks::create)
        .get("/v1/webhooks/{id}", webhooks::get_one)
        .patch("/v1/webhooks/{id}", webhooks::patch)
        .delete("/v1/webhooks/{id}", webhooks::delete)
        .post("/v1/webhooks/{id}/rotate-secret", webhooks::rotate_secret)
        .post("/v1/webhooks/{id}/test", webhooks::test)
        .get("/v1/webhooks/{id}/deliveries", webhooks::deliveries)
        .post(
            "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
            webhooks::retry,
        )
        .get("/v1/openapi.json", openapi::document)
}

/// Every route, as `(method, path)`.
pub fn routes() -> Vec<Route> {
    declared().table()
}

pub fn router(app: App) -> Router {
    declared()
        .router()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(json_rejections))
        .with_state(app.clone())
        .merge(crate::http::console::router(app))
}

/// An extractor's own rejection — axum answers those in plain text (a path segment that is not
/// UTF-8 once decoded, …) — in the API's JSON error shape, as every other answer of `/v1`.
async fn json_rejections(r: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let plain = r
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"));
    if !plain || !r.status().is_client_error() {
        return r;
    }
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    ApiError::new(status, "invalid_request", text.trim()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see /v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method; see /v1/openapi.json",
    )
}

/// The request's `Idempotency-Key`, if it has one: 1 to 255 visible characters.
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    if s.is_empty() || s.len() > 255 {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible characters",
        ));
    }
    Ok(Some(s.to_owned()))
}

pub(crate) fn list_json(data: Vec<serde_json::Value>, next: Option<String>) -> serde_json::Value {
    serde_json::json!({ "data": data, "next_cursor": next })
}
