//! The ingest Lambda: S3 `ObjectCreated` under `uploads/` → CSV bulk issuance.

use accolade::entry::{self, FunctionName};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::main(FunctionName::Ingest).await
}
