//! The api Lambda: the authenticated `/v1` API and the admin console.

use accolade::entry::{self, FunctionName};

#[tokio::main]
async fn main() -> Result<(), entry::BoxError> {
    entry::main(FunctionName::Api).await
}
