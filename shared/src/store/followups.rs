//! Follow-up due items in the sparse, sharded `DUE` index, and unsubscribes.

use super::{get_s, keys, s, Backoff, Item, Result, Store, StoreError};
use crate::domain::{
    followup::{shard_of, Stage, SHARDS},
    ids::{AwardId, IssuerId},
};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};

/// DynamoDB's limit on items in one `BatchWriteItem` (moto accepts more; we never send more).
pub const MAX_BATCH_WRITE: usize = 25;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub award: AwardId,
    pub stage: Stage,
    pub bucket: String,
}

impl Store {
    /// Queues follow-ups (award, stage, due time, bucket), 25 per `BatchWriteItem`, unprocessed
    /// items retried with back-off. Writing one twice is harmless: sending is claimed per stage.
    /// The same (award, stage) twice in one call — a stream batch that repeats a record — is
    /// written once: DynamoDB refuses a `BatchWriteItem` that names one key twice.
    pub async fn put_followups(&self, items: &[(Due, DateTime<Utc>)]) -> Result<()> {
        let items = unique_followups(items);
        for chunk in items.chunks(MAX_BATCH_WRITE) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for (d, at) in chunk {
                let (pk, sk) = keys::followup(&d.award, d.stage.as_str());
                let mut item = Item::new();
                item.insert(keys::PK.into(), s(pk));
                item.insert(keys::SK.into(), s(sk));
                item.insert(keys::TYPE.into(), s("followup"));
                item.insert("due_at".into(), s(keys::sortable(*at)));
                item.insert(
                    keys::Index::Due.pk().into(),
                    s(keys::due(&d.bucket, shard_of(&d.award))),
                );
                item.insert(
                    keys::Index::Due.sk().into(),
                    s(keys::due_sort(d.stage.as_str(), &d.award)),
                );
                requests.push(
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .map_err(|e| StoreError::Aws(e.to_string()))?,
                        )
                        .build(),
                );
            }
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
        }
        Ok(())
    }

    /// Everything still due in an hour bucket: one query per shard, run concurrently.
    pub async fn due_in(&self, bucket: &str) -> Result<Vec<Due>> {
        let queries = (0..SHARDS).map(|shard| async move {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::Index::Due.name())
                .key_condition_expression(format!("{} = :pk", keys::Index::Due.pk()))
                .expression_attribute_values(":pk", s(keys::due(bucket, shard)));
            let mut found = Vec::new();
            self.query_each(query, |item| {
                found.extend(due_of(&item, bucket));
                Ok(())
            })
            .await?;
            Ok::<_, StoreError>(found)
        });
        let mut all = Vec::new();
        for r in futures::future::join_all(queries).await {
            all.extend(r?);
        }
        Ok(all)
    }

    /// Takes a handled follow-up out of the index (the sparse index only holds what is due).
    pub async fn followup_done(&self, award: &AwardId, stage: Stage, outcome: &str) -> Result<()> {
        let (pk, sk) = keys::followup(award, stage.as_str());
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(format!(
                "REMOVE {}, {} SET outcome = :o",
                keys::Index::Due.pk(),
                keys::Index::Due.sk()
            ))
            .expression_attribute_values(":o", s(outcome))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
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

/// The follow-up a due item names (`{stage}#{award}` in the index's sort key), if readable.
fn due_of(item: &Item, bucket: &str) -> Option<Due> {
    let (stage, award) = get_s(item, keys::Index::Due.sk())?.split_once('#')?;
    Some(Due {
        award: AwardId::parse(award).ok()?,
        stage: Stage::parse(stage)?,
        bucket: bucket.to_owned(),
    })
}

/// The first of each (award, stage), in order.
fn unique_followups(items: &[(Due, DateTime<Utc>)]) -> Vec<&(Due, DateTime<Utc>)> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|(d, _)| seen.insert((d.award.clone(), d.stage.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_repeated_followup_is_written_once() {
        use super::*;
        let a = AwardId::generate();
        let due = |stage| Due {
            award: a.clone(),
            stage,
            bucket: "2026112309".into(),
        };
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
