//! The analytics Lambda: metrics API (HTTP), SES events (EventBridge), weekly digest (Scheduler).

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::analytics().await
}
