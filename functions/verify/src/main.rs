//! The verify Lambda: public badge pages, Open Badges JSON, QR codes.

use accolade::{app::App, entry, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    entry::serve_http(http::verify::router(app)).await
}
