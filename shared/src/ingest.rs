//! CSV bulk issuance (the ingest Lambda).
//!
//! Not built yet (issue #4): this entry point reads the S3 notification and logs each uploaded
//! object, so the function, its trigger and the local runner's delivery are wired end to end.

use crate::{app::App, entry::BoxError, events};
use serde_json::Value;

pub async fn handle_event(_app: App, event: Value) -> Result<Value, BoxError> {
    let objects = events::s3_created(&event)?;
    for o in &objects {
        tracing::warn!(bucket = %o.bucket, key = %o.key, size = o.size, "upload received; CSV ingest is not implemented yet");
    }
    Ok(serde_json::json!({ "received": objects.len() }))
}
