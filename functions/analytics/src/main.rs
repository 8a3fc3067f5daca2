//! The analytics Lambda: metrics API (HTTP) and SES delivery events (EventBridge).

use accolade::{app::App, email_events, entry, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    let router = http::analytics::router(app.clone());
    entry::serve_http_and_events(app, router, email_events::handle_event).await
}
