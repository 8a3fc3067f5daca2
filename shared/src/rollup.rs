//! The counters rollup (the notify function, on the table's stream): every counting write on an
//! award's counters item (a view, click, share or SES event) is added to the day items of the
//! award's segments, exactly once, in one transaction per chunk of at most 100 items — one `ADD`
//! per segment day per chunk, whatever the number of events. The rules are in
//! [`crate::domain::rollup`]; the writes in [`crate::store::rollup`].
//!
//! A failure answers the first record not known to be rolled up as the batch's failed item
//! (`ReportBatchItemFailures`), so Lambda retries from there; the watermarks make whatever the
//! retry delivers again a no-op.

use crate::{
    app::App,
    domain::rollup::{Change, Progress},
    store::{counters, rollup::Written, Store, StoreError},
};
use serde_json::{json, Value};

/// How many times a chunk refused for a moved watermark is planned again from the watermarks
/// read back (one is enough unless another rollup of the same awards runs at the same time).
const MAX_REFUSALS: u32 = 5;

/// Rolls up the counting writes among a stream batch's records. Answers the batch item failures
/// (`{"itemIdentifier": sequence number}`): none, or the first record to retry from.
pub async fn handle_records(app: &App, records: &[Value]) -> Vec<Value> {
    let changes: Vec<Change> = records.iter().filter_map(counters::change_of).collect();
    if changes.is_empty() {
        return Vec::new();
    }
    match roll_up(&app.store, &changes).await {
        Ok(chunks) => {
            tracing::info!(writes = changes.len(), chunks, "counters rolled up");
            Vec::new()
        }
        Err((seq, e)) => {
            tracing::warn!(error = %e, from = %seq, "rollup failed; the batch is retried from this record");
            vec![json!({ "itemIdentifier": seq })]
        }
    }
}

/// Rolls `changes` (in stream order) up chunk by chunk; answers how many chunks were written.
/// On failure: the sequence number of the first change not known to be rolled up.
pub async fn roll_up(store: &Store, changes: &[Change]) -> Result<usize, (String, StoreError)> {
    let mut progress = Progress::new(changes);
    let (mut written, mut refused) = (0, 0);
    while let Some(chunk) = progress.next_chunk() {
        let result = match store.write_rollup(&chunk).await {
            Ok(Written::Done) => {
                progress.written(&chunk);
                written += 1;
                continue;
            }
            Ok(Written::Stale(awards)) if refused < MAX_REFUSALS => {
                refused += 1;
                store.rollup_marks(&awards).await
            }
            Ok(Written::Stale(_)) => Err(StoreError::Aws(
                "the rollup's watermarks keep moving under it".into(),
            )),
            Err(e) => Err(e),
        };
        match result {
            Ok(marks) => progress.found(marks),
            Err(e) => {
                let seq = progress.first_pending().unwrap_or_default().to_owned();
                return Err((seq, e));
            }
        }
    }
    Ok(written)
}
