//! The authenticated `/v1` API (the api Lambda): console and integrators.

pub(crate) mod api_keys;
pub(crate) mod awards;
pub(crate) mod batches;
pub(crate) mod issuer;
mod openapi;
pub(crate) mod templates;

use super::error::ApiError;
use crate::app::App;
use axum::{
    routing::{get, post},
    Router,
};

pub use awards::award_json;

/// Every route, as `(method, path)`. The OpenAPI document must list exactly these (a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/issuer"),
    ("PATCH", "/v1/issuer"),
    ("GET", "/v1/templates"),
    ("POST", "/v1/templates"),
    ("GET", "/v1/templates/{id}"),
    ("PATCH", "/v1/templates/{id}"),
    ("DELETE", "/v1/templates/{id}"),
    ("PUT", "/v1/templates/{id}/image"),
    ("PUT", "/v1/templates/{id}/banner-image"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{id}"),
    ("GET", "/v1/awards"),
    ("POST", "/v1/awards"),
    ("GET", "/v1/awards/{id}"),
    ("POST", "/v1/awards/{id}/revoke"),
    ("POST", "/v1/awards/{id}/reissue"),
    ("GET", "/v1/batches"),
    ("POST", "/v1/batches"),
    ("GET", "/v1/batches/template.csv"),
    ("GET", "/v1/batches/{id}"),
    ("GET", "/v1/openapi.json"),
];

pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/v1/issuer",
            get(issuer::get_issuer).patch(issuer::patch_issuer),
        )
        .route(
            "/v1/templates",
            get(templates::list).post(templates::create),
        )
        .route(
            "/v1/templates/{id}",
            get(templates::get_one)
                .patch(templates::patch)
                .delete(templates::archive),
        )
        .route(
            "/v1/templates/{id}/image",
            axum::routing::put(templates::upload_image),
        )
        .route(
            "/v1/templates/{id}/banner-image",
            axum::routing::put(templates::upload_banner_image),
        )
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", axum::routing::delete(api_keys::revoke))
        .route("/v1/awards", get(awards::list).post(awards::create))
        .route("/v1/awards/{id}", get(awards::get_one))
        .route("/v1/awards/{id}/revoke", post(awards::revoke))
        .route("/v1/awards/{id}/reissue", post(awards::reissue))
        .route("/v1/batches", get(batches::list).post(batches::create))
        .route("/v1/batches/template.csv", get(batches::sample))
        .route("/v1/batches/{id}", get(batches::get_one))
        .route("/v1/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app.clone())
        .merge(crate::http::console::router(app))
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

pub(crate) fn list_json(data: Vec<serde_json::Value>, next: Option<String>) -> serde_json::Value {
    serde_json::json!({ "data": data, "next_cursor": next })
}
