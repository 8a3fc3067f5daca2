//! Creates sent with an `Idempotency-Key` (templates, batches, webhook endpoints, API keys): the new items
//! and a record of the key are written in one transaction, so a key makes at most one resource.
//! The record names what the key made and what the request asked (its fingerprint), and lasts
//! [`KEPT_FOR`]; after that the key is free again. (Awards have their own, lasting guards:
//! `store::awards`.)

use super::{get_s, keys, n, s, Item, Result, Store, StoreError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};

/// How long a create's `Idempotency-Key` is remembered.
pub const KEPT_FOR: Duration = Duration::hours(24);

/// What one `Idempotency-Key` of an issuer made on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    pub key: String,
    /// What the route creates: `template`, `batch`, `webhook` or `api_key` (a key is the route's
    /// own).
    pub kind: String,
    /// What the request asked, digested (`http/api/once.rs`).
    pub fingerprint: String,
    /// The id of what it made.
    pub id: String,
    /// A webhook endpoint's: the SHA-256 of the secret it was made with. A replay shows the
    /// secret only while it is still that one (never one a rotation made since).
    pub secret: Option<String>,
}

impl Store {
    /// What `key` made for `issuer` on the route that creates `kind`, within [`KEPT_FOR`], if
    /// anything (a consistent read).
    pub async fn creation(
        &self,
        issuer: &crate::domain::ids::IssuerId,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Creation>> {
        let Some(item) = self
            .get_consistent(keys::creation(issuer, kind, key))
            .await?
        else {
            return Ok(None);
        };
        let expires = super::get_n(&item, "expires_at").unwrap_or(0);
        if expires <= now.timestamp() {
            return Ok(None);
        }
        let field = |name| {
            get_s(&item, name)
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Corrupt(format!("creation record without {name}")))
        };
        Ok(Some(Creation {
            key: key.to_owned(),
            kind: kind.to_owned(),
            fingerprint: field("fingerprint")?,
            id: field("id")?,
            secret: get_s(&item, "secret").map(str::to_owned),
        }))
    }

    /// Puts the new `items` (none there yet) and, with `once`, the record of its key, together.
    /// `Ok(None)`: made. `Ok(Some(earlier))`: the key had made something already (a request
    /// sent twice at once): nothing is written.
    pub(crate) async fn create_once(
        &self,
        mut items: Vec<Item>,
        issuer: &crate::domain::ids::IssuerId,
        once: Option<&Creation>,
    ) -> Result<Option<Creation>> {
        if once.is_none() && items.len() == 1 {
            return self.create(items.remove(0)).await.map(|()| None);
        }
        let now = Utc::now();
        let built = |p: aws_sdk_dynamodb::types::builders::PutBuilder| {
            p.build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::Aws(e.to_string()))
        };
        let mut puts = items
            .into_iter()
            .map(|item| {
                built(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(PK)"),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(c) = once {
            // An expired record that DynamoDB's TTL has not removed yet frees its key all the
            // same.
            puts.push(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(record(issuer, c, now)))
                    .condition_expression("attribute_not_exists(PK) OR expires_at <= :now")
                    .expression_attribute_values(":now", n(now.timestamp())),
            )?);
        }
        let record_at = puts.len().saturating_sub(1);
        let retry = super::Backoff::over(0..4);
        let Err(err) = self.transact_retrying(&puts, retry).await? else {
            return Ok(None);
        };
        let key_taken = super::awards::cancellation_reasons(&err).is_some_and(|r| {
            // Reasons come in the transaction's order: the key's record is last.
            r.get(record_at)
                .is_some_and(|c| c.as_deref() == Some("ConditionalCheckFailed"))
        });
        let Some(c) = once.filter(|_| key_taken) else {
            return Err(StoreError::from_sdk(err));
        };
        let earlier = self.creation(issuer, &c.kind, &c.key, now).await?;
        earlier.map(Some).ok_or_else(|| {
            StoreError::Aws("an Idempotency-Key's record was taken, then gone".into())
        })
    }
}

/// The record of key `c` made at `now`, kept [`KEPT_FOR`].
fn record(issuer: &crate::domain::ids::IssuerId, c: &Creation, now: DateTime<Utc>) -> Item {
    let (pk, sk) = keys::creation(issuer, &c.kind, &c.key);
    let mut record = Item::from([
        (keys::PK.into(), s(pk)),
        (keys::SK.into(), s(sk)),
        (keys::TYPE.into(), s("creation")),
        ("fingerprint".into(), s(c.fingerprint.as_str())),
        ("id".into(), s(c.id.as_str())),
        ("expires_at".into(), n((now + KEPT_FOR).timestamp())),
    ]);
    if let Some(secret) = &c.secret {
        record.insert("secret".into(), s(secret.as_str()));
    }
    record
}
