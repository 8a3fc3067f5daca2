//! The rollup's writes: the spans of a shard's records rolled up (`ROLLUP#{stream}#{shard}` /
//! `{first}`, `last`: sequence keys), and the one transaction per chunk that records a span and
//! adds to the day items together. What goes into a chunk is decided by
//! [`crate::domain::rollup`].
//!
//! A span is an item of its own, put only if absent, so the rollup never writes the item that
//! views write (no `TransactionConflict` on the request path), its writes are not stream records
//! the rollup is sent (the stream filter passes only `award_counters` items), and a chunk whose
//! transaction landed before (its answer lost, or the batch redelivered) is refused whole. Spans
//! expire two days after they are written: the stream keeps a record 24 hours, so no record a
//! span holds can come back after it.
//!
//! Releases before 2026-12-05 kept a watermark per award instead (`AWARD#{aid}` / `ROLLUP`,
//! `rolled`: the counters `version` rolled up); they are read, never written, for a batch no span
//! of whose shard precedes it. Batches that named no shard were rolled up by award
//! ([`Shard::Award`]); the stream's mark (`ROLLUP#{stream}#award` / `MARK`, `at`: when that last
//! began) is read beside each stream shard's spans, so that a record those rolled up is known
//! when it comes back with its shard.

use super::{
    awards::{cancellation_reasons, TransactError},
    get_n, get_s, keys, n, s, Backoff, Result, Store, StoreError,
};
use crate::domain::{
    ids::AwardId,
    rollup::{Chunk, Known, Shard, Span},
};
use aws_sdk_dynamodb::{
    error::ProvideErrorMetadata,
    operation::transact_write_items::TransactWriteItemsError,
    types::{Put, TransactWriteItem},
};
use chrono::{Duration, Utc};
use std::collections::BTreeMap;

const ROLLED: &str = "rolled";
const LAST: &str = "last";
const AT: &str = "at";

/// How long a span is kept: longer than the stream keeps a record (24 hours).
const SPAN_KEPT_DAYS: i64 = 2;

/// How many awards' spans are read at once (a batch has up to 100 awards).
const AWARD_READS_AT_ONCE: usize = 16;

/// How many spans one page of the read around a batch asks for.
const SPANS_PAGE: i32 = 10;

/// What writing a chunk came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The span is recorded and the day items have the chunk's adds.
    Done,
    /// Nothing was written: a span starting at the chunk's first record is there already (the
    /// chunk, or part of it, was rolled up before).
    Stale,
}

/// The transaction lost only to another writer of one of its items (an issuing transaction on
/// a day item): worth sending again. Throttling is not retried here: the SDK has already tried
/// three times, and the stream redelivers the batch from the first record not rolled up.
fn conflicted(err: &TransactError) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .all(|r| matches!(r.code(), None | Some("None" | "TransactionConflict"))),
        _ => err.code() == Some("TransactionConflictException"),
    }
}

