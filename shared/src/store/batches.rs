use super::{applied, from_item, keys, listed, n, s, to_item, Item, Result, Store, StoreError};
use crate::domain::{
    batch::Batch,
    ids::{BatchId, IssuerId},
};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

const KIND: &str = "batch";

fn item(b: &Batch) -> Result<Item> {
    let item = to_item(KIND, keys::batch(&b.id), b)?;
    let list = keys::batches_of(&b.issuer_id);
    Ok(listed(item, keys::Index::Gsi1, list, b.created_at, &b.id))
}

impl Store {
    /// Creates it; with `once`, the record of its `Idempotency-Key` too (`Some`: what the key
    /// had made already, and nothing is written).
    pub async fn create_batch(
        &self,
        b: &Batch,
        once: Option<&super::creations::Creation>,
    ) -> Result<Option<super::creations::Creation>> {
        self.create_once(vec![item(b)?], &b.issuer_id, once).await
    }

    /// Strongly consistent: ingest decides what to do from it.
    pub async fn get_batch(&self, id: &BatchId) -> Result<Option<Batch>> {
        let item = self.get_consistent(keys::batch(id)).await?;
        item.map(from_item).transpose()
    }

    pub async fn get_batch_of(&self, issuer: &IssuerId, id: &BatchId) -> Result<Option<Batch>> {
        Ok(self.get_batch(id).await?.filter(|b| &b.issuer_id == issuer))
    }

    pub async fn list_batches(
        &self,
        issuer: &IssuerId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Batch>, Option<String>)> {
        let (items, next) = self
            .query_index(keys::Index::Gsi1, &keys::batches_of(issuer), limit, cursor)
            .await?;
        Ok((
            items.into_iter().map(from_item).collect::<Result<_>>()?,
            next,
        ))
    }

    /// Extends `worker`'s lease on the batch to `until`; `false` when another worker has taken
    /// the batch since (a lapsed lease is not taken back, unlike [`Self::claim_batch`]).
    pub async fn renew_batch(
        &self,
        id: &BatchId,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let res = self
            .update_at(keys::batch(id))
            .update_expression("SET lease_until = :u")
            .condition_expression("lease_owner = :w")
            .expression_attribute_values(":w", s(worker))
            .expression_attribute_values(":u", s(keys::sortable(until)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// Takes the batch's lease for `worker` until `until`, if nobody else holds a live one.
    /// Returns the batch as stored after the claim, or `None` when another worker holds it.
    pub async fn claim_batch(
        &self,
        id: &BatchId,
        worker: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Batch>> {
        let res = self
            .update_at(keys::batch(id))
            .update_expression("SET lease_owner = :w, lease_until = :u")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :w)",
            )
            .expression_attribute_values(":w", s(worker))
            .expression_attribute_values(":u", s(keys::sortable(until)))
            .expression_attribute_values(":now", s(keys::sortable(now)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => Ok(Some(from_item(out.attributes.unwrap_or_default())?)),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// Saves the batch if `worker` still holds its lease and the checkpoint does not move back.
    /// `Ok(false)`: the lease was lost (another worker took over); stop.
    pub async fn save_batch(&self, b: &Batch, worker: &str) -> Result<bool> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(b)?))
            .condition_expression("lease_owner = :w AND checkpoint_row <= :c")
            .expression_attribute_values(":w", s(worker))
            .expression_attribute_values(":c", n(b.checkpoint_row))
            .send()
            .await;
        applied(res)
    }
}
