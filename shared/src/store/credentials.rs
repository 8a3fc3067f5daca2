//! Open Badges 3.0 state: issuers' signing keys (public key + KMS ciphertext), status-list index
//! allocation and revoked bits, and each award's signed credential.

use super::{get_n, get_s, keys, n, s, Backoff, Item, Result, Store, StoreError};
use crate::domain::{
    award::Award,
    credential::{KeyNumber, SigningKeyRecord, StatusEntry, StoredCredential},
    ids::{AwardId, IssuerId},
};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

/// What became of storing a freshly signed credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPut {
    Stored,
    /// Another request stored one first: serve that one.
    Exists(StoredCredential),
    /// The award was revoked or replaced meanwhile: no credential is issued for it.
    AwardChanged,
}

fn b(item: &Item, attr: &str) -> Option<Vec<u8>> {
    item.get(attr)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
}

fn key_record(item: &Item) -> Result<SigningKeyRecord> {
    let corrupt = || StoreError::Corrupt("signing key item".into());
    let number = get_n(item, "number").and_then(|v| u32::try_from(v).ok());
    let public_key = b(item, "public_key").and_then(|v| <[u8; 32]>::try_from(v).ok());
    let time = |a: &str| {
        get_s(item, a)
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match (
        number,
        public_key,
        b(item, "encrypted_seed"),
        time("created"),
    ) {
        (Some(number), Some(public_key), Some(encrypted_seed), Some(created)) => {
            Ok(SigningKeyRecord {
                number: KeyNumber(number),
                public_key,
                encrypted_seed,
                created,
                signs_from: time("signs_from").unwrap_or(created),
                retired: time("retired"),
            })
        }
        _ => Err(corrupt()),
    }
}

/// A stored credential's item.
fn credential_item(award: &AwardId, c: &StoredCredential) -> Item {
    let (pk, sk) = keys::credential(award);
    let issuer = c
        .issuer
        .as_ref()
        .map(|i| ("issuer_id".to_owned(), s(i.as_str())));
    [
        (keys::PK.to_owned(), s(pk)),
        (keys::SK.to_owned(), s(sk)),
        (keys::TYPE.to_owned(), s("credential")),
        ("json".to_owned(), s(c.json.clone())),
        ("status_list".to_owned(), n(c.status.list)),
        ("status_index".to_owned(), n(c.status.index)),
        ("key".to_owned(), n(c.key.0)),
    ]
    .into_iter()
    .chain(issuer)
    .collect()
}

fn credential_of(item: &Item) -> Result<StoredCredential> {
    let num = |a: &str| get_n(item, a).and_then(|v| u32::try_from(v).ok());
    match (
        get_s(item, "json"),
        num("status_list"),
        num("status_index"),
        num("key"),
    ) {
        (Some(json), Some(list), Some(index), Some(key)) => Ok(StoredCredential {
            json: json.to_owned(),
            status: StatusEntry { list, index },
            key: KeyNumber(key),
            issuer: get_s(item, "issuer_id").and_then(|i| IssuerId::parse(i).ok()),
        }),
        _ => Err(StoreError::Corrupt("credential item".into())),
    }
}

impl Store {
    /// Every signing key of an issuer, oldest first (`domain::credential::signer` says which signs).
    pub async fn signing_keys(&self, issuer: &IssuerId) -> Result<Vec<SigningKeyRecord>> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::signing_keys(issuer)))
            .consistent_read(true);
        let mut out = Vec::new();
        self.query_each(q, |item| {
            out.push(key_record(&item)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The issuer's newest signing key (the last one made), if it has any.
    pub async fn newest_signing_key(&self, issuer: &IssuerId) -> Result<Option<SigningKeyRecord>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::signing_keys(issuer)))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items().first().map(key_record).transpose()
    }

    /// How many status lists the issuer has started (at least 1): lists beyond are not served.
    pub async fn status_lists_in_use(&self, issuer: &IssuerId) -> Result<u32> {
        let allocated = self
            .get(keys::status_allocator(issuer))
            .await?
            .and_then(|item| get_n(&item, "allocated"))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let lists = allocated
            .div_ceil(crate::domain::credential::STATUS_LIST_SIZE)
            .max(1);
        Ok(u32::try_from(lists).unwrap_or(u32::MAX))
    }

    /// Stores a new signing key unless that number exists: false when another writer won.
    pub async fn put_signing_key(&self, issuer: &IssuerId, k: &SigningKeyRecord) -> Result<bool> {
        let (pk, sk) = keys::signing_key(issuer, k.number.0);
        let item: Item = [
            (keys::PK.to_owned(), s(pk)),
            (keys::SK.to_owned(), s(sk)),
            (keys::TYPE.to_owned(), s("signing_key")),
            ("number".to_owned(), n(k.number.0)),
            (
                "public_key".to_owned(),
                AttributeValue::B(k.public_key.to_vec().into()),
            ),
            (
                "encrypted_seed".to_owned(),
                AttributeValue::B(k.encrypted_seed.clone().into()),
            ),
            ("created".to_owned(), s(k.created.to_rfc3339())),
            ("signs_from".to_owned(), s(k.signs_from.to_rfc3339())),
        ]
        .into_iter()
        .collect();
        self.put_new(item).await
    }

    /// Retires every key of the issuer below `newest` not retired yet: answers their numbers.
    pub async fn retire_signing_keys(
        &self,
        issuer: &IssuerId,
        newest: KeyNumber,
        at: DateTime<Utc>,
    ) -> Result<Vec<KeyNumber>> {
        let mut retired = Vec::new();
        for k in self.signing_keys(issuer).await? {
            if k.number >= newest || k.retired.is_some() {
                continue;
            }
            self.update_at(keys::signing_key(issuer, k.number.0))
                .update_expression("SET retired = :at")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":at", s(at.to_rfc3339()))
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            retired.push(k.number);
        }
        Ok(retired)
    }

    /// Replaces a stored credential signed with key `old` by `c` (the same document signed again,
    /// or the same credential with its issuer recorded): false when it is no longer the one
    /// signed with `old` (another request replaced it first).
    pub async fn replace_credential(
        &self,
        award: &AwardId,
        old: KeyNumber,
        c: &StoredCredential,
    ) -> Result<bool> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(credential_item(award, c)))
            .condition_expression("#k = :old")
            .expression_attribute_names("#k", "key")
            .expression_attribute_values(":old", n(old.0))
            .send()
            .await;
        super::applied(res)
    }

    /// The issuer's next status-list index: one atomic `ADD`, so no index is handed out twice.
    pub async fn allocate_status(&self, issuer: &IssuerId) -> Result<StatusEntry> {
        let (pk, sk) = keys::status_allocator(issuer);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD allocated :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let allocated = out
            .attributes
            .as_ref()
            .and_then(|a| get_n(a, "allocated"))
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| StoreError::Corrupt("status allocator".into()))?;
        Ok(StatusEntry::of_allocation(allocated - 1))
    }

    /// The award's signed credential, if one was issued.
    pub async fn get_credential(&self, award: &AwardId) -> Result<Option<StoredCredential>> {
        match self.get_consistent(keys::credential(award)).await? {
            Some(item) => credential_of(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a signed credential once, in one transaction with a check that the award is still
    /// valid as issued (neither revoked nor replaced): a revocation either comes after and sets
    /// the credential's bit, or came before and no credential exists. A transaction cancelled
    /// for a conflict (another first request storing its credential at the same moment) is
    /// answered by the credential stored, or sent again (then `Throttled`).
    pub async fn put_credential(
        &self,
        award: &Award,
        c: &StoredCredential,
    ) -> Result<CredentialPut> {
        let items = self.credential_put_items(award, c)?;
        let mut retry = Backoff::over(0..3);
        loop {
            let Err(err) = self.transact(&items).await else {
                return Ok(CredentialPut::Stored);
            };
            let Some(reasons) = super::awards::cancellation_reasons(&err) else {
                return Err(StoreError::from_sdk(err));
            };
            let failed = |i: usize| {
                reasons.get(i).and_then(Option::as_deref) == Some("ConditionalCheckFailed")
            };
            if let Some(stored) = self.get_credential(&award.id).await? {
                return Ok(CredentialPut::Exists(stored));
            }
            if failed(1) {
                return Ok(CredentialPut::AwardChanged);
            }
            if failed(0) {
                return Err(StoreError::NotFound);
            }
            if !super::awards::contended(&err) {
                return Err(StoreError::from_sdk(err));
            }
            if !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
    }

    /// The credential's put (if absent) and the award's check, one transaction.
    fn credential_put_items(
        &self,
        award: &Award,
        c: &StoredCredential,
    ) -> Result<[TransactWriteItem; 2]> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(credential_item(&award.id, c)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        let (apk, ask) = keys::award(&award.id);
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(apk))
            .key(keys::SK, s(ask))
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(revocation) AND attribute_not_exists(superseded_by)",
            )
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok([
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().condition_check(check).build(),
        ])
    }

    /// The revoked indexes of an issuer's status list.
    pub async fn revoked_indexes(&self, issuer: &IssuerId, list: u32) -> Result<Vec<u32>> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::status_list(issuer, list)))
            .consistent_read(true);
        let mut out = Vec::new();
        self.query_each(q, |item| {
            if let Some(AttributeValue::Ns(set)) = item.get("revoked") {
                out.extend(set.iter().filter_map(|v| v.parse::<u32>().ok()));
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// What a revocation (or replacement) of `award` must also write in its transaction: the
    /// credential's revoked bit if a credential exists, or else a check that none appears
    /// meanwhile (the transaction then fails and is retried with the bit).
    pub(super) async fn status_items(
        &self,
        award: &AwardId,
        issuer: &IssuerId,
    ) -> Result<TransactWriteItem> {
        let (cpk, csk) = keys::credential(award);
        let Some(c) = self.get_credential(award).await? else {
            return ConditionCheck::builder()
                .table_name(&self.table)
                .key(keys::PK, s(cpk))
                .key(keys::SK, s(csk))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|c| TransactWriteItem::builder().condition_check(c).build())
                .map_err(|e| StoreError::Aws(e.to_string()));
        };
        let (pk, sk) = keys::status_chunk(issuer, c.status.list, c.status.index);
        Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD revoked :bit")
            .expression_attribute_values(
                ":bit",
                AttributeValue::Ns(vec![c.status.index.to_string()]),
            )
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .map_err(|e| StoreError::Aws(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_item_reads_back() {
        let mut item: Item = Item::new();
        item.insert("number".into(), n(3));
        item.insert("public_key".into(), AttributeValue::B(vec![7u8; 32].into()));
        item.insert(
            "encrypted_seed".into(),
            AttributeValue::B(vec![1, 2].into()),
        );
        item.insert("created".into(), s("2026-11-30T00:00:00+00:00"));
        let k = key_record(&item).unwrap();
        assert_eq!(
            (k.number, k.public_key, k.encrypted_seed),
            (KeyNumber(3), [7u8; 32], vec![1, 2])
        );
        item.insert("public_key".into(), AttributeValue::B(vec![7u8; 31].into()));
        assert!(key_record(&item).is_err());
    }
}
