//! The counters rollup (the notify function, on the table's stream): every counting write on an
//! award's counters item (a view, click, share or SES event) is added to the day items of the
//! award's segments, exactly once, in one transaction per chunk of at most 100 items — one `ADD`
//! per segment day per chunk and one span item, whatever the number of events. The rules are in
//! [`crate::domain::rollup`]; the writes in [`crate::store::rollup`].
//!
//! Spans are kept per shard, and a stream batch names its shard only when the mapping has a
//! tumbling window (`TumblingWindowInSeconds` in template.yaml; the window's `state` is not
//! used). A batch with counting writes and no `shardId` is refused: without its shard the rollup
//! cannot keep exactly once.
//!
//! A failure answers the first record not known to be rolled up as the batch's failed item
//! (`ReportBatchItemFailures`), so Lambda retries from there; the spans make whatever the retry
//! delivers again a no-op.

use crate::{
    app::App,
    domain::rollup::{seq_key, Change, Known, Progress},
    store::{counters, rollup::Written, Store, StoreError},
};
use serde_json::{json, Value};

/// How many times a chunk refused because its span was there is planned again from the spans
/// read back (one is enough unless another rollup of the same shard runs at the same time).
const MAX_REFUSALS: u32 = 5;

/// The shard a stream batch came from, as its spans are keyed: the stream's label (the end of
/// its ARN) and the shard's id. `None` when the event does not say (no tumbling window).
pub fn shard_of(event: &Value) -> Option<String> {
    let id = event.get("shardId").and_then(Value::as_str)?;
    let arn = event.get("eventSourceARN").and_then(Value::as_str)?;
    let label = arn.rsplit_once("/stream/")?.1;
    let safe = |s: &str| !s.is_empty() && !s.contains('#');
    (safe(id) && safe(label)).then(|| format!("{label}#{id}"))
}

/// Rolls up the counting writes among a stream batch's records. Answers the batch item failures
/// (`{"itemIdentifier": sequence number}`): none, or the first record to retry from.
pub async fn handle_records(app: &App, event: &Value, records: &[Value]) -> Vec<Value> {
    let mut changes: Vec<Change> = records.iter().filter_map(counters::change_of).collect();
    // In sequence order, whatever order a redelivery hands them in (spans are ranges of it).
    changes.sort_by_key(|c| seq_key(&c.seq));
    let Some(first) = changes.first() else {
        return Vec::new();
    };
    let Some(shard) = shard_of(event) else {
        tracing::error!(
            "a stream batch with counting writes names no shard (shardId, eventSourceARN): the \
             mapping needs its tumbling window (TumblingWindowInSeconds, template.yaml); not rolled up"
        );
        return vec![json!({ "itemIdentifier": first.seq })];
    };
    match roll_up(&app.store, &shard, &changes).await {
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

/// Rolls `changes` (one shard's, in stream order) up chunk by chunk; answers how many chunks
/// were written. On failure: the sequence number of the first change not known to be rolled up.
pub async fn roll_up(
    store: &Store,
    shard: &str,
    changes: &[Change],
) -> Result<usize, (String, StoreError)> {
    let fail = |p: &Progress<'_>, e| (p.first_pending().unwrap_or_default().to_owned(), e);
    let mut progress = Progress::new(changes, Known::default());
    let known = read_known(store, shard, &progress).await;
    progress.found(known.map_err(|e| fail(&progress, e))?);
    let (mut written, mut refused) = (0, 0);
    while let Some(chunk) = progress.next_chunk() {
        match store.write_rollup(shard, &chunk).await {
            Ok(Written::Done) => {
                progress.written(&chunk);
                written += 1;
            }
            Ok(Written::Stale) if refused < MAX_REFUSALS => {
                refused += 1;
                let known = read_known(store, shard, &progress).await;
                progress.found(known.map_err(|e| fail(&progress, e))?);
            }
            Ok(Written::Stale) => {
                let e = StoreError::Aws("the rollup's spans keep moving under it".into());
                return Err(fail(&progress, e));
            }
            Err(e) => return Err(fail(&progress, e)),
        }
    }
    Ok(written)
}

/// What the table holds of the changes still pending.
async fn read_known(
    store: &Store,
    shard: &str,
    progress: &Progress<'_>,
) -> Result<Known, StoreError> {
    let Some((first, last)) = progress.pending_keys() else {
        return Ok(Known::default());
    };
    let awards = progress.pending_awards();
    store.rollup_known(shard, (&first, &last), &awards).await
}
