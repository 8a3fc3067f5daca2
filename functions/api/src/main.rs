//! The api Lambda: the authenticated `/v1` API (console and integrators).

use accolade::{app::App, entry, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    entry::serve_http(http::api::router(app)).await
}
