//! The notify Lambda: DynamoDB stream (new awards) and Scheduler (follow-ups) → emails.

use accolade::{app::App, entry, notify, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    entry::serve_events(app, notify::handle_event).await
}
