use super::{
    creations::Creation, from_item, get_s, keys, s, to_item, Backoff, Item, Result, Store,
    StoreError,
};
use crate::domain::{
    api_key::{ApiKey, Scope},
    ids::{ApiKeyId, IssuerId},
};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
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

/// The look-up-by-hash item of `key`'s secret.
fn lookup_item(key: &ApiKey) -> Item {
    let (pk, sk) = keys::api_key_lookup(&key.key_hash);
    Item::from([
        (keys::PK.into(), s(pk)),
        (keys::SK.into(), s(sk)),
        (keys::TYPE.into(), s(LOOKUP_KIND)),
        ("issuer_id".into(), s(key.issuer_id.as_str())),
        ("key_id".into(), s(key.id.as_str())),
        ("scope".into(), s(key.scope.as_str())),
    ])
}

impl Store {
    /// Writes the key's listing item and its look-up-by-hash item together, and with `once` the
    /// record of its `Idempotency-Key` (`Ok(Some(earlier))`: that key made one already; nothing
    /// is written).
    pub async fn create_api_key(
        &self,
        key: &ApiKey,
        once: Option<&Creation>,
    ) -> Result<Option<Creation>> {
        let listing = to_item(KIND, keys::api_key(&key.issuer_id, &key.id), key)?;
        self.create_once(vec![listing, lookup_item(key)], &key.issuer_id, once)
            .await
    }

    /// Gives active key `key` the secret whose hash and hint `now` has, in place of the one it
    /// had, at `at`: the listing changes (and every console session signed in before ends), the
    /// old look-up goes and the new one comes, together. `Ok(false)`: the key was revoked or
    /// given another secret meanwhile (nothing written). The SDK gives each send a client request
    /// token and keeps it through its own retries, so a retry of a write that landed is answered
    /// as done, not refused by its condition; a send again after a conflict is a new request.
    pub async fn reissue_api_key(
        &self,
        key: &ApiKey,
        now: &ApiKey,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let items = reissue_items(&self.table, key, now, at)?;
        let Err(err) = self.transact_retrying(&items, Backoff::over(0..6)).await? else {
            return Ok(true);
        };
        let refused = super::awards::cancellation_reasons(&err).is_some_and(|r| {
            r.iter()
                .any(|c| c.as_deref() == Some("ConditionalCheckFailed"))
        });
        match refused {
            true => Ok(false),
            false => Err(StoreError::from_sdk(err)),
        }
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
    /// again after a back-off; then the answer is `Throttled`. `Ok(false)`: the key's secret
    /// was replaced since it was read (its look-up is another item now): read it again.
    pub async fn revoke_api_key(&self, key: &ApiKey, at: DateTime<Utc>) -> Result<bool> {
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
        let Err(err) = self.transact_retrying(&items, Backoff::over(0..6)).await? else {
            return Ok(true);
        };
        let changed = super::awards::cancellation_reasons(&err).is_some_and(|r| {
            r.get(1)
                .is_some_and(|c| c.as_deref() == Some("ConditionalCheckFailed"))
        });
        match changed {
            true => Ok(false),
            false => Err(StoreError::from_sdk(err)),
        }
    }
}

/// The three writes of a re-issue ([`Store::reissue_api_key`]).
fn reissue_items(
    table: &str,
    key: &ApiKey,
    now: &ApiKey,
    at: DateTime<Utc>,
) -> Result<Vec<TransactWriteItem>> {
    let (pk, sk) = keys::api_key(&key.issuer_id, &key.id);
    let listing = Update::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression(
            "SET key_hash = :new, hint = :hint, secret_set_at = :at, sessions_ended_at = :at",
        )
        .condition_expression("key_hash = :old AND attribute_not_exists(revoked_at)")
        .expression_attribute_values(":new", s(&now.key_hash))
        .expression_attribute_values(":hint", s(&now.hint))
        .expression_attribute_values(":at", s(at.to_rfc3339()))
        .expression_attribute_values(":old", s(&key.key_hash))
        .build()
        .map(|u| TransactWriteItem::builder().update(u).build());
    let (pk, sk) = keys::api_key_lookup(&key.key_hash);
    let old = Delete::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
        .build()
        .map(|d| TransactWriteItem::builder().delete(d).build());
    let new = Put::builder()
        .table_name(table)
        .set_item(Some(lookup_item(now)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map(|p| TransactWriteItem::builder().put(p).build());
    [listing, old, new]
        .into_iter()
        .map(|i| i.map_err(|e| StoreError::Aws(e.to_string())))
        .collect()
}
