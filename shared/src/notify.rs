//! Emails (the notify Lambda).
//!
//! Not built yet (issue #6): this entry point reads DynamoDB stream records and Scheduler
//! invocations and logs what it would send, so the function, its triggers and the local runner's
//! delivery are wired end to end.

use crate::{app::App, entry::BoxError, events};
use serde_json::Value;

pub async fn handle_event(_app: App, event: Value) -> Result<Value, BoxError> {
    if event.get("Records").is_some() {
        let changes = events::stream_changes(&event);
        let awards = changes
            .iter()
            .filter(|c| c.event_name == "INSERT" && c.item_type.as_deref() == Some("award"))
            .count();
        tracing::info!(
            records = changes.len(),
            new_awards = awards,
            "stream batch received; emails are not implemented yet"
        );
        return Ok(serde_json::json!({ "batchItemFailures": [] }));
    }
    tracing::info!(event = %event, "scheduled invocation received; follow-ups are not implemented yet");
    Ok(Value::Null)
}
