//! The DynamoDB adapter. Only this module talks to DynamoDB (an invariant in ARCHITECTURE.md).
//!
//! Items are the domain values written with `serde_dynamo` as top-level attributes, plus the key
//! attributes from [`keys`] and a `type` attribute naming the item kind.

pub mod api_keys;
pub mod awards;
pub mod batches;
pub mod catalogue;
pub mod counters;
pub mod creations;
pub mod credentials;
pub mod emails;
pub mod followups;
pub mod issuers;
pub mod kakao;
pub mod keys;
pub mod rollup;
pub mod size;
pub mod templates;
pub mod webhooks;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::query::builders::QueryFluentBuilder,
    types::{AttributeValue, Update},
    Client,
};
use base64::Engine;
use keys::Index;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("it was changed by someone else since version {expected}; read it again and retry")]
    VersionConflict { expected: u64 },
    #[error("the pagination cursor is not valid here")]
    BadCursor,
    #[error("DynamoDB is throttling requests; retry shortly")]
    Throttled,
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    #[error("DynamoDB request failed: {0}")]
    Aws(String),
}

impl StoreError {
    pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if throttled(err.code()) {
            return StoreError::Throttled;
        }
        StoreError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string())
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Throttled)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// DynamoDB refused a request for load (the SDK's own retries of it having run out).
fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        )
    )
}

/// A write refused for load or contention, not for what it asks: worth sending again after a
/// wait ([`Backoff`]).
pub(crate) fn worth_retrying(code: Option<&str>) -> bool {
    throttled(code) || code == Some("TransactionConflictException")
}

/// How many times a throttled or contended DynamoDB write is tried again.
pub(crate) const MAX_RETRIES: u32 = 10;

/// Waits between tries: exponential back-off with jitter, 50 ms × 2^step (capped at 3.2 s), one
/// wait per step of a range. The one way this crate waits before trying again.
#[derive(Debug, Clone)]
pub struct Backoff {
    step: u32,
    end: u32,
}

impl Default for Backoff {
    /// Steps `0..MAX_RETRIES`: 50 ms, 100 ms, … 3.2 s.
    fn default() -> Self {
        Self::over(0..MAX_RETRIES)
    }
}

impl Backoff {
    /// One wait per step of `steps` (a later first step starts with a longer wait).
    pub fn over(steps: std::ops::Range<u32>) -> Self {
        Self {
            step: steps.start,
            end: steps.end,
        }
    }

    /// Waits before the next try; `false`, without waiting, when every step is used.
    pub async fn wait(&mut self) -> bool {
        if self.step >= self.end {
            return false;
        }
        let base = 50u64 << self.step.min(6);
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % (base / 2 + 1);
        tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
        self.step += 1;
        true
    }
}

/// How long a write may keep its caller waiting while DynamoDB refuses it for now (throttled,
/// or its item inside a transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Work nobody waits on (a stream batch, a sign-out): the SDK's retries, then ours, up to
    /// seconds.
    Work,
    /// A page someone waits for (a view or click counted on the way): one attempt and one retry
    /// 50–75 ms later, without the SDK's own retries, so a throttled hot badge does not hold
    /// the page for seconds; the count is then given up (and logged by the caller).
    Page,
}

impl Patience {
    fn backoff(self) -> Backoff {
        match self {
            Patience::Work => Backoff::over(0..6),
            Patience::Page => Backoff::over(0..1),
        }
    }
}

