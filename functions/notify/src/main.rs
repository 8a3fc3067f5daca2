//! The notify Lambda: DynamoDB stream (new awards) and Scheduler (follow-ups) → emails.

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::notify().await
}
