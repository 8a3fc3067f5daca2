//! The analytics Lambda: metrics API (HTTP), SES delivery events (EventBridge) and the weekly
//! digest (Scheduler).

use accolade::{analytics, app::App, entry, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    let router = http::analytics::router(app.clone());
    entry::serve_http_and_events(app, router, analytics::handle_event).await
}
