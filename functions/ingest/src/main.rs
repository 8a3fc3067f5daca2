//! The ingest Lambda: S3 `ObjectCreated` under `uploads/` → CSV bulk issuance.

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::ingest().await
}
