//! The api Lambda: the authenticated `/v1` API and the admin console.

use accolade::entry;

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::binary::api().await
}
