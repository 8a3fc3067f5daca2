//! The analytics Lambda: metrics API (HTTP), SES events and the weekly digest (EventBridge).

use accolade::{app::App, entry, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    entry::serve_http(http::analytics::router(app)).await
}