impl Store {
    /// Writes one chunk of `shard`'s rollup in one transaction: its span, on the condition that
    /// no span starts at the same record, and the day items' adds, all or nothing.
    pub async fn write_rollup(&self, shard: &Shard, chunk: &Chunk) -> Result<Written> {
        if chunk.items() == 0 {
            return Ok(Written::Done);
        }
        let mut items = Vec::with_capacity(chunk.items());
        if let Some(span) = &chunk.span {
            let put = self.span_put(shard, span)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for ((seg, day), attrs) in &chunk.adds {
            let u = self.day_adds(seg, *day, attrs)?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        let mut retry = Backoff::over(0..6);
        loop {
            let Err(err) = self.transact(&items).await else {
                return Ok(Written::Done);
            };
            let reasons = cancellation_reasons(&err).unwrap_or_default();
            let span_refused = chunk.span.is_some()
                && reasons.first().and_then(Option::as_deref) == Some("ConditionalCheckFailed");
            if span_refused {
                return Ok(Written::Stale);
            }
            if !conflicted(&err) || !retry.wait().await {
                return Err(StoreError::from_sdk(err));
            }
        }
    }

    fn span_put(&self, shard: &Shard, span: &Span) -> Result<Put> {
        let (pk, sk) = keys::rollup_span(&shard.name(), &span.first);
        let expires = Utc::now() + Duration::days(SPAN_KEPT_DAYS);
        Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item(LAST, s(span.last.clone()))
            .item(keys::TYPE, s("rollup_span"))
            .item(keys::TTL, n(expires.timestamp()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// What `shard`'s rollup holds of the records from sequence key `first` to `last` (read
    /// consistently): its spans up to `last`, newest first, down to the first one that ends
    /// before `first`; when none does, the older releases' watermarks of `awards`. For a stream
    /// shard, also when its stream was last rolled up by award, if that can still matter (the
    /// awards' spans of it are read by [`Store::award_spans`]).
    pub async fn rollup_known(
        &self,
        shard: &Shard,
        (first, last): (&str, &str),
        awards: &[AwardId],
    ) -> Result<(Known, Option<i64>)> {
        let name = shard.name();
        let spans = self.spans_back_from(&name, first, last);
        let by_award = async {
            match shard {
                Shard::Stream { stream, .. } => self.rolled_by_award_at(stream).await,
                Shard::Award { .. } => Ok(None),
            }
        };
        let (spans, by_award_at) = futures::future::join(spans, by_award).await;
        let spans = spans?;
        let legacy = if spans.is_empty() {
            Some(self.legacy_rollup_marks(awards).await?)
        } else {
            None
        };
        let known = Known {
            spans,
            legacy,
            by_award: BTreeMap::new(),
        };
        Ok((known, by_award_at?))
    }

    /// The spans of these awards, each rolled up as a shard of its own in `stream`, around the
    /// records from `first` to `last` (as [`Store::rollup_known`] reads a shard's).
    pub async fn award_spans(
        &self,
        stream: &str,
        awards: &[AwardId],
        (first, last): (&str, &str),
    ) -> Result<BTreeMap<AwardId, Vec<Span>>> {
        use futures::{StreamExt, TryStreamExt};
        let reads: Vec<_> = awards
            .iter()
            .map(|award| self.award_spans_of(stream, award, first, last))
            .collect();
        futures::stream::iter(reads)
            .buffer_unordered(AWARD_READS_AT_ONCE)
            .try_collect()
            .await
    }

    async fn award_spans_of(
        &self,
        stream: &str,
        award: &AwardId,
        first: &str,
        last: &str,
    ) -> Result<(AwardId, Vec<Span>)> {
        let own = Shard::Award {
            stream: stream.to_owned(),
            award: award.clone(),
        };
        let spans = self.spans_back_from(&own.name(), first, last).await?;
        Ok((award.clone(), spans))
    }

    /// Records that `stream` is being rolled up by award (a batch that names no shard), before
    /// any of those awards' spans is written: `at` now, kept two days (as the spans).
    pub async fn mark_rolled_by_award(&self, stream: &str) -> Result<()> {
        let (pk, sk) = keys::rolled_by_award(stream);
        let now = Utc::now();
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item(AT, n(now.timestamp()))
            .item(keys::TYPE, s("rollup_by_award"))
            .item(
                keys::TTL,
                n((now + Duration::days(SPAN_KEPT_DAYS)).timestamp()),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// When `stream` was last rolled up by award, unless that was over two days ago (read
    /// consistently: it is written before the awards' spans).
    async fn rolled_by_award_at(&self, stream: &str) -> Result<Option<i64>> {
        let Some(item) = self.get_consistent(keys::rolled_by_award(stream)).await? else {
            return Ok(None);
        };
        let kept = get_n(&item, keys::TTL).is_some_and(|t| t > Utc::now().timestamp());
        Ok(get_n(&item, AT).filter(|_| kept))
    }

    async fn spans_back_from(&self, shard: &str, first: &str, last: &str) -> Result<Vec<Span>> {
        let (pk, upto) = keys::rollup_span(shard, last);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk <= :upto")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":upto", s(upto))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(SPANS_PAGE);
        let mut spans = Vec::new();
        self.query_while(query, |item| {
            let span = Span {
                first: get_s(&item, keys::SK).unwrap_or_default().to_owned(),
                last: get_s(&item, LAST).unwrap_or_default().to_owned(),
            };
            let before = span.last.as_str() < first;
            spans.push(span);
            Ok(!before)
        })
        .await?;
        Ok(spans)
    }

    /// The older releases' watermarks of these awards (0 for one never rolled up by them).
    async fn legacy_rollup_marks(&self, awards: &[AwardId]) -> Result<BTreeMap<AwardId, u64>> {
        let mut unique: Vec<&AwardId> = awards.iter().collect();
        unique.sort();
        unique.dedup();
        let found = self
            .batch_get(unique.iter().map(|a| keys::award_rollup(a)).collect(), true)
            .await?;
        Ok(unique
            .into_iter()
            .map(|a| {
                let rolled = found
                    .get(&keys::award_rollup(a))
                    .and_then(|i| get_n(i, ROLLED))
                    .and_then(|v| u64::try_from(v).ok())
                    .unwrap_or(0);
                (a.clone(), rolled)
            })
            .collect())
    }
}
