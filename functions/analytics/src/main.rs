//! The analytics Lambda: metrics API (HTTP), SES events (EventBridge), weekly digest (Scheduler).

use accolade::entry::{self, FunctionName};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::main(FunctionName::Analytics).await
}
