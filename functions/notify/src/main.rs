//! The notify Lambda: DynamoDB stream (new awards) and Scheduler (follow-ups) → emails.

use accolade::entry::{self, FunctionName};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::main(FunctionName::Notify).await
}
