//! The analytics Lambda's HTTP side. The metrics API is issue #7; until then its routes answer
//! 501 with a clear message instead of a misleading empty report.

use super::{auth::Caller, error::ApiError};
use crate::app::App;
use axum::{http::StatusCode, routing::get, Router};

pub fn router(app: App) -> Router {
    Router::new()
        .route("/v1/analytics", get(not_yet))
        .route("/v1/analytics/{*rest}", get(not_yet))
        .with_state(app)
}

async fn not_yet(_caller: Caller) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "analytics are not available in this version yet",
    )
}
