//! The ingest Lambda: S3 `ObjectCreated` under `uploads/` → CSV bulk issuance.

use accolade::{app::App, entry, ingest, telemetry};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    telemetry::init_lambda();
    let app = App::from_env().await?;
    entry::serve_events(app, ingest::handle_event).await
}
