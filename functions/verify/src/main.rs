//! The verify Lambda: public badge pages, Open Badges JSON, QR codes, unsubscribe.

use accolade::entry::{self, FunctionName};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::main(FunctionName::Verify).await
}
