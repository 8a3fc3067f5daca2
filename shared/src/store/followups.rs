//! Follow-up due items, one partition per shard of an hour bucket, and unsubscribes.
//!
//! A due item is written once (1 WRU) and deleted once handled (1 WRU); a bucket's run queries
//! its shards' partitions. The follow-ups of one stage that one call queues (a stream batch's
//! day-1 plans: the email stages, `expired`, a day-1 email waiting out SES) share items: up to
//! [`GROUP_MAX`] of one stage and hour bucket to an item of under 1 KB, so 1 WRU written and 1
//! deleted for them all ([`Due::group`]). KakaoTalk's are one to an item: its runs move and
//! delete them one by one.
//!
//! Before 2026-12-03 a due item was an item of its award in the sparse `DUE` index (written
//! 1 + 1 WRU, taken out of the index 1 + 1): a bucket's run also queries that index, and what it
//! still holds is handled in place and then deleted ([`Due::legacy`]); `infra move-due-items`
//! moves all of it at once ([`Store::move_legacy_due_items`]).

use super::{get_s, keys, n, s, Backoff, Item, Result, Store, StoreError};
use crate::domain::{
    followup::{bucket_fires_at, shard_of, Stage, SHARDS},
    ids::{AwardId, IssuerId},
};
use aws_sdk_dynamodb::operation::{
    query::builders::QueryFluentBuilder, scan::builders::ScanFluentBuilder,
};
use aws_sdk_dynamodb::types::{PutRequest, Select, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// DynamoDB's limit on items in one `BatchWriteItem` (moto accepts more; we never send more).
pub const MAX_BATCH_WRITE: usize = 25;

/// How many follow-ups one due item holds at most: 32 award ids of 22 characters (and a comma
/// each), the keys and the times come to well under 1 KB, the unit DynamoDB bills a write in.
/// More per item would cost more WRU per write, and more to walk again when a run that handled
/// part of the item is retried or continued.
pub const GROUP_MAX: usize = 32;

/// A follow-up to queue: the due item and when it is due.
pub type Planned = (Due, DateTime<Utc>);

/// The attribute of a group item that holds its award ids, comma-separated.
const AWARDS: &str = "awards";

/// How long after its due time a due item is kept at most (DynamoDB's TTL deletes it, without
/// charging a write): a copy left behind — a move whose deletion never ran, a message another
/// run had claimed — must not stay forever. Longer than a failed run can wait to be redriven
/// (its failure queue keeps messages 14 days).
const DUE_KEPT: Duration = Duration::days(30);

/// What [`Store::move_legacy_due_items`] did: the follow-ups it moved out of the old `DUE` index,
/// and how many items the index holds after it (run it again until none; one that names no
/// follow-up is logged and stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyMove {
    pub moved: usize,
    pub left: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub award: AwardId,
    pub stage: Stage,
    pub bucket: String,
    /// Queued by the layout before 2026-12-03: an item of its award in the sparse `DUE` index,
    /// deleted by that key once handled.
    pub legacy: bool,
    /// The key of the item that holds it with other follow-ups due together, if it is one of
    /// several: that item is deleted once all of them are handled
    /// ([`Store::followups_done`]), not one by one.
    pub group: Option<(String, String)>,
}

impl Due {
    pub fn new(award: AwardId, stage: Stage, bucket: String) -> Self {
        Due {
            award,
            stage,
            bucket,
            legacy: false,
            group: None,
        }
    }

    fn key(&self) -> (String, String) {
        keys::due_item(
            &self.bucket,
            shard_of(&self.award),
            self.stage.as_str(),
            &self.award,
        )
    }
}