/// The table, through one SDK client built at start-up.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub(crate) async fn get(&self, key: (String, String)) -> Result<Option<Item>> {
        self.read(key, false).await
    }

    /// Deletes the item at `key` if `condition` holds (`value` is its `:v`): whether it did.
    pub(crate) async fn delete_if(
        &self,
        key: (String, String),
        condition: &str,
        value: Option<AttributeValue>,
    ) -> Result<bool> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.0))
            .key(keys::SK, s(key.1))
            .condition_expression(condition)
            .set_expression_attribute_values(value.map(|v| HashMap::from([(":v".to_owned(), v)])))
            .send()
            .await;
        applied(res)
    }

    /// A strongly consistent GetItem (for checks that must see the latest write, such as a
    /// revoked key).
    pub(crate) async fn get_consistent(&self, key: (String, String)) -> Result<Option<Item>> {
        self.read(key, true).await
    }

    async fn read(&self, (pk, sk): (String, String), consistent: bool) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    /// Sends one `UpdateItem`. The item can be inside a transaction at that moment (DynamoDB then
    /// refuses the write with `TransactionConflictException`, which the SDK does not retry): such
    /// writes are retried with back-off, as are throttled ones (a view is not lost to them, a
    /// sign-out does not fail on them); `Throttled` when they last. False when the update's
    /// condition failed (nothing was written).
    pub(crate) async fn update_retrying(&self, u: Update) -> Result<bool> {
        self.update_with(u, Patience::Work).await
    }

    /// [`Store::update_retrying`] with `patience`.
    pub(crate) async fn update_with(&self, u: Update, patience: Patience) -> Result<bool> {
        let mut retry = patience.backoff();
        loop {
            let mut send = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(u.key.clone()))
                .update_expression(u.update_expression.clone())
                .set_condition_expression(u.condition_expression.clone())
                .set_expression_attribute_names(u.expression_attribute_names.clone())
                .set_expression_attribute_values(u.expression_attribute_values.clone())
                .customize();
            if patience == Patience::Page {
                let once = aws_sdk_dynamodb::config::Builder::default()
                    .retry_config(aws_config::retry::RetryConfig::disabled());
                send = send.config_override(once);
            }
            let Err(e) = send.send().await else {
                return Ok(true);
            };
            let code = ProvideErrorMetadata::code(&e);
            if code == Some("ConditionalCheckFailedException") {
                return Ok(false);
            }
            if !worth_retrying(code) {
                return Err(StoreError::from_sdk(e));
            }
            if !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
    }

    /// An UpdateItem of the item at `key`, to which the caller adds its expressions.
    pub(crate) fn update_at(
        &self,
        (pk, sk): (String, String),
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
    }

    /// Puts an item unless its key exists: true when this call created it.
    pub(crate) async fn put_new(&self, item: Item) -> Result<bool> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        applied(res)
    }

    /// Puts a new item whose key must not exist yet (ids are random: a clash is an error).
    pub(crate) async fn create(&self, item: Item) -> Result<()> {
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::Aws(
                "an item with this id exists already".into(),
            ))
        }
    }

    /// Replaces a versioned item (its `version` already incremented) if the stored one is still
    /// at `expected`; else [`StoreError::VersionConflict`].
    pub(crate) async fn put_at_version(&self, item: Item, expected: u64) -> Result<()> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(expected))
            .send()
            .await;
        match applied(res)? {
            true => Ok(()),
            false => Err(StoreError::VersionConflict { expected }),
        }
    }

    /// Runs a query to its last page, handing each item to `each` as its page arrives.
    pub(crate) async fn query_each(
        &self,
        query: QueryFluentBuilder,
        mut each: impl FnMut(Item) -> Result<()>,
    ) -> Result<()> {
        self.query_while(query, |item| each(item).map(|()| true))
            .await
    }

    /// Like [`Store::query_each`], but stops (reading no further page) once `each` answers false.
    pub(crate) async fn query_while(
        &self,
        query: QueryFluentBuilder,
        mut each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<()> {
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in out.items.unwrap_or_default() {
                if !each(item)? {
                    return Ok(());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    /// Queries one partition of an index, newest first, one page at a time.
    pub(crate) async fn query_index(
        &self,
        index: Index,
        pk: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>)> {
        let start = cursor.map(|c| decode_cursor(c, index, pk)).transpose()?;
        let q = self
            .index_query(index, pk)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        let out = q.send().await.map_err(|e| match e.code() {
            Some("ValidationException") if cursor.is_some() => StoreError::BadCursor,
            _ => StoreError::from_sdk(e),
        })?;
        let next = out.last_evaluated_key.as_ref().map(encode_cursor);
        Ok((out.items.unwrap_or_default(), next))
    }

    /// A page of one partition of an index, newest first, holding the values `keep` accepts:
    /// reads on, a page's worth a Query, until `limit` are kept, the partition ends, or
    /// [`FILTERED_QUERIES`] Queries were made (then the page holds fewer, and its cursor goes
    /// on after the last item read). A
    /// cursor that stops inside a Query's answer is that item's key, as DynamoDB's own would be.
    pub(crate) async fn query_index_where<T: DeserializeOwned>(
        &self,
        index: Index,
        pk: &str,
        limit: i32,
        cursor: Option<&str>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Option<String>)> {
        let wanted = usize::try_from(limit).unwrap_or(0).max(1);
        let mut kept = Vec::new();
        let mut cursor = cursor.map(str::to_owned);
        for _ in 0..FILTERED_QUERIES {
            // Each Query reads a page's worth: an unfiltered page whose first answer DynamoDB
            // cut at 1 MB reads one answer more, no further.
            let size = i32::try_from(wanted).unwrap_or(limit);
            let (items, next) = self.query_index(index, pk, size, cursor.as_deref()).await?;
            let count = items.len();
            for (i, item) in items.into_iter().enumerate() {
                let key = index_key(&item, index);
                let value: T = from_item(item)?;
                if keep(&value) {
                    kept.push(value);
                }
                if kept.len() == wanted && i + 1 < count {
                    return Ok((kept, Some(encode_cursor(&key))));
                }
            }
            cursor = next;
            if kept.len() == wanted || cursor.is_none() {
                break;
            }
        }
        Ok((kept, cursor))
    }

    /// A Query of one partition of an index.
    pub(crate) fn index_query(&self, index: Index, pk: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.pk())
            .expression_attribute_values(":pk", s(pk))
    }
}

/// A conditional write's result: true when it was applied, false when its condition failed.
pub(crate) fn applied<T, E, R>(res: std::result::Result<T, SdkError<E, R>>) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(StoreError::from_sdk(e)),
    }
}

