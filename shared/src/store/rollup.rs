//! The rollup's writes: each award's watermark (`AWARD#{aid}` / `ROLLUP`, `rolled`: the counters
//! `version` up to which the day items have the award's writes) and the one transaction per
//! chunk that moves watermarks and day items together. What goes into a chunk is decided by
//! [`crate::domain::rollup`].
//!
//! The watermark is an item of its own rather than an attribute of the counters item, so the
//! rollup never writes the item that views write (no `TransactionConflict` on the request path)
//! and its own writes are not stream records the rollup is sent (the stream filter passes only
//! `award_counters` items).

use super::{
    awards::{cancellation_reasons, TransactError},
    get_n, keys, n, s, Backoff, Result, Store, StoreError,
};
use crate::domain::{
    ids::AwardId,
    rollup::{Chunk, Mark},
};
use aws_sdk_dynamodb::{
    error::ProvideErrorMetadata,
    operation::transact_write_items::TransactWriteItemsError,
    types::{TransactWriteItem, Update},
};

const ROLLED: &str = "rolled";

/// What writing a chunk came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The watermarks moved and the day items have the chunk's adds.
    Done,
    /// Nothing was written: these awards' watermarks were not where the chunk expected them
    /// (their writes were rolled up before, in part or in full).
    Stale(Vec<AwardId>),
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
    /// Writes one chunk in one transaction: every watermark moves on the condition that it is
    /// where the chunk expects it, and the day items get the chunk's adds, all or nothing.
    pub async fn write_rollup(&self, chunk: &Chunk) -> Result<Written> {
        let mut items = Vec::with_capacity(chunk.items());
        for m in &chunk.marks {
            items.push(
                TransactWriteItem::builder()
                    .update(self.mark_update(m)?)
                    .build(),
            );
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
            let stale: Vec<AwardId> = chunk
                .marks
                .iter()
                .zip(&reasons)
                .filter(|(_, r)| r.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(m, _)| m.award.clone())
                .collect();
            if !stale.is_empty() {
                return Ok(Written::Stale(stale));
            }
            if !conflicted(&err) || !retry.wait().await {
                return Err(StoreError::from_sdk(err));
            }
        }
    }

    /// `SET rolled = to`, on the condition that it is `from` (absent when `from` is 0).
    fn mark_update(&self, m: &Mark) -> Result<Update> {
        let (pk, sk) = keys::award_rollup(&m.award);
        let b = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #r = :to, #t = :kind")
            .expression_attribute_names("#r", ROLLED)
            .expression_attribute_names("#t", keys::TYPE)
            .expression_attribute_values(":to", n(m.to))
            .expression_attribute_values(":kind", s("award_rollup"));
        let b = if m.from == 0 {
            b.condition_expression("attribute_not_exists(#r)")
        } else {
            b.condition_expression("#r = :from")
                .expression_attribute_values(":from", n(m.from))
        };
        b.build().map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// The watermarks of these awards (0 for one never rolled up), read consistently.
    pub async fn rollup_marks(&self, awards: &[AwardId]) -> Result<Vec<(AwardId, u64)>> {
        let found = self
            .batch_get(awards.iter().map(keys::award_rollup).collect(), true)
            .await?;
        Ok(awards
            .iter()
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