impl Store {
    /// Queues follow-ups (award, stage, due time, bucket): those of one stage and bucket
    /// together, up to [`GROUP_MAX`] to an item, KakaoTalk's one to an item; 25 items per
    /// `BatchWriteItem`, unprocessed items retried with back-off. Writing one twice is harmless:
    /// sending is claimed per stage. The same follow-up twice in one call — a stream batch that
    /// repeats a record — is queued once: DynamoDB refuses a `BatchWriteItem` that names one key
    /// twice.
    pub async fn put_followups(&self, items: &[Planned]) -> Result<()> {
        for chunk in due_items(items)?.chunks(MAX_BATCH_WRITE) {
            self.batch_write(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// One `BatchWriteItem` of at most 25 requests, its unprocessed items sent again with back-off.
    async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> Result<()> {
        let mut retry = Backoff::default();
        while !requests.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut requests))
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !requests.is_empty() && !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
        Ok(())
    }

    /// Everything still due in a bucket (each follow-up of an item that holds several on its
    /// own, with [`Due::group`]): one strongly consistent query per shard (a run that
    /// follows another sees what that one deleted), and one per shard of the old layout's index,
    /// all concurrently.
    pub async fn due_in(&self, bucket: &str) -> Result<Vec<Due>> {
        let table = self.due_in_shards(
            |i| dues_of(i, bucket),
            |shard| {
                self.client
                    .query()
                    .table_name(&self.table)
                    .consistent_read(true)
                    .key_condition_expression(format!("{} = :pk", keys::PK))
                    .expression_attribute_values(":pk", s(keys::due(bucket, shard)))
            },
        );
        let index = self.due_in_shards(legacy_due_of, |shard| {
            self.index_query(keys::Index::Due, &keys::due(bucket, shard))
        });
        let (due, legacy) = futures::try_join!(table, index)?;
        Ok(due.into_iter().chain(legacy).collect())
    }

    /// The follow-ups that `query` (of one shard) finds in each shard, each item read by `parse`.
    async fn due_in_shards<D: IntoIterator<Item = Due>>(
        &self,
        parse: impl Fn(&Item) -> D + Copy,
        query: impl Fn(u8) -> QueryFluentBuilder,
    ) -> Result<Vec<Due>> {
        let queries = (0..SHARDS).map(|shard| {
            let query = query(shard);
            async move {
                let mut found = Vec::new();
                self.query_each(query, |item| {
                    found.extend(parse(&item));
                    Ok(())
                })
                .await?;
                Ok::<_, StoreError>(found)
            }
        });
        let mut all = Vec::new();
        for r in futures::future::join_all(queries).await {
            all.extend(r?);
        }
        Ok(all)
    }

    /// A handled follow-up leaves its bucket. One of the old layout is deleted if it is still in
    /// this bucket's part of the `DUE` index (old code, during a deployment, may have queued it
    /// again elsewhere). One held with others leaves with them ([`Store::followups_done`]):
    /// asking for it alone is a mistake, refused.
    pub async fn followup_done(&self, due: &Due) -> Result<()> {
        if due.legacy {
            return self.out_of_legacy_index(due).await.map(drop);
        }
        if due.group.is_some() {
            return Err(StoreError::Corrupt(format!(
                "{} of {} is held with others: it leaves with them",
                due.stage.as_str(),
                due.award
            )));
        }
        self.delete_due(due.key()).await
    }

    /// Every follow-up of the item `group` ([`Due::group`]) is handled: the item leaves its
    /// bucket.
    pub async fn followups_done(&self, group: &(String, String)) -> Result<()> {
        self.delete_due(group.clone()).await
    }

    async fn delete_due(&self, (pk, sk): (String, String)) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Moves every follow-up the layout before 2026-12-03 still holds (a Scan of the keys-only
    /// `DUE` index) into its bucket's partition, then out of the index: what `infra
    /// move-due-items` runs after an upgrade, so that a later release can drop the index and the
    /// read of it. Safe beside running functions (an item is written in its new place before it
    /// leaves the old one; sending is claimed once) and safe to run again. A Scan of an index is
    /// eventually consistent, and old code may still queue items while it runs: the answer
    /// counts what the index holds afterwards.
    pub async fn move_legacy_due_items(&self) -> Result<LegacyMove> {
        let (mut start, mut moved) = (None, 0);
        loop {
            let out = self
                .legacy_index_scan(start.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            moved += self.move_legacy_items(out.items()).await?;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let mut left = 0;
        let mut pages = self
            .legacy_index_scan(None)
            .select(Select::Count)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            left += page.map_err(StoreError::from_sdk)?.count();
        }
        Ok(LegacyMove {
            moved,
            left: usize::try_from(left).unwrap_or(usize::MAX),
        })
    }

    /// A Scan of the old layout's `DUE` index from `start`.
    fn legacy_index_scan(&self, start: Option<Item>) -> ScanFluentBuilder {
        self.client
            .scan()
            .table_name(&self.table)
            .index_name(keys::Index::Due.name())
            .set_exclusive_start_key(start)
    }

    /// Moves one Scan page of the old layout's index: answers how many left the index (not one
    /// that names no follow-up, nor one old code queued elsewhere meanwhile).
    async fn move_legacy_items(&self, items: &[Item]) -> Result<usize> {
        let mut due = Vec::with_capacity(items.len());
        for item in items {
            match legacy_due_of(item) {
                Some(d) => due.push(d),
                None => tracing::warn!(?item, "an item of the DUE index names no follow-up; left"),
            }
        }
        let planned: Vec<(Due, DateTime<Utc>)> = due
            .iter()
            .map(|d| {
                let at = bucket_fires_at(&d.bucket).unwrap_or_else(Utc::now);
                (Due::new(d.award.clone(), d.stage, d.bucket.clone()), at)
            })
            .collect();
        self.put_followups(&planned).await?;
        let mut moved = 0;
        for d in &due {
            if self.out_of_legacy_index(d).await? {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Deletes an old-layout follow-up (handled, or moved) if it is still in `due`'s bucket of
    /// the `DUE` index; answers whether it was.
    async fn out_of_legacy_index(&self, due: &Due) -> Result<bool> {
        let partition = keys::due(&due.bucket, shard_of(&due.award));
        self.delete_if(
            keys::legacy_followup(&due.award, due.stage.as_str()),
            &format!("{} = :v", keys::Index::Due.pk()),
            Some(s(partition)),
        )
        .await
    }

    pub async fn unsubscribe(
        &self,
        issuer: &IssuerId,
        email_lookup_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (pk, sk) = keys::unsubscribed(issuer, email_lookup_key);
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item(keys::TYPE, s("unsubscribe"))
            .item("at", s(keys::sortable(at)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn is_unsubscribed(&self, issuer: &IssuerId, email_lookup_key: &str) -> Result<bool> {
        Ok(self
            .get(keys::unsubscribed(issuer, email_lookup_key))
            .await?
            .is_some())
    }
}

/// The follow-ups an item of a bucket's partition holds: those of a group item (`{stage}#G#…`,
/// its `awards`), or the one a single item names; none if unreadable.
fn dues_of(item: &Item, bucket: &str) -> Vec<Due> {
    let group = get_s(item, keys::SK)
        .and_then(|sk| sk.split_once("#G#"))
        .and_then(|(stage, _)| Stage::parse(stage));
    let Some(stage) = group else {
        return due_of(item, keys::SK, bucket).into_iter().collect();
    };
    let key = (
        get_s(item, keys::PK).unwrap_or_default().to_owned(),
        get_s(item, keys::SK).unwrap_or_default().to_owned(),
    );
    let ids = get_s(item, AWARDS).unwrap_or_default().split(',');
    ids.filter_map(|a| AwardId::parse(a).ok())
        .map(|award| Due {
            group: Some(key.clone()),
            ..Due::new(award, stage, bucket.to_owned())
        })
        .collect()
}

/// The follow-up a due item names in its attribute `sort` (`{stage}#{award}`), if readable.
fn due_of(item: &Item, sort: &str, bucket: &str) -> Option<Due> {
    let (stage, award) = get_s(item, sort)?.split_once('#')?;
    Some(Due::new(
        AwardId::parse(award).ok()?,
        Stage::parse(stage)?,
        bucket.to_owned(),
    ))
}

/// An item of the old layout's `DUE` index as the follow-up it names, its bucket read from the
/// index's partition key (`DUE#{bucket}#{shard}`).
fn legacy_due_of(item: &Item) -> Option<Due> {
    let bucket = keys::bucket_of_due(get_s(item, keys::Index::Due.pk())?)?;
    let due = due_of(item, keys::Index::Due.sk(), bucket)?;
    Some(Due {
        legacy: true,
        ..due
    })
}

/// The `BatchWriteItem` requests that queue `items`: each stage's follow-ups of one bucket
/// [`GROUP_MAX`] to an item (in the order given), a follow-up alone and KakaoTalk's one to an
/// item.
fn due_items(items: &[Planned]) -> Result<Vec<WriteRequest>> {
    let mut together: BTreeMap<(&str, &str), Vec<&Planned>> = BTreeMap::new();
    let mut requests = Vec::new();
    for planned in unique_followups(items) {
        let d = &planned.0;
        if d.stage.is_kakao() {
            requests.push(due_put(d.key(), vec![], (planned.1, planned.1))?);
        } else {
            let key = (d.bucket.as_str(), d.stage.as_str());
            together.entry(key).or_default().push(planned);
        }
    }
    for group in together.values().flat_map(|g| g.chunks(GROUP_MAX)) {
        let (first, _) = group[0];
        let earliest = group.iter().map(|(_, at)| *at).min().unwrap_or_default();
        let latest = group.iter().map(|(_, at)| *at).max().unwrap_or_default();
        let ids: Vec<&AwardId> = group.iter().map(|(d, _)| &d.award).collect();
        let (key, awards) = match group {
            [_] => (first.key(), vec![]),
            _ => (
                keys::due_group(&first.bucket, first.stage.as_str(), &ids),
                ids.iter().map(|a| a.as_str()).collect(),
            ),
        };
        requests.push(due_put(key, awards, (earliest, latest))?);
    }
    Ok(requests)
}

/// The `BatchWriteItem` request that puts the due item `key`, holding `awards` if it is a group
/// item, due from `earliest` and kept 30 days after `latest`.
fn due_put(
    (pk, sk): (String, String),
    awards: Vec<&str>,
    (earliest, latest): (DateTime<Utc>, DateTime<Utc>),
) -> Result<WriteRequest> {
    let mut item = Item::new();
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
    item.insert(keys::TYPE.into(), s("followup"));
    item.insert("due_at".into(), s(keys::sortable(earliest)));
    if !awards.is_empty() {
        item.insert(AWARDS.into(), s(awards.join(",")));
    }
    // From now at the earliest: an item due in the past (a back-dated expiry, a reminder whose
    // day has gone) is run a minute from now and must not be deleted first.
    let kept_until = latest.max(Utc::now()) + DUE_KEPT;
    item.insert(keys::TTL.into(), n(kept_until.timestamp()));
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Aws(e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// The first of each due item (bucket, award, stage), in order.
fn unique_followups(items: &[Planned]) -> Vec<&Planned> {
    let mut seen = std::collections::HashSet::new();
    items.iter().filter(|(d, _)| seen.insert(d.key())).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_repeated_followup_is_written_once() {
        use super::*;
        let a = AwardId::generate();
        let due = |stage| Due::new(a.clone(), stage, "2026112309".into());
        let now = Utc::now();
        let items = vec![
            (due(Stage::Day3), now),
            (due(Stage::Day7), now),
            (due(Stage::Day3), now),
        ];
        let u = unique_followups(&items);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].0.stage, Stage::Day3);
        assert_eq!(u[1].0.stage, Stage::Day7);
        // The same stage in another bucket is another item (a KakaoTalk message moved on).
        let mut elsewhere = due(Stage::Day3);
        elsewhere.bucket = "2026112310".into();
        assert_eq!(
            unique_followups(&[items[0].clone(), (elsewhere, now)]).len(),
            2
        );
    }

    #[test]
    fn follow_ups_queued_together_share_items_named_by_what_they_hold() {
        use super::*;
        let ids: Vec<AwardId> = (0..40).map(|_| AwardId::generate()).collect();
        let at = Utc::now();
        let planned = |ids: &[AwardId]| -> Vec<Planned> {
            let due = |a: &AwardId| (Due::new(a.clone(), Stage::Day3, "2026-12-10T09".into()), at);
            ids.iter().map(due).collect()
        };
        let key = |r: &WriteRequest| {
            let item = &r.put_request.as_ref().unwrap().item;
            let sk = item[keys::SK].as_s().unwrap().clone();
            (sk, crate::store::size::item_bytes(item))
        };
        let all: Vec<_> = due_items(&planned(&ids)).unwrap().iter().map(key).collect();
        assert_eq!(all.len(), 2, "32 and 8: {all:?}");
        assert!(all
            .iter()
            .all(|(sk, size)| sk.starts_with("day3#G#") && *size < 1024));
        // The same follow-ups: the same items (a retried batch writes them over, unchanged).
        let again: Vec<_> = due_items(&planned(&ids)).unwrap().iter().map(key).collect();
        assert_eq!(again, all);
        // Others after the same first one (a retried batch holding other records): other items.
        let fewer: Vec<_> = due_items(&planned(&ids[..20]))
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert!(fewer.iter().all(|k| !all.contains(k)), "{fewer:?}");
        // One alone is its own item; KakaoTalk's are always.
        let one = due_items(&planned(&ids[..1])).unwrap();
        assert_eq!(key(&one[0]).0, format!("day3#{}", ids[0]));
        let kakao: Vec<Planned> = ids[..3]
            .iter()
            .map(|a| (Due::new(a.clone(), Stage::KakaoDay3, "b".into()), at))
            .collect();
        assert_eq!(due_items(&kakao).unwrap().len(), 3);
    }

    #[test]
    fn a_due_item_is_kept_30_days_after_it_is_due_and_never_less_than_30_days_from_now() {
        use super::*;
        let d = Due::new(AwardId::generate(), Stage::Expired, "2026-11-01T10".into());
        let ttl = |at: DateTime<Utc>| {
            let item = due_put(d.key(), vec![], (at, at)).unwrap();
            let item = item.put_request.unwrap().item;
            item[keys::TTL].as_n().unwrap().parse::<i64>().unwrap()
        };
        let later = Utc::now() + Duration::days(400);
        assert_eq!(ttl(later), (later + DUE_KEPT).timestamp());
        let past = Utc::now() - Duration::days(40);
        assert!(ttl(past) >= (Utc::now() + DUE_KEPT - Duration::minutes(1)).timestamp());
    }

    #[test]
    fn an_old_layout_item_names_its_bucket() {
        use super::*;
        let a = AwardId::generate();
        for bucket in [
            "2026-11-26T10",
            "batch-bat_x",
            "poll1-2612011430-RSSA-1-2-abc",
        ] {
            let mut item = Item::new();
            item.insert(
                keys::Index::Due.pk().into(),
                s(keys::due(bucket, shard_of(&a))),
            );
            item.insert(keys::Index::Due.sk().into(), s(format!("day3#{a}")));
            let due = legacy_due_of(&item).unwrap();
            assert_eq!((due.bucket.as_str(), due.legacy), (bucket, true));
            assert_eq!((due.award.clone(), due.stage), (a.clone(), Stage::Day3));
        }
        let mut junk = Item::new();
        junk.insert(keys::Index::Due.pk().into(), s("NOTDUE#x#01"));
        junk.insert(keys::Index::Due.sk().into(), s(format!("day3#{a}")));
        assert!(legacy_due_of(&junk).is_none());
    }

    #[test]
    fn batch_writes_respect_dynamodbs_limit() {
        let items: Vec<u32> = (0..26).collect();
        let sizes: Vec<usize> = items
            .chunks(super::MAX_BATCH_WRITE)
            .map(<[u32]>::len)
            .collect();
        assert_eq!(sizes, vec![25, 1]);
    }
}
