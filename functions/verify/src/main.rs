//! The verify Lambda: public badge pages, Open Badges JSON, QR codes, unsubscribe.

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::verify().await
}
