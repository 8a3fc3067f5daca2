use super::{from_item, get_s, keys, s, to_item, Backoff, Result, Store, StoreError};
use crate::domain::{
    api_key::{ApiKey, Scope},
    ids::{ApiKeyId, IssuerId},
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

const KIND: &str = "api_key";
const LOOKUP_KIND: &str = "api_key_lookup";

/// Who a valid key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub issuer_id: IssuerId,
    pub key_id: ApiKeyId,
    pub scope: Scope,
}

impl Store {
    /// Writes the key's listing item and its look-up-by-hash item together.
    pub async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let listing = to_item(KIND, keys::api_key(&key.issuer_id, &key.id), key)?;
        let (pk, sk) = keys::api_key_lookup(&key.key_hash);
        let mut lookup = super::Item::new();
        lookup.insert(keys::PK.into(), s(pk));
        lookup.insert(keys::SK.into(), s(sk));
        lookup.insert(keys::TYPE.into(), s(LOOKUP_KIND));
        lookup.insert("issuer_id".into(), s(key.issuer_id.as_str()));
        lookup.insert("key_id".into(), s(key.id.as_str()));
        lookup.insert("scope".into(), s(key.scope.as_str()));
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::Aws(e.to_string()))
        };
        self.client
            .transact_write_items()
            .transact_items(put(listing)?)
            .transact_items(put(lookup)?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// The owner of an active key with this hash. One strongly consistent read, so a revoked key
    /// stops working at once.
    pub async fn authenticate(&self, key_hash: &str) -> Result<Option<KeyOwner>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::api_key_lookup(key_hash).0))
            .key(keys::SK, s(keys::api_key_lookup(key_hash).1))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        if item.contains_key("revoked_at") {
            return Ok(None);
        }
        let (Some(i), Some(k)) = (get_s(&item, "issuer_id"), get_s(&item, "key_id")) else {
            return Err(StoreError::Corrupt(
                "API key look-up item without owner".into(),
            ));
        };
        Ok(Some(KeyOwner {
            issuer_id: IssuerId::parse(i).map_err(|e| StoreError::Corrupt(e.0))?,
            key_id: ApiKeyId::parse(k).map_err(|e| StoreError::Corrupt(e.0))?,
            // Keys made before scopes have none: full rights, as before.
            scope: get_s(&item, "scope")
                .map_or(Ok(Scope::Admin), Scope::parse)
                .map_err(|e| StoreError::Corrupt(e.0))?,
        }))
    }

    pub async fn list_api_keys(&self, issuer: &IssuerId) -> Result<Vec<ApiKey>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :sk)")
            .expression_attribute_values(":pk", s(keys::issuer(issuer).0))
            .expression_attribute_values(":sk", s(keys::api_key_prefix()));
        let mut keys_out = Vec::new();
        self.query_each(query, |item| {
            keys_out.push(from_item(item)?);
            Ok(())
        })
        .await?;
        Ok(keys_out)
    }

    /// One key of an issuer, read consistently (console sessions check it on every request).
    pub async fn get_api_key(&self, issuer: &IssuerId, id: &ApiKeyId) -> Result<Option<ApiKey>> {
        self.get_consistent(keys::api_key(issuer, id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Ends every console session signed in with the key until `at` (the listing item, which the
    /// console reads on every request). A key gone meanwhile has no sessions left to end.
    pub async fn end_sessions(&self, key: &ApiKey, at: DateTime<Utc>) -> Result<()> {
        let (pk, sk) = keys::api_key(&key.issuer_id, &key.id);
        let u = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET sessions_ended_at = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":t", s(at.to_rfc3339()))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        self.update_retrying(u).await.map(drop)
    }

    /// Marks both items revoked. Revoking twice keeps the first time. A transaction cancelled
    /// for a conflict (a sign-out or another revocation of the key at the same moment) is sent
    /// again after a back-off; then the answer is `Throttled`.
    pub async fn revoke_api_key(&self, key: &ApiKey, at: DateTime<Utc>) -> Result<()> {
        let update = |(pk, sk): (String, String)| {
            Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .update_expression("SET revoked_at = if_not_exists(revoked_at, :t)")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":t", s(at.to_rfc3339()))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
                .map_err(|e| StoreError::Aws(e.to_string()))
        };
        let items = [
            update(keys::api_key(&key.issuer_id, &key.id))?,
            update(keys::api_key_lookup(&key.key_hash))?,
        ];
        let mut retry = Backoff::over(0..6);
        loop {
            let Err(err) = self.transact(&items).await else {
                return Ok(());
            };
            if !super::awards::contended(&err) {
                return Err(StoreError::from_sdk(err));
            }
            if !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
    }
}
