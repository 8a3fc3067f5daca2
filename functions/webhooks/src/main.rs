//! The webhooks Lambda: SQS (first attempts) and Scheduler (retries) → signed POSTs to issuers' endpoints.

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::webhooks().await
}