/// `item` with its place in the `CATALOGUE` index (`sk`: [`keys::catalogued_issuer`] or
/// [`keys::catalogued_template`]; see `catalogue`).
pub(crate) fn catalogued(mut item: Item, sk: String) -> Item {
    let index = Index::Catalogue;
    item.insert(index.pk().into(), s(keys::CATALOGUE));
    item.insert(index.sk().into(), s(sk));
    item
}

/// Adds an item's place in a listing: `index` partition `pk`, sorted by creation time.
pub(crate) fn listed(
    mut item: Item,
    index: Index,
    pk: String,
    created: chrono::DateTime<chrono::Utc>,
    id: &impl std::fmt::Display,
) -> Item {
    item.insert(index.pk().into(), s(pk));
    item.insert(
        index.sk().into(),
        s(format!("{}#{id}", keys::sortable(created))),
    );
    item
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A domain value as an item with its keys and kind.
pub(crate) fn to_item<T: Serialize>(
    kind: &str,
    (pk, sk): (String, String),
    value: &T,
) -> Result<Item> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
    item.insert(keys::TYPE.into(), s(kind));
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn get_s<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n(item: &Item, attr: &str) -> Option<i64> {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// How many Queries one filtered page makes at most ([`Store::query_index_where`]).
pub(crate) const FILTERED_QUERIES: usize = 5;

/// An item's key in `index`: the table's and the index's key attributes, as a cursor holds them.
fn index_key(item: &Item, index: Index) -> Item {
    [keys::PK, keys::SK, index.pk(), index.sk()]
        .into_iter()
        .filter_map(|k| item.get(k).map(|v| (k.to_owned(), v.clone())))
        .collect()
}

/// A page position: the last evaluated key's string attributes, base64url JSON. Opaque to clients.
fn encode_cursor(key: &Item) -> String {
    let map: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect();
    let json = serde_json::to_vec(&map).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor and checks it points into the partition being read, so a crafted cursor can
/// never move a query into another issuer's items.
fn decode_cursor(cursor: &str, index: Index, pk: &str) -> Result<Item> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let map: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    if map.get(index.pk()).map(String::as_str) != Some(pk) || map.len() > 4 {
        return Err(StoreError::BadCursor);
    }
    let allowed = [keys::PK, keys::SK, index.pk(), index.sk()];
    if map.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(StoreError::BadCursor);
    }
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_partition_check() {
        let mut key = Item::new();
        key.insert("PK".into(), s("TEMPLATE#a"));
        key.insert("SK".into(), s("TEMPLATE"));
        key.insert(Index::Gsi1.pk().into(), s("ISSUER#x#TEMPLATES"));
        key.insert(Index::Gsi1.sk().into(), s("2026#a"));
        let c = encode_cursor(&key);
        let back = decode_cursor(&c, Index::Gsi1, "ISSUER#x#TEMPLATES").unwrap();
        assert_eq!(back, key);
        assert!(matches!(
            decode_cursor(&c, Index::Gsi1, "ISSUER#y#TEMPLATES"),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            decode_cursor("%%%", Index::Gsi1, "x"),
            Err(StoreError::BadCursor)
        ));
    }
}
