//! The counters rollup (the notify function, on the table's stream): every counting write on an
//! award's counters item (a view, click, share or SES event) is added to the day items of the
//! award's segments, exactly once, in one transaction per chunk of at most 100 items — one `ADD`
//! per segment day per chunk and one span item, whatever the number of events. The rules are in
//! [`crate::domain::rollup`]; the writes in [`crate::store::rollup`].
//!
//! Spans are kept per shard, and a stream batch names its shard only when the mapping has a
//! tumbling window (`TumblingWindowInSeconds` in template.yaml; the window's `state` is not
//! used). A batch that names none — while a deploy has updated the function and not yet its
//! mapping (README, "Upgrading") — is rolled up award by award, each award a shard of its own
//! (an item's records are in one shard, in order): one transaction per award instead of one per
//! batch. The stream is marked first, so that a batch that comes back with its shard once the
//! window is there reads those awards' spans too (ARCHITECTURE.md, "Counters").
//!
//! A failure answers the first record not known to be rolled up as the batch's failed item
//! (`ReportBatchItemFailures`), so Lambda retries from there; the spans make whatever the retry
//! delivers again a no-op.

use crate::{
    app::App,
    domain::rollup::{by_award, retry_from, seq_key, Change, Known, Progress, Shard},
    store::{counters, rollup::Written, Store, StoreError},
};
use serde_json::{json, Value};

/// How many times a chunk refused because its span was there is planned again from the spans
/// read back (one is enough unless another rollup of the same shard runs at the same time).
const MAX_REFUSALS: u32 = 5;

/// Whether `s` can be a part of a span's key.
fn key_safe(s: &str) -> bool {
    !s.is_empty() && !s.contains('#')
}

/// The stream a batch came from, by its label (the end of its ARN,
/// `…/stream/2026-11-30T00:00:00.000`): the event's ARN, or else its first record's.
fn stream_of<'a>(event: &'a Value, records: &'a [Value]) -> Option<&'a str> {
    let arn = event
        .get("eventSourceARN")
        .or_else(|| records.first()?.get("eventSourceARN"));
    let label = arn?.as_str()?.rsplit_once("/stream/")?.1;
    key_safe(label).then_some(label)
}

/// The shard a stream batch came from. `None` when the event does not say (no tumbling window).
pub fn shard_of(event: &Value, stream: &str) -> Option<Shard> {
    let id = event.get("shardId").and_then(Value::as_str)?;
    key_safe(id).then(|| Shard::Stream {
        stream: stream.to_owned(),
        id: id.to_owned(),
    })
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
    let Some(stream) = stream_of(event, records) else {
        tracing::error!("a stream batch with counting writes names no stream; not rolled up");
        return vec![json!({ "itemIdentifier": first.seq })];
    };
    let rolled = if let Some(shard) = shard_of(event, stream) {
        roll_up(&app.store, &shard, &changes).await
    } else {
        tracing::warn!(
            "a stream batch names no shard (the mapping's tumbling window, template.yaml, is not \
             there yet): rolled up award by award"
        );
        roll_up_by_award(&app.store, stream, &changes).await
    };
    match rolled {
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
    shard: &Shard,
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

/// Rolls `changes` (in stream order) up with each award as a shard of its own, the stream
/// marked first. On failure: the first change not known to be rolled up, which may be an
/// award's not reached yet.
async fn roll_up_by_award(
    store: &Store,
    stream: &str,
    changes: &[Change],
) -> Result<usize, (String, StoreError)> {
    let groups = by_award(changes);
    if let Err(e) = store.mark_rolled_by_award(stream).await {
        return Err((changes[0].seq.clone(), e));
    }
    let mut written = 0;
    for (i, (award, group)) in groups.iter().enumerate() {
        let shard = Shard::Award {
            stream: stream.to_owned(),
            award: award.clone(),
        };
        match roll_up(store, &shard, group).await {
            Ok(n) => written += n,
            Err((seq, e)) => return Err((retry_from(&groups, i, seq), e)),
        }
    }
    Ok(written)
}

/// How much later than the stream was last rolled up by award a record may say it was made
/// and still have been rolled up then (the record's time is DynamoDB's, rounded down; the
/// mark's is the function's clock).
const CLOCK_SLACK_SECS: i64 = 300;

/// What the table holds of the changes still pending: the shard's spans (and the older
/// releases' watermarks), and, while its stream's mark says records of it were rolled up by
/// award, the spans of the pending awards whose records were made by then.
async fn read_known(
    store: &Store,
    shard: &Shard,
    progress: &Progress<'_>,
) -> Result<Known, StoreError> {
    let Some((first, last)) = progress.pending_keys() else {
        return Ok(Known::default());
    };
    let awards = progress.pending_awards();
    let keys = (first.as_str(), last.as_str());
    let (mut known, by_award_at) = store.rollup_known(shard, keys, &awards).await?;
    if let Some(at) = by_award_at {
        let old = progress.awards_made_by(at + CLOCK_SLACK_SECS);
        known.by_award = store.award_spans(shard.stream(), &old, keys).await?;
    }
    Ok(known)
}
